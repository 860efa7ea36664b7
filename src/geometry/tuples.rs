//! Validation of the index tuples of `cayley_menger::vol2_fused`: every index < rows, the five
//! of a tuple distinct; and the rows they span (largest index + 1, which sizes the distance
//! table).
//!
//! The scan works on the flat index array, 16 tuples (80 indices) at a time: index l of a group
//! is compared with index l + d (d = 1..4) wherever both belong to one tuple (a constant mask
//! per d), so the comparisons are whole-vector compares instead of a tuple-by-tuple loop; it is
//! compiled inside the kernel's target features (`LaneJob`) so that it vectorizes. Measured:
//! the tuple-by-tuple scan took ~15% of a 10⁶-volume table-path call on 2 threads. The messages
//! come from the per-tuple check, run only once a bad tuple is known.

use rayon::prelude::*;

use super::kernel::{dispatch, Kernel, LaneJob};
use super::simd::Vector;
use crate::error::{Error, Result};

/// Tuples per rayon task.
const TASK: usize = 16384;
/// Tuples per vector step.
const GROUP: usize = 16;
const N: usize = 5 * GROUP;

/// SAME[d − 1][l]: indices l and l + d of a group belong to the same tuple.
const SAME: [[bool; N]; 4] = {
    let mut same = [[false; N]; 4];
    let mut d = 1;
    while d < 5 {
        let mut l = 0;
        while l < N {
            same[d - 1][l] = l % 5 + d < 5;
            l += 1;
        }
        d += 1;
    }
    same
};

/// Ok(the number of rows the tuples span: largest index + 1, 0 for none) when every tuple is
/// valid; else Err naming the first bad tuple. Scans on the widest kernel (the answer does not
/// depend on it).
pub(crate) fn check(idx: &[[u32; 5]], rows: usize) -> Result<usize> {
    check_on(Kernel::detect(), idx, rows)
}

/// `check`, scanning on `kernel` (available).
fn check_on(kernel: Kernel, idx: &[[u32; 5]], rows: usize) -> Result<usize> {
    let scan = |tuples: &[[u32; 5]]| match kernel {
        // SAFETY: `kernel` is available (callers pass detected kernels).
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe { x86::scan(tuples) },
        _ => dispatch::<f32, _>(kernel, Scan { tuples }),
    };
    let (distinct, max) = if idx.len() <= TASK {
        scan(idx)
    } else {
        idx.par_chunks(TASK)
            .map(scan)
            .reduce(|| (true, 0), |a, b| (a.0 && b.0, a.1.max(b.1)))
    };
    if !distinct || (!idx.is_empty() && max as usize >= rows) {
        for (s, tuple) in idx.iter().enumerate() {
            check_tuple(s, tuple, rows)?;
        }
    }
    Ok(if idx.is_empty() { 0 } else { max as usize + 1 })
}

/// Each index < rows, the five distinct.
fn check_tuple(s: usize, tuple: &[u32; 5], rows: usize) -> Result<()> {
    for (i, &v) in tuple.iter().enumerate() {
        if v as usize >= rows {
            return Err(Error::input(format!(
                "vol2_fused: sample {s}: index {v} is out of range; the matrix has {rows} rows \
                 (valid indices 0..{rows})"
            )));
        }
        if tuple[..i].contains(&v) {
            return Err(Error::input(format!(
                "vol2_fused: sample {s}: index {v} appears twice in {tuple:?}; a 4-simplex \
                 needs 5 distinct rows"
            )));
        }
    }
    Ok(())
}

/// (whether every tuple's five indices are distinct, the largest index), written once for the
/// AVX2 and scalar kernels (autovectorised); AVX-512 has its own (`x86::scan`).
struct Scan<'a> {
    tuples: &'a [[u32; 5]],
}

impl LaneJob<f32> for Scan<'_> {
    type Output = (bool, u32);

    #[inline(always)]
    fn run<V: Vector<f32>>(self) -> (bool, u32) {
        let flat = self.tuples.as_flattened();
        let max = flat.iter().fold(0, |m, &x| m.max(x));
        let mut groups = flat.chunks_exact(N);
        let mut repeat = false;
        for g in &mut groups {
            let g: &[u32; N] = g.try_into().expect("chunks_exact gives N values");
            for (d, same) in SAME.iter().enumerate() {
                for l in 0..N - d - 1 {
                    repeat |= same[l] & (g[l] == g[l + d + 1]);
                }
            }
        }
        for t in groups.remainder().as_chunks::<5>().0 {
            for i in 0..5 {
                for j in 0..i {
                    repeat |= t[i] == t[j];
                }
            }
        }
        (!repeat, max)
    }
}

