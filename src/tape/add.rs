//! Elementwise sum of two values of the same shape (the residual connection).

use super::{shape_error, Ctx, Op, Tape, Var};
use crate::backend::Backend;
use crate::error::Result;

pub(super) struct Add {
    a: Var,
    b: Var,
}

impl<B: Backend> Tape<'_, B> {
    pub fn add(&mut self, a: Var, b: Var) -> Result<Var> {
        let (sa, sb) = (self.shape(a), self.shape(b));
        if sa != sb {
            return Err(shape_error(
                "add",
                "b",
                sb,
                format!("{sa:?}, the shape of a"),
            ));
        }
        let shape = sa.to_vec();
        let y = self.backend.add(self.value(a), self.value(b))?;
        Ok(self.push(y, shape, Op::Add(Add { a, b })))
    }
}

impl Add {
    /// da += g; db += g.
    pub(super) fn backward<B: Backend>(self, ctx: &mut Ctx<'_, '_, B>, g: &B::Buf) -> Result<()> {
        for v in [self.a, self.b] {
            let mut dv = ctx.take(v)?;
            ctx.backend.accumulate(&mut dv, g)?;
            ctx.give(v, dv)?;
        }
        Ok(())
    }
}
