//! The prototype's printed output, in its exact layout: a header, per config the pre / mid /
//! post lists, then three summary tables.
//!
//! Departures, each only when asked for ([`View`]):
//! - several seeds: the config headers gain the seed, and the summary tables aggregate over
//!   seeds (one row per D × heads: mean ± sd of the seeds' values, the band flag only where
//!   the seeds' whole interval lies in the band, `stats::aggregate`);
//! - `--ci`: ± the half-width of each value's 95% interval, the band flag only where the whole
//!   interval lies in the band; `--z`: z against the null baseline. Either also lists the extra
//!   metrics (`act_attn_h{i}`) after the prototype's in each config's lists, and adds a legend.

use std::fmt::Write;

use super::fmt::{ci_part, fixed, flagged, fmt_cv, in_band, percent, signed4, z_part, NA};
use super::rows::{movement_rows, seed_rows};
use crate::defaults::{BAND_HIGH, BAND_LOW};
use crate::error::Result;
use crate::experiment::result::{ConfigResult, Metric, Phase};
use crate::metrics::metric_names;
use crate::stats::aggregate::{aggregate, interval_in_band, Aggregate};

const RULE: usize = 70;

/// What the printed output shows beyond the prototype's layout (all false: exactly it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct View {
    /// Several seeds: seeds in the config headers, summaries aggregated over seeds.
    pub seeds: bool,
    /// ± interval half-widths, and the interval band rule.
    pub ci: bool,
    /// z against the null baseline.
    pub z: bool,
}

impl View {
    /// Intervals or z are shown: the annotated lists (with the extra metrics).
    fn annotated(self) -> bool {
        self.ci || self.z
    }

    /// The prototype's table layout: fixed 8-wide cells, one row per config.
    fn prototype(self) -> bool {
        !self.annotated() && !self.seeds
    }
}

/// The two lines the prototype prints first.
pub fn header() -> String {
    format!("MHA CV Relational Test — Prototype\nBand: {BAND_LOW:.2} < CV < {BAND_HIGH:.2}\n")
}

/// One config's block: `[pre-train]`, `[epoch N]` (when measured) and `[post-train]` with Δ.
pub fn config_block(r: &ConfigResult, view: View) -> String {
    let mut s = String::new();
    let seed = if view.seeds {
        format!(" seed={}", r.seed)
    } else {
        String::new()
    };
    let rule = "=".repeat(RULE);
    let _ = writeln!(
        s,
        "\n{rule}\nD={} heads={} head_dim={}{seed}\n{rule}",
        r.dim, r.heads, r.head_dim
    );
    // The prototype's metrics; the extra ones too in the annotated view.
    let prototype = metric_names(r.heads, true);
    let shown = |name: &str| view.annotated() || prototype.iter().any(|p| p == name);

    let _ = writeln!(s, "\n  [pre-train]");
    // The annotated lines pad missing parts for alignment; no blanks at their ends.
    let line = |s: &mut String, text: String| {
        let text = if view.annotated() {
            text.trim_end()
        } else {
            &text
        };
        let _ = writeln!(s, "{text}");
    };
    for (name, m) in r.pre.0.iter().filter(|(n, _)| shown(n)) {
        line(&mut s, format!("    {name:<16}: {}", list_cell(m, view)));
    }
    if let (Some(mid), Some(epoch)) = (&r.mid, r.mid_epoch) {
        let _ = writeln!(s, "\n  [epoch {epoch}] {}", loss_acc(r, Phase::Mid));
        for (name, m) in mid.0.iter().filter(|(n, _)| shown(n)) {
            line(&mut s, format!("    {name:<16}: {}", list_cell(m, view)));
        }
    }
    let _ = writeln!(s, "\n  [post-train] {}", loss_acc(r, Phase::Post));
    for (name, m) in r.post.0.iter().filter(|(n, _)| shown(n)) {
        let delta = match (m.cv, r.pre.cv(name)) {
            (Some(v), Some(p)) => format!("  Δ={}", signed4(v - p)),
            _ => String::new(),
        };
        line(
            &mut s,
            format!("    {name:<16}: {}{delta}", list_cell(m, view)),
        );
    }
    s
}

