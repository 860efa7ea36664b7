//! safetensors reading and writing, and data sets stored in it: files written by PyTorch's
//! `safetensors.torch.save_file` (tests/fixtures/make_io_fixtures.py, values in closed form, so
//! every value is checked bit for bit), round trips, and every kind of bad input.

use std::path::{Path, PathBuf};

use mha_cv::data::{make_data, DataSpec, Dataset};
use mha_cv::error::Error;
use mha_cv::io::dataset::{dataset_from_tensors, load_dataset, save_dataset};
use mha_cv::io::safetensors::{read_tensors, write_tensors};
use mha_cv::io::{AnyTensor, TensorData};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/io")
        .join(name)
}

/// A fresh, empty directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("io_safetensors_{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tensor(name: &str, shape: Vec<usize>, data: TensorData) -> AnyTensor {
    AnyTensor::new(name, shape, data).unwrap()
}

fn err_text(r: mha_cv::Result<impl std::fmt::Debug>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn reads_every_dtype_written_by_pytorch_bit_for_bit() {
    let tensors = read_tensors(&fixture("torch_tensors.safetensors")).unwrap();
    let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    // File order (PyTorch's writer sorts by alignment, then name); the empty tensor shares its
    // offset with `f32` and comes first.
    assert_eq!(names, ["i64", "f64", "scalar", "empty", "f32", "i32"]);

    let f32_expected: Vec<f32> = (0..12).map(|i| (i as f32 - 5.5) / 3.0).collect();
    let f64_expected: Vec<f64> = (0..6).map(|i| (i as f64 - 2.5) / 7.0).collect();
    let expected = [
        tensor(
            "i64",
            vec![2, 3],
            TensorData::I64(vec![0, -1, 1 << 40, 5, 6, 7]),
        ),
        tensor("f64", vec![2, 3], TensorData::F64(f64_expected)),
        tensor("scalar", vec![], TensorData::F64(vec![2.5])),
        tensor("empty", vec![0, 3], TensorData::F32(vec![])),
        tensor("f32", vec![3, 4], TensorData::F32(f32_expected)),
        tensor("i32", vec![4], TensorData::I32(vec![0, 1, 2, 3])),
    ];
    assert_eq!(tensors, expected);
}

#[test]
fn round_trip_keeps_every_bit_including_specials() {
    let dir = scratch("round_trip");
    let path = dir.join("t.safetensors");
    let specials = vec![
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        1e-310,
        f64::MAX,
    ];
    let written = vec![
        tensor("z.f64", vec![7], TensorData::F64(specials.clone())),
        tensor(
            "a.f32",
            vec![1, 2],
            TensorData::F32(vec![f32::MIN_POSITIVE, -1.0 / 3.0]),
        ),
        tensor(
            "ids",
            vec![2, 2],
            TensorData::I64(vec![i64::MIN, -1, 0, i64::MAX]),
        ),
        tensor("i32", vec![1], TensorData::I32(vec![i32::MIN])),
        tensor("u32", vec![2], TensorData::U32(vec![0, u32::MAX])),
        tensor("scalar", vec![], TensorData::F32(vec![4.0])),
        tensor("empty", vec![3, 0], TensorData::F64(vec![])),
    ];
    write_tensors(&path, &written).unwrap();
    let mut back = read_tensors(&path).unwrap();
    assert_eq!(back.len(), written.len());
    // NaN ≠ NaN, so the f64 specials are compared by their bits.
    let z = back.iter().position(|t| t.name == "z.f64").unwrap();
    let TensorData::F64(values) = back.remove(z).data else {
        panic!("z.f64 read back with another dtype")
    };
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&values), bits(&specials));
    for t in &written[1..] {
        assert!(back.contains(t), "{} did not round-trip", t.name);
    }
    // Nothing but the file is left in the directory (no temporary file).
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn writing_refuses_inconsistent_tensors_and_names_the_file() {
    let dir = scratch("refuse");
    let path = dir.join("bad.safetensors");
    let short = AnyTensor {
        name: "w".into(),
        shape: vec![2, 2],
        data: TensorData::F32(vec![1.0; 3]),
    };
    let err = err_text(write_tensors(&path, &[short]));
    assert_eq!(
        err,
        format!(
            "{}: tensor `w`: 3 values for shape (2, 2) (expected 4)",
            path.display()
        )
    );
    let t = tensor("w", vec![1], TensorData::F32(vec![1.0]));
    let err = err_text(write_tensors(&path, &[t.clone(), t]));
    assert!(err.ends_with("tensor `w` appears twice; names in a file must be unique"));
    assert!(!path.exists());
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let path = fixture("no_such_file.safetensors");
    let err = read_tensors(&path).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert_eq!(err.exit_code(), 2);
    let text = err.to_string();
    assert!(text.starts_with(&path.display().to_string()), "{text}");
    assert!(text.contains("No such file"), "{text}");
}

