//! The model's head before the classifier in one pass: pooled[b] = mean over s of
//! LayerNorm(h[b,s] + a[b,s]). The loss reads only pooled, so the sum h + a (resid) and the
//! LayerNorm output are never stored: the unfused `add`, `layernorm` and `mean_pool` write and
//! read back three (batch, seq, dim) arrays forward and five backward, which at D = 256 cost
//! more than their arithmetic.
//!
//! Every value comes from the unfused ops' own expressions (`layernorm.rs`'s row functions) in
//! their order, so both give the same bits: resid = h + a; each row's statistics and output
//! (`row_stats`, `normed`); the pool's sum over s in order, then one division; backward, dy =
//! dpooled / seq, each row's dx (`dx_row`), the affine gradients summed over the rows in row
//! order (`affine_row`), and h's gradient as the unfused add gives it (0 + dx).

use rayon::prelude::*;

use super::layernorm::{affine_row, dx_row, normed, row_stats};
use super::{check_len, check_sizes};
use crate::backend::{NormPoolDims, NormPoolGrads, NormPoolOut, Scalar};
use crate::error::Result;

/// Sequences per parallel task (64 rows at seq 8).
const SEQS_PER_TASK: usize = 8;

fn check<T>(op: &str, (h, a): (&[T], &[T]), gamma: &[T], d: NormPoolDims) -> Result<()> {
    check_sizes(op, &[("batch", d.batch), ("seq", d.seq), ("dim", d.dim)])?;
    let len = d.batch * d.seq * d.dim;
    check_len(op, "h", h, len)?;
    check_len(op, "a", a, len)?;
    check_len(op, "gamma", gamma, d.dim)
}

/// x = h + a, one row.
#[inline(always)]
fn resid_row<T: Scalar>(h: &[T], a: &[T], x: &mut [T]) {
    x.iter_mut()
        .zip(h.iter().zip(a))
        .for_each(|(o, (&u, &v))| *o = u + v);
}

/// dim and seq as T: the LayerNorm's row length and the pool's divisor.
fn lengths<T: Scalar>(d: NormPoolDims) -> (T, T) {
    let f = |x: usize| <T as Scalar>::from_f64(x as f64);
    (f(d.dim), f(d.seq))
}

pub(super) fn forward<T: Scalar>(
    (h, a): (&[T], &[T]),
    (gamma, beta): (&[T], &[T]),
    d: NormPoolDims,
    eps: f64,
) -> Result<NormPoolOut<Vec<T>>> {
    let op = "resid_norm_pool_fwd";
    check(op, (h, a), gamma, d)?;
    check_len(op, "beta", beta, d.dim)?;
    let (s, dim) = (d.seq, d.dim);
    let (n, n_seq) = lengths::<T>(d);
    let eps: T = Scalar::from_f64(eps);
    let mut pooled = vec![T::zero(); d.batch * dim];
    let mut mean = vec![T::zero(); d.batch * s];
    let mut rstd = vec![T::zero(); d.batch * s];
    pooled
        .par_chunks_mut(SEQS_PER_TASK * dim)
        .zip(mean.par_chunks_mut(SEQS_PER_TASK * s))
        .zip(rstd.par_chunks_mut(SEQS_PER_TASK * s))
        .zip(h.par_chunks(SEQS_PER_TASK * s * dim))
        .zip(a.par_chunks(SEQS_PER_TASK * s * dim))
        .for_each(|((((pooled, mean), rstd), h), a)| {
            let mut x = vec![T::zero(); dim];
            for ((((p, mean), rstd), h), a) in pooled
                .chunks_exact_mut(dim)
                .zip(mean.chunks_exact_mut(s))
                .zip(rstd.chunks_exact_mut(s))
                .zip(h.chunks_exact(s * dim))
                .zip(a.chunks_exact(s * dim))
            {
                // p sums the sequence's rows from zero, in order of s
                for (((hr, ar), mu), rs) in h
                    .chunks_exact(dim)
                    .zip(a.chunks_exact(dim))
                    .zip(mean.iter_mut())
                    .zip(rstd.iter_mut())
                {
                    resid_row(hr, ar, &mut x);
                    let stats = row_stats(&x, n, eps);
                    for (((o, &v), &g), &b) in p.iter_mut().zip(&x).zip(gamma).zip(beta) {
                        *o = *o + normed(v, stats, g, b);
                    }
                    (*mu, *rs) = stats;
                }
                p.iter_mut().for_each(|o| *o = *o / n_seq);
            }
        });
    Ok(NormPoolOut { pooled, mean, rstd })
}

