//! The fused volumes' two distance paths — a pool-wide table of squared distances, or 10
//! distances per sample from the rows — give the same bits, on every kernel, in f32 and f64.
//! Exact equality is the claim (both sum the same terms in the documented order), so there is
//! no tolerance: one differing bit fails.

use mha_cv::backend::Scalar;
use mha_cv::geometry::cayley_menger::{vol2_fused_via, vol2_fused_with, FusedPath, TABLE_MAX_ROWS};
use mha_cv::geometry::sampler::sample_indices;
use mha_cv::geometry::Kernel;
use mha_cv::rng::Rng;

fn bits<T: Scalar>(v: &[T]) -> Vec<u64> {
    v.iter().map(|&x| Scalar::to_f64(x).to_bits()).collect()
}

/// Rows of Gaussian coordinates with per-row scales over 6 orders of magnitude and offsets far
/// from the origin, so that the partial sums round differently in any other order.
fn matrix(rows: usize, cols: usize, rng: &mut Rng) -> Vec<f64> {
    let mut m = Vec::with_capacity(rows * cols);
    for _ in 0..rows {
        let scale = 10f64.powf(rng.uniform_in(-3.0, 3.0));
        let offset = rng.uniform_in(-100.0, 100.0);
        m.extend((0..cols).map(|_| offset + scale * rng.normal()));
    }
    m
}

/// Table, direct and automatic path, one kernel and precision: identical bits.
fn check<T: Scalar>(k: Kernel, m: &[T], rows: usize, cols: usize, idx: &[[u32; 5]]) {
    let run = |path| {
        let mut out = vec![T::zero(); idx.len()];
        vol2_fused_via(k, path, m, rows, cols, idx, &mut out).unwrap();
        out
    };
    let direct = run(FusedPath::Direct);
    let what = format!("{k} rows {rows} cols {cols} samples {}", idx.len());
    assert_eq!(bits(&run(FusedPath::Table)), bits(&direct), "table, {what}");
    assert_eq!(bits(&run(FusedPath::Auto)), bits(&direct), "auto, {what}");
    let mut with = vec![T::zero(); idx.len()];
    vol2_fused_with(k, m, rows, cols, idx, &mut with).unwrap();
    assert_eq!(bits(&with), bits(&direct), "vol2_fused_with, {what}");
}

/// Odd pool sizes (P not a multiple of 8 or 4, pools smaller than the matrix), column counts
/// around the 8-column chunks (D mod 8 ≠ 0 included, and D = 0), batch sizes off the lane
/// counts and past the parallel threshold (1024 volumes).
#[test]
fn table_and_direct_paths_give_identical_bits() {
    let mut rng = Rng::new(71);
    let cases = [
        (5, 5, 1, 3),
        (6, 6, 7, 0),
        (13, 9, 37, 1),
        (40, 37, 1001, 7),
        (40, 40, 2500, 13),
        (100, 61, 3000, 8),
        (67, 67, 300, 65),
        (203, 203, 1100, 64),
        (517, 517, 2000, 9),
    ];
    for (rows, pool, samples, cols) in cases {
        let m = matrix(rows, cols, &mut rng);
        let m32: Vec<f32> = m.iter().map(|&x| x as f32).collect();
        let idx = sample_indices(pool, samples, &mut rng);
        for k in Kernel::available() {
            check(k, &m, rows, cols, &idx);
            check(k, &m32, rows, cols, &idx);
        }
    }
}

/// Degenerate simplices (repeated coordinates: zero distances, zero volumes) and points on a
/// dyadic grid (exact distances) take the same bits on both paths too.
#[test]
fn degenerate_and_exact_inputs_agree() {
    let mut rng = Rng::new(72);
    let (rows, cols) = (29, 11);
    let mut m: Vec<f64> = (0..rows * cols)
        .map(|_| (rng.below(9) as f64 - 4.0) * 0.25)
        .collect();
    // Rows 10..20 copy rows 0..10: tuples may hold coincident points.
    for r in 10..20 {
        let (src, dst) = m.split_at_mut(r * cols);
        dst[..cols].copy_from_slice(&src[(r - 10) * cols..(r - 9) * cols]);
    }
    let m32: Vec<f32> = m.iter().map(|&x| x as f32).collect();
    let idx = sample_indices(rows, 1500, &mut rng);
    for k in Kernel::available() {
        check(k, &m, rows, cols, &idx);
        check(k, &m32, rows, cols, &idx);
    }
}

/// A forced table over more rows than `TABLE_MAX_ROWS` is refused with a message naming the
/// limit; Auto then takes the direct path and still answers.
#[test]
fn oversized_table_is_an_error_and_auto_falls_back() {
    let rows = TABLE_MAX_ROWS + 1;
    let m = vec![0.5f64; rows * 2];
    let idx = [[0, 1, 2, 3, rows as u32 - 1]];
    let mut out = [0.0f64];
    let k = Kernel::detect();
    let e = vol2_fused_via(k, FusedPath::Table, &m, rows, 2, &idx, &mut out).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(&TABLE_MAX_ROWS.to_string()) && msg.contains("Direct"),
        "{msg}"
    );
    vol2_fused_via(k, FusedPath::Auto, &m, rows, 2, &idx, &mut out).unwrap();
    assert_eq!(out[0], 0.0);
}
