//! Mean over the sequence axis: (batch, seq, dim) → (batch, dim).

use super::{shape_error, Ctx, Op, Tape, Var};
use crate::backend::Backend;
use crate::error::Result;

pub(super) struct MeanPool {
    x: Var,
    batch: usize,
    seq: usize,
    dim: usize,
}

impl<B: Backend> Tape<'_, B> {
    pub fn mean_pool(&mut self, x: Var) -> Result<Var> {
        let xs = self.shape(x);
        let [batch, seq, dim] = *xs else {
            return Err(shape_error(
                "mean_pool",
                "x",
                xs,
                "(batch, seq, dim)".into(),
            ));
        };
        let y = self.backend.mean_pool_fwd(self.value(x), batch, seq, dim)?;
        let op = MeanPool { x, batch, seq, dim };
        Ok(self.push(y, vec![batch, dim], Op::MeanPool(op)))
    }
}

impl MeanPool {
    /// dx[b,s,:] += g[b,:] / seq.
    pub(super) fn backward<B: Backend>(self, ctx: &mut Ctx<'_, '_, B>, g: &B::Buf) -> Result<()> {
        let (batch, seq, dim) = (self.batch, self.seq, self.dim);
        if !ctx.has_grad(self.x) {
            let dx = ctx.backend.mean_pool_bwd_new(g, batch, seq, dim)?;
            return ctx.give(self.x, dx);
        }
        let mut dx = ctx.take(self.x)?;
        ctx.backend.mean_pool_bwd(g, batch, seq, dim, &mut dx)?;
        ctx.give(self.x, dx)
    }
}
