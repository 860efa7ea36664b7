//! Determinant throughput on the device, against a device-to-device copy of the same bytes.
//! Inputs are uploaded once; only kernels are timed (CUDA events), after a warm-up; the median
//! of `repeats` runs is reported.

use cudarc::driver::sys::CUevent_flags;
use cudarc::driver::CudaSlice;
use serde::Serialize;

use super::geometry::{det6_device, DetScalar};
use super::Cuda;
use crate::error::{Error, Result};
use crate::options::Precision;
use crate::rng::Rng;

/// One `bench det --device cuda` case.
#[derive(Clone, Debug, Serialize)]
pub struct DetBench {
    pub device: String,
    pub precision: Precision,
    pub batch: usize,
    pub repeats: usize,
    /// Median and fastest kernel time over the repeats, seconds.
    pub seconds_median: f64,
    pub seconds_min: f64,
    pub det_per_second: f64,
    /// DRAM traffic of the det kernel: 36 inputs + 1 output per matrix.
    pub det_bytes: usize,
    pub det_gb_per_s: f64,
    /// cuMemcpyDtoD of the det kernel's input bytes: median seconds and traffic (read + write).
    pub copy_seconds_median: f64,
    pub copy_gb_per_s: f64,
    /// det_gb_per_s / copy_gb_per_s · 100.
    pub percent_of_copy_bandwidth: f64,
}

/// Times det6 on `batch` random matrices (entries uniform in [−1, 1), seed 42) in `precision`.
pub fn bench_det_gpu(
    cuda: &Cuda,
    precision: Precision,
    batch: usize,
    repeats: usize,
) -> Result<DetBench> {
    match precision {
        Precision::F32 => run::<f32>(cuda, precision, batch, repeats),
        Precision::F64 => run::<f64>(cuda, precision, batch, repeats),
    }
}

fn run<T: DetScalar>(
    cuda: &Cuda,
    precision: Precision,
    batch: usize,
    repeats: usize,
) -> Result<DetBench> {
    if batch == 0 || repeats == 0 {
        return Err(Error::input(format!(
            "bench det: batch {batch} and repeats {repeats} must both be ≥ 1"
        )));
    }
    let mut rng = Rng::new(42);
    let host: Vec<T> = (0..batch * 36)
        .map(|_| <T as crate::backend::Scalar>::from_f64(rng.uniform_in(-1.0, 1.0)))
        .collect();
    let mats = cuda.upload_slice(&host)?;
    drop(host);
    let mut out = cuda.zeros_of::<T>(batch)?;
    let det_times = time_repeats(cuda, repeats, || det6_device(cuda, &mats, &mut out))?;

    let mut copy = cuda.zeros_of::<T>(batch * 36)?;
    let copy_times = time_repeats(cuda, repeats, || copy_into(cuda, &mats, &mut copy))?;

    let size = std::mem::size_of::<T>();
    let det_bytes = batch * 37 * size;
    let seconds_median = median(&det_times);
    let copy_seconds_median = median(&copy_times);
    let det_gb_per_s = det_bytes as f64 / seconds_median / 1e9;
    let copy_gb_per_s = 2.0 * (batch * 36 * size) as f64 / copy_seconds_median / 1e9;
    Ok(DetBench {
        device: cuda.describe()?,
        precision,
        batch,
        repeats,
        seconds_median,
        seconds_min: det_times.iter().copied().fold(f64::INFINITY, f64::min),
        det_per_second: batch as f64 / seconds_median,
        det_bytes,
        det_gb_per_s,
        copy_seconds_median,
        copy_gb_per_s,
        percent_of_copy_bandwidth: 100.0 * det_gb_per_s / copy_gb_per_s,
    })
}

/// Device-to-device copy bandwidth alone: `bytes` copied `repeats` times, median GB/s of
/// traffic (read + write).
pub fn copy_bandwidth_gpu(cuda: &Cuda, bytes: usize, repeats: usize) -> Result<f64> {
    if bytes == 0 || repeats == 0 {
        return Err(Error::input(
            "copy bandwidth: bytes and repeats must both be ≥ 1",
        ));
    }
    let src = cuda.zeros_of::<u8>(bytes)?;
    let mut dst = cuda.zeros_of::<u8>(bytes)?;
    let times = time_repeats(cuda, repeats, || copy_into(cuda, &src, &mut dst))?;
    Ok(2.0 * bytes as f64 / median(&times) / 1e9)
}

fn copy_into<T: cudarc::driver::DeviceRepr>(
    cuda: &Cuda,
    src: &CudaSlice<T>,
    dst: &mut CudaSlice<T>,
) -> Result<()> {
    cuda.stream().memcpy_dtod(src, dst).map_err(|e| {
        Error::device(format!(
            "device-to-device copy of {} bytes failed: {e}",
            src.num_bytes()
        ))
    })
}

/// One warm-up call, then `repeats` calls each timed between two events; seconds.
fn time_repeats(
    cuda: &Cuda,
    repeats: usize,
    mut work: impl FnMut() -> Result<()>,
) -> Result<Vec<f64>> {
    let event_err = |e| Error::device(format!("CUDA event failed: {e}"));
    let ctx = cuda.context();
    let start = ctx
        .new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))
        .map_err(event_err)?;
    let end = ctx
        .new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))
        .map_err(event_err)?;
    work()?;
    cuda.synchronize("the warm-up run")?;
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        start.record(cuda.stream()).map_err(event_err)?;
        work()?;
        end.record(cuda.stream()).map_err(event_err)?;
        let ms = start.elapsed_ms(&end).map_err(event_err)?;
        times.push(f64::from(ms) / 1e3);
    }
    cuda.synchronize("the timed runs")?;
    Ok(times)
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
    }
}
