//! Heatmap of a metric's post-training CV over D (rows) × heads (columns): one cell per config,
//! coloured by the mean CV over seeds (viridis, scaled to the metric's range), labelled with
//! the value, its interval (or ± sd over seeds) and z; cells that pass the band rule are
//! outlined in black.

use super::svg::{text_on, viridis, Svg};
use super::{distinct, FigureInput};
use crate::defaults::{BAND_HIGH, BAND_LOW};
use crate::stats::aggregate::Aggregate;

const CELL_W: f64 = 110.0;
const CELL_H: f64 = 64.0;
const LEFT: f64 = 80.0;
const TOP: f64 = 84.0;
const LEGEND_W: f64 = 150.0;

/// The SVG of `metric`'s heatmap (phase post).
pub fn heatmap(input: &FigureInput, metric: &str) -> String {
    let configs = input.configs();
    let dims = distinct(configs.iter().map(|c| c.dim));
    let heads = distinct(configs.iter().map(|c| c.heads));
    let width = LEFT + CELL_W * heads.len() as f64 + LEGEND_W;
    let height = TOP + CELL_H * dims.len() as f64 + 40.0;
    let mut svg = Svg::new(width, height);

    let values: Vec<f64> = configs
        .iter()
        .filter_map(|c| input.get(c.dim, c.heads, "post", metric)?.cv_mean)
        .collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let scale = |v: f64| if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };

    svg.text(
        (LEFT, 24.0),
        &format!("{metric}: post-training CV"),
        16.0,
        "start",
        &[("font-weight", "bold".into())],
    );
    svg.text(
        (LEFT + CELL_W * heads.len() as f64 / 2.0, TOP - 28.0),
        "heads",
        13.0,
        "middle",
        &[],
    );
    svg.text(
        (20.0, TOP + CELL_H * dims.len() as f64 / 2.0),
        "D",
        13.0,
        "middle",
        &[],
    );
    for (j, h) in heads.iter().enumerate() {
        svg.text(
            (LEFT + CELL_W * (j as f64 + 0.5), TOP - 8.0),
            &h.to_string(),
            12.0,
            "middle",
            &[],
        );
    }
    for (i, d) in dims.iter().enumerate() {
        svg.text(
            (LEFT - 8.0, TOP + CELL_H * (i as f64 + 0.5) + 4.0),
            &d.to_string(),
            12.0,
            "end",
            &[],
        );
    }

    for c in &configs {
        let i = dims.iter().position(|d| *d == c.dim).unwrap_or(0) as f64;
        let j = heads.iter().position(|h| *h == c.heads).unwrap_or(0) as f64;
        let (x, y) = (LEFT + CELL_W * j, TOP + CELL_H * i);
        let row = input.get(c.dim, c.heads, "post", metric);
        let band = row.is_some_and(|r| r.band);
        let class = if band { "cell band" } else { "cell" };
        svg.group(&[
            ("class", class.into()),
            ("data-dim", c.dim.to_string()),
            ("data-heads", c.heads.to_string()),
        ]);
        svg.title(&tooltip(metric, c.dim, c.heads, c.head_dim, row));
        let mean = row.and_then(|r| r.cv_mean);
        let (fill, ink) = match mean {
            Some(v) => (viridis(scale(v)), text_on(scale(v))),
            None => ("#dddddd".to_string(), "black"),
        };
        svg.rect(
            x + 1.0,
            y + 1.0,
            CELL_W - 2.0,
            CELL_H - 2.0,
            &[("fill", fill)],
        );
        if band {
            svg.rect(
                x + 2.5,
                y + 2.5,
                CELL_W - 5.0,
                CELL_H - 5.0,
                &[
                    ("fill", "none".into()),
                    ("stroke", "black".into()),
                    ("stroke-width", "3".into()),
                ],
            );
        }
        let lines = cell_lines(row, c.head_dim);
        for (k, line) in lines.iter().enumerate() {
            let size = if k == 0 { 14.0 } else { 10.0 };
            let dy = 20.0 + 14.0 * k as f64;
            svg.text(
                (x + CELL_W / 2.0, y + dy),
                line,
                size,
                "middle",
                &[("fill", ink.into())],
            );
        }
        svg.end_group();
    }

    legend(
        &mut svg,
        LEFT + CELL_W * heads.len() as f64 + 20.0,
        TOP,
        lo,
        hi,
    );
    svg.text(
        (LEFT, height - 14.0),
        &format!("outlined: whole interval inside {BAND_LOW:.2} < CV < {BAND_HIGH:.2}"),
        11.0,
        "start",
        &[],
    );
    svg.finish()
}

/// The value, its spread and z, as short lines.
fn cell_lines(row: Option<&Aggregate>, head_dim: usize) -> Vec<String> {
    let Some(r) = row else {
        return vec!["—".into(), format!("hd {head_dim}")];
    };
    let Some(mean) = r.cv_mean else {
        return vec!["N/A".into(), format!("hd {head_dim}")];
    };
    let mut lines = vec![format!("{mean:.4}")];
    match (r.ci_low, r.ci_high, r.cv_sd) {
        (Some(a), Some(b), _) => lines.push(format!("[{a:.3}, {b:.3}]")),
        (_, _, Some(sd)) => lines.push(format!("± {sd:.4}")),
        _ => {}
    }
    let z = r.z.map_or(String::new(), |z| format!("  z {z:+.1}"));
    let partial = if r.n_valid < r.n_seeds {
        format!("  {}/{} seeds", r.n_valid, r.n_seeds)
    } else {
        String::new()
    };
    lines.push(format!("hd {head_dim}{z}{partial}"));
    lines
}

fn tooltip(
    metric: &str,
    dim: usize,
    heads: usize,
    head_dim: usize,
    row: Option<&Aggregate>,
) -> String {
    let mut t = format!("{metric} D={dim} heads={heads} head_dim={head_dim}");
    if let Some(r) = row {
        let f = |x: Option<f64>| x.map_or("n/a".into(), |v| format!("{v:.4}"));
        t.push_str(&format!(
            ": cv {} (sd {}, {} of {} seeds), interval [{}, {}], null {} ± {}, z {}",
            f(r.cv_mean),
            f(r.cv_sd),
            r.n_valid,
            r.n_seeds,
            f(r.ci_low),
            f(r.ci_high),
            f(r.null_cv),
            f(r.null_sd),
            r.z.map_or("n/a".into(), |z| format!("{z:+.2}"))
        ));
    }
    t
}

/// A vertical colour bar from lo (bottom) to hi (top).
fn legend(svg: &mut Svg, x: f64, y: f64, lo: f64, hi: f64) {
    const STEPS: usize = 20;
    let h = 8.0;
    for k in 0..STEPS {
        let t = 1.0 - k as f64 / (STEPS - 1) as f64;
        svg.rect(x, y + h * k as f64, 18.0, h, &[("fill", viridis(t))]);
    }
    let label = |v: f64| {
        if v.is_finite() {
            format!("{v:.3}")
        } else {
            "n/a".into()
        }
    };
    svg.text((x + 24.0, y + 8.0), &label(hi), 11.0, "start", &[]);
    svg.text(
        (x + 24.0, y + h * STEPS as f64),
        &label(lo),
        11.0,
        "start",
        &[],
    );
    svg.text((x, y - 8.0), "CV", 11.0, "start", &[]);
}
