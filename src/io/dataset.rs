//! A data set as a safetensors file: `x` (N, seq_len) token ids and `y` (N) labels, int64 as
//! PyTorch stores them (I32 and U32 are read too). Other tensors in the file are ignored, so a
//! fixture holding inputs and reference values serves as a data file. Ranges against a model's
//! vocabulary and classes are checked by [`Dataset::validate`], which knows them.

use std::path::Path;

use super::safetensors::{read_tensors, write_tensors};
use super::{find, fmt_shape, AnyTensor, TensorData};
use crate::data::Dataset;
use crate::error::{Error, Result};

/// Reads the data set in the safetensors file at `path`.
pub fn load_dataset(path: &Path) -> Result<Dataset> {
    dataset_from_tensors(path, &read_tensors(path)?)
}

/// The data set held by `tensors` `x` and `y`; `file` names them in errors.
pub fn dataset_from_tensors(file: &Path, tensors: &[AnyTensor]) -> Result<Dataset> {
    let x = find(file, tensors, "x")?;
    let y = find(file, tensors, "y")?;
    let bad = |msg: String| Error::input(format!("{}: {msg}", file.display()));
    let (n, seq_len) = match x.shape[..] {
        [n, s] if n > 0 && s > 0 => (n, s),
        _ => {
            return Err(bad(format!(
                "tensor `x` has shape {}, expected (N, seq_len) token ids with N, seq_len ≥ 1",
                fmt_shape(&x.shape)
            )))
        }
    };
    if y.shape != [n] {
        return Err(bad(format!(
            "tensor `y` has shape {}, expected ({n}): one label per row of `x` {}",
            fmt_shape(&y.shape),
            fmt_shape(&x.shape)
        )));
    }
    Ok(Dataset {
        x: ids(x).map_err(bad)?,
        y: ids(y).map_err(bad)?,
        n,
        seq_len,
    })
}

/// Writes `data` to `path` atomically: `x` I64 (n, seq_len), `y` I64 (n).
pub fn save_dataset(path: &Path, data: &Dataset) -> Result<()> {
    let widen = |v: &[u32]| TensorData::I64(v.iter().map(|&t| t as i64).collect());
    let tensors = [
        AnyTensor::new("x", vec![data.n, data.seq_len], widen(&data.x))?,
        AnyTensor::new("y", vec![data.n], widen(&data.y))?,
    ];
    write_tensors(path, &tensors)
}

/// The integer values of `t` as ids (non-negative, below 2³²); the error names the first that
/// is not, by its index.
fn ids(t: &AnyTensor) -> std::result::Result<Vec<u32>, String> {
    let wide: Vec<i64> = match &t.data {
        TensorData::I64(v) => v.clone(),
        TensorData::I32(v) => v.iter().map(|&i| i as i64).collect(),
        TensorData::U32(v) => return Ok(v.clone()),
        other => {
            return Err(format!(
                "tensor `{}` has dtype {}, expected I64 (integer ids; I32 and U32 also read)",
                t.name,
                other.dtype()
            ))
        }
    };
    wide.iter()
        .enumerate()
        .map(|(i, &v)| {
            u32::try_from(v).map_err(|_| {
                format!(
                    "tensor `{}`: {}{} = {v} is not an id in [0, 2³²)",
                    t.name,
                    t.name,
                    index(&t.shape, i)
                )
            })
        })
        .collect()
}

/// The multi-index of flat position `i` in `shape`, as `[r, c]`.
fn index(shape: &[usize], mut i: usize) -> String {
    let mut idx = vec![0; shape.len()];
    for (slot, &d) in idx.iter_mut().zip(shape).rev() {
        *slot = i % d;
        i /= d;
    }
    let parts: Vec<String> = idx.iter().map(|k| k.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_unflattens_row_major() {
        assert_eq!(index(&[3, 8], 19), "[2, 3]");
        assert_eq!(index(&[5], 4), "[4]");
    }
}
