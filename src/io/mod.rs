//! Reading and writing tensors: `.safetensors` (read and write), `.npy` (read), atomic file
//! writes, and the conversions to the crate's data set (and, with the model, its parameters).
//!
//! Every error names the file and, where there is one, the tensor, what was found and what was
//! expected. Conversions never round silently: a tensor is accepted as `f32`/`f64` only when the
//! conversion is exact (see [`AnyTensor::to_scalars`]).

pub mod atomic;
pub mod dataset;
pub mod npy;
pub mod params;
pub mod safetensors;

use std::path::Path;

use crate::backend::Scalar;
use crate::error::{Error, Result};

/// The element types this crate reads and writes (safetensors dtype names).
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    U32(Vec<u32>),
}

impl TensorData {
    /// The safetensors dtype name ("F32", "F64", "I64", "I32", "U32").
    pub fn dtype(&self) -> &'static str {
        match self {
            TensorData::F32(_) => "F32",
            TensorData::F64(_) => "F64",
            TensorData::I64(_) => "I64",
            TensorData::I32(_) => "I32",
            TensorData::U32(_) => "U32",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            TensorData::F32(v) => v.len(),
            TensorData::F64(v) => v.len(),
            TensorData::I64(v) => v.len(),
            TensorData::I32(v) => v.len(),
            TensorData::U32(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `values` as F32 or F64 data, whichever `T` is (exact either way).
    pub fn from_scalars<T: Scalar>(values: &[T]) -> TensorData {
        if T::DTYPE == "F64" {
            TensorData::F64(values.iter().map(|&v| Scalar::to_f64(v)).collect())
        } else {
            TensorData::F32(values.iter().map(|&v| Scalar::to_f64(v) as f32).collect())
        }
    }
}

/// A named tensor of any supported dtype: `data` is row-major (C order) with `shape`.
#[derive(Clone, Debug, PartialEq)]
pub struct AnyTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: TensorData,
}

impl AnyTensor {
    /// Checks that `data` holds exactly ∏ shape elements.
    pub fn new(name: impl Into<String>, shape: Vec<usize>, data: TensorData) -> Result<Self> {
        let tensor = AnyTensor {
            name: name.into(),
            shape,
            data,
        };
        tensor.check_len()?;
        Ok(tensor)
    }

    /// The number of elements the shape calls for (∏ shape; 1 for a scalar).
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// `Err` unless the data length matches the shape.
    pub fn check_len(&self) -> Result<()> {
        if self.data.len() == self.numel() {
            return Ok(());
        }
        Err(Error::input(format!(
            "tensor `{}`: {} values for shape {} (expected {})",
            self.name,
            self.data.len(),
            fmt_shape(&self.shape),
            self.numel()
        )))
    }

    /// The values as `T`, accepting only exact conversions: F32 → f32, F64 → f64, and F32 → f64
    /// (widening). F64 → f32 would round and integer data is not a parameter, so both are errors
    /// naming `file`, the tensor, the dtype found and the one expected.
    pub fn to_scalars<T: Scalar>(&self, file: &Path) -> Result<Vec<T>> {
        match (&self.data, T::DTYPE) {
            (TensorData::F32(v), _) => Ok(v
                .iter()
                .map(|&x| <T as Scalar>::from_f64(x as f64))
                .collect()),
            (TensorData::F64(v), "F64") => {
                Ok(v.iter().map(|&x| <T as Scalar>::from_f64(x)).collect())
            }
            (found, expected) => {
                let accepted = if expected == "F64" {
                    "F64 (or F32, widened exactly)"
                } else {
                    "F32"
                };
                let fix = if matches!(found, TensorData::F64(_)) {
                    "; an F64 tensor would be rounded: cast it (e.g. `.float()`) before saving"
                } else {
                    ""
                };
                Err(Error::input(format!(
                    "{}: tensor `{}`: dtype {}, expected {accepted}{fix}",
                    file.display(),
                    self.name,
                    found.dtype()
                )))
            }
        }
    }

