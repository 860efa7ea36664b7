//! A reduced sweep through the binary: results.json, results.csv and the printed tables hold
//! the same numbers, and every metric the prototype measures is there, with the right shape.

use crate::sweep_common;

use serde_json::Value;
use sweep_common::{
    fmt_cv, fresh_dir, json, measured_metric_names, prototype_metric_names, read, small_sweep,
};

const PHASES: [&str; 3] = ["pre", "mid", "post"];

fn cv_of(metric: &Value) -> Option<f64> {
    metric["cv"].as_f64()
}

#[test]
fn json_csv_and_tables_agree_and_every_metric_is_present() {
    let dir = fresh_dir("e2e");
    let out = small_sweep(&dir, &[]);
    let doc = json(&dir.join("results.json"));
    let results = doc["results"].as_array().unwrap();

    // Configs in the prototype's order: D, then heads.
    let keys: Vec<(u64, u64)> = results
        .iter()
        .map(|r| (r["dim"].as_u64().unwrap(), r["heads"].as_u64().unwrap()))
        .collect();
    assert_eq!(keys, [(8, 1), (8, 2), (16, 1), (16, 2)]);
    assert_eq!(doc["settings"]["epochs"], 4);

    for r in results {
        let (dim, heads) = (
            r["dim"].as_u64().unwrap() as usize,
            r["heads"].as_u64().unwrap() as usize,
        );
        let hd = dim / heads;
        assert_eq!(r["head_dim"], hd);
        assert_eq!(r["seed"], 42);
        assert_eq!(r["losses"].as_array().unwrap().len(), 4);
        assert_eq!(r["mid_epoch"], 2);
        for acc in [&r["acc_mid"], &r["acc"]] {
            let a = acc.as_f64().unwrap();
            assert!((0.0..=1.0).contains(&a), "accuracy {a}");
        }
        for phase in PHASES {
            let metrics = r[phase].as_object().unwrap();
            let names: Vec<&String> = metrics.keys().collect();
            let expected = measured_metric_names(heads);
            assert_eq!(names.len(), expected.len());
            // serde_json's map is sorted; the file's order is checked on the printed lists below.
            for name in &expected {
                let m = &metrics[name.as_str()];
                let (rows, cols) = (
                    m["rows"].as_u64().unwrap() as usize,
                    m["cols"].as_u64().unwrap() as usize,
                );
                let shape = match name.as_str() {
                    "emb" => (256, dim),
                    "Q_full" | "K_full" | "V_full" | "out_proj" => (dim, dim),
                    "cls_head" => (10, dim),
                    "act_emb" | "act_post_full" => (4000, dim),
                    n if n.starts_with("act_") => (4000, hd),
                    _ => (hd, dim),
                };
                assert_eq!((rows, cols), shape, "{name}");
                match m["cv"].as_f64() {
                    Some(cv) => {
                        assert!(cv.is_finite() && cv > 0.0 && m.get("reason").is_none());
                        check_stats(name, cv, m, rows);
                    }
                    None => {
                        assert!(m["reason"].is_string(), "{name}: null cv without a reason");
                        for k in ["ci_low", "ci_high", "null_cv", "null_sd", "z"] {
                            assert!(m.get(k).is_none(), "{name}: {k} without a cv");
                        }
                    }
                }
            }
        }
    }

    check_csv(&read(&dir.join("results.csv")), results);
    check_printed(&out.stdout, results);
}

/// A value's interval holds it; its null baseline exists when random matrices of its shape
/// have a CV (≥ 5 rows), and z is computed from them.
fn check_stats(name: &str, cv: f64, m: &Value, rows: usize) {
    let num = |k: &str| m[k].as_f64();
    let (lo, hi) = (num("ci_low").unwrap(), num("ci_high").unwrap());
    assert!(lo <= cv && cv <= hi && lo < hi, "{name}: {m}");
    match (num("null_cv"), num("null_sd"), num("z")) {
        (Some(null), Some(sd), Some(z)) => {
            assert!(rows >= 5 && null > 0.0 && sd > 0.0, "{name}: {m}");
            // 1e-12: the same quotient, computed once in the binary.
            assert!(
                (z - (cv - null) / sd).abs() < 1e-12 * z.abs().max(1.0),
                "{name}: {m}"
            );
        }
        other => panic!("{name}: value without a baseline {other:?}: {m}"),
    }
}