/// `Scan` in AVX-512: per group and 16-index vector q, the masked compare with the vector
/// starting d indices later (d = 1..4), loaded under the same-tuple mask, so that lanes whose
/// partner lies in the next tuple (or past the end) are neither read nor compared. The
/// autovectorised `Scan` spent most of its time moving those masks around (measured: ~10% of
/// a 10⁶-volume table call).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{GROUP, N, SAME};

    /// MASKS[q][d − 1]: bit l set when `SAME[d − 1][16q + l]`.
    const MASKS: [[u16; 4]; 5] = {
        let mut masks = [[0u16; 4]; 5];
        let mut d = 0;
        while d < 4 {
            let mut l = 0;
            while l < N {
                if SAME[d][l] {
                    masks[l / 16][d] |= 1 << (l % 16);
                }
                l += 1;
            }
            d += 1;
        }
        masks
    };

    const _: () = assert!(N == 5 * 16 && GROUP == 16);

    #[target_feature(enable = "avx512f")]
    pub(super) fn scan(tuples: &[[u32; 5]]) -> (bool, u32) {
        let flat = tuples.as_flattened();
        let mut groups = flat.chunks_exact(N);
        let (mut hits, mut max) = (0u16, _mm512_setzero_si512());
        for g in &mut groups {
            let p = g.as_ptr();
            for (q, masks) in MASKS.iter().enumerate() {
                // SAFETY: indices 16q..16q + 16 ≤ 80 of the group.
                let v = unsafe { _mm512_loadu_si512(p.add(16 * q).cast()) };
                max = _mm512_max_epu32(max, v);
                for (d, &m) in (1..).zip(masks) {
                    // SAFETY: only the lanes in `m` are read (masked-off lanes never fault),
                    // and each of those is the partner of an index in the same tuple, so
                    // inside the group.
                    let w = unsafe { _mm512_maskz_loadu_epi32(m, p.add(16 * q + d).cast()) };
                    hits |= _mm512_mask_cmpeq_epi32_mask(m, v, w);
                }
            }
        }
        let (mut repeat, mut max) = (hits != 0, _mm512_reduce_max_epu32(max));
        for t in groups.remainder().as_chunks::<5>().0 {
            for i in 0..5 {
                max = max.max(t[i]);
                for j in 0..i {
                    repeat |= t[i] == t[j];
                }
            }
        }
        (!repeat, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pair of positions (i, j) repeated, in every tuple slot of a group and in the tail
    /// (and at both ends and the middle of a batch of several rayon tasks), on every kernel: found; without repeats: none found, and the span is the largest index
    /// + 1; an index ≥ rows: an error naming it.
    #[test]
    fn repeats_and_ranges_are_found_everywhere() {
        for k in Kernel::available() {
            for n in [1, 15, 16, 17, 35, 3 * TASK + 5] {
                let good: Vec<[u32; 5]> = (0..n as u32)
                    .map(|s| [0, 1, 2, 3, 4].map(|i| 5 * s + i))
                    .collect();
                let rows = 5 * n;
                assert_eq!(check_on(k, &good, rows).unwrap(), rows, "{k} n {n}");
                // Every slot of the small batches: repeats whose pair straddles two vectors.
                let slots: Vec<usize> = if n <= 35 {
                    (0..n).collect()
                } else {
                    vec![0, n / 2, n - 1]
                };
                for s in slots {
                    for i in 0..5 {
                        for j in 0..i {
                            let mut bad = good.clone();
                            bad[s][i] = bad[s][j];
                            let msg = check_on(k, &bad, rows).unwrap_err().to_string();
                            assert!(msg.contains(&format!("sample {s}:")), "{k} {msg}");
                            assert!(msg.contains("appears twice"), "{k} {msg}");
                        }
                    }
                    let mut far = good.clone();
                    far[s][s % 5] = rows as u32;
                    let msg = check_on(k, &far, rows).unwrap_err().to_string();
                    assert!(
                        msg.contains(&format!("index {rows} is out of range")),
                        "{k} {msg}"
                    );
                }
            }
            assert_eq!(check_on(k, &[], 7).unwrap(), 0);
        }
    }
}
