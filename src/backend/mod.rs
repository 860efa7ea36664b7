//! The op set that the tape and the model are written against, implemented twice: `cpu`
//! (ndarray, generic over f32/f64) and `cuda` (hand-written kernels, f32).
//!
//! Conventions, shared by every implementation:
//! - buffers are flat and row-major; shapes are passed explicitly and written in comments;
//! - `*_bwd` functions ACCUMULATE into their `&mut` gradient outputs (`+=`), so a value used
//!   twice sums its gradients and callers zero gradients once per step; the `*_bwd_new`
//!   variants (with default implementations) return the first contribution as a new buffer;
//! - token ids and labels are `u32`, already validated against their ranges by the caller.

use crate::error::{Error, Result};

pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

/// The element types the numerics run in.
pub trait Scalar:
    num_traits::Float
    + num_traits::FromPrimitive
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + std::fmt::Debug
    + std::fmt::Display
    + std::iter::Sum
    + Default
    + Send
    + Sync
    + 'static
{
    /// The safetensors / PyTorch dtype name: "F32" or "F64".
    const DTYPE: &'static str;
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
}

impl Scalar for f32 {
    const DTYPE: &'static str = "F32";
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Scalar for f64 {
    const DTYPE: &'static str = "F64";
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
}

/// Shape of the embedding op: ids (batch, seq) into emb (vocab, dim), plus pos (seq, dim); the
/// output (batch, seq, cols) takes the leading `cols` ≤ dim columns of those rows (dim: whole
/// rows; `Factoring::QkvAndOut` gathers only the q and k blocks of its projected rows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmbedDims {
    pub batch: usize,
    pub seq: usize,
    pub dim: usize,
    pub vocab: usize,
    pub cols: usize,
}

/// Shape of the attention op: qkv (batch, seq, 3·heads·head_dim).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttnDims {
    pub batch: usize,
    pub seq: usize,
    pub heads: usize,
    pub head_dim: usize,
}

impl AttnDims {
    pub fn dim(&self) -> usize {
        self.heads * self.head_dim
    }
}

/// Shape of the head projection op: src (rows, 3·heads·head_dim), tab (rows, heads, dim).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadProjDims {
    pub rows: usize,
    pub heads: usize,
    pub head_dim: usize,
}

impl HeadProjDims {
    pub fn dim(&self) -> usize {
        self.heads * self.head_dim
    }
}

/// The gradients of `attention_out_bwd`.
pub struct AttnOutGrads<Buf> {
    /// (vocab, 3·dim) and (seq, 3·dim): q's and k's gradients summed into the rows they were
    /// read from (their leading 2·dim columns; the v blocks zero)
    pub dqk_e: Buf,
    pub dqk_p: Buf,
    /// (vocab, heads, dim)
    pub dtab_e: Buf,
    /// (seq, heads, dim)
    pub dtab_p: Buf,
    /// (dim)
    pub dbias: Buf,
}

/// The error of an op a backend does not implement; `instead` says what to use.
fn unsupported(op: &str, instead: &str) -> Error {
    Error::device(format!(
        "{op} is not implemented on this backend; {instead}"
    ))
}

/// What to use where the factored out projection's ops are missing.
const USE_QKV: &str = "train with model::Factoring::Qkv";
/// What to use where the fused residual–LayerNorm–mean-pool op is missing.
const USE_UNFUSED: &str = "record add, layernorm and mean_pool instead";

/// One Adam update, PyTorch's single-tensor formula (torch/optim/adam.py, `_single_tensor_adam`):
/// m.lerp_(g, 1-β1); v = β2·v + (1-β2)·g²; step_size = lr / (1-β1ᵗ);
/// denom = √v / √(1-β2ᵗ) + eps; p -= step_size · m / denom.
/// The scalars are computed in f64 on the host, as Python floats are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Step number, starting at 1.
    pub t: u64,
}

impl AdamStep {
    pub fn step_size(&self) -> f64 {
        self.lr / (1.0 - self.beta1.powi(self.t as i32))
    }
    pub fn bias_correction2_sqrt(&self) -> f64 {
        (1.0 - self.beta2.powi(self.t as i32)).sqrt()
    }
}

/// Shape of the residual–LayerNorm–mean-pool op: h and a (batch, seq, dim).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NormPoolDims {
    pub batch: usize,
    pub seq: usize,
    pub dim: usize,
}

/// The outputs of `resid_norm_pool_fwd`.
pub struct NormPoolOut<Buf> {
    /// (batch, dim)
    pub pooled: Buf,
    /// (batch·seq): the statistics of each row of h + a, as `LayerNormOut`'s.
    pub mean: Buf,
    pub rstd: Buf,
}

