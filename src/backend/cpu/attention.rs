//! Scaled dot-product attention per (batch, head), as `nn.MultiheadAttention`'s slow path:
//! q is multiplied by √(1/hd) first, scores = (q·√(1/hd))·kᵀ, probs = softmax(scores) by rows,
//! out = probs·v. Layout: qkv (batch, seq, 3·dim) with q | k | v column blocks, head h using
//! columns h·hd..(h+1)·hd of each block; out (batch, seq, dim); probs (batch, heads, seq, seq).
//!
//! The sequences are short (8) and a head small (8–32), far too small for matrix products. So
//! the batch is cut into chunks of `LANES` sequences, each chunk is transposed to put the batch
//! innermost (row r of the transposed chunk holds column r of every sequence in the chunk), and
//! every scalar step of the textbook per-sequence algorithm becomes one elementwise operation
//! over `LANES` sequences: long independent lanes that the compiler vectorises, no horizontal
//! sums. Each sequence's arithmetic is exactly the textbook's, in the same order (scores summed
//! over j in order, softmax max/exp/sum/divide, outputs summed over t in order). Chunks run in
//! parallel, write disjoint rows, and run in an AVX2 build of the same code when the CPU has it
//! (the transposes then use register blocks for f32: `transpose.rs`).

use rayon::prelude::*;

use super::transpose::{transpose, transpose_add};
use super::{check_len, check_sizes};
use crate::backend::{AttnDims, Scalar};
use crate::error::Result;

/// Sequences per chunk: the length of the vectorised inner loops.
const LANES: usize = 32;

/// Whether the chunks can run in their AVX2 build (checked once per call; the check is cached).
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn check<T>(op: &str, qkv: &[T], d: AttnDims) -> Result<()> {
    let sizes = [
        ("batch", d.batch),
        ("seq", d.seq),
        ("heads", d.heads),
        ("head_dim", d.head_dim),
    ];
    check_sizes(op, &sizes)?;
    check_len(op, "qkv", qkv, d.batch * d.seq * 3 * d.dim())
}

/// √(1/hd) in f64 (Python's `math.sqrt(1.0 / E)`), then cast, as PyTorch scales q.
fn q_scale<T: Scalar>(head_dim: usize) -> T {
    Scalar::from_f64((1.0 / head_dim as f64).sqrt())
}

/// acc += x ⊙ y
#[inline(always)]
fn mul_add<T: Scalar>(acc: &mut [T], x: &[T], y: &[T]) {
    for ((a, &x), &y) in acc.iter_mut().zip(x).zip(y) {
        *a = *a + x * y;
    }
}

/// acc (n) += Σ_j a[j] ⊙ b[j] over the rows of two (rows, n) blocks, rows in order.
#[inline(always)]
fn block_dot<T: Scalar>(acc: &mut [T], a: &[T], b: &[T]) {
    let n = acc.len();
    for (ra, rb) in a.chunks_exact(n).zip(b.chunks_exact(n)) {
        mul_add(acc, ra, rb);
    }
}

/// acc[j] += w ⊙ x[j] for every row j of two (rows, n) blocks.
#[inline(always)]
fn block_axpy<T: Scalar>(acc: &mut [T], w: &[T], x: &[T]) {
    let n = w.len();
    for (ra, rx) in acc.chunks_exact_mut(n).zip(x.chunks_exact(n)) {
        mul_add(ra, w, rx);
    }
}

/// Where a head's block lies in a transposed chunk of qkv (seq·3·dim, n): token s, part
/// (0 q, 1 k, 2 v) and head h occupy the hd consecutive rows from (s·3 + part)·dim + h·hd, that
/// is one contiguous (hd, n) block.
#[derive(Clone, Copy)]
struct Blocks {
    dim: usize,
    hd: usize,
    n: usize,
}

impl Blocks {
    fn range(&self, s: usize, part: usize, h: usize) -> std::ops::Range<usize> {
        let start = ((s * 3 + part) * self.dim + h * self.hd) * self.n;
        start..start + self.hd * self.n
    }
}

pub(super) fn forward<T: Scalar>(qkv: &[T], d: AttnDims) -> Result<(Vec<T>, Vec<T>)> {
    check("attention_fwd", qkv, d)?;
    let (s, dim, heads) = (d.seq, d.dim(), d.heads);
    let mut out = vec![T::zero(); d.batch * s * dim];
    let mut probs = vec![T::zero(); d.batch * heads * s * s];
    let avx2 = has_avx2();
    out.par_chunks_mut(LANES * s * dim)
        .zip(probs.par_chunks_mut(LANES * heads * s * s))
        .zip(qkv.par_chunks(LANES * s * 3 * dim))
        .for_each(|((out_c, probs_c), qkv_c)| {
            #[cfg(target_arch = "x86_64")]
            if avx2 {
                // SAFETY: the CPU has AVX2 (`has_avx2` checked it at run time).
                return unsafe { forward_chunk_avx2(qkv_c, out_c, probs_c, d) };
            }
            forward_chunk(qkv_c, out_c, probs_c, d, avx2) // avx2 is false here
        });
    Ok((out, probs))
}

