//! The few vector operations the lane kernels need, over three vector types: `One<T>` (one lane,
//! plain scalar code), and on x86-64 `W256<T>` (AVX2+FMA) and `W512<T>` (AVX-512F), each
//! holding 32/64 bytes of f32 or f64 lanes.
//!
//! Every operation is the IEEE operation lane by lane with the same rounding as the scalar one
//! (mul, div, correctly rounded fma, sign-bit abs/neg, ordered-quiet `>`, unordered `!=`, and
//! `vmaxpd`'s rule for max), so a computation written once against `Vector` gives bit-identical
//! lanes on every type.
//!
//! Safety: the x86 types call intrinsics of instruction sets that the CPU may lack. They are
//! private to the geometry module and only instantiated by `kernel::dispatch` after runtime
//! detection; every method is `#[inline(always)]` so that it compiles inside the dispatching
//! `#[target_feature]` function. Code on these types must not wrap their methods in closures
//! (`array::map`, `from_fn`, …) or function pointers: a closure is compiled as a function of
//! its own, without the target features, and the intrinsics in it then become calls (measured:
//! 15× slower volumes).

use super::acc8::Acc8;
use crate::backend::Scalar;

/// A vector of `LANES` values of T.
pub(crate) trait Vector<T: Scalar>: Copy {
    const LANES: usize;
    type Mask: Copy;
    /// Eight partial sums for the squared distances, built from the same instruction set.
    type Acc: Acc8<T>;
    fn splat(x: T) -> Self;
    /// The first `LANES` values of `s` (s.len() ≥ LANES).
    fn load(s: &[T]) -> Self;
    /// Into the first `LANES` values of `s`.
    fn store(self, s: &mut [T]);
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    /// c − self · b, rounded once (= fma(−self, b, c)).
    fn neg_mul_add(self, b: Self, c: Self) -> Self;
    fn neg(self) -> Self;
    /// |self|: the sign bit cleared (NaN stays NaN).
    fn abs(self) -> Self;
    /// self > o (false when either is NaN).
    fn gt(self, o: Self) -> Self::Mask;
    /// self where self > o, else o (so o when either is NaN): `vmaxpd`'s rule.
    fn max_gt(self, o: Self) -> Self;
    /// self ≠ 0 (true for NaN).
    fn nonzero(self) -> Self::Mask;
    /// Per lane: `yes` where the mask is set, else `no`.
    fn select(m: Self::Mask, yes: Self, no: Self) -> Self;
    /// The mask with no lane set.
    fn mask_none() -> Self::Mask;
    /// Lanes set in exactly one of `a`, `b`.
    fn mask_xor(a: Self::Mask, b: Self::Mask) -> Self::Mask;
    /// Lane l: `tri[hi·(hi − 1)/2 + lo]`, lo and hi the smaller and larger of `a[l]`, `b[l]`:
    /// the entry of rows a[l] ≠ b[l] in a lower-triangular pair table (`sqdist_table`), gathered.
    ///
    /// # Safety
    /// `a` and `b` hold at least LANES values, and every such index is < `tri.len()` (rows
    /// distinct and below the table's row count).
    unsafe fn gather_tri(tri: &[T], a: &[u32], b: &[u32]) -> Self;
    /// L consecutive row-major 6×6 matrices (m.len() ≥ 36·LANES) transposed: entry e of
    /// matrix l goes to lane l of vector e.
    fn load_matrices(m: &[T]) -> [Self; 36];
}

/// One lane: the portable scalar path.
#[derive(Clone, Copy, Debug)]
pub(crate) struct One<T>(pub T);

