//! The Cayley–Menger core on the device: batched 6×6 determinants (one thread per matrix,
//! partial pivoting in registers) and fused vol² (points gathered by index on the device,
//! squared distances by direct differences). Host-slice entry points mirror
//! `crate::geometry::{det6, cayley_menger}`; the `_device` ones work on resident buffers.

use cudarc::driver::{CudaSlice, DeviceRepr, ValidAsZeroBits};

use super::kernels as k;
use super::launch::{self as geo, to_u32};
use super::{launch_kernel, Cuda};
use crate::backend::Scalar;
use crate::error::{Error, Result};
use crate::geometry::cv::{cv_metric_with, CvOptions, CvOutcome, Vol2Engine};
use crate::options::Precision;

/// f32 or f64 with their determinant and fused-volume kernels.
pub trait DetScalar: Scalar + DeviceRepr + ValidAsZeroBits {
    const DET6: &'static str;
    const CM_VOL2: &'static str;
}

impl DetScalar for f32 {
    const DET6: &'static str = k::DET6_F32;
    const CM_VOL2: &'static str = k::CM_VOL2_F32;
}

impl DetScalar for f64 {
    const DET6: &'static str = k::DET6_F64;
    const CM_VOL2: &'static str = k::CM_VOL2_F64;
}

/// det of each row-major 6×6 matrix in `mats` (B·36 values) → B determinants.
pub fn det6_batch_gpu<T: DetScalar>(cuda: &Cuda, mats: &[T]) -> Result<Vec<T>> {
    if !mats.len().is_multiple_of(36) {
        return Err(Error::input(format!(
            "det6: {} values is not a whole number of 6×6 matrices (expected a multiple of 36)",
            mats.len()
        )));
    }
    let dev = cuda.upload_slice(mats)?;
    let mut out = cuda.output::<T>(mats.len() / 36)?;
    det6_device(cuda, &dev, &mut out)?;
    cuda.download_slice(&out)
}

/// Device-resident determinants: out[b] = det(mats[b]); out.len() = mats.len() / 36.
pub fn det6_device<T: DetScalar>(
    cuda: &Cuda,
    mats: &CudaSlice<T>,
    out: &mut CudaSlice<T>,
) -> Result<()> {
    let batch = out.len();
    if mats.len() != batch * 36 {
        return Err(Error::input(format!(
            "det6: {} input values for {batch} outputs, expected {} = 36 per matrix",
            mats.len(),
            batch * 36
        )));
    }
    let b = to_u32(batch, "det6 batch")?;
    to_u32(mats.len(), "det6 input length")?;
    launch_kernel!(cuda, T::DET6, geo::det6(batch)?, mats, out, &b)
}

/// vol² of the 4-simplex on rows idx[b] of `matrix` (rows × cols, row-major), computed in `T`.
/// Same contract as `crate::geometry::cayley_menger::vol2_fused`.
pub fn vol2_fused_gpu<T: DetScalar>(
    cuda: &Cuda,
    matrix: &[T],
    rows: usize,
    cols: usize,
    idx: &[[u32; 5]],
) -> Result<Vec<T>> {
    check_matrix(matrix.len(), 0, cols, rows, cols)?;
    check_indices(idx, rows)?;
    if idx.is_empty() {
        return Ok(Vec::new());
    }
    let dev = cuda.upload_slice(matrix)?;
    let dev_idx = upload_indices(cuda, idx)?;
    let mut out = cuda.output::<T>(idx.len())?;
    let (ld, c, b) = (
        to_u32(cols, "cols")?,
        to_u32(cols, "cols")?,
        to_u32(idx.len(), "samples")?,
    );
    launch_kernel!(
        cuda,
        T::CM_VOL2,
        geo::elementwise(idx.len())?,
        &dev,
        &ld,
        &c,
        &dev_idx,
        &b,
        &mut out
    )?;
    cuda.download_slice(&out)
}

