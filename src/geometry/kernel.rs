//! The lane kernel shared by every determinant path: L matrices at once, one per SIMD lane.
//!
//! A block holds LANES matrices lane-major: vector e holds entry e = 6·row + col of every
//! matrix. Per-lane control flow (the pivot choice) is written as compare + select.
//!
//! The same generic code runs on three vector types (`dispatch`): AVX-512 (8 f64 / 16 f32
//! lanes), AVX2+FMA (4 / 8 lanes) and portable scalar (1 lane). Each lane performs exactly the
//! same IEEE operations in the same order on every type (`simd`), so the three paths give
//! BIT-IDENTICAL results; the tests check it.

use super::simd::{One, Vector};
use crate::backend::Scalar;

/// Which compiled variant of the lane kernels to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// One lane, baseline instructions: runs everywhere.
    Scalar,
    /// 256-bit vectors with FMA (x86-64 with `avx2` and `fma`).
    Avx2,
    /// 512-bit vectors (x86-64 with `avx512f`).
    Avx512,
}

impl Kernel {
    /// The widest variant this CPU supports.
    pub fn detect() -> Kernel {
        [Kernel::Avx512, Kernel::Avx2]
            .into_iter()
            .find(|k| k.is_available())
            .unwrap_or(Kernel::Scalar)
    }

    /// Whether this CPU can run the variant.
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Every variant this CPU supports, narrowest first.
    pub fn available() -> Vec<Kernel> {
        [Kernel::Scalar, Kernel::Avx2, Kernel::Avx512]
            .into_iter()
            .filter(|k| k.is_available())
            .collect()
    }

    /// Matrices per block for element type `T` (the vector width in elements of T).
    pub fn lanes<T>(self) -> usize {
        let bytes = match self {
            Kernel::Scalar => return 1,
            Kernel::Avx2 => 32,
            Kernel::Avx512 => 64,
        };
        bytes / std::mem::size_of::<T>()
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
        }
    }
}

impl std::fmt::Display for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A piece of work written once, generic over the vector type. Implementations mark `run`
/// `#[inline(always)]` so that it is compiled inside the target-feature function that calls it.
pub(crate) trait LaneJob<T: Scalar> {
    type Output;
    fn run<V: Vector<T>>(self) -> Self::Output;
}

