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
            let (m, r) = row_stats(xr, n, eps);
            for (((o, &v), &g), &b) in yr.iter_mut().zip(xr).zip(gamma).zip(beta) {
                *o = normed(v, (m, r), g, b);
            }
            *mu = m;
            *rs = r;
        });
    Ok(LayerNormOut { y, mean, rstd })
}

/// (mean, rstd) of one row x of length n: two passes (mean, then centred squares), so no
/// cancellation for rows far from 0.
#[inline(always)]
pub(super) fn row_stats<T: Scalar>(x: &[T], n: T, eps: T) -> (T, T) {
    let m = lanes_sum(x, x, x, |v, _, _| v) / n;
    let var = lanes_sum(x, x, x, |v, _, _| (v - m) * (v - m)) / n;
    (m, T::one() / (var + eps).sqrt())
}

/// One output element: x̂·gamma + beta.
#[inline(always)]
pub(super) fn normed<T: Scalar>(v: T, (m, r): (T, T), gamma: T, beta: T) -> T {
    xhat(v, m, r) * gamma + beta
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
    let input = Input {
        x,
        gamma,
        saved,
        dy,
    };
    check_bwd(&input, (rows, d), dgamma, dbeta)?;
    check_len("layernorm_bwd", "dx", dx, rows * d)?;
    dx_rows(&input, d, dx, |o, v| *o = *o + v);
    affine_grads(&input, d, dgamma, dbeta);
    Ok(())
}

/// `backward` with dx a new buffer, written row by row without a zero fill first.
pub(super) fn backward_new<T: Scalar>(
    x: &[T],
    gamma: &[T],
    saved: &LayerNormOut<Vec<T>>,
    dy: &[T],
    (rows, d): (usize, usize),
    (dgamma, dbeta): (&mut [T], &mut [T]),
) -> Result<Vec<T>> {
    let input = Input {
        x,
        gamma,
        saved,
        dy,
    };
    check_bwd(&input, (rows, d), dgamma, dbeta)?;
    let mut dx = Vec::with_capacity(rows * d);
    dx_rows(
        &input,
        d,
        &mut dx.spare_capacity_mut()[..rows * d],
        |o, v| {
            o.write(v);
        },
    );
    // SAFETY: the capacity is at least rows·d, and `dx_rows` stores every element of its
    // rows·d output (one d-row per row of x, whose length was checked).
    unsafe { dx.set_len(rows * d) };
    affine_grads(&input, d, dgamma, dbeta);
    Ok(dx)
}

/// The inputs of the backward.
struct Input<'a, T> {
    x: &'a [T],
    gamma: &'a [T],
    saved: &'a LayerNormOut<Vec<T>>,
    dy: &'a [T],
}

fn check_bwd<T>(
    input: &Input<'_, T>,
    (rows, d): (usize, usize),
    dgamma: &[T],
    dbeta: &[T],
) -> Result<()> {
    let op = "layernorm_bwd";
    check_sizes(op, &[("rows", rows), ("d", d)])?;
    check_len(op, "x", input.x, rows * d)?;
    check_len(op, "gamma", input.gamma, d)?;
    check_len(op, "mean", &input.saved.mean, rows)?;
    check_len(op, "rstd", &input.saved.rstd, rows)?;
    check_len(op, "dy", input.dy, rows * d)?;
    check_len(op, "dgamma", dgamma, d)?;
    check_len(op, "dbeta", dbeta, d)
}

fn xhat<T: Scalar>(v: T, m: T, r: T) -> T {
    (v - m) * r
}

/// store(dx[i], rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂))) for every element, rows in parallel.
fn dx_rows<T: Scalar, O: Send>(
    input: &Input<'_, T>,
    d: usize,
    dx: &mut [O],
    store: impl Fn(&mut O, T) + Sync,
) {
    let Input {
        x,
        gamma,
        saved,
        dy,
    } = *input;
    let n: T = Scalar::from_f64(d as f64);
    dx.par_chunks_mut(d)
        .zip(x.par_chunks(d))
        .zip(dy.par_chunks(d))
        .zip(saved.mean.par_iter().zip(saved.rstd.par_iter()))
        .with_min_len(ROWS_PER_TASK)
        .for_each(|(((dxr, xr), dyr), (&m, &r))| dx_row((xr, dyr), gamma, (m, r), n, dxr, &store));
}

/// One row of `dx_rows`: store(dx[j], rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂))), g = dy ⊙ gamma.
#[inline(always)]
pub(super) fn dx_row<T: Scalar, O>(
    (xr, dyr): (&[T], &[T]),
    gamma: &[T],
    (m, r): (T, T),
    n: T,
    dxr: &mut [O],
    store: impl Fn(&mut O, T),
) {
    let mean_g = lanes_sum(dyr, gamma, xr, |g, w, _| g * w) / n;
    let mean_gx = lanes_sum(dyr, gamma, xr, |g, w, v| g * w * xhat(v, m, r)) / n;
    for (((o, &v), &g), &w) in dxr.iter_mut().zip(xr).zip(dyr).zip(gamma) {
        store(o, r * (g * w - mean_g - xhat(v, m, r) * mean_gx));
    }
}

/// dgamma += Σ_rows dy ⊙ x̂; dbeta += Σ_rows dy, rows in order.
fn affine_grads<T: Scalar>(input: &Input<'_, T>, d: usize, dgamma: &mut [T], dbeta: &mut [T]) {
    let Input { x, saved, dy, .. } = *input;
    for ((xr, dyr), (&m, &r)) in x
        .chunks_exact(d)
        .zip(dy.chunks_exact(d))
        .zip(saved.mean.iter().zip(&saved.rstd))
    {
        affine_row((xr, dyr), (m, r), dgamma, dbeta);
    }
}

/// One row's terms of `affine_grads`: dgamma += dy ⊙ x̂; dbeta += dy.
#[inline(always)]
pub(super) fn affine_row<T: Scalar>(
    (xr, dyr): (&[T], &[T]),
    (m, r): (T, T),
    dgamma: &mut [T],
    dbeta: &mut [T],
) {
    for (((dg, db), &v), &g) in dgamma.iter_mut().zip(dbeta.iter_mut()).zip(xr).zip(dyr) {
        *dg = *dg + g * xhat(v, m, r);
        *db = *db + g;
    }
}
