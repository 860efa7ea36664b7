//! The CPU backend: flat `Vec<T>` buffers, generic over f32 and f64.
//!
//! The matrix products go through ndarray's `general_mat_mul` (matrixmultiply: packed,
//! cache-blocked, SIMD kernels), split over rayon in fixed row blocks so that the result does not
//! depend on the number of threads. Everything else is plain loops over row-major slices, one
//! file per op family under `cpu/`.

use std::marker::PhantomData;

use crate::backend::{
    AdamStep, AttnDims, AttnOutGrads, Backend, EmbedDims, HeadProjDims, LayerNormOut, NormPoolDims,
    NormPoolGrads, NormPoolOut, Scalar,
};
use crate::error::{Error, Result};

mod adam;
mod attention;
mod attention_out;
mod embed;
mod expf;
mod gemm;
mod head_proj;
mod heap;
mod layernorm;
mod loss;
mod norm_pool;
mod tiny_gemm;
mod transpose;

/// The CPU backend for element type `T` (f32 or f64). It holds no state.
#[derive(Clone, Copy, Debug)]
pub struct Cpu<T: Scalar> {
    _t: PhantomData<T>,
}

impl<T: Scalar> Cpu<T> {
    pub fn new() -> Self {
        heap::keep_freed_buffers();
        Cpu { _t: PhantomData }
    }
}

impl<T: Scalar> Default for Cpu<T> {
    fn default() -> Self {
        Cpu::new()
    }
}

/// Checks that a buffer has the length its shape implies; the message names the op and buffer.
pub(crate) fn check_len<E>(op: &str, name: &str, buf: &[E], expected: usize) -> Result<()> {
    if buf.len() == expected {
        Ok(())
    } else {
        Err(Error::input(format!(
            "{op}: buffer `{name}` has {} elements, expected {expected}",
            buf.len()
        )))
    }
}

/// Checks that every size of an op is positive (a zero size has no meaningful result here and
/// would make the row loops degenerate).
pub(crate) fn check_sizes(op: &str, sizes: &[(&str, usize)]) -> Result<()> {
    match sizes.iter().find(|(_, s)| *s == 0) {
        Some((name, _)) => Err(Error::input(format!(
            "{op}: size `{name}` is 0, expected ≥ 1"
        ))),
        None => Ok(()),
    }
}

/// `f` run on a pool of one thread and on a pool of three: the ops' tests compare the two, as
/// no result may depend on how the work is split.
#[cfg(test)]
pub(crate) fn on_1_and_3_threads<R: Send>(f: impl Fn() -> R + Send + Sync) -> (R, R) {
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("a test thread pool")
    };
    (pool(1).install(&f), pool(3).install(&f))
}

impl<T: Scalar> Backend for Cpu<T> {
    type T = T;
    type Buf = Vec<T>;
    type Ids = Vec<u32>;

    fn upload(&self, host: &[T]) -> Result<Vec<T>> {
        Ok(host.to_vec())
    }

    fn download(&self, buf: &Vec<T>) -> Result<Vec<T>> {
        Ok(buf.clone())
    }

    fn upload_ids(&self, ids: &[u32]) -> Result<Vec<u32>> {
        Ok(ids.to_vec())
    }

    fn zeros(&self, len: usize) -> Result<Vec<T>> {
        Ok(vec![T::zero(); len])
    }

    fn fill_zero(&self, buf: &mut Vec<T>) -> Result<()> {
        buf.fill(T::zero());
        Ok(())
    }

    fn accumulate(&self, dst: &mut Vec<T>, src: &Vec<T>) -> Result<()> {
        check_len("accumulate", "src", src, dst.len())?;
        dst.iter_mut().zip(src).for_each(|(d, &s)| *d = *d + s);
        Ok(())
    }

    fn add(&self, a: &Vec<T>, b: &Vec<T>) -> Result<Vec<T>> {
        check_len("add", "b", b, a.len())?;
        Ok(a.iter().zip(b).map(|(&x, &y)| x + y).collect())
    }

    fn embed_fwd(
        &self,
        ids: &Vec<u32>,
        emb: &Vec<T>,
        pos: &Vec<T>,
        d: EmbedDims,
    ) -> Result<Vec<T>> {
        embed::forward(ids, emb, pos, d)
    }

    fn embed_bwd(
        &self,
        ids: &Vec<u32>,
        dh: &Vec<T>,
        d: EmbedDims,
        demb: &mut Vec<T>,
        dpos: &mut Vec<T>,
    ) -> Result<()> {
        embed::backward(ids, dh, d, demb, dpos)
    }

