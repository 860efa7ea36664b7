//! Squared volumes of 4-simplices (5 points in D dimensions) by the Cayley–Menger determinant:
//!
//! ```text
//!        | 0  1    1    1    1    1   |
//!        | 1  0    d²01 d²02 d²03 d²04 |
//! CM  =  | 1  d²01 0    d²12 d²13 d²14 |        vol² = −det(CM) / 9216   (9216 = 2⁴·(4!)²)
//!        | 1  d²02 d²12 0    d²23 d²24 |
//!        | 1  d²03 d²13 d²23 0    d²34 |
//!        | 1  d²04 d²14 d²24 d²34 0    |
//! ```
//!
//! Squared distances are direct differences, `Σ_c (p_i[c] − p_j[c])²` (`distance`): the
//! Gram form |a|² + |b|² − 2a·b loses digits when points sit far from the origin. The 6×6
//! determinants go through the same pivoted lane kernel as `det6_batch`, one simplex per lane,
//! so f32 and f64 and every kernel give the same bits (`kernel`).
//!
//! Accuracy (`../../docs/geometry.md`): the absolute error of vol² is about c·u·H, where u is
//! the unit roundoff of T and H = ∏ₖ |pₖ − p₀|² / 576 (Hadamard's bound on vol²).

use rayon::prelude::*;

use super::acc8::Acc8;
use super::distance::{sqdists5, PAIRS};
use super::kernel::{det6_block_after_first, dispatch, Kernel, LaneJob};
use super::simd::Vector;
use super::sqdist_table::SqdistTable;
use super::tuples;
use crate::backend::Scalar;
use crate::error::{Error, Result};

/// Simplices per rayon task.
const CHUNK: usize = 1024;

/// The largest pool (rows 0..P spanned by the indices) for which `vol2_fused` builds a
/// distance table: P(P−1)/2 entries, 16.8 MB of f64 at P = 2048 (inside the L3; larger
/// tables would send the samples' random lookups to memory).
pub const TABLE_MAX_ROWS: usize = 2048;

/// How `vol2_fused_via` gets the squared distances; every path gives the same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FusedPath {
    /// The table when it computes fewer distances: 10·samples > P(P−1)/2 and
    /// P ≤ [`TABLE_MAX_ROWS`], P = the largest index + 1; else direct.
    Auto,
    /// 10 distances per sample from the rows (`distance::sqdists5`).
    Direct,
    /// A table of all P(P−1)/2 distances of rows 0..P, then 10 lookups per sample.
    Table,
}

/// vol² of B simplices given as points (B, 5, D) → `out` (B).
pub fn vol2_from_points<T: Scalar>(
    points: &[T],
    batch: usize,
    dim: usize,
    out: &mut [T],
) -> Result<()> {
    vol2_from_points_with(Kernel::detect(), points, batch, dim, out)
}

/// `vol2_from_points` on a chosen kernel (bit-identical results on every kernel).
pub fn vol2_from_points_with<T: Scalar>(
    kernel: Kernel,
    points: &[T],
    batch: usize,
    dim: usize,
    out: &mut [T],
) -> Result<()> {
    let expected = batch.checked_mul(5).and_then(|n| n.checked_mul(dim));
    if expected != Some(points.len()) {
        return Err(Error::input(format!(
            "vol2_from_points: {} values, expected batch·5·dim = {batch}·5·{dim}",
            points.len()
        )));
    }
    check_out("vol2_from_points", out.len(), batch)?;
    check_finite("vol2_from_points: points", points, dim.max(1))?;
    check_kernel(kernel)?;
    run(kernel, &Points { points, dim }, out);
    Ok(())
}

/// vol² of the simplices whose vertices are rows of `matrix` (rows, cols), row-major:
/// `out[s]` is the vol² of rows `idx[s][0..5]`, without gathering the points.
/// Every index must be < rows and the 5 indices of a tuple distinct.
pub fn vol2_fused<T: Scalar>(
    matrix: &[T],
    rows: usize,
    cols: usize,
    idx: &[[u32; 5]],
    out: &mut [T],
) -> Result<()> {
    vol2_fused_with(Kernel::detect(), matrix, rows, cols, idx, out)
}

