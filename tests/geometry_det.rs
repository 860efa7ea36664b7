//! The batched 6×6 determinant: exact integer oracle, closed forms, kernels bit for bit, odd
//! batch sizes, and bad input.
//!
//! Error law for a well-scaled general matrix A (partial pivoting is backward stable):
//! |det_computed − det(A)| ≤ c·u·∏ᵢ‖aᵢ‖₂ (Hadamard's bound on |det A|), with c = 8.
//! c was fixed from 40 000 random integer matrices (entries in [−9, 9] and [−1000, 1000]),
//! whose largest error was 2.7·u·∏‖aᵢ‖ in f64 and 2.3 in f32. Rows scaled over many orders
//! of magnitude need a larger c (tests/geometry_lapack.rs).

use crate::geometry_support;

use geometry_support::{bareiss, hadamard6, laplace, U32, U64};
use mha_cv::geometry::det6::{det6_batch, det6_batch_with};
use mha_cv::geometry::Kernel;
use mha_cv::rng::Rng;

const C_DET: f64 = 8.0;

fn random_int_matrices(rng: &mut Rng, batch: usize, r: i64) -> Vec<i64> {
    (0..36 * batch)
        .map(|_| rng.below((2 * r + 1) as u64) as i64 - r)
        .collect()
}

fn dets<T: mha_cv::backend::Scalar>(mats: &[T]) -> Vec<T> {
    let mut out = vec![T::zero(); mats.len() / 36];
    det6_batch(mats, &mut out).unwrap();
    out
}

/// Integer matrices: exact determinants by Bareiss in i128; f64 and f32 within the error law.
#[test]
fn integer_matrices_match_exact_bareiss() {
    let mut rng = Rng::new(11);
    for r in [1, 9, 1000] {
        let m = random_int_matrices(&mut rng, 3000, r);
        let m64: Vec<f64> = m.iter().map(|&x| x as f64).collect();
        let m32: Vec<f32> = m.iter().map(|&x| x as f32).collect();
        let (d64, d32) = (dets(&m64), dets(&m32));
        for b in 0..3000 {
            let exact = bareiss(
                &m[36 * b..36 * b + 36]
                    .iter()
                    .map(|&x| x as i128)
                    .collect::<Vec<_>>(),
                6,
            ) as f64;
            let h = hadamard6(&m64[36 * b..36 * b + 36]);
            let e64 = (d64[b] - exact).abs();
            let e32 = (d32[b] as f64 - exact).abs();
            assert!(
                e64 <= C_DET * U64 * h,
                "f64 r {r} matrix {b}: {} vs {exact}",
                d64[b]
            );
            assert!(
                e32 <= C_DET * U32 * h,
                "f32 r {r} matrix {b}: {} vs {exact}",
                d32[b]
            );
        }
    }
}

/// Entries in {−1, 0, 1}: many exactly singular matrices and repeated pivot candidates.
/// Determinants that are exactly 0 need not come out as 0 (rounding), but must obey the law;
/// whole zero columns give exactly 0 (the zero-pivot branch).
#[test]
fn zero_columns_give_exact_zero() {
    let mut rng = Rng::new(12);
    let mut m: Vec<f64> = random_int_matrices(&mut rng, 64, 5)
        .iter()
        .map(|&x| x as f64)
        .collect();
    for b in 0..64 {
        let col = b % 6;
        for r in 0..6 {
            m[36 * b + 6 * r + col] = 0.0;
        }
    }
    assert!(dets(&m).iter().all(|&d| d == 0.0));
}

/// Closed forms: identity, a permutation (sign), diagonal, triangular, the unit-edge
/// Cayley–Menger matrix (−5), and a row scaled by s scales the determinant by s.
#[test]
fn closed_forms() {
    let mut mats: Vec<f64> = Vec::new();
    let mut expect: Vec<f64> = Vec::new();
    let identity: Vec<f64> = (0..36)
        .map(|e| if e % 7 == 0 { 1.0 } else { 0.0 })
        .collect();
    mats.extend(&identity);
    expect.push(1.0);
    // Permutation (0 1)(2 3 4): sign (−1)·(+1) = −1.
    let perm = [1, 0, 3, 4, 2, 5];
    mats.extend((0..36).map(|e| if perm[e / 6] == e % 6 { 1.0 } else { 0.0 }));
    expect.push(-1.0);
    mats.extend((0..36).map(|e| if e % 7 == 0 { (e / 7 + 1) as f64 } else { 0.0 }));
    expect.push(720.0);
    // Upper triangular with diagonal 2, −3, 0.5, 4, 1, −1 (and junk above): product 12.
    let diag = [2.0, -3.0, 0.5, 4.0, 1.0, -1.0];
    mats.extend((0..36).map(|e| match (e / 6, e % 6) {
        (r, c) if r == c => diag[r],
        (r, c) if c > r => (r * 7 + c) as f64 - 10.5,
        _ => 0.0,
    }));
    expect.push(12.0);
    // Cayley–Menger matrix of the regular 4-simplex with unit edge: −5.
    mats.extend((0..36).map(|e| match (e / 6, e % 6) {
        (0, 0) => 0.0,
        (r, c) if r == c => 0.0,
        _ => 1.0,
    }));
    expect.push(-5.0);
    let got = dets(&mats);
    for (k, (g, x)) in got.iter().zip(&expect).enumerate() {
        // Pivots ±1 or already on the diagonal, multipliers 0 or ±1: every step is exact.
        assert_eq!(g, x, "closed form {k}");
    }
    let got32 = dets(&mats.iter().map(|&x| x as f32).collect::<Vec<_>>());
    for (k, (g, x)) in got32.iter().zip(&expect).enumerate() {
        assert_eq!(*g as f64, *x, "closed form {k} (f32)");
    }
}

