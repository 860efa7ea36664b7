//! The parameters on the host, under PyTorch's names and shapes, and their validation.

use super::ModelConfig;
use crate::error::{Error, Result};

/// The parameter names of the prototype's `state_dict`, in `model.parameters()` order.
pub const PARAM_NAMES: [&str; 10] = [
    "emb.weight",
    "pos",
    "mha.in_proj_weight",
    "mha.in_proj_bias",
    "mha.out_proj.weight",
    "mha.out_proj.bias",
    "norm.weight",
    "norm.bias",
    "head.weight",
    "head.bias",
];

/// Each parameter's shape in terms of the config, in `PARAM_NAMES` order (for messages).
const SHAPE_FORMULAS: [&str; 10] = [
    "(vocab, dim)",
    "(1, seq_len, dim)",
    "(3·dim, dim)",
    "(3·dim)",
    "(dim, dim)",
    "(dim)",
    "(dim)",
    "(dim)",
    "(classes, dim)",
    "(classes)",
];

/// The shape of each parameter for `cfg`, in `PARAM_NAMES` order.
pub fn param_shapes(cfg: &ModelConfig) -> [Vec<usize>; 10] {
    let (d, v, s, c) = (cfg.dim, cfg.vocab, cfg.seq_len, cfg.classes);
    [
        vec![v, d],
        vec![1, s, d],
        vec![3 * d, d],
        vec![3 * d],
        vec![d, d],
        vec![d],
        vec![d],
        vec![d],
        vec![c, d],
        vec![c],
    ]
}

/// A named tensor on the host, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor<T> {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<T>,
}

/// The model's parameters, in `PARAM_NAMES` order when produced by this crate (validation and
/// `Model::new` look tensors up by name, so a file's order does not matter).
#[derive(Clone, Debug, PartialEq)]
pub struct HostParams<T> {
    pub tensors: Vec<HostTensor<T>>,
}

/// A shape as PyTorch prints a tuple: (3, 4); a 1-D shape as (3).
pub(crate) fn fmt_shape(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|s| s.to_string()).collect();
    format!("({})", parts.join(", "))
}

/// The multi-index of flat index `i` in `shape`, as [i, j, ...].
fn multi_index(mut i: usize, shape: &[usize]) -> String {
    let mut idx = vec![0; shape.len()];
    for (slot, &s) in idx.iter_mut().zip(shape).rev() {
        *slot = i % s.max(1);
        i /= s.max(1);
    }
    let parts: Vec<String> = idx.iter().map(|s| s.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

impl<T: num_traits::Float> HostParams<T> {
    pub fn get(&self, name: &str) -> Option<&HostTensor<T>> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Checks the set of names (exactly `PARAM_NAMES`, each once), every shape against `cfg`,
    /// every length against its shape, and that every value is finite. Each error names the
    /// tensor and what was expected.
    pub fn validate(&self, cfg: &ModelConfig) -> Result<()> {
        cfg.validate()?;
        for (i, t) in self.tensors.iter().enumerate() {
            if !PARAM_NAMES.contains(&t.name.as_str()) {
                return Err(Error::input(format!(
                    "parameters: unexpected tensor `{}`; expected exactly these names: {}",
                    t.name,
                    PARAM_NAMES.join(", ")
                )));
            }
            if self.tensors[..i].iter().any(|u| u.name == t.name) {
                return Err(Error::input(format!(
                    "parameters: tensor `{}` appears more than once",
                    t.name
                )));
            }
        }
        let shapes = param_shapes(cfg);
        for ((name, shape), formula) in PARAM_NAMES.iter().zip(&shapes).zip(SHAPE_FORMULAS) {
            let expected = format!("{} = {formula} for {cfg}", fmt_shape(shape));
            let t = self.get(name).ok_or_else(|| {
                Error::input(format!(
                    "parameters: missing tensor `{name}`, expected shape {expected}"
                ))
            })?;
            if &t.shape != shape {
                return Err(Error::input(format!(
                    "{name}: shape {}, expected {expected}",
                    fmt_shape(&t.shape)
                )));
            }
            if t.data.len() != shape.iter().product::<usize>() {
                return Err(Error::input(format!(
                    "{name}: holds {} values but its shape {} needs {}",
                    t.data.len(),
                    fmt_shape(shape),
                    shape.iter().product::<usize>()
                )));
            }
            if let Some(i) = t.data.iter().position(|x| !x.is_finite()) {
                let what = if t.data[i].is_nan() {
                    "NaN"
                } else {
                    "infinite"
                };
                return Err(Error::input(format!(
                    "{name}: element {} is {what}; parameters must be finite",
                    multi_index(i, shape)
                )));
            }
        }
        Ok(())
    }
}
