//! The prototype's model (`MHAClassifier`): parameters under PyTorch's names, the forward pass
//! on the tape, training with Adam, and the passes that read activations out.

use std::time::Instant;

use crate::backend::{AdamStep, Backend};
use crate::defaults;
use crate::error::{Error, Result};
use crate::metrics;
use crate::tape::{Grads, OpTimes, Tape, Var};

mod config;
mod data;
mod forward;
mod init;
mod params;

pub use config::ModelConfig;
pub use data::DeviceData;
pub use forward::Factoring;
pub use init::{init_params, INIT_STREAM};
pub use params::{param_shapes, HostParams, HostTensor, PARAM_NAMES};

use forward::{forward, Forward, ParamVars, Reads};

/// The model on backend `B`: parameters and Adam's moments, in `PARAM_NAMES` order.
pub struct Model<B: Backend> {
    backend: B,
    cfg: ModelConfig,
    params: Vec<B::Buf>,
    adam_m: Vec<B::Buf>,
    adam_v: Vec<B::Buf>,
    /// Adam steps taken so far.
    steps: u64,
    factoring: Factoring,
    /// (3·dim) zeros: the bias of the vocabulary projection on the factored paths.
    zero_qkv_bias: B::Buf,
}

impl<B: Backend> Model<B> {
    /// Validates `cfg` and `params` (names, shapes, finiteness) and uploads the parameters.
    pub fn new(backend: B, cfg: ModelConfig, params: &HostParams<B::T>) -> Result<Self> {
        params.validate(&cfg)?;
        let mut bufs = Vec::with_capacity(PARAM_NAMES.len());
        let (mut adam_m, mut adam_v) = (Vec::new(), Vec::new());
        for name in PARAM_NAMES {
            let t = params
                .get(name)
                .ok_or_else(|| Error::input(format!("parameters: missing tensor `{name}`")))?;
            bufs.push(backend.upload(&t.data)?);
            adam_m.push(backend.zeros(t.data.len())?);
            adam_v.push(backend.zeros(t.data.len())?);
        }
        let zero_qkv_bias = backend.zeros(3 * cfg.dim)?;
        let factoring = Factoring::fastest(&cfg, backend.has_attention_out());
        Ok(Model {
            backend,
            cfg,
            params: bufs,
            adam_m,
            adam_v,
            steps: 0,
            factoring,
            zero_qkv_bias,
        })
    }

    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Adam steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    pub fn factoring(&self) -> Factoring {
        self.factoring
    }

    /// Chooses which projections run on the distinct rows (default: [`Factoring::fastest`]).
    pub fn set_factoring(&mut self, path: Factoring) -> Result<()> {
        if path == Factoring::QkvAndOut && !self.backend.has_attention_out() {
            return Err(Error::input(
                "Factoring::QkvAndOut: this backend has no attention_out op; use Factoring::Qkv",
            ));
        }
        self.factoring = path;
        Ok(())
    }

