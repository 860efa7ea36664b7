//! `.npy` files (NumPy's format, versions 1.0, 2.0 and 3.0), read by hand:
//! `\x93NUMPY`, major and minor version bytes, the header length (u16 LE in v1, u32 LE in v2/v3),
//! a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`
//! (latin-1 in v1/v2, UTF-8 in v3), then the raw data.
//! Little-endian `<f4`, `<f8`, `<i8` (and `<i4`, `<u4`) in C order are read; anything else is an
//! error that says how to re-save the array.

use std::path::Path;

use super::{fmt_shape, AnyTensor, TensorData};
use crate::error::{Error, Result};

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The array in the `.npy` file at `path`, named after the file's stem (`emb.npy` → `emb`).
pub fn read_npy(path: &Path) -> Result<AnyTensor> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    parse(&bytes, name).map_err(|msg| Error::input(format!("{}: {msg}", path.display())))
}

/// Parses the bytes of a `.npy` file into a tensor called `name`; errors are messages about the
/// file's content (the caller adds the file name).
fn parse(bytes: &[u8], name: String) -> std::result::Result<AnyTensor, String> {
    if bytes.len() < 8 || &bytes[..6] != MAGIC {
        return Err("not a .npy file (it does not start with \\x93NUMPY)".into());
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (len_bytes, utf8) = match major {
        1 => (2, false),
        2 => (4, false),
        3 => (4, true),
        _ => {
            return Err(format!(
                ".npy format version {major}.{minor}, expected 1.0, 2.0 or 3.0"
            ))
        }
    };
    let start = 8 + len_bytes;
    let header_len = match bytes.get(8..start) {
        Some(&[a, b]) => u16::from_le_bytes([a, b]) as usize,
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]) as usize,
        _ => return Err("truncated: the file ends inside the header length".into()),
    };
    let raw_header = bytes.get(start..start + header_len).ok_or_else(|| {
        format!(
            "truncated: the header declares {header_len} bytes, the file holds {}",
            bytes.len() - start
        )
    })?;
    let header: String = if utf8 {
        std::str::from_utf8(raw_header)
            .map_err(|e| format!("the v3 header is not UTF-8: {e}"))?
            .to_string()
    } else {
        // latin-1: every byte is the code point of the same value.
        raw_header.iter().map(|&b| b as char).collect()
    };
    let header = Header::parse(&header)?;
    let data = &bytes[start + header_len..];
    decode(name, &header, data)
}

/// The three keys of an `.npy` header.
#[derive(Debug, PartialEq)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

type Tokens = std::iter::Peekable<std::vec::IntoIter<Token>>;

/// One token of the header's Python literal.
#[derive(Clone, Debug, PartialEq)]
enum Token {
    Punct(char),
    Str(String),
    Int(usize),
    Word(String),
}

/// A value of the header dict.
#[derive(Debug)]
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

impl Header {
    fn parse(text: &str) -> std::result::Result<Header, String> {
        let corrupt = |why: &str| format!("corrupt header ({why}): {:?}", text.trim_end());
        let tokens = tokenize(text).map_err(|why| corrupt(&why))?;
        let mut it: Tokens = tokens.into_iter().peekable();
        let expect = |want: char, it: &mut Tokens| match it.next() {
            Some(Token::Punct(c)) if c == want => Ok(()),
            _ => Err(corrupt(&format!("expected `{want}`"))),
        };
        expect('{', &mut it)?;
        let (mut descr, mut fortran_order, mut shape) = (None, None, None);
        loop {
            match it.next() {
                Some(Token::Punct('}')) => break,
                Some(Token::Str(key)) => {
                    expect(':', &mut it)?;
                    let value = parse_value(&mut it).map_err(|why| corrupt(&why))?;
                    match (key.as_str(), value) {
                        ("descr", Value::Str(s)) => descr = Some(s),
                        ("fortran_order", Value::Bool(b)) => fortran_order = Some(b),
                        ("shape", Value::Tuple(t)) => shape = Some(t),
                        ("descr" | "fortran_order" | "shape", v) => {
                            return Err(corrupt(&format!("`{key}` has the wrong kind: {v:?}")))
                        }
                        _ => return Err(corrupt(&format!("unknown key `{key}`"))),
                    }
                    match it.next() {
                        Some(Token::Punct(',')) => {}
                        Some(Token::Punct('}')) => break,
                        _ => return Err(corrupt("expected `,` or `}` after a value")),
                    }
                }
                _ => return Err(corrupt("expected a quoted key or `}`")),
            }
        }
        if it.next().is_some() {
            return Err(corrupt("text after the closing `}`"));
        }
        match (descr, fortran_order, shape) {
            (Some(descr), Some(fortran_order), Some(shape)) => Ok(Header {
                descr,
                fortran_order,
                shape,
            }),
            _ => Err(corrupt(
                "it needs the keys 'descr', 'fortran_order' and 'shape'",
            )),
        }
    }
}