/// Writes `bytes` to a file in `dir` and returns what reading it says.
fn read_error(dir: &Path, bytes: &[u8]) -> String {
    let path = dir.join("f.safetensors");
    std::fs::write(&path, bytes).unwrap();
    let err = read_tensors(&path).unwrap_err();
    assert!(matches!(err, Error::Input(_)), "{err:?}");
    let text = err.to_string();
    let prefix = format!("{}: ", path.display());
    text.strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("error does not start with the file name: {text}"))
        .to_string()
}

#[test]
fn corrupt_or_truncated_files_say_what_is_wrong() {
    let dir = scratch("corrupt");
    let good = std::fs::read(fixture("torch_tensors.safetensors")).unwrap();
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let data_len = good.len() - 8 - header_len;
    assert_eq!(data_len, 168);

    assert_eq!(
        read_error(&dir, b"abc"),
        "not a safetensors file: 3 bytes, fewer than the 8-byte header length"
    );
    assert_eq!(
        read_error(&dir, &good[..100]),
        format!(
            "not a safetensors file, or truncated: its first 8 bytes declare a {header_len}-byte \
             header but the file holds 100 bytes"
        )
    );
    let text = b"just some text, not a tensor file at all";
    assert!(read_error(&dir, text).starts_with("not a safetensors file, or truncated"));

    let mut garbled = good.clone();
    garbled[8] = b'[';
    assert!(read_error(&dir, &garbled).starts_with("corrupt safetensors header"));

    assert_eq!(
        read_error(&dir, &good[..good.len() - 4]),
        "truncated: the header declares 168 bytes of tensor data, the file holds 164"
    );
    let mut padded = good.clone();
    padded.extend_from_slice(&[0; 8]);
    assert_eq!(
        read_error(&dir, &padded),
        "8 unexpected bytes after the tensor data (the header declares 168 bytes, the file holds 176)"
    );
}

