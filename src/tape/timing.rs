//! Wall time of each op kind of a step, forward and backward (`mha-cv bench train --ops`), so
//! that a claim about where a step's time goes can be rerun rather than taken from a profiler
//! session. Only a timed tape ([`Tape::timed`](super::Tape::timed)) measures anything.
//!
//! A forward op's time runs from the previous record on the tape (op or leaf; leaves copy
//! nothing) to its own: the backend's forward and the op's bookkeeping. A backward op's time is
//! its whole backward call, gradient accumulation included. On a backend whose calls return
//! before the device has finished (CUDA), the times would be those of the launches: `bench
//! train` is CPU-only.

use std::time::Duration;

/// One op kind's totals.
#[derive(Clone, Debug, PartialEq)]
pub struct OpTime {
    pub op: &'static str,
    pub forward: Duration,
    pub backward: Duration,
}

/// The ops' totals in order of first appearance, and the optimizer's update.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpTimes {
    pub ops: Vec<OpTime>,
    /// Adam over every parameter (recorded by the model, not the tape).
    pub update: Duration,
}

impl OpTimes {
    fn entry(&mut self, op: &'static str) -> &mut OpTime {
        match self.ops.iter().position(|t| t.op == op) {
            Some(i) => &mut self.ops[i],
            None => {
                self.ops.push(OpTime {
                    op,
                    forward: Duration::ZERO,
                    backward: Duration::ZERO,
                });
                self.ops.last_mut().expect("just pushed")
            }
        }
    }

    pub(super) fn add_forward(&mut self, op: &'static str, d: Duration) {
        self.entry(op).forward += d;
    }

    pub(super) fn add_backward(&mut self, op: &'static str, d: Duration) {
        self.entry(op).backward += d;
    }

    /// Adds another step's times (the same ops in the same order, or new ones appended).
    pub fn merge(&mut self, other: &OpTimes) {
        for t in &other.ops {
            let e = self.entry(t.op);
            e.forward += t.forward;
            e.backward += t.backward;
        }
        self.update += other.update;
    }
}
