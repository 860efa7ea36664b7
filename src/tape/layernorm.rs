//! LayerNorm over the last axis with affine gamma, beta (PyTorch's: biased variance, eps).

use super::{numel, shape_error, Ctx, Op, Tape, Var};
use crate::backend::{Backend, LayerNormOut};
use crate::error::Result;

pub(super) struct LayerNorm<B: Backend> {
    x: Var,
    gamma: Var,
    beta: Var,
    /// (rows): the statistics saved by the forward (the output y is the node's value).
    mean: B::Buf,
    rstd: B::Buf,
    rows: usize,
    d: usize,
}

impl<B: Backend> Tape<'_, B> {
    pub fn layernorm(&mut self, x: Var, gamma: Var, beta: Var, eps: f64) -> Result<Var> {
        let xs = self.shape(x);
        let d = *xs.last().unwrap_or(&0);
        for (name, v) in [("gamma", gamma), ("beta", beta)] {
            if self.shape(v) != [d] {
                return Err(shape_error(
                    "layernorm",
                    name,
                    self.shape(v),
                    format!("({d})"),
                ));
            }
        }
        let rows = numel("layernorm", xs)? / d;
        let shape = xs.to_vec();
        let out = self.backend.layernorm_fwd(
            self.value(x),
            self.value(gamma),
            self.value(beta),
            rows,
            d,
            eps,
        )?;
        let op = LayerNorm {
            x,
            gamma,
            beta,
            mean: out.mean,
            rstd: out.rstd,
            rows,
            d,
        };
        Ok(self.push(out.y, shape, Op::LayerNorm(op)))
    }
}

impl<B: Backend> LayerNorm<B> {
    pub(super) fn backward(self, ctx: &mut Ctx<'_, '_, B>, y: B::Buf, g: &B::Buf) -> Result<()> {
        let saved = LayerNormOut {
            y,
            mean: self.mean,
            rstd: self.rstd,
        };
        let mut dgamma = ctx.take(self.gamma)?;
        let mut dbeta = ctx.take(self.beta)?;
        let (x, gamma) = (ctx.value(self.x), ctx.value(self.gamma));
        if !ctx.has_grad(self.x) {
            let dx = ctx.backend.layernorm_bwd_new(
                x,
                gamma,
                &saved,
                g,
                self.rows,
                self.d,
                &mut dgamma,
                &mut dbeta,
            )?;
            ctx.give(self.x, dx)?;
            ctx.give(self.gamma, dgamma)?;
            return ctx.give(self.beta, dbeta);
        }
        let mut dx = ctx.take(self.x)?;
        let (x, gamma) = (ctx.value(self.x), ctx.value(self.gamma));
        ctx.backend.layernorm_bwd(
            x,
            gamma,
            &saved,
            g,
            self.rows,
            self.d,
            &mut dx,
            &mut dgamma,
            &mut dbeta,
        )?;
        ctx.give(self.x, dx)?;
        ctx.give(self.gamma, dgamma)?;
        ctx.give(self.beta, dbeta)
    }
}
