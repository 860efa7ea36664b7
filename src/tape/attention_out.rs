//! Attention followed by the out projection, on rows already projected:
//! out (batch, seq, dim) = bias + Σ_h probs_h · y_h, y_h[b,s] = tab_e[ids[b,s], h] + tab_p[s, h],
//! probs as in `attention` from q and k = the leading 2·dim columns of qk_e[ids[b,s]] + qk_p[s].
//! With qk_e, qk_p the projected vocabulary and position rows (`linear`) and tab_e, tab_p from
//! `head_proj`, this equals linear(attention(embed(qk_e, qk_p)), out_w, bias) up to the order of
//! the sums; q and k are gathered inside the op (no (batch, seq, 2·dim) value on the tape).

use super::{shape_error, Ctx, Kind, Op, Tape, Var};
use crate::backend::{AttnDims, Backend};
use crate::error::{Error, Result};

pub(super) struct AttentionOut<'a, B: Backend> {
    ids: &'a B::Ids,
    qk_e: Var,
    qk_p: Var,
    tab_e: Var,
    tab_p: Var,
    bias: Var,
    /// (batch, heads, seq, seq), saved for the backward.
    probs: B::Buf,
    d: AttnDims,
    vocab: usize,
}

impl<'a, B: Backend> Tape<'a, B> {
    /// ids (batch, seq) validated against the vocabulary by the caller; qk_e (vocab, 3·dim);
    /// qk_p (1, seq, 3·dim) (their v blocks are not read); tab_e (vocab, heads, dim); tab_p
    /// (seq, heads, dim); bias (dim).
    pub fn attention_out(
        &mut self,
        (ids, batch): (&'a B::Ids, usize),
        (qk_e, qk_p): (Var, Var),
        (tab_e, tab_p): (Var, Var),
        bias: Var,
    ) -> Result<Var> {
        let es = self.shape(tab_e);
        let [vocab, heads, dim] = *es else {
            let expected = "(vocab, heads, dim)".into();
            return Err(shape_error("attention_out", "tab_e", es, expected));
        };
        if heads == 0 || dim % heads != 0 {
            return Err(Error::input(format!(
                "attention_out: tab_e {es:?}: dim {dim} is not divisible by heads {heads}"
            )));
        }
        let qs = self.shape(qk_e);
        if qs != [vocab, 3 * dim] {
            let expected = format!("({vocab}, {}) = (vocab, 3·dim)", 3 * dim);
            return Err(shape_error("attention_out", "qk_e", qs, expected));
        }
        let ps = self.shape(qk_p);
        let seq = match *ps {
            [1, seq, row] if row == 3 * dim => seq,
            _ => {
                let expected = format!("(1, seq, {}) = (1, seq, 3·dim)", 3 * dim);
                return Err(shape_error("attention_out", "qk_p", ps, expected));
            }
        };
        let ts = self.shape(tab_p);
        if ts != [seq, heads, dim] {
            let expected = format!("({seq}, {heads}, {dim}) = (seq, heads, dim)");
            return Err(shape_error("attention_out", "tab_p", ts, expected));
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
            (ids, self.value(qk_e), self.value(qk_p)),
            (self.value(tab_e), self.value(tab_p)),
            self.value(bias),
            d,
            vocab,
        )?;
        let op = AttentionOut {
            ids,
            qk_e,
            qk_p,
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
        let qk = (self.ids, ctx.value(self.qk_e), ctx.value(self.qk_p));
        let tabs = (ctx.value(self.tab_e), ctx.value(self.tab_p));
        let grads = ctx
            .backend
            .attention_out_bwd(qk, tabs, &self.probs, g, self.d, self.vocab)?;
        ctx.give(self.qk_e, grads.dqk_e)?;
        ctx.give(self.qk_p, grads.dqk_p)?;
        ctx.give(self.tab_e, grads.dtab_e)?;
        ctx.give(self.tab_p, grads.dtab_p)?;
        ctx.give(self.bias, grads.dbias)
    }
}
