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
    /// da += g; db += g. g itself is handed to b (`give` moves it into an empty slot, or sums
    /// it into what is there), which saves zeroing a buffer and adding g into it; a gets the
    /// usual accumulation. If a and b are the same var, `give` sums the two.
    pub(super) fn backward<B: Backend>(self, ctx: &mut Ctx<'_, '_, B>, g: B::Buf) -> Result<()> {
        let mut da = ctx.take(self.a)?;
        ctx.backend.accumulate(&mut da, &g)?;
        ctx.give(self.a, da)?;
        ctx.give(self.b, g)
    }
}