/// vol² from a device-resident f32 matrix without copying it: the points are the `cols`
/// columns starting at `offset` of rows with stride `ld` (so a head's column block of the qkv
/// activations, or a row block of in_proj_weight, is used in place), computed in `precision`.
/// Results are returned as f64 either way.
#[allow(clippy::too_many_arguments)]
pub fn vol2_fused_device(
    cuda: &Cuda,
    matrix: &CudaSlice<f32>,
    offset: usize,
    ld: usize,
    rows: usize,
    cols: usize,
    idx: &[[u32; 5]],
    precision: Precision,
) -> Result<Vec<f64>> {
    check_matrix(matrix.len(), offset, ld, rows, cols)?;
    check_indices(idx, rows)?;
    if idx.is_empty() {
        return Ok(Vec::new());
    }
    let view = matrix.slice(offset..);
    let dev_idx = upload_indices(cuda, idx)?;
    let cfg = geo::elementwise(idx.len())?;
    let (ldu, c, b) = (
        to_u32(ld, "ld")?,
        to_u32(cols, "cols")?,
        to_u32(idx.len(), "samples")?,
    );
    match precision {
        Precision::F64 => {
            let mut out = cuda.output::<f64>(idx.len())?;
            launch_kernel!(
                cuda,
                k::CM_VOL2_F32_F64,
                cfg,
                &view,
                &ldu,
                &c,
                &dev_idx,
                &b,
                &mut out
            )?;
            cuda.download_slice(&out)
        }
        Precision::F32 => {
            let mut out = cuda.output::<f32>(idx.len())?;
            launch_kernel!(
                cuda,
                k::CM_VOL2_F32,
                cfg,
                &view,
                &ldu,
                &c,
                &dev_idx,
                &b,
                &mut out
            )?;
            Ok(cuda
                .download_slice(&out)?
                .into_iter()
                .map(f64::from)
                .collect())
        }
    }
}

/// The last point read is (rows−1)·ld + cols − 1 past `offset`: it must lie inside the buffer.
fn check_matrix(len: usize, offset: usize, ld: usize, rows: usize, cols: usize) -> Result<()> {
    if cols == 0 || ld < cols {
        return Err(Error::input(format!(
            "vol2_fused: cols = {cols} with row stride {ld}; expected 1 ≤ cols ≤ stride"
        )));
    }
    let needed = offset + rows.saturating_sub(1) * ld + cols;
    if rows == 0 || needed > len || (ld == cols && offset == 0 && len != rows * cols) {
        return Err(Error::input(format!(
            "vol2_fused: matrix has {len} values, expected rows·cols = {rows}·{cols} (offset {offset}, stride {ld}: \
             at least {needed})"
        )));
    }
    Ok(())
}

fn check_indices(idx: &[[u32; 5]], rows: usize) -> Result<()> {
    match idx
        .iter()
        .enumerate()
        .find(|(_, t)| t.iter().any(|&i| i as usize >= rows))
    {
        Some((b, t)) => Err(Error::input(format!(
            "vol2_fused: index tuple {b} = {t:?} has a row ≥ rows = {rows}"
        ))),
        None => Ok(()),
    }
}

fn upload_indices(cuda: &Cuda, idx: &[[u32; 5]]) -> Result<CudaSlice<u32>> {
    let flat: Vec<u32> = idx.iter().flatten().copied().collect();
    to_u32(flat.len(), "index count")?;
    cuda.upload_slice(&flat)
}

/// The CV metric with the volumes from the fused kernel: sampling, the filter and the statistic
/// are `geometry::cv`'s, so the estimate uses the same tuples as the CPU path.
pub fn cv_metric_gpu<T: Scalar>(
    cuda: &Cuda,
    matrix: &[T],
    rows: usize,
    cols: usize,
    opts: &CvOptions,
) -> Result<CvOutcome> {
    let f32 = |p: &[f32], r: usize, c: usize, idx: &[[u32; 5]]| vol2_fused_gpu(cuda, p, r, c, idx);
    let f64 = |p: &[f64], r: usize, c: usize, idx: &[[u32; 5]]| vol2_fused_gpu(cuda, p, r, c, idx);
    cv_metric_with(
        matrix,
        rows,
        cols,
        opts,
        &Vol2Engine {
            f32: &f32,
            f64: &f64,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_bounds_cover_the_last_point() {
        assert!(check_matrix(12, 0, 3, 4, 3).is_ok());
        assert!(check_matrix(11, 0, 3, 4, 3).is_err());
        assert!(
            check_matrix(13, 0, 3, 4, 3).is_err(),
            "a plain matrix must have exactly rows·cols values"
        );
        // Column block 2..4 of a 4×6 matrix: last point ends at 2 + 3·6 + 2 = 22 ≤ 24.
        assert!(check_matrix(24, 2, 6, 4, 2).is_ok());
        assert!(check_matrix(24, 5, 6, 4, 2).is_err());
        assert!(check_matrix(24, 0, 1, 4, 2).is_err(), "stride below cols");
        assert!(check_matrix(0, 0, 3, 0, 3).is_err(), "no rows");
    }

    #[test]
    fn indices_must_be_rows_of_the_matrix() {
        assert!(check_indices(&[[0, 1, 2, 3, 4]], 5).is_ok());
        let err = check_indices(&[[0, 1, 2, 3, 4], [0, 1, 2, 3, 5]], 5).unwrap_err();
        assert!(err.to_string().contains("tuple 1"), "{err}");
    }
}
