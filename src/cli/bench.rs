//! `mha-cv bench det`: throughput of the batched 6×6 determinant (`bench train`, the training
//! step, is in `bench_train.rs`; `bench volumes`, the fused Cayley–Menger volumes, in
//! `bench_volumes.rs`).
//!
//! Each run times one `det6_batch` call on a fresh batch of random matrices (entries uniform in
//! [−1, 1), drawn from `Rng` with a new seed per run; drawing is not timed), then a plain read
//! of the same batch (`stream::read_all`): the memory ceiling of any kernel that streams the
//! batch once, measured in the same run so that the two share the machine's state. The first
//! `--warmup` runs are discarded; the medians of the next `--repeats` are reported. The batch
//! lives in transparent huge pages unless `--pages small` (`stream::HugeBuf`).

use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use super::bench_train::{run_train, TrainArgs};
use super::bench_volumes::{run_volumes, VolumesArgs};
use super::stream::{read_all, HugeBuf};
use crate::backend::Scalar;
use crate::error::{Error, Result};
use crate::geometry::det6::det6_batch_with;
use crate::geometry::kernel::Kernel;
use crate::options::{Device, Precision};
use crate::rng::Rng;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchWhat,
}

#[derive(clap::Subcommand, Debug)]
pub enum BenchWhat {
    /// The batched 6×6 determinant: determinants per second on random matrices.
    Det(DetArgs),
    /// One training step on the CPU: milliseconds per step against a baseline factoring.
    Train(TrainArgs),
    /// The fused Cayley–Menger volumes (rows by index): volumes per second against the direct
    /// path.
    Volumes(VolumesArgs),
}

