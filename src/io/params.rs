//! Model parameters as a safetensors file, under PyTorch's `state_dict` names, so a file written
//! by `safetensors.torch.save_file(model.state_dict(), …)` loads as is. Names, shapes and values
//! are checked by [`HostParams::validate`] (the model knows the shapes); this module finds the
//! tensors, converts them exactly (see [`AnyTensor::to_scalars`]) and names the file.

use std::path::Path;

use super::safetensors::{read_tensors, write_tensors};
use super::{list_names, AnyTensor, TensorData};
use crate::backend::Scalar;
use crate::error::{Error, Result};
use crate::model::{HostParams, HostTensor, ModelConfig, PARAM_NAMES};

/// Reads the parameters of a model with `cfg` from the safetensors file at `path`.
pub fn load_params<T: Scalar>(path: &Path, cfg: &ModelConfig) -> Result<HostParams<T>> {
    params_from_tensors(path, &read_tensors(path)?, "", cfg)
}

/// The parameters stored in `tensors` as `<prefix><name>` (e.g. `init.emb.weight` in the PyTorch
/// fixture, prefix `init.`). Every parameter must be there, and no other tensor with the prefix:
/// an extra one means a different model. `file` names the tensors' file in errors.
pub fn params_from_tensors<T: Scalar>(
    file: &Path,
    tensors: &[AnyTensor],
    prefix: &str,
    cfg: &ModelConfig,
) -> Result<HostParams<T>> {
    let bad = |msg: String| Error::input(format!("{}: {msg}", file.display()));
    let wanted: Vec<String> = PARAM_NAMES.iter().map(|n| format!("{prefix}{n}")).collect();
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|w| !tensors.iter().any(|t| &t.name == *w))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "missing parameter tensor(s) `{}`; the file holds {}",
            missing.join("`, `"),
            list_names(tensors)
        )));
    }
    if let Some(extra) = tensors
        .iter()
        .find(|t| t.name.starts_with(prefix) && !wanted.contains(&t.name))
    {
        return Err(bad(format!(
            "unexpected tensor `{}`: a model's parameters are exactly {} (with prefix `{prefix}`); \
             is this a different model?",
            extra.name,
            PARAM_NAMES.join(", ")
        )));
    }
    let params = HostParams {
        tensors: PARAM_NAMES
            .iter()
            .zip(&wanted)
            .map(|(name, stored)| {
                let t = tensors
                    .iter()
                    .find(|t| &t.name == stored)
                    .expect("checked above");
                Ok(HostTensor {
                    name: name.to_string(),
                    shape: t.shape.clone(),
                    data: t.to_scalars::<T>(file)?,
                })
            })
            .collect::<Result<Vec<_>>>()?,
    };
    params.validate(cfg).map_err(|e| match e {
        Error::Input(msg) => bad(msg),
        other => other,
    })?;
    Ok(params)
}

/// Writes `params` to `path` atomically, each under its own name, in `T`'s dtype (F32 or F64).
pub fn save_params<T: Scalar>(path: &Path, params: &HostParams<T>) -> Result<()> {
    let tensors = params
        .tensors
        .iter()
        .map(|t| AnyTensor::new(&t.name, t.shape.clone(), TensorData::from_scalars(&t.data)))
        .collect::<Result<Vec<_>>>()?;
    write_tensors(path, &tensors)
}
