//! Independent references for the geometry tests: exact integer determinants (Bareiss),
//! Laplace expansion in f64, Gram–Schmidt rotations, random point sets, and the error law.
#![allow(dead_code)] // each test file uses a different part

use mha_cv::rng::Rng;

/// Unit roundoff: 2⁻²⁴ (f32), 2⁻⁵³ (f64).
pub const U32: f64 = 5.960_464_477_539_063e-8;
pub const U64: f64 = 1.110_223_024_625_156_5e-16;

/// Exact determinant of an n×n integer matrix by fraction-free (Bareiss) elimination in i128.
/// Every intermediate is a minor of the input; the products of two minors before each exact
/// division are checked, so an input too large for i128 panics instead of wrapping.
pub fn bareiss(m: &[i128], n: usize) -> i128 {
    let mut a = m.to_vec();
    let mut sign = 1;
    let mut prev = 1i128;
    for k in 0..n {
        if a[k * n + k] == 0 {
            match (k + 1..n).find(|&r| a[r * n + k] != 0) {
                None => return 0,
                Some(r) => {
                    for c in 0..n {
                        a.swap(k * n + c, r * n + c);
                    }
                    sign = -sign;
                }
            }
        }
        for r in k + 1..n {
            for c in k + 1..n {
                let v = a[r * n + c]
                    .checked_mul(a[k * n + k])
                    .zip(a[r * n + k].checked_mul(a[k * n + c]))
                    .and_then(|(x, y)| x.checked_sub(y))
                    .expect("Bareiss: i128 overflow; use smaller integers");
                assert_eq!(v % prev, 0, "Bareiss division must be exact");
                a[r * n + c] = v / prev;
            }
        }
        prev = a[k * n + k];
    }
    sign * a[n * n - 1]
}

/// Determinant by Laplace expansion along the first row, in f64 (n ≤ 6: at most 720 terms).
pub fn laplace(m: &[f64], n: usize) -> f64 {
    if n == 1 {
        return m[0];
    }
    let mut det = 0.0;
    for j in 0..n {
        let minor: Vec<f64> = (1..n)
            .flat_map(|r| (0..n).filter(move |&c| c != j).map(move |c| (r, c)))
            .map(|(r, c)| m[r * n + c])
            .collect();
        let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
        det += sign * m[j] * laplace(&minor, n - 1);
    }
    det
}

/// Hadamard's bound ∏ᵢ ‖row i‖₂ of a row-major 6×6 matrix.
pub fn hadamard6(m: &[f64]) -> f64 {
    m.chunks(6)
        .map(|r| r.iter().map(|x| x * x).sum::<f64>().sqrt())
        .product()
}

/// The Cayley–Menger matrix (6×6) of 5 integer points, exactly.
pub fn cm_exact(p: &[Vec<i64>]) -> Vec<i128> {
    let mut cm = vec![0i128; 36];
    for k in 1..6 {
        cm[k] = 1;
        cm[6 * k] = 1;
    }
    for i in 0..5 {
        for j in 0..5 {
            let d2: i64 = p[i].iter().zip(&p[j]).map(|(a, b)| (a - b) * (a - b)).sum();
            cm[6 * (i + 1) + j + 1] = d2 as i128;
        }
    }
    cm
}

/// H = ∏ₖ |pₖ − p₀|² / 576: Hadamard's bound on vol², the scale of its rounding error.
pub fn hscale(p: &[Vec<f64>]) -> f64 {
    (1..5)
        .map(|k| {
            p[k].iter()
                .zip(&p[0])
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
        })
        .product::<f64>()
        / 576.0
}

/// vol² from the 4×4 Gram matrix of the edge vectors pₖ − p₀, by Laplace expansion in f64:
/// vol² = det(G) / 576. Independent of the Cayley–Menger path.
pub fn vol2_gram(p: &[Vec<f64>]) -> f64 {
    let e: Vec<Vec<f64>> = (1..5)
        .map(|k| p[k].iter().zip(&p[0]).map(|(a, b)| a - b).collect())
        .collect();
    let g: Vec<f64> = (0..16)
        .map(|ij| e[ij / 4].iter().zip(&e[ij % 4]).map(|(a, b)| a * b).sum())
        .collect();
    laplace(&g, 4) / 576.0
}

/// Points flattened (5·D) as T.
pub fn flat<T: mha_cv::backend::Scalar>(p: &[Vec<f64>]) -> Vec<T> {
    p.iter()
        .flatten()
        .map(|&x| <T as mha_cv::backend::Scalar>::from_f64(x))
        .collect()
}

/// 5 points with independent standard normal coordinates in `dim` dimensions.
pub fn gaussian_points(rng: &mut Rng, dim: usize) -> Vec<Vec<f64>> {
    (0..5)
        .map(|_| (0..dim).map(|_| rng.normal()).collect())
        .collect()
}

/// 5 points with integer coordinates uniform in [−r, r].
pub fn integer_points(rng: &mut Rng, dim: usize, r: i64) -> Vec<Vec<i64>> {
    (0..5)
        .map(|_| {
            (0..dim)
                .map(|_| rng.below((2 * r + 1) as u64) as i64 - r)
                .collect()
        })
        .collect()
}

/// A random orthogonal D×D matrix (row-major): Gram–Schmidt (twice, for orthogonality to
/// working precision) on Gaussian rows, in f64.
pub fn random_rotation(rng: &mut Rng, dim: usize) -> Vec<f64> {
    let mut q: Vec<Vec<f64>> = Vec::with_capacity(dim);
    while q.len() < dim {
        let mut v: Vec<f64> = (0..dim).map(|_| rng.normal()).collect();
        for _ in 0..2 {
            for u in &q {
                let d: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(u).for_each(|(a, b)| *a -= d * b);
            }
        }
        let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if n > 1e-6 {
            q.push(v.iter().map(|x| x / n).collect());
        }
    }
    q.concat()
}
