//! Cayley–Menger volumes: closed forms, exact integer oracle, invariances, fused vs gathered,
//! kernels bit for bit, bad input.
//!
//! Error law (numerics.md): |vol²_computed − vol²| ≤ c·u·H, H = ∏ₖ |pₖ − p₀|² / 576.
//! - c = 16 when the squared distances are exact (integer coordinates): only the determinant
//!   rounds. Largest seen over 140 000 random integer sets (D = 3..64): 6.8·u·H (f64), 5.9 (f32).
//! - c = 64 for real coordinates (the distances round too). Largest seen over 40 000 Gaussian
//!   and degenerate sets (D = 4..256): 38·u·H (f32, degenerate, D = 4), 24 (f64).
//!
//! Two computed volumes that should agree (invariances) may differ by twice the bound.

use crate::geometry_support;

use geometry_support::*;
use mha_cv::backend::Scalar;
use mha_cv::geometry::cayley_menger::{
    vol2_from_points, vol2_from_points_with, vol2_fused, vol2_fused_with,
};
use mha_cv::geometry::Kernel;
use mha_cv::rng::Rng;

const C_INT: f64 = 16.0;
const C_VOL: f64 = 64.0;

/// vol² of one simplex through the fused path, in T, returned as f64.
fn vol2<T: Scalar>(p: &[Vec<f64>]) -> f64 {
    let m: Vec<T> = flat(p);
    let mut out = [T::zero()];
    vol2_fused(&m, 5, p[0].len(), &[[0, 1, 2, 3, 4]], &mut out).unwrap();
    Scalar::to_f64(out[0])
}

fn pad(p: &[Vec<f64>], dim: usize) -> Vec<Vec<f64>> {
    p.iter()
        .map(|v| {
            let mut w = v.clone();
            w.resize(dim, 0.0);
            w
        })
        .collect()
}

/// Regular 4-simplex s·eᵢ ⊂ R⁵ (edge a = s√2): vol² = 5a⁸/9216, in R⁵ and padded to D = 64.
#[test]
fn regular_simplex_any_edge() {
    for s in [1e-3, 0.1, 1.0, 3.0, 1e3] {
        let p: Vec<Vec<f64>> = (0..5)
            .map(|i| (0..5).map(|j| if i == j { s } else { 0.0 }).collect())
            .collect();
        let a2 = 2.0 * s * s;
        let exact = 5.0 * a2.powi(4) / 9216.0;
        for dim in [5, 64] {
            let q = pad(&p, dim);
            let h = hscale(&q);
            let e64 = (vol2::<f64>(&q) - exact).abs();
            let e32 = (vol2::<f32>(&q) - exact).abs();
            assert!(e64 <= C_VOL * U64 * h, "s {s} D {dim}: f64 error {e64:e}");
            assert!(e32 <= C_VOL * U32 * h, "s {s} D {dim}: f32 error {e32:e}");
        }
    }
}

