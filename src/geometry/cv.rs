//! The CV metric of the prototype (`cv_metric` in mha_cv_prototype.py): the coefficient of
//! variation of 4-simplex volumes spanned by random 5-row subsets of a matrix's rows.
//!
//! 1. fewer than 5 rows → Insufficient(TooFewRows);
//! 2. a non-finite value anywhere in the matrix (after conversion to the compute precision)
//!    → Insufficient(NonFinite) (the prototype would silently drop NaN volumes);
//! 3. pool = the first min(rows, options.pool) rows; `samples` tuples of 5 distinct pool rows
//!    from `sample_indices(pool, samples, Rng::new(seed))`;
//! 4. vol² of each by Cayley–Menger (`vol2_fused`) in the chosen precision: f64 (default), or
//!    f32 like the prototype (distances and determinant in f32);
//! 5. `cv_from_vol2`: keep vol² > 1e-20; fewer than 10 kept → Insufficient(TooFewValid);
//!    vols = √vol²; CV = std(vols, Bessel) / (mean(vols) + 1e-8), in f64.
//!
//! The statistic is taken in f64 in both precisions (the prototype takes it in the tensor's
//! dtype; the difference is ~1e-7 relative in f32). The f64 comparison with 1e-20 decides
//! every f32 vol² exactly as the prototype's f32 comparison does: no f32 lies in
//! (f32(1e-20), 1e-20].

use serde::{Deserialize, Serialize};

use super::cayley_menger::vol2_fused;
use super::sampler::sample_indices;
use crate::backend::Scalar;
use crate::defaults::{CV_MEAN_EPS, CV_MIN_VALID, CV_MIN_VOL2, CV_POOL, CV_SAMPLES, SEED};
use crate::error::{Error, Result};
use crate::options::Precision;
use crate::rng::Rng;

/// How one CV estimate is drawn. `Default` is the prototype's: 300 samples, pool 512, seed 42,
/// f64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CvOptions {
    pub samples: usize,
    pub pool: usize,
    pub seed: u64,
    pub precision: Precision,
}

impl Default for CvOptions {
    fn default() -> Self {
        CvOptions {
            samples: CV_SAMPLES,
            pool: CV_POOL,
            seed: SEED,
            precision: Precision::F64,
        }
    }
}

/// A CV value, or why there is none (never a silent 0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CvOutcome {
    /// `valid` volumes passed the filter; `vols` are their volumes (√vol²) in sample order.
    Value {
        cv: f64,
        valid: usize,
        vols: Vec<f64>,
    },
    /// `valid`: how many volumes passed the filter (0 when none were computed).
    Insufficient {
        reason: InsufficientReason,
        valid: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InsufficientReason {
    /// Fewer than 5 rows: no 4-simplex exists.
    TooFewRows { rows: usize },
    /// Fewer than 10 volumes had vol² > 1e-20.
    TooFewValid { valid: usize },
    /// A NaN or infinite input value, or a volume that overflowed.
    NonFinite,
}

impl CvOutcome {
    /// The CV value, if there is one.
    pub fn cv(&self) -> Option<f64> {
        match self {
            CvOutcome::Value { cv, .. } => Some(*cv),
            CvOutcome::Insufficient { .. } => None,
        }
    }
}

impl std::fmt::Display for InsufficientReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InsufficientReason::TooFewRows { rows } => {
                write!(f, "{rows} rows, a 4-simplex needs at least 5")
            }
            InsufficientReason::TooFewValid { valid } => write!(
                f,
                "{valid} volumes with vol² > {CV_MIN_VOL2:e}, at least {CV_MIN_VALID} needed"
            ),
            InsufficientReason::NonFinite => write!(f, "non-finite values (NaN or ±inf)"),
        }
    }
}

/// CV of the rows of `matrix` (rows, cols), row-major. Err only for malformed input:
/// `matrix.len() ≠ rows·cols`, or options that cannot be sampled (`pool < 5`).
pub fn cv_metric<T: Scalar>(
    matrix: &[T],
    rows: usize,
    cols: usize,
    opts: &CvOptions,
) -> Result<CvOutcome> {
    cv_metric_with(matrix, rows, cols, opts, &CPU_VOL2)
}

/// A vol² function `(points (rows, cols), rows, cols, tuples) → vol²` in one precision.
pub type Vol2Fn<'a, P> = dyn Fn(&[P], usize, usize, &[[u32; 5]]) -> Result<Vec<P>> + Sync + 'a;