/// Splits a Python literal into tokens: punctuation, quoted strings, integers (an old `3L` suffix
/// allowed), bare words (True/False).
fn tokenize(text: &str) -> std::result::Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '{' | '}' | '(' | ')' | ':' | ',' | '[' | ']' => {
                tokens.push(Token::Punct(c));
                chars.next();
            }
            '\'' | '"' => {
                chars.next();
                let s: String = chars.by_ref().take_while(|&ch| ch != c).collect();
                tokens.push(Token::Str(s));
            }
            '0'..='9' => {
                let mut digits = String::new();
                while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(d);
                    chars.next();
                }
                if chars.peek() == Some(&'L') {
                    chars.next();
                }
                let n = digits
                    .parse()
                    .map_err(|_| format!("dimension {digits} is too large"))?;
                tokens.push(Token::Int(n));
            }
            c if c.is_ascii_alphabetic() => {
                let mut word = String::new();
                while let Some(&d) = chars.peek().filter(|d| d.is_ascii_alphanumeric()) {
                    word.push(d);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
            other => return Err(format!("unexpected character {other:?}")),
        }
    }
    Ok(tokens)
}

fn parse_value(it: &mut Tokens) -> std::result::Result<Value, String> {
    match it.next() {
        Some(Token::Str(s)) => Ok(Value::Str(s)),
        Some(Token::Word(w)) if w == "True" => Ok(Value::Bool(true)),
        Some(Token::Word(w)) if w == "False" => Ok(Value::Bool(false)),
        Some(Token::Punct('(')) => {
            let mut dims = Vec::new();
            loop {
                match it.next() {
                    Some(Token::Punct(')')) => return Ok(Value::Tuple(dims)),
                    Some(Token::Int(n)) => dims.push(n),
                    _ => return Err("a shape must be a tuple of integers".into()),
                }
                match it.next() {
                    Some(Token::Punct(',')) => {}
                    Some(Token::Punct(')')) => return Ok(Value::Tuple(dims)),
                    _ => return Err("a shape must be a tuple of integers".into()),
                }
            }
        }
        Some(Token::Punct('[')) => {
            Err("a list descr is a structured dtype, which this tool does not read".into())
        }
        other => Err(format!("unexpected value {other:?}")),
    }
}

