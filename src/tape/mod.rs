//! A small reverse-mode tape (in the spirit of micrograd), generic over the [`Backend`].
//!
//! Forward: each op method (`embed`, `linear`, `attention`, `head_proj`, `attention_out`, `add`,
//! `layernorm`, `mean_pool`, `resid_norm_pool` (the three before it in one), `cross_entropy`,
//! one file each with its backward next to it) calls
//! the backend's forward, pushes a node holding the output, its shape and an `Op` recording the
//! inputs and whatever the backward needs, and returns a [`Var`] (the node's index). Leaves
//! borrow their buffers (parameters, inputs), so recording costs no copies.
//!
//! Backward ([`Tape::backward`]): the nodes are popped in reverse order of creation (a valid
//! reverse topological order, since an op's inputs always exist before it). A node that received
//! a gradient passes it to its inputs through the backend's `*_bwd`, which ACCUMULATES: an input
//! used twice (h feeds both the QKV projection and the residual) sums its gradients. Gradient
//! buffers are created as zeros on first use; leaves keep theirs, which [`Grads`] hands out.
//!
//! A [`Tape::timed`] tape also times each op both ways (`timing.rs`, for `bench train --ops`).

use std::time::Instant;

use crate::backend::Backend;
use crate::error::{Error, Result};

mod add;
mod attention;
mod attention_out;
mod cross_entropy;
mod embed;
mod head_proj;
mod layernorm;
mod linear;
mod mean_pool;
mod norm_pool;
mod timing;

pub use timing::{OpTime, OpTimes};

/// A value on the tape: the index of its node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Var(usize);

/// What produced a node, with what its backward needs.
enum Op<'a, B: Backend> {
    Embed(embed::Embed<'a, B>),
    Linear(linear::Linear),
    Attention(attention::Attention<B>),
    HeadProj(head_proj::HeadProj),
    AttentionOut(attention_out::AttentionOut<'a, B>),
    Add(add::Add),
    LayerNorm(layernorm::LayerNorm<B>),
    MeanPool(mean_pool::MeanPool),
    ResidNormPool(norm_pool::ResidNormPool<B>),
    CrossEntropy(cross_entropy::CrossEntropy<'a, B>),
}

impl<B: Backend> Op<'_, B> {
    /// The op's name, as the tape's methods are named.
    fn name(&self) -> &'static str {
        match self {
            Op::Embed(_) => "embed",
            Op::Linear(_) => "linear",
            Op::Attention(_) => "attention",
            Op::HeadProj(_) => "head_proj",
            Op::AttentionOut(_) => "attention_out",
            Op::Add(_) => "add",
            Op::LayerNorm(_) => "layernorm",
            Op::MeanPool(_) => "mean_pool",
            Op::ResidNormPool(_) => "resid_norm_pool",
            Op::CrossEntropy(_) => "cross_entropy",
        }
    }
}

enum Kind<'a, B: Backend> {
    /// A parameter or input, borrowed.
    Leaf(&'a B::Buf),
    /// An op's output, owned by the tape.
    Op(B::Buf, Op<'a, B>),
}

struct Node<'a, B: Backend> {
    shape: Vec<usize>,
    kind: Kind<'a, B>,
}

impl<B: Backend> Node<'_, B> {
    fn value(&self) -> &B::Buf {
        match &self.kind {
            Kind::Leaf(v) => v,
            Kind::Op(v, _) => v,
        }
    }
}

pub struct Tape<'a, B: Backend> {
    backend: &'a B,
    nodes: Vec<Node<'a, B>>,
    /// On a timed tape: the ops' times so far, and when the last record ended.
    timer: Option<(OpTimes, Instant)>,
}

impl<'a, B: Backend> Tape<'a, B> {
    pub fn new(backend: &'a B) -> Self {
        Tape {
            backend,
            nodes: Vec::new(),
            timer: None,
        }
    }

    /// A tape that also times each op (see `timing.rs`); [`Grads::op_times`] returns them.
    pub fn timed(backend: &'a B) -> Self {
        Tape {
            timer: Some((OpTimes::default(), Instant::now())),
            ..Tape::new(backend)
        }
    }

