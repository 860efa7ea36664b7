//! `mha-cv bench train` through the binary: it runs each config with the factoring asked and
//! the baseline, and reports consistent figures (no timing is asserted: speed is measured, not
//! tested).

mod sweep_common;

use sweep_common::mha_cv;

#[test]
fn bench_train_reports_each_config_against_its_baseline() {
    let out = mha_cv(&[
        "bench", "train", "--dims", "16,64", "--heads", "2", "--steps", "3", "--warmup", "0",
        "--json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    // auto resolves per config: qkv at D = 16 (4·8·2 > 16), qkv-and-out at D = 64.
    for (r, (dim, path)) in lines.iter().zip([(16, "Qkv"), (64, "QkvAndOut")]) {
        assert_eq!(
            (r["dim"].as_u64(), r["heads"].as_u64()),
            (Some(dim), Some(2))
        );
        assert_eq!(
            (r["factoring"].as_str(), r["baseline"].as_str()),
            (Some(path), Some("PerToken"))
        );
        let f = |k: &str| r[k].as_f64().unwrap();
        assert!(0.0 < f("ms_min") && f("ms_min") <= f("ms_median"));
        assert!(0.0 < f("baseline_ms_min") && f("baseline_ms_min") <= f("baseline_ms_median"));
        let ratio = f("baseline_ms_median") / f("ms_median");
        assert!((f("speedup") - ratio).abs() <= 1e-12 * ratio, "{r}");
    }
}

#[test]
fn bench_train_refuses_heads_that_do_not_divide_d() {
    let out = mha_cv(&["bench", "train", "--dims", "64", "--heads", "3"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("D=64 is not divisible by heads=3"),
        "{}",
        out.stderr
    );
}
