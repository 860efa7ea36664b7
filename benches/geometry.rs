//! Throughput of the geometry core (criterion): the batched 6×6 determinant in f32 and f64, and
//! the fused Cayley–Menger volumes (rows by index) at D = 8, 64, 256. Elements = determinants or
//! volumes. `cargo bench --bench geometry` (a group alone: `cargo bench --bench geometry -- NAME`).
//!
//! The determinant's batch lives in transparent huge pages (`cli::stream::HugeBuf`), and
//! `det6_batch/read/<precision>` times a plain read of the same buffer: the memory ceiling of
//! any kernel that streams it once, in matrices per second, measured in the same run.
//!
//! Fused-volume setups, all drawing tuples from a pool of P = 512 rows (the CV metric's):
//! - `vol2_fused_{f64,f32}`: 10⁵ volumes per call (automatic path: the distance table);
//! - `vol2_fused_1e6_{f64,f32}`: 10⁶ volumes per call (the speed issue's setup), automatic
//!   path (the table) and direct path (10 distances per volume, the path before the table);
//! - `vol2_fused_cv300_{f64,f32}`: 300 volumes per call, as one CV metric call, on the
//!   automatic path (direct) and with the table forced, to check the path choice there.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use mha_cv::backend::Scalar;
use mha_cv::cli::stream::{read_all, HugeBuf};
use mha_cv::geometry::cayley_menger::{vol2_fused_via, FusedPath};
use mha_cv::geometry::det6::det6_batch;
use mha_cv::geometry::sampler::sample_indices;
use mha_cv::geometry::Kernel;
use mha_cv::rng::Rng;

/// Matrices per determinant call: the reference size (288 MB of f64, streamed from
/// memory, so this measures the memory-bound regime).
const DET_BATCH: usize = 1_000_000;
/// Volumes per fused call, drawn from a 512-row pool as the CV metric does.
const VOL_BATCH: usize = 100_000;
const POOL: usize = 512;
/// Volumes per call in the speed issue's setup.
const BIG_BATCH: usize = 1_000_000;
/// Volumes per CV metric call (the prototype's CV_SAMPLES).
const CV_BATCH: usize = 300;

fn uniform<T: Scalar>(n: usize, seed: u64) -> Vec<T> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| <T as Scalar>::from_f64(rng.uniform_in(-1.0, 1.0)))
        .collect()
}

fn det<T: Scalar>(c: &mut Criterion, name: &str) {
    let mut mats = HugeBuf::<T>::zeros(36 * DET_BATCH);
    let mut rng = Rng::new(1);
    for x in mats.iter_mut() {
        *x = <T as Scalar>::from_f64(rng.uniform_in(-1.0, 1.0));
    }
    let mut out = vec![T::zero(); DET_BATCH];
    let mut g = c.benchmark_group("det6_batch");
    g.throughput(Throughput::Elements(DET_BATCH as u64));
    g.sample_size(20);
    g.bench_function(BenchmarkId::new(name, DET_BATCH), |b| {
        b.iter(|| det6_batch(black_box(&mats), &mut out).unwrap())
    });
    g.bench_function(BenchmarkId::new(format!("read/{name}"), DET_BATCH), |b| {
        b.iter(|| black_box(read_all(black_box(&mats))))
    });
    g.finish();
}

/// `batch` volumes from the 512-row pool per call, at D = 8, 64, 256, on each path in `paths`
/// (benchmark ids `D/<dim>` for Auto, `<path>/D/<dim>` otherwise).
fn fused<T: Scalar>(c: &mut Criterion, group: &str, batch: usize, paths: &[FusedPath]) {
    let idx = sample_indices(POOL, batch, &mut Rng::new(2));
    let mut out = vec![T::zero(); batch];
    let kernel = Kernel::detect();
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(batch as u64));
    g.sample_size(20);
    for dim in [8, 64, 256] {
        let matrix = uniform::<T>(POOL * dim, 3);
        for &path in paths {
            let id = match path {
                FusedPath::Auto => "D".to_string(),
                p => format!("{p:?}/D"),
            };
            g.bench_function(BenchmarkId::new(id, dim), |b| {
                b.iter(|| {
                    vol2_fused_via(kernel, path, black_box(&matrix), POOL, dim, &idx, &mut out)
                        .unwrap()
                })
            });
        }
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    det::<f64>(c, "f64");
    det::<f32>(c, "f32");
    let auto = [FusedPath::Auto];
    let big = [FusedPath::Auto, FusedPath::Direct];
    let cv = [FusedPath::Auto, FusedPath::Table];
    fused::<f64>(c, "vol2_fused_f64", VOL_BATCH, &auto);
    fused::<f32>(c, "vol2_fused_f32", VOL_BATCH, &auto);
    fused::<f64>(c, "vol2_fused_1e6_f64", BIG_BATCH, &big);
    fused::<f32>(c, "vol2_fused_1e6_f32", BIG_BATCH, &big);
    fused::<f64>(c, "vol2_fused_cv300_f64", CV_BATCH, &cv);
    fused::<f32>(c, "vol2_fused_cv300_f32", CV_BATCH, &cv);
}

criterion_group!(geometry, benches);
criterion_main!(geometry);
