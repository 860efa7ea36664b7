//! Cross-entropy of logits (batch, classes) against labels, mean over the batch → (1).

use super::{shape_error, Ctx, Op, Tape, Var};
use crate::backend::Backend;
use crate::error::Result;

pub(super) struct CrossEntropy<'a, B: Backend> {
    logits: Var,
    labels: &'a B::Ids,
    /// softmax(logits) (batch, classes), saved for the backward.
    probs: B::Buf,
    batch: usize,
    classes: usize,
}

impl<'a, B: Backend> Tape<'a, B> {
    /// labels (batch), validated against the classes by the caller.
    pub fn cross_entropy(&mut self, logits: Var, labels: &'a B::Ids) -> Result<Var> {
        let ls = self.shape(logits);
        let [batch, classes] = *ls else {
            return Err(shape_error(
                "cross_entropy",
                "logits",
                ls,
                "(batch, classes)".into(),
            ));
        };
        let (loss, probs) =
            self.backend
                .cross_entropy_fwd(self.value(logits), labels, batch, classes)?;
        let op = CrossEntropy {
            logits,
            labels,
            probs,
            batch,
            classes,
        };
        Ok(self.push(loss, vec![1], Op::CrossEntropy(op)))
    }
}

impl<'a, B: Backend> CrossEntropy<'a, B> {
    pub(super) fn backward(self, ctx: &mut Ctx<'_, 'a, B>, g: &B::Buf) -> Result<()> {
        let mut dlogits = ctx.take(self.logits)?;
        ctx.backend.cross_entropy_bwd(
            &self.probs,
            self.labels,
            g,
            self.batch,
            self.classes,
            &mut dlogits,
        )?;
        ctx.give(self.logits, dlogits)
    }
}
