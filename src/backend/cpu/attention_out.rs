//! Attention followed by the out projection, on value rows already projected per head
//! (`head_proj.rs`): for sequence b, out[t] = bias + Σ_h Σ_s P_h[t,s] · y_h[s], where
//! y_h[s] = tab_e[x[s], h] + tab_p[s, h] is head h's value row of token s through its columns of
//! out_proj. The probabilities are those of `attention.rs` (the same code: the same bits).
//!
//! The gradients, with dO = dout of the sequence:
//! - dP_h = dO · y_hᵀ, then the softmax and score gradients into dq and dk (`scores_backward`);
//!   dO and y are both read along dim (`gemm_nt`: its sums run in lanes, see there);
//! - dy_h[s] = Σ_t P_h[t,s] · dO[t], summed into the table rows it came from: dtab_e[x[s], h]
//!   and dtab_p[s, h]. Many sequences share a token, so this pass runs by table row instead of
//!   by sequence: each row is one product of the probabilities that weigh it and the rows of dO
//!   they weigh, over its occurrences in order of position. No two tasks write the same
//!   element and every sum has a fixed order, so the results do not depend on the number of
//!   threads.
//!
//! Tables are (rows, heads, dim): tab_e (vocab, heads, dim), tab_p (seq, heads, dim).
//!
//! q and k are read from the projected vocabulary and position rows too (`QkRows`): each
//! sequence's q and k rows are summed into a buffer in cache as the embedding gathers them (the
//! same bits), instead of a (batch, seq, 2·dim) array written by the embedding and read back
//! here twice. Their gradients, computed by sequence, are summed into those rows as the
//! embedding's backward does (`embed::backward`).

use std::mem::MaybeUninit;

use ndarray::{ArrayView2, ArrayViewMut2};
use rayon::prelude::*;

use super::attention::{check_dims, has_avx2, head_probs, scores_backward, width, SEQS_PER_TASK};
use super::embed::{self, rows_by_token};
use super::expf;
use super::gemm::gemm_rows;
use super::tiny_gemm::{gemm_apart, gemm_nt_apart, Gathered, GatheredSum, Mat};
use super::transpose::transpose;
use super::{check_len, check_sizes};
use crate::backend::{AttnDims, AttnOutGrads, EmbedDims, Scalar};
use crate::error::Result;

/// Tokens per task of the by-token pass (vocab 256: 16 tasks).
const TOKENS_PER_TASK: usize = 16;

/// The per-head value rows of one op: tab_e (vocab, heads, dim) and tab_p (seq, heads, dim).
#[derive(Clone, Copy)]
struct Tables<'a, T> {
    e: &'a [T],
    p: &'a [T],
}

impl<'a, T: Scalar> Tables<'a, T> {
    /// y (seq·heads, dim) of the sequence with tokens x, as rows summed where they are read:
    /// y[s·heads + h] = tab_e[x[s], h] + tab_p[s, h] (a token's row of a table holds its heads
    /// side by side). `offsets` (seq·heads) receives where each row's two parts lie.
    #[inline(always)]
    fn value_rows<'o>(
        &self,
        x: &[u32],
        (heads, dim): (usize, usize),
        offsets: &'o mut [(usize, usize)],
    ) -> GatheredSum<'o, T>
    where
        'a: 'o,
    {
        for (j, o) in offsets.iter_mut().enumerate() {
            let (pos, h) = (j / heads, j % heads);
            *o = ((x[pos] as usize * heads + h) * dim, j * dim);
        }
        GatheredSum {
            e: self.e,
            p: self.p,
            offsets,
        }
    }
}

/// The projected rows q and k come from: token (b, s)'s q and k are the leading 2·dim columns
/// of e[ids[b, s]] + p[s], rows of 3·dim (their v blocks are not read: v reaches this op
/// through the tables).
#[derive(Clone, Copy)]
struct QkRows<'a, T> {
    e: &'a [T],
    p: &'a [T],
    dim: usize,
}

