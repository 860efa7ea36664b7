//! Embedding gather plus learned positions: h[b,s,:] = emb[ids[b,s],:cols] + pos[s,:cols]
//! (cols = dim for whole rows).

use rayon::prelude::*;

use super::{check_len, check_sizes};
use crate::backend::{EmbedDims, Scalar};
use crate::error::{Error, Result};

/// Rows of h per parallel task in the forward (a row is one dim-vector: tiny work).
const ROWS_PER_TASK: usize = 64;

fn check<T>(op: &str, ids: &[u32], emb: &[T], pos: &[T], d: EmbedDims) -> Result<()> {
    let sizes = [
        ("batch", d.batch),
        ("seq", d.seq),
        ("dim", d.dim),
        ("vocab", d.vocab),
        ("cols", d.cols),
    ];
    check_sizes(op, &sizes)?;
    if d.cols > d.dim {
        return Err(Error::input(format!(
            "{op}: {} leading columns asked of rows of {}; at most dim",
            d.cols, d.dim
        )));
    }
    check_len(op, "ids", ids, d.batch * d.seq)?;
    check_len(op, "emb", emb, d.vocab * d.dim)?;
    check_len(op, "pos", pos, d.seq * d.dim)?;
    check_ids(op, ids, d.vocab)
}

/// Every id inside the vocabulary. The contract says ids are validated by the caller; a bad one
/// here is still an Err, not a panic on an out-of-bounds slice.
pub(super) fn check_ids(op: &str, ids: &[u32], vocab: usize) -> Result<()> {
    match ids.iter().find(|&&t| t as usize >= vocab) {
        Some(t) => Err(Error::input(format!(
            "{op}: token id {t} is outside the vocabulary [0, {vocab})"
        ))),
        None => Ok(()),
    }
}

pub(super) fn forward<T: Scalar>(
    ids: &[u32],
    emb: &[T],
    pos: &[T],
    d: EmbedDims,
) -> Result<Vec<T>> {
    check("embed_fwd", ids, emb, pos, d)?;
    let (dim, cols, len) = (d.dim, d.cols, d.batch * d.seq * d.cols);
    // Rows are independent: split over rayon (4000 rows of up to 768 per step), each written
    // straight into the new buffer's unused capacity (no zero fill first: 16 MB per D = 256
    // step between h and the factored qkv).
    let mut h = Vec::with_capacity(len);
    h.spare_capacity_mut()[..len]
        .par_chunks_mut(cols)
        .zip(ids.par_iter())
        .enumerate()
        .with_min_len(ROWS_PER_TASK)
        .for_each(|(r, (hr, &t))| {
            let e = &emb[t as usize * dim..][..cols];
            let p = &pos[(r % d.seq) * dim..][..cols];
            hr.iter_mut()
                .zip(e.iter().zip(p))
                .for_each(|(o, (&a, &b))| {
                    o.write(a + b);
                });
        });
    // SAFETY: the capacity is at least len, and every element of 0..len was written above:
    // ids has batch·seq entries (checked), one cols-wide chunk each, covering 0..len exactly.
    unsafe { h.set_len(len) };
    Ok(h)
}

/// (starts, rows): token v occurs at the positions rows[starts[v]..starts[v + 1]] of ids, in
/// increasing order. A counting sort (stable).
pub(super) fn rows_by_token(ids: &[u32], vocab: usize) -> (Vec<usize>, Vec<usize>) {
    let mut starts = vec![0usize; vocab + 1];
    ids.iter().for_each(|&t| starts[t as usize + 1] += 1);
    for v in 0..vocab {
        starts[v + 1] += starts[v];
    }
    let mut next = starts.clone();
    let mut rows = vec![0usize; ids.len()];
    for (r, &t) in ids.iter().enumerate() {
        rows[next[t as usize]] = r;
        next[t as usize] += 1;
    }
    (starts, rows)
}

pub(super) fn backward<T: Scalar>(
    ids: &[u32],
    dh: &[T],
    d: EmbedDims,
    demb: &mut [T],
    dpos: &mut [T],
) -> Result<()> {
    check("embed_bwd", ids, demb, dpos, d)?;
    check_len("embed_bwd", "dh", dh, d.batch * d.seq * d.cols)?;
    let (dim, cols, seq) = (d.dim, d.cols, d.seq);
    // One pass over the rows of dh in order, each added into its token's row of demb and its
    // position's row of dpos: every gradient element sums its rows in row order (the order of
    // a plain loop over the rows), and dh is read once, front to back. Split by token and by
    // position over rayon, dh was read twice, once in scattered order: 1.5 → 0.9 ms at
    // D = 256 on one thread, and in the sweep every thread is busy with a config of its own
    // (a split by token ranges and position ranges, each task passing over all rows, was no
    // faster there). Only the leading cols of each row are touched.
    let add = |acc: &mut [T], g: &[T]| {
        acc[..cols]
            .iter_mut()
            .zip(g)
            .for_each(|(a, &b)| *a = *a + b)
    };
    for (r, (g, &t)) in dh.chunks_exact(cols).zip(ids).enumerate() {
        add(&mut demb[t as usize * dim..], g);
        add(&mut dpos[(r % seq) * dim..], g);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::on_1_and_3_threads;
    use crate::rng::Rng;

    /// batch 9, seq 5, rows of 150 of which the leading 130 (three column blocks, the last
    /// partial), vocab 7 (tokens repeat).
    const D: EmbedDims = EmbedDims {
        batch: 9,
        seq: 5,
        dim: 150,
        vocab: 7,
        cols: 130,
    };

    /// demb and dpos as they are on entry: values already there, to be added to.
    fn on_entry() -> (Vec<f32>, Vec<f32>) {
        let mut rng = Rng::new(42);
        let mut fill = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.normal() as f32).collect() };
        (fill(D.vocab * D.dim), fill(D.seq * D.dim))
    }

    fn run(ids: &[u32], dh: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let (mut demb, mut dpos) = on_entry();
        backward(ids, dh, D, &mut demb, &mut dpos).unwrap();
        (demb, dpos)
    }

    /// Every element is its value on entry plus its rows of dh added one by one in row order
    /// (a plain loop over the rows), bit for bit, whatever the number of threads; the columns
    /// past cols keep their values.
    #[test]
    fn gradients_sum_their_rows_in_row_order_on_any_number_of_threads() {
        let mut rng = Rng::new(41);
        let ids: Vec<u32> = (0..D.batch * D.seq)
            .map(|_| rng.below(D.vocab as u64) as u32)
            .collect();
        let dh: Vec<f32> = (0..ids.len() * D.cols)
            .map(|_| rng.normal() as f32)
            .collect();
        let (one, three) = on_1_and_3_threads(|| run(&ids, &dh));
        assert!(one == three, "1 and 3 threads give different bits");
        let (mut demb, mut dpos) = on_entry();
        for (r, (g, &t)) in dh.chunks_exact(D.cols).zip(&ids).enumerate() {
            for (c, &v) in g.iter().enumerate() {
                demb[t as usize * D.dim + c] += v;
                dpos[(r % D.seq) * D.dim + c] += v;
            }
        }
        assert!(one == (demb, dpos), "not the plain loop's sums");
    }
}
