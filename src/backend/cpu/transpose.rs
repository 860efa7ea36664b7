//! Matrix transposes for the attention chunks: dst = srcᵀ and dst += srcᵀ.
//!
//! The attention moves every element of qkv, its output and its gradient through a transpose
//! (a third of a D = 64 training step with element-by-element copies). For f32 on a CPU with
//! AVX2 the interior goes through 8×8 blocks transposed in registers (the usual unpack /
//! shuffle / permute sequence); edges, f64 and other CPUs take the plain loop. A transpose only
//! moves values (and `transpose_add` adds each once), so both paths give identical bits.

use std::any::TypeId;

use crate::backend::Scalar;

/// dst (cols, rows) = src (rows, cols)ᵀ, both row-major. `avx2`: the caller checked that the
/// CPU has AVX2.
#[inline(always)]
pub(super) fn transpose<T: Scalar>(src: &[T], rows: usize, cols: usize, dst: &mut [T], avx2: bool) {
    let (r8, c8) = (rows / 8 * 8, cols / 8 * 8);
    let done = if avx2 && TypeId::of::<T>() == TypeId::of::<f32>() {
        simd::blocks(as_f32(src), rows, cols, as_f32_mut(dst), false);
        (r8, c8)
    } else {
        (0, 0)
    };
    scalar(src, rows, cols, dst, done, |d, s| *d = s);
}

/// dst (rows, cols) += src (cols, rows)ᵀ.
#[inline(always)]
pub(super) fn transpose_add<T: Scalar>(
    src: &[T],
    rows: usize,
    cols: usize,
    dst: &mut [T],
    avx2: bool,
) {
    // dst[r][c] += src[c][r]: a transpose of src (cols, rows) into dst (rows, cols).
    let (c8, r8) = (cols / 8 * 8, rows / 8 * 8);
    let done = if avx2 && TypeId::of::<T>() == TypeId::of::<f32>() {
        simd::blocks(as_f32(src), cols, rows, as_f32_mut(dst), true);
        (c8, r8)
    } else {
        (0, 0)
    };
    scalar(src, cols, rows, dst, done, |d, s| *d = *d + s);
}

/// The elements of dst = srcᵀ (src (rows, cols)) outside the block [0, done.0) × [0, done.1)
/// of src, combined by `op`: the rows below the block, then the columns right of it.
#[inline(always)]
fn scalar<T: Scalar>(
    src: &[T],
    rows: usize,
    cols: usize,
    dst: &mut [T],
    done: (usize, usize),
    op: impl Fn(&mut T, T),
) {
    region(src, (rows, cols), dst, done.0..rows, 0..cols, &op);
    region(src, (rows, cols), dst, 0..done.0, done.1..cols, &op);
}

/// dst = srcᵀ on src rows `rs` × columns `cs`, in column tiles so the written rows stay cached.
#[inline(always)]
fn region<T: Scalar>(
    src: &[T],
    (rows, cols): (usize, usize),
    dst: &mut [T],
    rs: std::ops::Range<usize>,
    cs: std::ops::Range<usize>,
    op: &impl Fn(&mut T, T),
) {
    const TILE: usize = 16;
    for c0 in cs.clone().step_by(TILE) {
        let c1 = (c0 + TILE).min(cs.end);
        for r in rs.clone() {
            for (c, &x) in (c0..c1).zip(&src[r * cols + c0..r * cols + c1]) {
                op(&mut dst[c * rows + r], x);
            }
        }
    }
}

fn as_f32<T: 'static>(s: &[T]) -> &[f32] {
    assert_eq!(TypeId::of::<T>(), TypeId::of::<f32>());
    // SAFETY: T is f32 (checked above), so the slice is a slice of f32.
    unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<f32>(), s.len()) }
}

