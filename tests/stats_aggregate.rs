//! Aggregation over seeds equals a direct computation from the per-seed rows.

use mha_cv::rng::Rng;
use mha_cv::stats::aggregate::{aggregate, SeedRow};

/// 2 dims × 2 heads × 3 phases × 3 metrics × 4 seeds, shuffled seed order, with one N/A and one
/// seed without an interval.
fn rows() -> Vec<SeedRow> {
    let mut rng = Rng::new(11);
    let mut out = Vec::new();
    for seed in [7u64, 3, 42, 1] {
        for dim in [64, 128] {
            for heads in [1, 4] {
                for phase in ["pre", "mid", "post"] {
                    for metric in ["emb", "act_Q_h0", "out_proj"] {
                        let cv = rng.uniform_in(0.05, 0.5);
                        let half = rng.uniform_in(0.001, 0.05);
                        let null_cv = 0.2 + dim as f64 * 1e-4;
                        let null_sd = 0.01;
                        out.push(SeedRow {
                            dim,
                            heads,
                            head_dim: dim / heads,
                            seed,
                            phase: phase.into(),
                            metric: metric.into(),
                            cv: Some(cv),
                            ci_low: Some(cv - half),
                            ci_high: Some(cv + half),
                            null_cv: Some(null_cv),
                            null_sd: Some(null_sd),
                            z: Some((cv - null_cv) / null_sd),
                        });
                    }
                }
            }
        }
    }
    // An insufficient value and a row without an interval.
    out[5].cv = None;
    out[5].z = None;
    out[9].ci_low = None;
    out[9].ci_high = None;
    out
}

#[test]
fn aggregate_equals_direct_computation() {
    let rows = rows();
    let aggs = aggregate(&rows).unwrap();
    assert_eq!(aggs.len(), 2 * 2 * 3 * 3);
    for a in &aggs {
        let group: Vec<&SeedRow> = rows
            .iter()
            .filter(|r| {
                (r.dim, r.heads, r.phase.as_str(), r.metric.as_str())
                    == (a.dim, a.heads, a.phase.as_str(), a.metric.as_str())
            })
            .collect();
        let valid: Vec<&SeedRow> = group.iter().copied().filter(|r| r.cv.is_some()).collect();
        let xs: Vec<f64> = valid.iter().map(|r| r.cv.unwrap()).collect();
        let n = xs.len() as f64;
        // Direct: mean, and sd by the sum-of-squares formula (a different computation from the
        // two-pass one; agreement to 1e-12 absolute for values of order 0.1).
        let mean = xs.iter().sum::<f64>() / n;
        let sd = ((xs.iter().map(|x| x * x).sum::<f64>() - n * mean * mean) / (n - 1.0)).sqrt();
        assert_eq!(a.n_seeds, group.len());
        assert_eq!(a.n_valid, valid.len());
        assert_eq!(a.head_dim, a.dim / a.heads);
        assert!((a.cv_mean.unwrap() - mean).abs() < 1e-12, "{a:?}");
        assert!((a.cv_sd.unwrap() - sd).abs() < 1e-12, "{a:?}");
        let all_ci = valid.iter().all(|r| r.ci_low.is_some());
        if all_ci {
            let lo = valid
                .iter()
                .map(|r| r.ci_low.unwrap())
                .fold(f64::INFINITY, f64::min);
            let hi = valid
                .iter()
                .map(|r| r.ci_high.unwrap())
                .fold(f64::NEG_INFINITY, f64::max);
            assert_eq!((a.ci_low, a.ci_high), (Some(lo), Some(hi)));
        } else {
            assert_eq!((a.ci_low, a.ci_high), (None, None));
        }
        let zs: Vec<f64> = valid.iter().filter_map(|r| r.z).collect();
        let z = zs.iter().sum::<f64>() / zs.len() as f64;
        assert!((a.z.unwrap() - z).abs() < 1e-9, "{a:?}");
        // The baseline does not depend on the seed, so z of the mean = mean of the z's.
        let z_of_mean = (mean - a.null_cv.unwrap()) / a.null_sd.unwrap();
        assert!((z_of_mean - z).abs() < 1e-9);
        let (lo, hi) = match (a.ci_low, a.ci_high) {
            (Some(l), Some(h)) => (l, h),
            _ => (
                xs.iter().copied().fold(1.0, f64::min),
                xs.iter().copied().fold(0.0, f64::max),
            ),
        };
        let band = valid.len() == group.len() && 0.13 < lo && hi < 0.30;
        assert_eq!(a.band, band, "{a:?}");
    }
    // The groups come out in the order of their first row.
    assert_eq!(
        (
            aggs[0].dim,
            aggs[0].heads,
            aggs[0].phase.as_str(),
            aggs[0].metric.as_str()
        ),
        (64, 1, "pre", "emb")
    );
    assert!(
        aggs.iter().any(|a| a.n_valid == 3),
        "the N/A row is counted out"
    );
}

#[test]
fn one_seed_passes_through_unchanged() {
    let rows: Vec<SeedRow> = rows().into_iter().filter(|r| r.seed == 42).collect();
    for (a, r) in aggregate(&rows).unwrap().iter().zip(&rows) {
        assert_eq!(
            (a.cv_mean, a.cv_sd, a.ci_low, a.ci_high, a.z),
            (r.cv, None, r.ci_low, r.ci_high, r.z)
        );
    }
}
