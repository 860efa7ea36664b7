//! Bad input, through the binary: each case exits with code 2, says what is wrong (and how to
//! fix it) on stderr, and leaves nothing behind in the output folder.

use crate::sweep_common;

use std::path::Path;

use mha_cv::io::safetensors::write_tensors;
use mha_cv::io::{AnyTensor, TensorData};
use mha_cv::model::{init_params, ModelConfig};
use sweep_common::{fresh_dir, mha_cv};

/// Runs `args` (with `--out DIR/out` appended for sweeps) and checks the refusal.
fn refused(dir: &Path, args: &[&str], needle: &str) {
    let out_dir = dir.join("out");
    let mut all: Vec<&str> = args.to_vec();
    if args.first() == Some(&"sweep") {
        all.extend(["--out", out_dir.to_str().unwrap()]);
    }
    let out = mha_cv(&all);
    assert_eq!(
        out.code, 2,
        "{all:?}: exit code {}, stderr {}",
        out.code, out.stderr
    );
    assert!(
        out.stderr.contains(needle),
        "{all:?}: stderr lacks {needle:?}: {}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{all:?} printed {}", out.stdout);
    assert!(!out_dir.exists(), "{all:?} created {}", out_dir.display());
}

#[test]
fn bad_options_are_refused_before_anything_is_written() {
    let dir = fresh_dir("cli-options");
    let small = ["--dims", "8", "--heads", "2"];
    let with = |extra: &[&'static str]| -> Vec<&str> {
        let mut v = vec!["sweep"];
        v.extend(small);
        v.extend_from_slice(extra);
        v
    };
    refused(&dir, &with(&["--bogus"]), "unexpected argument '--bogus'");
    refused(
        &dir,
        &["sweep", "--dims", "10", "--heads", "3"],
        "D=10 is not divisible by heads=3",
    );
    refused(
        &dir,
        &["sweep", "--dims", "8", "--heads", "0"],
        "--heads contains 0",
    );
    refused(
        &dir,
        &with(&["--epochs", "0"]),
        "--epochs 0: at least 1 epoch",
    );
    refused(&dir, &with(&["--samples", "5"]), "--samples 5: at least 10");
    refused(
        &dir,
        &with(&["--device", "cuda", "--factoring", "qkv-and-out"]),
        "--factoring qkv-and-out: the GPU has no kernels",
    );
    refused(&dir, &with(&["--lr", "-1"]), "--lr -1");
    refused(&dir, &with(&["--seeds", "0"]), "--seeds 0");
    refused(&dir, &with(&["--shard", "3/2"]), "expected K/N");
    refused(
        &dir,
        &with(&["--jobs", "0"]),
        "--jobs 0: at least one config",
    );
    if cfg!(not(feature = "cuda")) {
        // Without the feature, every --device cuda names the rebuild that provides it.
        refused(&dir, &with(&["--device", "cuda"]), "--features cuda");
        refused(
            &dir,
            &["bench", "det", "--device", "cuda"],
            "--features cuda",
        );
        let npy = dir.join("m.npy");
        std::fs::write(&npy, b"not read: the device is refused first").unwrap();
        refused(
            &dir,
            &["cv", "--device", "cuda", npy.to_str().unwrap()],
            "--features cuda",
        );
    }
    refused(&dir, &with(&["--precision", "f16"]), "invalid value 'f16'");
    refused(&dir, &with(&["--init-prefix", "init."]), "give --init too");
}

