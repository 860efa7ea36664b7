//! The value rows through the out projection, head by head: tab (rows, heads, dim) with
//! tab[r,h,:] = src[r, v block of head h] · out_w[:, columns of head h]ᵀ, for src (..., 3·dim)
//! holding q | k | v rows and out_w (dim, dim). The factored path feeds it the vocab and
//! position rows of the QKV projection; `attention_out` then mixes the results.

use super::{numel, shape_error, Ctx, Op, Tape, Var};
use crate::backend::{Backend, HeadProjDims};
use crate::error::{Error, Result};

pub(super) struct HeadProj {
    src: Var,
    w: Var,
    d: HeadProjDims,
}

impl<B: Backend> Tape<'_, B> {
    pub fn head_proj(&mut self, src: Var, w: Var, heads: usize) -> Result<Var> {
        let (ss, ws) = (self.shape(src), self.shape(w));
        let [dim, dim_in] = *ws else {
            return Err(shape_error("head_proj", "w", ws, "(dim, dim)".into()));
        };
        if dim != dim_in || ss.last() != Some(&(3 * dim)) {
            let expected = format!("(..., {}) = (..., 3·dim) for w {ws:?}", 3 * dim);
            return Err(shape_error("head_proj", "src", ss, expected));
        }
        if heads == 0 || dim % heads != 0 {
            return Err(Error::input(format!(
                "head_proj: dim {dim} is not divisible by heads = {heads}"
            )));
        }
        let d = HeadProjDims {
            rows: numel("head_proj", ss)? / (3 * dim),
            heads,
            head_dim: dim / heads,
        };
        let tab = self
            .backend
            .head_proj_fwd(self.value(src), self.value(w), d)?;
        let op = HeadProj { src, w, d };
        Ok(self.push(tab, vec![d.rows, heads, dim], Op::HeadProj(op)))
    }
}

impl HeadProj {
    pub(super) fn backward<B: Backend>(self, ctx: &mut Ctx<'_, '_, B>, g: &B::Buf) -> Result<()> {
        let mut dsrc = ctx.take(self.src)?;
        let mut dw = ctx.take(self.w)?;
        let (src, w) = (ctx.value(self.src), ctx.value(self.w));
        ctx.backend
            .head_proj_bwd(src, w, g, self.d, &mut dsrc, &mut dw)?;
        ctx.give(self.src, dsrc)?;
        ctx.give(self.w, dw)
    }
}
