//! Parity with PyTorch: the model, its tape and Adam against the fixtures written by
//! tests/gen_torch_fixture.py (dim 12, heads 2, batch 7, seq 8, vocab 32, classes 10). Every
//! tensor of each fixture is compared by name; all mismatches are collected and reported together
//! (name, max abs error, max relative error, tolerance), not just the first. The tolerances and
//! their reasons are in tests/torch_parity/compare.rs; parameters handed to the model and read
//! back before any step must be exactly equal.

pub mod compare;

use std::path::{Path, PathBuf};

use compare::{step_tolerance, Report, Tol, F32_TOL, F64_TOL};
use mha_cv::backend::cpu::Cpu;
use mha_cv::backend::{Backend, Scalar};
use mha_cv::defaults::LR;
use mha_cv::io::dataset::dataset_from_tensors;
use mha_cv::io::params::params_from_tensors;
use mha_cv::io::safetensors::read_tensors;
use mha_cv::io::{find, AnyTensor};
use mha_cv::model::{
    DeviceData, Factoring, HostParams, HostTensor, Model, ModelConfig, PARAM_NAMES,
};

const STEPS: usize = 5;

fn config() -> ModelConfig {
    ModelConfig {
        vocab: 32,
        dim: 12,
        heads: 2,
        seq_len: 8,
        classes: 10,
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn host_f64<T: Scalar>(t: &HostTensor<T>) -> Vec<f64> {
    t.data.iter().map(|&x| Scalar::to_f64(x)).collect()
}

/// Parameters after `t` Adam steps against `step{t}.<name>`, per element ([`step_tolerance`]).
fn compare_step<T: Scalar>(
    report: &mut Report,
    t: usize,
    params: &HostParams<T>,
    tensors: &[AnyTensor],
    tol: Tol,
) {
    let here = Path::new("fixture");
    for p in &params.tensors {
        let name = format!("step{t}.{}", p.name);
        let Ok(reference) = find(here, tensors, &name) else {
            report.failures.push(format!("{name}: not in the fixture"));
            continue;
        };
        let grad = find(here, tensors, &format!("grad.{}", p.name))
            .unwrap()
            .to_f64_vec();
        let tol = step_tolerance(&reference.to_f64_vec(), &grad, t, tol);
        report.compare(&name, (&p.shape, &host_f64(p)), reference, &tol);
    }
}

/// Runs the whole comparison for one fixture in precision `T`, with the model computing its
/// projections as `factoring` says.
fn parity<T: Scalar>(file: &str, tol: Tol, factoring: Factoring)
where
    Cpu<T>: Backend<T = T>,
{
    let path = fixture(file);
    let tensors = read_tensors(&path).unwrap();
    let data = dataset_from_tensors(&path, &tensors).unwrap();
    let init: HostParams<T> = params_from_tensors(&path, &tensors, "init.", &config()).unwrap();
    let mut report = Report::default();

    // The model holds exactly the parameters it was given.
    let backend = Cpu::<T>::new();
    let device_data = DeviceData::new(&backend, &data).unwrap();
    let mut model = Model::new(backend, config(), &init).unwrap();
    model.set_factoring(factoring).unwrap();
    let held = model.params().unwrap();
    for name in PARAM_NAMES {
        let ours = held.get(name).unwrap();
        let reference = find(&path, &tensors, &format!("init.{name}")).unwrap();
        let exact = vec![0.0; reference.numel()];
        report.compare(
            &format!("init.{name}"),
            (&ours.shape, &host_f64(ours)),
            reference,
            &exact,
        );
    }

    // Forward and backward: every activation and gradient the trace returns, by fixture name.
    let traced = model.trace(&device_data).unwrap();
    for t in &tensors {
        let traced_name = t.name.starts_with("act.") || t.name.starts_with("grad.");
        if traced_name && !traced.iter().any(|o| o.name == t.name) {
            report
                .failures
                .push(format!("{}: not returned by trace()", t.name));
        }
    }
    for ours in &traced {
        match find(&path, &tensors, &ours.name) {
            Ok(reference) => report.compare_scaled(
                &ours.name,
                (&ours.shape, &host_f64(ours)),
                reference,
                tol.rel,
            ),
            Err(_) => report.failures.push(format!(
                "{}: returned by trace() but not in the fixture",
                ours.name
            )),
        }
    }

    // Training: a fresh model (so the trace cannot have touched its state), 5 full-batch steps.
    let backend = Cpu::<T>::new();
    let device_data = DeviceData::new(&backend, &data).unwrap();
    let mut model = Model::new(backend, config(), &init).unwrap();
    model.set_factoring(factoring).unwrap();
    let mut losses = Vec::with_capacity(STEPS);
    for t in 1..=STEPS {
        losses.push(model.train_step(&device_data, LR).unwrap());
        if t == 1 || t == STEPS {
            compare_step(&mut report, t, &model.params().unwrap(), &tensors, tol);
        }
    }
    let reference = find(&path, &tensors, "losses").unwrap();
    report.compare_scaled("losses", (&[STEPS], &losses), reference, tol.rel);

    report.finish(&format!("{file} ({factoring:?})"), &tensors);
}

const PATHS: [Factoring; 3] = [Factoring::PerToken, Factoring::Qkv, Factoring::QkvAndOut];

#[test]
fn f64_model_matches_pytorch_f64() {
    for path in PATHS {
        parity::<f64>("torch_ref_f64.safetensors", F64_TOL, path);
    }
}

#[test]
fn f32_model_matches_pytorch_f32() {
    for path in PATHS {
        parity::<f32>("torch_ref_f32.safetensors", F32_TOL, path);
    }
}
