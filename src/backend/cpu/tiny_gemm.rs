//! Products of the tiny matrices inside one attention head (8 tokens × 8–32 columns in the
//! sweep): c = a·b or c += a·b with every element's sum over r taken from zero in order of r,
//! no FMA. The matrices lie inside larger buffers, so each comes with its row stride.
//!
//! Each element's arithmetic is fixed, so register blocking only changes which elements are
//! computed together: tiles of 4 rows × 2 groups of `L` lanes keep eight independent sums in
//! flight (one running sum at a time would wait on each add's latency), then smaller tiles and
//! scalar lanes take the edges. `gemm_nt` (c = a·bᵀ, both read along the sum) is the exception
//! to the in-order sums: its elements are summed in lanes, in a fixed order of their own.
//!
//! Bounds are checked once per product (`Rows::check`), not per load: in the innermost loop the
//! checks took as many instructions as the arithmetic (BENCHMARKS.md, 2026-12-04 second part).

use crate::backend::Scalar;

/// Lanes per group (one AVX2 register of f32). `tile_nt`'s join of the lane sums is written
/// for 8.
pub(super) const L: usize = 8;
const _: () = assert!(L == 8);

/// A matrix inside a buffer: element (i, j) at `data[i·stride + j·step]`.
#[derive(Clone, Copy)]
pub(super) struct Mat<'a, T> {
    pub data: &'a [T],
    pub stride: usize,
    pub step: usize,
}

impl<'a, T> Mat<'a, T> {
    /// Rows `stride` apart, columns contiguous.
    pub fn new(data: &'a [T], stride: usize) -> Self {
        Mat {
            data,
            stride,
            step: 1,
        }
    }

    /// The transpose of `Mat::new(data, stride)`: element (i, j) at `data[j·stride + i]`.
    pub fn transposed(data: &'a [T], stride: usize) -> Self {
        Mat {
            data,
            stride: 1,
            step: stride,
        }
    }

    /// The length a buffer needs to hold (rows, cols) of this view.
    fn extent(&self, rows: usize, cols: usize) -> usize {
        match (rows, cols) {
            (0, _) | (_, 0) => 0,
            _ => (rows - 1) * self.stride + (cols - 1) * self.step + 1,
        }
    }
}

/// Where b's rows come from: a matrix, rows picked from a buffer, or sums of two picked rows.
pub(super) trait Rows<T>: Copy {
    /// Panics unless rows 0..k, columns 0..n lie inside the buffers.
    fn check(&self, k: usize, n: usize);
    /// Row r, columns j0..j0 + W, read without bounds checks (in the innermost loop they cost
    /// as many instructions as the arithmetic).
    ///
    /// # Safety
    /// `check(k, n)` passed for some k > r and n ≥ j0 + W.
    unsafe fn lanes<const W: usize>(&self, r: usize, j0: usize) -> [T; W];
    /// Row r, column j.
    fn at(&self, r: usize, j: usize) -> T;
    /// Asks the cache for row r's elements from column j on, where it is a picked row (a
    /// matrix's rows are read in order and the hardware prefetches them).
    #[inline(always)]
    fn prefetch(&self, _r: usize, _j: usize) {}
}

/// data[i..i + W] as an array, read without a bounds check.
///
/// # Safety
/// i + W ≤ data.len().
#[inline(always)]
unsafe fn row_lanes<T: Copy, const W: usize>(data: &[T], i: usize) -> [T; W] {
    debug_assert!(i + W <= data.len());
    // SAFETY: the caller keeps i + W inside data; [T; W] has T's alignment.
    unsafe { data.as_ptr().add(i).cast::<[T; W]>().read() }
}

/// Asks for the cache line holding data[i] into L1, if i is inside data (a hint: never faults,
/// never changes a value).
#[inline(always)]
fn prefetch_at<T>(data: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if i < data.len() {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: i is inside data; a prefetch reads nothing into the program.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(data.as_ptr().add(i).cast::<i8>()) };
    }
}