/// Lower triangular with large entries below the diagonal: pivoting swaps rows and divides
/// by non-powers of 2, so the result is rounded; within the law of the product 12.
#[test]
fn pivoted_triangular_within_law() {
    let diag = [2.0, -3.0, 0.5, 4.0, 1.0, -1.0];
    let m: Vec<f64> = (0..36)
        .map(|e| match (e / 6, e % 6) {
            (r, c) if r == c => diag[r],
            (r, c) if c < r => (r * 3 + c) as f64 + 5.0,
            _ => 0.0,
        })
        .collect();
    let d = dets(&m)[0];
    assert!((d - 12.0).abs() <= C_DET * U64 * hadamard6(&m), "{d}");
    let d32 = dets(&m.iter().map(|&x| x as f32).collect::<Vec<_>>())[0] as f64;
    assert!((d32 - 12.0).abs() <= C_DET * U32 * hadamard6(&m), "{d32}");
}

/// Random real matrices against Laplace expansion in f64 (720 products, an independent
/// algorithm), both within the law: |LU − Laplace| ≤ 2·c·u·H in f64 (Laplace's own error is
/// at most 720·6·u·H in the worst case but measured far smaller; the bound used is the LU one
/// doubled, which held with margin).
#[test]
fn real_matrices_match_laplace() {
    let mut rng = Rng::new(13);
    let m: Vec<f64> = (0..36 * 500).map(|_| rng.normal()).collect();
    let d = dets(&m);
    for b in 0..500 {
        let a = &m[36 * b..36 * b + 36];
        let tol = 2.0 * C_DET * U64 * hadamard6(a);
        assert!((d[b] - laplace(a, 6)).abs() <= tol, "matrix {b}");
    }
}

/// Every kernel this CPU has gives the same bits as the scalar one, at batch sizes that are
/// not multiples of any lane count and past the parallel threshold (2048 per task).
#[test]
fn kernels_are_bit_identical() {
    let mut rng = Rng::new(14);
    for batch in [1, 7, 37, 1001, 5003] {
        let m64: Vec<f64> = (0..36 * batch).map(|_| rng.uniform_in(-1.0, 1.0)).collect();
        let m32: Vec<f32> = m64.iter().map(|&x| x as f32).collect();
        let mut ref64 = vec![0.0f64; batch];
        let mut ref32 = vec![0.0f32; batch];
        det6_batch_with(Kernel::Scalar, &m64, &mut ref64).unwrap();
        det6_batch_with(Kernel::Scalar, &m32, &mut ref32).unwrap();
        for k in Kernel::available() {
            let mut o64 = vec![0.0f64; batch];
            let mut o32 = vec![0.0f32; batch];
            det6_batch_with(k, &m64, &mut o64).unwrap();
            det6_batch_with(k, &m32, &mut o32).unwrap();
            assert!(
                o64.iter()
                    .zip(&ref64)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "f64 {k} batch {batch}"
            );
            assert!(
                o32.iter()
                    .zip(&ref32)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "f32 {k} batch {batch}"
            );
        }
    }
}

/// Each matrix is independent of its neighbours in the batch: determinants computed one at a
/// time equal those computed in a batch, bit for bit (lane position does not matter).
#[test]
fn batch_position_does_not_matter() {
    let mut rng = Rng::new(15);
    let m: Vec<f64> = (0..36 * 37).map(|_| rng.normal()).collect();
    let all = dets(&m);
    for b in 0..37 {
        assert_eq!(dets(&m[36 * b..36 * b + 36])[0].to_bits(), all[b].to_bits());
    }
}

