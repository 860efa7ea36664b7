//! The value rows through the out projection, head by head: tab[r,h,:] = src_h[r] · w_hᵀ, with
//! src_h = src's value columns of head h (2·dim + h·hd ..) and w_h = the out projection's
//! columns of head h (h·hd ..). Since attention mixes value rows linearly, out_proj(attention)
//! = Σ_h P_h · (V_h · w_hᵀ), and V's rows are sums of vocab + seq distinct rows: projecting
//! those here replaces the out projection of all batch·seq rows (`attention_out.rs` mixes them).
//!
//! Each head is one product on strided views of the flat buffers, split over rows as the
//! linear layer's (`gemm.rs`), so the result does not depend on the number of threads.

use ndarray::{ArrayView2, ArrayViewMut2, ShapeBuilder};

use super::gemm::gemm_rows;
use super::{check_len, check_sizes};
use crate::backend::{HeadProjDims, Scalar};
use crate::error::{Error, Result};

/// A (rows, cols) view whose rows lie `stride` apart.
fn view<T>(buf: &[T], (rows, cols): (usize, usize), stride: usize) -> Result<ArrayView2<'_, T>> {
    ArrayView2::from_shape((rows, cols).strides((stride, 1)), buf)
        .map_err(|e| Error::input(format!("head_proj: a ({rows}, {cols}) view: {e}")))
}

fn view_mut<T>(
    buf: &mut [T],
    (rows, cols): (usize, usize),
    stride: usize,
) -> Result<ArrayViewMut2<'_, T>> {
    ArrayViewMut2::from_shape((rows, cols).strides((stride, 1)), buf)
        .map_err(|e| Error::input(format!("head_proj: a ({rows}, {cols}) view: {e}")))
}

fn check<T>(op: &str, src: &[T], w: &[T], d: HeadProjDims) -> Result<()> {
    let sizes = [
        ("rows", d.rows),
        ("heads", d.heads),
        ("head_dim", d.head_dim),
    ];
    check_sizes(op, &sizes)?;
    check_len(op, "src", src, d.rows * 3 * d.dim())?;
    check_len(op, "w", w, d.dim() * d.dim())
}

/// tab (rows, heads, dim) from src (rows, 3·dim) and w (dim, dim).
pub(super) fn forward<T: Scalar>(src: &[T], w: &[T], d: HeadProjDims) -> Result<Vec<T>> {
    check("head_proj_fwd", src, w, d)?;
    let (rows, hd, dim, heads) = (d.rows, d.head_dim, d.dim(), d.heads);
    let mut tab = vec![T::zero(); rows * heads * dim];
    for h in 0..heads {
        let src_h = view(&src[2 * dim + h * hd..], (rows, hd), 3 * dim)?;
        let w_h = view(&w[h * hd..], (dim, hd), dim)?;
        let tab_h = view_mut(&mut tab[h * dim..], (rows, dim), heads * dim)?;
        gemm_rows(src_h, w_h.t(), T::zero(), tab_h);
    }
    Ok(tab)
}

/// dsrc (rows, 3·dim) += dtab_h · w_h in head h's value columns; dw (dim, dim) += dtab_hᵀ · src_h
/// in head h's columns.
pub(super) fn backward<T: Scalar>(
    src: &[T],
    w: &[T],
    dtab: &[T],
    d: HeadProjDims,
    dsrc: &mut [T],
    dw: &mut [T],
) -> Result<()> {
    check("head_proj_bwd", src, w, d)?;
    let (rows, hd, dim, heads) = (d.rows, d.head_dim, d.dim(), d.heads);
    check_len("head_proj_bwd", "dtab", dtab, rows * heads * dim)?;
    check_len("head_proj_bwd", "dsrc", dsrc, src.len())?;
    check_len("head_proj_bwd", "dw", dw, w.len())?;
    for h in 0..heads {
        let dtab_h = view(&dtab[h * dim..], (rows, dim), heads * dim)?;
        let w_h = view(&w[h * hd..], (dim, hd), dim)?;
        let dsrc_h = view_mut(&mut dsrc[2 * dim + h * hd..], (rows, hd), 3 * dim)?;
        gemm_rows(dtab_h, w_h, T::one(), dsrc_h);
        let src_h = view(&src[2 * dim + h * hd..], (rows, hd), 3 * dim)?;
        let dw_h = view_mut(&mut dw[h * hd..], (dim, hd), dim)?;
        gemm_rows(dtab_h.t(), src_h, T::one(), dw_h);
    }
    Ok(())
}
