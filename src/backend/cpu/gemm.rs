//! The linear layer, y = x·wᵀ + bias, and its gradients: three matrix products.
//!
//! Each product writes C in fixed blocks of `ROW_BLOCK` rows, computed in parallel. A block's
//! elements are computed by matrixmultiply exactly as they would be in one big call (the
//! summation order over k does not depend on how the rows of C are split), so the result is the
//! same for any number of threads.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

use super::{check_len, check_sizes};
use crate::backend::Scalar;
use crate::error::{Error, Result};

/// Rows of C per parallel task: matrixmultiply's own row block for f32/f64 is 64.
const ROW_BLOCK: usize = 64;

/// c (m, n) = a (m, k) · b (k, n) + beta · c, in parallel over row blocks of c.
fn gemm_rows<T: Scalar>(a: ArrayView2<T>, b: ArrayView2<T>, beta: T, mut c: ArrayViewMut2<T>) {
    if c.nrows() <= ROW_BLOCK {
        general_mat_mul(T::one(), &a, &b, beta, &mut c);
        return;
    }
    let blocks: Vec<_> = a
        .axis_chunks_iter(Axis(0), ROW_BLOCK)
        .zip(c.axis_chunks_iter_mut(Axis(0), ROW_BLOCK))
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
    let mut y: Vec<T> = bias.iter().copied().cycle().take(m * n).collect();
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
