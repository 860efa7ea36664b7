//! A 95% interval for one CV estimate: the percentile bootstrap over its kept volumes.
//!
//! The CV of a matrix is estimated from `valid` volumes of random 5-row subsets; resampling
//! those volumes with replacement (B = 1000 times) and taking the 2.5% and 97.5% quantiles of
//! the resampled CVs gives the interval. Percentile, not BCa: with ≥ 10 (in practice ~300)
//! volumes and CVs well below 1 the statistic's distribution is close to symmetric, the
//! percentile interval covers at about the nominal rate (tests/stats_bootstrap.rs measures it),
//! and it needs no jackknife pass. The interval describes the sampling of subsets, not the
//! variation between seeds or matrices (that is `aggregate` and `null`).
//!
//! Draw order, which defines reproducibility: resample b = 0..B one after another; within a
//! resample, n indices `rng.below(n)` in order, from `Rng::stream(seed, BOOTSTRAP_STREAM)`.

use crate::defaults::{CV_MEAN_EPS, CV_MIN_VALID};
use crate::error::{Error, Result};
use crate::rng::Rng;

/// Resamples per interval: enough that the 2.5% / 97.5% quantiles move by ≲ 0.1 of the
/// interval's half-width between bootstrap seeds.
pub const RESAMPLES: usize = 1000;
/// Nominal coverage.
pub const LEVEL: f64 = 0.95;
/// Stream id that separates the bootstrap's draws from the CV's own subset draws.
pub const BOOTSTRAP_STREAM: u64 = 0xB007_57A9;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BootstrapOptions {
    pub resamples: usize,
    /// Coverage in (0, 1), e.g. 0.95.
    pub level: f64,
    /// Seeds `Rng::stream(seed, BOOTSTRAP_STREAM)`; the sweep passes the metric's CV seed.
    pub seed: u64,
}

impl BootstrapOptions {
    /// The defaults (1000 resamples, 95%) with the given seed.
    pub fn with_seed(seed: u64) -> Self {
        BootstrapOptions {
            resamples: RESAMPLES,
            level: LEVEL,
            seed,
        }
    }
}

/// A two-sided interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// The prototype's statistic on volumes: std (Bessel) / (mean + 1e-8). The same formula as
/// `geometry::cv::cv_from_vol2` applies after its filter (tests check they agree).
pub fn cv_of(vols: &[f64]) -> f64 {
    let n = vols.len() as f64;
    let mean = vols.iter().sum::<f64>() / n;
    let var = vols.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    var.sqrt() / (mean + CV_MEAN_EPS)
}

/// The percentile-bootstrap interval of `cv_of(vols)`; `vols` are the kept volumes of one
/// estimate (`CvOutcome::Value::vols`). Err for fewer than 10 volumes (the metric has no value
/// then), non-finite volumes, or options out of range.
pub fn bootstrap_ci(vols: &[f64], opts: &BootstrapOptions) -> Result<Interval> {
    if vols.len() < CV_MIN_VALID {
        return Err(Error::input(format!(
            "bootstrap: {} volumes, at least {CV_MIN_VALID} needed (as for the CV itself)",
            vols.len()
        )));
    }
    if !vols.iter().all(|v| v.is_finite()) {
        return Err(Error::input(
            "bootstrap: non-finite volume; pass the kept volumes of a CvOutcome::Value",
        ));
    }
    if opts.resamples < 2 || !(opts.level > 0.0 && opts.level < 1.0) {
        return Err(Error::input(format!(
            "bootstrap: {} resamples at level {}; need ≥ 2 resamples and a level in (0, 1), e.g. {RESAMPLES} at {LEVEL}",
            opts.resamples, opts.level
        )));
    }
    let n = vols.len();
    let mut rng = Rng::stream(opts.seed, BOOTSTRAP_STREAM);
    // One pass per resample over deviations from the sample mean c: with d = v − c,
    // var = (Σd² − (Σd)²/n) / (n − 1) and mean = c + Σd/n. Centring keeps the cancellation
    // at the size of the resample's mean shift, so this matches `cv_of` to ~1e-15 relative.
    let c = vols.iter().sum::<f64>() / n as f64;
    let dev: Vec<f64> = vols.iter().map(|v| v - c).collect();
    let nf = n as f64;
    let mut cvs: Vec<f64> = (0..opts.resamples)
        .map(|_| {
            let (mut sum, mut sq) = (0.0, 0.0);
            for _ in 0..n {
                let d = dev[rng.below(n as u64) as usize];
                sum += d;
                sq += d * d;
            }
            let var = ((sq - sum * sum / nf) / (nf - 1.0)).max(0.0);
            var.sqrt() / (c + sum / nf + CV_MEAN_EPS)
        })
        .collect();
    cvs.sort_by(f64::total_cmp);
    let tail = (1.0 - opts.level) / 2.0;
    Ok(Interval {
        low: quantile(&cvs, tail),
        high: quantile(&cvs, 1.0 - tail),
    })
}

