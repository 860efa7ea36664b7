//! exp for f32, vectorised: glibc's expf algorithm (sysdeps/ieee754/flt-32/e_expf.c, also
//! musl's and ARM's optimized-routines'), in the form of its FMA build `__expf_fma`, which glibc
//! runs on CPUs with FMA. That build's fast path, for |x| < 88, is:
//!   z = fma(N/ln2, x, SHIFT); k = bits(z); kd = z − SHIFT; r = fma(N/ln2, x, −kd);
//!   s = 2^(k/N) = asdouble(T[k mod N] + (k << (52 − 5)));
//!   y = fma(fma(C0, r, C1), r·r, fma(C2, r, 1))·s, rounded to f32,
//! with N = 32 and the constants and table below (read off glibc 2.36's `__exp2f_data`). Every
//! step is one correctly rounded operation, so four lanes of doubles give exactly the scalar
//! function's bits. Other inputs (|x| ≥ 88, infinities, NaN) go to the library's `f32::exp`.
//!
//! The attention's softmax takes 64 exps per sequence and head; the library call, one element
//! at a time, was a third of the D = 64 forward pass.

use std::any::TypeId;

use crate::backend::Scalar;

/// N/ln2 with N = 32 table entries.
const INV_LN2_N: f64 = f64::from_bits(0x4047_1547_652b_82fe);
/// 1.5·2^52: adding it rounds to an integer held in the low mantissa bits.
const SHIFT: f64 = f64::from_bits(0x4338_0000_0000_0000);
const C0: f64 = f64::from_bits(0x3ebc_6af8_4b91_2394);
const C1: f64 = f64::from_bits(0x3f2e_bfce_50fa_c4f3);
const C2: f64 = f64::from_bits(0x3f96_2e42_ff0c_52d6);
/// bits(2^(i/32)) − (i << 47).
const TABLE: [u64; 32] = [
    0x3ff0000000000000,
    0x3fefd9b0d3158574,
    0x3fefb5586cf9890f,
    0x3fef9301d0125b51,
    0x3fef72b83c7d517b,
    0x3fef54873168b9aa,
    0x3fef387a6e756238,
    0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715,
    0x3feef1a7373aa9cb,
    0x3feedea64c123422,
    0x3feece086061892d,
    0x3feebfdad5362a27,
    0x3feeb42b569d4f82,
    0x3feeab07dd485429,
    0x3feea47eb03a5585,
    0x3feea09e667f3bcd,
    0x3fee9f75e8ec5f74,
    0x3feea11473eb0187,
    0x3feea589994cce13,
    0x3feeace5422aa0db,
    0x3feeb737b0cdc5e5,
    0x3feec49182a3f090,
    0x3feed503b23e255d,
    0x3feee89f995ad3ad,
    0x3feeff76f2fb5e47,
    0x3fef199bdd85529c,
    0x3fef3720dcef9069,
    0x3fef5818dcfba487,
    0x3fef7c97337b9b5f,
    0x3fefa4afa2a490da,
    0x3fefd0765b6e4540,
];

/// Whether the fast path covers x: its exponent field at most that of 80 (|x| < 88).
fn in_range(x: f32) -> bool {
    (x.to_bits() >> 20) & 0x7ff <= 0x42a
}

/// The fast path in scalar form (`f64::mul_add` is the fused operation).
#[inline(always)]
fn exp_fast(x: f32) -> f32 {
    let xd = x as f64;
    let z = INV_LN2_N.mul_add(xd, SHIFT);
    let k = z.to_bits();
    let kd = z - SHIFT;
    let r = INV_LN2_N.mul_add(xd, -kd);
    let s = f64::from_bits(TABLE[(k % 32) as usize].wrapping_add(k << 47));
    let y = C0.mul_add(r, C1).mul_add(r * r, C2.mul_add(r, 1.0));
    (y * s) as f32
}