/// `vol2_fused` on a chosen kernel (bit-identical results on every kernel).
pub fn vol2_fused_with<T: Scalar>(
    kernel: Kernel,
    matrix: &[T],
    rows: usize,
    cols: usize,
    idx: &[[u32; 5]],
    out: &mut [T],
) -> Result<()> {
    vol2_fused_via(kernel, FusedPath::Auto, matrix, rows, cols, idx, out)
}

/// `vol2_fused` on a chosen kernel and distance path (for tests and benchmarks; bit-identical
/// results on every kernel and path). Err for `FusedPath::Table` when the indices span more
/// than [`TABLE_MAX_ROWS`] rows.
pub fn vol2_fused_via<T: Scalar>(
    kernel: Kernel,
    path: FusedPath,
    matrix: &[T],
    rows: usize,
    cols: usize,
    idx: &[[u32; 5]],
    out: &mut [T],
) -> Result<()> {
    if rows.checked_mul(cols) != Some(matrix.len()) {
        return Err(Error::input(format!(
            "vol2_fused: matrix holds {} values, expected rows·cols = {rows}·{cols}",
            matrix.len()
        )));
    }
    check_out("vol2_fused", out.len(), idx.len())?;
    let span = tuples::check(idx, rows)?;
    check_finite("vol2_fused: matrix", matrix, cols.max(1))?;
    check_kernel(kernel)?;
    let table = match path {
        FusedPath::Auto => auto_uses_table(span, idx.len()),
        FusedPath::Direct => false,
        FusedPath::Table if span <= TABLE_MAX_ROWS => true,
        FusedPath::Table => {
            return Err(Error::input(format!(
                "vol2_fused: the indices span {span} rows, more than the distance table's \
                 {TABLE_MAX_ROWS}; use FusedPath::Direct or Auto"
            )))
        }
    };
    if table {
        let table = SqdistTable::build(kernel, matrix, cols, span);
        run(kernel, &Looked { table: &table, idx }, out);
    } else {
        run(kernel, &Rows { matrix, cols, idx }, out);
    }
    Ok(())
}

/// Whether `FusedPath::Auto` builds the distance table for `samples` tuples spanning `span`
/// rows: when it computes fewer distances (10·samples > span(span−1)/2) and fits
/// (span ≤ [`TABLE_MAX_ROWS`]).
pub fn auto_uses_table(span: usize, samples: usize) -> bool {
    span <= TABLE_MAX_ROWS && 10 * samples > span * span.saturating_sub(1) / 2
}

fn check_out(what: &str, got: usize, expected: usize) -> Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(Error::input(format!(
            "{what}: output holds {got} values, expected {expected} (one per simplex)"
        )))
    }
}

/// Err naming the first non-finite value (as row, column of `width`-long rows).
fn check_finite<T: Scalar>(what: &str, xs: &[T], width: usize) -> Result<()> {
    match xs.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::input(format!(
            "{what}: value at row {}, column {} is {}; volumes need finite coordinates",
            i / width,
            i % width,
            xs[i]
        ))),
    }
}

fn check_kernel(kernel: Kernel) -> Result<()> {
    if kernel.is_available() {
        Ok(())
    } else {
        Err(Error::input(format!(
            "Cayley–Menger volumes: this CPU cannot run the {kernel} kernel; available: {:?}",
            Kernel::available()
        )))
    }
}

/// Where the squared distances of a stage of simplices come from.
trait Simplices<T: Scalar>: Sync {
    /// The 10 squared distances (in `PAIRS` order) of simplices first..first+n (n ≤ `STAGE`)
    /// into `d2`, lane-major: d2[(g·10 + p)·LANES + l] for pair p of simplex g·LANES + l.
    /// Lanes past n in the last group hold finite values of no simplex (not written out).
    fn stage<V: Vector<T>>(&self, first: usize, n: usize, d2: &mut [T]);
}

/// Sources that compute the distances of each simplex on its own (accumulator A).
trait PerSimplex<T: Scalar>: Sync {
    fn sqdists<A: Acc8<T>>(&self, s: usize) -> [T; 10];
}

/// `Simplices::stage` for a `PerSimplex` source: one simplex after another.
#[inline(always)]
fn stage_each<T: Scalar, V: Vector<T>, S: PerSimplex<T>>(
    src: &S,
    first: usize,
    n: usize,
    d2: &mut [T],
) {
    let lanes = V::LANES;
    for i in 0..n {
        let d = src.sqdists::<V::Acc>(first + i);
        let at = (i / lanes * 10) * lanes + i % lanes;
        for (p, v) in d.into_iter().enumerate() {
            d2[at + p * lanes] = v;
        }
    }
}

