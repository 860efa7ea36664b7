//! The statistics through the binary: `--ci` / `--z` print the stored intervals and z (and
//! change no number), `--seeds N` summaries equal a direct computation from results.csv, and
//! `--plot` writes the figures, the extra metric `act_attn_h0` among them.

use crate::plot_common;
use crate::sweep_common;

use std::collections::BTreeMap;
use std::path::Path;

use sweep_common::{fresh_dir, json, measured_metric_names, mha_cv, read, Output};

/// A tiny sweep: D 8, heads 1 and 2, 2 epochs, 40 samples per CV.
fn tiny(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "sweep",
        "--dims",
        "8",
        "--heads",
        "1,2",
        "--epochs",
        "2",
        "--samples",
        "40",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = mha_cv(&args);
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    out
}

fn in_band(lo: f64, hi: f64) -> bool {
    0.13 < lo && hi < 0.30
}

/// `*x*` in the band, ` x ` outside.
fn flag(text: &str, band: bool) -> String {
    if band {
        format!("*{text}*")
    } else {
        format!(" {text} ")
    }
}

/// ` z=` and the value right-aligned in 7, or 10 blanks.
fn z_text(z: Option<f64>) -> String {
    match z {
        Some(z) => format!(" z={:>7}", format!("{z:+.2}")),
        None => " ".repeat(10),
    }
}

/// Asserts that `line` holds `cells` left to right.
fn contains_in_order(line: &str, cells: &[String]) {
    let mut rest = line;
    for c in cells {
        let at = rest
            .find(c.as_str())
            .unwrap_or_else(|| panic!("{c:?} not found in order in\n{line}"));
        rest = &rest[at + c.len()..];
    }
}

#[test]
fn ci_and_z_show_the_stored_values_and_change_no_number() {
    let dir = fresh_dir("stats-ci");
    let plain = tiny(&dir, &[]);
    let before = read(&dir.join("results.json"));
    assert!(!plain.stdout.contains('±') && !plain.stdout.contains("act_attn"));
    assert!(dir.join("null_cache.json").is_file());

    // The finished folder reprinted with --ci --z: nothing is computed, the file is unchanged.
    let annotated = tiny(&dir, &["--ci", "--z"]);
    assert_eq!(read(&dir.join("results.json")), before);
    let doc = json(&dir.join("results.json"));
    let stdout = &annotated.stdout;
    for r in doc["results"].as_array().unwrap() {
        let heads = r["heads"].as_u64().unwrap() as usize;
        let block_start = stdout
            .find(&format!("D=8 heads={heads} head_dim={}\n", 8 / heads))
            .unwrap();
        let block = &stdout[block_start..];
        let post = &block[block.find("[post-train]").unwrap()..];
        for name in measured_metric_names(heads) {
            let (m, pre) = (&r["post"][name.as_str()], &r["pre"][name.as_str()]);
            let line = match m["cv"].as_f64() {
                None => format!("    {name:<16}:   N/A"),
                Some(cv) => {
                    let (lo, hi) = (
                        m["ci_low"].as_f64().unwrap(),
                        m["ci_high"].as_f64().unwrap(),
                    );
                    let delta = pre["cv"]
                        .as_f64()
                        .map_or(String::new(), |p| format!("  Δ={:+.4}", cv - p));
                    let text = format!(
                        "    {name:<16}: {} ±{:.4}{}{delta}",
                        flag(&format!("{cv:.4}"), in_band(lo, hi)),
                        (hi - lo) / 2.0,
                        z_text(m["z"].as_f64())
                    );
                    text.trim_end().to_string()
                }
            };
            assert!(
                post.lines().any(|l| l == line),
                "missing {line:?} in\n{post}"
            );
        }
        // The summary row of this config: value ± half-width, z.
        let row_start = format!("    8     {heads}     {} |", 8 / heads);
        let row = stdout.lines().find(|l| l.starts_with(&row_start)).unwrap();
        let cells: Vec<String> = ["emb", "Q_full", "K_full", "V_full", "out_proj"]
            .iter()
            .map(|k| {
                let m = &r["post"][*k];
                let cv = m["cv"].as_f64().unwrap();
                let (lo, hi) = (
                    m["ci_low"].as_f64().unwrap(),
                    m["ci_high"].as_f64().unwrap(),
                );
                let value = format!("{cv:.4}±{:.4}", (hi - lo) / 2.0);
                format!(
                    "{}{}",
                    flag(&value, in_band(lo, hi)),
                    z_text(m["z"].as_f64())
                )
            })
            .collect();
        contains_in_order(row, &cells);
    }
    assert!(stdout.contains("(± half-width of the 95% bootstrap interval)"));
}

/// results.csv as maps of column → cell.
fn csv_rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut lines = text.lines();
    let head: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            head.iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