/// Whether `exp_in_place` can take the vector path: f32 on a CPU with AVX2 and FMA.
pub(super) fn fast<T: 'static>() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        TypeId::of::<T>() == TypeId::of::<f32>()
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// x ← exp(x) elementwise. `fast`: the caller checked [`fast`] (f32, AVX2, FMA); otherwise
/// each element takes `T::exp`.
#[inline(always)]
pub(super) fn exp_in_place<T: Scalar>(x: &mut [T], fast: bool) {
    #[cfg(target_arch = "x86_64")]
    if fast {
        assert_eq!(TypeId::of::<T>(), TypeId::of::<f32>());
        // SAFETY: T is f32 (asserted), so the slice is a slice of f32.
        let x = unsafe { std::slice::from_raw_parts_mut(x.as_mut_ptr().cast::<f32>(), x.len()) };
        assert!(std::arch::is_x86_feature_detected!("avx2"));
        assert!(std::arch::is_x86_feature_detected!("fma"));
        // SAFETY: the CPU has AVX2 and FMA (asserted above).
        return unsafe { simd::exp_avx2(x) };
    }
    x.iter_mut().for_each(|v| *v = v.exp());
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;

    use super::*;

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn exp_avx2(x: &mut [f32]) {
        let mut quads = x.chunks_exact_mut(4);
        for q in &mut quads {
            if q.iter().all(|&v| in_range(v)) {
                // SAFETY: q holds 4 floats; TABLE has 32 entries and every index is k mod 32.
                unsafe { quad(q) };
            } else {
                q.iter_mut().for_each(|v| *v = exp_scalar(*v));
            }
        }
        quads
            .into_remainder()
            .iter_mut()
            .for_each(|v| *v = exp_scalar(*v));
    }

    #[inline(always)]
    fn exp_scalar(x: f32) -> f32 {
        if in_range(x) {
            exp_fast(x)
        } else {
            x.exp()
        }
    }

    /// `exp_fast` on four lanes.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn quad(q: &mut [f32]) {
        let xd = _mm256_cvtps_pd(_mm_loadu_ps(q.as_ptr()));
        let inv = _mm256_set1_pd(INV_LN2_N);
        let shift = _mm256_set1_pd(SHIFT);
        let z = _mm256_fmadd_pd(inv, xd, shift);
        let k = _mm256_castpd_si256(z);
        let kd = _mm256_sub_pd(z, shift);
        let r = _mm256_fmsub_pd(inv, xd, kd);
        let idx = _mm256_and_si256(k, _mm256_set1_epi64x(31));
        let t = _mm256_i64gather_epi64::<8>(TABLE.as_ptr().cast::<i64>(), idx);
        let s = _mm256_castsi256_pd(_mm256_add_epi64(t, _mm256_slli_epi64::<47>(k)));
        let p = _mm256_fmadd_pd(_mm256_set1_pd(C0), r, _mm256_set1_pd(C1));
        let r2 = _mm256_mul_pd(r, r);
        let y = _mm256_fmadd_pd(_mm256_set1_pd(C2), r, _mm256_set1_pd(1.0));
        let y = _mm256_mul_pd(_mm256_fmadd_pd(p, r2, y), s);
        _mm_storeu_ps(q.as_mut_ptr(), _mm256_cvtpd_ps(y));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs across the softmax's range (≤ 0) and beyond: a dense grid, every float near 0,
    /// the edges of the fast path, and the special values.
    fn inputs() -> Vec<f32> {
        let mut x: Vec<f32> = (0..2_000_000).map(|i| -110.0 + i as f32 * 1.2e-4).collect();
        x.extend((0..100_000u32).map(|i| f32::from_bits(i * 331)));
        x.extend((0..100_000u32).map(|i| -f32::from_bits(i * 331)));
        x.extend([87.9, 88.0, 88.7, 89.0, -87.9, -88.0, -103.9, -104.0, -150.0]);
        x.extend([f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 0.0, -0.0]);
        x
    }

    #[test]
    fn within_one_ulp_of_exp() {
        // The algorithm's documented error is 0.502 ulp: compare with the f64 exp, rounded.
        let mut y = inputs();
        let x = y.clone();
        exp_in_place(&mut y, fast::<f32>());
        for (&a, &b) in x.iter().zip(&y) {
            let want = (a as f64).exp() as f32;
            let ulps = (want.to_bits() as i64 - b.to_bits() as i64).abs();
            assert!(
                ulps <= 1 || (want.is_nan() && b.is_nan()),
                "exp({a}) = {b}, want {want}"
            );
        }
    }

    #[test]
    fn the_vector_path_gives_the_scalar_paths_bits() {
        let x = inputs();
        let mut y = x.clone();
        exp_in_place(&mut y, fast::<f32>());
        for (&a, &b) in x.iter().zip(&y) {
            let want = if in_range(a) { exp_fast(a) } else { a.exp() };
            assert!(want.to_bits() == b.to_bits(), "exp({a}): {b} vs {want}");
        }
    }

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn the_fast_path_is_glibcs_expf_where_it_runs() {
        // glibc's expf is this algorithm on CPUs with FMA: the two must agree bit for bit
        // there (which keeps training results those of the plain `f32::exp`).
        if !fast::<f32>() {
            return;
        }
        for a in inputs() {
            let (got, want) = (exp_fast(a), a.exp());
            if in_range(a) {
                assert!(
                    got.to_bits() == want.to_bits(),
                    "exp({a}): {got} vs glibc {want}"
                );
            }
        }
    }
}
