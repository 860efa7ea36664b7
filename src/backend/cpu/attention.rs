//! Scaled dot-product attention per (batch, head), as `nn.MultiheadAttention`'s slow path:
//! q is multiplied by √(1/hd) first, scores = (q·√(1/hd))·kᵀ, probs = softmax(scores) by rows,
//! out = probs·v. Layout: qkv (batch, seq, 3·dim) with q | k | v column blocks, head h using
//! columns h·hd..(h+1)·hd of each block; out (batch, seq, dim); probs (batch, heads, seq, seq).
//!
//! Sequences are short (8) and heads small (8–32 columns in the sweep), far too small for BLAS,
//! so each sequence is computed where it lies in qkv, head by head, as a handful of tiny
//! products (`tiny_gemm.rs`): scores = (q·√(1/hd))·kᵀ against a transposed copy of the
//! sequence's k made in cache (`transpose.rs`), out = P·v straight on qkv's rows; in the
//! backward dP = dO·vᵀ, dQ += dS·k, dK += dSᵀ·q, dV += Pᵀ·dO likewise.
//!
//! Every scalar of the textbook per-sequence algorithm is still computed by itself, by the same
//! operations in the same order (each sum starts from zero and adds its terms in index order,
//! no FMA), so the results do not depend on the vector width or on how sequences are split over
//! threads: the AVX2 build of the same code gives the SSE2 build's bits.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::expf::{self, exp_in_place};
use super::tiny_gemm::{gemm, Mat, L};
use super::transpose::transpose;
use super::{check_len, check_sizes};
use crate::backend::{AttnDims, Scalar};
use crate::error::Result;

/// The size of dqkv above which the backward stages each sequence's gradient (see `backward`).
const STAGE_ABOVE_BYTES: usize = 4 << 20;

/// Sequences per parallel task (a sequence of the sweep is a few thousand multiply-adds).
pub(super) const SEQS_PER_TASK: usize = 16;

/// Whether the sequences can run in their AVX2 build (the check is cached by std).
pub(super) fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Every size of `d` nonzero (`attention_out` checks its qkv itself: it also takes q and k
/// alone).
pub(super) fn check_dims(op: &str, d: AttnDims) -> Result<()> {
    let sizes = [
        ("batch", d.batch),
        ("seq", d.seq),
        ("heads", d.heads),
        ("head_dim", d.head_dim),
    ];
    check_sizes(op, &sizes)
}

fn check<T>(op: &str, qkv: &[T], d: AttnDims) -> Result<()> {
    check_dims(op, d)?;
    check_len(op, "qkv", qkv, d.batch * d.seq * 3 * d.dim())
}

/// √(1/hd) in f64 (Python's `math.sqrt(1.0 / E)`), then cast, as PyTorch scales q.
fn q_scale<T: Scalar>(head_dim: usize) -> T {
    Scalar::from_f64((1.0 / head_dim as f64).sqrt())
}

/// The token lanes: seq rounded up to whole register groups. The transposed blocks have this
/// width; their padding columns stay zero and are never read back.
pub(super) fn width(seq: usize) -> usize {
    seq.div_ceil(L) * L
}

/// p (seq, seq) = the softmax of each row of scores (seq, w) over its first seq lanes,
/// stabilised by the row's maximum, each row's sum taken in order. The exps of a whole head go
/// through `expf` at once (vectorised for f32).
#[inline(always)]
fn softmax_rows<T: Scalar>(scores: &[T], (s, w): (usize, usize), p: &mut [T], fast_exp: bool) {
    for (p_i, sc_i) in p.chunks_exact_mut(s).zip(scores.chunks_exact(w)) {
        let max = sc_i[..s].iter().fold(T::neg_infinity(), |m, &v| m.max(v));
        p_i.iter_mut().zip(sc_i).for_each(|(e, &v)| *e = v - max);
    }
    exp_in_place(p, fast_exp);
    for p_i in p.chunks_exact_mut(s) {
        let sum = p_i.iter().fold(T::zero(), |acc, &e| acc + e);
        p_i.iter_mut().for_each(|e| *e = *e / sum);
    }
}

/// Head h's probabilities p_h (seq, seq) of one sequence x (seq, row): each token's row holds q
/// then k (then v: row = 3·dim; `attention_out` also takes q and k alone, row = 2·dim), given
/// the sequence's k transposed in kt (dim, w): softmax((q_h·√(1/hd))·k_hᵀ) by rows. `scratch`
/// is qs (seq, hd) and scores (seq, w).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn head_probs<T: Scalar>(
    (x, row): (&[T], usize),
    kt: &[T],
    h: usize,
    d: AttnDims,
    (qs, scores): (&mut [T], &mut [T]),
    p_h: &mut [T],
    fast_exp: bool,
) {
    let (s, hd) = (d.seq, d.head_dim);
    let (scale, w): (T, usize) = (q_scale(hd), width(s));
    for (qs_i, q_i) in qs.chunks_exact_mut(hd).zip(x.chunks_exact(row)) {
        let q_i = &q_i[h * hd..][..hd];
        qs_i.iter_mut().zip(q_i).for_each(|(a, &b)| *a = b * scale);
    }
    let kt_h = Mat::new(&kt[h * hd * w..], w);
    gemm((s, w, hd), Mat::new(qs, hd), kt_h, scores, w, false);
    softmax_rows(scores, (s, w), p_h, fast_exp);
}

