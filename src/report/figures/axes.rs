//! The frame of a line chart: a plot area, a linear y axis for CV with the band shaded, and
//! the mapping from data to pixels. The x axis is the chart's own business (log₂ head_dim,
//! or phases).

use super::svg::Svg;
use crate::defaults::{BAND_HIGH, BAND_LOW};

pub const LEFT: f64 = 70.0;
pub const TOP: f64 = 50.0;
pub const PLOT_W: f64 = 460.0;
pub const PLOT_H: f64 = 300.0;
/// Room right of the plot for the legend.
pub const LEGEND_W: f64 = 190.0;
pub const WIDTH: f64 = LEFT + PLOT_W + LEGEND_W;
pub const HEIGHT: f64 = TOP + PLOT_H + 60.0;

/// y from 0 to `top` (CV units).
pub struct YAxis {
    pub top: f64,
}

impl YAxis {
    /// An axis reaching a little above `max` (at least 0.35, so the band is always in view).
    pub fn covering(max: f64) -> Self {
        let max = if max.is_finite() { max.max(0.35) } else { 0.35 };
        YAxis {
            top: (max * 1.1 * 20.0).ceil() / 20.0,
        }
    }

    pub fn y(&self, v: f64) -> f64 {
        TOP + PLOT_H * (1.0 - (v / self.top).clamp(0.0, 1.0))
    }

    /// The frame, ticks every 0.05 or 0.1, the band as a grey strip, the title and y label.
    pub fn draw(&self, svg: &mut Svg, title: &str, x_label: &str) {
        svg.text(
            (LEFT, 24.0),
            title,
            15.0,
            "start",
            &[("font-weight", "bold".into())],
        );
        let (band_top, band_bottom) = (self.y(BAND_HIGH), self.y(BAND_LOW));
        svg.rect(
            LEFT,
            band_top,
            PLOT_W,
            band_bottom - band_top,
            &[("fill", "#eeeeee".into())],
        );
        svg.text(
            (LEFT + PLOT_W - 4.0, band_top + 12.0),
            &format!("band {BAND_LOW:.2}–{BAND_HIGH:.2}"),
            10.0,
            "end",
            &[("fill", "#777777".into())],
        );
        svg.rect(
            LEFT,
            TOP,
            PLOT_W,
            PLOT_H,
            &[("fill", "none".into()), ("stroke", "black".into())],
        );
        let step = if self.top > 0.6 { 0.1 } else { 0.05 };
        let ticks = (self.top / step).round() as usize;
        for k in 0..=ticks {
            let v = k as f64 * step;
            let y = self.y(v);
            svg.line((LEFT - 4.0, y), (LEFT, y), "black", &[]);
            svg.text((LEFT - 7.0, y + 4.0), &format!("{v:.2}"), 10.0, "end", &[]);
        }
        svg.text(
            (LEFT + PLOT_W / 2.0, TOP + PLOT_H + 38.0),
            x_label,
            12.0,
            "middle",
            &[],
        );
        svg.text((18.0, TOP + PLOT_H / 2.0), "CV", 12.0, "middle", &[]);
    }
}

/// A legend entry at row `k`: a short line sample (dashed when `dash`) and a label.
pub fn legend_entry(svg: &mut Svg, k: usize, color: &str, dash: bool, label: &str) {
    let x = LEFT + PLOT_W + 16.0;
    let y = TOP + 8.0 + 16.0 * k as f64;
    let mut extra = vec![("stroke-width", "2".to_string())];
    if dash {
        extra.push(("stroke-dasharray", "5,3".into()));
    }
    svg.line((x, y), (x + 22.0, y), color, &extra);
    svg.text((x + 28.0, y + 4.0), label, 11.0, "start", &[]);
}

/// The y axis range a chart needs for these values.
pub fn max_of(values: impl Iterator<Item = f64>) -> f64 {
    values
        .filter(|v| v.is_finite())
        .fold(f64::NEG_INFINITY, f64::max)
}

/// An x tick label under the plot.
pub fn x_tick(svg: &mut Svg, x: f64, label: &str) {
    svg.line((x, TOP + PLOT_H), (x, TOP + PLOT_H + 4.0), "black", &[]);
    svg.text((x, TOP + PLOT_H + 17.0), label, 10.0, "middle", &[]);
}
