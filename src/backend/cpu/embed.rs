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
    // The contract says ids are validated by the caller; a bad one here is still an Err, not a
    // panic on an out-of-bounds slice.
    match ids.iter().find(|&&t| t as usize >= d.vocab) {
        Some(t) => Err(Error::input(format!(
            "{op}: token id {t} is outside the vocabulary [0, {})",
            d.vocab
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
    let (dim, cols) = (d.dim, d.cols);
    // Each gradient row sums its rows of dh in row order (deterministic, and the order a plain
    // loop over the rows would take), but the sums of different rows are independent: split
    // over rayon by destination row, with the rows of each token listed first (a counting
    // sort, stable, so each list is in row order).
    let (starts, rows) = rows_by_token(ids, d.vocab);
    // Into the leading cols of each gradient row; the rest is not touched.
    let add_rows = |acc: &mut [T], rows: &mut dyn Iterator<Item = usize>| {
        for r in rows {
            let g = &dh[r * cols..][..cols];
            acc.iter_mut().zip(g).for_each(|(a, &b)| *a = *a + b);
        }
    };
    rayon::join(
        || {
            demb.par_chunks_mut(dim)
                .zip(starts.par_windows(2))
                .with_min_len(ROWS_PER_TASK / 4)
                .for_each(|(de, w)| add_rows(de, &mut rows[w[0]..w[1]].iter().copied()))
        },
        || {
            dpos.par_chunks_mut(dim)
                .enumerate()
                .for_each(|(s, dp)| add_rows(dp, &mut (s..dh.len() / cols).step_by(d.seq)))
        },
    );
    Ok(())
}