pub(super) fn forward<T: Scalar>(qkv: &[T], d: AttnDims) -> Result<(Vec<T>, Vec<T>)> {
    check("attention_fwd", qkv, d)?;
    let (s, dim, heads) = (d.seq, d.dim(), d.heads);
    let mut out = vec![T::zero(); d.batch * s * dim];
    let mut probs = vec![T::zero(); d.batch * heads * s * s];
    let avx2 = has_avx2();
    out.par_chunks_mut(SEQS_PER_TASK * s * dim)
        .zip(probs.par_chunks_mut(SEQS_PER_TASK * heads * s * s))
        .zip(qkv.par_chunks(SEQS_PER_TASK * s * 3 * dim))
        .for_each(|((out_c, probs_c), qkv_c)| {
            #[cfg(target_arch = "x86_64")]
            if avx2 {
                // SAFETY: the CPU has AVX2 (`has_avx2` checked it at run time).
                return unsafe { forward_seqs_avx2(qkv_c, out_c, probs_c, d) };
            }
            forward_seqs(qkv_c, out_c, probs_c, d, avx2) // avx2 is false here
        });
    Ok((out, probs))
}

/// `forward_seqs` compiled for AVX2: the same operations on twice as many lanes per
/// instruction (no FMA, so the results are bit for bit those of the SSE2 build).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn forward_seqs_avx2<T: Scalar>(
    qkv_c: &[T],
    out_c: &mut [T],
    probs_c: &mut [T],
    d: AttnDims,
) {
    forward_seqs(qkv_c, out_c, probs_c, d, true)
}

