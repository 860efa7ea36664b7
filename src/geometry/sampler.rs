//! Random 5-row subsets for the CV estimate.

use crate::rng::Rng;

/// `samples` tuples of 5 distinct indices in [0, pool), each uniform over the ordered tuples
/// of distinct values (as `torch.randperm(pool)[:5]`, in distribution).
///
/// Draw order, which defines reproducibility: samples one after another; within a sample, for
/// i = 0, 1, 2, 3, 4: `r = i + rng.below(pool − i)` (one `below` call, which may consume more
/// than one `next_u64` by its rejection step), then `tuple[i] = v[r]` and `v[r] = v[i]`, where
/// v starts as the identity 0..pool for every sample. These are the first five steps of a
/// Fisher–Yates (Durstenfeld) shuffle of v; v is never materialised, only the ≤ 5 positions
/// that were written.
///
/// # Panics
/// If `pool < 5` or `pool > 2³²` (no such tuples / not representable); callers check first
/// (`cv_metric` reports too few rows instead).
pub fn sample_indices(pool: usize, samples: usize, rng: &mut Rng) -> Vec<[u32; 5]> {
    assert!(
        (5..=1usize << 32).contains(&pool),
        "sample_indices: pool {pool} must be in 5..=2^32"
    );
    (0..samples)
        .map(|_| {
            // (position, value) of the written entries of v, most recent last.
            let mut written: Vec<(usize, u32)> = Vec::with_capacity(5);
            let at = |w: &[(usize, u32)], pos: usize| {
                w.iter()
                    .rev()
                    .find(|&&(p, _)| p == pos)
                    .map_or(pos as u32, |&(_, v)| v)
            };
            let mut tuple = [0u32; 5];
            for (i, t) in tuple.iter_mut().enumerate() {
                let r = i + rng.below((pool - i) as u64) as usize;
                *t = at(&written, r);
                let vi = at(&written, i);
                written.push((r, vi));
            }
            tuple
        })
        .collect()
}