#[test]
fn unsupported_dtype_is_named_with_the_tensor() {
    let path = fixture("torch_bf16.safetensors");
    let err = err_text(read_tensors(&path));
    assert!(
        err.starts_with(&format!(
            "{}: tensor `h` has dtype BF16, which this tool does not read; supported: F32, F64",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn a_float_tensor_refuses_a_lossy_or_integer_conversion() {
    let path = fixture("torch_tensors.safetensors");
    let tensors = read_tensors(&path).unwrap();
    let get = |n: &str| tensors.iter().find(|t| t.name == n).unwrap();
    assert!(get("f64").to_scalars::<f64>(&path).is_ok());
    assert_eq!(
        get("f32").to_scalars::<f64>(&path).unwrap()[1],
        ((1.0f32 - 5.5) / 3.0) as f64
    );
    let err = err_text(get("f64").to_scalars::<f32>(&path));
    assert!(
        err.starts_with(&format!(
            "{}: tensor `f64`: dtype F64, expected F32",
            path.display()
        )),
        "{err}"
    );
    let err = err_text(get("i64").to_scalars::<f32>(&path));
    assert!(
        err.ends_with("tensor `i64`: dtype I64, expected F32"),
        "{err}"
    );
}

#[test]
fn dataset_from_pytorch_loads_as_is() {
    let data = load_dataset(&fixture("torch_dataset.safetensors")).unwrap();
    let x: Vec<u32> = (0..5)
        .flat_map(|i| (0..8).map(move |j| (7 * i + j) % 32))
        .collect();
    let expected = Dataset {
        x,
        y: vec![0, 1, 2, 3, 4],
        n: 5,
        seq_len: 8,
    };
    assert_eq!(data, expected);
}

#[test]
fn dataset_round_trip_is_exact_and_written_as_int64() {
    let dir = scratch("dataset");
    let path = dir.join("data.safetensors");
    let data = make_data(DataSpec::default(), 42);
    save_dataset(&path, &data).unwrap();
    assert_eq!(load_dataset(&path).unwrap(), data);
    let tensors = read_tensors(&path).unwrap();
    let shapes: Vec<(&str, &str, &[usize])> = tensors
        .iter()
        .map(|t| (t.name.as_str(), t.data.dtype(), t.shape.as_slice()))
        .collect();
    assert_eq!(
        shapes,
        [("x", "I64", &[500usize, 8][..]), ("y", "I64", &[500][..])]
    );
}

#[test]
fn bad_datasets_name_the_tensor_and_what_was_expected() {
    let file = Path::new("d.safetensors");
    let x = || tensor("x", vec![2, 3], TensorData::I64(vec![1, 2, 3, 4, 5, 6]));
    let y = || tensor("y", vec![2], TensorData::I64(vec![0, 1]));
    let err = |tensors: Vec<AnyTensor>| err_text(dataset_from_tensors(file, &tensors));

    assert!(dataset_from_tensors(file, &[y(), x()]).is_ok());
    assert_eq!(
        err(vec![
            x(),
            tensor("labels", vec![2], TensorData::I64(vec![0, 1]))
        ]),
        "d.safetensors: no tensor named `y`; the file holds `x`, `labels`"
    );
    assert_eq!(
        err(vec![tensor("x", vec![6], TensorData::I64(vec![0; 6])), y()]),
        "d.safetensors: tensor `x` has shape (6), expected (N, seq_len) token ids with N, seq_len ≥ 1"
    );
    assert_eq!(
        err(vec![x(), tensor("y", vec![3], TensorData::I64(vec![0; 3]))]),
        "d.safetensors: tensor `y` has shape (3), expected (2): one label per row of `x` (2, 3)"
    );
    assert_eq!(
        err(vec![tensor("x", vec![2, 3], TensorData::F32(vec![0.0; 6])), y()]),
        "d.safetensors: tensor `x` has dtype F32, expected I64 (integer ids; I32 and U32 also read)"
    );
    assert_eq!(
        err(vec![
            tensor("x", vec![2, 3], TensorData::I64(vec![0, 1, 2, 3, -4, 5])),
            y()
        ]),
        "d.safetensors: tensor `x`: x[1, 1] = -4 is not an id in [0, 2³²)"
    );
    assert_eq!(
        err(vec![
            x(),
            tensor("y", vec![2], TensorData::I64(vec![0, 1 << 33]))
        ]),
        "d.safetensors: tensor `y`: y[1] = 8589934592 is not an id in [0, 2³²)"
    );
    let narrow = [
        tensor("x", vec![1, 2], TensorData::I32(vec![3, 4])),
        tensor("y", vec![1], TensorData::U32(vec![9])),
    ];
    let d = dataset_from_tensors(file, &narrow).unwrap();
    assert_eq!((d.x, d.y), (vec![3, 4], vec![9]));
}