#[test]
fn this_machine_reports_its_kernel() {
    let k = Kernel::detect();
    assert!(k.is_available());
    assert!(Kernel::available().contains(&k));
    assert_eq!(Kernel::Scalar.lanes::<f64>(), 1);
    assert_eq!(Kernel::Avx512.lanes::<f64>(), 8);
    assert_eq!(Kernel::Avx512.lanes::<f32>(), 16);
}

#[test]
fn bad_lengths_are_errors() {
    let mut out = vec![0.0f64; 1];
    let e = det6_batch(&[0.0f64; 35], &mut out).unwrap_err().to_string();
    assert!(e.contains("35") && e.contains("multiple of 36"), "{e}");
    let e = det6_batch(&[0.0f64; 72], &mut out).unwrap_err().to_string();
    assert!(e.contains("expected 2"), "{e}");
    let mut none: Vec<f64> = vec![];
    det6_batch(&[] as &[f64], &mut none).unwrap();
}

/// A NaN or ±inf at any of the 36 positions of any matrix is an error that names the matrix
/// and the entry, in small batches and in the parallel path.
#[test]
fn non_finite_entries_are_errors() {
    let mut rng = Rng::new(16);
    for batch in [1, 9, 4099] {
        let clean: Vec<f64> = (0..36 * batch).map(|_| rng.normal()).collect();
        let mut out = vec![0.0; batch];
        for (e, bad) in [
            (0usize, f64::NAN),
            (17, f64::INFINITY),
            (35, f64::NEG_INFINITY),
        ] {
            let b = batch - 1 - (e % batch);
            let mut m = clean.clone();
            m[36 * b + e] = bad;
            let msg = det6_batch(&m, &mut out).unwrap_err().to_string();
            let want = format!("matrix {b}, entry ({}, {})", e / 6, e % 6);
            assert!(msg.contains(&want), "{msg} (expected {want})");
            let m32: Vec<f32> = m.iter().map(|&x| x as f32).collect();
            let mut o32 = vec![0.0f32; batch];
            assert!(det6_batch(&m32, &mut o32).is_err());
        }
    }
}

/// The error for non-finite entries relies on the kernel turning any NaN or ±inf into a
/// non-finite determinant (kernel::det6_block). Checked exhaustively: every position, each of
/// NaN, +inf, −inf, alone and in pairs with a second bad value, on matrices that exercise
/// every branch (zero pivots, exact cancellation, subnormal pivots whose reciprocal
/// overflows, ties), on every kernel.
#[test]
fn every_non_finite_entry_is_caught() {
    let mut rng = Rng::new(17);
    let gauss: Vec<f64> = (0..36).map(|_| rng.normal()).collect();
    let ident: Vec<f64> = (0..36)
        .map(|e| if e % 7 == 0 { 1.0 } else { 0.0 })
        .collect();
    let subnormal: Vec<f64> = (0..36)
        .map(|e| if e % 7 == 0 { 1e-310 } else { 0.0 })
        .collect();
    let cm: Vec<f64> = (0..36)
        .map(|e| if e / 6 == e % 6 { 0.0 } else { 1.0 })
        .collect();
    let bases = [gauss, ident, subnormal, cm, vec![0.0; 36], vec![1.0; 36]];
    let bad = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
    let mut mats: Vec<f64> = Vec::new();
    for base in &bases {
        for e in 0..36 {
            for &x in &bad {
                let mut m = base.clone();
                m[e] = x;
                mats.extend(&m);
                // A second bad value elsewhere (e.g. +inf and −inf in one column).
                let f = (e * 7 + 5) % 36;
                for &y in &bad {
                    let mut m2 = m.clone();
                    m2[f] = y;
                    mats.extend(&m2);
                }
            }
        }
    }
    let batch = mats.len() / 36;
    let m32: Vec<f32> = mats.iter().map(|&x| x as f32).collect();
    for k in Kernel::available() {
        for b in 0..batch {
            let one = &mats[36 * b..36 * b + 36];
            assert!(det6_batch_with(k, one, &mut [0.0]).is_err(), "{k} {one:?}");
            let one32 = &m32[36 * b..36 * b + 36];
            assert!(
                det6_batch_with(k, one32, &mut [0.0]).is_err(),
                "{k} f32 {one:?}"
            );
        }
        // And in blocks, where each lane is independent.
        let mut out = vec![0.0; batch];
        assert!(det6_batch_with(k, &mats, &mut out).is_err());
    }
}

/// Finite entries whose determinant overflows are not an error: the result is ±inf.
#[test]
fn huge_finite_entries_are_not_errors() {
    let mut m = vec![0.0f64; 36];
    for d in 0..6 {
        m[7 * d] = 1e308;
    }
    m[1] = 1e308;
    let mut out = [0.0];
    det6_batch(&m, &mut out).unwrap();
    assert_eq!(out[0], f64::INFINITY);
}