/// Whole sequences: qkv_c (n, seq·3·dim) → out_c (n, seq·dim) (zero on entry) and
/// probs_c (n, heads·seq·seq).
#[inline(always)]
fn forward_seqs<T: Scalar>(
    qkv_c: &[T],
    out_c: &mut [T],
    probs_c: &mut [T],
    d: AttnDims,
    avx2: bool,
) {
    let (s, hd, dim, heads) = (d.seq, d.head_dim, d.dim(), d.heads);
    let w = width(s);
    let fast_exp = expf::fast::<T>();
    let mut kt = vec![T::zero(); dim * w]; // (dim, w): the sequence's k, transposed
    let mut qs = vec![T::zero(); s * hd]; // (seq, hd): one head's q·√(1/hd)
    let mut scores = vec![T::zero(); s * w]; // (seq, w)
    for ((x, o), p) in qkv_c
        .chunks_exact(s * 3 * dim)
        .zip(out_c.chunks_exact_mut(s * dim))
        .zip(probs_c.chunks_exact_mut(heads * s * s))
    {
        transpose(&x[dim..], (s, dim, 3 * dim), &mut kt, w, avx2);
        for h in 0..heads {
            let p_h = &mut p[h * s * s..][..s * s];
            head_probs(
                (x, 3 * dim),
                &kt,
                h,
                d,
                (&mut qs, &mut scores),
                p_h,
                fast_exp,
            );
            // out = P·v
            let v_h = Mat::new(&x[2 * dim + h * hd..], 3 * dim);
            gemm(
                (s, hd, s),
                Mat::new(p_h, s),
                v_h,
                &mut o[h * hd..],
                dim,
                false,
            );
        }
    }
}

/// With P = probs, dO = dout (per sequence and head):
/// dV += Pᵀ·dO; dP = dO·Vᵀ; dS = P ⊙ (dP − rowsum(P ⊙ dP)) (softmax's Jacobian);
/// dQ += √(1/hd)·dS·K; dK += (√(1/hd)·dS)ᵀ·Q.
pub(super) fn backward<T: Scalar>(
    qkv: &[T],
    probs: &[T],
    dout: &[T],
    d: AttnDims,
    dqkv: &mut [T],
) -> Result<()> {
    check("attention_bwd", qkv, d)?;
    let (s, dim, heads) = (d.seq, d.dim(), d.heads);
    check_len("attention_bwd", "probs", probs, d.batch * heads * s * s)?;
    check_len("attention_bwd", "dout", dout, d.batch * s * dim)?;
    check_len("attention_bwd", "dqkv", dqkv, d.batch * s * 3 * dim)?;
    let avx2 = has_avx2();
    // dqkv is usually a fresh buffer of zeros. Up to a few MB it is still cached when the heads
    // add into it piece by piece; a larger one is better written per sequence through a staging
    // buffer (1-thread backward, D = 128: 3.3 → 2.2 ms, D = 256: 6.9 → 4.4 ms; at D = 64, 3 MB,
    // direct: 1.1 ms against 1.3 ms staged).
    let staged = std::mem::size_of_val(dqkv) > STAGE_ABOVE_BYTES;
    dqkv.par_chunks_mut(SEQS_PER_TASK * s * 3 * dim)
        .zip(qkv.par_chunks(SEQS_PER_TASK * s * 3 * dim))
        .zip(probs.par_chunks(SEQS_PER_TASK * heads * s * s))
        .zip(dout.par_chunks(SEQS_PER_TASK * s * dim))
        .for_each(|(((dqkv_c, qkv_c), probs_c), dout_c)| {
            let seqs = Seqs {
                qkv_c,
                probs_c,
                dout_c,
            };
            let dest = if staged {
                Dest::StagedAdd(dqkv_c)
            } else {
                Dest::Add(dqkv_c)
            };
            backward_dispatch(seqs, dest, d, avx2);
        });
    Ok(())
}