    /// The values as f64, whatever the dtype: exact for F32, F64, I32, U32, and for I64 values
    /// below 2⁵³ in magnitude. For measuring tensors of any origin (e.g. a checkpoint's weights).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match &self.data {
            TensorData::F32(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::F64(v) => v.clone(),
            TensorData::I64(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::I32(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::U32(v) => v.iter().map(|&x| x as f64).collect(),
        }
    }
}

/// A shape as the error messages write it: `(3, 4)`, `(5)`, `()`.
pub fn fmt_shape(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("({})", dims.join(", "))
}

/// The tensor called `name` in `tensors`, or an error naming `file`, the missing tensor and the
/// names that are there (so a misspelt name shows next to the right one).
pub fn find<'a>(file: &Path, tensors: &'a [AnyTensor], name: &str) -> Result<&'a AnyTensor> {
    tensors.iter().find(|t| t.name == name).ok_or_else(|| {
        Error::input(format!(
            "{}: no tensor named `{name}`; the file holds {}",
            file.display(),
            list_names(tensors)
        ))
    })
}

/// The names of `tensors`, for messages: at most 12, then a count.
pub fn list_names(tensors: &[AnyTensor]) -> String {
    const SHOWN: usize = 12;
    if tensors.is_empty() {
        return "no tensors".to_string();
    }
    let mut names: Vec<String> = tensors
        .iter()
        .take(SHOWN)
        .map(|t| format!("`{}`", t.name))
        .collect();
    if tensors.len() > SHOWN {
        names.push(format!("and {} more", tensors.len() - SHOWN));
    }
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_rejects_a_length_that_does_not_match_the_shape() {
        let err = AnyTensor::new("w", vec![2, 3], TensorData::F32(vec![0.0; 5])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tensor `w`: 5 values for shape (2, 3) (expected 6)"
        );
        let scalar = AnyTensor::new("s", vec![], TensorData::F64(vec![1.5])).unwrap();
        assert_eq!((scalar.numel(), fmt_shape(&scalar.shape)), (1, "()".into()));
    }

    #[test]
    fn conversions_are_exact_or_refused() {
        let p = Path::new("f.safetensors");
        let third32 = 1.0f32 / 3.0;
        let t32 = AnyTensor::new("a", vec![2], TensorData::F32(vec![third32, -2.5])).unwrap();
        assert_eq!(t32.to_scalars::<f32>(p).unwrap(), vec![third32, -2.5]);
        assert_eq!(
            t32.to_scalars::<f64>(p).unwrap(),
            vec![third32 as f64, -2.5]
        );

        let t64 = AnyTensor::new("b", vec![1], TensorData::F64(vec![1.0 / 3.0])).unwrap();
        assert_eq!(t64.to_scalars::<f64>(p).unwrap(), vec![1.0 / 3.0]);
        let err = t64.to_scalars::<f32>(p).unwrap_err().to_string();
        assert!(
            err.starts_with("f.safetensors: tensor `b`: dtype F64, expected F32;"),
            "{err}"
        );

        let ids = AnyTensor::new("x", vec![1], TensorData::I64(vec![3])).unwrap();
        let err = ids.to_scalars::<f64>(p).unwrap_err().to_string();
        assert_eq!(
            err,
            "f.safetensors: tensor `x`: dtype I64, expected F64 (or F32, widened exactly)"
        );
        assert_eq!(ids.to_f64_vec(), vec![3.0]);
    }

    #[test]
    fn from_scalars_keeps_the_precision() {
        assert_eq!(
            TensorData::from_scalars(&[0.1f64]),
            TensorData::F64(vec![0.1])
        );
        assert_eq!(
            TensorData::from_scalars(&[0.1f32]),
            TensorData::F32(vec![0.1])
        );
    }

    #[test]
    fn find_lists_the_names_present() {
        let t = |n: &str| AnyTensor::new(n, vec![], TensorData::I32(vec![0])).unwrap();
        let tensors = vec![t("emb.weights"), t("pos")];
        let err = find(Path::new("p.st"), &tensors, "emb.weight").unwrap_err();
        assert_eq!(
            err.to_string(),
            "p.st: no tensor named `emb.weight`; the file holds `emb.weights`, `pos`"
        );
        let many: Vec<AnyTensor> = (0..15).map(|i| t(&format!("t{i}"))).collect();
        assert!(list_names(&many).ends_with("`t11`, and 3 more"));
    }
}