pub(super) fn backward<T: Scalar>(
    (h, a): (&[T], &[T]),
    gamma: &[T],
    saved: &NormPoolOut<Vec<T>>,
    dpooled: &[T],
    d: NormPoolDims,
    (dgamma, dbeta): (&mut [T], &mut [T]),
) -> Result<NormPoolGrads<Vec<T>>> {
    let op = "resid_norm_pool_bwd";
    check(op, (h, a), gamma, d)?;
    let rows = d.batch * d.seq;
    check_len(op, "mean", &saved.mean, rows)?;
    check_len(op, "rstd", &saved.rstd, rows)?;
    check_len(op, "dpooled", dpooled, d.batch * d.dim)?;
    check_len(op, "dgamma", dgamma, d.dim)?;
    check_len(op, "dbeta", dbeta, d.dim)?;
    let (s, dim, len) = (d.seq, d.dim, rows * d.dim);
    let (n, n_seq) = lengths::<T>(d);
    let stats = |r: usize| (saved.mean[r], saved.rstd[r]);
    let (mut dresid, mut dh) = (Vec::with_capacity(len), Vec::with_capacity(len));
    dresid.spare_capacity_mut()[..len]
        .par_chunks_mut(SEQS_PER_TASK * s * dim)
        .zip(dh.spare_capacity_mut()[..len].par_chunks_mut(SEQS_PER_TASK * s * dim))
        .zip(h.par_chunks(SEQS_PER_TASK * s * dim))
        .zip(a.par_chunks(SEQS_PER_TASK * s * dim))
        .zip(dpooled.par_chunks(SEQS_PER_TASK * dim))
        .enumerate()
        .for_each(|(task, ((((dresid, dh), h), a), dpooled))| {
            let (mut x, mut dy) = (vec![T::zero(); dim], vec![T::zero(); dim]);
            let rows = dresid
                .chunks_exact_mut(dim)
                .zip(dh.chunks_exact_mut(dim))
                .zip(h.chunks_exact(dim).zip(a.chunks_exact(dim)));
            for (i, ((dres, dh), (hr, ar))) in rows.enumerate() {
                if i % s == 0 {
                    // the mean pool's backward: every row of sequence b gets dpooled[b] / seq
                    let g = &dpooled[i / s * dim..][..dim];
                    dy.iter_mut().zip(g).for_each(|(o, &v)| *o = v / n_seq);
                }
                resid_row(hr, ar, &mut x);
                let r = task * SEQS_PER_TASK * s + i;
                dx_row((&x, &dy), gamma, stats(r), n, dres, |o, v| {
                    o.write(v);
                });
                for (o, v) in dh.iter_mut().zip(dres.iter()) {
                    // SAFETY: `dx_row` wrote every element of dres just above.
                    o.write(T::zero() + unsafe { v.assume_init() });
                }
            }
        });
    // SAFETY: the capacities are at least len, and every row of 0..len of both was written
    // above (one dim-row per row of h, whose length was checked).
    unsafe {
        dresid.set_len(len);
        dh.set_len(len);
    }
    // The affine gradients: sums over all rows in row order, as `layernorm.rs` takes them.
    let (mut x, mut dy) = (vec![T::zero(); dim], vec![T::zero(); dim]);
    for (r, (hr, ar)) in h.chunks_exact(dim).zip(a.chunks_exact(dim)).enumerate() {
        if r % s == 0 {
            let g = &dpooled[r / s * dim..][..dim];
            dy.iter_mut().zip(g).for_each(|(o, &v)| *o = v / n_seq);
        }
        resid_row(hr, ar, &mut x);
        affine_row((&x, &dy), stats(r), dgamma, dbeta);
    }
    Ok(NormPoolGrads { dresid, dh })
}