/// The q-quantile of sorted values, interpolating linearly between order statistics (NumPy's
/// default, "type 7": position q·(n − 1)).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_matches_numpy() {
        // numpy.quantile([1, 2, 4, 8], [0, 0.25, 0.5, 0.975, 1]) = [1, 1.75, 3, 7.7, 8].
        let s = [1.0, 2.0, 4.0, 8.0];
        for (q, want) in [
            (0.0, 1.0),
            (0.25, 1.75),
            (0.5, 3.0),
            (0.975, 7.7),
            (1.0, 8.0),
        ] {
            assert!((quantile(&s, q) - want).abs() < 1e-12, "q {q}");
        }
    }

    #[test]
    fn one_pass_statistic_equals_cv_of_the_resample() {
        // One resample with the bootstrap's draw order, built explicitly and given to cv_of:
        // the interval of a single resample at any level is that resample's CV.
        let vols: Vec<f64> = (0..40)
            .map(|i| 1.0 + 0.3 * (i as f64 * 0.7).sin())
            .collect();
        let mut rng = Rng::stream(3, BOOTSTRAP_STREAM);
        let first: Vec<f64> = (0..40).map(|_| vols[rng.below(40) as usize]).collect();
        let second: Vec<f64> = (0..40).map(|_| vols[rng.below(40) as usize]).collect();
        let opts = BootstrapOptions {
            resamples: 2,
            level: 0.5,
            seed: 3,
        };
        let ci = bootstrap_ci(&vols, &opts).unwrap();
        let (a, b) = (cv_of(&first), cv_of(&second));
        // Quantiles 0.25 / 0.75 of two values: 3a/4 + b/4 and a/4 + 3b/4 (sorted). 1e-14:
        // centred one-pass sums against two-pass, 40 values of order 1.
        let (lo, hi) = (a.min(b), a.max(b));
        assert!(
            (ci.low - (0.75 * lo + 0.25 * hi)).abs() < 1e-14,
            "{ci:?} {a} {b}"
        );
        assert!(
            (ci.high - (0.25 * lo + 0.75 * hi)).abs() < 1e-14,
            "{ci:?} {a} {b}"
        );
    }

    #[test]
    fn same_seed_same_interval_and_bad_input_is_refused() {
        let vols: Vec<f64> = (1..=50).map(|i| i as f64).collect();
        let a = bootstrap_ci(&vols, &BootstrapOptions::with_seed(7)).unwrap();
        assert_eq!(
            a,
            bootstrap_ci(&vols, &BootstrapOptions::with_seed(7)).unwrap()
        );
        assert_ne!(
            a,
            bootstrap_ci(&vols, &BootstrapOptions::with_seed(8)).unwrap()
        );
        assert!(a.low < cv_of(&vols) && cv_of(&vols) < a.high, "{a:?}");
        assert!(bootstrap_ci(&vols[..9], &BootstrapOptions::with_seed(7)).is_err());
        let bad = BootstrapOptions {
            level: 1.0,
            ..BootstrapOptions::with_seed(7)
        };
        assert!(bootstrap_ci(&vols, &bad).is_err());
    }
}