/// The gradients of `resid_norm_pool_bwd`, as new buffers.
pub struct NormPoolGrads<Buf> {
    /// (batch, seq, dim): the gradient of h + a, which is a's (the unfused `add` hands it on).
    pub dresid: Buf,
    /// The same values as h's first gradient from the unfused `add`: 0 + dresid (a −0 becomes
    /// +0), so that the fused and unfused paths give the same bits.
    pub dh: Buf,
}

/// The saved outputs of LayerNorm's forward pass.
pub struct LayerNormOut<Buf> {
    /// (rows, d)
    pub y: Buf,
    /// (rows)
    pub mean: Buf,
    /// (rows): 1 / √(var + eps), var biased (divided by d), as PyTorch.
    pub rstd: Buf,
}

pub trait Backend {
    type T: Scalar;
    /// A flat buffer of `T`.
    type Buf;
    /// A flat buffer of `u32` (token ids, labels).
    type Ids;

    fn upload(&self, host: &[Self::T]) -> Result<Self::Buf>;
    fn download(&self, buf: &Self::Buf) -> Result<Vec<Self::T>>;
    fn upload_ids(&self, ids: &[u32]) -> Result<Self::Ids>;
    fn zeros(&self, len: usize) -> Result<Self::Buf>;
    fn fill_zero(&self, buf: &mut Self::Buf) -> Result<()>;
    /// dst += src (same length).
    fn accumulate(&self, dst: &mut Self::Buf, src: &Self::Buf) -> Result<()>;
    /// a + b (same length).
    fn add(&self, a: &Self::Buf, b: &Self::Buf) -> Result<Self::Buf>;

    /// h (batch, seq, dim): `h[b,s,:] = emb[ids[b,s],:] + pos[s,:]`.
    fn embed_fwd(
        &self,
        ids: &Self::Ids,
        emb: &Self::Buf,
        pos: &Self::Buf,
        d: EmbedDims,
    ) -> Result<Self::Buf>;
    /// `demb[ids[b,s],:] += dh[b,s,:]`; `dpos[s,:] += Σ_b dh[b,s,:]`.
    fn embed_bwd(
        &self,
        ids: &Self::Ids,
        dh: &Self::Buf,
        d: EmbedDims,
        demb: &mut Self::Buf,
        dpos: &mut Self::Buf,
    ) -> Result<()>;