/// Mean and sd (Bessel) by the sum of squares, a different computation from the crate's.
fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let ss = xs.iter().map(|x| x * x).sum::<f64>() - n * mean * mean;
    (mean, (ss / (n - 1.0)).max(0.0).sqrt())
}

#[test]
fn seed_summaries_equal_a_direct_computation_from_results_csv_and_plot_writes_figures() {
    let dir = fresh_dir("stats-seeds");
    let out = tiny(&dir, &["--seeds", "3", "--z", "--plot"]);
    let rows = csv_rows(&read(&dir.join("results.csv")));
    let stdout = &out.stdout;
    assert!(stdout.contains("(mean ± sd over 3 seeds"), "{stdout}");
    let num = |r: &BTreeMap<String, String>, k: &str| r[k].parse::<f64>().ok();
    let pick = |heads: &str, phase: &str, metric: &str| -> Vec<&BTreeMap<String, String>> {
        rows.iter()
            .filter(|r| {
                (
                    r["heads"].as_str(),
                    r["phase"].as_str(),
                    r["metric"].as_str(),
                ) == (heads, phase, metric)
            })
            .collect()
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
    let tables: Vec<&str> = stdout.split("SUMMARY:").skip(1).collect();
    assert_eq!(tables.len(), 3);
    for heads in ["1", "2"] {
        let hd = 8 / heads.parse::<usize>().unwrap();
        let row_start = format!("    8     {heads}     {hd} |");
        let row_of = |table: &str| -> String {
            let rows: Vec<&str> = table
                .lines()
                .filter(|l| l.starts_with(&row_start))
                .collect();
            assert_eq!(rows.len(), 1, "one row per config, seeds folded:\n{table}");
            rows[0].to_string()
        };
        // Post CV: mean ± sd over the seeds, flagged where the envelope of their intervals lies
        // in the band, and the mean z; then the mean accuracy.
        for (table, metrics) in [(tables[0], &weights[..]), (tables[1], &acts[..])] {
            let mut cells: Vec<String> = metrics
                .iter()
                .map(|m| {
                    let per_seed = pick(heads, "post", m);
                    assert_eq!(per_seed.len(), 3, "{m}: one CSV row per seed");
                    let cvs: Vec<f64> = per_seed.iter().filter_map(|r| num(r, "cv")).collect();
                    if cvs.is_empty() {
                        return "  N/A  ".to_string();
                    }
                    let (mean, sd) = mean_sd(&cvs);
                    let lo = per_seed
                        .iter()
                        .filter_map(|r| num(r, "ci_low"))
                        .fold(f64::INFINITY, f64::min);
                    let hi = per_seed
                        .iter()
                        .filter_map(|r| num(r, "ci_high"))
                        .fold(0.0, f64::max);
                    let zs: Vec<f64> = per_seed.iter().filter_map(|r| num(r, "z")).collect();
                    let z = (!zs.is_empty()).then(|| mean_sd(&zs).0);
                    let mut value = format!("{mean:.4}±{sd:.4}");
                    if cvs.len() < 3 {
                        value += &format!(" ({}/3)", cvs.len());
                    }
                    let band = cvs.len() == 3 && in_band(lo, hi);
                    format!("{}{}", flag(&value, band), z_text(z))
                })
                .collect();
            let accs: Vec<f64> = pick(heads, "post", "emb")
                .iter()
                .map(|r| num(r, "acc").unwrap())
                .collect();
            cells.push(format!("| {:.2}%", mean_sd(&accs).0 * 100.0));
            contains_in_order(&row_of(table), &cells);
        }
        // Movement: mean ± sd over the seeds of each seed's post − pre.
        let cells: Vec<String> = acts
            .iter()
            .map(|m| {
                let deltas: Vec<f64> = pick(heads, "post", m)
                    .iter()
                    .filter_map(|post| {
                        let pre = pick(heads, "pre", m)
                            .into_iter()
                            .find(|p| p["seed"] == post["seed"])?;
                        Some(num(post, "cv")? - num(pre, "cv")?)
                    })
                    .collect();
                if deltas.is_empty() {
                    return "  N/A  ".to_string();
                }
                let (mean, sd) = mean_sd(&deltas);
                let partial = if deltas.len() < 3 {
                    format!(" ({}/3)", deltas.len())
                } else {
                    String::new()
                };
                format!("{mean:+.4}±{sd:.4}{partial}")
            })
            .collect();
        contains_in_order(&row_of(tables[2]), &cells);
    }

    // --plot: figures for the summary metrics and the extra one, valid XML, and the page.
    for metric in ["emb", "act_post_h0", "act_attn_h0"] {
        for kind in ["heatmap", "curves", "trajectory"] {
            let path = dir.join(format!("figures/{kind}_{metric}.svg"));
            plot_common::check_xml(&read(&path)).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        }
    }
    let page = read(&dir.join("report.html"));
    assert!(page.contains("figures/heatmap_act_attn_h0.svg"));
}
