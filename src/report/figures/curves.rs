//! CV against head_dim (log₂ axis), one colour per D: the measured post-training CV (mean over
//! seeds) with its interval as an error bar (the bootstrap envelope, else ± sd over seeds),
//! and, dashed in the same colour, the null curve: the CV of random matrices of the same
//! shape, with ± null_sd whiskers. Where the two curves meet, the CV says nothing beyond the
//! shape.

use super::axes::{legend_entry, max_of, x_tick, YAxis, HEIGHT, LEFT, PLOT_W, WIDTH};
use super::svg::{palette, Svg};
use super::{distinct, FigureInput};
use crate::stats::aggregate::Aggregate;

/// The SVG of `metric`'s curves (phase post).
pub fn curves(input: &FigureInput, metric: &str) -> String {
    let configs = input.configs();
    let dims = distinct(configs.iter().map(|c| c.dim));
    let hds = distinct(configs.iter().map(|c| c.head_dim));
    let rows: Vec<&Aggregate> = configs
        .iter()
        .filter_map(|c| input.get(c.dim, c.heads, "post", metric))
        .collect();
    let top = max_of(rows.iter().flat_map(|r| {
        [
            r.ci_high,
            r.cv_mean.zip(r.cv_sd).map(|(m, s)| m + s),
            r.cv_mean,
            r.null_cv.zip(r.null_sd).map(|(m, s)| m + s),
        ]
        .into_iter()
        .flatten()
    }));
    let yaxis = YAxis::covering(top);
    let mut svg = Svg::new(WIDTH, HEIGHT);
    yaxis.draw(
        &mut svg,
        &format!("{metric}: post-training CV vs head_dim"),
        "head_dim (log scale)",
    );

    // log₂ head_dim spread over the plot, half a step of margin at each end.
    let (lo, hi) = match (hds.first(), hds.last()) {
        (Some(&a), Some(&b)) => ((a as f64).log2(), (b as f64).log2()),
        _ => (0.0, 1.0),
    };
    let span = (hi - lo).max(1.0);
    let x = |hd: usize| LEFT + PLOT_W * (0.5 + ((hd as f64).log2() - lo)) / (span + 1.0);
    for &hd in &hds {
        x_tick(&mut svg, x(hd), &hd.to_string());
    }

    for (k, &dim) in dims.iter().enumerate() {
        let color = palette(k);
        let mut series: Vec<&Aggregate> = rows.iter().copied().filter(|r| r.dim == dim).collect();
        series.sort_by_key(|r| r.head_dim);
        svg.group(&[("class", "series".into()), ("data-dim", dim.to_string())]);
        let null: Vec<(f64, f64)> = series
            .iter()
            .filter_map(|r| Some((x(r.head_dim), yaxis.y(r.null_cv?))))
            .collect();
        svg.polyline(
            &null,
            color,
            &[("stroke-dasharray", "5,3".into()), ("class", "null".into())],
        );
        for r in &series {
            if let (Some(m), Some(s)) = (r.null_cv, r.null_sd) {
                let px = x(r.head_dim) + 4.0;
                svg.line(
                    (px, yaxis.y(m - s)),
                    (px, yaxis.y(m + s)),
                    color,
                    &[("stroke-opacity", "0.5".into())],
                );
            }
        }
        let measured: Vec<(f64, f64)> = series
            .iter()
            .filter_map(|r| Some((x(r.head_dim), yaxis.y(r.cv_mean?))))
            .collect();
        svg.polyline(&measured, color, &[("stroke-width", "2".into())]);
        for r in &series {
            let Some(m) = r.cv_mean else { continue };
            let px = x(r.head_dim);
            let bar = match (r.ci_low, r.ci_high, r.cv_sd) {
                (Some(a), Some(b), _) => Some((a, b)),
                (_, _, Some(s)) => Some((m - s, m + s)),
                _ => None,
            };
            if let Some((a, b)) = bar {
                svg.line(
                    (px, yaxis.y(a)),
                    (px, yaxis.y(b)),
                    color,
                    &[("stroke-width", "1.5".into())],
                );
            }
            let label = format!(
                "D={} heads={} head_dim={}: {m:.4}",
                r.dim, r.heads, r.head_dim
            );
            svg.group(&[("class", "point".into())]);
            svg.title(&label);
            svg.circle((px, yaxis.y(m)), 3.5, color, &[]);
            svg.end_group();
        }
        svg.end_group();
        legend_entry(&mut svg, 2 * k, color, false, &format!("D={dim} measured"));
        legend_entry(
            &mut svg,
            2 * k + 1,
            color,
            true,
            &format!("D={dim} null (random)"),
        );
    }
    svg.finish()
}
