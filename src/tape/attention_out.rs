//! Attention followed by the out projection, on per-head projected value rows:
//! out (batch, seq, dim) = bias + Σ_h probs_h · y_h, y_h[b,s] = tab_e[ids[b,s], h] + tab_p[s, h],
//! probs from qkv's q and k blocks as in `attention`. With tab_e and tab_p from `head_proj`,
//! this equals linear(attention(qkv), out_w, bias) up to the order of the sums.

use super::{shape_error, Ctx, Kind, Op, Tape, Var};
use crate::backend::{AttnDims, Backend};
use crate::error::{Error, Result};

pub(super) struct AttentionOut<'a, B: Backend> {
    qkv: Var,
    ids: &'a B::Ids,
    tab_e: Var,
    tab_p: Var,
    bias: Var,
    /// (batch, heads, seq, seq), saved for the backward.
    probs: B::Buf,
    d: AttnDims,
    vocab: usize,
}

impl<'a, B: Backend> Tape<'a, B> {
    /// qkv (batch, seq, 3·dim), or its q and k blocks only (batch, seq, 2·dim): v is not read;
    /// ids (batch, seq) validated against the vocabulary by the caller; tab_e (vocab, heads,
    /// dim); tab_p (seq, heads, dim); bias (dim).
    pub fn attention_out(
        &mut self,
        qkv: Var,
        ids: &'a B::Ids,
        (tab_e, tab_p): (Var, Var),
        bias: Var,
    ) -> Result<Var> {
        let (qs, es) = (self.shape(qkv), self.shape(tab_e));
        let [batch, seq, row] = *qs else {
            let expected = "(batch, seq, 3·dim)".into();
            return Err(shape_error("attention_out", "qkv", qs, expected));
        };
        let [vocab, heads, dim] = *es else {
            let expected = "(vocab, heads, dim)".into();
            return Err(shape_error("attention_out", "tab_e", es, expected));
        };
        if (row != 3 * dim && row != 2 * dim) || heads == 0 || dim % heads != 0 {
            return Err(Error::input(format!(
                "attention_out: qkv's last axis {row} is not 3·dim (or 2·dim, q and k only) for \
                 tab_e {es:?} (dim {dim} divisible by heads {heads})"
            )));
        }
        let ps = self.shape(tab_p);
        if ps != [seq, heads, dim] {
            let expected = format!("({seq}, {heads}, {dim}) = (seq, heads, dim)");
            return Err(shape_error("attention_out", "tab_p", ps, expected));
        }
        let bs = self.shape(bias);
        if bs != [dim] {
            return Err(shape_error("attention_out", "bias", bs, format!("({dim})")));
        }
        let d = AttnDims {
            batch,
            seq,
            heads,
            head_dim: dim / heads,
        };
        let (out, probs) = self.backend.attention_out_fwd(
            self.value(qkv),
            ids,
            self.value(tab_e),
            self.value(tab_p),
            self.value(bias),
            d,
            vocab,
        )?;
        let op = AttentionOut {
            qkv,
            ids,
            tab_e,
            tab_p,
            bias,
            probs,
            d,
            vocab,
        };
        Ok(self.push(out, vec![batch, seq, dim], Op::AttentionOut(op)))
    }

    /// The softmax probabilities (batch, heads, seq, seq) saved by an `attention` or
    /// `attention_out` op `v`.
    pub fn attention_probs(&self, v: Var) -> Option<&B::Buf> {
        match &self.nodes[v.0].kind {
            Kind::Op(_, Op::Attention(a)) => Some(a.probs()),
            Kind::Op(_, Op::AttentionOut(a)) => Some(&a.probs),
            _ => None,
        }
    }
}

impl<'a, B: Backend> AttentionOut<'a, B> {
    pub(super) fn backward(self, ctx: &mut Ctx<'_, 'a, B>, g: &B::Buf) -> Result<()> {
        let tabs = (ctx.value(self.tab_e), ctx.value(self.tab_p));
        let grads = ctx.backend.attention_out_bwd(
            ctx.value(self.qkv),
            self.ids,
            tabs,
            &self.probs,
            g,
            self.d,
            self.vocab,
        )?;
        ctx.give(self.qkv, grads.dqkv)?;
        ctx.give(self.tab_e, grads.dtab_e)?;
        ctx.give(self.tab_p, grads.dtab_p)?;
        ctx.give(self.bias, grads.dbias)
    }
}