/// The fused op against `add`, `layernorm` and `mean_pool` one after the other, bit for bit.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::on_1_and_3_threads;
    use crate::backend::cpu::Cpu;
    use crate::backend::Backend;
    use crate::rng::Rng;

    /// batch 19 = two tasks of 8 sequences plus 3; seq 5; dim 13 (a lane group of 8 and 5).
    const D: NormPoolDims = NormPoolDims {
        batch: 19,
        seq: 5,
        dim: 13,
    };

    /// h, a, gamma, beta, dpooled; rows centred away from zero; some zeros (and −0s) in
    /// dpooled, so that h's gradient must turn −0 into +0 as the unfused add does.
    fn inputs<T: Scalar>(seed: u64) -> [Vec<T>; 5] {
        let mut rng = Rng::new(seed);
        let mut randn = |n: usize, shift: f64| -> Vec<T> {
            (0..n)
                .map(|_| <T as Scalar>::from_f64(rng.normal() + shift))
                .collect()
        };
        let len = D.batch * D.seq * D.dim;
        let (h, a) = (randn(len, 1.5), randn(len, 0.0));
        let (gamma, beta) = (randn(D.dim, 1.0), randn(D.dim, 0.0));
        let mut dpooled = randn(D.batch * D.dim, 0.0);
        dpooled[..D.dim].iter_mut().for_each(|v| *v = T::zero());
        dpooled[D.dim..2 * D.dim]
            .iter_mut()
            .for_each(|v| *v = <T as Scalar>::from_f64(-0.0));
        [h, a, gamma, beta, dpooled]
    }

    /// (pooled, mean, rstd, dresid, dh, dgamma, dbeta), fused.
    fn fused<T: Scalar>(x: &[Vec<T>; 5], dg0: &[T]) -> [Vec<T>; 7] {
        let [h, a, gamma, beta, dpooled] = x;
        let out = forward((h, a), (gamma, beta), D, 1e-5).unwrap();
        let (mut dgamma, mut dbeta) = (dg0.to_vec(), dg0.to_vec());
        let g = backward((h, a), gamma, &out, dpooled, D, (&mut dgamma, &mut dbeta)).unwrap();
        [
            out.pooled, out.mean, out.rstd, g.dresid, g.dh, dgamma, dbeta,
        ]
    }

    /// The same through the unfused ops, as the tape runs them.
    fn unfused<T: Scalar>(x: &[Vec<T>; 5], dg0: &[T]) -> [Vec<T>; 7] {
        let be = Cpu::<T>::new();
        let [h, a, gamma, beta, dpooled] = x;
        let (rows, (b, s, dim)) = (D.batch * D.seq, (D.batch, D.seq, D.dim));
        let resid = be.add(h, a).unwrap();
        let ln = be
            .layernorm_fwd(&resid, gamma, beta, rows, dim, 1e-5)
            .unwrap();
        let pooled = be.mean_pool_fwd(&ln.y, b, s, dim).unwrap();
        let dln = be.mean_pool_bwd_new(dpooled, b, s, dim).unwrap();
        let (mut dgamma, mut dbeta) = (dg0.to_vec(), dg0.to_vec());
        let dresid = be
            .layernorm_bwd_new(&resid, gamma, &ln, &dln, rows, dim, &mut dgamma, &mut dbeta)
            .unwrap();
        let mut dh = be.zeros(dresid.len()).unwrap();
        be.accumulate(&mut dh, &dresid).unwrap();
        [pooled, ln.mean, ln.rstd, dresid, dh, dgamma, dbeta]
    }

    fn bits<T: Scalar>(v: &[T]) -> Vec<u64> {
        v.iter().map(|&x| Scalar::to_f64(x).to_bits()).collect()
    }

    fn same_bits<T: Scalar>(seed: u64) {
        let x = inputs::<T>(seed);
        // dgamma and dbeta accumulate: start them from values already there
        let dg0: Vec<T> = (0..D.dim)
            .map(|i| <T as Scalar>::from_f64(0.25 * i as f64))
            .collect();
        let names = ["pooled", "mean", "rstd", "dresid", "dh", "dgamma", "dbeta"];
        let (f, u) = (fused(&x, &dg0), unfused(&x, &dg0));
        for ((name, f), u) in names.iter().zip(&f).zip(&u) {
            assert_eq!(bits(f), bits(u), "{name}");
        }
        // the −0s of dpooled reach dresid as −0 and h's gradient as +0, as in the unfused add
        let [.., dresid, dh, _, _] = &f;
        let row = D.seq * D.dim..2 * D.seq * D.dim;
        assert!(dresid[row.clone()]
            .iter()
            .any(|&v| Scalar::to_f64(v).is_sign_negative()));
        assert!(dh[row]
            .iter()
            .all(|&v| Scalar::to_f64(v).is_sign_positive()));
    }

    #[test]
    fn f32_gives_the_unfused_ops_bits() {
        same_bits::<f32>(31);
    }

    #[test]
    fn f64_gives_the_unfused_ops_bits() {
        same_bits::<f64>(32);
    }

    #[test]
    fn results_do_not_depend_on_the_number_of_threads() {
        let x = inputs::<f32>(33);
        let dg0 = vec![0.0f32; D.dim];
        let (one, three) = on_1_and_3_threads(|| fused(&x, &dg0));
        assert!(one == three, "1 and 3 threads give different bits");
    }

    #[test]
    fn bad_sizes_are_errors_naming_the_buffer() {
        let [h, a, gamma, beta, _] = inputs::<f64>(34);
        let err = forward((&h, &a[1..]), (&gamma, &beta), D, 1e-5)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("resid_norm_pool_fwd") && err.contains("`a`"),
            "{err}"
        );
    }
}