    fn linear_fwd(
        &self,
        x: &Vec<T>,
        w: &Vec<T>,
        bias: &Vec<T>,
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<Vec<T>> {
        gemm::linear_forward(x, w, bias, m, k, n)
    }

    fn linear_bwd(
        &self,
        x: &Vec<T>,
        w: &Vec<T>,
        dy: &Vec<T>,
        m: usize,
        k: usize,
        n: usize,
        dx: &mut Vec<T>,
        dw: &mut Vec<T>,
        dbias: &mut Vec<T>,
    ) -> Result<()> {
        gemm::linear_backward(x, w, dy, (m, k, n), dx, dw, dbias)
    }

    fn attention_fwd(&self, qkv: &Vec<T>, d: AttnDims) -> Result<(Vec<T>, Vec<T>)> {
        attention::forward(qkv, d)
    }

    fn attention_bwd(
        &self,
        qkv: &Vec<T>,
        probs: &Vec<T>,
        dout: &Vec<T>,
        d: AttnDims,
        dqkv: &mut Vec<T>,
    ) -> Result<()> {
        attention::backward(qkv, probs, dout, d, dqkv)
    }

    fn attention_bwd_new(
        &self,
        qkv: &Vec<T>,
        probs: &Vec<T>,
        dout: &Vec<T>,
        d: AttnDims,
    ) -> Result<Vec<T>> {
        attention::backward_new(qkv, probs, dout, d)
    }

    fn has_attention_out(&self) -> bool {
        true
    }

    fn head_proj_fwd(&self, src: &Vec<T>, w: &Vec<T>, d: HeadProjDims) -> Result<Vec<T>> {
        head_proj::forward(src, w, d)
    }

    fn head_proj_bwd(
        &self,
        src: &Vec<T>,
        w: &Vec<T>,
        dtab: &Vec<T>,
        d: HeadProjDims,
        dsrc: &mut Vec<T>,
        dw: &mut Vec<T>,
    ) -> Result<()> {
        head_proj::backward(src, w, dtab, d, dsrc, dw)
    }

    fn attention_out_fwd(
        &self,
        (ids, qk_e, qk_p): (&Vec<u32>, &Vec<T>, &Vec<T>),
        (tab_e, tab_p): (&Vec<T>, &Vec<T>),
        bias: &Vec<T>,
        d: AttnDims,
        vocab: usize,
    ) -> Result<(Vec<T>, Vec<T>)> {
        attention_out::forward((ids, qk_e, qk_p), (tab_e, tab_p), bias, d, vocab)
    }

    fn attention_out_bwd(
        &self,
        (ids, qk_e, qk_p): (&Vec<u32>, &Vec<T>, &Vec<T>),
        (tab_e, tab_p): (&Vec<T>, &Vec<T>),
        probs: &Vec<T>,
        dout: &Vec<T>,
        d: AttnDims,
        vocab: usize,
    ) -> Result<AttnOutGrads<Vec<T>>> {
        attention_out::backward((ids, qk_e, qk_p), (tab_e, tab_p), probs, dout, d, vocab)
    }

    fn layernorm_fwd(
        &self,
        x: &Vec<T>,
        gamma: &Vec<T>,
        beta: &Vec<T>,
        rows: usize,
        d: usize,
        eps: f64,
    ) -> Result<LayerNormOut<Vec<T>>> {
        layernorm::forward(x, gamma, beta, rows, d, eps)
    }

    fn layernorm_bwd(
        &self,
        x: &Vec<T>,
        gamma: &Vec<T>,
        saved: &LayerNormOut<Vec<T>>,
        dy: &Vec<T>,
        rows: usize,
        d: usize,
        dx: &mut Vec<T>,
        dgamma: &mut Vec<T>,
        dbeta: &mut Vec<T>,
    ) -> Result<()> {
        layernorm::backward(x, gamma, saved, dy, (rows, d), dx, dgamma, dbeta)
    }

    fn layernorm_bwd_new(
        &self,
        x: &Vec<T>,
        gamma: &Vec<T>,
        saved: &LayerNormOut<Vec<T>>,
        dy: &Vec<T>,
        rows: usize,
        d: usize,
        dgamma: &mut Vec<T>,
        dbeta: &mut Vec<T>,
    ) -> Result<Vec<T>> {
        layernorm::backward_new(x, gamma, saved, dy, (rows, d), (dgamma, dbeta))
    }

    fn mean_pool_fwd(&self, x: &Vec<T>, batch: usize, seq: usize, dim: usize) -> Result<Vec<T>> {
        check_sizes(
            "mean_pool_fwd",
            &[("batch", batch), ("seq", seq), ("dim", dim)],
        )?;
        check_len("mean_pool_fwd", "x", x, batch * seq * dim)?;
        // PyTorch's mean: the sum over seq, then one division by seq.
        let n: T = Scalar::from_f64(seq as f64);
        let mut y = vec![T::zero(); batch * dim];
        for (yb, xb) in y.chunks_exact_mut(dim).zip(x.chunks_exact(seq * dim)) {
            for xs in xb.chunks_exact(dim) {
                yb.iter_mut().zip(xs).for_each(|(a, &b)| *a = *a + b);
            }
            yb.iter_mut().for_each(|a| *a = *a / n);
        }
        Ok(y)
    }

    fn mean_pool_bwd(
        &self,
        dy: &Vec<T>,
        batch: usize,
        seq: usize,
        dim: usize,
        dx: &mut Vec<T>,
    ) -> Result<()> {
        check_sizes(
            "mean_pool_bwd",
            &[("batch", batch), ("seq", seq), ("dim", dim)],
        )?;
        check_len("mean_pool_bwd", "dy", dy, batch * dim)?;
        check_len("mean_pool_bwd", "dx", dx, batch * seq * dim)?;
        let n: T = Scalar::from_f64(seq as f64);
        for (dxb, dyb) in dx.chunks_exact_mut(seq * dim).zip(dy.chunks_exact(dim)) {
            for dxs in dxb.chunks_exact_mut(dim) {
                dxs.iter_mut().zip(dyb).for_each(|(a, &g)| *a = *a + g / n);
            }
        }
        Ok(())
    }

    fn mean_pool_bwd_new(
        &self,
        dy: &Vec<T>,
        batch: usize,
        seq: usize,
        dim: usize,
    ) -> Result<Vec<T>> {
        check_sizes(
            "mean_pool_bwd",
            &[("batch", batch), ("seq", seq), ("dim", dim)],
        )?;
        check_len("mean_pool_bwd", "dy", dy, batch * dim)?;
        // Written row by row, without a zero fill first.
        let n: T = Scalar::from_f64(seq as f64);
        let mut dx = Vec::with_capacity(batch * seq * dim);
        for dyb in dy.chunks_exact(dim) {
            for _ in 0..seq {
                dx.extend(dyb.iter().map(|&g| g / n));
            }
        }
        Ok(dx)
    }

    fn has_resid_norm_pool(&self) -> bool {
        true
    }

    fn resid_norm_pool_fwd(
        &self,
        h: &Vec<T>,
        a: &Vec<T>,
        gamma: &Vec<T>,
        beta: &Vec<T>,
        d: NormPoolDims,
        eps: f64,
    ) -> Result<NormPoolOut<Vec<T>>> {
        norm_pool::forward((h, a), (gamma, beta), d, eps)
    }

    fn resid_norm_pool_bwd(
        &self,
        (h, a): (&Vec<T>, &Vec<T>),
        gamma: &Vec<T>,
        saved: &NormPoolOut<Vec<T>>,
        dpooled: &Vec<T>,
        d: NormPoolDims,
        dgamma: &mut Vec<T>,
        dbeta: &mut Vec<T>,
    ) -> Result<NormPoolGrads<Vec<T>>> {
        norm_pool::backward((h, a), gamma, saved, dpooled, d, (dgamma, dbeta))
    }

    fn cross_entropy_fwd(
        &self,
        logits: &Vec<T>,
        labels: &Vec<u32>,
        batch: usize,
        classes: usize,
    ) -> Result<(Vec<T>, Vec<T>)> {
        loss::forward(logits, labels, batch, classes)
    }

    fn cross_entropy_bwd(
        &self,
        probs: &Vec<T>,
        labels: &Vec<u32>,
        dloss: &Vec<T>,
        batch: usize,
        classes: usize,
        dlogits: &mut Vec<T>,
    ) -> Result<()> {
        loss::backward(probs, labels, dloss, batch, classes, dlogits)
    }

    fn adam_step(
        &self,
        param: &mut Vec<T>,
        grad: &Vec<T>,
        m: &mut Vec<T>,
        v: &mut Vec<T>,
        step: AdamStep,
    ) -> Result<()> {
        adam::step(param, grad, m, v, step)
    }
}
