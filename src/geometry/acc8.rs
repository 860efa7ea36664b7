//! Eight partial sums of squared differences: the accumulator of `distance::sqdists5`, one
//! type per kernel (`Vector::Acc`). Lane k holds the sum over columns c ≡ k (mod 8); `combine`
//! adds the lanes in the documented order ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)),
//! which is also what folding halves of a vector does. Same IEEE operations on every type, so
//! every kernel gives the same bits.
//!
//! Safety: as in `simd`, the x86 types are only used inside the dispatching target-feature
//! functions.

use crate::backend::Scalar;

pub(crate) trait Acc8<T: Scalar>: Copy {
    fn zero() -> Self;
    /// s[0..8] (s.len() ≥ 8).
    fn load(s: &[T]) -> Self;
    /// self + (a − b)² per lane, the square and the sum fused.
    fn add_sq_diff(self, a: Self, b: Self) -> Self;
    /// The lanes' sum in the documented order.
    fn combine(self) -> T;
}

/// The portable accumulator.
impl<T: Scalar> Acc8<T> for [T; 8] {
    #[inline(always)]
    fn zero() -> Self {
        [T::zero(); 8]
    }
    #[inline(always)]
    fn load(s: &[T]) -> Self {
        std::array::from_fn(|k| s[k])
    }
    #[inline(always)]
    fn add_sq_diff(self, a: Self, b: Self) -> Self {
        std::array::from_fn(|k| {
            let d = a[k] - b[k];
            d.mul_add(d, self[k])
        })
    }
    #[inline(always)]
    fn combine(self) -> T {
        let a = self;
        ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{wide, Acc8Avx2, Acc8Avx512};

// AVX-512 intrinsics: stable since Rust 1.89 (the crate's rust-version).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use std::marker::PhantomData;

    use super::Acc8;
    use crate::backend::Scalar;

    /// Whether T is f64 (else f32: the only two `Scalar`s). A constant after monomorphisation.
    #[inline(always)]
    pub(crate) fn wide<T>() -> bool {
        std::mem::size_of::<T>() == 8
    }

    /// 8 lanes inside `avx512f` code: one zmm of f64, or one ymm of f32 (low half).
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Acc8Avx512<T> {
        v: __m512i,
        t: PhantomData<T>,
    }

    /// 8 lanes inside `avx2,fma` code: two ymm of f64 (lanes 0–3, 4–7), or one ymm of f32.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Acc8Avx2<T> {
        lo: __m256i,
        hi: __m256i,
        t: PhantomData<T>,
    }

