//! Multi-head scaled dot-product attention on a packed qkv (batch, seq, 3·dim):
//! out (batch, seq, dim) with head h's block = softmax(q_h·k_hᵀ/√hd)·v_h.

use super::{shape_error, Ctx, Op, Tape, Var};
use crate::backend::{AttnDims, Backend};
use crate::error::{Error, Result};

pub(super) struct Attention<B: Backend> {
    qkv: Var,
    /// (batch, heads, seq, seq), saved for the backward.
    probs: B::Buf,
    d: AttnDims,
}

impl<B: Backend> Tape<'_, B> {
    pub fn attention(&mut self, qkv: Var, heads: usize) -> Result<Var> {
        let qs = self.shape(qkv);
        let [batch, seq, three_dim] = *qs else {
            return Err(shape_error(
                "attention",
                "qkv",
                qs,
                "(batch, seq, 3·dim)".into(),
            ));
        };
        if heads == 0 || three_dim % (3 * heads) != 0 {
            return Err(Error::input(format!(
                "attention: qkv's last axis {three_dim} is not 3·dim with dim divisible by \
                 heads = {heads}"
            )));
        }
        let d = AttnDims {
            batch,
            seq,
            heads,
            head_dim: three_dim / 3 / heads,
        };
        let (out, probs) = self.backend.attention_fwd(self.value(qkv), d)?;
        let op = Attention { qkv, probs, d };
        Ok(self.push(out, vec![batch, seq, d.dim()], Op::Attention(op)))
    }
}

impl<B: Backend> Attention<B> {
    /// (batch, heads, seq, seq)
    pub(super) fn probs(&self) -> &B::Buf {
        &self.probs
    }

    pub(super) fn backward(self, ctx: &mut Ctx<'_, '_, B>, g: &B::Buf) -> Result<()> {
        let qkv = ctx.value(self.qkv);
        if !ctx.has_grad(self.qkv) {
            let dqkv = ctx.backend.attention_bwd_new(qkv, &self.probs, g, self.d)?;
            return ctx.give(self.qkv, dqkv);
        }
        let mut dqkv = ctx.take(self.qkv)?;
        let qkv = ctx.value(self.qkv);
        ctx.backend
            .attention_bwd(qkv, &self.probs, g, self.d, &mut dqkv)?;
        ctx.give(self.qkv, dqkv)
    }
}
