//! The linear layer, y = x·wᵀ + bias, and its gradients: three matrix products.
//!
//! Each product writes C in blocks of rows computed in parallel (matrixmultiply itself is
//! single-threaded here). An element of C is computed by matrixmultiply the same way whatever
//! block it falls in (its summation order over k depends only on matrixmultiply's fixed k
//! blocking), so the result does not depend on the number of threads: a test checks this bit
//! for bit.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

use super::{check_len, check_sizes};
use crate::backend::Scalar;
use crate::error::{Error, Result};

/// The smallest row block worth a task: matrixmultiply's own row block for f32/f64 is 64.
const MIN_ROW_BLOCK: usize = 64;

/// Rows of C per parallel task: about two tasks per thread (for balance), but no fewer than
/// `MIN_ROW_BLOCK` rows, since every task packs all of b again.
fn row_block(rows: usize) -> usize {
    let tasks = 2 * rayon::current_num_threads();
    rows.div_ceil(tasks).next_multiple_of(8).max(MIN_ROW_BLOCK)
}

/// c (m, n) = a (m, k) · b (k, n) + beta · c, in parallel over row blocks of c.
pub(super) fn gemm_rows<T: Scalar>(
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    beta: T,
    mut c: ArrayViewMut2<T>,
) {
    let block = row_block(c.nrows());
    if c.nrows() <= block {
        general_mat_mul(T::one(), &a, &b, beta, &mut c);
        return;
    }
    let blocks: Vec<_> = a
        .axis_chunks_iter(Axis(0), block)
        .zip(c.axis_chunks_iter_mut(Axis(0), block))
        .collect();
    blocks
        .into_par_iter()
        .for_each(|(a, mut c)| general_mat_mul(T::one(), &a, &b, beta, &mut c));
}

fn view<T>(buf: &[T], rows: usize, cols: usize) -> Result<ArrayView2<'_, T>> {
    ArrayView2::from_shape((rows, cols), buf)
        .map_err(|e| Error::input(format!("linear: a ({rows}, {cols}) view: {e}")))
}

fn view_mut<T>(buf: &mut [T], rows: usize, cols: usize) -> Result<ArrayViewMut2<'_, T>> {
    ArrayViewMut2::from_shape((rows, cols), buf)
        .map_err(|e| Error::input(format!("linear: a ({rows}, {cols}) view: {e}")))
}

/// y (m, n) = x (m, k) · wᵀ (w: n, k) + bias (n). As PyTorch's addmm: the bias is C, beta = 1.
pub(super) fn linear_forward<T: Scalar>(
    x: &[T],
    w: &[T],
    bias: &[T],
    m: usize,
    k: usize,
    n: usize,
) -> Result<Vec<T>> {
    check_sizes("linear_fwd", &[("m", m), ("k", k), ("n", n)])?;
    check_len("linear_fwd", "x", x, m * k)?;
    check_len("linear_fwd", "w", w, n * k)?;
    check_len("linear_fwd", "bias", bias, n)?;
    // Each row starts as the bias (built directly, without a zero fill first).
    let mut y = Vec::with_capacity(m * n);
    (0..m).for_each(|_| y.extend_from_slice(bias));
    gemm_rows(
        view(x, m, k)?,
        view(w, n, k)?.t(),
        T::one(),
        view_mut(&mut y, m, n)?,
    );
    Ok(y)
}

/// dx (m, k) += dy · w; dw (n, k) += dyᵀ · x; dbias (n) += Σ_rows dy.
pub(super) fn linear_backward<T: Scalar>(
    x: &[T],
    w: &[T],
    dy: &[T],
    (m, k, n): (usize, usize, usize),
    dx: &mut [T],
    dw: &mut [T],
    dbias: &mut [T],
) -> Result<()> {
    check_sizes("linear_bwd", &[("m", m), ("k", k), ("n", n)])?;
    check_len("linear_bwd", "x", x, m * k)?;
    check_len("linear_bwd", "w", w, n * k)?;
    check_len("linear_bwd", "dy", dy, m * n)?;
    check_len("linear_bwd", "dx", dx, m * k)?;
    check_len("linear_bwd", "dw", dw, n * k)?;
    check_len("linear_bwd", "dbias", dbias, n)?;
    let dy_v = view(dy, m, n)?;
    gemm_rows(dy_v, view(w, n, k)?, T::one(), view_mut(dx, m, k)?);
    gemm_rows(dy_v.t(), view(x, m, k)?, T::one(), view_mut(dw, n, k)?);
    for row in dy.chunks_exact(n) {
        dbias.iter_mut().zip(row).for_each(|(a, &g)| *a = *a + g);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_blocks_give_the_same_bits_as_one_call() {
        // 300 × 70 · 70 × 90: several row blocks; compare with one unsplit call, bit for bit.
        let (m, k, n) = (300, 70, 90);
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 53 % 89) as f32 - 44.0) / 3.0)
            .collect();
        let (av, bv) = (view(&a, m, k).unwrap(), view(&b, k, n).unwrap());
        let mut split = vec![0.5f32; m * n];
        let mut whole = split.clone();
        gemm_rows(av, bv, 1.0, view_mut(&mut split, m, n).unwrap());
        general_mat_mul(1.0, &av, &bv, 1.0, &mut view_mut(&mut whole, m, n).unwrap());
        assert!(row_block(m) < m, "the test must split");
        assert_eq!(split, whole);
    }
}
