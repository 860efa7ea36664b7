//! Costs that `--ci` and the null baselines add to a sweep:
//! - one null baseline (200 replicate matrices) for typical shapes;
//! - every baseline of the default sweep (D ∈ {64,128,256} × heads ∈ {1,2,4,8}), cold cache;
//! - one bootstrap interval (300 volumes, 1000 resamples).
//!
//! `cargo bench --bench stats`

use criterion::{criterion_group, criterion_main, Criterion};
use mha_cv::options::Precision;
use mha_cv::stats::bootstrap::{bootstrap_ci, BootstrapOptions};
use mha_cv::stats::null::{estimate, null_distribution, NullCache, NullDist, NullSpec, REPLICATES};

fn spec(rows: usize, cols: usize, dist: NullDist) -> NullSpec {
    NullSpec {
        rows,
        cols,
        dist,
        samples: 300,
        pool: 512,
        precision: Precision::F64,
    }
}

/// The (metric, rows, cols) of every measured matrix of one config, as the prototype names them.
fn shapes(dim: usize, heads: usize) -> Vec<(String, usize, usize)> {
    let hd = dim / heads;
    let n = 500 * 8;
    let mut v = vec![("emb".to_string(), 256, dim)];
    for b in ["Q_full", "K_full", "V_full"] {
        v.push((b.into(), dim, dim));
    }
    for h in 0..heads {
        for b in ["Q", "K", "V"] {
            v.push((format!("{b}_h{h}"), hd, dim));
            v.push((format!("act_{b}_h{h}"), n, hd));
        }
        v.push((format!("act_post_h{h}"), n, hd));
    }
    v.extend([("out_proj".into(), dim, dim), ("cls_head".into(), 10, dim)]);
    v.extend([("act_emb".into(), n, dim), ("act_post_full".into(), n, dim)]);
    v
}

fn default_sweep_specs() -> Vec<NullSpec> {
    let mut specs = Vec::new();
    for dim in [64, 128, 256] {
        for heads in [1, 2, 4, 8] {
            for (metric, rows, cols) in shapes(dim, heads) {
                specs.push(spec(rows, cols, null_distribution(&metric, dim)));
            }
        }
    }
    specs
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("null");
    g.sample_size(10);
    for (name, s) in [
        ("gauss_512x64", spec(512, 64, NullDist::Gaussian)),
        ("gauss_512x256", spec(512, 256, NullDist::Gaussian)),
        (
            "xavier_64x64",
            spec(
                64,
                64,
                NullDist::XavierUniform {
                    fan_in: 64,
                    fan_out: 192,
                },
            ),
        ),
    ] {
        g.bench_function(name, |b| b.iter(|| estimate(&s, REPLICATES).unwrap()));
    }
    let specs = default_sweep_specs();
    g.bench_function("default_sweep_cold_cache", |b| {
        b.iter(|| {
            let cache = NullCache::new(REPLICATES);
            cache.prefetch(&specs).unwrap();
            cache.len()
        })
    });
    g.finish();

    let vols: Vec<f64> = (0..300)
        .map(|i| 1.0 + 0.3 * (i as f64 * 0.37).sin())
        .collect();
    c.bench_function("bootstrap_ci_300", |b| {
        b.iter(|| bootstrap_ci(&vols, &BootstrapOptions::with_seed(1)).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
