//! Model parameters in safetensors: a PyTorch `state_dict` saved by `safetensors.torch.save_file`
//! (tests/fixtures/make_io_fixtures.py: vocab 16, dim 4, heads 2, seq 8, classes 3) loads as is,
//! round trips are exact, and bad files name the file, the tensor and what was expected.

use std::path::{Path, PathBuf};

use mha_cv::io::params::{load_params, params_from_tensors, save_params};
use mha_cv::io::safetensors::read_tensors;
use mha_cv::io::{AnyTensor, TensorData};
use mha_cv::model::{HostParams, ModelConfig, PARAM_NAMES};

fn small() -> ModelConfig {
    ModelConfig {
        vocab: 16,
        dim: 4,
        heads: 2,
        seq_len: 8,
        classes: 3,
    }
}

fn state_dict() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/io/mha_state_dict_f32.safetensors")
}

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("io_params_{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The message of an error that must occur (no `Debug` needed on what would have been returned).
fn refused<T>(r: mha_cv::Result<T>) -> String {
    match r {
        Ok(_) => panic!("bad input was accepted"),
        Err(e) => e.to_string(),
    }
}

/// The parameters as (name, shape, values), comparable whatever HostTensor derives.
fn flat<T: Copy>(p: &HostParams<T>) -> Vec<(String, Vec<usize>, Vec<T>)> {
    p.tensors
        .iter()
        .map(|t| (t.name.clone(), t.shape.clone(), t.data.clone()))
        .collect()
}

/// The state_dict's tensors, changed by `edit`, loaded as f32 parameters: the error message.
fn load_error(edit: impl FnOnce(&mut Vec<AnyTensor>)) -> String {
    let mut tensors = read_tensors(&state_dict()).unwrap();
    edit(&mut tensors);
    let file = Path::new("state.safetensors");
    let text = refused(params_from_tensors::<f32>(file, &tensors, "", &small()));
    assert!(text.starts_with("state.safetensors: "), "{text}");
    text
}

#[test]
fn a_pytorch_state_dict_loads_as_is_in_either_precision() {
    let file = read_tensors(&state_dict()).unwrap();
    let p32: HostParams<f32> = load_params(&state_dict(), &small()).unwrap();
    let p64: HostParams<f64> = load_params(&state_dict(), &small()).unwrap();
    let names: Vec<&str> = p32.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, PARAM_NAMES);
    for (a, b) in p32.tensors.iter().zip(&p64.tensors) {
        let stored = file.iter().find(|t| t.name == a.name).unwrap();
        assert_eq!(stored.data, TensorData::F32(a.data.clone()), "{}", a.name);
        assert_eq!((&a.shape, &b.shape), (&stored.shape, &stored.shape));
        let widened: Vec<f64> = a.data.iter().map(|&x| x as f64).collect();
        assert_eq!(widened, b.data, "{}", a.name);
    }
}

#[test]
fn save_then_load_is_exact_and_keeps_the_dtype() {
    let dir = scratch("round_trip");
    let p64: HostParams<f64> = load_params(&state_dict(), &small()).unwrap();
    let path = dir.join("p64.safetensors");
    save_params(&path, &p64).unwrap();
    let back: HostParams<f64> = load_params(&path, &small()).unwrap();
    assert_eq!(flat(&back), flat(&p64));
    assert!(read_tensors(&path)
        .unwrap()
        .iter()
        .all(|t| t.data.dtype() == "F64"));

    let p32: HostParams<f32> = load_params(&state_dict(), &small()).unwrap();
    let path = dir.join("p32.safetensors");
    save_params(&path, &p32).unwrap();
    assert_eq!(
        flat(&load_params::<f32>(&path, &small()).unwrap()),
        flat(&p32)
    );
    // An F64 file does not load into an f32 model: it would be rounded.
    let err = refused(load_params::<f32>(&dir.join("p64.safetensors"), &small()));
    assert!(err.contains("dtype F64, expected F32"), "{err}");
}

#[test]
fn a_prefix_selects_the_parameters_in_a_fixture() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_ref_f64.safetensors");
    let tensors = read_tensors(&path).unwrap();
    let cfg = ModelConfig {
        vocab: 32,
        dim: 12,
        heads: 2,
        seq_len: 8,
        classes: 10,
    };
    for prefix in ["init.", "step1.", "step5."] {
        let p: HostParams<f64> = params_from_tensors(&path, &tensors, prefix, &cfg).unwrap();
        let emb = tensors
            .iter()
            .find(|t| t.name == format!("{prefix}emb.weight"))
            .unwrap();
        assert_eq!(
            TensorData::F64(p.get("emb.weight").unwrap().data.clone()),
            emb.data
        );
    }
    // Without the prefix, the fixture is not a parameter file.
    assert!(params_from_tensors::<f64>(&path, &tensors, "", &cfg).is_err());
}

#[test]
fn missing_misnamed_and_extra_tensors_are_named() {
    let err = load_error(|t| t.retain(|t| t.name != "norm.bias"));
    assert!(
        err.contains("missing parameter tensor(s) `norm.bias`; the file holds"),
        "{err}"
    );

    let err = load_error(|t| {
        let head = t.iter_mut().find(|t| t.name == "head.bias").unwrap();
        head.name = "head.biases".into();
    });
    assert!(
        err.contains("`head.bias`") && err.contains("`head.biases`"),
        "{err}"
    );

    let err = load_error(|t| {
        t.push(AnyTensor::new("extra.weight", vec![1], TensorData::F32(vec![0.0])).unwrap())
    });
    assert!(err.contains("unexpected tensor `extra.weight`"), "{err}");
}

#[test]
fn wrong_shapes_dtypes_and_values_name_the_tensor() {
    // A model of another width: the first parameter's shape is wrong.
    let tensors = read_tensors(&state_dict()).unwrap();
    let wide = ModelConfig { dim: 8, ..small() };
    let err = refused(params_from_tensors::<f32>(
        Path::new("s.st"),
        &tensors,
        "",
        &wide,
    ));
    assert!(
        err.starts_with("s.st: ") && err.contains("emb.weight"),
        "{err}"
    );
    assert!(err.contains("(16, 4)") && err.contains("(16, 8)"), "{err}");

    let err = load_error(|t| {
        let w = t
            .iter_mut()
            .find(|t| t.name == "mha.in_proj_weight")
            .unwrap();
        w.shape = vec![6, 8];
    });
    assert!(
        err.contains("mha.in_proj_weight") && err.contains("(12, 4)"),
        "{err}"
    );

    let err = load_error(|t| {
        let b = t.iter_mut().find(|t| t.name == "head.bias").unwrap();
        b.data = TensorData::I64(vec![0; 3]);
    });
    assert!(
        err.contains("tensor `head.bias`: dtype I64, expected F32"),
        "{err}"
    );

    let err = load_error(|t| {
        let w = t.iter_mut().find(|t| t.name == "norm.weight").unwrap();
        if let TensorData::F32(v) = &mut w.data {
            v[2] = f32::NAN;
        }
    });
    assert!(err.contains("norm.weight"), "{err}");
}

#[test]
fn saving_writes_the_pytorch_names() {
    let dir = scratch("names");
    let p32: HostParams<f32> = load_params(&state_dict(), &small()).unwrap();
    let path = dir.join("p.safetensors");
    save_params(&path, &p32).unwrap();
    let mut names: Vec<String> = read_tensors(&path)
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    names.sort();
    let mut expected: Vec<String> = PARAM_NAMES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected);
}
