//! The batched determinant against LAPACK (getrf through ndarray-linalg, the system OpenBLAS):
//! an independent implementation of the same algorithm. Needs `--features lapack` and
//! `apt-get install libopenblas-dev`.
//!
//! Both are backward stable, so each lies within c·u·∏‖aᵢ‖₂ of the exact determinant and
//! they may differ by twice that:
//! - c = 8 for well-scaled matrices (tests/geometry_det.rs; here Gaussian, uniform and nearly
//!   singular ones);
//! - c = 512 for rows scaled over 12 orders of magnitude. Partial pivoting is not invariant
//!   under row scaling: it picks the largest row even where its pivot is small within that
//!   row, so |L||U| grows past |A|. Measured over 20 000 such matrices against an f64
//!   reference: textbook pivoted LU in f32 reaches 172·u·∏‖aᵢ‖ (ours, to the bit, and a
//!   separate scalar implementation), OpenBLAS's sgetrf 31 (it accumulates its dot products
//!   differently); in f64, ours and dgetrf differ by up to 151.

use ndarray::Array2;
use ndarray_linalg::Determinant;

use mha_cv::geometry::det6::{det6_batch, det6_batch_with};
use mha_cv::geometry::Kernel;
use mha_cv::rng::Rng;

// The system OpenBLAS provides LAPACK's getrf (and the CBLAS ndarray's `blas` feature declares);
// ndarray-linalg is built without a backend feature, so the link is made here.
#[link(name = "openblas")]
extern "C" {}

const C_DET: f64 = 8.0;
const C_ROW_SCALED: f64 = 512.0;
const U64: f64 = 1.110_223_024_625_156_5e-16;
const U32: f64 = 5.960_464_477_539_063e-8;

fn hadamard(m: &[f64]) -> f64 {
    m.chunks(6)
        .map(|r| r.iter().map(|x| x * x).sum::<f64>().sqrt())
        .product()
}

/// Gaussian, uniform, badly scaled rows and nearly singular matrices.
fn test_matrices(rng: &mut Rng) -> Vec<f64> {
    let mut m = Vec::new();
    for b in 0..4000 {
        let kind = b % 4;
        let mut a: Vec<f64> = (0..36)
            .map(|_| match kind {
                0 => rng.normal(),
                1 => rng.uniform_in(-1.0, 1.0),
                _ => rng.normal(),
            })
            .collect();
        if kind == 2 {
            // Rows scaled over 12 orders of magnitude.
            for (r, row) in a.chunks_mut(6).enumerate() {
                row.iter_mut()
                    .for_each(|x| *x *= 10f64.powi(2 * r as i32 - 6));
            }
        }
        if kind == 3 {
            // Row 5 = row 0 + row 1 + 1e-9 noise: nearly singular.
            for c in 0..6 {
                a[30 + c] = a[c] + a[6 + c] + 1e-9 * rng.normal();
            }
        }
        m.extend(a);
    }
    m
}

#[test]
fn matches_lapack_f64_and_f32() {
    let mut rng = Rng::new(31);
    let m = test_matrices(&mut rng);
    let batch = m.len() / 36;
    let mut d64 = vec![0.0f64; batch];
    det6_batch(&m, &mut d64).unwrap();
    let m32: Vec<f32> = m.iter().map(|&x| x as f32).collect();
    let mut d32 = vec![0.0f32; batch];
    det6_batch(&m32, &mut d32).unwrap();
    for b in 0..batch {
        let a = &m[36 * b..36 * b + 36];
        let lapack = Array2::from_shape_vec((6, 6), a.to_vec())
            .unwrap()
            .det()
            .unwrap();
        let c = if b % 4 == 2 { C_ROW_SCALED } else { C_DET };
        let h = hadamard(a);
        assert!(
            (d64[b] - lapack).abs() <= 2.0 * c * U64 * h,
            "matrix {b}: {} vs LAPACK {lapack}",
            d64[b]
        );
        // Both on the same f32 input.
        let a32: Vec<f32> = m32[36 * b..36 * b + 36].to_vec();
        let lapack32 = Array2::from_shape_vec((6, 6), a32).unwrap().det().unwrap() as f64;
        assert!(
            (d32[b] as f64 - lapack32).abs() <= 2.0 * c * U32 * h,
            "matrix {b} (f32): {} vs LAPACK {lapack32}",
            d32[b]
        );
    }
}

#[test]
fn every_kernel_matches_lapack() {
    let mut rng = Rng::new(32);
    let m: Vec<f64> = (0..36 * 101).map(|_| rng.normal()).collect();
    for k in Kernel::available() {
        let mut d = vec![0.0f64; 101];
        det6_batch_with(k, &m, &mut d).unwrap();
        for b in 0..101 {
            let a = &m[36 * b..36 * b + 36];
            let lapack = Array2::from_shape_vec((6, 6), a.to_vec())
                .unwrap()
                .det()
                .unwrap();
            assert!(
                (d[b] - lapack).abs() <= 2.0 * C_DET * U64 * hadamard(a),
                "{k} {b}"
            );
        }
    }
}
