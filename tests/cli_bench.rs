//! `mha-cv bench train` and `bench volumes` through the binary: each runs what it is asked and
//! its baseline, and reports consistent figures (no timing is asserted: speed is measured, not
//! tested).

use crate::sweep_common;

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

#[test]
fn bench_train_ops_times_each_op_within_the_step() {
    let out = mha_cv(&[
        "bench", "train", "--dims", "64", "--heads", "2", "--steps", "2", "--warmup", "0", "--ops",
        "--json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let ops = &r["ops"];
    let names: Vec<&str> = ops["ops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["op"].as_str().unwrap())
        .collect();
    // D = 64, 2 heads: `auto` is qkv-and-out (4·8·2 ≤ 64).
    assert_eq!(
        names,
        [
            "embed",
            "linear",
            "head_proj",
            "attention_out",
            "resid_norm_pool",
            "cross_entropy"
        ]
    );
    // The op intervals are disjoint parts of the steps they are averaged over, so their sum
    // cannot exceed the mean step (up to the rounding of the millisecond means).
    let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
    let sum: f64 = ops["ops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| f(o, "ms_forward") + f(o, "ms_backward"))
        .sum::<f64>()
        + f(ops, "ms_update");
    let step = f(ops, "ms_step_mean");
    assert!(0.0 < sum && sum <= step * (1.0 + 1e-9), "{sum} vs {step}");
    // Without --ops the report has no "ops" field.
    let plain = mha_cv(&[
        "bench", "train", "--dims", "64", "--heads", "2", "--steps", "1", "--warmup", "0", "--json",
    ]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    assert!(!plain.stdout.contains("\"ops\""), "{}", plain.stdout);
}

/// The report of `bench volumes`: the path `auto` took by the cost model (table when
/// 10·tuples > rows(rows − 1)/2: 2016 distances for 64 rows), rates from the medians, and the
/// ratio of the two paths' medians.
#[test]
fn bench_volumes_reports_the_auto_path_against_the_direct_one() {
    for (tuples, path) in [("5000", "table"), ("200", "direct")] {
        let out = mha_cv(&[
            "bench",
            "volumes",
            "--dim",
            "8",
            "--rows",
            "64",
            "--tuples",
            tuples,
            "--repeats",
            "3",
            "--warmup",
            "0",
            "--precision",
            "f32",
            "--json",
        ]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let r: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
        assert_eq!(r["auto_path"].as_str(), Some(path), "{r}");
        assert_eq!(
            (
                r["dim"].as_u64(),
                r["rows"].as_u64(),
                r["precision"].as_str()
            ),
            (Some(8), Some(64), Some("f32"))
        );
        let n: f64 = tuples.parse().unwrap();
        for side in ["auto", "direct"] {
            let f = |k: &str| r[side][k].as_f64().unwrap();
            assert!(0.0 < f("seconds_min") && f("seconds_min") <= f("seconds_median"));
            let rate = n / f("seconds_median");
            assert!(
                (f("volumes_per_second") - rate).abs() <= 1e-12 * rate,
                "{r}"
            );
        }
        let ratio = r["direct"]["seconds_median"].as_f64().unwrap()
            / r["auto"]["seconds_median"].as_f64().unwrap();
        assert!(
            (r["speedup"].as_f64().unwrap() - ratio).abs() <= 1e-12 * ratio,
            "{r}"
        );
    }
}

#[test]
fn bench_volumes_refuses_a_pool_without_a_simplex() {
    let out = mha_cv(&["bench", "volumes", "--rows", "4"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("--rows 4 must be between 5"),
        "{}",
        out.stderr
    );
}
