//! Pictures of a results folder: per summary metric a heatmap over D × heads (band cells
//! outlined), CV against head_dim with intervals and the null curve, and the pre → mid → post
//! trajectories; plus `report.html`, one page embedding them with the summary tables. Plain
//! SVG and HTML written by hand (`svg`): no browser, plotting crate or system library.
//!
//! Input is [`FigureInput`]: aggregated rows (`stats::aggregate`), independent of the sweep's
//! result types; `input` builds it from a results.json.

pub mod axes;
pub mod curves;
pub mod heatmap;
pub mod html;
pub mod input;
pub mod svg;
pub mod trajectories;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::atomic::write_atomic;
use crate::stats::aggregate::Aggregate;

/// The metrics the prototype's summary tables show (as `report::text`), then the true
/// per-head attention output; those present in the data get figures.
pub const SUMMARY_METRICS: [&str; 12] = [
    "emb",
    "Q_full",
    "K_full",
    "V_full",
    "out_proj",
    "act_emb",
    "act_Q_h0",
    "act_K_h0",
    "act_V_h0",
    "act_post_h0",
    "act_post_full",
    "act_attn_h0",
];

/// Everything the figures and the page show.
#[derive(Clone, Debug, PartialEq)]
pub struct FigureInput {
    pub title: String,
    /// Lines under the title (the settings).
    pub notes: Vec<String>,
    /// The metrics that get figures and table columns, in order.
    pub metrics: Vec<String>,
    /// One per config × phase × metric, over seeds.
    pub rows: Vec<Aggregate>,
}

/// One config (D, heads) with its head_dim and seed count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    pub dim: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub n_seeds: usize,
}

impl FigureInput {
    /// `metrics` = the summary metrics present in `rows`.
    pub fn new(title: impl Into<String>, notes: Vec<String>, rows: Vec<Aggregate>) -> Self {
        let metrics = SUMMARY_METRICS
            .iter()
            .filter(|m| rows.iter().any(|r| r.metric == **m))
            .map(|m| m.to_string())
            .collect();
        FigureInput {
            title: title.into(),
            notes,
            metrics,
            rows,
        }
    }

    /// The row of a config × phase × metric.
    pub fn get(&self, dim: usize, heads: usize, phase: &str, metric: &str) -> Option<&Aggregate> {
        self.rows
            .iter()
            .find(|r| r.dim == dim && r.heads == heads && r.phase == phase && r.metric == metric)
    }

    /// The configs, sorted by (D, heads).
    pub fn configs(&self) -> Vec<Config> {
        let mut out: Vec<Config> = Vec::new();
        for r in &self.rows {
            if !out.iter().any(|c| c.dim == r.dim && c.heads == r.heads) {
                out.push(Config {
                    dim: r.dim,
                    heads: r.heads,
                    head_dim: r.head_dim,
                    n_seeds: r.n_seeds,
                });
            }
        }
        out.sort_by_key(|c| (c.dim, c.heads));
        out
    }

    /// The phases present, in pre, mid, post order.
    pub fn phases(&self) -> Vec<&'static str> {
        ["pre", "mid", "post"]
            .into_iter()
            .filter(|p| self.rows.iter().any(|r| r.phase == *p))
            .collect()
    }
}

/// Distinct values, ascending.
pub fn distinct(values: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut v: Vec<usize> = values.collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// A metric name as a file-name part (names are [A-Za-z0-9_] already; anything else → `_`).
pub fn file_part(metric: &str) -> String {
    metric
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The three figure files of a metric, relative to the results folder.
pub fn figure_files(metric: &str) -> [String; 3] {
    let m = file_part(metric);
    [
        format!("figures/heatmap_{m}.svg"),
        format!("figures/curves_{m}.svg"),
        format!("figures/trajectory_{m}.svg"),
    ]
}

/// Writes `dir/figures/*.svg` and `dir/report.html` (each atomically); returns their paths,
/// the page last.
pub fn write_report(dir: &Path, input: &FigureInput) -> Result<Vec<PathBuf>> {
    if input.rows.is_empty() {
        return Err(Error::input(format!(
            "{}: no results to plot; run a sweep into this folder first",
            dir.display()
        )));
    }
    let figures = dir.join("figures");
    std::fs::create_dir_all(&figures).map_err(|e| Error::io(&figures, e))?;
    let mut written = Vec::new();
    for metric in &input.metrics {
        let [heat, curve, traj] = figure_files(metric);
        for (file, svg) in [
            (heat, heatmap::heatmap(input, metric)),
            (curve, curves::curves(input, metric)),
            (traj, trajectories::trajectories(input, metric)),
        ] {
            let path = dir.join(file);
            write_atomic(&path, svg.as_bytes())?;
            written.push(path);
        }
    }
    let page = dir.join("report.html");
    write_atomic(&page, html::report(input).as_bytes())?;
    written.push(page);
    Ok(written)
}

/// `mha-cv plot DIR` and `sweep --plot`: DIR/results.json → figures and report.html.
pub fn plot_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let input = input::from_results_file(&dir.join("results.json"))?;
    write_report(dir, &input)
}
