//! `Backend` for [`Cuda`]: each op checks its buffers' lengths, then launches its kernels
//! (forward and backward side by side). Gradients accumulate (`+=`) as the trait requires.

use cudarc::driver::CudaSlice;

use super::kernels as k;
use super::launch::{self as geo, to_u32};
use super::{check_len, launch_kernel, Cuda};
use crate::backend::{AdamStep, AttnDims, Backend, EmbedDims, LayerNormOut};
use crate::error::Result;

type Buf = CudaSlice<f32>;

impl Cuda {
    fn attention_scale(d: AttnDims) -> f32 {
        // PyTorch: q_scaled = q * math.sqrt(1.0 / float(E)), a Python float rounded once.
        (1.0 / d.head_dim as f64).sqrt() as f32
    }

    /// The embedding kernels gather whole rows: the model never asks a backend for leading
    /// columns (the CPU's factored out projection gathers q and k with its own code).
    fn whole_rows(op: &str, d: EmbedDims) -> Result<()> {
        if d.cols == d.dim {
            Ok(())
        } else {
            Err(crate::error::Error::input(format!(
                "{op}: the CUDA embedding gathers whole rows ({} columns), not the leading {}",
                d.dim, d.cols
            )))
        }
    }

    fn check_attn(op: &str, d: AttnDims, qkv: usize) -> Result<()> {
        let shape = format!("(batch {}, seq {}, 3·dim {})", d.batch, d.seq, 3 * d.dim());
        check_len(op, "qkv", qkv, d.batch * d.seq * 3 * d.dim(), &shape)
    }
}

impl Backend for Cuda {
    type T = f32;
    type Buf = Buf;
    type Ids = CudaSlice<u32>;

    fn upload(&self, host: &[f32]) -> Result<Buf> {
        self.upload_slice(host)
    }

    fn download(&self, buf: &Buf) -> Result<Vec<f32>> {
        self.download_slice(buf)
    }

    fn upload_ids(&self, ids: &[u32]) -> Result<Self::Ids> {
        self.upload_slice(ids)
    }

    fn zeros(&self, len: usize) -> Result<Buf> {
        self.zeros_of(len)
    }

    fn fill_zero(&self, buf: &mut Buf) -> Result<()> {
        let len = buf.len();
        self.stream()
            .memset_zeros(buf)
            .map_err(|e| crate::error::Error::device(format!("zeroing {len} elements failed: {e}")))
    }

    fn accumulate(&self, dst: &mut Buf, src: &Buf) -> Result<()> {
        check_len(
            "accumulate",
            "src",
            src.len(),
            dst.len(),
            "the length of dst",
        )?;
        let n = to_u32(dst.len(), "accumulate length")?;
        launch_kernel!(
            self,
            k::ACCUMULATE,
            geo::elementwise(dst.len())?,
            dst,
            src,
            &n
        )
    }

    fn add(&self, a: &Buf, b: &Buf) -> Result<Buf> {
        check_len("add", "b", b.len(), a.len(), "the length of a")?;
        let mut out = self.output(a.len())?;
        let n = to_u32(a.len(), "add length")?;
        launch_kernel!(self, k::ADD, geo::elementwise(a.len())?, a, b, &mut out, &n)?;
        Ok(out)
    }

    // h (batch, seq, dim) = emb[ids] + pos.
    fn embed_fwd(&self, ids: &Self::Ids, emb: &Buf, pos: &Buf, d: EmbedDims) -> Result<Buf> {
        Cuda::whole_rows("embed_fwd", d)?;
        let positions = d.batch * d.seq;
        check_len("embed_fwd", "ids", ids.len(), positions, "batch·seq")?;
        check_len("embed_fwd", "emb", emb.len(), d.vocab * d.dim, "vocab·dim")?;
        check_len("embed_fwd", "pos", pos.len(), d.seq * d.dim, "seq·dim")?;
        let mut h = self.output(positions * d.dim)?;
        let (np, seq, dim) = (
            to_u32(positions, "batch·seq")?,
            to_u32(d.seq, "seq")?,
            to_u32(d.dim, "dim")?,
        );
        launch_kernel!(
            self,
            k::EMBED_FWD,
            geo::elementwise(positions * d.dim)?,
            ids,
            emb,
            pos,
            &mut h,
            &np,
            &seq,
            &dim
        )?;
        Ok(h)
    }

