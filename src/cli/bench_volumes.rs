//! `mha-cv bench volumes`: throughput of the fused Cayley–Menger volumes (`vol2_fused`), the CV
//! metric's inner loop: vol² of 5 rows picked by index from a (rows, dim) matrix.
//!
//! The matrix (entries uniform in [−1, 1)) and the index tuples (the metric's own sampler,
//! `sample_indices`, over all rows) are drawn once, untimed. Each run then times one call on
//! the automatic path (the distance table when it computes fewer distances) and one on the
//! direct path (10 distances per tuple from the rows: the named baseline), in turn, so that
//! both see the same state of the machine; the first `--warmup` runs are discarded, and the
//! medians of the next `--repeats` are reported with their ratio. Both paths give the same bits
//! (`tests/geometry_table.rs`); the command asserts that too, on every run.

use std::time::Instant;

use serde::Serialize;

use super::bench::{fill_uniform, KernelArg};
use crate::backend::Scalar;
use crate::error::{Error, Result};
use crate::geometry::cayley_menger::{auto_uses_table, vol2_fused_via, FusedPath};
use crate::geometry::kernel::Kernel;
use crate::geometry::sampler::sample_indices;
use crate::options::Precision;
use crate::rng::Rng;

#[derive(clap::Args, Debug)]
pub struct VolumesArgs {
    /// Columns of the matrix (the points' dimension).
    #[arg(long, default_value_t = 64)]
    pub dim: usize,
    /// Rows of the matrix, the pool the tuples are drawn from (the CV metric's pool is 512).
    #[arg(long, default_value_t = 512)]
    pub rows: usize,
    /// Volumes per call.
    #[arg(long, default_value_t = 1_000_000)]
    pub tuples: usize,
    /// Element type of the matrix and the volumes.
    #[arg(long, value_enum, default_value_t = Precision::F64)]
    pub precision: Precision,
    /// CPU kernel: the widest available one unless named.
    #[arg(long, value_enum, default_value_t = KernelArg::Auto)]
    pub kernel: KernelArg,
    /// Timed runs of each path (the median is reported).
    #[arg(long, default_value_t = 7)]
    pub repeats: usize,
    /// Untimed runs of each path before the timed ones.
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    pub json: bool,
}

/// What `--json` prints.
#[derive(Serialize, Debug)]
struct VolumesReport {
    precision: Precision,
    kernel: &'static str,
    threads: usize,
    dim: usize,
    rows: usize,
    tuples: usize,
    repeats: usize,
    warmup: usize,
    /// The path `auto` took: "table" or "direct".
    auto_path: &'static str,
    auto: PathTimes,
    direct: PathTimes,
    /// direct.seconds_median / auto.seconds_median.
    speedup: f64,
}

#[derive(Serialize, Debug)]
struct PathTimes {
    seconds_median: f64,
    seconds_min: f64,
    volumes_per_second: f64,
}

impl PathTimes {
    fn from_runs(mut seconds: Vec<f64>, tuples: usize) -> PathTimes {
        seconds.sort_by(f64::total_cmp);
        let median = seconds[seconds.len() / 2];
        PathTimes {
            seconds_median: median,
            seconds_min: seconds[0],
            volumes_per_second: tuples as f64 / median,
        }
    }
}

pub fn run_volumes(a: VolumesArgs) -> Result<()> {
    if a.tuples == 0 || a.repeats == 0 || a.dim == 0 {
        return Err(Error::input(format!(
            "bench volumes: --tuples {}, --repeats {} and --dim {} must all be at least 1",
            a.tuples, a.repeats, a.dim
        )));
    }
    if !(5..=u32::MAX as usize).contains(&a.rows) {
        return Err(Error::input(format!(
            "bench volumes: --rows {} must be between 5 (one simplex) and 2^32 − 1",
            a.rows
        )));
    }
    let kernel = a.kernel.kernel();
    let (auto, direct) = match a.precision {
        Precision::F32 => time_paths::<f32>(kernel, &a)?,
        Precision::F64 => time_paths::<f64>(kernel, &a)?,
    };
    let (auto, direct) = (
        PathTimes::from_runs(auto, a.tuples),
        PathTimes::from_runs(direct, a.tuples),
    );
    let report = VolumesReport {
        precision: a.precision,
        kernel: kernel.name(),
        threads: rayon::current_num_threads(),
        dim: a.dim,
        rows: a.rows,
        tuples: a.tuples,
        repeats: a.repeats,
        warmup: a.warmup,
        // The tuples are drawn from all rows, so they span `rows` (≥ 5 tuples: all but surely).
        auto_path: if auto_uses_table(a.rows, a.tuples) {
            "table"
        } else {
            "direct"
        },
        speedup: direct.seconds_median / auto.seconds_median,
        auto,
        direct,
    };
    if a.json {
        let text = serde_json::to_string(&report)
            .map_err(|e| Error::input(format!("bench volumes: cannot write JSON: {e}")))?;
        println!("{text}");
    } else {
        println!(
            "vol2_fused {} ({} kernel, {} threads): {} tuples of 5 rows from {} × {}, median of \
             {} runs: auto ({}) {:.2} ms → {:.1} M vol/s; direct {:.2} ms → {:.1} M vol/s; \
             auto is {:.2}× direct",
            report.precision,
            report.kernel,
            report.threads,
            report.tuples,
            report.rows,
            report.dim,
            report.repeats,
            report.auto_path,
            report.auto.seconds_median * 1e3,
            report.auto.volumes_per_second / 1e6,
            report.direct.seconds_median * 1e3,
            report.direct.volumes_per_second / 1e6,
            report.speedup
        );
    }
    Ok(())
}

/// Seconds of each timed run of each path: (auto, direct).
fn time_paths<T: Scalar>(kernel: Kernel, a: &VolumesArgs) -> Result<(Vec<f64>, Vec<f64>)> {
    let mut matrix = vec![T::zero(); a.rows * a.dim];
    fill_uniform(&mut matrix, 3);
    let idx = sample_indices(a.rows, a.tuples, &mut Rng::new(2));
    let mut outs = [vec![T::zero(); a.tuples], vec![T::zero(); a.tuples]];
    let mut times = [Vec::new(), Vec::new()];
    for run in 0..a.warmup + a.repeats {
        for (p, path) in [FusedPath::Auto, FusedPath::Direct].into_iter().enumerate() {
            let start = Instant::now();
            vol2_fused_via(kernel, path, &matrix, a.rows, a.dim, &idx, &mut outs[p])?;
            let seconds = start.elapsed().as_secs_f64();
            if run >= a.warmup {
                times[p].push(seconds);
            }
        }
        // An invariant of vol2_fused, not an input problem: a mismatch is a bug.
        let same = outs[0]
            .iter()
            .zip(&outs[1])
            .all(|(&x, &y)| Scalar::to_f64(x).to_bits() == Scalar::to_f64(y).to_bits());
        assert!(
            same,
            "bench volumes: the auto and direct paths gave different bits"
        );
    }
    let [auto, direct] = times;
    Ok((auto, direct))
}
