//! The prototype's printed output, in its exact layout: a header, per config the pre / mid /
//! post lists, then three summary tables. With several seeds, the config header and the table
//! rows gain the seed (the only departure, and only then).

use std::fmt::Write;

use super::fmt::{fixed, fmt_cv, fmt_delta, percent, signed4};
use crate::defaults::{BAND_HIGH, BAND_LOW};
use crate::experiment::result::{ConfigResult, Phase};

const RULE: usize = 70;

/// The two lines the prototype prints first.
pub fn header() -> String {
    format!("MHA CV Relational Test — Prototype\nBand: {BAND_LOW:.2} < CV < {BAND_HIGH:.2}\n")
}

/// One config's block: `[pre-train]`, `[epoch N]` (when measured) and `[post-train]` with Δ.
pub fn config_block(r: &ConfigResult, show_seed: bool) -> String {
    let mut s = String::new();
    let seed = if show_seed {
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

    let _ = writeln!(s, "\n  [pre-train]");
    for (name, m) in &r.pre.0 {
        let _ = writeln!(s, "    {name:<16}: {}", fmt_cv(m.cv));
    }
    if let (Some(mid), Some(epoch)) = (&r.mid, r.mid_epoch) {
        let _ = writeln!(s, "\n  [epoch {epoch}] {}", loss_acc(r, Phase::Mid));
        for (name, m) in &mid.0 {
            let _ = writeln!(s, "    {name:<16}: {}", fmt_cv(m.cv));
        }
    }
    let _ = writeln!(s, "\n  [post-train] {}", loss_acc(r, Phase::Post));
    for (name, m) in &r.post.0 {
        let delta = match (m.cv, r.pre.cv(name)) {
            (Some(v), Some(p)) => format!("  Δ={}", signed4(v - p)),
            _ => String::new(),
        };
        let _ = writeln!(s, "    {name:<16}: {}{delta}", fmt_cv(m.cv));
    }
    s
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

/// The three summary tables, as the prototype prints them after the last config.
pub fn summaries(results: &[ConfigResult], show_seed: bool) -> String {
    let mut s = String::new();
    table(
        &mut s,
        &["SUMMARY: Post-training WEIGHT CV by head_dim"],
        &WEIGHT_COLUMNS,
        80,
        results,
        show_seed,
        Cells::PostCv,
    );
    table(
        &mut s,
        &[
            "SUMMARY: Post-training ACTIVATION CV by head_dim",
            "(These measure the space where attention actually operates)",
        ],
        &ACTIVATION_COLUMNS,
        90,
        results,
        show_seed,
        Cells::PostCv,
    );
    table(
        &mut s,
        &["SUMMARY: ACTIVATION CV movement (post - pre)"],
        &ACTIVATION_COLUMNS,
        80,
        results,
        show_seed,
        Cells::Movement,
    );
    s
}

/// What a table's cells show: the post-training CV (with an accuracy column) or post − pre.
#[derive(Clone, Copy, PartialEq)]
enum Cells {
    PostCv,
    Movement,
}

fn table(
    s: &mut String,
    titles: &[&str],
    columns: &[Column],
    dashes: usize,
    results: &[ConfigResult],
    show_seed: bool,
    cells: Cells,
) {
    let rule = "=".repeat(RULE);
    let _ = writeln!(s, "\n\n{rule}");
    for t in titles {
        let _ = writeln!(s, "{t}");
    }
    let _ = writeln!(s, "{rule}");

    let seed_head = if show_seed {
        format!(" {:>5}", "seed")
    } else {
        String::new()
    };
    let mut head = format!("{:>5} {:>5} {:>5}{seed_head} |", "D", "heads", "hdim");
    for c in columns {
        let _ = write!(head, " {:>8}", c.label);
    }
    if cells == Cells::PostCv {
        head.push_str(" | acc");
    }
    let _ = writeln!(s, "{head}\n{}", "-".repeat(dashes));

    for r in results {
        let seed = if show_seed {
            format!(" {:>5}", r.seed)
        } else {
            String::new()
        };
        let mut row = format!("{:>5} {:>5} {:>5}{seed} |", r.dim, r.heads, r.head_dim);
        for c in columns {
            let cell = match cells {
                Cells::PostCv => fmt_cv(r.post.cv(c.metric)),
                Cells::Movement => fmt_delta(r.pre.cv(c.metric), r.post.cv(c.metric)),
            };
            let _ = write!(row, " {cell:>8}");
        }
        if cells == Cells::PostCv {
            let _ = write!(row, " | {}", percent(r.acc));
        }
        let _ = writeln!(s, "{row}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::result::tests::sample;

    #[test]
    fn config_block_has_the_prototype_layout() {
        let text = config_block(&sample(64, 1, 42), false);
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
        let text = summaries(&[sample(64, 1, 42), sample(128, 8, 42)], false);
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
    fn seeds_are_shown_only_when_asked() {
        let text = summaries(&[sample(64, 1, 43)], true);
        assert!(text.contains("    D heads  hdim  seed |      emb"));
        assert!(text.contains("   64     1    64    43 | *0.1550*"));
        assert!(
            config_block(&sample(64, 1, 43), true).contains("D=64 heads=1 head_dim=64 seed=43\n")
        );
    }
}
