//! Shared by the sweep / CLI integration tests: running the binary and reading its results.
#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::process::Command;

/// A reduced sweep, small enough for a debug build on two cores: D 8 and 16, heads 1 and 2,
/// 4 epochs (mid after 2), 40 samples per CV.
pub const SMALL: &[&str] = &[
    "--dims",
    "8,16",
    "--heads",
    "1,2",
    "--epochs",
    "4",
    "--samples",
    "40",
    "--quiet",
];

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `mha-cv` with `args`.
pub fn mha_cv(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_mha-cv"))
        .args(args)
        .output()
        .expect("the mha-cv binary runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// `mha-cv sweep SMALL… --out DIR extra…`, which must succeed.
pub fn small_sweep(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["sweep"];
    args.extend_from_slice(SMALL);
    args.extend_from_slice(&["--out", dir.to_str().unwrap()]);
    args.extend_from_slice(extra);
    let out = mha_cv(&args);
    assert_eq!(out.code, 0, "sweep {args:?} failed: {}", out.stderr);
    out
}

/// A fresh, empty folder for one test.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sweep-tests-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&read(path)).unwrap()
}

/// The metric names the prototype's `measure_all_cv` produces for `heads` heads, in its order
/// (written out from the prototype, independently of the crate's `metrics` module).
pub fn prototype_metric_names(heads: usize) -> Vec<String> {
    let mut names: Vec<String> = ["emb", "Q_full", "K_full", "V_full"]
        .map(String::from)
        .to_vec();
    for i in 0..heads {
        names.extend([format!("Q_h{i}"), format!("K_h{i}"), format!("V_h{i}")]);
    }
    names.extend(["out_proj".to_string(), "cls_head".to_string()]);
    for i in 0..heads {
        names.extend([
            format!("act_Q_h{i}"),
            format!("act_K_h{i}"),
            format!("act_V_h{i}"),
            format!("act_post_h{i}"),
        ]);
    }
    names.extend(["act_emb".to_string(), "act_post_full".to_string()]);
    names
}

/// Every metric a sweep measures: the prototype's, then each head's attention output before
/// out_proj.
pub fn measured_metric_names(heads: usize) -> Vec<String> {
    let mut names = prototype_metric_names(heads);
    names.extend((0..heads).map(|i| format!("act_attn_h{i}")));
    names
}

/// The prototype's `fmt_cv`, written from its source: `*x.xxxx*` inside 0.13 < cv < 0.30.
pub fn fmt_cv(cv: Option<f64>) -> String {
    match cv {
        None => "  N/A  ".to_string(),
        Some(v) if 0.13 < v && v < 0.30 => format!("*{v:.4}*"),
        Some(v) => format!(" {v:.4} "),
    }
}
