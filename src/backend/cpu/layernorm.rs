//! LayerNorm over the last axis, as PyTorch: biased variance (divided by d), eps inside the
//! square root, affine gamma and beta. Rows are independent and split over rayon; the gamma and
//! beta gradients are sums over rows, taken in row order (deterministic).

use rayon::prelude::*;

use super::{check_len, check_sizes};
use crate::backend::{LayerNormOut, Scalar};
use crate::error::Result;

/// Rows per parallel task (a row is one d-vector: tiny work).
const ROWS_PER_TASK: usize = 64;

pub(super) fn forward<T: Scalar>(
    x: &[T],
    gamma: &[T],
    beta: &[T],
    rows: usize,
    d: usize,
    eps: f64,
) -> Result<LayerNormOut<Vec<T>>> {
    check_sizes("layernorm_fwd", &[("rows", rows), ("d", d)])?;
    check_len("layernorm_fwd", "x", x, rows * d)?;
    check_len("layernorm_fwd", "gamma", gamma, d)?;
    check_len("layernorm_fwd", "beta", beta, d)?;
    let n: T = Scalar::from_f64(d as f64);
    let eps: T = Scalar::from_f64(eps);
    let mut y = vec![T::zero(); rows * d];
    let mut mean = vec![T::zero(); rows];
    let mut rstd = vec![T::zero(); rows];
    y.par_chunks_mut(d)
        .zip(mean.par_iter_mut())
        .zip(rstd.par_iter_mut())
        .zip(x.par_chunks(d))
        .with_min_len(ROWS_PER_TASK)
        .for_each(|(((yr, mu), rs), xr)| {
            // Two passes (mean, then centred squares): no cancellation for rows far from 0.
            let m = xr.iter().copied().sum::<T>() / n;
            let var = xr.iter().map(|&v| (v - m) * (v - m)).sum::<T>() / n;
            let r = T::one() / (var + eps).sqrt();
            for (((o, &v), &g), &b) in yr.iter_mut().zip(xr).zip(gamma).zip(beta) {
                *o = (v - m) * r * g + b;
            }
            *mu = m;
            *rs = r;
        });
    Ok(LayerNormOut { y, mean, rstd })
}

/// With x̂ = (x − mean)·rstd and g = dy ⊙ gamma:
/// dx += rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)); dgamma += Σ_rows dy ⊙ x̂; dbeta += Σ_rows dy.
#[allow(clippy::too_many_arguments)]
pub(super) fn backward<T: Scalar>(
    x: &[T],
    gamma: &[T],
    saved: &LayerNormOut<Vec<T>>,
    dy: &[T],
    (rows, d): (usize, usize),
    dx: &mut [T],
    dgamma: &mut [T],
    dbeta: &mut [T],
) -> Result<()> {
    let op = "layernorm_bwd";
    check_sizes(op, &[("rows", rows), ("d", d)])?;
    check_len(op, "x", x, rows * d)?;
    check_len(op, "gamma", gamma, d)?;
    check_len(op, "mean", &saved.mean, rows)?;
    check_len(op, "rstd", &saved.rstd, rows)?;
    check_len(op, "dy", dy, rows * d)?;
    check_len(op, "dx", dx, rows * d)?;
    check_len(op, "dgamma", dgamma, d)?;
    check_len(op, "dbeta", dbeta, d)?;
    let n: T = Scalar::from_f64(d as f64);
    let xhat = |v: T, m: T, r: T| (v - m) * r;
    dx.par_chunks_mut(d)
        .zip(x.par_chunks(d))
        .zip(dy.par_chunks(d))
        .zip(saved.mean.par_iter().zip(saved.rstd.par_iter()))
        .with_min_len(ROWS_PER_TASK)
        .for_each(|(((dxr, xr), dyr), (&m, &r))| {
            let (mut mean_g, mut mean_gx) = (T::zero(), T::zero());
            for ((&v, &g), &w) in xr.iter().zip(dyr).zip(gamma) {
                mean_g = mean_g + g * w;
                mean_gx = mean_gx + g * w * xhat(v, m, r);
            }
            let (mean_g, mean_gx) = (mean_g / n, mean_gx / n);
            for (((o, &v), &g), &w) in dxr.iter_mut().zip(xr).zip(dyr).zip(gamma) {
                *o = *o + r * (g * w - mean_g - xhat(v, m, r) * mean_gx);
            }
        });
    for ((xr, dyr), (&m, &r)) in x
        .chunks_exact(d)
        .zip(dy.chunks_exact(d))
        .zip(saved.mean.iter().zip(&saved.rstd))
    {
        for (((dg, db), &v), &g) in dgamma.iter_mut().zip(dbeta.iter_mut()).zip(xr).zip(dyr) {
            *dg = *dg + g * xhat(v, m, r);
            *db = *db + g;
        }
    }
    Ok(())
}