impl<T: Scalar> QkRows<'_, T> {
    /// x (seq, 2·dim) ← the q and k rows of the sequence with tokens `tok`, each element
    /// e + p as `embed::forward` sums it.
    #[inline(always)]
    fn gather(&self, tok: &[u32], x: &mut [T]) {
        let (row, cols) = (3 * self.dim, 2 * self.dim);
        for (s, (x_s, &v)) in x.chunks_exact_mut(cols).zip(tok).enumerate() {
            let e = &self.e[v as usize * row..][..cols];
            let p = &self.p[s * row..][..cols];
            x_s.iter_mut()
                .zip(e.iter().zip(p))
                .for_each(|(o, (&a, &b))| *o = a + b);
        }
    }
}

/// Checks the inputs (ids inside the vocabulary: they index the rows).
fn check_all<T>(
    op: &str,
    (ids, qk): (&[u32], QkRows<'_, T>),
    tabs: Tables<'_, T>,
    d: AttnDims,
    vocab: usize,
) -> Result<()> {
    check_dims(op, d)?;
    check_sizes(op, &[("vocab", vocab)])?;
    let dim = d.dim();
    check_len(op, "ids", ids, d.batch * d.seq)?;
    check_len(op, "qk_e", qk.e, vocab * 3 * dim)?;
    check_len(op, "qk_p", qk.p, d.seq * 3 * dim)?;
    check_len(op, "tab_e", tabs.e, vocab * d.heads * dim)?;
    check_len(op, "tab_p", tabs.p, d.seq * d.heads * dim)?;
    embed::check_ids(op, ids, vocab)
}

/// Returns out (batch, seq, dim) and probs (batch, heads, seq, seq), q and k from the rows
/// (qk_e (vocab, 3·dim), qk_p (seq, 3·dim)).
pub(super) fn forward<T: Scalar>(
    (ids, qk_e, qk_p): (&[u32], &[T], &[T]),
    (tab_e, tab_p): (&[T], &[T]),
    bias: &[T],
    d: AttnDims,
    vocab: usize,
) -> Result<(Vec<T>, Vec<T>)> {
    let tabs = Tables { e: tab_e, p: tab_p };
    let qk = QkRows {
        e: qk_e,
        p: qk_p,
        dim: d.dim(),
    };
    check_all("attention_out_fwd", (ids, qk), tabs, d, vocab)?;
    check_len("attention_out_fwd", "bias", bias, d.dim())?;
    let (s, dim, heads) = (d.seq, d.dim(), d.heads);
    // Every row starts as the bias, which the mixing product adds into.
    let mut out = bias.repeat(d.batch * s);
    let mut probs = vec![T::zero(); d.batch * heads * s * s];
    let avx2 = has_avx2();
    out.par_chunks_mut(SEQS_PER_TASK * s * dim)
        .zip(probs.par_chunks_mut(SEQS_PER_TASK * heads * s * s))
        .zip(ids.par_chunks(SEQS_PER_TASK * s))
        .for_each(|((out_c, probs_c), ids_c)| {
            let seqs = (ids_c, qk);
            #[cfg(target_arch = "x86_64")]
            if avx2 {
                // SAFETY: the CPU has AVX2 (`has_avx2` checked it at run time).
                return unsafe { forward_seqs_avx2(seqs, tabs, (out_c, probs_c), d) };
            }
            forward_seqs(seqs, tabs, (out_c, probs_c), d, avx2) // avx2 is false here
        });
    Ok((out, probs))
}

/// `forward_seqs` compiled for AVX2 (no FMA: the SSE2 build's bits).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn forward_seqs_avx2<T: Scalar>(
    seqs: (&[u32], QkRows<'_, T>),
    tabs: Tables<'_, T>,
    outs: (&mut [T], &mut [T]),
    d: AttnDims,
) {
    forward_seqs(seqs, tabs, outs, d, true)
}

/// Whole sequences: ids_c (n, seq) → (out_c (n, seq·dim), which holds the bias rows on entry,
/// probs_c (n, heads·seq·seq)).
#[inline(always)]
fn forward_seqs<T: Scalar>(
    (ids_c, qk): (&[u32], QkRows<'_, T>),
    tabs: Tables<'_, T>,
    (out_c, probs_c): (&mut [T], &mut [T]),
    d: AttnDims,
    avx2: bool,
) {
    let (s, hd, dim, heads) = (d.seq, d.head_dim, d.dim(), d.heads);
    let (w, k) = (width(s), s * heads); // k: the mixing product's inner size
    let fast_exp = expf::fast::<T>();
    let row = 2 * dim;
    let mut seq_qk = vec![T::zero(); s * row]; // (seq, 2·dim): the sequence's q and k
    let mut kt = vec![T::zero(); dim * w]; // (dim, w): the sequence's k, transposed
    let mut qs = vec![T::zero(); s * hd]; // (seq, hd): one head's q·√(1/hd)
    let mut scores = vec![T::zero(); s * w]; // (seq, w)
    let mut mix = vec![T::zero(); s * k]; // (seq, seq·heads): mix[t, s·heads + h] = P_h[t, s]
    let mut rows = vec![(0, 0); k]; // where value row s·heads + h lies in tab_e and in tab_p
    for ((tok, o), p) in ids_c
        .chunks_exact(s)
        .zip(out_c.chunks_exact_mut(s * dim))
        .zip(probs_c.chunks_exact_mut(heads * s * s))
    {
        qk.gather(tok, &mut seq_qk);
        let x = seq_qk.as_slice();
        transpose(&x[dim..], (s, dim, row), &mut kt, w, avx2);
        for h in 0..heads {
            let p_h = &mut p[h * s * s..][..s * s];
            head_probs((x, row), &kt, h, d, (&mut qs, &mut scores), p_h, fast_exp);
            for (mix_t, p_t) in mix.chunks_exact_mut(k).zip(p_h.chunks_exact(s)) {
                p_t.iter()
                    .enumerate()
                    .for_each(|(j, &v)| mix_t[j * heads + h] = v);
            }
        }
        // out = bias + mix · y, o holding the bias rows already
        let y = tabs.value_rows(tok, (heads, dim), &mut rows);
        gemm_apart((s, dim, k), Mat::new(&mix, k), y, o, dim, (true, avx2));
    }
}

/// The gradients given dout (batch, seq, dim): q's and k's by sequence, summed into the rows
/// they came from; the tables' by token.
pub(super) fn backward<T: Scalar>(
    (ids, qk_e, qk_p): (&[u32], &[T], &[T]),
    (tab_e, tab_p): (&[T], &[T]),
    probs: &[T],
    dout: &[T],
    d: AttnDims,
    vocab: usize,
) -> Result<AttnOutGrads<Vec<T>>> {
    let tabs = Tables { e: tab_e, p: tab_p };
    let qk = QkRows {
        e: qk_e,
        p: qk_p,
        dim: d.dim(),
    };
    check_all("attention_out_bwd", (ids, qk), tabs, d, vocab)?;
    let (s, dim, heads) = (d.seq, d.dim(), d.heads);
    check_len("attention_out_bwd", "probs", probs, d.batch * heads * s * s)?;
    check_len("attention_out_bwd", "dout", dout, d.batch * s * dim)?;
    let dqk = score_grads((ids, qk), tabs, probs, dout, d);
    // into the leading 2·dim columns of the rows, as the embedding's backward sums them
    let (mut dqk_e, mut dqk_p) = (vec![T::zero(); qk_e.len()], vec![T::zero(); qk_p.len()]);
    let rows = EmbedDims {
        batch: d.batch,
        seq: s,
        dim: 3 * dim,
        vocab,
        cols: 2 * dim,
    };
    embed::backward(ids, &dqk, rows, &mut dqk_e, &mut dqk_p)?;
    let (dtab_e, dtab_p) = table_grads(ids, probs, dout, d, vocab);
    let mut dbias = vec![T::zero(); dim];
    for row in dout.chunks_exact(dim) {
        dbias.iter_mut().zip(row).for_each(|(a, &g)| *a = *a + g);
    }
    Ok(AttnOutGrads {
        dqk_e,
        dqk_p,
        dtab_e,
        dtab_p,
        dbias,
    })
}

/// dqk (batch, seq, 2·dim): each token's dq and dk through dP_h = dO·y_hᵀ. Written sequence by
/// sequence from a staging buffer, with no zero fill first.
fn score_grads<T: Scalar>(
    (ids, qk): (&[u32], QkRows<'_, T>),
    tabs: Tables<'_, T>,
    probs: &[T],
    dout: &[T],
    d: AttnDims,
) -> Vec<T> {
    let (s, dim, heads) = (d.seq, d.dim(), d.heads);
    let avx2 = has_avx2();
    let len = ids.len() * 2 * dim;
    let mut dqk = Vec::with_capacity(len);
    dqk.spare_capacity_mut()[..len]
        .par_chunks_mut(SEQS_PER_TASK * s * 2 * dim)
        .zip(ids.par_chunks(SEQS_PER_TASK * s))
        .zip(probs.par_chunks(SEQS_PER_TASK * heads * s * s))
        .zip(dout.par_chunks(SEQS_PER_TASK * s * dim))
        .for_each(|(((dqk_c, ids_c), probs_c), dout_c)| {
            let seqs = ((ids_c, qk), probs_c, dout_c);
            #[cfg(target_arch = "x86_64")]
            if avx2 {
                // SAFETY: the CPU has AVX2 (`has_avx2` checked it at run time).
                return unsafe { score_grads_seqs_avx2(seqs, tabs, dqk_c, d) };
            }
            score_grads_seqs(seqs, tabs, dqk_c, d, avx2) // avx2 is false here
        });
    // SAFETY: the capacity is at least len, and `score_grads_seqs` writes every element of each
    // chunk (each sequence's whole staged gradient), the chunks covering 0..len.
    unsafe { dqk.set_len(len) };
    dqk
}

/// The inputs of one task of `score_grads`: the ids (with the rows q and k come from), probs
/// and dout of n whole sequences.
type SeqInputs<'a, T> = ((&'a [u32], QkRows<'a, T>), &'a [T], &'a [T]);

/// `score_grads_seqs` compiled for AVX2 (see `forward_seqs_avx2`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn score_grads_seqs_avx2<T: Scalar>(
    seqs: SeqInputs<'_, T>,
    tabs: Tables<'_, T>,
    dqk_c: &mut [MaybeUninit<T>],
    d: AttnDims,
) {
    score_grads_seqs(seqs, tabs, dqk_c, d, true)
}

#[inline(always)]
fn score_grads_seqs<T: Scalar>(
    ((ids_c, qk), probs_c, dout_c): SeqInputs<'_, T>,
    tabs: Tables<'_, T>,
    dqk_c: &mut [MaybeUninit<T>],
    d: AttnDims,
    avx2: bool,
) {
    let (s, dim, heads) = (d.seq, d.dim(), d.heads);
    let (w, k, row) = (width(s), s * heads, 2 * dim);
    let len = s * row; // one sequence of q and k, or of their gradients
    let mut seq_qk = vec![T::zero(); len]; // the sequence's q and k
    let mut rows = vec![(0, 0); k]; // where value row s·heads + h lies in tab_e and in tab_p
    let mut dmix = vec![T::zero(); s * k]; // (seq, seq·heads)
    let mut dp = vec![T::zero(); s * w]; // (seq, w): dP of one head
    let mut ds = vec![T::zero(); s * s];
    let mut staging = vec![T::zero(); len];
    for (((tok, p), g), dx) in ids_c
        .chunks_exact(s)
        .zip(probs_c.chunks_exact(heads * s * s))
        .zip(dout_c.chunks_exact(s * dim))
        .zip(dqk_c.chunks_exact_mut(len))
    {
        qk.gather(tok, &mut seq_qk);
        let x = seq_qk.as_slice();
        // dmix = dO · yᵀ, both read along dim; then each head's dP = its columns of dmix
        let y = tabs.value_rows(tok, (heads, dim), &mut rows);
        gemm_nt_apart((s, k, dim), Mat::new(g, dim), y, &mut dmix, (k, avx2));
        for h in 0..heads {
            for (dp_t, dmix_t) in dp.chunks_exact_mut(w).zip(dmix.chunks_exact(k)) {
                (0..s).for_each(|j| dp_t[j] = dmix_t[j * heads + h]);
            }
            let p_h = &p[h * s * s..][..s * s];
            scores_backward((x, row), p_h, &dp, &mut ds, h, d, &mut staging, false);
        }
        dx.iter_mut().zip(&staging).for_each(|(a, &v)| {
            a.write(v);
        });
    }
}

/// (dtab_e (vocab, heads, dim), dtab_p (seq, heads, dim)): each row the product of the
/// probabilities that weigh it and the rows of dO they weigh. By token: over the occurrences
/// (b, s) of v and t, P_h[b, t, s]·dO[b, t], the rows of dO picked in place (`Gathered`). By
/// position, in one product: dtab_p (seq·heads, dim) = A · dO with A[s·heads + h, b·seq + t] =
/// P_h[b, t, s]. The two run side by side.
fn table_grads<T: Scalar>(
    ids: &[u32],
    probs: &[T],
    dout: &[T],
    d: AttnDims,
    vocab: usize,
) -> (Vec<T>, Vec<T>) {
    let (s, dim, row) = (d.seq, d.dim(), d.heads * d.dim());
    let (starts, order) = rows_by_token(ids, vocab);
    let occ = Occurrences {
        starts: &starts,
        order: &order,
    };
    let avx2 = has_avx2();
    let mut dtab_e = vec![T::zero(); vocab * row];
    let mut dtab_p = vec![T::zero(); s * row];
    rayon::join(
        || {
            dtab_e
                .par_chunks_mut(TOKENS_PER_TASK * row)
                .enumerate()
                .for_each(|(task, de)| {
                    let first = task * TOKENS_PER_TASK;
                    token_rows(occ, first, (probs, dout), de, d, avx2)
                })
        },
        || {
            let a = position_weights(probs, d);
            let (k, m) = (d.batch * s, s * d.heads);
            let a = ArrayView2::from_shape((m, k), &a).expect("(seq·heads, batch·seq)");
            let g = ArrayView2::from_shape((k, dim), dout).expect("(batch·seq, dim)");
            let c = ArrayViewMut2::from_shape((m, dim), &mut dtab_p).expect("(seq·heads, dim)");
            gemm_rows(a, g, T::zero(), c);
        },
    );
    (dtab_e, dtab_p)
}

/// A (seq·heads, batch·seq): A[s·heads + h, b·seq + t] = P_h[b, t, s].
fn position_weights<T: Scalar>(probs: &[T], d: AttnDims) -> Vec<T> {
    let (s, heads, k) = (d.seq, d.heads, d.batch * d.seq);
    let mut a = vec![T::zero(); s * heads * k];
    for (b, p_b) in probs.chunks_exact(heads * s * s).enumerate() {
        for (h, p_h) in p_b.chunks_exact(s * s).enumerate() {
            for (t, p_t) in p_h.chunks_exact(s).enumerate() {
                for (pos, &v) in p_t.iter().enumerate() {
                    a[(pos * heads + h) * k + b * s + t] = v;
                }
            }
        }
    }
    a
}

/// Where each token occurs: positions order[starts[v]..starts[v + 1]] (b·seq + s, increasing).
#[derive(Clone, Copy)]
struct Occurrences<'a> {
    starts: &'a [usize],
    order: &'a [usize],
}

/// Occurrences per product of `token_rows`: 4 × seq rows of dO (32 KiB at D = 256) stay in
/// the first-level cache while every column tile of the product reads them.
const OCCURRENCES_PER_PRODUCT: usize = 4;

/// The rows de (tokens, heads, dim) of dtab_e of the tokens first.. (zero on entry).
fn token_rows<T: Scalar>(
    occ: Occurrences<'_>,
    first: usize,
    (probs, dout): (&[T], &[T]),
    de: &mut [T],
    d: AttnDims,
    avx2: bool,
) {
    let (s, dim, heads) = (d.seq, d.dim(), d.heads);
    let (mut a, mut rows) = (Vec::new(), Vec::new());
    for (i, de_v) in de.chunks_exact_mut(heads * dim).enumerate() {
        let all = &occ.order[occ.starts[first + i]..occ.starts[first + i + 1]];
        for (c, at) in all.chunks(OCCURRENCES_PER_PRODUCT).enumerate() {
            let k = at.len() * s;
            // a (heads, k): a[h, n·seq + t] = P_h[b, t, s] for the n-th occurrence (b, s)
            a.clear();
            a.resize(heads * k, T::zero());
            rows.clear();
            for (n, &pos) in at.iter().enumerate() {
                let (b, pos) = (pos / s, pos % s);
                rows.extend((0..s).map(|t| (b * s + t) * dim));
                let p_b = &probs[b * heads * s * s..][..heads * s * s];
                for (a_h, p_h) in a.chunks_exact_mut(k).zip(p_b.chunks_exact(s * s)) {
                    let a_n = &mut a_h[n * s..][..s];
                    a_n.iter_mut()
                        .zip(p_h.chunks_exact(s))
                        .for_each(|(e, p_t)| *e = p_t[pos]);
                }
            }
            let g = Gathered {
                data: dout,
                offsets: &rows,
            };
            let add = c > 0;
            gemm_apart((heads, dim, k), Mat::new(&a, k), g, de_v, dim, (add, avx2));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::on_1_and_3_threads;
    use crate::rng::Rng;

    /// batch 37 = two tasks of 16 sequences plus 5; vocab 40 = two tasks of 16 tokens plus 8;
    /// seq 8; 3 heads of 12 (a group of 8 lanes and 4 left over).
    const D: AttnDims = AttnDims {
        batch: 37,
        seq: 8,
        heads: 3,
        head_dim: 12,
    };
    const VOCAB: usize = 40;

    struct Inputs<T> {
        ids: Vec<u32>,
        qk_e: Vec<T>,
        qk_p: Vec<T>,
        tab_e: Vec<T>,
        tab_p: Vec<T>,
        bias: Vec<T>,
        dout: Vec<T>,
    }

    fn inputs<T: Scalar>(seed: u64) -> Inputs<T> {
        let mut rng = Rng::new(seed);
        let mut randn = |n: usize| -> Vec<T> {
            (0..n)
                .map(|_| <T as Scalar>::from_f64(rng.normal()))
                .collect()
        };
        let (dim, rows) = (D.dim(), D.batch * D.seq);
        let (qk_e, qk_p) = (randn(VOCAB * 3 * dim), randn(D.seq * 3 * dim));
        let (tab_e, tab_p) = (randn(VOCAB * D.heads * dim), randn(D.seq * D.heads * dim));
        let (bias, dout) = (randn(dim), randn(rows * dim));
        // Tokens 0..30 only: the last task has tokens that never occur.
        let ids = (0..rows).map(|_| rng.below(30) as u32).collect();
        Inputs {
            ids,
            qk_e,
            qk_p,
            tab_e,
            tab_p,
            bias,
            dout,
        }
    }

    /// out, probs, then the five gradients, each flattened.
    fn run<T: Scalar>(x: &Inputs<T>) -> Vec<Vec<T>> {
        let (qk, tabs) = ((&*x.ids, &*x.qk_e, &*x.qk_p), (&*x.tab_e, &*x.tab_p));
        let (out, probs) = forward(qk, tabs, &x.bias, D, VOCAB).unwrap();
        let g = backward(qk, tabs, &probs, &x.dout, D, VOCAB).unwrap();
        vec![out, probs, g.dqk_e, g.dqk_p, g.dtab_e, g.dtab_p, g.dbias]
    }

    #[test]
    fn results_do_not_depend_on_the_number_of_threads() {
        let x = inputs::<f32>(21);
        let (one, three) = on_1_and_3_threads(|| run(&x));
        assert!(one == three, "1 and 3 threads give different bits");
    }

    #[test]
    fn f32_agrees_with_f64() {
        // Inputs of size ~1; the longest sums are dbias and dtab_p (37 · 8 = 296 terms, partial
        // sums up to ~45 in size): f32 rounding ≲ n·u·S = 296 · 6e-8 · 45 ≈ 8e-4 at worst
        // (observed 1.6e-5), the inputs' own rounding far less. So 1e-3 absolute: a misplaced
        // or missing term is off by ~1.
        let (x64, x32) = (inputs::<f64>(22), inputs::<f32>(22));
        let names = [
            "out", "probs", "dqk_e", "dqk_p", "dtab_e", "dtab_p", "dbias",
        ];
        for ((name, a), b) in names.iter().zip(run(&x64)).zip(run(&x32)) {
            for (i, (&p, &q)) in a.iter().zip(&b).enumerate() {
                let err = (p - q as f64).abs();
                assert!(err <= 1e-3, "{name}[{i}]: {p} vs {q}");
            }
        }
    }

    /// q and k are the embedding's gather of the rows' leading 2·dim columns, bit for bit, and
    /// their gradients reach those columns only: the v blocks of dqk_e and dqk_p stay zero.
    #[test]
    fn q_and_k_are_the_embeddings_gather_of_the_rows() {
        let x = inputs::<f32>(24);
        let dim = D.dim();
        let rows = EmbedDims {
            batch: D.batch,
            seq: D.seq,
            dim: 3 * dim,
            vocab: VOCAB,
            cols: 2 * dim,
        };
        let gathered = embed::forward(&x.ids, &x.qk_e, &x.qk_p, rows).unwrap();
        let qk = QkRows {
            e: &x.qk_e,
            p: &x.qk_p,
            dim,
        };
        let mut seq = vec![0.0f32; D.seq * 2 * dim];
        for (tok, want) in x
            .ids
            .chunks_exact(D.seq)
            .zip(gathered.chunks_exact(D.seq * 2 * dim))
        {
            qk.gather(tok, &mut seq);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&seq), bits(want));
        }
        let g = run(&x);
        for (name, grad) in [("dqk_e", &g[2]), ("dqk_p", &g[3])] {
            for row in grad.chunks_exact(3 * dim) {
                assert!(row[2 * dim..].iter().all(|&v| v.to_bits() == 0), "{name}");
            }
            assert!(grad.iter().any(|&v| v != 0.0), "{name} is all zero");
        }
    }

    #[test]
    fn token_ids_outside_the_vocabulary_are_errors() {
        let mut x = inputs::<f32>(25);
        x.ids[3] = VOCAB as u32;
        let (qk, tabs) = ((&*x.ids, &*x.qk_e, &*x.qk_p), (&*x.tab_e, &*x.tab_p));
        let err = forward(qk, tabs, &x.bias, D, VOCAB)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("token id 40") && err.contains("[0, 40)"),
            "{err}"
        );
    }

    #[test]
    fn the_avx2_build_gives_the_plain_builds_bits() {
        let x = inputs::<f32>(23);
        let tabs = Tables {
            e: &x.tab_e,
            p: &x.tab_p,
        };
        let qk = QkRows {
            e: &x.qk_e,
            p: &x.qk_p,
            dim: D.dim(),
        };
        let whole = run(&x);
        let (out, probs) = (&whole[0], &whole[1]);
        let (dim, heads) = (D.dim(), D.heads);
        let mut plain_out = x.bias.repeat(D.batch * D.seq);
        let mut plain_probs = vec![0.0f32; probs.len()];
        let outs = (plain_out.as_mut_slice(), plain_probs.as_mut_slice());
        forward_seqs((&x.ids, qk), tabs, outs, D, false);
        assert_eq!(*out, plain_out, "out");
        assert_eq!(*probs, plain_probs, "probs");
        let dqk = score_grads((&x.ids, qk), tabs, probs, &x.dout, D);
        let mut plain_dqk = vec![MaybeUninit::new(0.0f32); dqk.len()];
        let seqs = ((x.ids.as_slice(), qk), probs.as_slice(), x.dout.as_slice());
        score_grads_seqs(seqs, tabs, &mut plain_dqk, D, false);
        // SAFETY: every element was initialised above.
        let plain_dqk: Vec<f32> = plain_dqk
            .iter()
            .map(|v| unsafe { v.assume_init() })
            .collect();
        assert_eq!(dqk, plain_dqk, "dqk");
        // All tokens in one task, from the first, without AVX2.
        let (starts, order) = rows_by_token(&x.ids, VOCAB);
        let occ = Occurrences {
            starts: &starts,
            order: &order,
        };
        let mut plain_e = vec![0.0f32; VOCAB * heads * dim];
        token_rows(occ, 0, (probs, &x.dout), &mut plain_e, D, false);
        assert_eq!(whole[4], plain_e, "dtab_e");
    }
}
