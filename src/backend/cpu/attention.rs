//! Scaled dot-product attention per (batch, head), as `nn.MultiheadAttention`'s slow path:
//! q is multiplied by √(1/hd) first, scores = (q·√(1/hd))·kᵀ, probs = softmax(scores) by rows,
//! out = probs·v. Layout: qkv (batch, seq, 3·dim) with q | k | v column blocks, head h using
//! columns h·hd..(h+1)·hd of each block; out (batch, seq, dim); probs (batch, heads, seq, seq).
//!
//! The sequences are short (8) and a head is small, so the products are plain loops; the batch
//! is split over rayon (each batch element writes only its own rows).

use rayon::prelude::*;

use super::{check_len, check_sizes};
use crate::backend::{AttnDims, Scalar};
use crate::error::Result;

fn check<T>(op: &str, qkv: &[T], d: AttnDims) -> Result<()> {
    let sizes = [("batch", d.batch), ("seq", d.seq), ("heads", d.heads), ("head_dim", d.head_dim)];
    check_sizes(op, &sizes)?;
    check_len(op, "qkv", qkv, d.batch * d.seq * 3 * d.dim())
}

/// √(1/hd) in f64 (Python's `math.sqrt(1.0 / E)`), then cast, as PyTorch scales q.
fn q_scale<T: Scalar>(head_dim: usize) -> T {
    Scalar::from_f64((1.0 / head_dim as f64).sqrt())
}

/// The (seq, dim) column block `block` (0 = q, 1 = k, 2 = v) of one batch element's qkv
/// (seq, 3·dim), transposed into `out` (dim, seq): row c of `out` is column c over the sequence.
/// Scores and dP are then sums of seq-wide axpys (independent lanes, SIMD) instead of dot
/// products (one running sum each).
fn transpose_block<T: Scalar>(qkv_b: &[T], block: usize, seq: usize, dim: usize, out: &mut [T]) {
    for (t, row) in qkv_b.chunks_exact(3 * dim).enumerate() {
        for (c, &x) in row[block * dim..(block + 1) * dim].iter().enumerate() {
            out[c * seq + t] = x;
        }
    }
}

/// y += alpha · x
fn axpy<T: Scalar>(y: &mut [T], alpha: T, x: &[T]) {
    y.iter_mut().zip(x).for_each(|(a, &b)| *a = *a + alpha * b);
}

/// Softmax of one row in place, stabilised by subtracting the row's maximum.
fn softmax_in_place<T: Scalar>(row: &mut [T]) {
    let max = row.iter().copied().fold(T::neg_infinity(), T::max);
    row.iter_mut().for_each(|x| *x = (*x - max).exp());
    let sum: T = row.iter().copied().sum();
    row.iter_mut().for_each(|x| *x = *x / sum);
}

pub(super) fn forward<T: Scalar>(qkv: &[T], d: AttnDims) -> Result<(Vec<T>, Vec<T>)> {
    check("attention_fwd", qkv, d)?;
    let (s, hd, dim) = (d.seq, d.head_dim, d.dim());
    let scale: T = q_scale(hd);
    let mut out = vec![T::zero(); d.batch * s * dim];
    let mut probs = vec![T::zero(); d.batch * d.heads * s * s];
    out.par_chunks_mut(s * dim)
        .zip(probs.par_chunks_mut(d.heads * s * s))
        .zip(qkv.par_chunks(s * 3 * dim))
        .for_each_init(
            || vec![T::zero(); dim * s],
            |kt, ((out_b, probs_b), qkv_b)| {
                transpose_block(qkv_b, 1, s, dim, kt); // kᵀ (dim, seq)
                for h in 0..d.heads {
                    for i in 0..s {
                        // scores_i = Σ_j (q[i,j]·√(1/hd)) · kᵀ[j, :] over the head's columns j.
                        let row = &mut probs_b[(h * s + i) * s..][..s];
                        let q_i = &qkv_b[i * 3 * dim + h * hd..][..hd];
                        for (j, &q) in q_i.iter().enumerate() {
                            axpy(row, q * scale, &kt[(h * hd + j) * s..][..s]);
                        }
                        softmax_in_place(row);
                        let o = &mut out_b[i * dim + h * hd..][..hd];
                        for (t, &p) in row.iter().enumerate() {
                            axpy(o, p, &qkv_b[t * 3 * dim + 2 * dim + h * hd..][..hd]);
                        }
                    }
                }
            },
        );
    Ok((out, probs))
}

/// With P = probs, dO = dout (per batch element and head):
/// dV += Pᵀ·dO; dP = dO·Vᵀ; dS = P ⊙ (dP − rowsum(P ⊙ dP)) (softmax's Jacobian);
/// dQ += √(1/hd)·dS·K; dK += dSᵀ·(√(1/hd)·Q).
pub(super) fn backward<T: Scalar>(
    qkv: &[T],
    probs: &[T],
    dout: &[T],
    d: AttnDims,
    dqkv: &mut [T],
) -> Result<()> {
    check("attention_bwd", qkv, d)?;
    let (s, hd, dim) = (d.seq, d.head_dim, d.dim());
    check_len("attention_bwd", "probs", probs, d.batch * d.heads * s * s)?;
    check_len("attention_bwd", "dout", dout, d.batch * s * dim)?;
    check_len("attention_bwd", "dqkv", dqkv, d.batch * s * 3 * dim)?;
    let scale: T = q_scale(hd);
    let col = move |r: usize, block: usize, h: usize| r * 3 * dim + block * dim + h * hd;
    dqkv.par_chunks_mut(s * 3 * dim)
        .zip(qkv.par_chunks(s * 3 * dim))
        .zip(probs.par_chunks(d.heads * s * s))
        .zip(dout.par_chunks(s * dim))
        .for_each_init(
            || (vec![T::zero(); dim * s], vec![T::zero(); s]),
            |(vt, ds), (((dqkv_b, qkv_b), probs_b), dout_b)| {
                transpose_block(qkv_b, 2, s, dim, vt); // vᵀ (dim, seq)
                for h in 0..d.heads {
                    for i in 0..s {
                        let p = &probs_b[(h * s + i) * s..][..s];
                        let g = &dout_b[i * dim + h * hd..][..hd];
                        // dP_i = Σ_j g[j] · vᵀ[j, :]
                        ds.fill(T::zero());
                        for (j, &gj) in g.iter().enumerate() {
                            axpy(ds, gj, &vt[(h * hd + j) * s..][..s]);
                        }
                        let c = p.iter().zip(ds.iter()).fold(T::zero(), |a, (&pt, &dp)| a + pt * dp);
                        ds.iter_mut().zip(p).for_each(|(x, &pt)| *x = pt * (*x - c));
                        for (t, (&pt, &dst)) in p.iter().zip(ds.iter()).enumerate() {
                            axpy(&mut dqkv_b[col(t, 2, h)..][..hd], pt, g);
                            let k_t = &qkv_b[col(t, 1, h)..][..hd];
                            axpy(&mut dqkv_b[col(i, 0, h)..][..hd], scale * dst, k_t);
                            let q_i = &qkv_b[col(i, 0, h)..][..hd];
                            axpy(&mut dqkv_b[col(t, 1, h)..][..hd], scale * dst, q_i);
                        }
                    }
                }
            },
        );
    Ok(())
}
