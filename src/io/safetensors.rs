//! `.safetensors` files: an 8-byte little-endian header length, a JSON header (name → dtype,
//! shape, data offsets), then the raw little-endian C-order data. Parsing and validation of the
//! header is the `safetensors` crate's; this module turns its views into owned [`AnyTensor`]s and
//! its errors into messages naming the file and the tensor.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors, View};

use super::atomic::write_atomic;
use super::{fmt_shape, AnyTensor, TensorData};
use crate::error::{Error, Result};

/// Every tensor of the file at `path`, in file order (by data offset).
/// Dtypes F32, F64, I64, I32 and U32 are read; any other is an error naming the tensor.
pub fn read_tensors(path: &Path) -> Result<Vec<AnyTensor>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(path, &bytes)
}

/// Parses the bytes of a safetensors file; `path` only names it in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<AnyTensor>> {
    let (header_len, metadata) =
        SafeTensors::read_metadata(bytes).map_err(|e| header_error(path, bytes, e))?;
    let data = &bytes[8 + header_len..];
    // File order, with ties (empty tensors share an offset) broken by name: the crate keeps the
    // header in a hash map, so its own order of ties varies from run to run.
    let mut entries: Vec<_> = metadata.tensors().into_iter().collect();
    entries.sort_by(|(a, ia), (b, ib)| (ia.data_offsets, a).cmp(&(ib.data_offsets, b)));
    entries
        .into_iter()
        .map(|(name, info)| {
            let raw = &data[info.data_offsets.0..info.data_offsets.1];
            let values = decode(info.dtype, raw).ok_or_else(|| {
                Error::input(format!(
                    "{}: tensor `{name}` has dtype {}, which this tool does not read; \
                     supported: F32, F64, I64, I32, U32 (convert it, e.g. `.float()`, before saving)",
                    path.display(),
                    info.dtype
                ))
            })?;
            Ok(AnyTensor {
                name,
                shape: info.shape.clone(),
                data: values,
            })
        })
        .collect()
}

/// Writes `tensors` to `path` atomically (see [`write_atomic`]), with the header metadata
/// `{"format": "pt"}` that PyTorch tooling expects. Names must be unique and each tensor's data
/// must match its shape. The file lists tensors by dtype, then name (the format's canonical
/// order), so reading it back gives that order.
pub fn write_tensors(path: &Path, tensors: &[AnyTensor]) -> Result<()> {
    let bytes = serialize(tensors).map_err(|e| in_file(path, e))?;
    write_atomic(path, &bytes)
}

/// The bytes of a safetensors file holding `tensors`.
pub fn serialize(tensors: &[AnyTensor]) -> Result<Vec<u8>> {
    let mut seen = HashSet::new();
    for t in tensors {
        t.check_len()?;
        if !seen.insert(t.name.as_str()) {
            return Err(Error::input(format!(
                "tensor `{}` appears twice; names in a file must be unique",
                t.name
            )));
        }
    }
    let views = tensors.iter().map(|t| (t.name.as_str(), Encoded::new(t)));
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| Error::input(format!("cannot encode the tensors: {e}")))
}

/// Prefixes an error's message with the file it concerns.
fn in_file(path: &Path, err: Error) -> Error {
    match err {
        Error::Input(msg) => Error::input(format!("{}: {msg}", path.display())),
        other => other,
    }
}