    // demb[ids[p]] += dh[p]; dpos = column sums of dh viewed as (batch, seq·dim).
    fn embed_bwd(
        &self,
        ids: &Self::Ids,
        dh: &Buf,
        d: EmbedDims,
        demb: &mut Buf,
        dpos: &mut Buf,
    ) -> Result<()> {
        Cuda::whole_rows("embed_bwd", d)?;
        let positions = d.batch * d.seq;
        check_len("embed_bwd", "ids", ids.len(), positions, "batch·seq")?;
        check_len(
            "embed_bwd",
            "dh",
            dh.len(),
            positions * d.dim,
            "batch·seq·dim",
        )?;
        check_len(
            "embed_bwd",
            "demb",
            demb.len(),
            d.vocab * d.dim,
            "vocab·dim",
        )?;
        check_len("embed_bwd", "dpos", dpos.len(), d.seq * d.dim, "seq·dim")?;
        let (np, dim) = (to_u32(positions, "batch·seq")?, to_u32(d.dim, "dim")?);
        launch_kernel!(
            self,
            k::EMBED_BWD,
            geo::embed_bwd(d.vocab, d.dim)?,
            ids,
            dh,
            demb,
            &np,
            &dim
        )?;
        let (rows, cols) = (to_u32(d.batch, "batch")?, to_u32(d.seq * d.dim, "seq·dim")?);
        launch_kernel!(
            self,
            k::COL_SUM_ACC,
            geo::col_reduce(d.seq * d.dim)?,
            dh,
            &rows,
            &cols,
            dpos
        )
    }