    /// Records a parameter or input of the given shape (the buffer must hold ∏shape elements;
    /// the backend's ops check lengths).
    pub fn leaf(&mut self, value: &'a B::Buf, shape: &[usize]) -> Var {
        self.nodes.push(Node {
            shape: shape.to_vec(),
            kind: Kind::Leaf(value),
        });
        Var(self.nodes.len() - 1)
    }

    /// The backend the ops run on.
    pub fn backend(&self) -> &'a B {
        self.backend
    }

    pub fn value(&self, v: Var) -> &B::Buf {
        self.nodes[v.0].value()
    }

    pub fn shape(&self, v: Var) -> &[usize] {
        &self.nodes[v.0].shape
    }

    fn push(&mut self, value: B::Buf, shape: Vec<usize>, op: Op<'a, B>) -> Var {
        if let Some((times, last)) = &mut self.timer {
            times.add_forward(op.name(), last.elapsed());
            *last = Instant::now();
        }
        self.nodes.push(Node {
            shape,
            kind: Kind::Op(value, op),
        });
        Var(self.nodes.len() - 1)
    }

    /// Back-propagates from `loss` (a one-element value), consuming the tape.
    pub fn backward(mut self, loss: Var) -> Result<Grads<B>> {
        if self.shape(loss).iter().product::<usize>() != 1 {
            return Err(Error::input(format!(
                "backward: the loss has shape {:?}, expected one element",
                self.shape(loss)
            )));
        }
        let one = <B::T as num_traits::One>::one();
        let mut grads: Vec<Option<B::Buf>> = self.nodes.iter().map(|_| None).collect();
        grads[loss.0] = Some(self.backend.upload(&[one])?);
        // Nodes recorded after the loss cannot influence it.
        self.nodes.truncate(loss.0 + 1);
        while let Some(node) = self.nodes.pop() {
            let i = self.nodes.len();
            let (value, op) = match node.kind {
                Kind::Leaf(_) => continue, // a leaf keeps its gradient for `Grads`
                Kind::Op(value, op) => (value, op),
            };
            let Some(g) = grads[i].take() else {
                continue; // nothing flowed here: the loss does not depend on this node
            };
            let mut ctx = Ctx {
                backend: self.backend,
                nodes: &self.nodes,
                grads: &mut grads,
            };
            let started = self.timer.is_some().then(|| (op.name(), Instant::now()));
            match op {
                Op::Embed(op) => op.backward(&mut ctx, &g)?,
                Op::Linear(op) => op.backward(&mut ctx, &g)?,
                Op::Attention(op) => op.backward(&mut ctx, &g)?,
                Op::HeadProj(op) => op.backward(&mut ctx, &g)?,
                Op::AttentionOut(op) => op.backward(&mut ctx, &g)?,
                Op::Add(op) => op.backward(&mut ctx, g)?,
                Op::LayerNorm(op) => op.backward(&mut ctx, value, &g)?,
                Op::MeanPool(op) => op.backward(&mut ctx, &g)?,
                Op::ResidNormPool(op) => op.backward(&mut ctx, value, &g)?,
                Op::CrossEntropy(op) => op.backward(&mut ctx, &g)?,
            }
            if let (Some((times, _)), Some((name, t0))) = (&mut self.timer, started) {
                times.add_backward(name, t0.elapsed());
            }
        }
        let times = self.timer.map(|(times, _)| times);
        Ok(Grads { grads, times })
    }
}

/// What an op's backward sees: the input values and the gradient slots.
struct Ctx<'t, 'a, B: Backend> {
    backend: &'a B,
    nodes: &'t [Node<'a, B>],
    grads: &'t mut [Option<B::Buf>],
}

impl<B: Backend> Ctx<'_, '_, B> {
    fn value(&self, v: Var) -> &B::Buf {
        self.nodes[v.0].value()
    }

    fn shape(&self, v: Var) -> &[usize] {
        &self.nodes[v.0].shape
    }

    /// Takes `v`'s gradient buffer out of its slot, or zeros if it has none yet. An op whose
    /// inputs repeat a var takes it twice: the second take finds the slot empty and gets fresh
    /// zeros, and `give` sums the two back. So aliasing needs no special case.
    fn take(&mut self, v: Var) -> Result<B::Buf> {
        match self.grads[v.0].take() {
            Some(g) => Ok(g),
            None => self.backend.zeros(self.shape(v).iter().product()),
        }
    }

