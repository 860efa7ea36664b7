//! Linear layer: y (..., n) = x (..., k) · wᵀ + b, with w (n, k) and b (n), as `F.linear`.

use super::{numel, shape_error, Ctx, Op, Tape, Var};
use crate::backend::Backend;
use crate::error::Result;

pub(super) struct Linear {
    x: Var,
    w: Var,
    b: Var,
    /// x viewed as (m, k); y is (m, n).
    m: usize,
    k: usize,
    n: usize,
}

impl<B: Backend> Tape<'_, B> {
    pub fn linear(&mut self, x: Var, w: Var, b: Var) -> Result<Var> {
        let (xs, ws, bs) = (self.shape(x), self.shape(w), self.shape(b));
        let [n, k] = *ws else {
            return Err(shape_error("linear", "w", ws, "(out, in)".into()));
        };
        if xs.last() != Some(&k) {
            return Err(shape_error(
                "linear",
                "x",
                xs,
                format!("(..., {k}) to match w {ws:?}"),
            ));
        }
        if bs != [n] {
            return Err(shape_error(
                "linear",
                "b",
                bs,
                format!("({n}) to match w {ws:?}"),
            ));
        }
        let m = numel("linear", xs)? / k;
        let mut shape = xs.to_vec();
        *shape.last_mut().expect("x has a last axis (checked above)") = n;
        let y = self
            .backend
            .linear_fwd(self.value(x), self.value(w), self.value(b), m, k, n)?;
        Ok(self.push(y, shape, Op::Linear(Linear { x, w, b, m, k, n })))
    }
}

impl Linear {
    pub(super) fn backward<B: Backend>(self, ctx: &mut Ctx<'_, '_, B>, g: &B::Buf) -> Result<()> {
        let mut dx = ctx.take(self.x)?;
        let mut dw = ctx.take(self.w)?;
        let mut db = ctx.take(self.b)?;
        let (x, w) = (ctx.value(self.x), ctx.value(self.w));
        ctx.backend
            .linear_bwd(x, w, g, self.m, self.k, self.n, &mut dx, &mut dw, &mut db)?;
        ctx.give(self.x, dx)?;
        ctx.give(self.w, dw)?;
        ctx.give(self.b, db)
    }
}
