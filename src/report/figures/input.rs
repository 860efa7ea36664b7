//! A results.json (the sweep's format, docs/sweep.md) read into [`FigureInput`], by field name
//! and without the sweep's types: per config × seed `dim`, `heads`, `head_dim`, `seed`, and
//! `pre` / `mid` / `post` objects of metric → {`cv`, and when present `ci_low`, `ci_high`,
//! `null_cv`, `null_sd`, `z`}. Other fields are ignored; a missing `mid` (one epoch) is fine.

use std::path::Path;

use serde_json::Value;

use super::FigureInput;
use crate::error::{Error, Result};
use crate::stats::aggregate::{aggregate, SeedRow};

/// Reads `path` (a results.json) and aggregates its rows over seeds.
pub fn from_results_file(path: &Path) -> Result<FigureInput> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| {
        Error::input(format!(
            "{}: not JSON ({e}); give the folder a sweep wrote (it holds results.json)",
            path.display()
        ))
    })?;
    let rows = seed_rows(&json).map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
    Ok(FigureInput::new(
        "mha-cv results",
        settings_notes(&json),
        aggregate(&rows)?,
    ))
}

/// Every config × seed × phase × metric of a results.json document.
pub fn seed_rows(json: &Value) -> Result<Vec<SeedRow>> {
    let results = json
        .get("results")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            Error::input("no \"results\" array: not a results.json written by `mha-cv sweep`")
        })?;
    let mut rows = Vec::new();
    for (i, r) in results.iter().enumerate() {
        let field = |name: &str| {
            r.get(name).and_then(Value::as_u64).ok_or_else(|| {
                Error::input(format!(
                    "results[{i}]: \"{name}\" missing or not a non-negative integer"
                ))
            })
        };
        let (dim, heads, head_dim, seed) = (
            field("dim")?,
            field("heads")?,
            field("head_dim")?,
            field("seed")?,
        );
        for phase in ["pre", "mid", "post"] {
            let Some(metrics) = r.get(phase).and_then(Value::as_object) else {
                if phase == "mid" {
                    continue;
                }
                return Err(Error::input(format!(
                    "results[{i}]: \"{phase}\" missing or not an object"
                )));
            };
            for (metric, m) in metrics {
                let num = |k: &str| m.get(k).and_then(Value::as_f64);
                rows.push(SeedRow {
                    dim: dim as usize,
                    heads: heads as usize,
                    head_dim: head_dim as usize,
                    seed,
                    phase: phase.into(),
                    metric: metric.clone(),
                    cv: num("cv"),
                    ci_low: num("ci_low"),
                    ci_high: num("ci_high"),
                    null_cv: num("null_cv"),
                    null_sd: num("null_sd"),
                    z: num("z"),
                });
            }
        }
    }
    Ok(rows)
}

/// The settings as `key: value` lines (scalars and short lists).
fn settings_notes(json: &Value) -> Vec<String> {
    let Some(settings) = json.get("settings").and_then(Value::as_object) else {
        return Vec::new();
    };
    let shown: Vec<String> = settings
        .iter()
        .filter(|(_, v)| !v.is_object() && !v.is_null())
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    vec![shown.join(", ")]
}