/// b as a matrix: its columns must be contiguous (step 1), as its rows are loaded as vectors.
impl<T: Scalar> Rows<T> for Mat<'_, T> {
    fn check(&self, k: usize, n: usize) {
        assert!(self.step == 1 && self.data.len() >= self.extent(k, n));
    }
    #[inline(always)]
    unsafe fn lanes<const W: usize>(&self, r: usize, j0: usize) -> [T; W] {
        // SAFETY: check(k, n) put the row's columns 0..n inside data, and j0 + W ≤ n.
        unsafe { row_lanes(self.data, r * self.stride + j0) }
    }
    #[inline(always)]
    fn at(&self, r: usize, j: usize) -> T {
        self.data[r * self.stride + j]
    }
}

/// Row r of b = data[offsets[r]..] (rows of another matrix, in any order, repeats allowed).
#[derive(Clone, Copy)]
pub(super) struct Gathered<'a, T> {
    pub data: &'a [T],
    pub offsets: &'a [usize],
}

impl<T: Scalar> Rows<T> for Gathered<'_, T> {
    fn check(&self, k: usize, n: usize) {
        assert!(self.offsets.len() >= k);
        assert!(self.offsets[..k].iter().all(|&o| o + n <= self.data.len()));
    }
    #[inline(always)]
    unsafe fn lanes<const W: usize>(&self, r: usize, j0: usize) -> [T; W] {
        // SAFETY: check(k, n) put offsets[r] + n inside data (r < k), and j0 + W ≤ n.
        unsafe { row_lanes(self.data, *self.offsets.get_unchecked(r) + j0) }
    }
    #[inline(always)]
    fn at(&self, r: usize, j: usize) -> T {
        self.data[self.offsets[r] + j]
    }
    #[inline(always)]
    fn prefetch(&self, r: usize, j: usize) {
        prefetch_at(self.data, self.offsets[r] + j);
    }
}

/// Row r of b = e[offsets[r].0..] + p[offsets[r].1..]: sums of two picked rows, made as they
/// are loaded (the sum is never stored).
#[derive(Clone, Copy)]
pub(super) struct GatheredSum<'a, T> {
    pub e: &'a [T],
    pub p: &'a [T],
    pub offsets: &'a [(usize, usize)],
}

impl<T: Scalar> Rows<T> for GatheredSum<'_, T> {
    fn check(&self, k: usize, n: usize) {
        assert!(self.offsets.len() >= k);
        let inside = |&(oe, op): &(usize, usize)| oe + n <= self.e.len() && op + n <= self.p.len();
        assert!(self.offsets[..k].iter().all(inside));
    }
    #[inline(always)]
    unsafe fn lanes<const W: usize>(&self, r: usize, j0: usize) -> [T; W] {
        // SAFETY: check(k, n) put both rows' columns 0..n inside e and p (r < k), j0 + W ≤ n.
        let (oe, op) = unsafe { *self.offsets.get_unchecked(r) };
        let e: [T; W] = unsafe { row_lanes(self.e, oe + j0) };
        let p: [T; W] = unsafe { row_lanes(self.p, op + j0) };
        std::array::from_fn(|l| e[l] + p[l])
    }
    #[inline(always)]
    fn at(&self, r: usize, j: usize) -> T {
        let (oe, op) = self.offsets[r];
        self.e[oe + j] + self.p[op + j]
    }
    #[inline(always)]
    fn prefetch(&self, r: usize, j: usize) {
        let (oe, op) = self.offsets[r];
        prefetch_at(self.e, oe + j);
        prefetch_at(self.p, op + j);
    }
}

/// How far ahead of a column tile its rows' next pieces are prefetched.
const PREFETCH_COLS: usize = 4 * L;

