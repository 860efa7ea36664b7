//! `--init` / `--data` from the PyTorch fixture (tests/gen_torch_fixture.py: D 12, 2 heads,
//! vocab 32, 7 sequences, Adam lr 1e-3) reproduce its 5 reference losses through the whole
//! sweep path: file reading, model sizes taken from the files, training, results.json.

use crate::sweep_common;

use std::path::Path;

use mha_cv::io::safetensors::read_tensors;
use sweep_common::{fresh_dir, json, mha_cv};

#[test]
fn init_and_data_from_the_fixture_reproduce_pytorch_losses() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_ref_f32.safetensors");
    let reference: Vec<f64> = read_tensors(&fixture)
        .unwrap()
        .into_iter()
        .find(|t| t.name == "losses")
        .expect("the fixture holds `losses`")
        .to_f64_vec();
    assert_eq!(reference.len(), 5);

    let dir = fresh_dir("fixture");
    let f = fixture.to_str().unwrap();
    let out = mha_cv(&[
        "sweep",
        "--init",
        f,
        "--init-prefix",
        "init.",
        "--data",
        f,
        "--dims",
        "12",
        "--heads",
        "2",
        "--epochs",
        "5",
        "--lr",
        "0.001",
        "--samples",
        "20",
        "--quiet",
        "--save-params",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = json(&dir.join("results.json"));
    let r = &doc["results"][0];
    let losses: Vec<f64> = r["losses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    // Both sides train in f32 and differ only in summation order: a few units of f32 roundoff
    // (u = 6e-8) times the loss (≈ 2.3), ~1e-6. One Adam step at lr 1e-3 moves the loss by
    // ~1.2e-2, so 1e-5 passes the reference's rounding and fails any wrong step.
    for (epoch, (ours, theirs)) in losses.iter().zip(&reference).enumerate() {
        assert!(
            (ours - theirs).abs() < 1e-5,
            "epoch {}: {ours} vs PyTorch {theirs}",
            epoch + 1
        );
    }
    // The model took its sizes from the files: 32-token vocabulary, 7·8 activation rows.
    assert_eq!(r["pre"]["emb"]["rows"], 32);
    assert_eq!(r["pre"]["act_emb"]["rows"], 56);
    assert_eq!(doc["settings"]["init_prefix"], "init.");
    assert!(doc["settings"]["init"]["fnv1a64"].is_string());

    // --save-params wrote the parameters after the 5 steps: PyTorch's `step5.*`, to f32 roundoff
    // (1e-6 ≈ 16 ulp at magnitude 1), except the key bias (rows D..2D of in_proj_bias): softmax
    // ignores it, so its true gradient is 0 and Adam, dividing by √v, turns rounding noise into
    // steps of up to lr each way; after 5 steps it may differ by up to 5·lr = 5e-3.
    let saved = read_tensors(&dir.join("params/D12_h2_s42.safetensors")).unwrap();
    let fixture_tensors = read_tensors(&fixture).unwrap();
    assert_eq!(saved.len(), 10);
    for t in &saved {
        let want = fixture_tensors
            .iter()
            .find(|r| r.name == format!("step5.{}", t.name))
            .unwrap();
        assert_eq!(t.shape, want.shape, "{}", t.name);
        for (i, (a, b)) in t.to_f64_vec().iter().zip(want.to_f64_vec()).enumerate() {
            let key_bias = t.name == "mha.in_proj_bias" && (12..24).contains(&i);
            let tol = if key_bias { 5e-3 } else { 1e-6 };
            assert!((a - b).abs() <= tol, "{}[{i}]: {a} vs PyTorch {b}", t.name);
        }
    }
}