    /// Whether `v` has received a gradient yet (if not, an op may hand it a new buffer
    /// through `give` instead of accumulating into zeros from `take`).
    fn has_grad(&self, v: Var) -> bool {
        self.grads[v.0].is_some()
    }

    /// Puts a gradient buffer back: into the empty slot, or summed into what is there.
    fn give(&mut self, v: Var, g: B::Buf) -> Result<()> {
        match &mut self.grads[v.0] {
            Some(existing) => self.backend.accumulate(existing, &g),
            slot => {
                *slot = Some(g);
                Ok(())
            }
        }
    }
}

/// The gradients of the leaves after [`Tape::backward`].
pub struct Grads<B: Backend> {
    grads: Vec<Option<B::Buf>>,
    times: Option<OpTimes>,
}

impl<B: Backend> Grads<B> {
    /// The ops' times, forward and backward, if the tape was [`Tape::timed`].
    pub fn op_times(&mut self) -> Option<OpTimes> {
        self.times.take()
    }

    /// The gradient of leaf `v`; `None` if the loss does not depend on it.
    pub fn take(&mut self, v: Var) -> Option<B::Buf> {
        self.grads.get_mut(v.0).and_then(Option::take)
    }
}

/// The element count of a shape, or an error naming the op if it is empty.
fn numel(op: &str, shape: &[usize]) -> Result<usize> {
    match shape.iter().product() {
        0 => Err(Error::input(format!(
            "{op}: input of shape {shape:?} has no elements"
        ))),
        n => Ok(n),
    }
}

fn shape_error(op: &str, what: &str, got: &[usize], expected: String) -> Error {
    Error::input(format!(
        "{op}: {what} has shape {got:?}, expected {expected}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::Cpu;

    #[test]
    fn a_value_used_twice_sums_its_gradients() {
        // loss = CE(a + a, label 1) for one sample: dlogits = p − onehot = (p0, −p0) at the
        // logits 2a, and a feeds both inputs of the add, so da = 2 · dlogits.
        let be = Cpu::<f64>::new();
        let a = vec![0.3, -0.2];
        let labels = vec![1u32];
        let mut tape = Tape::new(&be);
        let va = tape.leaf(&a, &[1, 2]);
        let s = tape.add(va, va).unwrap();
        let loss = tape.cross_entropy(s, &labels).unwrap();
        let mut grads = tape.backward(loss).unwrap();
        let da = grads.take(va).unwrap();
        let (z0, z1) = (0.6f64, -0.4f64);
        let p0 = z0.exp() / (z0.exp() + z1.exp());
        let expected = [2.0 * p0, -2.0 * p0];
        // Exact up to a few roundings of values of size 1: 1e-15.
        for (g, e) in da.iter().zip(expected) {
            assert!((g - e).abs() < 1e-15, "{g} vs {e}");
        }
    }

    #[test]
    fn a_leaf_the_loss_does_not_use_has_no_gradient() {
        let be = Cpu::<f64>::new();
        let (a, unused) = (vec![0.3, -0.2], vec![1.0]);
        let labels = vec![0u32];
        let mut tape = Tape::new(&be);
        let va = tape.leaf(&a, &[1, 2]);
        let vu = tape.leaf(&unused, &[1]);
        let loss = tape.cross_entropy(va, &labels).unwrap();
        let mut grads = tape.backward(loss).unwrap();
        assert!(grads.take(vu).is_none());
        assert!(grads.take(va).is_some());
    }

    #[test]
    fn shape_mismatches_are_errors_naming_the_op() {
        let be = Cpu::<f64>::new();
        let (a, b) = (vec![0.0; 6], vec![0.0; 4]);
        let mut tape = Tape::new(&be);
        let va = tape.leaf(&a, &[2, 3]);
        let vb = tape.leaf(&b, &[2, 2]);
        let err = tape.add(va, vb).unwrap_err().to_string();
        assert!(err.contains("add") && err.contains("[2, 2]"), "{err}");
        let err = tape.backward(va).err().unwrap().to_string();
        assert!(err.contains("one element"), "{err}");
    }
}
