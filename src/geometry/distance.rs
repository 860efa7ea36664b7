//! Squared Euclidean distance by direct differences, in a fixed summation order.
//!
//! d² = Σ_c (a[c] − b[c])² with 8 partial sums: acc[k] accumulates the columns c ≡ k (mod 8)
//! in increasing c by fused multiply-add, and the partial sums are combined as
//! ((acc0 + acc4) + (acc2 + acc6)) + ((acc1 + acc5) + (acc3 + acc7)).
//! The order is part of the definition, so every kernel (and any reimplementation following
//! it) gives the same bits; the 8 independent chains also let it run as one vector FMA per
//! 8 columns.

use crate::backend::Scalar;

#[inline(always)]
pub(crate) fn sqdist<T: Scalar>(a: &[T], b: &[T]) -> T {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [T::zero(); 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (a8.remainder(), b8.remainder());
    for (x, y) in a8.zip(b8) {
        for k in 0..8 {
            let d = x[k] - y[k];
            acc[k] = d.mul_add(d, acc[k]);
        }
    }
    for k in 0..ar.len() {
        let d = ar[k] - br[k];
        acc[k] = d.mul_add(d, acc[k]);
    }
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}