/// `forward_chunk` compiled for AVX2: the same operations on twice as many lanes per
/// instruction (no FMA, so the results are bit for bit those of the SSE2 build).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn forward_chunk_avx2<T: Scalar>(
    qkv_c: &[T],
    out_c: &mut [T],
    probs_c: &mut [T],
    d: AttnDims,
) {
    forward_chunk(qkv_c, out_c, probs_c, d, true)
}

/// One chunk of ≤ LANES sequences: qkv_c (n, seq·3·dim) → out_c (n, seq·dim) and
/// probs_c (n, heads·seq·seq).
#[inline(always)]
fn forward_chunk<T: Scalar>(
    qkv_c: &[T],
    out_c: &mut [T],
    probs_c: &mut [T],
    d: AttnDims,
    avx2: bool,
) {
    let (s, hd, dim, heads) = (d.seq, d.head_dim, d.dim(), d.heads);
    let scale: T = q_scale(hd);
    let n = qkv_c.len() / (s * 3 * dim); // sequences in this chunk, ≤ LANES
    let at = Blocks { dim, hd, n };
    let mut x = vec![T::zero(); s * 3 * dim * n]; // (seq·3·dim, n)
    transpose(qkv_c, n, s * 3 * dim, &mut x, avx2);
    let mut out_t = vec![T::zero(); s * dim * n]; // (seq·dim, n)
    let mut probs_t = vec![T::zero(); heads * s * s * n]; // (heads·seq·seq, n)
    let mut qs = vec![T::zero(); hd * n]; // (hd, n)
    let (mut max, mut sum) = (vec![T::zero(); n], vec![T::zero(); n]);
    for h in 0..heads {
        for i in 0..s {
            let q = &x[at.range(i, 0, h)];
            qs.iter_mut().zip(q).for_each(|(a, &b)| *a = b * scale);
            // scores[t] = Σ_j qs[j] ⊙ k[t, j]
            let p_i = &mut probs_t[(h * s + i) * s * n..][..s * n]; // (seq, n)
            for (t, score) in p_i.chunks_exact_mut(n).enumerate() {
                block_dot(score, &qs, &x[at.range(t, 1, h)]);
            }
            // Softmax over t, per lane, stabilised by the maximum.
            max.fill(T::neg_infinity());
            for score in p_i.chunks_exact(n) {
                max.iter_mut().zip(score).for_each(|(m, &v)| *m = m.max(v));
            }
            sum.fill(T::zero());
            for score in p_i.chunks_exact_mut(n) {
                for ((v, &m), acc) in score.iter_mut().zip(max.iter()).zip(sum.iter_mut()) {
                    *v = (*v - m).exp();
                    *acc = *acc + *v;
                }
            }
            for score in p_i.chunks_exact_mut(n) {
                score
                    .iter_mut()
                    .zip(sum.iter())
                    .for_each(|(v, &z)| *v = *v / z);
            }
            // out[i, j] = Σ_t p[t] ⊙ v[t, j]
            let o = &mut out_t[(i * dim + h * hd) * n..][..hd * n];
            for (t, p) in p_i.chunks_exact(n).enumerate() {
                block_axpy(o, p, &x[at.range(t, 2, h)]);
            }
        }
    }
    transpose(&out_t, s * dim, n, out_c, avx2);
    transpose(&probs_t, heads * s * s, n, probs_c, avx2);
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
    dqkv.par_chunks_mut(LANES * s * 3 * dim)
        .zip(qkv.par_chunks(LANES * s * 3 * dim))
        .zip(probs.par_chunks(LANES * heads * s * s))
        .zip(dout.par_chunks(LANES * s * dim))
        .for_each(|(((dqkv_c, qkv_c), probs_c), dout_c)| {
            let chunk = Chunk {
                qkv_c,
                probs_c,
                dout_c,
            };
            #[cfg(target_arch = "x86_64")]
            if avx2 {
                // SAFETY: the CPU has AVX2 (`has_avx2` checked it at run time).
                return unsafe { backward_chunk_avx2(chunk, dqkv_c, d) };
            }
            backward_chunk(chunk, dqkv_c, d, avx2) // avx2 is false here
        });
    Ok(())
}

