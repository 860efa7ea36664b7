//! The small transposes of the attention: a token-major block of one sequence (tokens × columns,
//! rows `stride` apart inside qkv) into a column-major block (columns × `width`), so that the
//! per-token values of one column are contiguous lanes.
//!
//! For f32 on a CPU with AVX2 the interior goes through 8×8 blocks transposed in registers (the
//! usual unpack / shuffle / permute sequence); edges, f64 and other CPUs take the plain loop. A
//! transpose only moves values, so both paths give identical bits.

use std::any::TypeId;

use crate::backend::Scalar;

/// dst[c·width + r] = src[r·stride + c] for r < rows, c < cols (width ≥ rows; the columns
/// rows..width of dst are left as they are). `avx2`: the caller checked that the CPU has AVX2.
#[inline(always)]
pub(super) fn transpose<T: Scalar>(
    src: &[T],
    (rows, cols, stride): (usize, usize, usize),
    dst: &mut [T],
    width: usize,
    avx2: bool,
) {
    assert!(rows <= width && dst.len() >= cols * width);
    assert!(rows == 0 || src.len() >= (rows - 1) * stride + cols);
    let (r8, c8) = (rows / 8 * 8, cols / 8 * 8);
    let done = if avx2 && TypeId::of::<T>() == TypeId::of::<f32>() {
        simd::blocks(as_f32(src), (r8, c8, stride), as_f32_mut(dst), width);
        (r8, c8)
    } else {
        (0, 0)
    };
    // The rows below the register blocks, then the columns right of them.
    for r in done.0..rows {
        for c in 0..cols {
            dst[c * width + r] = src[r * stride + c];
        }
    }
    for r in 0..done.0 {
        for c in done.1..cols {
            dst[c * width + r] = src[r * stride + c];
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

    /// The 8×8 blocks of dst[c·width + r] = src[r·stride + c] for r < rows, c < cols, both
    /// multiples of 8 (the caller's bounds checks cover them).
    #[inline(always)]
    pub(super) fn blocks(
        src: &[f32],
        (rows, cols, stride): (usize, usize, usize),
        dst: &mut [f32],
        width: usize,
    ) {
        assert!(rows % 8 == 0 && cols % 8 == 0);
        assert!(rows == 0 || src.len() >= (rows - 1) * stride + cols);
        assert!(dst.len() >= cols * width && rows <= width);
        assert!(std::arch::is_x86_feature_detected!("avx2"));
        // SAFETY: AVX2 is present and the lengths hold (all asserted above).
        unsafe { blocks_avx2(src, (rows, cols, stride), dst, width) }
    }

    /// `blocks` in an AVX2 build, so that `block` inlines into the loop.
    #[target_feature(enable = "avx2")]
    unsafe fn blocks_avx2(
        src: &[f32],
        (rows, cols, stride): (usize, usize, usize),
        dst: &mut [f32],
        width: usize,
    ) {
        for r0 in (0..rows).step_by(8) {
            for c0 in (0..cols).step_by(8) {
                // SAFETY: the block's 8 source rows of 8 floats start at (r0 + i)·stride + c0
                // with r0 + 8 ≤ rows and c0 + 8 ≤ cols, inside src; its 8 output rows of 8
                // start at (c0 + j)·width + r0 with r0 + 8 ≤ rows ≤ width, inside dst (the
                // caller checked both lengths).
                block(
                    src.as_ptr().add(r0 * stride + c0),
                    stride,
                    dst.as_mut_ptr().add(c0 * width + r0),
                    width,
                );
            }
        }
    }

    /// Transposes the 8×8 block at `src` (row stride `ss`) into `dst` (row stride `ds`).
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn block(src: *const f32, ss: usize, dst: *mut f32, ds: usize) {
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
            _mm256_storeu_ps(dst.add(j * ds), col);
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod simd {
    pub(super) fn blocks(_: &[f32], _: (usize, usize, usize), _: &mut [f32], _: usize) {
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
        // (rows, cols, stride, width): register blocks with and without ragged edges, strided
        // rows, padded output columns (which must stay untouched).
        for (rows, cols, stride, width) in [
            (1, 1, 1, 1),
            (8, 8, 8, 8),
            (8, 256, 768, 8),
            (13, 21, 40, 16),
            (5, 15, 45, 8),
            (16, 32, 96, 16),
            (7, 40, 40, 7),
            (20, 3, 3, 24),
        ] {
            let src: Vec<f32> = (0..(rows - 1) * stride + cols)
                .map(|i| i as f32 * 0.5 - 3.0)
                .collect();
            let expected: Vec<f32> = (0..cols * width)
                .map(|k| {
                    let (c, r) = (k / width, k % width);
                    if r < rows {
                        src[r * stride + c]
                    } else {
                        f32::NAN
                    }
                })
                .collect();
            for avx2 in [false, has_avx2()] {
                let mut dst = vec![f32::NAN; cols * width];
                transpose(&src, (rows, cols, stride), &mut dst, width, avx2);
                let same = dst
                    .iter()
                    .zip(&expected)
                    .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()));
                assert!(
                    same,
                    "{rows}x{cols} stride {stride} width {width} avx2={avx2}"
                );
            }
            let src64: Vec<f64> = src.iter().map(|&x| x as f64).collect();
            let mut dst64 = vec![f64::NAN; cols * width];
            transpose(&src64, (rows, cols, stride), &mut dst64, width, has_avx2());
            let same = dst64
                .iter()
                .zip(&expected)
                .all(|(a, &b)| *a == b as f64 || (a.is_nan() && b.is_nan()));
            assert!(same, "f64 {rows}x{cols}");
        }
    }
}
