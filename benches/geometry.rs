//! Throughput of the geometry core (criterion): the batched 6×6 determinant in f32 and f64, and
//! the fused Cayley–Menger volumes (rows by index) at D = 8, 64, 256. Elements = determinants or
//! volumes. `cargo bench --bench geometry`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use mha_cv::backend::Scalar;
use mha_cv::geometry::cayley_menger::vol2_fused;
use mha_cv::geometry::det6::det6_batch;
use mha_cv::geometry::sampler::sample_indices;
use mha_cv::rng::Rng;

/// Matrices per determinant call: the reference size (288 MB of f64, streamed from
/// memory, so this measures the memory-bound regime).
const DET_BATCH: usize = 1_000_000;
/// Volumes per fused call, drawn from a 512-row pool as the CV metric does.
const VOL_BATCH: usize = 100_000;
const POOL: usize = 512;

fn uniform<T: Scalar>(n: usize, seed: u64) -> Vec<T> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| <T as Scalar>::from_f64(rng.uniform_in(-1.0, 1.0)))
        .collect()
}

fn det<T: Scalar>(c: &mut Criterion, name: &str) {
    let mats = uniform::<T>(36 * DET_BATCH, 1);
    let mut out = vec![T::zero(); DET_BATCH];
    let mut g = c.benchmark_group("det6_batch");
    g.throughput(Throughput::Elements(DET_BATCH as u64));
    g.sample_size(20);
    g.bench_function(BenchmarkId::new(name, DET_BATCH), |b| {
        b.iter(|| det6_batch(black_box(&mats), &mut out).unwrap())
    });
    g.finish();
}

fn fused<T: Scalar>(c: &mut Criterion, name: &str) {
    let idx = sample_indices(POOL, VOL_BATCH, &mut Rng::new(2));
    let mut out = vec![T::zero(); VOL_BATCH];
    let mut g = c.benchmark_group(format!("vol2_fused_{name}"));
    g.throughput(Throughput::Elements(VOL_BATCH as u64));
    g.sample_size(20);
    for dim in [8, 64, 256] {
        let matrix = uniform::<T>(POOL * dim, 3);
        g.bench_function(BenchmarkId::new("D", dim), |b| {
            b.iter(|| vol2_fused(black_box(&matrix), POOL, dim, &idx, &mut out).unwrap())
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    det::<f64>(c, "f64");
    det::<f32>(c, "f32");
    fused::<f64>(c, "f64");
    fused::<f32>(c, "f32");
}

criterion_group!(geometry, benches);
criterion_main!(geometry);
