//! The CV metric: the prototype's semantics, insufficient cases, agreement with a direct naive
//! computation, determinism.

use crate::geometry_support;

use geometry_support::{hscale, vol2_gram, U64};
use mha_cv::geometry::cv::{cv_from_vol2, cv_metric, CvOptions, CvOutcome, InsufficientReason};
use mha_cv::geometry::sampler::sample_indices;
use mha_cv::options::Precision;
use mha_cv::rng::Rng;

fn gaussian(rows: usize, cols: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    (0..rows * cols).map(|_| rng.normal()).collect()
}

fn f64_opts() -> CvOptions {
    CvOptions::default()
}

fn f32_opts() -> CvOptions {
    CvOptions {
        precision: Precision::F32,
        ..CvOptions::default()
    }
}

#[test]
fn defaults_are_the_prototypes() {
    let o = CvOptions::default();
    assert_eq!(
        (o.samples, o.pool, o.seed, o.precision),
        (300, 512, 42, Precision::F64)
    );
}

/// The naive computation, written out from the prototype: the same documented samples, vol²
/// from the Gram determinant by Laplace expansion in f64 (independent of the Cayley–Menger
/// path), the filter, and the Bessel-corrected statistic.
fn naive_cv(m: &[f64], rows: usize, cols: usize, o: &CvOptions) -> (f64, Vec<f64>, Vec<f64>) {
    let pool = rows.min(o.pool);
    let idx = sample_indices(pool, o.samples, &mut Rng::new(o.seed));
    let mut vols = Vec::new();
    let mut hs = Vec::new();
    for t in idx {
        let p: Vec<Vec<f64>> = t
            .iter()
            .map(|&i| m[i as usize * cols..][..cols].to_vec())
            .collect();
        let v2 = vol2_gram(&p);
        if v2 > 1e-20 {
            vols.push(v2.sqrt());
            hs.push(hscale(&p));
        }
    }
    let n = vols.len() as f64;
    let mean = vols.iter().sum::<f64>() / n;
    let var = vols.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (var.sqrt() / (mean + 1e-8), vols, hs)
}

/// Small inputs (6..40 rows, 4..16 columns, pool smaller and larger than the rows): each kept
/// volume agrees with the naive one within the law (|δvol²| ≤ 2·64·u·H, both sides rounding,
/// so |δvol| ≤ that / (2·vol)), and the CV to 1e-10 relative: the volumes agree to ~1e-14 of
/// their scale, while any change of semantics (no Bessel correction: 1/600; another sample
/// or filter) moves the CV by far more.
#[test]
fn agrees_with_a_naive_computation() {
    for (rows, cols, pool, seed) in [
        (6, 4, 512, 1),
        (12, 5, 512, 2),
        (40, 16, 20, 3),
        (9, 8, 9, 4),
    ] {
        let m = gaussian(rows, cols, 100 + seed);
        let o = CvOptions {
            pool,
            seed,
            ..CvOptions::default()
        };
        let (cv_ref, vols_ref, hs) = naive_cv(&m, rows, cols, &o);
        match cv_metric(&m, rows, cols, &o).unwrap() {
            CvOutcome::Value { cv, valid, vols } => {
                assert_eq!(valid, vols_ref.len());
                for ((a, b), h) in vols.iter().zip(&vols_ref).zip(&hs) {
                    let tol = 2.0 * 64.0 * U64 * h / (2.0 * b);
                    assert!((a - b).abs() <= tol, "vol {a} vs {b}");
                }
                assert!((cv - cv_ref).abs() <= 1e-10 * cv_ref, "{cv} vs {cv_ref}");
            }
            other => panic!("{other:?}"),
        }
    }
}

/// f32 (the prototype's precision) against f64 on well-spread points: the same samples, each
/// volume within the f32 law (64·u·H, u = 6e-8; H/vol² stays below ~100 for Gaussian points in
/// 64 columns), so the CVs agree to 1e-5 relative (measured: 1e-8); a mistake such as taking
/// f32 from a different sample or pool would differ by ~0.01–0.1.
#[test]
fn f32_and_f64_agree_on_well_spread_points() {
    let m = gaussian(600, 64, 5);
    let a = cv_metric(&m, 600, 64, &f64_opts()).unwrap().cv().unwrap();
    let b = cv_metric(&m, 600, 64, &f32_opts()).unwrap().cv().unwrap();
    assert!((a - b).abs() <= 1e-5 * a, "{a} vs {b}");
    // f32 input, both precisions.
    let m32: Vec<f32> = m.iter().map(|&x| x as f32).collect();
    let c = cv_metric(&m32, 600, 64, &f32_opts()).unwrap().cv().unwrap();
    assert_eq!(b, c);
}

/// Gaussian rows with 64 columns: CV ≈ 0.18 (numerics.md, 300-sample estimates, sampling
/// error ±0.008); 5 sampling errors either side.
#[test]
fn gaussian_rows_have_the_known_cv() {
    let m = gaussian(512, 64, 6);
    let cv = cv_metric(&m, 512, 64, &f64_opts()).unwrap().cv().unwrap();
    assert!((0.14..0.22).contains(&cv), "{cv}");
}

#[test]
fn same_seed_same_value_other_seed_other_value() {
    let m = gaussian(100, 8, 7);
    let a = cv_metric(&m, 100, 8, &f64_opts()).unwrap();
    assert_eq!(a, cv_metric(&m, 100, 8, &f64_opts()).unwrap());
    let o = CvOptions {
        seed: 43,
        ..CvOptions::default()
    };
    assert_ne!(a.cv(), cv_metric(&m, 100, 8, &o).unwrap().cv());
}