/// Where the volumes are computed, one function per precision: the CPU's [`vol2_fused`]
/// ([`CPU_VOL2`]) or a device's fused kernel (`backend::cuda::geometry`). Sampling, the filter
/// and the statistic stay here, so every device gives the same estimate from the same tuples.
pub struct Vol2Engine<'a> {
    pub f32: &'a Vol2Fn<'a, f32>,
    pub f64: &'a Vol2Fn<'a, f64>,
}

fn cpu_vol2<P: Scalar>(points: &[P], rows: usize, cols: usize, idx: &[[u32; 5]]) -> Result<Vec<P>> {
    let mut vol2 = vec![P::zero(); idx.len()];
    vol2_fused(points, rows, cols, idx, &mut vol2)?;
    Ok(vol2)
}

/// The CPU volume engine.
pub const CPU_VOL2: Vol2Engine<'static> = Vol2Engine {
    f32: &cpu_vol2::<f32>,
    f64: &cpu_vol2::<f64>,
};

/// [`cv_metric`] with the volumes computed by `engine`.
pub fn cv_metric_with<T: Scalar>(
    matrix: &[T],
    rows: usize,
    cols: usize,
    opts: &CvOptions,
    engine: &Vol2Engine,
) -> Result<CvOutcome> {
    if rows.checked_mul(cols) != Some(matrix.len()) {
        return Err(Error::input(format!(
            "cv_metric: matrix holds {} values, expected rows·cols = {rows}·{cols}",
            matrix.len()
        )));
    }
    if opts.pool < 5 {
        return Err(Error::input(format!(
            "cv_metric: pool {} is too small; it must be at least 5 rows (the prototype uses {CV_POOL})",
            opts.pool
        )));
    }
    if rows < 5 {
        return Ok(insufficient(InsufficientReason::TooFewRows { rows }));
    }
    let pool = rows.min(opts.pool).min(1 << 32);
    let idx = || sample_indices(pool, opts.samples, &mut Rng::new(opts.seed));
    let vol2 = match opts.precision {
        Precision::F64 => pool_vol2::<T, f64>(matrix, pool, cols, idx, engine.f64)?,
        Precision::F32 => pool_vol2::<T, f32>(matrix, pool, cols, idx, engine.f32)?,
    };
    Ok(match vol2 {
        Some(v) => cv_from_vol2(&v),
        None => insufficient(InsufficientReason::NonFinite),
    })
}

/// vol² (as f64) of the sampled tuples of the first `pool` rows, computed in precision P;
/// None when the matrix has a value that is not finite in P.
fn pool_vol2<T: Scalar, P: Scalar>(
    matrix: &[T],
    pool: usize,
    cols: usize,
    idx: impl FnOnce() -> Vec<[u32; 5]>,
    vol2_of: &Vol2Fn<P>,
) -> Result<Option<Vec<f64>>> {
    let convert = |x: &T| <P as Scalar>::from_f64(Scalar::to_f64(*x));
    if !matrix.iter().all(|x| convert(x).is_finite()) {
        return Ok(None);
    }
    let points: Vec<P> = matrix[..pool * cols].iter().map(convert).collect();
    let vol2 = vol2_of(&points, pool, cols, &idx())?;
    Ok(Some(vol2.iter().map(|&v| Scalar::to_f64(v)).collect()))
}

fn insufficient(reason: InsufficientReason) -> CvOutcome {
    CvOutcome::Insufficient { reason, valid: 0 }
}

/// The prototype's filter and statistic on squared volumes (shared by the CPU and GPU volume
/// paths): keep vol² > 1e-20; at least 10 kept; CV = std(√vol², Bessel) / (mean + 1e-8).
/// Any non-finite vol² (an overflow) gives Insufficient(NonFinite).
pub fn cv_from_vol2(vol2: &[f64]) -> CvOutcome {
    let kept: Vec<f64> = vol2
        .iter()
        .filter(|&&v| v > CV_MIN_VOL2)
        .map(|v| v.sqrt())
        .collect();
    let valid = kept.iter().filter(|v| v.is_finite()).count();
    if vol2.iter().any(|v| !v.is_finite()) {
        return CvOutcome::Insufficient {
            reason: InsufficientReason::NonFinite,
            valid,
        };
    }
    if valid < CV_MIN_VALID {
        return CvOutcome::Insufficient {
            reason: InsufficientReason::TooFewValid { valid },
            valid,
        };
    }
    let n = valid as f64;
    let mean = kept.iter().sum::<f64>() / n;
    let var = kept.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    CvOutcome::Value {
        cv: var.sqrt() / (mean + CV_MEAN_EPS),
        valid,
        vols: kept,
    }
}