impl<T: Scalar> Vector<T> for One<T> {
    const LANES: usize = 1;
    type Mask = bool;
    type Acc = [T; 8];
    #[inline(always)]
    fn splat(x: T) -> Self {
        One(x)
    }
    #[inline(always)]
    fn load(s: &[T]) -> Self {
        One(s[0])
    }
    #[inline(always)]
    fn store(self, s: &mut [T]) {
        s[0] = self.0;
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        One(self.0 * o.0)
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        One(self.0 / o.0)
    }
    #[inline(always)]
    fn neg_mul_add(self, b: Self, c: Self) -> Self {
        One((-self.0).mul_add(b.0, c.0))
    }
    #[inline(always)]
    fn neg(self) -> Self {
        One(-self.0)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        One(self.0.abs())
    }
    #[inline(always)]
    fn gt(self, o: Self) -> bool {
        self.0 > o.0
    }
    #[inline(always)]
    fn max_gt(self, o: Self) -> Self {
        if self.0 > o.0 {
            self
        } else {
            o
        }
    }
    #[inline(always)]
    fn nonzero(self) -> bool {
        self.0 != T::zero()
    }
    #[inline(always)]
    fn select(m: bool, yes: Self, no: Self) -> Self {
        if m {
            yes
        } else {
            no
        }
    }
    #[inline(always)]
    fn mask_none() -> bool {
        false
    }
    #[inline(always)]
    fn mask_xor(a: bool, b: bool) -> bool {
        a ^ b
    }
    #[inline(always)]
    unsafe fn gather_tri(tri: &[T], a: &[u32], b: &[u32]) -> Self {
        let (lo, hi) = (a[0].min(b[0]) as usize, a[0].max(b[0]) as usize);
        One(tri[hi * (hi - 1) / 2 + lo])
    }
    #[inline(always)]
    fn load_matrices(m: &[T]) -> [Self; 36] {
        std::array::from_fn(|e| One(m[e]))
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{W256, W512};

// The AVX-512 intrinsics are stable since Rust 1.89 (the crate's rust-version).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use std::marker::PhantomData;

    use super::Vector;
    use crate::backend::Scalar;
    use crate::geometry::acc8::{wide, Acc8Avx2, Acc8Avx512};

    /// 512 bits of T: 8 f64 or 16 f32 lanes (AVX-512F).
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct W512<T> {
        v: __m512i,
        t: PhantomData<T>,
    }

    /// 256 bits of T: 4 f64 or 8 f32 lanes (AVX2 + FMA).
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct W256<T> {
        v: __m256i,
        t: PhantomData<T>,
    }

    // Each macro arm: one operation, its f64 and its f32 intrinsic.
    macro_rules! w512 {
        ($x:expr) => {
            W512 {
                v: $x,
                t: PhantomData,
            }
        };
    }
    macro_rules! w256 {
        ($x:expr) => {
            W256 {
                v: $x,
                t: PhantomData,
            }
        };
    }
    /// A lane-wise binary operation: `$d` on f64 lanes, `$s` on f32 lanes.
    macro_rules! bin512 {
        ($a:expr, $b:expr, $d:ident, $s:ident) => {
            if wide::<T>() {
                w512!(_mm512_castpd_si512($d($a.pd(), $b.pd())))
            } else {
                w512!(_mm512_castps_si512($s($a.ps(), $b.ps())))
            }
        };
    }
    macro_rules! bin256 {
        ($a:expr, $b:expr, $d:ident, $s:ident) => {
            if wide::<T>() {
                w256!(_mm256_castpd_si256($d($a.pd(), $b.pd())))
            } else {
                w256!(_mm256_castps_si256($s($a.ps(), $b.ps())))
            }
        };
    }

    // SAFETY (all `unsafe` blocks below): AVX-512F intrinsics, reached only inside
    // `kernel::x86::avx512`, which runs after `is_x86_feature_detected!("avx512f")`; loads
    // and stores stay within slices whose length is checked first (`gather_tri`: by its
    // caller, as its contract states).
    impl<T: Scalar> Vector<T> for W512<T> {
        const LANES: usize = 64 / std::mem::size_of::<T>();
        type Mask = u16;
        type Acc = Acc8Avx512<T>;
        #[inline(always)]
        fn splat(x: T) -> Self {
            unsafe {
                if wide::<T>() {
                    w512!(_mm512_castpd_si512(_mm512_set1_pd(Scalar::to_f64(x))))
                } else {
                    w512!(_mm512_castps_si512(
                        _mm512_set1_ps(Scalar::to_f64(x) as f32)
                    ))
                }
            }
        }
        #[inline(always)]
        fn load(s: &[T]) -> Self {
            assert!(s.len() >= Self::LANES);
            unsafe { w512!(_mm512_loadu_si512(s.as_ptr().cast())) }
        }
        #[inline(always)]
        fn store(self, s: &mut [T]) {
            assert!(s.len() >= Self::LANES);
            unsafe { _mm512_storeu_si512(s.as_mut_ptr().cast(), self.v) }
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            unsafe { bin512!(self, o, _mm512_mul_pd, _mm512_mul_ps) }
        }
        #[inline(always)]
        fn div(self, o: Self) -> Self {
            unsafe { bin512!(self, o, _mm512_div_pd, _mm512_div_ps) }
        }
        #[inline(always)]
        fn neg_mul_add(self, b: Self, c: Self) -> Self {
            unsafe {
                if wide::<T>() {
                    let r = _mm512_fnmadd_pd(self.pd(), b.pd(), c.pd());
                    w512!(_mm512_castpd_si512(r))
                } else {
                    let r = _mm512_fnmadd_ps(self.ps(), b.ps(), c.ps());
                    w512!(_mm512_castps_si512(r))
                }
            }
        }
        #[inline(always)]
        fn neg(self) -> Self {
            // Flip the sign bit of every lane, as scalar negation does.
            unsafe {
                let sign = if wide::<T>() {
                    _mm512_set1_epi64(i64::MIN)
                } else {
                    _mm512_set1_epi32(i32::MIN)
                };
                w512!(_mm512_xor_si512(self.v, sign))
            }
        }
        #[inline(always)]
        fn abs(self) -> Self {
            unsafe {
                if wide::<T>() {
                    w512!(_mm512_castpd_si512(_mm512_abs_pd(self.pd())))
                } else {
                    w512!(_mm512_castps_si512(_mm512_abs_ps(self.ps())))
                }
            }
        }
        #[inline(always)]
        fn gt(self, o: Self) -> u16 {
            unsafe {
                if wide::<T>() {
                    _mm512_cmp_pd_mask::<_CMP_GT_OQ>(self.pd(), o.pd()) as u16
                } else {
                    _mm512_cmp_ps_mask::<_CMP_GT_OQ>(self.ps(), o.ps())
                }
            }
        }
        #[inline(always)]
        fn max_gt(self, o: Self) -> Self {
            unsafe { bin512!(self, o, _mm512_max_pd, _mm512_max_ps) }
        }
        #[inline(always)]
        fn nonzero(self) -> u16 {
            unsafe {
                if wide::<T>() {
                    _mm512_cmp_pd_mask::<_CMP_NEQ_UQ>(self.pd(), _mm512_setzero_pd()) as u16
                } else {
                    _mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(self.ps(), _mm512_setzero_ps())
                }
            }
        }
        #[inline(always)]
        fn select(m: u16, yes: Self, no: Self) -> Self {
            unsafe {
                if wide::<T>() {
                    w512!(_mm512_mask_blend_epi64(m as u8, no.v, yes.v))
                } else {
                    w512!(_mm512_mask_blend_epi32(m, no.v, yes.v))
                }
            }
        }
        #[inline(always)]
        fn mask_none() -> u16 {
            0
        }
        #[inline(always)]
        fn mask_xor(a: u16, b: u16) -> u16 {
            a ^ b
        }
        #[inline(always)]
        unsafe fn gather_tri(tri: &[T], a: &[u32], b: &[u32]) -> Self {
            debug_assert!(a.len() >= Self::LANES && b.len() >= Self::LANES);
            if wide::<T>() {
                // 8 indices in 256 bits (AVX2 integer ops, implied by avx512f).
                let a = _mm256_loadu_si256(a.as_ptr().cast());
                let b = _mm256_loadu_si256(b.as_ptr().cast());
                let (lo, hi) = (_mm256_min_epu32(a, b), _mm256_max_epu32(a, b));
                let hi1 = _mm256_sub_epi32(hi, _mm256_set1_epi32(1));
                let at = _mm256_add_epi32(_mm256_srli_epi32::<1>(_mm256_mullo_epi32(hi, hi1)), lo);
                w512!(_mm512_castpd_si512(_mm512_i32gather_pd::<8>(
                    at,
                    tri.as_ptr().cast()
                )))
            } else {
                let a = _mm512_loadu_si512(a.as_ptr().cast());
                let b = _mm512_loadu_si512(b.as_ptr().cast());
                let (lo, hi) = (_mm512_min_epu32(a, b), _mm512_max_epu32(a, b));
                let hi1 = _mm512_sub_epi32(hi, _mm512_set1_epi32(1));
                let at = _mm512_add_epi32(_mm512_srli_epi32::<1>(_mm512_mullo_epi32(hi, hi1)), lo);
                w512!(_mm512_castps_si512(_mm512_i32gather_ps::<4>(
                    at,
                    tri.as_ptr().cast()
                )))
            }
        }
        #[inline(always)]
        fn load_matrices(m: &[T]) -> [Self; 36] {
            assert!(m.len() >= 36 * Self::LANES);
            unsafe {
                if wide::<T>() {
                    transpose_f64x8(m.as_ptr().cast())
                } else {
                    transpose_f32x16(m.as_ptr().cast())
                }
            }
        }
    }

    impl<T> W512<T> {
        #[inline(always)]
        unsafe fn pd(self) -> __m512d {
            _mm512_castsi512_pd(self.v)
        }
        #[inline(always)]
        unsafe fn ps(self) -> __m512 {
            _mm512_castsi512_ps(self.v)
        }
    }

    // SAFETY (all `unsafe` blocks below): AVX2+FMA intrinsics, reached only inside
    // `kernel::x86::avx2`, which runs after detecting both; slice lengths are checked first
    // (`gather_tri`: by its caller, as its contract states).
    impl<T: Scalar> Vector<T> for W256<T> {
        const LANES: usize = 32 / std::mem::size_of::<T>();
        /// All-ones lanes where set.
        type Mask = __m256i;
        type Acc = Acc8Avx2<T>;
        #[inline(always)]
        fn splat(x: T) -> Self {
            unsafe {
                if wide::<T>() {
                    w256!(_mm256_castpd_si256(_mm256_set1_pd(Scalar::to_f64(x))))
                } else {
                    w256!(_mm256_castps_si256(
                        _mm256_set1_ps(Scalar::to_f64(x) as f32)
                    ))
                }
            }
        }
        #[inline(always)]
        fn load(s: &[T]) -> Self {
            assert!(s.len() >= Self::LANES);
            unsafe { w256!(_mm256_loadu_si256(s.as_ptr().cast())) }
        }
        #[inline(always)]
        fn store(self, s: &mut [T]) {
            assert!(s.len() >= Self::LANES);
            unsafe { _mm256_storeu_si256(s.as_mut_ptr().cast(), self.v) }
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            unsafe { bin256!(self, o, _mm256_mul_pd, _mm256_mul_ps) }
        }
        #[inline(always)]
        fn div(self, o: Self) -> Self {
            unsafe { bin256!(self, o, _mm256_div_pd, _mm256_div_ps) }
        }
        #[inline(always)]
        fn neg_mul_add(self, b: Self, c: Self) -> Self {
            unsafe {
                if wide::<T>() {
                    let r = _mm256_fnmadd_pd(self.pd(), b.pd(), c.pd());
                    w256!(_mm256_castpd_si256(r))
                } else {
                    let r = _mm256_fnmadd_ps(self.ps(), b.ps(), c.ps());
                    w256!(_mm256_castps_si256(r))
                }
            }
        }
        #[inline(always)]
        fn neg(self) -> Self {
            unsafe {
                let sign = if wide::<T>() {
                    _mm256_set1_epi64x(i64::MIN)
                } else {
                    _mm256_set1_epi32(i32::MIN)
                };
                w256!(_mm256_xor_si256(self.v, sign))
            }
        }
        #[inline(always)]
        fn abs(self) -> Self {
            unsafe {
                let sign = if wide::<T>() {
                    _mm256_set1_epi64x(i64::MIN)
                } else {
                    _mm256_set1_epi32(i32::MIN)
                };
                w256!(_mm256_andnot_si256(sign, self.v))
            }
        }
        #[inline(always)]
        fn gt(self, o: Self) -> __m256i {
            unsafe {
                if wide::<T>() {
                    _mm256_castpd_si256(_mm256_cmp_pd::<_CMP_GT_OQ>(self.pd(), o.pd()))
                } else {
                    _mm256_castps_si256(_mm256_cmp_ps::<_CMP_GT_OQ>(self.ps(), o.ps()))
                }
            }
        }
        #[inline(always)]
        fn max_gt(self, o: Self) -> Self {
            unsafe { bin256!(self, o, _mm256_max_pd, _mm256_max_ps) }
        }
        #[inline(always)]
        fn nonzero(self) -> __m256i {
            unsafe {
                if wide::<T>() {
                    let m = _mm256_cmp_pd::<_CMP_NEQ_UQ>(self.pd(), _mm256_setzero_pd());
                    _mm256_castpd_si256(m)
                } else {
                    let m = _mm256_cmp_ps::<_CMP_NEQ_UQ>(self.ps(), _mm256_setzero_ps());
                    _mm256_castps_si256(m)
                }
            }
        }
        #[inline(always)]
        fn select(m: __m256i, yes: Self, no: Self) -> Self {
            // blendv takes each lane's top bit, which the full-lane compare masks set.
            unsafe { w256!(_mm256_blendv_epi8(no.v, yes.v, m)) }
        }
        #[inline(always)]
        fn mask_none() -> __m256i {
            unsafe { _mm256_setzero_si256() }
        }
        #[inline(always)]
        fn mask_xor(a: __m256i, b: __m256i) -> __m256i {
            unsafe { _mm256_xor_si256(a, b) }
        }
        #[inline(always)]
        unsafe fn gather_tri(tri: &[T], a: &[u32], b: &[u32]) -> Self {
            debug_assert!(a.len() >= Self::LANES && b.len() >= Self::LANES);
            if wide::<T>() {
                // 4 indices in 128 bits (SSE4.1 integer ops, implied by avx2).
                let a = _mm_loadu_si128(a.as_ptr().cast());
                let b = _mm_loadu_si128(b.as_ptr().cast());
                let (lo, hi) = (_mm_min_epu32(a, b), _mm_max_epu32(a, b));
                let hi1 = _mm_sub_epi32(hi, _mm_set1_epi32(1));
                let at = _mm_add_epi32(_mm_srli_epi32::<1>(_mm_mullo_epi32(hi, hi1)), lo);
                w256!(_mm256_castpd_si256(_mm256_i32gather_pd::<8>(
                    tri.as_ptr().cast(),
                    at
                )))
            } else {
                let a = _mm256_loadu_si256(a.as_ptr().cast());
                let b = _mm256_loadu_si256(b.as_ptr().cast());
                let (lo, hi) = (_mm256_min_epu32(a, b), _mm256_max_epu32(a, b));
                let hi1 = _mm256_sub_epi32(hi, _mm256_set1_epi32(1));
                let at = _mm256_add_epi32(_mm256_srli_epi32::<1>(_mm256_mullo_epi32(hi, hi1)), lo);
                w256!(_mm256_castps_si256(_mm256_i32gather_ps::<4>(
                    tri.as_ptr().cast(),
                    at
                )))
            }
        }
        #[inline(always)]
        fn load_matrices(m: &[T]) -> [Self; 36] {
            assert!(m.len() >= 36 * Self::LANES);
            unsafe {
                if wide::<T>() {
                    transpose_f64x4(m.as_ptr().cast())
                } else {
                    transpose_f32x8(m.as_ptr().cast())
                }
            }
        }
    }

    impl<T> W256<T> {
        #[inline(always)]
        unsafe fn pd(self) -> __m256d {
            _mm256_castsi256_pd(self.v)
        }
        #[inline(always)]
        unsafe fn ps(self) -> __m256 {
            _mm256_castsi256_ps(self.v)
        }
    }

    /// `$body` nine times with `$c` = 0, 1, …, 8. The transposes must unroll: LLVM keeps the
    /// output array of a rolled loop in memory, and the elimination then runs on the stack.
    macro_rules! unroll9 {
        ($c:ident => $body:block) => {{
            {
                let $c = 0usize;
                $body
            }
            {
                let $c = 1usize;
                $body
            }
            {
                let $c = 2usize;
                $body
            }
            {
                let $c = 3usize;
                $body
            }
            {
                let $c = 4usize;
                $body
            }
            {
                let $c = 5usize;
                $body
            }
            {
                let $c = 6usize;
                $body
            }
            {
                let $c = 7usize;
                $body
            }
            {
                let $c = 8usize;
                $body
            }
        }};
    }

    // The transposes: 36 entries = 9 chunks of 4. Per chunk, 4 vectors each holding that chunk
    // of several matrices are interleaved (4×4 transposes inside 128/256-bit halves): 8
    // shuffles per 4 entries instead of 4·LANES scalar moves. Moves only: exact.

    /// 8 matrices of f64. z_j = [matrix j | matrix j+4] (256 bits each); unpacking gives
    /// t0 = [m0e0 m1e0 m0e2 m1e2 | m4e0 m5e0 m4e2 m5e2]; a two-source permute joins t0 with t2
    /// (matrices 2, 3, 6, 7) into entry 4c.
    #[inline(always)]
    unsafe fn transpose_f64x8<T: Scalar>(src: *const f64) -> [W512<T>; 36] {
        let lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
        let hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
        let mut out = [w512!(_mm512_setzero_si512()); 36];
        unroll9!(c => {
            let p = src.add(4 * c);
            macro_rules! z {
                ($j:expr) => {
                    _mm512_insertf64x4::<1>(
                        _mm512_castpd256_pd512(_mm256_loadu_pd(p.add(36 * $j))),
                        _mm256_loadu_pd(p.add(36 * ($j + 4))),
                    )
                };
            }
            let (z0, z1, z2, z3) = (z!(0), z!(1), z!(2), z!(3));
            let t0 = _mm512_unpacklo_pd(z0, z1);
            let t1 = _mm512_unpackhi_pd(z0, z1);
            let t2 = _mm512_unpacklo_pd(z2, z3);
            let t3 = _mm512_unpackhi_pd(z2, z3);
            out[4 * c] = w512!(_mm512_castpd_si512(_mm512_permutex2var_pd(t0, lo, t2)));
            out[4 * c + 1] = w512!(_mm512_castpd_si512(_mm512_permutex2var_pd(t1, lo, t3)));
            out[4 * c + 2] = w512!(_mm512_castpd_si512(_mm512_permutex2var_pd(t0, hi, t2)));
            out[4 * c + 3] = w512!(_mm512_castpd_si512(_mm512_permutex2var_pd(t1, hi, t3)));
        });
        out
    }

    /// 16 matrices of f32. z_j holds matrices j, j+4, j+8, j+12 in its four 128-bit lanes; a
    /// 4×4 transpose inside each lane (unpack ps, then unpack pd) leaves lane q of entry 4c+i
    /// holding matrices 4q..4q+3 in order.
    #[inline(always)]
    unsafe fn transpose_f32x16<T: Scalar>(src: *const f32) -> [W512<T>; 36] {
        let mut out = [w512!(_mm512_setzero_si512()); 36];
        unroll9!(c => {
            let p = src.add(4 * c);
            macro_rules! z {
                ($j:expr) => {{
                    let v = _mm512_castps128_ps512(_mm_loadu_ps(p.add(36 * $j)));
                    let v = _mm512_insertf32x4::<1>(v, _mm_loadu_ps(p.add(36 * ($j + 4))));
                    let v = _mm512_insertf32x4::<2>(v, _mm_loadu_ps(p.add(36 * ($j + 8))));
                    _mm512_insertf32x4::<3>(v, _mm_loadu_ps(p.add(36 * ($j + 12))))
                }};
            }
            let (z0, z1, z2, z3) = (z!(0), z!(1), z!(2), z!(3));
            let t0 = _mm512_castps_pd(_mm512_unpacklo_ps(z0, z1));
            let t1 = _mm512_castps_pd(_mm512_unpackhi_ps(z0, z1));
            let t2 = _mm512_castps_pd(_mm512_unpacklo_ps(z2, z3));
            let t3 = _mm512_castps_pd(_mm512_unpackhi_ps(z2, z3));
            out[4 * c] = w512!(_mm512_castpd_si512(_mm512_unpacklo_pd(t0, t2)));
            out[4 * c + 1] = w512!(_mm512_castpd_si512(_mm512_unpackhi_pd(t0, t2)));
            out[4 * c + 2] = w512!(_mm512_castpd_si512(_mm512_unpacklo_pd(t1, t3)));
            out[4 * c + 3] = w512!(_mm512_castpd_si512(_mm512_unpackhi_pd(t1, t3)));
        });
        out
    }

    /// 4 matrices of f64: a plain 4×4 transpose per chunk.
    #[inline(always)]
    unsafe fn transpose_f64x4<T: Scalar>(src: *const f64) -> [W256<T>; 36] {
        let mut out = [w256!(_mm256_setzero_si256()); 36];
        unroll9!(c => {
            let p = src.add(4 * c);
            let z0 = _mm256_loadu_pd(p);
            let z1 = _mm256_loadu_pd(p.add(36));
            let z2 = _mm256_loadu_pd(p.add(36 * 2));
            let z3 = _mm256_loadu_pd(p.add(36 * 3));
            let t0 = _mm256_unpacklo_pd(z0, z1);
            let t1 = _mm256_unpackhi_pd(z0, z1);
            let t2 = _mm256_unpacklo_pd(z2, z3);
            let t3 = _mm256_unpackhi_pd(z2, z3);
            out[4 * c] = w256!(_mm256_castpd_si256(_mm256_permute2f128_pd::<0x20>(t0, t2)));
            out[4 * c + 1] = w256!(_mm256_castpd_si256(_mm256_permute2f128_pd::<0x20>(t1, t3)));
            out[4 * c + 2] = w256!(_mm256_castpd_si256(_mm256_permute2f128_pd::<0x31>(t0, t2)));
            out[4 * c + 3] = w256!(_mm256_castpd_si256(_mm256_permute2f128_pd::<0x31>(t1, t3)));
        });
        out
    }

    /// 8 matrices of f32: as `transpose_f32x16` with two 128-bit lanes (matrices j, j+4).
    #[inline(always)]
    unsafe fn transpose_f32x8<T: Scalar>(src: *const f32) -> [W256<T>; 36] {
        let mut out = [w256!(_mm256_setzero_si256()); 36];
        unroll9!(c => {
            let p = src.add(4 * c);
            macro_rules! z {
                ($j:expr) => {
                    _mm256_insertf128_ps::<1>(
                        _mm256_castps128_ps256(_mm_loadu_ps(p.add(36 * $j))),
                        _mm_loadu_ps(p.add(36 * ($j + 4))),
                    )
                };
            }
            let (z0, z1, z2, z3) = (z!(0), z!(1), z!(2), z!(3));
            let t0 = _mm256_castps_pd(_mm256_unpacklo_ps(z0, z1));
            let t1 = _mm256_castps_pd(_mm256_unpackhi_ps(z0, z1));
            let t2 = _mm256_castps_pd(_mm256_unpacklo_ps(z2, z3));
            let t3 = _mm256_castps_pd(_mm256_unpackhi_ps(z2, z3));
            out[4 * c] = w256!(_mm256_castpd_si256(_mm256_unpacklo_pd(t0, t2)));
            out[4 * c + 1] = w256!(_mm256_castpd_si256(_mm256_unpackhi_pd(t0, t2)));
            out[4 * c + 2] = w256!(_mm256_castpd_si256(_mm256_unpacklo_pd(t1, t3)));
            out[4 * c + 3] = w256!(_mm256_castpd_si256(_mm256_unpackhi_pd(t1, t3)));
        });
        out
    }
}
