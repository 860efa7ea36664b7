//! A metric's CV through training, pre → mid → post, one line per config (mean over seeds,
//! with its interval or ± sd as an error bar at each phase).

use super::axes::{legend_entry, max_of, x_tick, YAxis, HEIGHT, LEFT, PLOT_W, WIDTH};
use super::svg::{palette, Svg};
use super::FigureInput;

/// The SVG of `metric`'s trajectories.
pub fn trajectories(input: &FigureInput, metric: &str) -> String {
    let phases = input.phases();
    let configs = input.configs();
    let top = max_of(
        input
            .rows
            .iter()
            .filter(|r| r.metric == metric)
            .flat_map(|r| {
                [
                    r.ci_high,
                    r.cv_mean.zip(r.cv_sd).map(|(m, s)| m + s),
                    r.cv_mean,
                ]
                .into_iter()
                .flatten()
            }),
    );
    let yaxis = YAxis::covering(top);
    let mut svg = Svg::new(WIDTH, HEIGHT);
    yaxis.draw(&mut svg, &format!("{metric}: CV through training"), "phase");
    let x = |i: usize| LEFT + PLOT_W * (i as f64 + 0.5) / phases.len().max(1) as f64;
    for (i, p) in phases.iter().enumerate() {
        x_tick(&mut svg, x(i), p);
    }

    for (k, c) in configs.iter().enumerate() {
        let color = palette(k);
        let jitter = (k as f64 - configs.len() as f64 / 2.0) * 1.5;
        svg.group(&[
            ("class", "series".into()),
            ("data-dim", c.dim.to_string()),
            ("data-heads", c.heads.to_string()),
        ]);
        let mut line = Vec::new();
        for (i, p) in phases.iter().enumerate() {
            let Some(r) = input.get(c.dim, c.heads, p, metric) else {
                continue;
            };
            let Some(m) = r.cv_mean else { continue };
            let px = x(i) + jitter;
            line.push((px, yaxis.y(m)));
            let bar = match (r.ci_low, r.ci_high, r.cv_sd) {
                (Some(a), Some(b), _) => Some((a, b)),
                (_, _, Some(s)) => Some((m - s, m + s)),
                _ => None,
            };
            if let Some((a, b)) = bar {
                svg.line((px, yaxis.y(a)), (px, yaxis.y(b)), color, &[]);
            }
            svg.group(&[("class", "point".into())]);
            svg.title(&format!("D={} heads={} {p}: {m:.4}", c.dim, c.heads));
            svg.circle((px, yaxis.y(m)), 3.0, color, &[]);
            svg.end_group();
        }
        svg.polyline(&line, color, &[("stroke-width", "1.5".into())]);
        svg.end_group();
        legend_entry(
            &mut svg,
            k,
            color,
            false,
            &format!("D={} heads={} (hd {})", c.dim, c.heads, c.head_dim),
        );
    }
    svg.finish()
}
