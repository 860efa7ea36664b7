//! The 5-row sampler: range, distinctness, uniformity (chi-square), determinism, and the
//! documented draw order.

use mha_cv::geometry::sampler::sample_indices;
use mha_cv::rng::Rng;

#[test]
fn indices_are_distinct_and_in_range() {
    for pool in [5, 6, 7, 100, 512, 4000] {
        for t in sample_indices(pool, 5000, &mut Rng::new(pool as u64)) {
            assert!(t.iter().all(|&i| (i as usize) < pool), "{t:?} pool {pool}");
            for a in 0..5 {
                for b in 0..a {
                    assert_ne!(t[a], t[b], "{t:?}");
                }
            }
        }
    }
}

#[test]
fn same_seed_same_samples() {
    let a = sample_indices(512, 300, &mut Rng::new(42));
    assert_eq!(a, sample_indices(512, 300, &mut Rng::new(42)));
    assert_ne!(a, sample_indices(512, 300, &mut Rng::new(43)));
    // Consecutive calls on one generator continue its stream.
    let mut rng = Rng::new(42);
    let first = sample_indices(512, 100, &mut rng);
    let rest = sample_indices(512, 200, &mut rng);
    assert_eq!([first, rest].concat(), a);
}

/// The doc comment's draw order, written independently: a materialised Fisher–Yates prefix.
#[test]
fn draw_order_is_a_fisher_yates_prefix() {
    for pool in [5, 9, 512] {
        let mut rng = Rng::new(7);
        let expected: Vec<[u32; 5]> = (0..1000)
            .map(|_| {
                let mut v: Vec<u32> = (0..pool as u32).collect();
                for i in 0..5 {
                    let r = i + rng.below((pool - i) as u64) as usize;
                    v.swap(i, r);
                }
                [v[0], v[1], v[2], v[3], v[4]]
            })
            .collect();
        assert_eq!(sample_indices(pool, 1000, &mut Rng::new(7)), expected);
    }
}

/// Every ordered tuple of 5 distinct values from a pool of 7 (7·6·5·4·3 = 2520 cells) is
/// equally likely: 252 000 samples, 100 expected per cell, Pearson's χ² with 2519 degrees of
/// freedom against its 0.1% critical value (Wilson–Hilferty: ≈ 2744). Fixed seed.
#[test]
fn ordered_tuples_are_uniform() {
    let pool = 7usize;
    let samples = 252_000;
    let mut counts = vec![0u32; pool.pow(5)];
    for t in sample_indices(pool, samples, &mut Rng::new(2024)) {
        let cell = t.iter().fold(0usize, |acc, &i| acc * pool + i as usize);
        counts[cell] += 1;
    }
    let cells = 7 * 6 * 5 * 4 * 3;
    let expected = samples as f64 / cells as f64;
    // Cells with a repeated index must stay empty; the others enter the statistic.
    let mut chi2 = 0.0;
    let mut used = 0;
    for (cell, &c) in counts.iter().enumerate() {
        let digits: Vec<usize> = (0..5).map(|k| cell / pool.pow(k) % pool).collect();
        let distinct = (0..5).all(|a| (0..a).all(|b| digits[a] != digits[b]));
        if distinct {
            used += 1;
            chi2 += (c as f64 - expected).powi(2) / expected;
        } else {
            assert_eq!(c, 0);
        }
    }
    assert_eq!(used, cells);
    let df = (cells - 1) as f64;
    let z = 3.0902; // standard normal 0.999 quantile
    let a = 2.0 / (9.0 * df);
    let critical = df * (1.0 - a + z * a.sqrt()).powi(3);
    assert!((2743.0..2746.0).contains(&critical), "{critical}");
    assert!(chi2 < critical, "chi2 {chi2} ≥ {critical}");
}

/// Marginals at a realistic pool: each of 512 indices, each of the 5 positions, 500 000
/// samples (≈ 977 per cell); χ² with 511 degrees of freedom per position, 0.1% critical
/// value ≈ 617 (Wilson–Hilferty).
#[test]
fn positions_are_uniform_over_the_pool() {
    let pool = 512;
    let samples = 500_000;
    let mut counts = vec![[0u32; 5]; pool];
    for t in sample_indices(pool, samples, &mut Rng::new(99)) {
        for (k, &i) in t.iter().enumerate() {
            counts[i as usize][k] += 1;
        }
    }
    let expected = samples as f64 / pool as f64;
    let df = (pool - 1) as f64;
    let a = 2.0 / (9.0 * df);
    let critical = df * (1.0 - a + 3.0902 * a.sqrt()).powi(3);
    for k in 0..5 {
        let chi2: f64 = counts
            .iter()
            .map(|c| (c[k] as f64 - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < critical, "position {k}: chi2 {chi2} ≥ {critical}");
    }
}

#[test]
#[should_panic(expected = "pool 4 must be in 5..=2^32")]
fn a_pool_below_five_is_a_caller_bug() {
    sample_indices(4, 1, &mut Rng::new(0));
}