/// c (m, n) = a (m, k) · b (k, n), or c += a·b when `add`; c's rows lie `c_stride` apart.
#[inline(always)]
pub(super) fn gemm<T: Scalar, B: Rows<T>>(
    (m, n, k): (usize, usize, usize),
    a: Mat<'_, T>,
    b: B,
    c: &mut [T],
    c_stride: usize,
    add: bool,
) {
    b.check(k, n);
    assert!(a.data.len() >= a.extent(m, k) && c.len() >= Mat::new(&*c, c_stride).extent(m, n));
    let (full, m4) = (n / L * L, m / 4 * 4);
    // Column tiles outside, row tiles inside: the column tile's pieces of b's rows, read by the
    // first row tile, are still in the first-level cache for the others (b can be tens of KiB
    // of rows picked from a larger table).
    let mut j0 = 0;
    while j0 + 2 * L <= full {
        for r in 0..k {
            b.prefetch(r, j0 + PREFETCH_COLS);
        }
        for i0 in (0..m4).step_by(4) {
            tile::<T, B, 4, { 2 * L }>((i0, j0, k), a, b, c, c_stride, add);
        }
        j0 += 2 * L;
    }
    if j0 < full {
        for i0 in (0..m4).step_by(4) {
            tile::<T, B, 4, L>((i0, j0, k), a, b, c, c_stride, add);
        }
    }
    // Single rows take four lane groups at a time: four sums in flight instead of one.
    for i in m4..m {
        let mut j0 = 0;
        while j0 + 4 * L <= full {
            tile::<T, B, 1, { 4 * L }>((i, j0, k), a, b, c, c_stride, add);
            j0 += 4 * L;
        }
        while j0 < full {
            tile::<T, B, 1, L>((i, j0, k), a, b, c, c_stride, add);
            j0 += L;
        }
    }
    for i in 0..m {
        for j in full..n {
            let sum = (0..k).fold(T::zero(), |s, r| {
                s + a.data[i * a.stride + r * a.step] * b.at(r, j)
            });
            let o = &mut c[i * c_stride + j];
            *o = if add { *o + sum } else { sum };
        }
    }
}

/// `gemm` compiled on its own, for AVX2 where `avx2` (the caller checked the CPU) and plain
/// otherwise: the same bits either way (no FMA). Inlined into a large loop body, LLVM can fail
/// to keep a tile's sums in registers (seen: the 4 × 16 tile done in scalar loads and stores
/// through the stack, 3× slower); a call of its own keeps the tile loop small.
#[inline(never)]
pub(super) fn gemm_apart<T: Scalar, B: Rows<T>>(
    dims: (usize, usize, usize),
    a: Mat<'_, T>,
    b: B,
    c: &mut [T],
    c_stride: usize,
    (add, avx2): (bool, bool),
) {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: the caller checked that the CPU has AVX2.
        return unsafe { gemm_avx2(dims, a, b, c, c_stride, add) };
    }
    let _ = avx2;
    gemm(dims, a, b, c, c_stride, add)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gemm_avx2<T: Scalar, B: Rows<T>>(
    dims: (usize, usize, usize),
    a: Mat<'_, T>,
    b: B,
    c: &mut [T],
    c_stride: usize,
    add: bool,
) {
    gemm(dims, a, b, c, c_stride, add)
}

/// c (m, n) = a (m, k) · bᵀ where b (n, k) is given by its rows: c[i, j] = Σ_r a[i, r]·b[j, r],
/// both operands read along r (no transposed copy of b). a's columns must be contiguous.
///
/// The sum runs in `L` lane sums instead of in order of r: lane l adds the terms r ≡ l (mod L)
/// in order, from zero; the lanes are joined by a fixed tree, then the last k mod L terms are
/// added in order. Each element's arithmetic is still fixed (the same bits in every build and
/// tile), but it is not `gemm`'s in-order sum.
#[inline(always)]
pub(super) fn gemm_nt<T: Scalar, B: Rows<T>>(
    (m, n, k): (usize, usize, usize),
    a: Mat<'_, T>,
    b: B,
    c: &mut [T],
    c_stride: usize,
) {
    b.check(n, k);
    assert!(a.step == 1 && a.data.len() >= a.extent(m, k));
    assert!(c.len() >= Mat::new(&*c, c_stride).extent(m, n));
    let (m4, n2) = (m / 4 * 4, n / 2 * 2);
    // b's rows outside, a's inside: a pair of b's rows (picked from a large table) is read
    // from memory once, then from the first-level cache for every row tile of a. (At the
    // sweep's 8 rows of a, the other order measured the same.)
    for j0 in (0..n2).step_by(2) {
        for i0 in (0..m4).step_by(4) {
            tile_nt::<T, B, 4, 2>((i0, j0, k), a, b, c, c_stride);
        }
        for i in m4..m {
            tile_nt::<T, B, 1, 2>((i, j0, k), a, b, c, c_stride);
        }
    }
    if n2 < n {
        for i0 in (0..m4).step_by(4) {
            tile_nt::<T, B, 4, 1>((i0, n2, k), a, b, c, c_stride);
        }
        for i in m4..m {
            tile_nt::<T, B, 1, 1>((i, n2, k), a, b, c, c_stride);
        }
    }
}

