//! Batched determinants of general 6×6 matrices, f32 or f64, by Gaussian elimination with
//! partial pivoting (`kernel::det6_block`), several matrices per SIMD instruction, split over
//! threads with rayon.
//!
//! Non-finite entries are an error. The kernel turns any NaN or ±inf entry into a NaN or ±inf
//! determinant (`kernel::det6_block` says why), so only matrices with a non-finite result are
//! scanned, to name the first bad entry; finite matrices whose determinant (or an
//! intermediate) exceeds the type's range keep their ±inf / NaN result, as any floating-point
//! determinant does.

use rayon::prelude::*;

use super::kernel::{det6_block, dispatch, Kernel, LaneJob};
use super::prefetch;
use super::simd::Vector;
use crate::backend::Scalar;
use crate::error::{Error, Result};

/// Matrices per rayon task: large enough to hide the task overhead, small enough to balance.
const CHUNK: usize = 2048;

/// Determinants of B row-major 6×6 matrices: `mats` (B, 6, 6) → `out` (B).
/// Uses the widest kernel this CPU supports (`Kernel::detect`).
pub fn det6_batch<T: Scalar>(mats: &[T], out: &mut [T]) -> Result<()> {
    det6_batch_with(Kernel::detect(), mats, out)
}

/// `det6_batch` on a chosen kernel (for tests and benchmarks); all kernels give bit-identical
/// results. Err when the CPU lacks the kernel's instructions.
pub fn det6_batch_with<T: Scalar>(kernel: Kernel, mats: &[T], out: &mut [T]) -> Result<()> {
    if !mats.len().is_multiple_of(36) {
        return Err(Error::input(format!(
            "det6_batch: {} values is not a whole number of 6×6 matrices; expected a multiple of 36",
            mats.len()
        )));
    }
    let batch = mats.len() / 36;
    if out.len() != batch {
        return Err(Error::input(format!(
            "det6_batch: output holds {} values, expected {batch} (one per 6×6 matrix)",
            out.len()
        )));
    }
    if !kernel.is_available() {
        return Err(Error::input(format!(
            "det6_batch: this CPU cannot run the {kernel} kernel; available: {:?}",
            Kernel::available()
        )));
    }
    let run = |(c, (m, o)): (usize, (&[T], &mut [T]))| -> Result<()> {
        dispatch::<T, _>(
            kernel,
            DetChunk {
                batch: mats,
                first: c * CHUNK,
                out: &mut *o,
            },
        );
        check_non_finite(m, o, c * CHUNK)
    };
    if batch <= CHUNK {
        run((0, (mats, out)))
    } else {
        mats.par_chunks(36 * CHUNK)
            .zip(out.par_chunks_mut(CHUNK))
            .enumerate()
            .try_for_each(run)
    }
}

/// Err naming the first non-finite entry among the matrices whose determinant is not finite
/// (matrix indices offset by `first`); Ok when there is none.
fn check_non_finite<T: Scalar>(mats: &[T], dets: &[T], first: usize) -> Result<()> {
    for (b, _) in dets.iter().enumerate().filter(|(_, d)| !d.is_finite()) {
        let m = &mats[36 * b..36 * b + 36];
        if let Some(e) = m.iter().position(|x| !x.is_finite()) {
            return Err(Error::input(format!(
                "det6_batch: matrix {}, entry ({}, {}) is {}; determinants need finite entries \
                 (check the input for overflow or missing values)",
                first + b,
                e / 6,
                e % 6,
                m[e]
            )));
        }
    }
    Ok(())
}

/// One thread's share, matrices first..first+out.len() of the batch: whole blocks of LANES
/// matrices, then the tail padded with identities. Prefetches run on into the next share (the
/// same thread's next one, mostly: rayon splits the batch into contiguous halves).
struct DetChunk<'a, T> {
    batch: &'a [T],
    first: usize,
    out: &'a mut [T],
}

impl<T: Scalar> LaneJob<T> for DetChunk<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run<V: Vector<T>>(self) {
        let lanes = V::LANES;
        let start = 36 * self.first;
        let mats = &self.batch[start..start + 36 * self.out.len()];
        let mut groups = mats.chunks_exact(36 * lanes);
        let mut outs = self.out.chunks_exact_mut(lanes);
        for (b, (m, o)) in (&mut groups).zip(&mut outs).enumerate() {
            prefetch::ahead(self.batch, start + 36 * lanes * b, 36 * lanes);
            det6_block::<T, V>(&mut V::load_matrices(m)).store(o);
        }
        let (m, o) = (groups.remainder(), outs.into_remainder());
        if !o.is_empty() {
            let mut padded = vec![T::zero(); 36 * lanes];
            padded[..m.len()].copy_from_slice(m);
            for pad in o.len()..lanes {
                for d in 0..6 {
                    padded[36 * pad + 7 * d] = T::one();
                }
            }
            let mut dets = vec![T::zero(); lanes];
            det6_block::<T, V>(&mut V::load_matrices(&padded)).store(&mut dets);
            o.copy_from_slice(&dets[..o.len()]);
        }
    }
}