/// Only the first min(rows, pool) rows are sampled: rows past the pool do not change the
/// value.
#[test]
fn rows_past_the_pool_are_not_used() {
    let mut m = gaussian(600, 8, 8);
    let a = cv_metric(&m[..512 * 8], 512, 8, &f64_opts()).unwrap();
    assert_eq!(a, cv_metric(&m, 600, 8, &f64_opts()).unwrap());
    m[550 * 8..].iter_mut().for_each(|x| *x *= 1e3);
    assert_eq!(a, cv_metric(&m, 600, 8, &f64_opts()).unwrap());
}

#[test]
fn fewer_than_five_rows() {
    let m = gaussian(4, 8, 9);
    let r = cv_metric(&m, 4, 8, &f64_opts()).unwrap();
    assert_eq!(
        r,
        CvOutcome::Insufficient {
            reason: InsufficientReason::TooFewRows { rows: 4 },
            valid: 0
        }
    );
    assert_eq!(cv_metric::<f64>(&[], 0, 8, &f64_opts()).unwrap().cv(), None);
}

/// Identical rows: every CM determinant is exactly 0, nothing passes vol² > 1e-20.
#[test]
fn identical_rows_give_too_few_valid() {
    let row = [0.3, -1.0, 2.5, 7.0];
    let m: Vec<f64> = row.iter().cycle().take(50 * 4).copied().collect();
    for o in [f64_opts(), f32_opts()] {
        assert_eq!(
            cv_metric(&m, 50, 4, &o).unwrap(),
            CvOutcome::Insufficient {
                reason: InsufficientReason::TooFewValid { valid: 0 },
                valid: 0
            }
        );
    }
}

/// The 1e-20 threshold is absolute: Gaussian rows scaled by 1e-3 in 8 columns have vol² of
/// order 1e-24·(that of unit rows), all below it.
#[test]
fn tiny_weights_fall_below_the_threshold() {
    let m: Vec<f64> = gaussian(100, 8, 10).iter().map(|x| x * 1e-3).collect();
    match cv_metric(&m, 100, 8, &f64_opts()).unwrap() {
        CvOutcome::Insufficient {
            reason: InsufficientReason::TooFewValid { valid },
            ..
        } => assert!(valid < 10),
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_samples_gives_too_few_valid() {
    let o = CvOptions {
        samples: 0,
        ..CvOptions::default()
    };
    let r = cv_metric(&gaussian(20, 8, 11), 20, 8, &o).unwrap();
    assert_eq!(
        r,
        CvOutcome::Insufficient {
            reason: InsufficientReason::TooFewValid { valid: 0 },
            valid: 0
        }
    );
}

/// A NaN or ±inf anywhere in the matrix (also past the pool) → NonFinite; so is a finite f64
/// that overflows f32 when the precision is f32.
#[test]
fn non_finite_input() {
    let base = gaussian(600, 8, 12);
    for (row, bad) in [
        (3, f64::NAN),
        (511, f64::INFINITY),
        (599, f64::NEG_INFINITY),
    ] {
        let mut m = base.clone();
        m[row * 8 + 5] = bad;
        for o in [f64_opts(), f32_opts()] {
            assert_eq!(
                cv_metric(&m, 600, 8, &o).unwrap(),
                CvOutcome::Insufficient {
                    reason: InsufficientReason::NonFinite,
                    valid: 0
                }
            );
        }
    }
    let mut m = base.clone();
    m[7] = 1e39;
    assert!(cv_metric(&m, 600, 8, &f64_opts()).unwrap().cv().is_some());
    assert_eq!(
        cv_metric(&m, 600, 8, &f32_opts()).unwrap().cv(),
        None,
        "1e39 is inf in f32"
    );
}

#[test]
fn malformed_input_is_an_error() {
    let m = gaussian(10, 8, 13);
    let e = cv_metric(&m, 10, 7, &f64_opts()).unwrap_err().to_string();
    assert!(e.contains("80") && e.contains("10·7"), "{e}");
    let o = CvOptions {
        pool: 4,
        ..CvOptions::default()
    };
    let e = cv_metric(&m, 10, 8, &o).unwrap_err().to_string();
    assert!(e.contains("pool 4"), "{e}");
}

/// The filter and statistic by hand: vol² = k² for k = 1..10 → vols 1..10, mean 5.5,
/// Bessel std √(82.5/9); values ≤ 1e-20 (including exactly 1e-20) are dropped.
#[test]
fn cv_from_vol2_by_hand() {
    let mut v2: Vec<f64> = (1..=10).map(|k| (k * k) as f64).collect();
    v2.extend([1e-20, 0.0, -3.0, 5e-21]);
    match cv_from_vol2(&v2) {
        CvOutcome::Value { cv, valid, vols } => {
            assert_eq!(valid, 10);
            assert_eq!(vols, (1..=10).map(|k| k as f64).collect::<Vec<_>>());
            let expect = (82.5f64 / 9.0).sqrt() / (5.5 + 1e-8);
            assert!(
                (cv - expect).abs() <= 4.0 * U64 * expect,
                "{cv} vs {expect}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        cv_from_vol2(&v2[1..]),
        CvOutcome::Insufficient {
            reason: InsufficientReason::TooFewValid { valid: 9 },
            valid: 9
        }
    );
    v2.push(f64::NAN);
    assert_eq!(
        cv_from_vol2(&v2),
        CvOutcome::Insufficient {
            reason: InsufficientReason::NonFinite,
            valid: 10
        }
    );
}