    // y (m, n) = x (m, k) · wᵀ + bias.
    fn linear_fwd(
        &self,
        x: &Buf,
        w: &Buf,
        bias: &Buf,
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<Buf> {
        check_len("linear_fwd", "x", x.len(), m * k, "m·k")?;
        check_len("linear_fwd", "w", w.len(), n * k, "n·k")?;
        check_len("linear_fwd", "bias", bias.len(), n, "n")?;
        let mut y = self.output(m * n)?;
        let (mu, ku, nu) = (to_u32(m, "m")?, to_u32(k, "k")?, to_u32(n, "n")?);
        launch_kernel!(
            self,
            k::LINEAR_FWD,
            geo::gemm(m, n)?,
            x,
            w,
            bias,
            &mut y,
            &mu,
            &ku,
            &nu
        )?;
        Ok(y)
    }

    // dx += dy·w; dw += dyᵀ·x; dbias += column sums of dy.
    fn linear_bwd(
        &self,
        x: &Buf,
        w: &Buf,
        dy: &Buf,
        m: usize,
        k: usize,
        n: usize,
        dx: &mut Buf,
        dw: &mut Buf,
        dbias: &mut Buf,
    ) -> Result<()> {
        check_len("linear_bwd", "x", x.len(), m * k, "m·k")?;
        check_len("linear_bwd", "w", w.len(), n * k, "n·k")?;
        check_len("linear_bwd", "dy", dy.len(), m * n, "m·n")?;
        check_len("linear_bwd", "dx", dx.len(), m * k, "m·k")?;
        check_len("linear_bwd", "dw", dw.len(), n * k, "n·k")?;
        check_len("linear_bwd", "dbias", dbias.len(), n, "n")?;
        let (mu, ku, nu) = (to_u32(m, "m")?, to_u32(k, "k")?, to_u32(n, "n")?);
        launch_kernel!(
            self,
            k::LINEAR_BWD_DX,
            geo::gemm(m, k)?,
            dy,
            w,
            dx,
            &mu,
            &ku,
            &nu
        )?;
        launch_kernel!(
            self,
            k::LINEAR_BWD_DW,
            geo::gemm(n, k)?,
            dy,
            x,
            dw,
            &mu,
            &ku,
            &nu
        )?;
        launch_kernel!(
            self,
            k::COL_SUM_ACC,
            geo::col_reduce(n)?,
            dy,
            &mu,
            &nu,
            dbias
        )
    }

    fn attention_fwd(&self, qkv: &Buf, d: AttnDims) -> Result<(Buf, Buf)> {
        Self::check_attn("attention_fwd", d, qkv.len())?;
        let cfg = geo::attention(d, false)?;
        let mut out = self.output(d.batch * d.seq * d.dim())?;
        let mut probs = self.output(d.batch * d.heads * d.seq * d.seq)?;
        let (seq, heads, hd) = (
            to_u32(d.seq, "seq")?,
            to_u32(d.heads, "heads")?,
            to_u32(d.head_dim, "head_dim")?,
        );
        let scale = Self::attention_scale(d);
        launch_kernel!(
            self,
            k::ATTENTION_FWD,
            cfg,
            qkv,
            &mut out,
            &mut probs,
            &seq,
            &heads,
            &hd,
            &scale
        )?;
        Ok((out, probs))
    }

    fn attention_bwd(
        &self,
        qkv: &Buf,
        probs: &Buf,
        dout: &Buf,
        d: AttnDims,
        dqkv: &mut Buf,
    ) -> Result<()> {
        Self::check_attn("attention_bwd", d, qkv.len())?;
        check_len(
            "attention_bwd",
            "probs",
            probs.len(),
            d.batch * d.heads * d.seq * d.seq,
            "batch·heads·seq·seq",
        )?;
        check_len(
            "attention_bwd",
            "dout",
            dout.len(),
            d.batch * d.seq * d.dim(),
            "batch·seq·dim",
        )?;
        check_len(
            "attention_bwd",
            "dqkv",
            dqkv.len(),
            qkv.len(),
            "batch·seq·3·dim",
        )?;
        let cfg = geo::attention(d, true)?;
        let (seq, heads, hd) = (
            to_u32(d.seq, "seq")?,
            to_u32(d.heads, "heads")?,
            to_u32(d.head_dim, "head_dim")?,
        );
        let scale = Self::attention_scale(d);
        launch_kernel!(
            self,
            k::ATTENTION_BWD,
            cfg,
            qkv,
            probs,
            dout,
            dqkv,
            &seq,
            &heads,
            &hd,
            &scale
        )
    }

    fn layernorm_fwd(
        &self,
        x: &Buf,
        gamma: &Buf,
        beta: &Buf,
        rows: usize,
        d: usize,
        eps: f64,
    ) -> Result<LayerNormOut<Buf>> {
        check_len("layernorm_fwd", "x", x.len(), rows * d, "rows·d")?;
        check_len("layernorm_fwd", "gamma", gamma.len(), d, "d")?;
        check_len("layernorm_fwd", "beta", beta.len(), d, "d")?;
        let mut y = self.output(rows * d)?;
        let mut mean = self.output(rows)?;
        let mut rstd = self.output(rows)?;
        let (du, epsf) = (to_u32(d, "d")?, eps as f32);
        launch_kernel!(
            self,
            k::LAYERNORM_FWD,
            geo::per_row(rows, d)?,
            x,
            gamma,
            beta,
            &mut y,
            &mut mean,
            &mut rstd,
            &du,
            &epsf
        )?;
        Ok(LayerNormOut { y, mean, rstd })
    }

    fn layernorm_bwd(
        &self,
        x: &Buf,
        gamma: &Buf,
        saved: &LayerNormOut<Buf>,
        dy: &Buf,
        rows: usize,
        d: usize,
        dx: &mut Buf,
        dgamma: &mut Buf,
        dbeta: &mut Buf,
    ) -> Result<()> {
        check_len("layernorm_bwd", "x", x.len(), rows * d, "rows·d")?;
        check_len("layernorm_bwd", "gamma", gamma.len(), d, "d")?;
        check_len(
            "layernorm_bwd",
            "saved mean",
            saved.mean.len(),
            rows,
            "rows",
        )?;
        check_len(
            "layernorm_bwd",
            "saved rstd",
            saved.rstd.len(),
            rows,
            "rows",
        )?;
        check_len("layernorm_bwd", "dy", dy.len(), rows * d, "rows·d")?;
        check_len("layernorm_bwd", "dx", dx.len(), rows * d, "rows·d")?;
        check_len("layernorm_bwd", "dgamma", dgamma.len(), d, "d")?;
        check_len("layernorm_bwd", "dbeta", dbeta.len(), d, "d")?;
        let (ru, du) = (to_u32(rows, "rows")?, to_u32(d, "d")?);
        let (mean, rstd) = (&saved.mean, &saved.rstd);
        launch_kernel!(
            self,
            k::LAYERNORM_BWD_DX,
            geo::per_row(rows, d)?,
            x,
            gamma,
            mean,
            rstd,
            dy,
            dx,
            &du
        )?;
        launch_kernel!(
            self,
            k::LAYERNORM_BWD_PARAMS,
            geo::col_reduce(d)?,
            x,
            mean,
            rstd,
            dy,
            dgamma,
            dbeta,
            &ru,
            &du
        )
    }

    fn mean_pool_fwd(&self, x: &Buf, batch: usize, seq: usize, dim: usize) -> Result<Buf> {
        check_len(
            "mean_pool_fwd",
            "x",
            x.len(),
            batch * seq * dim,
            "batch·seq·dim",
        )?;
        let mut y = self.output(batch * dim)?;
        let (b, s, d) = (
            to_u32(batch, "batch")?,
            to_u32(seq, "seq")?,
            to_u32(dim, "dim")?,
        );
        launch_kernel!(
            self,
            k::MEAN_POOL_FWD,
            geo::elementwise(batch * dim)?,
            x,
            &mut y,
            &b,
            &s,
            &d
        )?;
        Ok(y)
    }

    fn mean_pool_bwd(
        &self,
        dy: &Buf,
        batch: usize,
        seq: usize,
        dim: usize,
        dx: &mut Buf,
    ) -> Result<()> {
        check_len("mean_pool_bwd", "dy", dy.len(), batch * dim, "batch·dim")?;
        check_len(
            "mean_pool_bwd",
            "dx",
            dx.len(),
            batch * seq * dim,
            "batch·seq·dim",
        )?;
        let (b, s, d) = (
            to_u32(batch, "batch")?,
            to_u32(seq, "seq")?,
            to_u32(dim, "dim")?,
        );
        launch_kernel!(
            self,
            k::MEAN_POOL_BWD,
            geo::elementwise(batch * seq * dim)?,
            dy,
            dx,
            &b,
            &s,
            &d
        )
    }

    fn cross_entropy_fwd(
        &self,
        logits: &Buf,
        labels: &Self::Ids,
        batch: usize,
        classes: usize,
    ) -> Result<(Buf, Buf)> {
        check_len(
            "cross_entropy_fwd",
            "logits",
            logits.len(),
            batch * classes,
            "batch·classes",
        )?;
        check_len("cross_entropy_fwd", "labels", labels.len(), batch, "batch")?;
        if batch == 0 || classes == 0 {
            return Err(crate::error::Error::input(format!(
                "cross_entropy_fwd: batch {batch} × classes {classes}; expected both ≥ 1 (the mean of no rows is undefined)"
            )));
        }
        let mut probs = self.output(batch * classes)?;
        let mut row_loss = self.output::<f32>(batch)?;
        let mut loss = self.output(1)?;
        let (b, c) = (to_u32(batch, "batch")?, to_u32(classes, "classes")?);
        launch_kernel!(
            self,
            k::XENT_ROWS,
            geo::elementwise(batch)?,
            logits,
            labels,
            &mut probs,
            &mut row_loss,
            &b,
            &c
        )?;
        launch_kernel!(
            self,
            k::MEAN,
            Some(geo::single_block()),
            &row_loss,
            &b,
            &mut loss
        )?;
        Ok((loss, probs))
    }

    fn cross_entropy_bwd(
        &self,
        probs: &Buf,
        labels: &Self::Ids,
        dloss: &Buf,
        batch: usize,
        classes: usize,
        dlogits: &mut Buf,
    ) -> Result<()> {
        check_len(
            "cross_entropy_bwd",
            "probs",
            probs.len(),
            batch * classes,
            "batch·classes",
        )?;
        check_len("cross_entropy_bwd", "labels", labels.len(), batch, "batch")?;
        check_len("cross_entropy_bwd", "dloss", dloss.len(), 1, "1")?;
        check_len(
            "cross_entropy_bwd",
            "dlogits",
            dlogits.len(),
            batch * classes,
            "batch·classes",
        )?;
        let (b, c) = (to_u32(batch, "batch")?, to_u32(classes, "classes")?);
        launch_kernel!(
            self,
            k::XENT_BWD,
            geo::elementwise(batch * classes)?,
            probs,
            labels,
            dloss,
            dlogits,
            &b,
            &c
        )
    }

    fn adam_step(
        &self,
        param: &mut Buf,
        grad: &Buf,
        m: &mut Buf,
        v: &mut Buf,
        step: AdamStep,
    ) -> Result<()> {
        let n = param.len();
        check_len("adam_step", "grad", grad.len(), n, "the parameter's length")?;
        check_len("adam_step", "m", m.len(), n, "the parameter's length")?;
        check_len("adam_step", "v", v.len(), n, "the parameter's length")?;
        if step.t == 0 {
            return Err(crate::error::Error::input(
                "adam_step: step number t is 0, expected ≥ 1",
            ));
        }
        let nu = to_u32(n, "parameter length")?;
        // The host scalars of PyTorch's formula (Python floats), rounded to f32 once.
        let w1 = (1.0 - step.beta1) as f32;
        let beta2 = step.beta2 as f32;
        let one_minus_beta2 = (1.0 - step.beta2) as f32;
        let eps = step.eps as f32;
        let neg_step_size = (-step.step_size()) as f32;
        let bc2_sqrt = step.bias_correction2_sqrt() as f32;
        launch_kernel!(
            self,
            k::ADAM,
            geo::elementwise(n)?,
            param,
            grad,
            m,
            v,
            &nu,
            &w1,
            &beta2,
            &one_minus_beta2,
            &eps,
            &neg_step_size,
            &bc2_sqrt
        )
    }
}
