//! The residual add, LayerNorm and mean pool in one op, for a pass read for the loss alone:
//! pooled (batch, dim) = mean over seq of LayerNorm(h + a). The same bits as `add`, `layernorm`
//! and `mean_pool` recorded one after the other, without their (batch, seq, dim) values.

use super::{shape_error, Ctx, Op, Tape, Var};
use crate::backend::{Backend, NormPoolDims, NormPoolOut};
use crate::error::Result;

pub(super) struct ResidNormPool<B: Backend> {
    h: Var,
    a: Var,
    gamma: Var,
    beta: Var,
    /// The forward's row statistics (`pooled`, the node's value, is moved back in for the
    /// backward call).
    mean: B::Buf,
    rstd: B::Buf,
    d: NormPoolDims,
}

impl<B: Backend> Tape<'_, B> {
    /// h and a (batch, seq, dim), gamma and beta (dim).
    pub fn resid_norm_pool(
        &mut self,
        h: Var,
        a: Var,
        (gamma, beta): (Var, Var),
        eps: f64,
    ) -> Result<Var> {
        let hs = self.shape(h);
        let [batch, seq, dim] = *hs else {
            return Err(shape_error(
                "resid_norm_pool",
                "h",
                hs,
                "(batch, seq, dim)".into(),
            ));
        };
        if self.shape(a) != hs {
            let expected = format!("{hs:?}, the shape of h");
            return Err(shape_error("resid_norm_pool", "a", self.shape(a), expected));
        }
        for (name, v) in [("gamma", gamma), ("beta", beta)] {
            if self.shape(v) != [dim] {
                let got = self.shape(v);
                return Err(shape_error(
                    "resid_norm_pool",
                    name,
                    got,
                    format!("({dim})"),
                ));
            }
        }
        let d = NormPoolDims { batch, seq, dim };
        let out = self.backend.resid_norm_pool_fwd(
            self.value(h),
            self.value(a),
            self.value(gamma),
            self.value(beta),
            d,
            eps,
        )?;
        let op = ResidNormPool {
            h,
            a,
            gamma,
            beta,
            mean: out.mean,
            rstd: out.rstd,
            d,
        };
        Ok(self.push(out.pooled, vec![batch, dim], Op::ResidNormPool(op)))
    }
}

impl<B: Backend> ResidNormPool<B> {
    /// a gets dresid (as the unfused add hands its gradient to its second input); h gets
    /// 0 + dresid, summed into what it has if anything (as the add's first input).
    pub(super) fn backward(
        self,
        ctx: &mut Ctx<'_, '_, B>,
        pooled: B::Buf,
        g: &B::Buf,
    ) -> Result<()> {
        let saved = NormPoolOut {
            pooled,
            mean: self.mean,
            rstd: self.rstd,
        };
        let mut dgamma = ctx.take(self.gamma)?;
        let mut dbeta = ctx.take(self.beta)?;
        let (h, a, gamma) = (ctx.value(self.h), ctx.value(self.a), ctx.value(self.gamma));
        let grads = ctx.backend.resid_norm_pool_bwd(
            (h, a),
            gamma,
            &saved,
            g,
            self.d,
            &mut dgamma,
            &mut dbeta,
        )?;
        if ctx.has_grad(self.h) {
            let mut dh = ctx.take(self.h)?;
            ctx.backend.accumulate(&mut dh, &grads.dresid)?;
            ctx.give(self.h, dh)?;
        } else {
            ctx.give(self.h, grads.dh)?;
        }
        ctx.give(self.a, grads.dresid)?;
        ctx.give(self.gamma, dgamma)?;
        ctx.give(self.beta, dbeta)
    }
}