/// Unit basis vectors: every d² is exactly 2 and every elimination step is exact, so
/// det(CM) = −5·2⁴ = −80 and vol² = 80/9216 to the bit (the unit-edge det(CM) = −5 scaled).
#[test]
fn regular_simplex_exact() {
    let p: Vec<Vec<f64>> = (0..5)
        .map(|i| (0..5).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    assert_eq!(vol2::<f64>(&p), 80.0 / 9216.0);
    assert_eq!(vol2::<f32>(&p), (80.0f32 / 9216.0) as f64);
}

/// The corner simplex 0, s₁e₁, …, s₄e₄: vol = s₁s₂s₃s₄/24.
#[test]
fn corner_simplex() {
    for s in [
        [1.0, 2.0, 3.0, 4.0],
        [0.5, 1e-2, 7.0, 1e3],
        [1e-4, 1e-4, 1e-4, 1e-4],
    ] {
        let mut p = vec![vec![0.0; 4]];
        for (k, &sk) in s.iter().enumerate() {
            let mut v = vec![0.0; 4];
            v[k] = sk;
            p.push(v);
        }
        let exact = (s.iter().product::<f64>() / 24.0).powi(2);
        for dim in [4, 9] {
            let q = pad(&p, dim);
            let h = hscale(&q);
            assert!((vol2::<f64>(&q) - exact).abs() <= C_VOL * U64 * h, "{s:?}");
            assert!((vol2::<f32>(&q) - exact).abs() <= C_VOL * U32 * h, "{s:?}");
        }
    }
}

/// Five points in a 3-dimensional subspace: true vol² = 0, computed within the law. Integer
/// combinations of 3 integer vectors (exact distances) and Gaussian ones.
#[test]
fn degenerate_sets_are_zero_within_law() {
    let mut rng = Rng::new(21);
    for dim in [4, 8, 64] {
        for _ in 0..500 {
            let basis = integer_points(&mut rng, dim, 3);
            let p: Vec<Vec<f64>> = (0..5)
                .map(|_| {
                    let c: Vec<i64> = (0..3).map(|_| rng.below(7) as i64 - 3).collect();
                    (0..dim)
                        .map(|k| (0..3).map(|j| c[j] * basis[j][k]).sum::<i64>() as f64)
                        .collect()
                })
                .collect();
            let h = hscale(&p);
            assert!(vol2::<f64>(&p).abs() <= C_INT * U64 * h);
            assert!(vol2::<f32>(&p).abs() <= C_INT * U32 * h);
            let g = gaussian_points(&mut rng, dim);
            let q: Vec<Vec<f64>> = (0..5)
                .map(|_| {
                    let c: Vec<f64> = (0..3).map(|_| rng.normal()).collect();
                    (0..dim)
                        .map(|k| (0..3).map(|j| c[j] * g[j][k]).sum::<f64>())
                        .collect()
                })
                .collect();
            let h = hscale(&q);
            assert!(vol2::<f64>(&q).abs() <= C_VOL * U64 * h);
            assert!(vol2::<f32>(&q).abs() <= C_VOL * U32 * h);
        }
    }
}

/// Integer points: det(CM) exactly by Bareiss in i128; vol² = −det/9216 within c·u·H, c = 16.
#[test]
fn integer_points_match_exact_bareiss() {
    let mut rng = Rng::new(22);
    for (dim, r) in [(3, 10), (4, 3), (4, 100), (5, 40), (8, 10), (64, 10)] {
        for _ in 0..2000 {
            let p = integer_points(&mut rng, dim, r);
            let exact = bareiss(&cm_exact(&p), 6) as f64 / -9216.0;
            let pf: Vec<Vec<f64>> = p
                .iter()
                .map(|v| v.iter().map(|&x| x as f64).collect())
                .collect();
            let h = hscale(&pf);
            let (v64, v32) = (vol2::<f64>(&pf), vol2::<f32>(&pf));
            assert!(
                (v64 - exact).abs() <= C_INT * U64 * h,
                "D {dim} r {r}: {v64} vs {exact}"
            );
            assert!(
                (v32 - exact).abs() <= C_INT * U32 * h,
                "D {dim} r {r}: {v32} vs {exact}"
            );
        }
    }
}

/// Translation by an exactly representable vector, of points on a dyadic grid: every
/// difference pᵢ − pⱼ is unchanged exactly, so vol² is unchanged to the bit, even 10⁶ (f64)
/// or 10³ (f32) away from the origin, where the Gram form |a|² + |b|² − 2a·b would not be.
#[test]
fn translation_is_exact_on_a_grid() {
    let mut rng = Rng::new(23);
    for dim in [4, 8, 64] {
        for _ in 0..100 {
            let p: Vec<Vec<f64>> = (0..5)
                .map(|_| {
                    (0..dim)
                        .map(|_| (rng.below(129) as f64 - 64.0) / 64.0)
                        .collect()
                })
                .collect();
            for (t, f32_too) in [(1e6, false), (1e3, true), (-777.0, true)] {
                let shift: Vec<f64> = (0..dim).map(|k| t * (1.0 + (k % 3) as f64)).collect();
                let q: Vec<Vec<f64>> = p
                    .iter()
                    .map(|v| v.iter().zip(&shift).map(|(a, b)| a + b).collect())
                    .collect();
                assert_eq!(vol2::<f64>(&q).to_bits(), vol2::<f64>(&p).to_bits());
                if f32_too {
                    assert_eq!(vol2::<f32>(&q).to_bits(), vol2::<f32>(&p).to_bits());
                }
            }
        }
    }
}

/// f32 points 10³ from the origin with unit spread: vol² within the law of the exact value
/// of those f32 points (Gram determinant in f64 of the f32-rounded points).
#[test]
fn far_from_origin_f32_keeps_accuracy() {
    let mut rng = Rng::new(24);
    for dim in [4, 64] {
        for _ in 0..300 {
            let p: Vec<Vec<f64>> = gaussian_points(&mut rng, dim)
                .iter()
                .map(|v| v.iter().map(|&x| ((x + 1e3) as f32) as f64).collect())
                .collect();
            let h = hscale(&p);
            assert!((vol2::<f32>(&p) - vol2_gram(&p)).abs() <= C_VOL * U32 * h);
        }
    }
}

/// A random rotation Q (Gram–Schmidt on Gaussian rows, f64) leaves vol² unchanged within
/// twice the law (both volumes round; rotating rounds the coordinates by ~u·|p| more).
#[test]
fn rotation_invariance() {
    let mut rng = Rng::new(25);
    for dim in [4, 5, 8, 64] {
        for _ in 0..50 {
            let q = random_rotation(&mut rng, dim);
            let p = gaussian_points(&mut rng, dim);
            let rotated: Vec<Vec<f64>> = p
                .iter()
                .map(|v| {
                    (0..dim)
                        .map(|i| (0..dim).map(|k| q[i * dim + k] * v[k]).sum())
                        .collect()
                })
                .collect();
            let h = hscale(&p);
            let d = (vol2::<f64>(&rotated) - vol2::<f64>(&p)).abs();
            assert!(
                d <= 2.0 * C_VOL * U64 * h,
                "D {dim}: {d:e} vs {:e}",
                U64 * h
            );
        }
    }
}

/// Scaling by s multiplies vol² by s⁸, within twice the law. (Not bit for bit even for s = 2:
/// CM(s·p) = W·CM(p)·W with W = diag(1/s, s, …, s), which changes the pivot comparisons
/// between row 0 and the others.)
#[test]
fn scaling_gives_s_to_the_eighth() {
    let mut rng = Rng::new(26);
    for dim in [4, 64] {
        for _ in 0..100 {
            let p = gaussian_points(&mut rng, dim);
            let scaled = |s: f64| -> Vec<Vec<f64>> {
                p.iter()
                    .map(|v| v.iter().map(|x| x * s).collect())
                    .collect()
            };
            for s in [2.0, 3.0, 0.1] {
                let s8 = f64::powi(s, 8);
                let h = hscale(&p) * s8;
                let d = (vol2::<f64>(&scaled(s)) - s8 * vol2::<f64>(&p)).abs();
                assert!(d <= 2.0 * C_VOL * U64 * h, "s {s}");
                let d = (vol2::<f32>(&scaled(s)) - s8 * vol2::<f32>(&p)).abs();
                assert!(d <= 2.0 * C_VOL * U32 * h, "s {s} (f32)");
            }
        }
    }
}

/// The fused path (rows by index) and the gathered path (B, 5, D) give the same bits, on every
/// kernel, for batch sizes off the lane counts and past the parallel threshold (1024).
#[test]
fn fused_equals_gathered_on_every_kernel() {
    let mut rng = Rng::new(27);
    let (rows, dim) = (40, 13);
    let matrix: Vec<f64> = (0..rows * dim).map(|_| rng.normal()).collect();
    let m32: Vec<f32> = matrix.iter().map(|&x| x as f32).collect();
    for batch in [1, 7, 37, 1001, 2500] {
        let idx = mha_cv::geometry::sampler::sample_indices(rows, batch, &mut rng);
        let gathered: Vec<f64> = idx
            .iter()
            .flat_map(|t| {
                t.iter()
                    .flat_map(|&i| matrix[i as usize * dim..][..dim].to_vec())
            })
            .collect();
        let g32: Vec<f32> = gathered.iter().map(|&x| x as f32).collect();
        let mut reference = vec![0.0f64; batch];
        let mut ref32 = vec![0.0f32; batch];
        vol2_fused_with(Kernel::Scalar, &matrix, rows, dim, &idx, &mut reference).unwrap();
        vol2_fused_with(Kernel::Scalar, &m32, rows, dim, &idx, &mut ref32).unwrap();
        for k in Kernel::available() {
            let mut a = vec![0.0f64; batch];
            let mut b = vec![0.0f64; batch];
            vol2_fused_with(k, &matrix, rows, dim, &idx, &mut a).unwrap();
            vol2_from_points_with(k, &gathered, batch, dim, &mut b).unwrap();
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&reference), "fused {k} batch {batch}");
            assert_eq!(bits(&b), bits(&reference), "gathered {k} batch {batch}");
            let mut a32 = vec![0.0f32; batch];
            let mut b32 = vec![0.0f32; batch];
            vol2_fused_with(k, &m32, rows, dim, &idx, &mut a32).unwrap();
            vol2_from_points_with(k, &g32, batch, dim, &mut b32).unwrap();
            assert_eq!(a32, ref32, "fused f32 {k} batch {batch}");
            assert_eq!(b32, ref32, "gathered f32 {k} batch {batch}");
        }
    }
}

