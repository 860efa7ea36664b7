//! `mha-cv plot DIR` end to end on a results.json in the sweep's format, and its errors.

use crate::plot_common;

use std::process::Command;

use plot_common::{check_xml, seed_rows, temp_dir, DIMS, HEADS};
use serde_json::{json, Map, Value};

/// The sweep's results.json layout (docs/sweep.md) holding `seed_rows()`, with the new fields.
fn results_json() -> Value {
    let rows = seed_rows();
    let mut results = Vec::new();
    for seed in [42u64, 43] {
        for dim in DIMS {
            for heads in HEADS {
                let mut r = json!({"dim": dim, "heads": heads, "head_dim": dim / heads, "seed": seed,
                                   "losses": [2.3, 2.1], "mid_epoch": 1, "acc_mid": 0.5, "acc": 0.9});
                for phase in ["pre", "mid", "post"] {
                    let mut metrics = Map::new();
                    for row in rows.iter().filter(|x| {
                        (x.seed, x.dim, x.heads, x.phase.as_str()) == (seed, dim, heads, phase)
                    }) {
                        let mut m = json!({"rows": 512, "cols": row.head_dim, "cv": row.cv, "valid": 300,
                                           "ci_low": row.ci_low, "ci_high": row.ci_high,
                                           "null_cv": row.null_cv, "null_sd": row.null_sd, "z": row.z});
                        if row.cv.is_none() {
                            m["reason"] = json!("too_few_valid");
                        }
                        metrics.insert(row.metric.clone(), m);
                    }
                    r[phase] = Value::Object(metrics);
                }
                results.push(r);
            }
        }
    }
    json!({"format": "mha-cv results", "version": 1, "tool_version": "0.1.0",
           "settings": {"dims": DIMS, "heads": HEADS, "epochs": 2, "samples": 300}, "results": results})
}

fn plot(dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mha-cv"))
        .arg("plot")
        .arg(dir)
        .output()
        .unwrap()
}

#[test]
fn plot_writes_figures_and_the_page() {
    let dir = temp_dir("plot-cli");
    std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(&results_json()).unwrap(),
    )
    .unwrap();
    let out = plot(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut svgs: Vec<String> = std::fs::read_dir(dir.join("figures"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    svgs.sort();
    assert_eq!(svgs.len(), 6, "{svgs:?}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for f in &svgs {
        let doc = std::fs::read_to_string(dir.join("figures").join(f)).unwrap();
        check_xml(&doc).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(html.contains(&format!("src=\"figures/{f}\"")), "{f}");
    }
    let heat = std::fs::read_to_string(dir.join("figures/heatmap_act_Q_h0.svg")).unwrap();
    assert_eq!(
        heat.matches("class=\"cell").count(),
        DIMS.len() * HEADS.len()
    );
    assert!(html.contains("epochs: 2"), "settings shown");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plot_errors_name_the_problem_and_exit_2() {
    let dir = temp_dir("plot-cli-errors");
    let out = plot(&dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("results.json"));

    std::fs::write(dir.join("results.json"), "{\"format\": \"other\"}").unwrap();
    let out = plot(&dir);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no \"results\" array"), "{err}");
    assert!(
        !dir.join("report.html").exists(),
        "nothing written on error"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
