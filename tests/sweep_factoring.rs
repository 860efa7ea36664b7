//! `--factoring` through the binary: the choice reaches the model, is recorded in results.json,
//! and changes the numbers by the order of the sums only; results from before the option
//! existed (trained with `qkv`) are not resumed under the new default.

use crate::sweep_common;

use sweep_common::{fresh_dir, json, mha_cv, read};

/// D = 64 with one head: `auto` takes `qkv-and-out` there (4·seq·heads = 32 ≤ 64).
const SMALL: [&str; 10] = [
    "sweep",
    "--dims",
    "64",
    "--heads",
    "1",
    "--epochs",
    "3",
    "--samples",
    "20",
    "--quiet",
];

/// Returns the losses and the bytes of the final parameters.
fn sweep(dir: &std::path::Path, factoring: &str) -> (Vec<f64>, Vec<u8>) {
    let mut args = SMALL.to_vec();
    args.extend(["--save-params", "--factoring", factoring]);
    args.extend(["--out", dir.to_str().unwrap()]);
    let out = mha_cv(&args);
    assert_eq!(out.code, 0, "--factoring {factoring}: {}", out.stderr);
    let doc = json(&dir.join("results.json"));
    assert_eq!(doc["settings"]["factoring"], factoring);
    let losses = doc["results"][0]["losses"].as_array().unwrap();
    let params = std::fs::read(dir.join("params/D64_h1_s42.safetensors")).unwrap();
    (losses.iter().map(|v| v.as_f64().unwrap()).collect(), params)
}

#[test]
fn each_factoring_trains_the_same_model_up_to_rounding() {
    let run = |f: &str| sweep(&fresh_dir(&format!("factoring-{f}")), f);
    let (auto, out) = (run("auto"), run("qkv-and-out"));
    let (qkv, per_token) = (run("qkv"), run("per-token"));
    assert!(
        auto == out,
        "auto is qkv-and-out at D = 64, 1 head: the same bits"
    );
    // f32 training whose sums run in another order: the losses (≈ 2.3) agree to a few units of
    // f32 roundoff times the loss after 3 Adam steps, ~1e-6; one step moves the loss by ~1e-2.
    for (name, other) in [("qkv", &qkv), ("per-token", &per_token)] {
        for (a, b) in out.0.iter().zip(&other.0) {
            assert!((a - b).abs() < 1e-5, "qkv-and-out {a} vs {name} {b}");
        }
    }
    // Different code really ran: the trained parameters differ in their last bits.
    assert!(out.1 != qkv.1 && out.1 != per_token.1 && qkv.1 != per_token.1);
}

#[test]
fn results_from_before_the_option_are_not_resumed_under_the_new_default() {
    let dir = fresh_dir("factoring-old");
    sweep(&dir, "qkv");
    // A results.json written before `factoring` existed: the same settings without the key.
    let path = dir.join("results.json");
    let mut doc = json(&path);
    doc["settings"].as_object_mut().unwrap().remove("factoring");
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let before = read(&path);
    let mut args = SMALL.to_vec();
    args.extend(["--out", dir.to_str().unwrap()]);
    let out = mha_cv(&args);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("factoring: \"qkv\" vs \"auto\""),
        "{}",
        out.stderr
    );
    assert_eq!(read(&path), before, "the refused run changed results.json");
}