/// The data after the header as a tensor, refusing what would be misread.
fn decode(name: String, h: &Header, data: &[u8]) -> std::result::Result<AnyTensor, String> {
    if h.fortran_order {
        return Err(format!(
            "array of shape {} is stored in Fortran (column-major) order; only C order is read \
             — save np.ascontiguousarray(a) instead",
            fmt_shape(&h.shape)
        ));
    }
    let size = match h.descr.as_str() {
        "<f4" | "<i4" | "<u4" => 4,
        "<f8" | "<i8" => 8,
        d if d.starts_with('>') => {
            return Err(format!(
                "dtype '{d}' is big-endian; only little-endian is read — save a.astype('<{}')",
                &d[1..]
            ))
        }
        d => {
            return Err(format!(
                "dtype '{d}' is not read; supported: '<f4', '<f8', '<i8', '<i4', '<u4' \
                 — save a.astype('<f4') (or '<f8', '<i8')"
            ))
        }
    };
    let numel = h
        .shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|n| n.checked_mul(size).is_some())
        .ok_or_else(|| format!("shape {} is too large", fmt_shape(&h.shape)))?;
    let expected = numel * size;
    if data.len() != expected {
        let what = if data.len() < expected {
            "truncated"
        } else {
            "trailing bytes"
        };
        return Err(format!(
            "{what}: shape {} of '{}' needs {expected} data bytes, the file holds {}",
            fmt_shape(&h.shape),
            h.descr,
            data.len()
        ));
    }
    fn from_le<const N: usize, X>(raw: &[u8], from: fn([u8; N]) -> X) -> Vec<X> {
        raw.chunks_exact(N)
            .map(|c| from(c.try_into().expect("chunk of N bytes")))
            .collect()
    }
    let values = match h.descr.as_str() {
        "<f4" => TensorData::F32(from_le(data, f32::from_le_bytes)),
        "<f8" => TensorData::F64(from_le(data, f64::from_le_bytes)),
        "<i8" => TensorData::I64(from_le(data, i64::from_le_bytes)),
        "<i4" => TensorData::I32(from_le(data, i32::from_le_bytes)),
        _ => TensorData::U32(from_le(data, u32::from_le_bytes)),
    };
    Ok(AnyTensor {
        name,
        shape: h.shape.clone(),
        data: values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A v1 file with `header` (padded as NumPy pads it) followed by `data`.
    fn npy_v1(header: &str, data: &[u8]) -> Vec<u8> {
        let mut h = header.to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&[1, 0]);
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn header_literal_parses_as_numpy_writes_it() {
        let h = Header::parse("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }  \n")
            .unwrap();
        assert_eq!(
            h,
            Header {
                descr: "<f8".into(),
                fortran_order: false,
                shape: vec![3, 4]
            }
        );
        // 1-D tuples keep their trailing comma; Python 2 wrote longs with an L.
        let h = Header::parse("{\"shape\": (5L,), \"fortran_order\": True, \"descr\": \"<i8\"}")
            .unwrap();
        assert_eq!((h.shape, h.fortran_order), (vec![5], true));
        assert_eq!(
            Header::parse("{'descr': '<f4', 'fortran_order': False, 'shape': ()}")
                .unwrap()
                .shape,
            Vec::<usize>::new()
        );
    }

    #[test]
    fn corrupt_headers_are_reported() {
        for (text, why) in [
            ("{'descr': '<f4', 'shape': (2,)}", "it needs the keys"),
            (
                "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,)}",
                "unexpected value",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,)}",
                "unexpected character",
            ),
            (
                "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}",
                "structured",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 'y'}",
                "unknown key",
            ),
            ("'descr'", "expected `{`"),
        ] {
            let err = Header::parse(text).unwrap_err();
            assert!(
                err.starts_with("corrupt header (") && err.contains(why),
                "{err}"
            );
        }
    }

    #[test]
    fn a_minimal_v1_file_reads_and_fortran_order_is_refused() {
        let data: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|x| x.to_le_bytes()).collect();
        let c = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
        let t = parse(&npy_v1(c, &data), "v".into()).unwrap();
        assert_eq!((t.name.as_str(), t.shape.as_slice()), ("v", &[2usize][..]));
        assert_eq!(t.data, TensorData::F32(vec![1.0, 2.0]));
        let f = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1), }";
        let err = parse(&npy_v1(f, &data), "m".into()).unwrap_err();
        assert!(err.contains("Fortran (column-major) order"), "{err}");
    }

    #[test]
    fn data_length_must_match_the_shape() {
        let h = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }";
        let err = parse(&npy_v1(h, &[0u8; 15]), "t".into()).unwrap_err();
        assert_eq!(
            err,
            "truncated: shape (2, 2) of '<i4' needs 16 data bytes, the file holds 15"
        );
        let err = parse(&npy_v1(h, &[0u8; 17]), "t".into()).unwrap_err();
        assert!(err.starts_with("trailing bytes:"), "{err}");
        let err = parse(&npy_v1(h, &[0u8; 16])[..20], "t".into()).unwrap_err();
        assert!(err.starts_with("truncated: the header declares"), "{err}");
    }
}