/// A value in a config's list: the prototype's `fmt_cv`, or in the annotated view the value
/// (flagged by the interval rule with `--ci`), ± and z, in aligned columns.
fn list_cell(m: &Metric, view: View) -> String {
    if !view.annotated() {
        return fmt_cv(m.cv);
    }
    let band = m.cv.is_some_and(|cv| match (view.ci, m.ci_low, m.ci_high) {
        (true, Some(lo), Some(hi)) => interval_in_band(lo, hi),
        _ => in_band(cv),
    });
    let mut cell = match m.cv {
        Some(cv) => flagged(&fixed(cv, 4), band),
        None => format!("{NA} "),
    };
    if view.ci {
        cell += &ci_part(m.cv.and(m.ci_half()));
    }
    if view.z {
        cell += &z_part(m.z);
    }
    cell
}

fn loss_acc(r: &ConfigResult, phase: Phase) -> String {
    let loss = r.loss_at(phase).map_or("nan".into(), |l| fixed(l, 4));
    let acc = r.acc_at(phase).map_or("nan".into(), percent);
    format!("loss={loss} acc={acc}")
}

/// A summary column: its printed label and the metric it shows.
struct Column {
    label: &'static str,
    metric: &'static str,
}

const fn col(label: &'static str, metric: &'static str) -> Column {
    Column { label, metric }
}

const WEIGHT_COLUMNS: [Column; 5] = [
    col("emb", "emb"),
    col("Q_full", "Q_full"),
    col("K_full", "K_full"),
    col("V_full", "V_full"),
    col("out", "out_proj"),
];

const ACTIVATION_COLUMNS: [Column; 6] = [
    col("act_emb", "act_emb"),
    col("aQ_h0", "act_Q_h0"),
    col("aK_h0", "act_K_h0"),
    col("aV_h0", "act_V_h0"),
    col("aPost0", "act_post_h0"),
    col("act_full", "act_post_full"),
];

/// The metrics the summary tables show (every one is also in each config's lists).
pub fn summary_metrics() -> impl Iterator<Item = &'static str> {
    WEIGHT_COLUMNS
        .iter()
        .chain(&ACTIVATION_COLUMNS)
        .map(|c| c.metric)
}

/// The three summary tables, as the prototype prints them after the last config. Err when a
/// config × seed appears twice in `results`.
pub fn summaries(results: &[ConfigResult], view: View) -> Result<String> {
    // Per-seed rows aggregated over seeds: with one seed each aggregate is that seed's value.
    let post: Vec<Aggregate> = aggregate(&seed_rows(results))?
        .into_iter()
        .filter(|a| a.phase == Phase::Post.as_str())
        .collect();
    let movement = aggregate(&movement_rows(results))?;
    let configs = configs(results);
    let mut s = String::new();
    let legend = legend(view, results);
    table(
        &mut s,
        &["SUMMARY: Post-training WEIGHT CV by head_dim"],
        &legend,
        &WEIGHT_COLUMNS,
        80,
        &configs,
        &post,
        Cells::PostCv(view),
    );
    table(
        &mut s,
        &[
            "SUMMARY: Post-training ACTIVATION CV by head_dim",
            "(These measure the space where attention actually operates)",
        ],
        &legend,
        &ACTIVATION_COLUMNS,
        90,
        &configs,
        &post,
        Cells::PostCv(view),
    );
    table(
        &mut s,
        &["SUMMARY: ACTIVATION CV movement (post - pre)"],
        &legend_movement(view, results),
        &ACTIVATION_COLUMNS,
        80,
        &configs,
        &movement,
        Cells::Movement(view),
    );
    Ok(s)
}

/// A summary row: D × heads with the mean accuracy over its seeds.
struct ConfigRow {
    dim: usize,
    heads: usize,
    head_dim: usize,
    acc: f64,
}

/// The configs of `results` in their order, seeds folded together.
fn configs(results: &[ConfigResult]) -> Vec<ConfigRow> {
    let mut out: Vec<(ConfigRow, usize)> = Vec::new();
    for r in results {
        match out
            .iter_mut()
            .find(|(c, _)| (c.dim, c.heads) == (r.dim, r.heads))
        {
            Some((c, n)) => {
                c.acc += r.acc;
                *n += 1;
            }
            None => out.push((
                ConfigRow {
                    dim: r.dim,
                    heads: r.heads,
                    head_dim: r.head_dim,
                    acc: r.acc,
                },
                1,
            )),
        }
    }
    out.into_iter()
        .map(|(c, n)| ConfigRow {
            acc: if n == 1 { c.acc } else { c.acc / n as f64 },
            ..c
        })
        .collect()
}

