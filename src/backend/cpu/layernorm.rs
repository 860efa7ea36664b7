//! LayerNorm over the last axis, as PyTorch: biased variance (divided by d), eps inside the
//! square root, affine gamma and beta. Rows are independent and split over rayon; the gamma and
//! beta gradients are sums over rows, taken in row order (deterministic).

use rayon::prelude::*;

use super::{check_len, check_sizes};
use crate::backend::{LayerNormOut, Scalar};
use crate::error::Result;

/// Rows per parallel task (a row is one d-vector: tiny work).
const ROWS_PER_TASK: usize = 64;

/// Σ_j f(a[j], b[j], c[j]) in 8 interleaved partial sums (lane l takes the j ≡ l mod 8), added
/// in order at the end: the lanes are independent, so the compiler can vectorise them, which a
/// single running sum forbids (each add would wait for the previous one). A fixed order, so
/// still deterministic.
#[inline(always)]
fn lanes_sum<T: Scalar>(a: &[T], b: &[T], c: &[T], f: impl Fn(T, T, T) -> T) -> T {
    let mut acc = [T::zero(); 8];
    let (ca, cb, cc) = (a.chunks_exact(8), b.chunks_exact(8), c.chunks_exact(8));
    let tail = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .zip(cc.remainder())
        .fold(T::zero(), |s, ((&x, &y), &z)| s + f(x, y, z));
    for ((x, y), z) in ca.zip(cb).zip(cc) {
        for l in 0..8 {
            acc[l] = acc[l] + f(x[l], y[l], z[l]);
        }
    }
    acc.iter().fold(T::zero(), |s, &v| s + v) + tail
}

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
            let m = lanes_sum(xr, xr, xr, |v, _, _| v) / n;
            let var = lanes_sum(xr, xr, xr, |v, _, _| (v - m) * (v - m)) / n;
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
            let mean_g = lanes_sum(dyr, gamma, xr, |g, w, _| g * w) / n;
            let mean_gx = lanes_sum(dyr, gamma, xr, |g, w, v| g * w * xhat(v, m, r)) / n;
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