/// `backward` into a new buffer, written sequence by sequence without a zero fill first (the
/// fill and the reads of the zeros were a fifth of a two-thread D = 64 step, with the other
/// first-contribution gradients).
pub(super) fn backward_new<T: Scalar>(
    qkv: &[T],
    probs: &[T],
    dout: &[T],
    d: AttnDims,
) -> Result<Vec<T>> {
    check("attention_bwd", qkv, d)?;
    let (s, dim, heads) = (d.seq, d.dim(), d.heads);
    check_len("attention_bwd", "probs", probs, d.batch * heads * s * s)?;
    check_len("attention_bwd", "dout", dout, d.batch * s * dim)?;
    let avx2 = has_avx2();
    let len = qkv.len();
    let mut dqkv = Vec::with_capacity(len);
    dqkv.spare_capacity_mut()[..len]
        .par_chunks_mut(SEQS_PER_TASK * s * 3 * dim)
        .zip(qkv.par_chunks(SEQS_PER_TASK * s * 3 * dim))
        .zip(probs.par_chunks(SEQS_PER_TASK * heads * s * s))
        .zip(dout.par_chunks(SEQS_PER_TASK * s * dim))
        .for_each(|(((dqkv_c, qkv_c), probs_c), dout_c)| {
            let seqs = Seqs {
                qkv_c,
                probs_c,
                dout_c,
            };
            backward_dispatch(seqs, Dest::Write(dqkv_c), d, avx2);
        });
    // SAFETY: the capacity is at least len, and `Dest::Write` writes every element of each
    // chunk (each sequence's whole staged gradient), the chunks covering 0..len.
    unsafe { dqkv.set_len(len) };
    Ok(dqkv)
}

/// The inputs of the backward for n whole sequences.
struct Seqs<'a, T> {
    /// (n, seq·3·dim)
    qkv_c: &'a [T],
    /// (n, heads·seq·seq)
    probs_c: &'a [T],
    /// (n, seq·dim)
    dout_c: &'a [T],
}

/// Where the backward puts the gradient of n whole sequences, (n, seq·3·dim).
enum Dest<'a, T> {
    /// Added head by head straight into it.
    Add(&'a mut [T]),
    /// Each sequence staged in cache, then added in one contiguous pass.
    StagedAdd(&'a mut [T]),
    /// Each sequence staged in cache, then written into unused capacity.
    Write(&'a mut [MaybeUninit<T>]),
}

/// `backward_seqs` in its AVX2 build where the CPU has AVX2.
#[inline(always)]
fn backward_dispatch<T: Scalar>(seqs: Seqs<'_, T>, dest: Dest<'_, T>, d: AttnDims, avx2: bool) {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: the CPU has AVX2 (`has_avx2` checked it at run time).
        return unsafe { backward_seqs_avx2(seqs, dest, d) };
    }
    backward_seqs(seqs, dest, d, avx2) // avx2 is false here
}

/// `backward_seqs` compiled for AVX2 (see `forward_seqs_avx2`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn backward_seqs_avx2<T: Scalar>(seqs: Seqs<'_, T>, dest: Dest<'_, T>, d: AttnDims) {
    backward_seqs(seqs, dest, d, true)
}

/// Whole sequences: the gradient through attention into `dest`.
#[inline(always)]
fn backward_seqs<T: Scalar>(seqs: Seqs<'_, T>, mut dest: Dest<'_, T>, d: AttnDims, avx2: bool) {
    let (s, dim, heads) = (d.seq, d.dim(), d.heads);
    let w = width(s);
    let mut work = Work {
        vt: vec![T::zero(); dim * w],
        dp: vec![T::zero(); s * w],
        ds: vec![T::zero(); s * s],
    };
    let len = s * 3 * dim; // one sequence of qkv or dqkv
    let staged = !matches!(dest, Dest::Add(_));
    let mut staging = vec![T::zero(); if staged { len } else { 0 }];
    for (b, ((x, p), g)) in seqs
        .qkv_c
        .chunks_exact(len)
        .zip(seqs.probs_c.chunks_exact(heads * s * s))
        .zip(seqs.dout_c.chunks_exact(s * dim))
        .enumerate()
    {
        transpose(&x[2 * dim..], (s, dim, 3 * dim), &mut work.vt, w, avx2);
        // Separate calls with constant `add`, so that each inlines with its own store.
        match &mut dest {
            Dest::Add(dx) => {
                sequence_backward((x, p, g), &mut dx[b * len..][..len], true, d, &mut work)
            }
            Dest::StagedAdd(dx) => {
                sequence_backward((x, p, g), &mut staging, false, d, &mut work);
                let dx = &mut dx[b * len..][..len];
                dx.iter_mut().zip(&staging).for_each(|(a, &v)| *a = *a + v);
            }
            Dest::Write(dx) => {
                sequence_backward((x, p, g), &mut staging, false, d, &mut work);
                let dx = &mut dx[b * len..][..len];
                dx.iter_mut().zip(&staging).for_each(|(a, &v)| {
                    a.write(v);
                });
            }
        }
    }
}

