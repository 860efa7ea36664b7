//! Products of the tiny matrices inside one attention head (8 tokens × 8–32 columns in the
//! sweep): c = a·b or c += a·b with every element's sum over r taken from zero in order of r,
//! no FMA. The matrices lie inside larger buffers, so each comes with its row stride.
//!
//! Each element's arithmetic is fixed, so register blocking only changes which elements are
//! computed together: tiles of 4 rows × 2 groups of `L` lanes keep eight independent sums in
//! flight (one running sum at a time would wait on each add's latency), then smaller tiles and
//! scalar lanes take the edges.

use crate::backend::Scalar;

/// Lanes per group (one AVX2 register of f32).
pub(super) const L: usize = 8;

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
    /// Row r, columns j0..j0 + W.
    fn lanes<const W: usize>(&self, r: usize, j0: usize) -> [T; W];
    /// Row r, column j.
    fn at(&self, r: usize, j: usize) -> T;
}

/// b as a matrix: its columns must be contiguous (step 1), as its rows are loaded as vectors.
impl<T: Scalar> Rows<T> for Mat<'_, T> {
    fn check(&self, k: usize, n: usize) {
        assert!(self.step == 1 && self.data.len() >= self.extent(k, n));
    }
    #[inline(always)]
    fn lanes<const W: usize>(&self, r: usize, j0: usize) -> [T; W] {
        let row: &[T; W] = self.data[r * self.stride + j0..][..W]
            .try_into()
            .expect("a slice of W elements");
        *row
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
    fn lanes<const W: usize>(&self, r: usize, j0: usize) -> [T; W] {
        Mat::new(&self.data[self.offsets[r]..], 0).lanes(0, j0)
    }
    #[inline(always)]
    fn at(&self, r: usize, j: usize) -> T {
        self.data[self.offsets[r] + j]
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
    fn lanes<const W: usize>(&self, r: usize, j0: usize) -> [T; W] {
        let (oe, op) = self.offsets[r];
        let e: [T; W] = Mat::new(&self.e[oe..], 0).lanes(0, j0);
        let p: [T; W] = Mat::new(&self.p[op..], 0).lanes(0, j0);
        std::array::from_fn(|l| e[l] + p[l])
    }
    #[inline(always)]
    fn at(&self, r: usize, j: usize) -> T {
        let (oe, op) = self.offsets[r];
        self.e[oe + j] + self.p[op + j]
    }
}

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
        let row: [T; W] = b.lanes(r, j0);
        for (ii, acc_i) in acc.iter_mut().enumerate() {
            let w = a_rows[ii * a.stride + r * a.step];
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
}