/// Runs `job` on the vector type of `kernel`.
/// The caller guarantees `kernel.is_available()` (checked by every public entry point).
pub(crate) fn dispatch<T: Scalar, J: LaneJob<T>>(kernel: Kernel, job: J) -> J::Output {
    debug_assert!(kernel.is_available());
    match kernel {
        Kernel::Scalar => job.run::<One<T>>(),
        // SAFETY: the public entry points only pass kernels whose features were detected.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => unsafe { x86::avx2(job) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe { x86::avx512(job) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => job.run::<One<T>>(),
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::LaneJob;
    use crate::backend::Scalar;
    use crate::geometry::simd::{W256, W512};

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn avx2<T: Scalar, J: LaneJob<T>>(job: J) -> J::Output {
        job.run::<W256<T>>()
    }

    #[target_feature(enable = "avx512f")]
    pub(super) fn avx512<T: Scalar, J: LaneJob<T>>(job: J) -> J::Output {
        job.run::<W512<T>>()
    }
}

/// Determinants of the LANES matrices of a block, `a[e]` holding entry e = 6·row + col of
/// every matrix (the block is overwritten), by Gaussian elimination with partial pivoting.
/// Per lane and column k:
/// 1. pivot: rows r = k+1..5 in order; row r is swapped with row k when |a[r][k]| > |a[k][k]|
///    (so row k ends up holding the first row of largest magnitude); the swaps' parity is kept;
/// 2. det ← det · a[k][k];
/// 3. m = a[r][k] · (1 / a[k][k]) for r > k (m = 0 when the pivot is 0: the column is then zero
///    below the diagonal and the determinant is 0), and a[r][c] ← a[r][c] − m·a[k][c] (fused);
///
/// and finally det ← −det for an odd number of swaps. So det = ±(((p₀·p₁)·p₂)···p₅).
///
/// The rows below the pivot end up in a different order than after LAPACK's single swap; that
/// changes where a row is stored, not what is computed in it (ties in step 1 could pick the
/// other of two equal pivots).
///
/// A NaN or ±inf entry always gives a NaN or ±inf determinant (`det6` relies on it): a
/// non-finite pivot enters the product, and non-finite products stay non-finite; otherwise the
/// non-finite value is in the active submatrix off the pivot: ±inf in the pivot column would
/// have been chosen as pivot; NaN there makes its row's multiplier NaN, hence its next entries;
/// in the pivot row at column c > k it reaches every row below through m·x (NaN even for
/// m = 0); elsewhere fma(·, ·, x) keeps it non-finite. So the next active submatrix holds a
/// non-finite value, down to the last 1×1 pivot.
#[inline(always)]
pub(crate) fn det6_block<T: Scalar, V: Vector<T>>(a: &mut [V; 36]) -> V {
    // One call per column, K a constant, so that every loop below has a constant trip count
    // and unrolls: the block then stays in vector registers.
    let mut det = V::splat(T::one());
    let mut odd = V::mask_none();
    column::<T, V, 0>(a, &mut det, &mut odd);
    det6_block_after_first(a, det, odd)
}

/// Steps 1..5 of `det6_block` and the sign, on a block whose step 0 is done (`det`, `odd` as
/// step 0 left them): for callers that know step 0's outcome (`cayley_menger::vol2_lanes`).
#[inline(always)]
pub(crate) fn det6_block_after_first<T: Scalar, V: Vector<T>>(
    a: &mut [V; 36],
    mut det: V,
    mut odd: V::Mask,
) -> V {
    column::<T, V, 1>(a, &mut det, &mut odd);
    column::<T, V, 2>(a, &mut det, &mut odd);
    column::<T, V, 3>(a, &mut det, &mut odd);
    column::<T, V, 4>(a, &mut det, &mut odd);
    column::<T, V, 5>(a, &mut det, &mut odd);
    V::select(odd, det.neg(), det)
}

/// Step K of `det6_block`: pivot, multiply the determinant by the pivot, eliminate below.
///
/// The swap decisions of step 1 come first, from magnitudes alone: the swap at row r compares
/// |a[r][K]| with the magnitude of the row k then holds, which is the running maximum
/// big = max_gt(|a[r]|, big) (`max_gt` keeps the old value unless the new one is strictly
/// larger, exactly as a swap happens only when strictly larger; NaN never wins either). So
/// the masks depend on a chain of max operations (latency ~2 cycles each) instead of compare →
/// blend → compare, and the row moves, the same selects as swapping in turn, hang off that
/// chain instead of lying on it. Same operations on the same values: the same bits. Each mask
/// is used as soon as it is made (kept in an array for all rows, they cost AVX2, with its 16
/// vector registers, ~30% in spills).
#[inline(always)]
fn column<T: Scalar, V: Vector<T>, const K: usize>(
    a: &mut [V; 36],
    det: &mut V,
    odd: &mut V::Mask,
) {
    let kk = 6 * K + K;
    // Row r's own entry a[r][K] is untouched until its turn (earlier swaps exchange row K with
    // earlier rows), so the chain of `big` runs ahead of the selects.
    let mut big = a[kk].abs();
    for r in K + 1..6 {
        let x = a[6 * r + K].abs();
        let swap = x.gt(big);
        big = x.max_gt(big);
        for c in K..6 {
            let (x, y) = (a[6 * K + c], a[6 * r + c]);
            a[6 * K + c] = V::select(swap, y, x);
            a[6 * r + c] = V::select(swap, x, y);
        }
        *odd = V::mask_xor(*odd, swap);
    }
    let p = a[kk];
    *det = det.mul(p);
    let zero = V::splat(T::zero());
    let inv = V::select(p.nonzero(), V::splat(T::one()).div(p), zero);
    for r in K + 1..6 {
        let m = a[6 * r + K].mul(inv);
        for c in K + 1..6 {
            a[6 * r + c] = m.neg_mul_add(a[6 * K + c], a[6 * r + c]);
        }
    }
}