/// The scratch buffers of the backward.
struct Work<T> {
    /// (dim, w): the sequence's v, transposed (filled by the caller)
    vt: Vec<T>,
    /// (seq, w): dP of one head
    dp: Vec<T>,
    /// (i, t): √(1/hd)·dS of one head
    ds: Vec<T>,
}

/// One sequence, every head: grad (seq, 3·dim) = (or += when `add`) the gradient through
/// attention, given its qkv x (seq, 3·dim), probs p (heads, seq, seq) and dout g (seq, dim).
#[inline(always)]
fn sequence_backward<T: Scalar>(
    (x, p, g): (&[T], &[T], &[T]),
    grad: &mut [T],
    add: bool,
    d: AttnDims,
    work: &mut Work<T>,
) {
    let (s, hd, dim) = (d.seq, d.head_dim, d.dim());
    let w = width(s);
    let Work { vt, dp, ds } = work;
    for h in 0..d.heads {
        let g_h = Mat::new(&g[h * hd..], dim);
        let p_h = &p[h * s * s..][..s * s];
        // dP = dO·vᵀ
        let vt_h = Mat::new(&vt[h * hd * w..], w);
        gemm((s, w, hd), g_h, vt_h, dp, w, false);
        scores_backward((x, 3 * dim), p_h, dp, ds, h, d, grad, add);
        // dV (+)= Pᵀ·dO
        let p_t = Mat::transposed(p_h, s);
        gemm(
            (s, hd, s),
            p_t,
            g_h,
            &mut grad[2 * dim + h * hd..],
            3 * dim,
            add,
        );
    }
}