    // SAFETY (all `unsafe` blocks in this impl): AVX-512F/AVX2/FMA intrinsics (avx512f implies
    // the others), reached only inside `kernel::x86::avx512`; loads read 8 values of a slice
    // whose length is checked first.
    impl<T: Scalar> Acc8<T> for Acc8Avx512<T> {
        #[inline(always)]
        fn zero() -> Self {
            unsafe {
                Acc8Avx512 {
                    v: _mm512_setzero_si512(),
                    t: PhantomData,
                }
            }
        }
        #[inline(always)]
        fn load(s: &[T]) -> Self {
            assert!(s.len() >= 8);
            unsafe {
                let v = if wide::<T>() {
                    _mm512_loadu_si512(s.as_ptr().cast())
                } else {
                    _mm512_castsi256_si512(_mm256_loadu_si256(s.as_ptr().cast()))
                };
                Acc8Avx512 { v, t: PhantomData }
            }
        }
        #[inline(always)]
        fn add_sq_diff(self, a: Self, b: Self) -> Self {
            unsafe {
                let v = if wide::<T>() {
                    let (a, b) = (_mm512_castsi512_pd(a.v), _mm512_castsi512_pd(b.v));
                    let d = _mm512_sub_pd(a, b);
                    _mm512_castpd_si512(_mm512_fmadd_pd(d, d, _mm512_castsi512_pd(self.v)))
                } else {
                    let (acc, a, b) = (
                        _mm512_castsi512_si256(self.v),
                        _mm512_castsi512_si256(a.v),
                        _mm512_castsi512_si256(b.v),
                    );
                    _mm512_castsi256_si512(sq_diff_ps(acc, a, b))
                };
                Acc8Avx512 { v, t: PhantomData }
            }
        }
        #[inline(always)]
        fn combine(self) -> T {
            unsafe {
                if wide::<T>() {
                    let v = _mm512_castsi512_pd(self.v);
                    let s =
                        _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd::<1>(v));
                    <T as Scalar>::from_f64(fold_pd(s))
                } else {
                    let v = _mm256_castsi256_ps(_mm512_castsi512_si256(self.v));
                    <T as Scalar>::from_f64(fold_ps(v) as f64)
                }
            }
        }
    }

    // SAFETY (all `unsafe` blocks in this impl): AVX2+FMA intrinsics, reached only inside
    // `kernel::x86::avx2`; loads read 8 values of a slice whose length is checked first.
    impl<T: Scalar> Acc8<T> for Acc8Avx2<T> {
        #[inline(always)]
        fn zero() -> Self {
            unsafe {
                Acc8Avx2 {
                    lo: _mm256_setzero_si256(),
                    hi: _mm256_setzero_si256(),
                    t: PhantomData,
                }
            }
        }
        #[inline(always)]
        fn load(s: &[T]) -> Self {
            assert!(s.len() >= 8);
            unsafe {
                let p = s.as_ptr();
                let lo = _mm256_loadu_si256(p.cast());
                let hi = if wide::<T>() {
                    _mm256_loadu_si256(p.add(4).cast())
                } else {
                    _mm256_setzero_si256()
                };
                Acc8Avx2 {
                    lo,
                    hi,
                    t: PhantomData,
                }
            }
        }
        #[inline(always)]
        fn add_sq_diff(self, a: Self, b: Self) -> Self {
            unsafe {
                if wide::<T>() {
                    Acc8Avx2 {
                        lo: sq_diff_pd(self.lo, a.lo, b.lo),
                        hi: sq_diff_pd(self.hi, a.hi, b.hi),
                        t: PhantomData,
                    }
                } else {
                    Acc8Avx2 {
                        lo: sq_diff_ps(self.lo, a.lo, b.lo),
                        hi: self.hi,
                        t: PhantomData,
                    }
                }
            }
        }
        #[inline(always)]
        fn combine(self) -> T {
            unsafe {
                if wide::<T>() {
                    let s =
                        _mm256_add_pd(_mm256_castsi256_pd(self.lo), _mm256_castsi256_pd(self.hi));
                    <T as Scalar>::from_f64(fold_pd(s))
                } else {
                    <T as Scalar>::from_f64(fold_ps(_mm256_castsi256_ps(self.lo)) as f64)
                }
            }
        }
    }

    /// acc + (a − b)², fused, on 4 f64 lanes.
    #[inline(always)]
    unsafe fn sq_diff_pd(acc: __m256i, a: __m256i, b: __m256i) -> __m256i {
        let d = _mm256_sub_pd(_mm256_castsi256_pd(a), _mm256_castsi256_pd(b));
        _mm256_castpd_si256(_mm256_fmadd_pd(d, d, _mm256_castsi256_pd(acc)))
    }

    /// acc + (a − b)², fused, on 8 f32 lanes.
    #[inline(always)]
    unsafe fn sq_diff_ps(acc: __m256i, a: __m256i, b: __m256i) -> __m256i {
        let d = _mm256_sub_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b));
        _mm256_castps_si256(_mm256_fmadd_ps(d, d, _mm256_castsi256_ps(acc)))
    }

    /// [s0, s1, s2, s3] → (s0 + s2) + (s1 + s3).
    #[inline(always)]
    unsafe fn fold_pd(s: __m256d) -> f64 {
        let t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd::<1>(s));
        _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)))
    }

    /// [a0 … a7] → ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)).
    #[inline(always)]
    unsafe fn fold_ps(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let t = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps::<0b01>(t, t)))
    }
}