/// (B, 5, D) gathered points.
struct Points<'a, T> {
    points: &'a [T],
    dim: usize,
}

impl<T: Scalar> PerSimplex<T> for Points<'_, T> {
    #[inline(always)]
    fn sqdists<A: Acc8<T>>(&self, s: usize) -> [T; 10] {
        let p = &self.points[5 * s * self.dim..5 * (s + 1) * self.dim];
        let d = self.dim;
        sqdists5::<T, A>([
            &p[..d],
            &p[d..2 * d],
            &p[2 * d..3 * d],
            &p[3 * d..4 * d],
            &p[4 * d..],
        ])
    }
}

impl<T: Scalar> Simplices<T> for Points<'_, T> {
    #[inline(always)]
    fn stage<V: Vector<T>>(&self, first: usize, n: usize, d2: &mut [T]) {
        stage_each::<T, V, _>(self, first, n, d2)
    }
}

/// Rows of a (rows, cols) matrix picked by validated index tuples.
struct Rows<'a, T> {
    matrix: &'a [T],
    cols: usize,
    idx: &'a [[u32; 5]],
}

impl<T: Scalar> PerSimplex<T> for Rows<'_, T> {
    #[inline(always)]
    fn sqdists<A: Acc8<T>>(&self, s: usize) -> [T; 10] {
        let t = &self.idx[s];
        let row = |i: usize| &self.matrix[t[i] as usize * self.cols..][..self.cols];
        sqdists5::<T, A>([row(0), row(1), row(2), row(3), row(4)])
    }
}

impl<T: Scalar> Simplices<T> for Rows<'_, T> {
    #[inline(always)]
    fn stage<V: Vector<T>>(&self, first: usize, n: usize, d2: &mut [T]) {
        stage_each::<T, V, _>(self, first, n, d2)
    }
}

/// Validated index tuples whose distances are looked up in a table of the rows they span.
struct Looked<'a, T> {
    table: &'a SqdistTable<T>,
    idx: &'a [[u32; 5]],
}

/// The most lanes of any kernel (AVX-512, f32).
const MAX_LANES: usize = 16;

impl<T: Scalar> Simplices<T> for Looked<'_, T> {
    /// Per group of LANES simplices: their indices transposed (rows[i·LANES + l] = index i of
    /// simplex l), then one vector gather per pair, the table index computed in the vector
    /// (`Vector::gather_tri`): the distances land in lanes directly, instead of 10 scalar index
    /// computations, loads and stores per simplex (measured ~40% of the time before).
    #[inline(always)]
    fn stage<V: Vector<T>>(&self, first: usize, n: usize, d2: &mut [T]) {
        let lanes = V::LANES;
        assert!(lanes <= MAX_LANES);
        let tri = self.table.entries();
        // Starts as the tuple (0, 1, 2, 3, 4) in every lane (valid: the table spans at least
        // the 5 rows of any tuple); lanes past n in the last group keep an earlier simplex's.
        let mut rows = [0u32; 5 * MAX_LANES];
        for i in 0..5 {
            rows[i * lanes..(i + 1) * lanes].fill(i as u32);
        }
        for g in 0..n.div_ceil(lanes) {
            let here = &self.idx[first + g * lanes..first + n.min((g + 1) * lanes)];
            for (l, t) in here.iter().enumerate() {
                for i in 0..5 {
                    rows[i * lanes + l] = t[i];
                }
            }
            for (p, &(i, j)) in PAIRS.iter().enumerate() {
                // SAFETY: rows[i·lanes..] and rows[j·lanes..] hold ≥ lanes values (5·16 in
                // all), and every lane holds two distinct indices of one validated tuple,
                // both < the table's row count, so the entry lies inside `tri`.
                let v = unsafe { V::gather_tri(tri, &rows[i * lanes..], &rows[j * lanes..]) };
                v.store(&mut d2[(g * 10 + p) * lanes..]);
            }
        }
    }
}