/// `gemm_nt` compiled on its own, for AVX2 where `avx2` (see `gemm_apart`).
#[inline(never)]
pub(super) fn gemm_nt_apart<T: Scalar, B: Rows<T>>(
    dims: (usize, usize, usize),
    a: Mat<'_, T>,
    b: B,
    c: &mut [T],
    (c_stride, avx2): (usize, bool),
) {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: the caller checked that the CPU has AVX2.
        return unsafe { gemm_nt_avx2(dims, a, b, c, c_stride) };
    }
    let _ = avx2;
    gemm_nt(dims, a, b, c, c_stride)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gemm_nt_avx2<T: Scalar, B: Rows<T>>(
    dims: (usize, usize, usize),
    a: Mat<'_, T>,
    b: B,
    c: &mut [T],
    c_stride: usize,
) {
    gemm_nt(dims, a, b, c, c_stride)
}

/// The MI × NJ block of `gemm_nt`'s c at row i0, column j0: MI·NJ lane sums in flight.
#[inline(always)]
fn tile_nt<T: Scalar, B: Rows<T>, const MI: usize, const NJ: usize>(
    (i0, j0, k): (usize, usize, usize),
    a: Mat<'_, T>,
    b: B,
    c: &mut [T],
    c_stride: usize,
) {
    let full = k / L * L;
    let mut acc = [[[T::zero(); L]; NJ]; MI];
    for r0 in (0..full).step_by(L) {
        // SAFETY: `gemm_nt` ran b.check(n, k): rows j0 + jj < n, columns r0 + L ≤ k.
        let bl: [[T; L]; NJ] = std::array::from_fn(|jj| unsafe { b.lanes(j0 + jj, r0) });
        for (ii, acc_i) in acc.iter_mut().enumerate() {
            // SAFETY: a holds the extent of m rows and k columns, step 1: i0 + ii < m,
            // r0 + L ≤ k.
            let al: [T; L] = unsafe { row_lanes(a.data, (i0 + ii) * a.stride + r0) };
            for (acc_ij, bl_j) in acc_i.iter_mut().zip(&bl) {
                for l in 0..L {
                    acc_ij[l] = acc_ij[l] + al[l] * bl_j[l];
                }
            }
        }
    }
    for (ii, acc_i) in acc.iter().enumerate() {
        let a_i = &a.data[(i0 + ii) * a.stride..][..k];
        for (jj, v) in acc_i.iter().enumerate() {
            let tree = ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
            let sum = (full..k).fold(tree, |s, r| s + a_i[r] * b.at(j0 + jj, r));
            c[(i0 + ii) * c_stride + j0 + jj] = sum;
        }
    }
}

