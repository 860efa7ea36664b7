//! `mha-cv cv`: tensors of .safetensors / .npy files measured as matrices, with notes for what
//! is reshaped or skipped, as a table or JSON.

use crate::sweep_common;

use std::path::Path;

use mha_cv::io::safetensors::write_tensors;
use mha_cv::io::{AnyTensor, TensorData};
use mha_cv::rng::Rng;
use serde_json::Value;
use sweep_common::{fresh_dir, mha_cv};

/// Writes `w` (40, 6) and the same values as `w` in a second file under the same name with
/// shape (4, 10, 6), plus a rank-1 tensor and an integer matrix.
fn files(dir: &Path) -> (String, String) {
    let mut rng = Rng::new(9);
    let w: Vec<f32> = (0..240).map(|_| rng.normal() as f32).collect();
    let f32t = |name: &str, shape: Vec<usize>, data: Vec<f32>| {
        AnyTensor::new(name, shape, TensorData::F32(data)).unwrap()
    };
    let a = dir.join("a.safetensors");
    write_tensors(
        &a,
        &[
            f32t("w", vec![40, 6], w.clone()),
            f32t("bias", vec![6], vec![0.5; 6]),
            AnyTensor::new("ids", vec![4, 3], TensorData::I64((0..12).collect())).unwrap(),
        ],
    )
    .unwrap();
    let b = dir.join("b.safetensors");
    write_tensors(&b, &[f32t("w", vec![4, 10, 6], w)]).unwrap();
    (
        a.to_str().unwrap().to_string(),
        b.to_str().unwrap().to_string(),
    )
}

fn cv_json(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["cv", "--json"];
    all.extend_from_slice(args);
    let out = mha_cv(&all);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    doc["tensors"].as_array().unwrap().clone()
}

#[test]
fn matrices_are_measured_and_the_rest_explained() {
    let dir = fresh_dir("cv-files");
    let (a, b) = files(&dir);
    let lines = cv_json(&[&a, &b]);
    let names: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l["file"].as_str().unwrap(), l["tensor"].as_str().unwrap()))
        .collect();
    assert_eq!(names.len(), 4);
    let get = |file: &str, name: &str| {
        lines
            .iter()
            .find(|l| l["file"] == file && l["tensor"] == name)
            .unwrap()
    };

    let w2 = get(&a, "w");
    assert_eq!(
        (w2["rows"].as_u64(), w2["cols"].as_u64()),
        (Some(40), Some(6))
    );
    assert!(w2["cv"].as_f64().unwrap() > 0.0);
    assert_eq!(w2["valid"], 300);
    // The rank-3 copy is read as (4·10) × 6: the same matrix, and (same name, same seed) the
    // same rows sampled, so exactly the same CV.
    let w3 = get(&b, "w");
    assert_eq!(
        (w3["rows"].as_u64(), w3["cols"].as_u64()),
        (Some(40), Some(6))
    );
    assert_eq!(w3["cv"], w2["cv"]);
    assert!(
        w3["note"].as_str().unwrap().contains("read as (4·10) × 6"),
        "{w3}"
    );

    assert!(get(&a, "bias")["note"]
        .as_str()
        .unwrap()
        .contains("rank 1: not a matrix"));
    assert!(get(&a, "ids")["note"]
        .as_str()
        .unwrap()
        .contains("I64: not a float tensor"));
    assert!(get(&a, "bias").get("cv").is_none());

    // The table shows the same rows.
    let table = mha_cv(&["cv", &a, &b]).stdout;
    let cv = w2["cv"].as_f64().unwrap();
    let cell = if 0.13 < cv && cv < 0.30 {
        format!("*{cv:.4}*")
    } else {
        format!(" {cv:.4} ")
    };
    // Then ± the interval's half-width and the null baseline (N(0, 1), 40 × 6) with its sd.
    let num = |k: &str| w2[k].as_f64().unwrap();
    let (lo, hi) = (num("ci_low"), num("ci_high"));
    assert!(lo < cv && cv < hi, "{w2}");
    let (null, sd) = (num("null_cv"), num("null_sd"));
    // 1e-12: z is this quotient, computed once in the binary.
    assert!((num("z") - (cv - null) / sd).abs() < 1e-12, "{w2}");
    let row = format!(
        "40 × 6  {cell:>8}  ±{:.4}  {null:.4}±{sd:.4}  {:+.2}",
        (hi - lo) / 2.0,
        num("z")
    );
    assert!(table.contains(&row), "{row}\n{table}");
    assert!(table.contains("read as (4·10) × 6"));
}

#[test]
fn options_select_and_change_the_estimate_deterministically() {
    let dir = fresh_dir("cv-options");
    let (a, _) = files(&dir);
    let base = cv_json(&["--tensor", "w", &a]);
    assert_eq!(base.len(), 1);
    assert_eq!(
        cv_json(&["--tensor", "w", &a]),
        base,
        "same seed, same numbers"
    );
    let other_seed = cv_json(&["--tensor", "w", "--seed", "7", &a]);
    assert_ne!(other_seed[0]["cv"], base[0]["cv"]);
    let fewer = cv_json(&["--tensor", "w", "--samples", "50", &a]);
    assert_eq!(fewer[0]["valid"], 50);
    // f32 determinants: the same estimate, rounded differently. Each vol² is off by about
    // c·u·H with u = 6e-8 (numerics.md): ~2e-7 relative for well-shaped simplices, up to ~1e-4
    // for the flattest of 300 Gaussian ones in 6-D, so the CV, a ratio of means, moves < 1e-3.
    let f32cv = cv_json(&["--tensor", "w", "--precision", "f32", &a])[0]["cv"]
        .as_f64()
        .unwrap();
    assert!((f32cv - base[0]["cv"].as_f64().unwrap()).abs() < 1e-3);

    let out = mha_cv(&["cv", "--tensor", "nope", &a]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("--tensor nope: no such tensor"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("`w`"), "{}", out.stderr);
    let npy = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/io/f8_3d.npy");
    let lines = cv_json(&[npy.to_str().unwrap()]);
    // (2, 3, 4) read as 6 × 4, named after the file.
    assert_eq!(
        (lines[0]["tensor"].as_str(), lines[0]["rows"].as_u64()),
        (Some("f8_3d"), Some(6))
    );
}