/// vol² of every simplex of `src` into `out` (one per simplex), in parallel chunks.
fn run<T: Scalar, S: Simplices<T>>(kernel: Kernel, src: &S, out: &mut [T]) {
    if out.len() <= CHUNK {
        dispatch::<T, _>(kernel, Vol2Chunk { src, first: 0, out });
    } else {
        out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, o)| {
            dispatch::<T, _>(
                kernel,
                Vol2Chunk {
                    src,
                    first: c * CHUNK,
                    out: o,
                },
            );
        });
    }
}

/// Simplices whose distances are staged at a time: 256·10 values, 20 KB of f64, in L1; a
/// multiple of every kernel's lane count.
const STAGE: usize = 256;

/// One thread's share: simplices first..first+out.len(), in stages of `STAGE`: the distances
/// of a whole stage first (the table's lookups, independent, then overlap their cache misses
/// instead of waiting behind each determinant), then the determinants, LANES at a time.
struct Vol2Chunk<'a, T, S> {
    src: &'a S,
    first: usize,
    out: &'a mut [T],
}

impl<T: Scalar, S: Simplices<T>> LaneJob<T> for Vol2Chunk<'_, T, S> {
    type Output = ();

    #[inline(always)]
    fn run<V: Vector<T>>(self) {
        let lanes = V::LANES;
        // d2[(g·10 + p)·LANES + l]: squared distance of pair p of the stage's simplex
        // g·LANES + l. Lanes past the end of a short last group keep earlier finite values (or
        // 1s) and are not written out.
        let mut d2 = [T::one(); 10 * STAGE];
        let mut vol2 = vec![T::zero(); lanes];
        for (b, stage) in self.out.chunks_mut(STAGE).enumerate() {
            self.src
                .stage::<V>(self.first + b * STAGE, stage.len(), &mut d2);
            for (g, o) in stage.chunks_mut(lanes).enumerate() {
                let mut d = [V::splat(T::zero()); 10];
                for (p, v) in d.iter_mut().enumerate() {
                    *v = V::load(&d2[(g * 10 + p) * lanes..]);
                }
                vol2_lanes(&d).store(&mut vol2);
                o.copy_from_slice(&vol2[..o.len()]);
            }
        }
    }
}

/// vol² = −det(CM)/9216 for LANES simplices from their squared distances (in `PAIRS` order).
///
/// Column 0 of every CM matrix is (0, 1, 1, 1, 1, 1), whatever the distances, so step 0 of
/// `det6_block` always does the same thing: swap rows 0 and 1 (the first 1 is the first
/// strictly larger magnitude; one swap, so `odd` in every lane), det ← 1·1, pivot 1, inverse
/// 1/1 = 1, multiplier 0·1 = 0 for row 1 (the former row 0) and 1·1 = 1 for rows 2..5. Here
/// those decisions are taken as known and only the step's arithmetic is done, with the same
/// operations (`neg_mul_add` with m = 0 and m = 1) on the same values: the same bits as the
/// full kernel, without step 0's pivot search, 60 selects and division.
#[inline(always)]
fn vol2_lanes<T: Scalar, V: Vector<T>>(d2: &[V; 10]) -> V {
    let zero = V::splat(T::zero());
    let one = V::splat(T::one());
    // The CM matrix, rows 1..5 (row 0 is (0, 1, 1, 1, 1, 1)).
    let mut cm = [zero; 36];
    for k in 1..6 {
        cm[6 * k] = one;
    }
    for (p, &(i, j)) in PAIRS.iter().enumerate() {
        cm[6 * (i + 1) + j + 1] = d2[p];
        cm[6 * (j + 1) + i + 1] = d2[p];
    }
    // After step 0: row 0 = the pivot row (CM row 1, not read again), row 1 = CM row 0
    // − 0·pivot row, rows r ≥ 2 = CM row r − 1·pivot row (columns 1..5; column 0 is not read
    // again either).
    let mut a = [zero; 36];
    for c in 1..6 {
        let pivot = cm[6 + c];
        a[6 + c] = zero.neg_mul_add(pivot, one);
        for r in 2..6 {
            a[6 * r + c] = one.neg_mul_add(pivot, cm[6 * r + c]);
        }
    }
    let all = one.gt(zero);
    let det = det6_block_after_first::<T, V>(&mut a, one, all);
    det.div(V::splat(<T as Scalar>::from_f64(9216.0))).neg()
}
