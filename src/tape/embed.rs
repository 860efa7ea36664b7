//! Embedding gather plus learned positions: h (batch, seq, dim) = emb[ids] + pos.

use super::{numel, shape_error, Ctx, Op, Tape, Var};
use crate::backend::{Backend, EmbedDims};
use crate::error::Result;

pub(super) struct Embed<'a, B: Backend> {
    ids: &'a B::Ids,
    emb: Var,
    pos: Var,
    d: EmbedDims,
}

impl<'a, B: Backend> Tape<'a, B> {
    /// ids (batch, seq) validated against the vocabulary by the caller; emb (vocab, dim);
    /// pos holding (seq, dim) elements with last axis dim (PyTorch's `pos` is (1, seq, dim)).
    pub fn embed(
        &mut self,
        ids: &'a B::Ids,
        batch: usize,
        seq: usize,
        emb: Var,
        pos: Var,
    ) -> Result<Var> {
        let (es, ps) = (self.shape(emb), self.shape(pos));
        let [vocab, dim] = *es else {
            return Err(shape_error("embed", "emb", es, "(vocab, dim)".into()));
        };
        if ps.last() != Some(&dim) || numel("embed", ps)? != seq * dim {
            let expected = format!("(1, {seq}, {dim}) = (1, seq, dim)");
            return Err(shape_error("embed", "pos", ps, expected));
        }
        let d = EmbedDims {
            batch,
            seq,
            dim,
            vocab,
            cols: dim,
        };
        let h = self
            .backend
            .embed_fwd(ids, self.value(emb), self.value(pos), d)?;
        let op = Embed { ids, emb, pos, d };
        Ok(self.push(h, vec![batch, seq, dim], Op::Embed(op)))
    }
}

impl<'a, B: Backend> Embed<'a, B> {
    pub(super) fn backward(self, ctx: &mut Ctx<'_, 'a, B>, g: &B::Buf) -> Result<()> {
        let mut demb = ctx.take(self.emb)?;
        let mut dpos = ctx.take(self.pos)?;
        ctx.backend
            .embed_bwd(self.ids, g, self.d, &mut demb, &mut dpos)?;
        ctx.give(self.emb, demb)?;
        ctx.give(self.pos, dpos)
    }
}