/// The MI × W block of c at row i0, column j0 (W a multiple of L). The block's rows of b are
/// taken as fixed-length arrays, so that the lane loop vectorises.
#[inline(always)]
fn tile<T: Scalar, B: Rows<T>, const MI: usize, const W: usize>(
    (i0, j0, k): (usize, usize, usize),
    a: Mat<'_, T>,
    b: B,
    c: &mut [T],
    c_stride: usize,
    add: bool,
) {
    let a_rows = &a.data[i0 * a.stride..][..a.extent(MI, k)];
    let mut acc = [[T::zero(); W]; MI];
    for r in 0..k {
        // SAFETY: `gemm` ran b.check(k, n) and asks for r < k, j0 + W ≤ n.
        let row: [T; W] = unsafe { b.lanes(r, j0) };
        for (ii, acc_i) in acc.iter_mut().enumerate() {
            debug_assert!(ii * a.stride + r * a.step < a_rows.len());
            // SAFETY: a_rows holds the extent of MI rows and k columns: ii < MI, r < k.
            let w = unsafe { *a_rows.get_unchecked(ii * a.stride + r * a.step) };
            for l in 0..W {
                acc_i[l] = acc_i[l] + w * row[l];
            }
        }
    }
    for (ii, acc_i) in acc.iter().enumerate() {
        let out = &mut c[(i0 + ii) * c_stride + j0..][..W];
        if add {
            out.iter_mut().zip(acc_i).for_each(|(o, &v)| *o = *o + v);
        } else {
            out.copy_from_slice(acc_i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tile_shape_and_edge_gives_the_ordered_sums() {
        // Shapes that take the 4×2, 4×1 and 1×1 tiles and the scalar lanes, on strided
        // operands; each element must equal its sum taken in order, bit for bit.
        for (m, n, k) in [(8, 32, 8), (8, 8, 32), (5, 13, 5), (3, 7, 2), (9, 24, 11)] {
            let (sa, sb, sc) = (k + 3, n + 5, n + 2);
            let a: Vec<f32> = (0..m * sa)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
                .collect();
            let b: Vec<f32> = (0..k * sb)
                .map(|i| ((i * 53 % 89) as f32 - 44.0) / 3.0)
                .collect();
            let c0: Vec<f32> = (0..m * sc).map(|i| i as f32 * 0.25).collect();
            for add in [false, true] {
                let mut c = c0.clone();
                gemm(
                    (m, n, k),
                    Mat::new(&a, sa),
                    Mat::new(&b, sb),
                    &mut c,
                    sc,
                    add,
                );
                // The same product with a stored transposed.
                let a_t: Vec<f32> = (0..k * m).map(|x| a[(x % m) * sa + x / m]).collect();
                let mut c_t = c0.clone();
                gemm(
                    (m, n, k),
                    Mat::transposed(&a_t, m),
                    Mat::new(&b, sb),
                    &mut c_t,
                    sc,
                    add,
                );
                assert_eq!(c, c_t, "({m}, {n}, {k}) add={add}: a transposed");
                for i in 0..m {
                    for j in 0..sc {
                        let got = c[i * sc + j];
                        if j >= n {
                            assert_eq!(got, c0[i * sc + j], "padding ({i}, {j}) touched");
                            continue;
                        }
                        let sum = (0..k).fold(0.0f32, |s, r| s + a[i * sa + r] * b[r * sb + j]);
                        let want = if add { c0[i * sc + j] + sum } else { sum };
                        assert_eq!(got, want, "({m}, {n}, {k}) add={add} at ({i}, {j})");
                    }
                }
            }
        }
    }

    #[test]
    fn nt_products_give_the_stated_lane_order_in_every_tile_and_build() {
        // Shapes that take the 4×2, 4×1, 1×2 and 1×1 tiles, k with and without a tail; b's
        // rows as sums of two picked rows (repeats allowed), as attention_out uses it. Each
        // element must equal its sum taken in the documented order, bit for bit, in the plain
        // and the AVX2 builds.
        for (m, n, k) in [(8, 64, 256), (5, 3, 19), (4, 2, 8), (1, 1, 3), (9, 5, 40)] {
            let sa = k + 3;
            let a: Vec<f32> = (0..m * sa)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
                .collect();
            let e: Vec<f32> = (0..6 * k)
                .map(|i| ((i * 53 % 89) as f32 - 44.0) / 3.0)
                .collect();
            let p: Vec<f32> = (0..2 * k).map(|i| ((i * 29 % 61) as f32) / 5.0).collect();
            let offsets: Vec<(usize, usize)> = (0..n).map(|j| (j * 7 % 6 * k, j % 2 * k)).collect();
            let b = GatheredSum {
                e: &e,
                p: &p,
                offsets: &offsets,
            };
            let sc = n + 1;
            let mut c = vec![-1.0f32; m * sc];
            gemm_nt((m, n, k), Mat::new(&a, sa), b, &mut c, sc);
            let mut c_apart = vec![-1.0f32; m * sc];
            let avx2 = super::super::attention::has_avx2();
            gemm_nt_apart((m, n, k), Mat::new(&a, sa), b, &mut c_apart, (sc, avx2));
            assert_eq!(c, c_apart, "({m}, {n}, {k}): the AVX2 build differs");
            for i in 0..m {
                for j in 0..sc {
                    let got = c[i * sc + j];
                    if j >= n {
                        assert_eq!(got, -1.0, "padding ({i}, {j}) touched");
                        continue;
                    }
                    let (oe, op) = offsets[j];
                    let term = |r: usize| a[i * sa + r] * (e[oe + r] + p[op + r]);
                    let full = k / 8 * 8;
                    let lane = |l: usize| (l..full).step_by(8).fold(0.0f32, |s, r| s + term(r));
                    let v: Vec<f32> = (0..8).map(lane).collect();
                    let tree = ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
                    let want = (full..k).fold(tree, |s, r| s + term(r));
                    assert_eq!(got, want, "({m}, {n}, {k}) at ({i}, {j})");
                }
            }
        }
    }
}
