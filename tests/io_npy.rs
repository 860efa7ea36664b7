//! `.npy` reading: arrays written by `numpy.save` (and NumPy's v2/v3 writer) by
//! tests/fixtures/make_io_fixtures.py, values in closed form checked bit for bit; and refusals
//! that say how to re-save the array.

use std::path::{Path, PathBuf};

use mha_cv::error::Error;
use mha_cv::io::npy::read_npy;
use mha_cv::io::TensorData;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/io")
        .join(name)
}

fn read(name: &str) -> (Vec<usize>, TensorData) {
    let t = read_npy(&fixture(name)).unwrap();
    assert_eq!(t.name, name.trim_end_matches(".npy"));
    (t.shape, t.data)
}

fn f8_2x3() -> TensorData {
    TensorData::F64((0..6).map(|i| (i as f64 - 2.5) / 7.0).collect())
}

#[test]
fn reads_numpy_save_for_each_supported_dtype() {
    let f4: Vec<f32> = (0..12).map(|i| (i as f32 - 5.5) / 3.0).collect();
    assert_eq!(read("f4.npy"), (vec![3, 4], TensorData::F32(f4)));
    assert_eq!(read("f8.npy"), (vec![2, 3], f8_2x3()));
    assert_eq!(
        read("i8.npy"),
        (vec![2, 3], TensorData::I64(vec![0, -1, 1 << 40, 5, 6, 7]))
    );
    assert_eq!(read("i4.npy"), (vec![4], TensorData::I32(vec![0, 1, 2, 3])));
    assert_eq!(
        read("u4.npy"),
        (vec![2], TensorData::U32(vec![0, u32::MAX]))
    );
}

#[test]
fn reads_scalars_higher_ranks_and_format_versions_2_and_3() {
    assert_eq!(read("scalar.npy"), (vec![], TensorData::F64(vec![2.5])));
    let cube: Vec<f64> = (0..24).map(|i| i as f64 + 0.25).collect();
    assert_eq!(read("f8_3d.npy"), (vec![2, 3, 4], TensorData::F64(cube)));
    assert_eq!(read("f8_v2.npy"), (vec![2, 3], f8_2x3()));
    assert_eq!(read("f8_v3.npy"), (vec![2, 3], f8_2x3()));
}

/// The message of reading `path`, which must be an input error starting with the file name.
fn refusal(path: &Path) -> String {
    let err = read_npy(path).unwrap_err();
    assert!(matches!(err, Error::Input(_)), "{err:?}");
    let text = err.to_string();
    text.strip_prefix(&format!("{}: ", path.display()))
        .unwrap_or_else(|| panic!("error does not start with the file name: {text}"))
        .to_string()
}

#[test]
fn refuses_fortran_order_big_endian_and_other_dtypes_saying_how_to_resave() {
    assert_eq!(
        refusal(&fixture("fortran.npy")),
        "array of shape (2, 3) is stored in Fortran (column-major) order; only C order is read \
         — save np.ascontiguousarray(a) instead"
    );
    assert_eq!(
        refusal(&fixture("big_endian.npy")),
        "dtype '>f4' is big-endian; only little-endian is read — save a.astype('<f4')"
    );
    assert!(refusal(&fixture("f2.npy")).starts_with("dtype '<f2' is not read; supported:"));
}

#[test]
fn missing_truncated_and_foreign_files_are_reported() {
    let missing = fixture("absent.npy");
    let err = read_npy(&missing).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("absent.npy"));

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("io_npy");
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read(fixture("f8.npy")).unwrap();

    let cut = dir.join("cut.npy");
    std::fs::write(&cut, &good[..good.len() - 1]).unwrap();
    assert_eq!(
        refusal(&cut),
        "truncated: shape (2, 3) of '<f8' needs 48 data bytes, the file holds 47"
    );
    let headless = dir.join("headless.npy");
    std::fs::write(&headless, &good[..40]).unwrap();
    assert_eq!(
        refusal(&headless),
        "truncated: the header declares 118 bytes, the file holds 30"
    );
    let mut future = good.clone();
    future[6] = 4;
    let v4 = dir.join("v4.npy");
    std::fs::write(&v4, &future).unwrap();
    assert_eq!(
        refusal(&v4),
        ".npy format version 4.0, expected 1.0, 2.0 or 3.0"
    );
    let foreign = fixture("torch_tensors.safetensors");
    assert_eq!(
        refusal(&foreign),
        "not a .npy file (it does not start with \\x93NUMPY)"
    );
}