    /// y (m, n) = x (m, k) · wᵀ (w: n, k) + bias (n).
    fn linear_fwd(
        &self,
        x: &Self::Buf,
        w: &Self::Buf,
        bias: &Self::Buf,
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<Self::Buf>;
    /// dx (m, k) += dy · w; dw (n, k) += dyᵀ · x; dbias (n) += Σ_rows dy.
    #[allow(clippy::too_many_arguments)]
    fn linear_bwd(
        &self,
        x: &Self::Buf,
        w: &Self::Buf,
        dy: &Self::Buf,
        m: usize,
        k: usize,
        n: usize,
        dx: &mut Self::Buf,
        dw: &mut Self::Buf,
        dbias: &mut Self::Buf,
    ) -> Result<()>;

    /// qkv (batch, seq, 3·dim): q = columns 0..dim, k = dim..2·dim, v = 2·dim..3·dim; head h uses
    /// columns h·hd..(h+1)·hd of each. Returns out (batch, seq, dim), head h's block being
    /// probs_h · v_h, and probs (batch, heads, seq, seq) = softmax(q_h · k_hᵀ / √hd) by rows.
    fn attention_fwd(&self, qkv: &Self::Buf, d: AttnDims) -> Result<(Self::Buf, Self::Buf)>;
    /// dqkv (batch, seq, 3·dim) += the gradient through attention given dout (batch, seq, dim).
    fn attention_bwd(
        &self,
        qkv: &Self::Buf,
        probs: &Self::Buf,
        dout: &Self::Buf,
        d: AttnDims,
        dqkv: &mut Self::Buf,
    ) -> Result<()>;
    /// `attention_bwd` into a new buffer: dqkv = the gradient (as if added into zeros). The
    /// tape calls it for a gradient's first contribution; the default fills zeros and adds, a
    /// backend may write the gradient directly and skip the fill.
    fn attention_bwd_new(
        &self,
        qkv: &Self::Buf,
        probs: &Self::Buf,
        dout: &Self::Buf,
        d: AttnDims,
    ) -> Result<Self::Buf> {
        let mut dqkv = self.zeros(d.batch * d.seq * 3 * d.dim())?;
        self.attention_bwd(qkv, probs, dout, d, &mut dqkv)?;
        Ok(dqkv)
    }

    /// Whether this backend has `head_proj_*` and `attention_out_*`, the ops of the factored
    /// out-projection path (`model::Factoring::QkvAndOut`). The model takes that path only where
    /// they exist; the defaults below are errors.
    fn has_attention_out(&self) -> bool {
        false
    }

    /// tab (rows, heads, dim): `tab[r,h,:] = src[r, 2·dim + h·hd ..][..hd] · w[:, h·hd ..][..hd]ᵀ`,
    /// the value block of each row of src (rows, 3·dim) through head h's columns of the out
    /// projection w (dim, dim).
    fn head_proj_fwd(&self, src: &Self::Buf, w: &Self::Buf, d: HeadProjDims) -> Result<Self::Buf> {
        let _ = (src, w, d);
        Err(unsupported("head_proj_fwd", USE_QKV))
    }
    /// dsrc (rows, 3·dim) += dtab_h · w_h into head h's value columns (its q and k columns
    /// untouched); dw (dim, dim) += dtab_hᵀ · src_h into head h's columns.
    fn head_proj_bwd(
        &self,
        src: &Self::Buf,
        w: &Self::Buf,
        dtab: &Self::Buf,
        d: HeadProjDims,
        dsrc: &mut Self::Buf,
        dw: &mut Self::Buf,
    ) -> Result<()> {
        let _ = (src, w, dtab, d, dsrc, dw);
        Err(unsupported("head_proj_bwd", USE_QKV))
    }

    /// Attention followed by the out projection, on rows already projected: out (batch, seq,
    /// dim) = bias + Σ_h probs_h · y_h with `y_h[s] = tab_e[ids[b,s], h] + tab_p[s, h]` (tab_e
    /// (vocab, heads, dim), tab_p (seq, heads, dim), bias (dim)), and probs (batch, heads, seq,
    /// seq) computed as in `attention_fwd` from q and k = the leading 2·dim columns of
    /// `qk_e[ids[b,s]] + qk_p[s]` (qk_e (vocab, 3·dim), qk_p (seq, 3·dim): the projected
    /// vocabulary and position rows, summed as `embed_fwd` sums them; their v blocks are not
    /// read). Returns (out, probs).
    fn attention_out_fwd(
        &self,
        (ids, qk_e, qk_p): (&Self::Ids, &Self::Buf, &Self::Buf),
        (tab_e, tab_p): (&Self::Buf, &Self::Buf),
        bias: &Self::Buf,
        d: AttnDims,
        vocab: usize,
    ) -> Result<(Self::Buf, Self::Buf)> {
        let _ = (ids, qk_e, qk_p, tab_e, tab_p, bias, d, vocab);
        Err(unsupported("attention_out_fwd", USE_QKV))
    }
    /// The gradients of `attention_out_fwd` given dout (batch, seq, dim), as NEW buffers (the
    /// tape sums them into what an input already has): dqk_e and dqk_p (q's and k's gradients
    /// summed into their rows as `embed_bwd` sums them), dtab_e, dtab_p, dbias.
    #[allow(clippy::too_many_arguments)]
    fn attention_out_bwd(
        &self,
        (ids, qk_e, qk_p): (&Self::Ids, &Self::Buf, &Self::Buf),
        (tab_e, tab_p): (&Self::Buf, &Self::Buf),
        probs: &Self::Buf,
        dout: &Self::Buf,
        d: AttnDims,
        vocab: usize,
    ) -> Result<AttnOutGrads<Self::Buf>> {
        let _ = (ids, qk_e, qk_p, tab_e, tab_p, probs, dout, d, vocab);
        Err(unsupported("attention_out_bwd", USE_QKV))
    }

    /// LayerNorm over the last axis of x (rows, d) with affine gamma, beta (d).
    fn layernorm_fwd(
        &self,
        x: &Self::Buf,
        gamma: &Self::Buf,
        beta: &Self::Buf,
        rows: usize,
        d: usize,
        eps: f64,
    ) -> Result<LayerNormOut<Self::Buf>>;
    #[allow(clippy::too_many_arguments)]
    fn layernorm_bwd(
        &self,
        x: &Self::Buf,
        gamma: &Self::Buf,
        saved: &LayerNormOut<Self::Buf>,
        dy: &Self::Buf,
        rows: usize,
        d: usize,
        dx: &mut Self::Buf,
        dgamma: &mut Self::Buf,
        dbeta: &mut Self::Buf,
    ) -> Result<()>;
    /// `layernorm_bwd` with dx a new buffer (dgamma and dbeta still accumulate); see
    /// `attention_bwd_new`.
    #[allow(clippy::too_many_arguments)]
    fn layernorm_bwd_new(
        &self,
        x: &Self::Buf,
        gamma: &Self::Buf,
        saved: &LayerNormOut<Self::Buf>,
        dy: &Self::Buf,
        rows: usize,
        d: usize,
        dgamma: &mut Self::Buf,
        dbeta: &mut Self::Buf,
    ) -> Result<Self::Buf> {
        let mut dx = self.zeros(rows * d)?;
        self.layernorm_bwd(x, gamma, saved, dy, rows, d, &mut dx, dgamma, dbeta)?;
        Ok(dx)
    }

    /// y (batch, dim) = mean over seq of x (batch, seq, dim).
    fn mean_pool_fwd(
        &self,
        x: &Self::Buf,
        batch: usize,
        seq: usize,
        dim: usize,
    ) -> Result<Self::Buf>;
    /// `dx[b,s,:] += dy[b,:] / seq`.
    fn mean_pool_bwd(
        &self,
        dy: &Self::Buf,
        batch: usize,
        seq: usize,
        dim: usize,
        dx: &mut Self::Buf,
    ) -> Result<()>;
    /// `mean_pool_bwd` into a new buffer: `dx[b,s,:] = dy[b,:] / seq` (see `attention_bwd_new`).
    fn mean_pool_bwd_new(
        &self,
        dy: &Self::Buf,
        batch: usize,
        seq: usize,
        dim: usize,
    ) -> Result<Self::Buf> {
        let mut dx = self.zeros(batch * seq * dim)?;
        self.mean_pool_bwd(dy, batch, seq, dim, &mut dx)?;
        Ok(dx)
    }

    /// Whether this backend has `resid_norm_pool_*`, the residual add, LayerNorm and mean pool
    /// in one pass (the model's loss path takes it where it exists; the defaults below are
    /// errors).
    fn has_resid_norm_pool(&self) -> bool {
        false
    }
    /// pooled (batch, dim) = mean over seq of LayerNorm(h + a) (gamma, beta (dim), eps), with
    /// the bits of `add`, `layernorm_fwd` and `mean_pool_fwd` one after the other; h + a and
    /// the LayerNorm output are not stored.
    #[allow(clippy::too_many_arguments)]
    fn resid_norm_pool_fwd(
        &self,
        h: &Self::Buf,
        a: &Self::Buf,
        gamma: &Self::Buf,
        beta: &Self::Buf,
        d: NormPoolDims,
        eps: f64,
    ) -> Result<NormPoolOut<Self::Buf>> {
        let _ = (h, a, gamma, beta, d, eps);
        Err(unsupported("resid_norm_pool_fwd", USE_UNFUSED))
    }
    /// The gradients of `resid_norm_pool_fwd` given dpooled (batch, dim), with the bits of
    /// `mean_pool_bwd_new`, `layernorm_bwd_new` and the add's backward one after the other;
    /// dgamma and dbeta accumulate.
    #[allow(clippy::too_many_arguments)]
    fn resid_norm_pool_bwd(
        &self,
        (h, a): (&Self::Buf, &Self::Buf),
        gamma: &Self::Buf,
        saved: &NormPoolOut<Self::Buf>,
        dpooled: &Self::Buf,
        d: NormPoolDims,
        dgamma: &mut Self::Buf,
        dbeta: &mut Self::Buf,
    ) -> Result<NormPoolGrads<Self::Buf>> {
        let _ = (h, a, gamma, saved, dpooled, d, dgamma, dbeta);
        Err(unsupported("resid_norm_pool_bwd", USE_UNFUSED))
    }

    /// Mean over the batch of `−log softmax(logits_b)[label_b]`. logits (batch, classes).
    /// Returns (loss (1), probs (batch, classes)).
    fn cross_entropy_fwd(
        &self,
        logits: &Self::Buf,
        labels: &Self::Ids,
        batch: usize,
        classes: usize,
    ) -> Result<(Self::Buf, Self::Buf)>;
    /// dlogits += dloss · (probs − onehot(labels)) / batch; dloss is a 1-element buffer.
    fn cross_entropy_bwd(
        &self,
        probs: &Self::Buf,
        labels: &Self::Ids,
        dloss: &Self::Buf,
        batch: usize,
        classes: usize,
        dlogits: &mut Self::Buf,
    ) -> Result<()>;

    /// One Adam update of `param` in place (see [`AdamStep`]).
    fn adam_step(
        &self,
        param: &mut Self::Buf,
        grad: &Self::Buf,
        m: &mut Self::Buf,
        v: &mut Self::Buf,
        step: AdamStep,
    ) -> Result<()>;
}