#[test]
fn malformed_input_is_an_error() {
    let m = vec![0.5f64; 6 * 3];
    let mut out = vec![0.0; 1];
    let e = |r: mha_cv::Result<()>| r.unwrap_err().to_string();
    let msg = e(vol2_fused(&m, 6, 4, &[[0, 1, 2, 3, 4]], &mut out));
    assert!(msg.contains("18") && msg.contains("6·4"), "{msg}");
    let msg = e(vol2_fused(&m, 6, 3, &[[0, 1, 2, 3, 6]], &mut out));
    assert!(msg.contains("index 6") && msg.contains("6 rows"), "{msg}");
    let msg = e(vol2_fused(&m, 6, 3, &[[0, 1, 2, 1, 4]], &mut out));
    assert!(msg.contains("index 1 appears twice"), "{msg}");
    let msg = e(vol2_fused(&m, 6, 3, &[[0, 1, 2, 3, 4]; 2], &mut out));
    assert!(msg.contains("expected 2"), "{msg}");
    let msg = e(vol2_from_points(&m, 1, 4, &mut out));
    assert!(msg.contains("1·5·4"), "{msg}");
    let msg = e(vol2_from_points(&m[..15], 1, 3, &mut [0.0; 3]));
    assert!(msg.contains("expected 1"), "{msg}");
}

#[test]
fn non_finite_coordinates_are_errors() {
    let mut m = vec![0.5f64; 6 * 3];
    m[4 * 3 + 2] = f64::NAN;
    let mut out = vec![0.0; 1];
    let msg = vol2_fused(&m, 6, 3, &[[0, 1, 2, 3, 5]], &mut out)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("row 4, column 2 is NaN"), "{msg}");
    m[4 * 3 + 2] = f64::INFINITY;
    let msg = vol2_from_points(&m[..15], 1, 3, &mut out)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("row 4, column 2 is inf"), "{msg}");
}