/// The inputs of one backward chunk of n ≤ LANES sequences.
struct Chunk<'a, T> {
    /// (n, seq·3·dim)
    qkv_c: &'a [T],
    /// (n, heads·seq·seq)
    probs_c: &'a [T],
    /// (n, seq·dim)
    dout_c: &'a [T],
}

/// `backward_chunk` compiled for AVX2 (see `forward_chunk_avx2`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn backward_chunk_avx2<T: Scalar>(chunk: Chunk<'_, T>, dqkv_c: &mut [T], d: AttnDims) {
    backward_chunk(chunk, dqkv_c, d, true)
}

/// One chunk: dqkv_c (n, seq·3·dim) += the gradient through attention.
#[inline(always)]
fn backward_chunk<T: Scalar>(chunk: Chunk<'_, T>, dqkv_c: &mut [T], d: AttnDims, avx2: bool) {
    let Chunk {
        qkv_c,
        probs_c,
        dout_c,
    } = chunk;
    let (s, hd, dim, heads) = (d.seq, d.head_dim, d.dim(), d.heads);
    let scale: T = q_scale(hd);
    let n = qkv_c.len() / (s * 3 * dim);
    let at = Blocks { dim, hd, n };
    let mut x = vec![T::zero(); s * 3 * dim * n]; // (seq·3·dim, n)
    transpose(qkv_c, n, s * 3 * dim, &mut x, avx2);
    let mut p_t = vec![T::zero(); heads * s * s * n]; // (heads·seq·seq, n)
    transpose(probs_c, n, heads * s * s, &mut p_t, avx2);
    let mut g_t = vec![T::zero(); s * dim * n]; // (seq·dim, n)
    transpose(dout_c, n, s * dim, &mut g_t, avx2);
    let mut dx = vec![T::zero(); s * 3 * dim * n]; // the gradient, transposed like x
    let mut ds = vec![T::zero(); s * n]; // (seq, n)
    let mut c = vec![T::zero(); n];
    for h in 0..heads {
        for i in 0..s {
            let p_i = &p_t[(h * s + i) * s * n..][..s * n]; // (seq, n)
            let g = &g_t[(i * dim + h * hd) * n..][..hd * n]; // (hd, n)
                                                              // dP[t] = Σ_j g[j] ⊙ v[t, j]
            ds.fill(T::zero());
            for (t, dp) in ds.chunks_exact_mut(n).enumerate() {
                block_dot(dp, g, &x[at.range(t, 2, h)]);
            }
            // dS[t] = P[t] ⊙ (dP[t] − Σ_t' P[t'] ⊙ dP[t']), then scaled by √(1/hd)
            c.fill(T::zero());
            for (p, dp) in p_i.chunks_exact(n).zip(ds.chunks_exact(n)) {
                mul_add(&mut c, p, dp);
            }
            for (p, dp) in p_i.chunks_exact(n).zip(ds.chunks_exact_mut(n)) {
                for ((v, &pv), &cv) in dp.iter_mut().zip(p).zip(c.iter()) {
                    *v = pv * (*v - cv) * scale;
                }
            }
            // dQ[i] += Σ_t dS[t] ⊙ k[t]; dK[t] += dS[t] ⊙ q[i]; dV[t] += P[t] ⊙ g
            for (t, (p, sds)) in p_i.chunks_exact(n).zip(ds.chunks_exact(n)).enumerate() {
                block_axpy(&mut dx[at.range(i, 0, h)], sds, &x[at.range(t, 1, h)]);
                block_axpy(&mut dx[at.range(t, 1, h)], sds, &x[at.range(i, 0, h)]);
                block_axpy(&mut dx[at.range(t, 2, h)], p, g);
            }
        }
    }
    transpose_add(&dx, n, s * 3 * dim, dqkv_c, avx2);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn f32_agrees_with_f64_across_chunk_and_block_edges() {
        // batch 37 = a full chunk of 32 plus 5; dim 24 (2 heads of 12): the f32 path runs the
        // 8×8 register transposes where the CPU has AVX2, and their scalar edges. Values of
        // size ~1 summed over ≤ 12 terms at a time: f32 rounding stays below ~1e-5, so 1e-4
        // absolute; a misplaced element would be off by ~1.
        let d = AttnDims {
            batch: 37,
            seq: 8,
            heads: 2,
            head_dim: 12,
        };
        let mut rng = Rng::new(11);
        let qkv: Vec<f64> = (0..37 * 8 * 72).map(|_| rng.normal()).collect();
        let dout: Vec<f64> = (0..37 * 8 * 24).map(|_| rng.normal()).collect();
        let to32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
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
}
