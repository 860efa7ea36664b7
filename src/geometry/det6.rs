//! Batched determinants of general 6×6 matrices, f32 or f64, by Gaussian elimination with
//! partial pivoting (`kernel::det6_block`), several matrices per SIMD instruction, split over
//! threads with rayon.
//!
//! Non-finite entries are an error: each block also sums its 36 entries per lane (a sum is
//! finite exactly when every entry is, barring overflow of the sum), and a chunk whose check
//! fails is scanned to name the first non-finite entry (an overflowing sum of finite entries
//! finds none and is accepted). Finite matrices whose determinant exceeds the type's range give
//! ±inf (or NaN when an intermediate overflows), as any floating-point determinant does.

use rayon::prelude::*;

use super::kernel::{det6_block, dispatch, Kernel, LaneJob};
use super::simd::Vector;
use crate::backend::Scalar;
use crate::error::{Error, Result};

/// Matrices per rayon task: large enough to hide the task overhead, small enough to balance.
const CHUNK: usize = 2048;

/// Determinants of B row-major 6×6 matrices: `mats` (B, 6, 6) → `out` (B).
/// Uses the widest kernel this CPU supports (`Kernel::detect`).
pub fn det6_batch<T: Scalar>(mats: &[T], out: &mut [T]) -> Result<()> {
    det6_batch_with(Kernel::detect(), mats, out)
}

/// `det6_batch` on a chosen kernel (for tests and benchmarks); all kernels give bit-identical
/// results. Err when the CPU lacks the kernel's instructions.
pub fn det6_batch_with<T: Scalar>(kernel: Kernel, mats: &[T], out: &mut [T]) -> Result<()> {
    if mats.len() % 36 != 0 {
        return Err(Error::input(format!(
            "det6_batch: {} values is not a whole number of 6×6 matrices; expected a multiple of 36",
            mats.len()
        )));
    }
    let batch = mats.len() / 36;
    if out.len() != batch {
        return Err(Error::input(format!(
            "det6_batch: output holds {} values, expected {batch} (one per 6×6 matrix)",
            out.len()
        )));
    }
    if !kernel.is_available() {
        return Err(Error::input(format!(
            "det6_batch: this CPU cannot run the {kernel} kernel; available: {:?}",
            Kernel::available()
        )));
    }
    let run = |(c, (m, o)): (usize, (&[T], &mut [T]))| -> Result<()> {
        if dispatch::<T, _>(kernel, DetChunk { mats: m, out: o }) {
            Ok(())
        } else {
            first_non_finite(m, c * CHUNK)
        }
    };
    if batch <= CHUNK {
        run((0, (mats, out)))
    } else {
        mats.par_chunks(36 * CHUNK)
            .zip(out.par_chunks_mut(CHUNK))
            .enumerate()
            .try_for_each(run)
    }
}

/// Err naming the first non-finite entry of `mats`, whose first matrix has index `first`;
/// Ok when every entry is finite.
fn first_non_finite<T: Scalar>(mats: &[T], first: usize) -> Result<()> {
    match mats.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::input(format!(
            "det6_batch: matrix {}, entry ({}, {}) is {}; determinants need finite entries \
             (check the input for overflow or missing values)",
            first + i / 36,
            i % 36 / 6,
            i % 6,
            mats[i]
        ))),
    }
}

/// One thread's share: whole blocks of LANES matrices, then the tail padded with identities.
/// Returns whether every per-lane entry sum was finite.
struct DetChunk<'a, T> {
    mats: &'a [T],
    out: &'a mut [T],
}

impl<T: Scalar> LaneJob<T> for DetChunk<'_, T> {
    type Output = bool;

    #[inline(always)]
    fn run<V: Vector<T>>(self) -> bool {
        let lanes = V::LANES;
        let mut check = V::splat(T::zero());
        let mut groups = self.mats.chunks_exact(36 * lanes);
        let mut outs = self.out.chunks_exact_mut(lanes);
        for (m, o) in (&mut groups).zip(&mut outs) {
            det6_group::<T, V>(m, o, &mut check);
        }
        let (m, o) = (groups.remainder(), outs.into_remainder());
        if !o.is_empty() {
            let mut padded = vec![T::zero(); 36 * lanes];
            padded[..m.len()].copy_from_slice(m);
            for pad in o.len()..lanes {
                for d in 0..6 {
                    padded[36 * pad + 7 * d] = T::one();
                }
            }
            let mut dets = vec![T::zero(); lanes];
            det6_group::<T, V>(&padded, &mut dets, &mut check);
            o.copy_from_slice(&dets[..o.len()]);
        }
        let mut flags = vec![T::zero(); lanes];
        check.store(&mut flags);
        flags.iter().all(|c| c.is_finite())
    }
}

/// Determinants of LANES consecutive matrices `m` (LANES, 6, 6) into `o` (LANES). `check`
/// accumulates 0·(sum of each matrix's entries): NaN for good once a lane sees a non-finite
/// entry.
#[inline(always)]
fn det6_group<T: Scalar, V: Vector<T>>(m: &[T], o: &mut [T], check: &mut V) {
    let mut a = V::load_matrices(m);
    let mut sum = a[0];
    for v in &a[1..] {
        sum = sum.add(*v);
    }
    *check = sum.mul(V::splat(T::zero())).add(*check);
    det6_block::<T, V>(&mut a).store(o);
}