fn as_f32_mut<T: 'static>(s: &mut [T]) -> &mut [f32] {
    assert_eq!(TypeId::of::<T>(), TypeId::of::<f32>());
    // SAFETY: T is f32 (checked above), so the slice is a slice of f32.
    unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<f32>(), s.len()) }
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;

    /// The 8×8 blocks of dst (cols, rows) = src (rows, cols)ᵀ (or dst += srcᵀ when `add`)
    /// covering src rows 0..⌊rows/8⌋·8 and columns 0..⌊cols/8⌋·8.
    pub(super) fn blocks(src: &[f32], rows: usize, cols: usize, dst: &mut [f32], add: bool) {
        assert!(src.len() >= rows * cols && dst.len() >= rows * cols);
        assert!(std::arch::is_x86_feature_detected!("avx2"));
        // SAFETY: AVX2 is present and the lengths hold (both asserted above).
        unsafe { blocks_avx2(src, rows, cols, dst, add) }
    }

    /// `blocks` in an AVX2 build, so that `block` inlines into the loop.
    #[target_feature(enable = "avx2")]
    unsafe fn blocks_avx2(src: &[f32], rows: usize, cols: usize, dst: &mut [f32], add: bool) {
        for r0 in (0..rows / 8 * 8).step_by(8) {
            for c0 in (0..cols / 8 * 8).step_by(8) {
                // SAFETY: the block's 8 rows of 8 floats lie inside src (rows r0..r0+8 ≤ rows,
                // columns c0..c0+8 ≤ cols) and its 8 output rows inside dst (rows c0..c0+8 of
                // length `rows`, columns r0..r0+8), as the caller checked the lengths.
                block(
                    src.as_ptr().add(r0 * cols + c0),
                    cols,
                    dst.as_mut_ptr().add(c0 * rows + r0),
                    rows,
                    add,
                );
            }
        }
    }

    /// Transposes the 8×8 block at `src` (row stride `ss`) into `dst` (row stride `ds`).
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn block(src: *const f32, ss: usize, dst: *mut f32, ds: usize, add: bool) {
        let r: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(src.add(i * ss)));
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        let c = [
            _mm256_permute2f128_ps::<0x20>(s0, s4),
            _mm256_permute2f128_ps::<0x20>(s1, s5),
            _mm256_permute2f128_ps::<0x20>(s2, s6),
            _mm256_permute2f128_ps::<0x20>(s3, s7),
            _mm256_permute2f128_ps::<0x31>(s0, s4),
            _mm256_permute2f128_ps::<0x31>(s1, s5),
            _mm256_permute2f128_ps::<0x31>(s2, s6),
            _mm256_permute2f128_ps::<0x31>(s3, s7),
        ];
        for (j, &col) in c.iter().enumerate() {
            let out = dst.add(j * ds);
            let v = if add {
                _mm256_add_ps(_mm256_loadu_ps(out), col)
            } else {
                col
            };
            _mm256_storeu_ps(out, v);
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod simd {
    pub(super) fn blocks(_: &[f32], _: usize, _: usize, _: &mut [f32], _: bool) {
        unreachable!("AVX2 is only ever reported on x86-64")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn both_paths_give_the_transpose_for_ragged_shapes() {
        for (rows, cols) in [
            (1, 1),
            (8, 8),
            (32, 1536),
            (13, 21),
            (512, 32),
            (7, 40),
            (20, 3),
        ] {
            let src: Vec<f32> = (0..rows * cols).map(|i| i as f32 * 0.5 - 3.0).collect();
            let expected: Vec<f32> = (0..rows * cols)
                .map(|k| src[(k % rows) * cols + k / rows])
                .collect();
            for avx2 in [false, has_avx2()] {
                let mut dst = vec![f32::NAN; rows * cols];
                transpose(&src, rows, cols, &mut dst, avx2);
                assert_eq!(dst, expected, "{rows}x{cols} avx2={avx2}");
                // dst (cols, rows) += dstᵀᵀ: adding the transpose of `expected` back onto src.
                let mut acc = src.clone();
                transpose_add(&expected, rows, cols, &mut acc, avx2);
                let doubled: Vec<f32> = src.iter().map(|x| x + x).collect();
                assert_eq!(acc, doubled, "{rows}x{cols} avx2={avx2} (add)");
            }
            let src64: Vec<f64> = src.iter().map(|&x| x as f64).collect();
            let mut dst64 = vec![0.0; rows * cols];
            transpose(&src64, rows, cols, &mut dst64, has_avx2());
            assert!(dst64.iter().zip(&expected).all(|(a, &b)| *a == b as f64));
        }
    }
}
