//! Squared Euclidean distances by direct differences, in a fixed summation order.
//!
//! d² = Σ_c (a[c] − b[c])² with 8 partial sums: acc[k] accumulates the columns c ≡ k (mod 8)
//! in increasing c by fused multiply-add, and the partial sums are combined as
//! ((acc0 + acc4) + (acc2 + acc6)) + ((acc1 + acc5) + (acc3 + acc7)).
//! The order is part of the definition: every kernel, and any reimplementation that follows
//! it, gives the same bits. The 8 independent chains also run as one vector FMA per 8 columns,
//! and `sqdists5` keeps the 10 pairs of a simplex in flight together (10 independent chains),
//! which hides the FMA latency that one pair at a time would expose.

use super::acc8::Acc8;
use crate::backend::Scalar;

/// The 10 vertex pairs (i < j) of a 4-simplex, in the order their squared distances are kept.
pub(crate) const PAIRS: [(usize, usize); 10] = [
    (0, 1),
    (0, 2),
    (0, 3),
    (0, 4),
    (1, 2),
    (1, 3),
    (1, 4),
    (2, 3),
    (2, 4),
    (3, 4),
];

/// The 10 squared distances (in `PAIRS` order) between 5 points of equal length, with the
/// accumulator type of the running kernel. A tail of dim mod 8 columns is zero-padded: the
/// padding adds (0 − 0)² = +0 to its lanes, which leaves them unchanged.
#[inline(always)]
pub(crate) fn sqdists5<T: Scalar, A: Acc8<T>>(p: [&[T]; 5]) -> [T; 10] {
    // Plain loops, no closures: a closure is a function of its own, compiled without the
    // kernel's target features, so the intrinsics inside `A`'s methods would become calls.
    let dim = p[0].len();
    let mut acc = [A::zero(); 10];
    let mut x = [A::zero(); 5];
    let full = dim / 8 * 8;
    for c in (0..full).step_by(8) {
        for i in 0..5 {
            x[i] = A::load(&p[i][c..c + 8]);
        }
        for (a, &(i, j)) in acc.iter_mut().zip(&PAIRS) {
            *a = a.add_sq_diff(x[i], x[j]);
        }
    }
    if full < dim {
        let mut tail = [T::zero(); 8];
        for i in 0..5 {
            tail[..dim - full].copy_from_slice(&p[i][full..dim]);
            x[i] = A::load(&tail);
        }
        for (a, &(i, j)) in acc.iter_mut().zip(&PAIRS) {
            *a = a.add_sq_diff(x[i], x[j]);
        }
    }
    let mut d2 = [T::zero(); 10];
    for (d, a) in d2.iter_mut().zip(&acc) {
        *d = a.combine();
    }
    d2
}

/// Squared distances from `x` to each of the `out.len()` rows of `others` (row-major, rows of
/// x.len() values) into `out`, with the same operations as `sqdists5` (the same bits: the
/// difference a − b is the exact negative of b − a, so its square is the same). Four rows at a
/// time share the loads of x and keep four independent chains in flight.
#[inline(always)]
pub(crate) fn sqdists_to<T: Scalar, A: Acc8<T>>(x: &[T], others: &[T], out: &mut [T]) {
    let dim = x.len();
    let mut groups = out.chunks_exact_mut(4);
    let mut first = 0;
    for o in &mut groups {
        let d = sqdists_group::<T, A, 4>(x, &others[first * dim..(first + 4) * dim]);
        o.copy_from_slice(&d);
        first += 4;
    }
    for o in groups.into_remainder() {
        *o = sqdists_group::<T, A, 1>(x, &others[first * dim..(first + 1) * dim])[0];
        first += 1;
    }
}

/// Squared distances from `x` to the G rows of `others` (G·x.len() values).
#[inline(always)]
fn sqdists_group<T: Scalar, A: Acc8<T>, const G: usize>(x: &[T], others: &[T]) -> [T; G] {
    let dim = x.len();
    let full = dim / 8 * 8;
    let mut acc = [A::zero(); G];
    for c in (0..full).step_by(8) {
        let a = A::load(&x[c..c + 8]);
        for (q, s) in acc.iter_mut().enumerate() {
            *s = s.add_sq_diff(a, A::load(&others[q * dim + c..q * dim + c + 8]));
        }
    }
    if full < dim {
        let mut tail = [T::zero(); 8];
        tail[..dim - full].copy_from_slice(&x[full..]);
        let a = A::load(&tail);
        for (q, s) in acc.iter_mut().enumerate() {
            tail[..dim - full].copy_from_slice(&others[q * dim + full..(q + 1) * dim]);
            *s = s.add_sq_diff(a, A::load(&tail));
        }
    }
    let mut d = [T::zero(); G];
    for (d, s) in d.iter_mut().zip(&acc) {
        *d = s.combine();
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// The squared distance between two points, in the same order as `sqdists5`.
    fn sqdist<T: Scalar>(a: &[T], b: &[T]) -> T {
        let mut acc = [T::zero(); 8];
        for (c, (x, y)) in a.iter().zip(b).enumerate() {
            let t = *x - *y;
            acc[c % 8] = t.mul_add(t, acc[c % 8]);
        }
        acc.combine()
    }

    /// The simplex form and the two-point form agree bit for bit, for lengths around the
    /// chunk size of 8, and d(a, b) = d(b, a) bit for bit.
    #[test]
    fn simplex_and_pair_forms_agree() {
        let mut rng = Rng::new(1);
        for dim in [0, 1, 7, 8, 9, 16, 63, 64, 65, 257] {
            let pts: Vec<Vec<f64>> = (0..5)
                .map(|_| (0..dim).map(|_| rng.normal()).collect())
                .collect();
            let d = sqdists5::<f64, [f64; 8]>([&pts[0][..], &pts[1], &pts[2], &pts[3], &pts[4]]);
            for (q, &(i, j)) in PAIRS.iter().enumerate() {
                assert_eq!(d[q].to_bits(), sqdist(&pts[i], &pts[j]).to_bits());
                assert_eq!(d[q].to_bits(), sqdist(&pts[j], &pts[i]).to_bits());
            }
        }
    }

    /// The documented order where it matters: 1 followed by 15 squares of 2⁻⁵⁴ (the partial
    /// sums keep some of them; a running sum keeps none).
    #[test]
    fn order_is_the_documented_one() {
        let mut a = vec![2f64.powi(-27); 16];
        a[0] = 1.0;
        let b = vec![0.0f64; 16];
        // acc0 = 1 + 2⁻⁵⁴ rounds to 1; acc1..7 = 2·2⁻⁵⁴ each; combined: 1 + 14·2⁻⁵⁴ …
        let mut acc = [0.0f64; 8];
        for c in 0..16 {
            acc[c % 8] = a[c].mul_add(a[c], acc[c % 8]);
        }
        let expect =
            ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
        assert_eq!(sqdist(&a, &b), expect);
        let running: f64 = a.iter().map(|x| x * x).sum();
        assert_ne!(expect, running);
    }
}