/// How many seeds the results hold per config (the largest count).
fn seed_count(results: &[ConfigResult]) -> usize {
    configs(results)
        .iter()
        .map(|c| {
            results
                .iter()
                .filter(|r| (r.dim, r.heads) == (c.dim, c.heads))
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// Lines under the title that say what the cells hold (none in the prototype's layout).
fn legend(view: View, results: &[ConfigResult]) -> Vec<String> {
    let mut out = Vec::new();
    if view.seeds {
        out.push(format!(
            "(mean ± sd over {} seeds, (k/n) when only k have a value; acc: mean)",
            seed_count(results)
        ));
    }
    if view.ci {
        out.push(if view.seeds {
            "([low,high]: envelope of the seeds' 95% intervals)".to_string()
        } else {
            "(± half-width of the 95% bootstrap interval)".to_string()
        });
    }
    if view.z {
        out.push("(z = (cv - null_cv) / null_sd against random matrices of the same shape)".into());
    }
    if view.seeds || view.ci {
        out.push(format!(
            "(* only where the whole interval lies in {BAND_LOW:.2} < CV < {BAND_HIGH:.2})"
        ));
    }
    out
}

fn legend_movement(view: View, results: &[ConfigResult]) -> Vec<String> {
    if view.seeds {
        vec![format!(
            "(mean ± sd over {} seeds of each seed's post - pre)",
            seed_count(results)
        )]
    } else {
        Vec::new()
    }
}

/// What a table's cells show: the post-training CV (with an accuracy column) or post − pre.
#[derive(Clone, Copy, PartialEq)]
enum Cells {
    PostCv(View),
    Movement(View),
}

impl Cells {
    fn view(self) -> View {
        match self {
            Cells::PostCv(v) | Cells::Movement(v) => v,
        }
    }

    fn cell(self, a: Option<&Aggregate>) -> String {
        let Some((a, mean)) = a.and_then(|a| Some((a, a.cv_mean?))) else {
            return NA.into();
        };
        let view = self.view();
        let mut value = match self {
            Cells::PostCv(_) => fixed(mean, 4),
            Cells::Movement(_) => signed4(mean),
        };
        if view.seeds {
            if let Some(sd) = a.cv_sd {
                value += &format!("±{}", fixed(sd, 4));
            }
            if a.n_valid < a.n_seeds {
                value += &format!(" ({}/{})", a.n_valid, a.n_seeds);
            }
        }
        let Cells::PostCv(_) = self else {
            return value;
        };
        if !view.seeds && view.ci {
            if let (Some(lo), Some(hi)) = (a.ci_low, a.ci_high) {
                value += &format!("±{}", fixed((hi - lo) / 2.0, 4));
            }
        }
        // The prototype's point rule unless intervals (or seeds) are in play.
        let band = if view.seeds || view.ci {
            a.band
        } else {
            in_band(mean)
        };
        let mut cell = flagged(&value, band);
        if view.seeds && view.ci {
            if let (Some(lo), Some(hi)) = (a.ci_low, a.ci_high) {
                cell += &format!(" [{},{}]", fixed(lo, 4), fixed(hi, 4));
            }
        }
        if view.z {
            cell += &z_part(a.z);
        }
        cell
    }
}

#[allow(clippy::too_many_arguments)]
fn table(
    s: &mut String,
    titles: &[&str],
    legend: &[String],
    columns: &[Column],
    dashes: usize,
    configs: &[ConfigRow],
    aggs: &[Aggregate],
    cells: Cells,
) {
    let rule = "=".repeat(RULE);
    let _ = writeln!(s, "\n\n{rule}");
    for t in titles
        .iter()
        .copied()
        .chain(legend.iter().map(String::as_str))
    {
        let _ = writeln!(s, "{t}");
    }
    let _ = writeln!(s, "{rule}");

    let find = |c: &ConfigRow, metric: &str| {
        aggs.iter()
            .find(|a| (a.dim, a.heads, a.metric.as_str()) == (c.dim, c.heads, metric))
    };
    let grid: Vec<Vec<String>> = configs
        .iter()
        .map(|c| {
            columns
                .iter()
                .map(|col| cells.cell(find(c, col.metric)))
                .collect()
        })
        .collect();
    // The prototype's fixed 8-wide cells, or as wide as the widest cell of the column.
    let prototype = cells.view().prototype();
    let widths: Vec<usize> = (0..columns.len())
        .map(|k| {
            let widest = grid.iter().map(|row| row[k].chars().count()).max();
            if prototype {
                8
            } else {
                widest.unwrap_or(0).max(8)
            }
        })
        .collect();
    let post = matches!(cells, Cells::PostCv(_));

    let mut head = format!("{:>5} {:>5} {:>5} |", "D", "heads", "hdim");
    for (c, w) in columns.iter().zip(&widths) {
        let _ = write!(head, " {:>w$}", c.label);
    }
    if post {
        head.push_str(" | acc");
    }
    let rows: Vec<String> = configs
        .iter()
        .zip(&grid)
        .map(|(c, row_cells)| {
            let mut row = format!("{:>5} {:>5} {:>5} |", c.dim, c.heads, c.head_dim);
            for (cell, w) in row_cells.iter().zip(&widths) {
                let _ = write!(row, " {cell:>w$}");
            }
            if post {
                let _ = write!(row, " | {}", percent(c.acc));
            }
            row
        })
        .collect();
    // The prototype's rule length, or as long as the widest line.
    let dashes = if prototype {
        dashes
    } else {
        rows.iter()
            .chain([&head])
            .map(|l| l.chars().count())
            .fold(dashes, usize::max)
    };
    let _ = writeln!(s, "{head}\n{}", "-".repeat(dashes));
    for row in rows {
        let _ = writeln!(s, "{row}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::result::tests::{sample, sample_with_stats};

    #[test]
    fn config_block_has_the_prototype_layout() {
        let text = config_block(&sample(64, 1, 42), View::default());
        let expected = "\n\
======================================================================\n\
D=64 heads=1 head_dim=64\n\
======================================================================\n\
\n  [pre-train]\n\
\x20   emb             : *0.1585*\n\
\x20   Q_full          :  0.1228 \n\
\x20   act_Q_h0        :   N/A  \n\
\x20   act_emb         :  0.3000 \n\
\n  [epoch 2] loss=2.2500 acc=96.80%\n\
\x20   emb             : *0.1685*\n\
\x20   Q_full          : *0.1328*\n\
\x20   act_Q_h0        :   N/A  \n\
\x20   act_emb         :  0.3100 \n\
\n  [post-train] loss=1.5000 acc=98.80%\n\
\x20   emb             : *0.1550*  Δ=-0.0035\n\
\x20   Q_full          :  0.1193   Δ=-0.0035\n\
\x20   act_Q_h0        :   N/A  \n\
\x20   act_emb         : *0.2965*  Δ=-0.0035\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn summary_rows_align_with_the_prototype_header() {
        let text = summaries(&[sample(64, 1, 42), sample(128, 8, 42)], View::default()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0..2], ["", ""]);
        assert_eq!(lines[3], "SUMMARY: Post-training WEIGHT CV by head_dim");
        assert_eq!(
            lines[5],
            "    D heads  hdim |      emb   Q_full   K_full   V_full      out | acc"
        );
        assert_eq!(lines[6], "-".repeat(80));
        // K_full, V_full and out_proj are absent from the sample: N/A, right-aligned in 8.
        assert_eq!(
            lines[7],
            "   64     1    64 | *0.1550*  0.1193     N/A      N/A      N/A   | 98.80%"
        );
        assert_eq!(
            lines[8],
            "  128     8    16 | *0.1550*  0.1193     N/A      N/A      N/A   | 98.80%"
        );
        let movement = lines.iter().position(|l| l.contains("movement")).unwrap();
        assert_eq!(
            lines[movement + 2],
            "    D heads  hdim |  act_emb    aQ_h0    aK_h0    aV_h0   aPost0 act_full"
        );
        assert_eq!(
            lines[movement + 4],
            "   64     1    64 |  -0.0035    N/A      N/A      N/A      N/A      N/A  "
        );
        assert_eq!(*lines.last().unwrap(), lines[movement + 5]);
    }

    #[test]
    fn the_prototype_view_ignores_intervals_and_extra_metrics() {
        // Stats fields and an extra metric change nothing without --ci / --z.
        let mut r = sample_with_stats(64, 1, 42);
        for p in [&mut r.pre, &mut r.post] {
            p.0.push(("act_attn_h0".into(), p.0[0].1.clone()));
        }
        let plain = sample(64, 1, 42);
        assert_eq!(
            config_block(&r, View::default()),
            config_block(&plain, View::default())
        );
        assert_eq!(
            summaries(&[r], View::default()).unwrap(),
            summaries(&[plain], View::default()).unwrap()
        );
    }

    #[test]
    fn ci_and_z_annotate_lists_and_tables() {
        let mut r = sample_with_stats(64, 1, 42);
        // An interval reaching past the band's low end: no flag with --ci, one without.
        let emb = &mut r.post.0[0].1;
        emb.ci_low = Some(0.125);
        r.post.0.push(("act_attn_h0".into(), r.post.0[1].1.clone()));
        let view = View {
            ci: true,
            z: true,
            ..View::default()
        };
        let block = config_block(&r, view);
        let post = &block[block.find("[post-train]").unwrap()..];
        let lines: Vec<&str> = post.lines().collect();
        // emb: cv 0.1550, interval [0.125, 0.1650] → half 0.02, not in the band.
        assert_eq!(
            lines[1],
            "    emb             :  0.1550  ±0.0200 z=  -0.90  Δ=-0.0035"
        );
        assert_eq!(lines[3], "    act_Q_h0        :   N/A");
        // act_emb: 0.2965 is in the band, its interval [0.2865, 0.3065] is not.
        assert_eq!(
            lines[4],
            "    act_emb         :  0.2965  ±0.0100 z=  +1.93  Δ=-0.0035"
        );
        assert!(
            lines[5].starts_with("    act_attn_h0     :  0.1193 "),
            "{}",
            lines[5]
        );

        let text = summaries(&[r], view).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[4], "(± half-width of the 95% bootstrap interval)");
        assert_eq!(
            lines[8],
            "    D heads  hdim |                       emb                    Q_full   K_full   V_full      out | acc"
        );
        assert_eq!(lines[9], "-".repeat(107), "as long as the row");
        assert_eq!(
            lines[10],
            "   64     1    64 |  0.1550±0.0200  z=  -0.90  0.1193±0.0100  z=  -1.61    N/A      N/A      N/A   | 98.80%"
        );
        // Without --ci the flag is the prototype's point rule again.
        let z_only = summaries(
            &[sample_with_stats(64, 1, 42)],
            View {
                z: true,
                ..View::default()
            },
        )
        .unwrap();
        assert!(z_only.contains("*0.1550* z=  -0.90"), "{z_only}");
    }

    #[test]
    fn several_seeds_aggregate_into_one_row_per_config() {
        let mut a = sample_with_stats(64, 1, 42);
        let mut b = sample_with_stats(64, 1, 43);
        a.post.0[0].1.cv = Some(0.16);
        b.post.0[0].1.cv = Some(0.18);
        b.acc = 0.5;
        let view = View {
            seeds: true,
            ..View::default()
        };
        let text = summaries(&[a.clone(), b.clone()], view).unwrap();
        let row = text
            .lines()
            .find(|l| l.starts_with("   64     1    64 |"))
            .unwrap();
        // emb: mean 0.17, sd √((0.01² + 0.01²)/1) = 0.0141; the envelope [0.1450, 0.1650] of
        // the stored intervals (cv ± 0.01 around 0.155) lies in the band. acc: (0.988 + 0.5)/2.
        assert!(
            row.starts_with("   64     1    64 | *0.1700±0.0141*  0.1193±0.0000 "),
            "{row}"
        );
        assert!(row.ends_with("| 74.40%"), "{row}");
        assert!(text.contains("(mean ± sd over 2 seeds"));
        // One table row per config, and the config headers carry the seed.
        assert_eq!(text.matches("   64     1    64 |").count(), 3);
        assert!(config_block(&b, view).contains("D=64 heads=1 head_dim=64 seed=43\n"));
    }
}