#[derive(clap::Args, Debug)]
pub struct DetArgs {
    /// Matrices per call.
    #[arg(long, default_value_t = 1_000_000)]
    pub batch: usize,
    /// Element type of the matrices.
    #[arg(long, value_enum, default_value_t = Precision::F64)]
    pub precision: Precision,
    /// Where to compute (cuda: needs a build with `--features cuda`).
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    pub device: Device,
    /// CPU kernel: the widest available one unless named.
    #[arg(long, value_enum, default_value_t = KernelArg::Auto)]
    pub kernel: KernelArg,
    /// Timed runs (the median is reported).
    #[arg(long, default_value_t = 7)]
    pub repeats: usize,
    /// Untimed runs before the timed ones.
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Pages of the batch buffer: 2 MB transparent huge pages, or a plain Vec (4 KB pages here,
    /// THP being `madvise`-only).
    #[arg(long, value_enum, default_value_t = Pages::Huge)]
    pub pages: Pages,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pages {
    Huge,
    Small,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum KernelArg {
    Auto,
    Scalar,
    Avx2,
    Avx512,
}

impl KernelArg {
    /// The kernel named (`Auto`: the widest this CPU supports).
    pub(super) fn kernel(self) -> Kernel {
        match self {
            KernelArg::Auto => Kernel::detect(),
            KernelArg::Scalar => Kernel::Scalar,
            KernelArg::Avx2 => Kernel::Avx2,
            KernelArg::Avx512 => Kernel::Avx512,
        }
    }
}

/// What `--json` prints.
#[derive(Serialize, Debug)]
struct DetReport {
    device: Device,
    precision: Precision,
    kernel: &'static str,
    threads: usize,
    batch: usize,
    repeats: usize,
    warmup: usize,
    pages: Pages,
    seconds_median: f64,
    seconds_min: f64,
    dets_per_second: f64,
    /// Median seconds of a plain read of the batch, and its rate in GB/s and in matrices/s.
    read_seconds_median: f64,
    read_gb_per_s: f64,
    read_dets_per_second: f64,
    /// dets_per_second as a percentage of read_dets_per_second.
    percent_of_read: f64,
}

pub fn run(args: BenchArgs) -> Result<()> {
    match args.what {
        BenchWhat::Det(a) => run_det(a),
        BenchWhat::Train(a) => run_train(a),
        BenchWhat::Volumes(a) => run_volumes(a),
    }
}

fn run_det(a: DetArgs) -> Result<()> {
    if a.batch == 0 || a.repeats == 0 {
        return Err(Error::input(format!(
            "bench det: --batch {} and --repeats {} must both be at least 1",
            a.batch, a.repeats
        )));
    }
    if a.device == Device::Cuda {
        return run_det_cuda(&a);
    }
    let kernel = a.kernel.kernel();
    let (mut times, mut reads) = match a.precision {
        Precision::F32 => time_runs::<f32>(kernel, &a)?,
        Precision::F64 => time_runs::<f64>(kernel, &a)?,
    };
    times.sort_by(f64::total_cmp);
    reads.sort_by(f64::total_cmp);
    let seconds_median = times[times.len() / 2];
    let read_seconds_median = reads[reads.len() / 2];
    let size = match a.precision {
        Precision::F32 => 4,
        Precision::F64 => 8,
    };
    let bytes = (36 * a.batch * size) as f64;
    let report = DetReport {
        device: a.device,
        precision: a.precision,
        kernel: kernel.name(),
        threads: rayon::current_num_threads(),
        batch: a.batch,
        repeats: a.repeats,
        warmup: a.warmup,
        seconds_median,
        pages: a.pages,
        seconds_min: times[0],
        dets_per_second: a.batch as f64 / seconds_median,
        read_seconds_median,
        read_gb_per_s: bytes / read_seconds_median / 1e9,
        read_dets_per_second: a.batch as f64 / read_seconds_median,
        percent_of_read: 100.0 * read_seconds_median / seconds_median,
    };
    if a.json {
        let text = serde_json::to_string(&report)
            .map_err(|e| Error::input(format!("bench det: cannot write JSON: {e}")))?;
        println!("{text}");
    } else {
        println!(
            "det6 {} {} ({} kernel, {} threads): batch {}, median {:.3} ms of {} runs \
             (min {:.3} ms) → {:.1} M det/s; plain read of the batch ({} pages): {:.1} GB/s \
             = {:.1} M matrices/s, so {:.0}% of the read ceiling",
            report.device,
            report.precision,
            report.kernel,
            report.threads,
            report.batch,
            report.seconds_median * 1e3,
            report.repeats,
            report.seconds_min * 1e3,
            report.dets_per_second / 1e6,
            if a.pages == Pages::Huge {
                "2 MB"
            } else {
                "4 KB"
            },
            report.read_gb_per_s,
            report.read_dets_per_second / 1e6,
            report.percent_of_read
        );
    }
    Ok(())
}

/// The GPU determinant, timed with CUDA events on device-resident inputs (see
/// `backend::cuda::bench`); `--json` adds the copy-bandwidth comparison.
#[cfg(feature = "cuda")]
fn run_det_cuda(a: &DetArgs) -> Result<()> {
    use crate::backend::cuda::{bench::bench_det_gpu, Cuda};
    let r = bench_det_gpu(&Cuda::new(0)?, a.precision, a.batch, a.repeats)?;
    if a.json {
        let mut doc = serde_json::to_value(&r)
            .map_err(|e| Error::input(format!("bench det: cannot write JSON: {e}")))?;
        doc["device"] = serde_json::json!(Device::Cuda);
        doc["gpu"] = serde_json::json!(r.device);
        doc["dets_per_second"] = serde_json::json!(r.det_per_second);
        println!("{doc}");
    } else {
        println!(
            "det6 cuda {} ({}): batch {}, median {:.3} ms of {} runs (min {:.3} ms) → {:.1} M det/s, \
             {:.0} GB/s = {:.0}% of a device copy ({:.0} GB/s)",
            r.precision,
            r.device,
            r.batch,
            r.seconds_median * 1e3,
            r.repeats,
            r.seconds_min * 1e3,
            r.det_per_second / 1e6,
            r.det_gb_per_s,
            r.percent_of_copy_bandwidth,
            r.copy_gb_per_s
        );
    }
    Ok(())
}

#[cfg(not(feature = "cuda"))]
fn run_det_cuda(_: &DetArgs) -> Result<()> {
    Err(Error::input(crate::experiment::run::CUDA_NOT_BUILT))
}

/// Seconds of each timed run: (determinants, plain read of the same batch).
fn time_runs<T: Scalar>(kernel: Kernel, a: &DetArgs) -> Result<(Vec<f64>, Vec<f64>)> {
    // `--pages small`: a plain Vec, as any caller's batch.
    let (mut huge, mut plain);
    let mats: &mut [T] = if a.pages == Pages::Huge {
        huge = HugeBuf::<T>::zeros(36 * a.batch);
        &mut huge
    } else {
        plain = vec![T::zero(); 36 * a.batch];
        &mut plain
    };
    let mut out = vec![T::zero(); a.batch];
    let (mut times, mut reads) = (Vec::new(), Vec::new());
    for run in 0..a.warmup + a.repeats {
        fill_uniform(mats, run as u64);
        let start = Instant::now();
        det6_batch_with(kernel, mats, &mut out)?;
        let seconds = start.elapsed().as_secs_f64();
        std::hint::black_box(&out);
        // Evict the batch's tail from the caches as the next det run would find it: refill.
        fill_uniform(mats, run as u64);
        let start = Instant::now();
        std::hint::black_box(read_all(mats));
        let read = start.elapsed().as_secs_f64();
        if run >= a.warmup {
            times.push(seconds);
            reads.push(read);
        }
    }
    Ok((times, reads))
}

/// Entries uniform in [−1, 1), one generator stream per block of 4096 values (in parallel).
pub(super) fn fill_uniform<T: Scalar>(xs: &mut [T], seed: u64) {
    xs.par_chunks_mut(4096).enumerate().for_each(|(i, c)| {
        let mut rng = Rng::stream(seed, i as u64);
        for x in c {
            *x = <T as Scalar>::from_f64(rng.uniform_in(-1.0, 1.0));
        }
    });
}
