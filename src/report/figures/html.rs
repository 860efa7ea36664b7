//! report.html: one self-contained page (no scripts, no external files but the SVGs beside
//! it) with the settings, how to read the numbers, the summary tables and every figure.

use std::fmt::Write;

use super::svg::escape;
use super::{figure_files, FigureInput};
use crate::defaults::{BAND_HIGH, BAND_LOW};
use crate::stats::aggregate::Aggregate;

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:1200px}\
table{border-collapse:collapse;margin:1em 0;font-size:13px}\
td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}\
td.band{outline:2px solid black;font-weight:bold}\
small{color:#555}img{max-width:100%;margin:0.5em 0}";

/// The page.
pub fn report(input: &FigureInput) -> String {
    let mut s = String::new();
    let title = escape(&input.title);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>{title}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
    for note in &input.notes {
        let _ = writeln!(s, "<p><small>{}</small></p>", escape(note));
    }
    let _ = writeln!(
        s,
        "<p>Each cell: the CV (mean over seeds, ± sd when there are several), its 95% interval \
         [bootstrap over the kept volumes; the envelope over seeds], and z = (cv − null_cv) / \
         null_sd, the distance from the CV of random matrices of the same shape in units of one \
         estimate's spread (|z| ≲ 2: indistinguishable from random). Outlined cells lie in the \
         band {BAND_LOW:.2} &lt; CV &lt; {BAND_HIGH:.2} over their whole interval.</p>"
    );

    let _ = writeln!(s, "<h2>Post-training CV</h2>");
    table(&mut s, input, |input, dim, heads, metric| {
        cell(input.get(dim, heads, "post", metric))
    });
    if input.phases().contains(&"pre") {
        let _ = writeln!(s, "<h2>CV movement (post − pre)</h2>");
        table(&mut s, input, |input, dim, heads, metric| {
            let mean = |p| input.get(dim, heads, p, metric).and_then(|r| r.cv_mean);
            match (mean("pre"), mean("post")) {
                (Some(a), Some(b)) => format!("<td>{:+.4}</td>", b - a),
                _ => "<td>N/A</td>".into(),
            }
        });
    }

    let _ = writeln!(s, "<h2>Figures</h2>");
    for metric in &input.metrics {
        let _ = writeln!(s, "<h3 id=\"{0}\">{0}</h3>", escape(metric));
        for file in figure_files(metric) {
            let _ = writeln!(
                s,
                "<img src=\"{}\" alt=\"{}\"/>",
                escape(&file),
                escape(metric)
            );
        }
    }
    s.push_str("</body>\n</html>\n");
    s
}

/// A table of configs × metrics; `cell` gives each `<td>`.
fn table(
    s: &mut String,
    input: &FigureInput,
    cell: impl Fn(&FigureInput, usize, usize, &str) -> String,
) {
    s.push_str("<table>\n<tr><th>D</th><th>heads</th><th>head_dim</th><th>seeds</th>");
    for m in &input.metrics {
        let _ = write!(s, "<th>{}</th>", escape(m));
    }
    s.push_str("</tr>\n");
    for c in input.configs() {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            c.dim, c.heads, c.head_dim, c.n_seeds
        );
        for m in &input.metrics {
            s.push_str(&cell(input, c.dim, c.heads, m));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
}

fn cell(row: Option<&Aggregate>) -> String {
    let Some(r) = row else {
        return "<td>—</td>".into();
    };
    let Some(mean) = r.cv_mean else {
        return "<td>N/A</td>".into();
    };
    let mut text = format!("{mean:.4}");
    if let Some(sd) = r.cv_sd {
        let _ = write!(text, " ± {sd:.4}");
    }
    if let (Some(a), Some(b)) = (r.ci_low, r.ci_high) {
        let _ = write!(text, "<br/><small>[{a:.4}, {b:.4}]</small>");
    }
    if let Some(z) = r.z {
        let _ = write!(text, "<br/><small>z {z:+.1}</small>");
    }
    let class = if r.band { " class=\"band\"" } else { "" };
    format!("<td{class}>{text}</td>")
}