#[test]
fn missing_and_corrupt_files_are_refused() {
    let dir = fresh_dir("cli-files");
    let missing = dir.join("missing.safetensors");
    let corrupt = dir.join("corrupt.safetensors");
    std::fs::write(&corrupt, b"this is not a safetensors file").unwrap();
    let bad_toml = dir.join("bad.toml");
    std::fs::write(&bad_toml, "dims = [8]\nepochz = 3\n").unwrap();
    let (m, c, t) = (
        missing.to_str().unwrap(),
        corrupt.to_str().unwrap(),
        bad_toml.to_str().unwrap(),
    );

    refused(
        &dir,
        &["sweep", "--dims", "8", "--init", m],
        "missing.safetensors",
    );
    refused(
        &dir,
        &["sweep", "--dims", "8", "--data", m],
        "missing.safetensors",
    );
    refused(
        &dir,
        &["sweep", "--dims", "8", "--init", c],
        "corrupt.safetensors",
    );
    refused(
        &dir,
        &["sweep", "--dims", "8", "--data", c],
        "corrupt.safetensors",
    );
    refused(&dir, &["sweep", "--config", m], "missing.safetensors");
    refused(&dir, &["sweep", "--config", t], "unknown field `epochz`");
    refused(&dir, &["cv", m], "missing.safetensors");
    refused(&dir, &["cv", c], "corrupt.safetensors");
    refused(
        &dir,
        &[
            "merge",
            dir.to_str().unwrap(),
            "--out",
            dir.join("out").to_str().unwrap(),
        ],
        "no results.json",
    );

    // A results folder whose results.json is damaged is not resumed over.
    let damaged = dir.join("damaged");
    std::fs::create_dir_all(&damaged).unwrap();
    std::fs::write(damaged.join("results.json"), "{ truncated").unwrap();
    let out = mha_cv(&[
        "sweep",
        "--dims",
        "8",
        "--heads",
        "2",
        "--epochs",
        "2",
        "--out",
        damaged.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("not a readable mha-cv results file"),
        "{}",
        out.stderr
    );
    assert!(!damaged.join("configs").exists());
}

#[test]
fn a_wrong_shape_in_init_names_the_tensor_and_the_expected_shape() {
    let dir = fresh_dir("cli-init-shape");
    let cfg = ModelConfig::prototype(8, 2);
    let params = init_params::<f32>(&cfg, 1);
    let tensors: Vec<AnyTensor> = params
        .tensors
        .iter()
        .map(|t| {
            let (shape, data) = if t.name == "mha.in_proj_weight" {
                (vec![16, 8], t.data[..128].to_vec()) // (2·D, D) instead of (3·D, D)
            } else {
                (t.shape.clone(), t.data.clone())
            };
            AnyTensor::new(&t.name, shape, TensorData::F32(data)).unwrap()
        })
        .collect();
    let file = dir.join("wrong.safetensors");
    write_tensors(&file, &tensors).unwrap();
    let f = file.to_str().unwrap();
    refused(
        &dir,
        &[
            "sweep", "--dims", "8", "--heads", "2", "--epochs", "2", "--init", f,
        ],
        "mha.in_proj_weight",
    );
    // The right file for another D: the message names the shape the sweep expected.
    let good = dir.join("d8.safetensors");
    mha_cv::io::params::save_params(&good, &params).unwrap();
    refused(
        &dir,
        &[
            "sweep",
            "--dims",
            "16",
            "--heads",
            "2",
            "--init",
            good.to_str().unwrap(),
        ],
        "D=16",
    );
    // The PyTorch fixture keeps several parameter sets under prefixes: the message names them.
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_ref_f32.safetensors");
    let fx = fixture.to_str().unwrap();
    refused(
        &dir,
        &["sweep", "--dims", "12", "--heads", "2", "--init", fx],
        "`init.`, `step1.`",
    );
    // Its f64 twin cannot start f32 training without rounding: refused, with the fix.
    let f64_fixture = fixture.with_file_name("torch_ref_f64.safetensors");
    let f64_args = [
        "sweep",
        "--dims",
        "12",
        "--heads",
        "2",
        "--init-prefix",
        "init.",
        "--init",
    ];
    let mut args = f64_args.to_vec();
    args.push(f64_fixture.to_str().unwrap());
    refused(&dir, &args, "dtype F64, expected F32");
}

#[test]
fn an_unwritable_out_is_refused_before_training() {
    let dir = fresh_dir("cli-unwritable");
    let file = dir.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let out_dir = file.join("results");
    let out = mha_cv(&[
        "sweep",
        "--dims",
        "8",
        "--heads",
        "2",
        "--epochs",
        "2",
        "--samples",
        "20",
        "--quiet",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("cannot write there"), "{}", out.stderr);
    assert!(
        out.stdout.is_empty(),
        "nothing is printed before the folder is known to work"
    );
}