/// A tensor's little-endian bytes, in the form the `safetensors` crate serializes.
struct Encoded {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl Encoded {
    fn new(t: &AnyTensor) -> Self {
        fn le<const N: usize, X: Copy>(v: &[X], to: fn(X) -> [u8; N]) -> Vec<u8> {
            v.iter().flat_map(|&x| to(x)).collect()
        }
        let (dtype, bytes) = match &t.data {
            TensorData::F32(v) => (Dtype::F32, le(v, f32::to_le_bytes)),
            TensorData::F64(v) => (Dtype::F64, le(v, f64::to_le_bytes)),
            TensorData::I64(v) => (Dtype::I64, le(v, i64::to_le_bytes)),
            TensorData::I32(v) => (Dtype::I32, le(v, i32::to_le_bytes)),
            TensorData::U32(v) => (Dtype::U32, le(v, u32::to_le_bytes)),
        };
        Encoded {
            dtype,
            shape: t.shape.clone(),
            bytes,
        }
    }
}

impl View for Encoded {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Little-endian `raw` as the matching [`TensorData`]; `None` for an unsupported dtype.
/// `raw.len()` is a multiple of the element size (the crate checked it against the shape).
fn decode(dtype: Dtype, raw: &[u8]) -> Option<TensorData> {
    fn from_le<const N: usize, X>(raw: &[u8], from: fn([u8; N]) -> X) -> Vec<X> {
        raw.chunks_exact(N)
            .map(|c| from(c.try_into().expect("chunk of N bytes")))
            .collect()
    }
    Some(match dtype {
        Dtype::F32 => TensorData::F32(from_le(raw, f32::from_le_bytes)),
        Dtype::F64 => TensorData::F64(from_le(raw, f64::from_le_bytes)),
        Dtype::I64 => TensorData::I64(from_le(raw, i64::from_le_bytes)),
        Dtype::I32 => TensorData::I32(from_le(raw, i32::from_le_bytes)),
        Dtype::U32 => TensorData::U32(from_le(raw, u32::from_le_bytes)),
        _ => return None,
    })
}

/// A header error from the `safetensors` crate, said in terms of the file: what is wrong and
/// what a valid file would hold.
fn header_error(path: &Path, bytes: &[u8], err: SafeTensorError) -> Error {
    let file = path.display();
    let len = bytes.len();
    let msg = match err {
        SafeTensorError::HeaderTooSmall => format!(
            "{file}: not a safetensors file: {len} bytes, fewer than the 8-byte header length"
        ),
        SafeTensorError::InvalidHeaderLength | SafeTensorError::HeaderTooLarge => format!(
            "{file}: not a safetensors file, or truncated: its first 8 bytes declare a {}-byte \
             header but the file holds {len} bytes",
            declared_header_len(bytes)
        ),
        SafeTensorError::InvalidHeader(_)
        | SafeTensorError::InvalidHeaderDeserialization(_)
        | SafeTensorError::JsonError(_) => {
            format!("{file}: corrupt safetensors header (not the JSON table of tensors): {err}")
        }
        SafeTensorError::MetadataIncompleteBuffer => {
            let header_len = declared_header_len(bytes) as usize;
            let found = len.saturating_sub(8 + header_len);
            match declared_data_len(&bytes[8..8 + header_len]) {
                Some(expected) if found < expected => format!(
                    "{file}: truncated: the header declares {expected} bytes of tensor data, \
                     the file holds {found}"
                ),
                Some(expected) => format!(
                    "{file}: {} unexpected bytes after the tensor data (the header declares \
                     {expected} bytes, the file holds {found})",
                    found - expected
                ),
                None => format!("{file}: the tensor data does not match the header: {err}"),
            }
        }
        SafeTensorError::InvalidOffset(name) => format!(
            "{file}: tensor `{name}`: its data offsets overlap or leave a gap (corrupt header)"
        ),
        SafeTensorError::TensorInvalidInfo => format!(
            "{file}: corrupt header: a tensor's byte range does not match its dtype and shape{}",
            mismatched_tensor(&bytes[8..8 + declared_header_len(bytes) as usize])
        ),
        other => format!("{file}: invalid safetensors file: {other}"),
    };
    Error::input(msg)
}

/// The header length the file's first 8 bytes declare (the caller checked there are 8).
fn declared_header_len(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"))
}

/// One entry of a raw header, read without the crate's validation (to explain its failures).
struct HeaderEntry {
    name: String,
    dtype: String,
    shape: Vec<usize>,
    offsets: [usize; 2],
}

/// The raw header entries, skipping `__metadata__`; `None` if the JSON is not a tensor table.
fn header_entries(header: &[u8]) -> Option<Vec<HeaderEntry>> {
    let json: serde_json::Value = serde_json::from_slice(header).ok()?;
    json.as_object()?
        .iter()
        .filter(|(name, _)| name.as_str() != "__metadata__")
        .map(|(name, info)| {
            let shape = info
                .get("shape")?
                .as_array()?
                .iter()
                .map(|d| d.as_u64().map(|d| d as usize))
                .collect::<Option<Vec<_>>>()?;
            let offsets = info.get("data_offsets")?.as_array()?;
            let range = [offsets.first()?.as_u64()?, offsets.get(1)?.as_u64()?];
            Some(HeaderEntry {
                name: name.clone(),
                dtype: info.get("dtype")?.as_str()?.to_string(),
                shape,
                offsets: range.map(|o| o as usize),
            })
        })
        .collect()
}

/// The number of data bytes a (parsable) header declares: the largest end offset.
fn declared_data_len(header: &[u8]) -> Option<usize> {
    let entries = header_entries(header)?;
    Some(entries.iter().map(|e| e.offsets[1]).max().unwrap_or(0))
}

/// ": tensor `w` (F32, shape (2, 3)) spans 20 bytes, expected 24" for the first entry of
/// `header` whose byte range disagrees with its dtype and shape; empty if none can be found.
fn mismatched_tensor(header: &[u8]) -> String {
    let Some(entries) = header_entries(header) else {
        return String::new();
    };
    entries
        .iter()
        .find_map(|e| {
            let size: usize = match e.dtype.as_str() {
                "F64" | "I64" | "U64" | "C64" => 8,
                "F32" | "I32" | "U32" => 4,
                "F16" | "BF16" | "I16" | "U16" => 2,
                "U8" | "I8" | "BOOL" => 1,
                _ => return None,
            };
            let expected = e.shape.iter().try_fold(size, |a, &d| a.checked_mul(d))?;
            let spans = e.offsets[1].checked_sub(e.offsets[0])?;
            (spans != expected).then(|| {
                format!(
                    ": tensor `{}` ({}, shape {}) spans {spans} bytes, expected {expected}",
                    e.name,
                    e.dtype,
                    fmt_shape(&e.shape)
                )
            })
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<AnyTensor> {
        vec![
            AnyTensor::new(
                "w",
                vec![2, 3],
                TensorData::F32(vec![0.5, -1.0, 2.0, 3.0, 4.0, 1e-30]),
            )
            .unwrap(),
            AnyTensor::new("ids", vec![3], TensorData::I64(vec![0, 7, i64::MAX])).unwrap(),
        ]
    }

    #[test]
    fn parse_inverts_serialize() {
        let bytes = serialize(&sample()).unwrap();
        let back = parse(Path::new("mem"), &bytes).unwrap();
        // Canonical order: larger-alignment dtypes first (I64 before F32), then by name.
        assert_eq!(back, vec![sample()[1].clone(), sample()[0].clone()]);
    }

    #[test]
    fn duplicate_names_are_refused() {
        let mut tensors = sample();
        tensors.push(tensors[0].clone());
        let err = serialize(&tensors).unwrap_err().to_string();
        assert_eq!(
            err,
            "tensor `w` appears twice; names in a file must be unique"
        );
    }

    #[test]
    fn a_range_that_disagrees_with_the_shape_is_named() {
        let header = br#"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(&[0u8; 20]);
        let err = parse(Path::new("bad.st"), &bytes).unwrap_err().to_string();
        assert!(
            err.ends_with("tensor `w` (F32, shape (2, 3)) spans 20 bytes, expected 24"),
            "{err}"
        );
    }
}
