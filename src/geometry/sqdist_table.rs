//! The squared distances of every pair of the first P rows of a matrix, computed once, for
//! volume batches that reuse pairs: with S samples from a pool of P rows, the direct path
//! computes 10·S distances and the table P(P−1)/2 (`cayley_menger` chooses by that count).
//!
//! Lower-triangular layout: the distance of rows i < j is at j(j−1)/2 + i (P = 512: 130 816
//! values, 1 MB in f64 — inside a core's L2, so the random lookups of the samples stay cheap).
//! Each entry is computed by `distance::sqdists_to`, the same operations as the direct path's
//! `sqdists5`, so a volume from the table has the same bits as one computed directly.

use rayon::prelude::*;

use super::distance::sqdists_to;
use super::kernel::{dispatch, Kernel, LaneJob};
use super::simd::Vector;
use crate::backend::Scalar;

/// Table entries per rayon task (about 8192·D/8 vector FMAs: enough to hide the task overhead,
/// ~16 tasks at P = 512 so that both threads stay busy).
const TASK: usize = 8192;

pub(crate) struct SqdistTable<T> {
    tri: Vec<T>,
}

impl<T: Scalar> SqdistTable<T> {
    /// The table of the first `pool` rows of `matrix` (rows of `cols` values, at least `pool`
    /// of them), computed on `kernel` (available) in parallel blocks of rows.
    pub(crate) fn build(kernel: Kernel, matrix: &[T], cols: usize, pool: usize) -> Self {
        let mut tri = vec![T::zero(); pool * pool.saturating_sub(1) / 2];
        // Blocks of consecutive rows j (row j holds j entries) with about TASK entries each.
        let mut blocks = Vec::new();
        let (mut rest, mut first) = (&mut tri[..], 1);
        while first < pool {
            let (mut end, mut len) = (first, 0);
            while end < pool && len < TASK {
                len += end;
                end += 1;
            }
            let (block, tail) = rest.split_at_mut(len);
            blocks.push(TableRows {
                matrix,
                cols,
                first,
                out: block,
            });
            rest = tail;
            first = end;
        }
        blocks
            .into_par_iter()
            .for_each(|job| dispatch::<T, _>(kernel, job));
        SqdistTable { tri }
    }

    /// The entries: rows a ≠ b at hi·(hi − 1)/2 + lo, lo and hi the smaller and larger.
    pub(crate) fn entries(&self) -> &[T] {
        &self.tri
    }
}

/// Rows first, first+1, … of the table: row j holds the distances of row j to rows 0..j.
struct TableRows<'a, T> {
    matrix: &'a [T],
    cols: usize,
    first: usize,
    out: &'a mut [T],
}

impl<T: Scalar> LaneJob<T> for TableRows<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run<V: Vector<T>>(self) {
        let (m, cols) = (self.matrix, self.cols);
        let mut rest = self.out;
        let mut j = self.first;
        while !rest.is_empty() {
            let (row, tail) = rest.split_at_mut(j);
            sqdists_to::<T, V::Acc>(&m[j * cols..(j + 1) * cols], &m[..j * cols], row);
            rest = tail;
            j += 1;
        }
    }
}