/// Head h's gradient through the softmax and the scores of one sequence x (seq, 3·dim), given
/// p_h (seq, seq) and dP = dp (seq, w): dS = P ⊙ (dP − rowsum(P ⊙ dP)) (softmax's Jacobian),
/// then dQ (+)= √(1/hd)·dS·K and dK (+)= (√(1/hd)·dS)ᵀ·Q into grad's q and k columns (+= when
/// `add`); x and grad (seq, row) as in `head_probs`. `ds` (seq, seq) is scratch.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn scores_backward<T: Scalar>(
    (x, row): (&[T], usize),
    p_h: &[T],
    dp: &[T],
    ds: &mut [T],
    h: usize,
    d: AttnDims,
    grad: &mut [T],
    add: bool,
) {
    let (s, hd, dim) = (d.seq, d.head_dim, d.dim());
    let (scale, w): (T, usize) = (q_scale(hd), width(s));
    for ((p_i, dp_i), ds_i) in p_h
        .chunks_exact(s)
        .zip(dp.chunks_exact(w))
        .zip(ds.chunks_exact_mut(s))
    {
        let c = p_i
            .iter()
            .zip(dp_i)
            .fold(T::zero(), |c, (&pv, &v)| c + pv * v);
        for ((o, &pv), &v) in ds_i.iter_mut().zip(p_i).zip(dp_i) {
            *o = pv * (v - c) * scale;
        }
    }
    let (q_h, k_h) = (
        Mat::new(&x[h * hd..], row),
        Mat::new(&x[dim + h * hd..], row),
    );
    let dims = (s, hd, s);
    let (ds_m, ds_t) = (Mat::new(ds, s), Mat::transposed(ds, s));
    gemm(dims, ds_m, k_h, &mut grad[h * hd..], row, add);
    gemm(dims, ds_t, q_h, &mut grad[dim + h * hd..], row, add);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn inputs(d: AttnDims, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = Rng::new(seed);
        let qkv = (0..d.batch * d.seq * 3 * d.dim())
            .map(|_| rng.normal())
            .collect();
        let dout = (0..d.batch * d.seq * d.dim())
            .map(|_| rng.normal())
            .collect();
        (qkv, dout)
    }

    fn to32(v: &[f64]) -> Vec<f32> {
        v.iter().map(|&x| x as f32).collect()
    }

    #[test]
    fn f32_agrees_with_f64_across_task_and_lane_edges() {
        // batch 37 = two tasks of 16 plus 5; seq 8; dim 24 (2 heads of 12: a group of 8 lanes
        // and 4 left over). Values of size ~1 summed over ≤ 12 terms at a time: f32 rounding
        // stays below ~1e-5, so 1e-4 absolute; a misplaced element would be off by ~1.
        let d = AttnDims {
            batch: 37,
            seq: 8,
            heads: 2,
            head_dim: 12,
        };
        let (qkv, dout) = inputs(d, 11);
        let (out64, p64) = forward(&qkv, d).unwrap();
        let (out32, p32) = forward(&to32(&qkv), d).unwrap();
        let mut g64 = vec![0.0; qkv.len()];
        backward(&qkv, &p64, &dout, d, &mut g64).unwrap();
        let mut g32 = vec![0.0f32; qkv.len()];
        backward(&to32(&qkv), &p32, &to32(&dout), d, &mut g32).unwrap();
        for (name, a, b) in [
            ("out", &out64, &out32),
            ("probs", &p64, &p32),
            ("dqkv", &g64, &g32),
        ] {
            let worst = a
                .iter()
                .zip(b.iter())
                .map(|(x, &y)| (x - y as f64).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-4, "{name}: f32 and f64 differ by {worst:e}");
        }
    }

    #[test]
    fn the_avx2_build_gives_the_plain_builds_bits() {
        // seq 8 and head_dim 16 take the register transposes and full lane groups on AVX2;
        // seq 11 and head_dim 5 the ragged edges. Compared with the plain build on one task.
        for (seq, heads, head_dim) in [(8, 4, 16), (11, 3, 5)] {
            let d = AttnDims {
                batch: 21,
                seq,
                heads,
                head_dim,
            };
            let (qkv, dout) = inputs(d, 5);
            let (qkv, dout) = (to32(&qkv), to32(&dout));
            let (out, probs) = forward(&qkv, d).unwrap();
            let mut dqkv = vec![0.5f32; qkv.len()];
            backward(&qkv, &probs, &dout, d, &mut dqkv).unwrap();
            let mut plain_out = vec![0.0f32; out.len()];
            let mut plain_probs = vec![0.0f32; probs.len()];
            forward_seqs(&qkv, &mut plain_out, &mut plain_probs, d, false);
            let mut plain_dqkv = vec![0.5f32; qkv.len()];
            let seqs = Seqs {
                qkv_c: &qkv,
                probs_c: &plain_probs,
                dout_c: &dout,
            };
            backward_seqs(seqs, Dest::StagedAdd(&mut plain_dqkv), d, false);
            assert_eq!(out, plain_out, "out, seq {seq}");
            assert_eq!(probs, plain_probs, "probs, seq {seq}");
            assert_eq!(dqkv, plain_dqkv, "dqkv, seq {seq}");
            // Into a new buffer: the gradient added into zeros.
            let mut from_zeros = vec![0.0f32; qkv.len()];
            backward(&qkv, &probs, &dout, d, &mut from_zeros).unwrap();
            let new = backward_new(&qkv, &probs, &dout, d).unwrap();
            assert_eq!(new, from_zeros, "dqkv into a new buffer, seq {seq}");
        }
    }
}
