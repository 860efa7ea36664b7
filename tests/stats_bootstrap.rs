//! The percentile bootstrap covers the true CV at about the nominal 95%.
//!
//! Synthetic volumes with a known CV: Gamma(k, 1) draws (a sum of k Exp(1) draws), whose CV is
//! exactly 1/√k. k = 4 (CV 0.5, skewed like the volumes of low-dimensional simplices) and
//! k = 25 (CV 0.2, the band). Each of M = 500 replications draws n = 300 volumes (the
//! prototype's sample count) and builds the default interval (1000 resamples); the coverage
//! is the fraction of intervals holding 1/√k.
//!
//! Tolerance: the binomial sd of a coverage estimate at p = 0.95 over 500 replications is
//! √(0.95·0.05/500) = 0.0097; we accept 0.95 ± 0.03 (3.1 sd). The percentile interval's own
//! bias at n = 300 is ~1 point (it under-covers slightly for skewed statistics), inside that.

use mha_cv::geometry::cv::{cv_from_vol2, CvOutcome};
use mha_cv::rng::Rng;
use mha_cv::stats::bootstrap::{bootstrap_ci, cv_of, BootstrapOptions, LEVEL};
use rayon::prelude::*;

const REPLICATIONS: usize = 500;
const N: usize = 300;

fn gamma(k: usize, rng: &mut Rng) -> f64 {
    (0..k).map(|_| -(1.0 - rng.uniform()).ln()).sum()
}

fn coverage(k: usize) -> f64 {
    let truth = 1.0 / (k as f64).sqrt();
    let hits = (0..REPLICATIONS)
        .into_par_iter()
        .filter(|&m| {
            let mut rng = Rng::stream(2024 + k as u64, m as u64);
            let vols: Vec<f64> = (0..N).map(|_| gamma(k, &mut rng)).collect();
            let ci = bootstrap_ci(&vols, &BootstrapOptions::with_seed(m as u64)).unwrap();
            ci.contains(truth)
        })
        .count();
    hits as f64 / REPLICATIONS as f64
}

#[test]
fn percentile_interval_covers_at_the_nominal_rate() {
    for k in [4, 25] {
        let c = coverage(k);
        assert!((c - LEVEL).abs() <= 0.03, "k = {k} (CV {}): coverage {c}", 1.0 / (k as f64).sqrt());
    }
}

#[test]
fn bootstrap_statistic_is_the_geometry_statistic() {
    // cv_of on volumes must equal cv_from_vol2 on their squares (same filter-free input).
    let mut rng = Rng::new(5);
    let vols: Vec<f64> = (0..300).map(|_| gamma(4, &mut rng)).collect();
    let vol2: Vec<f64> = vols.iter().map(|v| v * v).collect();
    let CvOutcome::Value { cv, .. } = cv_from_vol2(&vol2) else { panic!("no value") };
    // √(v²) differs from v by ≤ 1 ulp, so the two agree to ~1e-15 relative.
    assert!((cv - cv_of(&vols)).abs() <= 1e-13 * cv, "{cv} vs {}", cv_of(&vols));
}