/// Every CSV row matches the JSON value it comes from, and there is one row per value.
fn check_csv(csv: &str, results: &[Value]) {
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "dim,heads,head_dim,seed,phase,epoch,loss,acc,metric,rows,cols,cv,valid,reason,\
         ci_low,ci_high,null_cv,null_sd,z"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let expected_rows: usize = results
        .iter()
        .map(|r| {
            PHASES
                .iter()
                .map(|p| r[*p].as_object().unwrap().len())
                .sum::<usize>()
        })
        .sum();
    assert_eq!(rows.len(), expected_rows);
    for row in rows {
        assert_eq!(row.len(), 19, "{row:?}");
        let r = results
            .iter()
            .find(|r| {
                row[0].parse::<u64>().ok() == r["dim"].as_u64()
                    && row[1].parse::<u64>().ok() == r["heads"].as_u64()
            })
            .unwrap();
        assert_eq!((row[2], row[3]), (r["head_dim"].to_string().as_str(), "42"));
        let (phase, metric) = (row[4], row[8]);
        let m = &r[phase][metric];
        let num = |s: &str| (!s.is_empty()).then(|| s.parse::<f64>().unwrap());
        assert_eq!(
            num(row[11]),
            cv_of(m),
            "{phase} {metric}: CSV and JSON differ"
        );
        assert_eq!(row[12], m["valid"].to_string());
        assert_eq!(row[13], m["reason"].as_str().unwrap_or(""));
        for (k, cell) in ["ci_low", "ci_high", "null_cv", "null_sd", "z"]
            .iter()
            .zip(&row[14..])
        {
            assert_eq!(num(cell), m[*k].as_f64(), "{phase} {metric} {k}");
        }
        assert_eq!(
            (row[9], row[10]),
            (
                m["rows"].to_string().as_str(),
                m["cols"].to_string().as_str()
            )
        );
        let losses = r["losses"].as_array().unwrap();
        let (epoch, loss, acc) = match phase {
            "pre" => ("0".to_string(), None, None),
            "mid" => ("2".to_string(), losses[1].as_f64(), r["acc_mid"].as_f64()),
            _ => ("4".to_string(), losses[3].as_f64(), r["acc"].as_f64()),
        };
        assert_eq!(
            (row[5], num(row[6]), num(row[7])),
            (epoch.as_str(), loss, acc)
        );
    }
}

/// The printed lists and summary tables show exactly the JSON's values, in the prototype's
/// order and layout.
fn check_printed(stdout: &str, results: &[Value]) {
    let mut expected = String::from("MHA CV Relational Test — Prototype\nBand: 0.13 < CV < 0.30\n");
    for r in results {
        let rule = "=".repeat(70);
        expected += &format!(
            "\n{rule}\nD={} heads={} head_dim={}\n{rule}\n\n  [pre-train]\n",
            r["dim"], r["heads"], r["head_dim"]
        );
        let heads = r["heads"].as_u64().unwrap() as usize;
        let names = prototype_metric_names(heads);
        for name in &names {
            expected += &format!(
                "    {name:<16}: {}\n",
                fmt_cv(cv_of(&r["pre"][name.as_str()]))
            );
        }
        let losses = r["losses"].as_array().unwrap();
        let pct = |a: &Value| format!("{:.2}%", a.as_f64().unwrap() * 100.0);
        expected += &format!(
            "\n  [epoch 2] loss={:.4} acc={}\n",
            losses[1].as_f64().unwrap(),
            pct(&r["acc_mid"])
        );
        for name in &names {
            expected += &format!(
                "    {name:<16}: {}\n",
                fmt_cv(cv_of(&r["mid"][name.as_str()]))
            );
        }
        expected += &format!(
            "\n  [post-train] loss={:.4} acc={}\n",
            losses[3].as_f64().unwrap(),
            pct(&r["acc"])
        );
        for name in &names {
            let (pre, post) = (
                cv_of(&r["pre"][name.as_str()]),
                cv_of(&r["post"][name.as_str()]),
            );
            let delta = match (pre, post) {
                (Some(a), Some(b)) => format!("  Δ={:+.4}", b - a),
                _ => String::new(),
            };
            expected += &format!("    {name:<16}: {}{delta}\n", fmt_cv(post));
        }
    }
    let (lists, summaries) = stdout.split_at(expected.len().min(stdout.len()));
    assert_eq!(lists, expected);

    // Summary rows, rebuilt from the JSON.
    let int = |v: &Value| v.as_u64().unwrap();
    let row_start = |r: &Value| {
        format!(
            "{:>5} {:>5} {:>5} |",
            int(&r["dim"]),
            int(&r["heads"]),
            int(&r["head_dim"])
        )
    };
    let weights = ["emb", "Q_full", "K_full", "V_full", "out_proj"];
    let acts = [
        "act_emb",
        "act_Q_h0",
        "act_K_h0",
        "act_V_h0",
        "act_post_h0",
        "act_post_full",
    ];
    let mut tables = Vec::new();
    for (cols, movement) in [(&weights[..], false), (&acts[..], false), (&acts[..], true)] {
        let rows: Vec<String> = results
            .iter()
            .map(|r| {
                let mut row = row_start(r);
                for c in cols {
                    let (pre, post) = (cv_of(&r["pre"][*c]), cv_of(&r["post"][*c]));
                    let cell = match (movement, pre, post) {
                        (false, _, _) => fmt_cv(post),
                        (true, Some(a), Some(b)) => format!("{:+.4}", b - a),
                        (true, _, _) => "  N/A  ".to_string(),
                    };
                    row += &format!(" {cell:>8}");
                }
                if !movement {
                    row += &format!(" | {:.2}%", r["acc"].as_f64().unwrap() * 100.0);
                }
                row
            })
            .collect();
        tables.push(rows.join("\n"));
    }
    for table in &tables {
        assert!(
            summaries.contains(table.as_str()),
            "summary rows missing:\n{table}\nin:\n{summaries}"
        );
    }
    assert!(summaries.starts_with("\n\n======"));
    assert!(summaries.ends_with(&format!("{}\n", tables[2])));
}