    /// The current parameters, downloaded, in `PARAM_NAMES` order.
    pub fn params(&self) -> Result<HostParams<B::T>> {
        let tensors = PARAM_NAMES
            .iter()
            .zip(param_shapes(&self.cfg))
            .zip(&self.params)
            .map(|((name, shape), buf)| {
                Ok(HostTensor {
                    name: name.to_string(),
                    shape,
                    data: self.backend.download(buf)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(HostParams { tensors })
    }

    /// One full-batch training step: forward, backward, Adam (PyTorch's defaults but `lr`).
    /// Returns the loss of the forward pass (before the update), as `loss.item()`.
    pub fn train_step(&mut self, data: &DeviceData<B>, lr: f64) -> Result<f64> {
        let (loss, grads, _) = self.loss_and_grads(data, Tape::new(&self.backend))?;
        self.update(&grads, lr)?;
        Ok(loss)
    }

    /// `train_step`, also timing each op of the tape and the update (`bench train --ops`; the
    /// same arithmetic, so the same numbers).
    pub fn train_step_timed(&mut self, data: &DeviceData<B>, lr: f64) -> Result<(f64, OpTimes)> {
        let (loss, grads, times) = self.loss_and_grads(data, Tape::timed(&self.backend))?;
        let mut times = times.expect("a timed tape returns its times");
        let t0 = Instant::now();
        self.update(&grads, lr)?;
        times.update = t0.elapsed();
        Ok((loss, times))
    }

    /// Adam on every parameter, with its gradient (in `PARAM_NAMES` order).
    fn update(&mut self, grads: &[B::Buf], lr: f64) -> Result<()> {
        self.steps += 1;
        let step = AdamStep {
            lr,
            beta1: defaults::ADAM_BETA1,
            beta2: defaults::ADAM_BETA2,
            eps: defaults::ADAM_EPS,
            t: self.steps,
        };
        for (((p, g), m), v) in self
            .params
            .iter_mut()
            .zip(grads)
            .zip(&mut self.adam_m)
            .zip(&mut self.adam_v)
        {
            self.backend.adam_step(p, g, m, v, step)?;
        }
        Ok(())
    }

    /// The mean cross-entropy on `data` (forward only).
    pub fn loss(&self, data: &DeviceData<B>) -> Result<f64> {
        self.check_data(data)?;
        let mut tape = Tape::new(&self.backend);
        let (_, loss) = self.record(&mut tape, data, Reads::LOSS)?;
        self.scalar(tape.value(loss))
    }

    /// The fraction of `data` whose largest logit is at its label (the first maximum on ties,
    /// as `argmax`).
    pub fn accuracy(&self, data: &DeviceData<B>) -> Result<f64> {
        self.check_data(data)?;
        let mut tape = Tape::new(&self.backend);
        let (_, fwd) = self.record_forward(&mut tape, data, Reads::LOSS)?;
        let logits = self.backend.download(tape.value(fwd.logits))?;
        let classes = self.cfg.classes;
        let correct = logits
            .chunks_exact(classes)
            .zip(&data.dataset().y)
            .filter(|(row, &label)| argmax(row) == label as usize)
            .count();
        Ok(correct as f64 / data.len() as f64)
    }

    /// The prototype's named activations (`forward_activations`), in its order, as 2-D
    /// (n·seq_len, cols) matrices: see [`metrics::activation_names`].
    pub fn activations(&self, data: &DeviceData<B>) -> Result<Vec<HostTensor<B::T>>> {
        self.read_activations(data, true, false)
    }

    /// Each head's attention output before out_proj (`act_attn_h{i}`), as (n·seq_len, hd)
    /// matrices: see [`metrics::attn_head_activations`].
    pub fn attn_head_activations(&self, data: &DeviceData<B>) -> Result<Vec<HostTensor<B::T>>> {
        self.read_activations(data, false, true)
    }

    /// [`Self::activations`] followed by [`Self::attn_head_activations`], from one forward pass
    /// (what a measurement reads).
    pub fn all_activations(&self, data: &DeviceData<B>) -> Result<Vec<HostTensor<B::T>>> {
        self.read_activations(data, true, true)
    }

    fn read_activations(
        &self,
        data: &DeviceData<B>,
        prototype: bool,
        attn_heads: bool,
    ) -> Result<Vec<HostTensor<B::T>>> {
        self.check_data(data)?;
        let mut tape = Tape::new(&self.backend);
        let reads = Reads {
            attn: attn_heads,
            qkv: prototype,
        };
        let (_, fwd) = self.record_forward(&mut tape, data, reads)?;
        let rows = data.len() * self.cfg.seq_len;
        let (dim, heads) = (self.cfg.dim, self.cfg.heads);
        let mut out = Vec::new();
        if prototype {
            let h = self.backend.download(tape.value(fwd.h))?;
            let qkv = fwd.qkv.expect("recorded when the activations are read");
            let qkv = self.backend.download(tape.value(qkv))?;
            let ln = fwd.ln.expect("recorded when the activations are read");
            let ln = self.backend.download(tape.value(ln))?;
            out.extend(metrics::activation_matrices(
                &h, &qkv, &ln, rows, dim, heads,
            ));
        }
        if attn_heads {
            let attn = fwd.attn.expect("recorded with the heads' outputs");
            let attn = self.backend.download(tape.value(attn))?;
            out.extend(metrics::attn_head_activations(&attn, rows, dim, heads));
        }
        Ok(out)
    }

    /// Forward and backward without an update, returning every intermediate and gradient under
    /// the fixture's names: `act.h` (B,S,D), `act.qkv` (B,S,3D), `act.attn_probs` (B,H,S,S),
    /// `act.attn` (B,S,D), `act.attn_out` (B,S,D), `act.resid` (B,S,D), `act.ln` (B,S,D),
    /// `act.pooled` (B,D), `act.logits` (B,C), `act.loss` (1), then `grad.<name>` for each
    /// parameter in `PARAM_NAMES` order with the parameter's shape.
    pub fn trace(&mut self, data: &DeviceData<B>) -> Result<Vec<HostTensor<B::T>>> {
        self.check_data(data)?;
        let mut tape = Tape::new(&self.backend);
        let all = Reads {
            attn: true,
            qkv: true,
        };
        let (vars, loss) = self.record(&mut tape, data, all)?;
        let fwd = &vars.fwd;
        let mut out = Vec::new();
        let mut put = |name: &str, shape: Vec<usize>, buf: &B::Buf| -> Result<()> {
            let data = self.backend.download(buf)?;
            out.push(HostTensor {
                name: name.to_string(),
                shape,
                data,
            });
            Ok(())
        };
        for (name, v) in [
            ("act.h", fwd.h),
            ("act.qkv", fwd.qkv.expect("recorded in a trace")),
            (
                "act.attn",
                fwd.attn.expect("recorded with the heads' outputs"),
            ),
            ("act.attn_out", fwd.attn_out),
            ("act.resid", fwd.resid.expect("recorded in a trace")),
            ("act.ln", fwd.ln.expect("recorded in a trace")),
            ("act.pooled", fwd.pooled),
            ("act.logits", fwd.logits),
            ("act.loss", loss),
        ] {
            put(name, tape.shape(v).to_vec(), tape.value(v))?;
            if name == "act.qkv" {
                let (b, s, h) = (data.len(), self.cfg.seq_len, self.cfg.heads);
                let probs = tape
                    .attention_probs(fwd.probs)
                    .ok_or_else(|| Error::input("trace: the attention node lost its probs"))?;
                put("act.attn_probs", vec![b, h, s, s], probs)?;
            }
        }
        let grads = self.grads_of(tape.backward(loss)?, &vars.params)?;
        for ((name, shape), g) in PARAM_NAMES.iter().zip(param_shapes(&self.cfg)).zip(&grads) {
            put(&format!("grad.{name}"), shape, g)?;
        }
        Ok(out)
    }
}

/// The vars of one recorded pass: the parameter leaves and the forward's intermediates.
struct Recorded {
    params: [Var; 10],
    fwd: Forward,
}

impl<B: Backend> Model<B> {
    /// Token ids within the vocabulary, labels within the classes, sequences of seq_len.
    fn check_data(&self, data: &DeviceData<B>) -> Result<()> {
        let ds = data.dataset();
        if ds.seq_len != self.cfg.seq_len {
            return Err(Error::input(format!(
                "data: sequences of length {}, but the model's positions expect seq_len {}",
                ds.seq_len, self.cfg.seq_len
            )));
        }
        ds.validate(self.cfg.vocab, self.cfg.classes)
    }

    /// The forward pass, recording what `reads` asks for besides the loss.
    fn record_forward<'a>(
        &'a self,
        tape: &mut Tape<'a, B>,
        data: &'a DeviceData<B>,
        reads: Reads,
    ) -> Result<([Var; 10], Forward)> {
        let shapes = param_shapes(&self.cfg);
        let mut leaves = [None; 10];
        for ((slot, buf), shape) in leaves.iter_mut().zip(&self.params).zip(&shapes) {
            *slot = Some(tape.leaf(buf, shape));
        }
        let params = leaves.map(|v| v.expect("one leaf per parameter"));
        let zero = tape.leaf(&self.zero_qkv_bias, &[3 * self.cfg.dim]);
        let p = ParamVars::from_array(params);
        let fwd = forward(
            tape,
            &p,
            &self.cfg,
            &data.x,
            data.len(),
            self.factoring,
            zero,
            reads,
        )?;
        Ok((params, fwd))
    }

    /// Forward plus the loss.
    fn record<'a>(
        &'a self,
        tape: &mut Tape<'a, B>,
        data: &'a DeviceData<B>,
        reads: Reads,
    ) -> Result<(Recorded, Var)> {
        let (params, fwd) = self.record_forward(tape, data, reads)?;
        let loss = tape.cross_entropy(fwd.logits, &data.y)?;
        Ok((Recorded { params, fwd }, loss))
    }

    /// The loss and the parameter gradients (in `PARAM_NAMES` order) on `data`, recorded on
    /// `tape` (a new one, timed or not); with the ops' times of a timed tape.
    fn loss_and_grads<'a>(
        &'a self,
        data: &'a DeviceData<B>,
        mut tape: Tape<'a, B>,
    ) -> Result<(f64, Vec<B::Buf>, Option<OpTimes>)> {
        self.check_data(data)?;
        let (vars, loss) = self.record(&mut tape, data, Reads::LOSS)?;
        let loss_value = self.scalar(tape.value(loss))?;
        let mut grads = tape.backward(loss)?;
        let times = grads.op_times();
        Ok((loss_value, self.grads_of(grads, &vars.params)?, times))
    }

    fn grads_of(&self, mut grads: Grads<B>, params: &[Var; 10]) -> Result<Vec<B::Buf>> {
        params
            .iter()
            .zip(PARAM_NAMES)
            .map(|(&v, name)| {
                grads
                    .take(v)
                    .ok_or_else(|| Error::input(format!("backward: no gradient reached `{name}`")))
            })
            .collect()
    }

    fn scalar(&self, buf: &B::Buf) -> Result<f64> {
        let host = self.backend.download(buf)?;
        match host.as_slice() {
            [x] => Ok(crate::backend::Scalar::to_f64(*x)),
            other => Err(Error::input(format!(
                "expected a one-element value, got {} elements",
                other.len()
            ))),
        }
    }
}

/// Index of the first maximum, a NaN counting as the maximum (PyTorch's `argmax`).
fn argmax<T: num_traits::Float>(row: &[T]) -> usize {
    let mut best = 0;
    for (i, &x) in row.iter().enumerate() {
        if row[best].is_nan() {
            break;
        }
        if x > row[best] || x.is_nan() {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests;
