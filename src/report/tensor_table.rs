//! The output of `mha-cv cv`: a table per file (or JSON).

use std::fmt::Write;

use super::fmt::{fixed, fmt_cv};
use crate::experiment::tensor_cv::TensorCv;
use crate::io::fmt_shape;

/// One section per file: tensor, stored shape, the matrix measured, CV (band-marked as the
/// prototype does), ± the half-width of its 95% interval, the null baseline of its shape with
/// its sd, z, volumes kept, and a note (how the tensor was read, or why not measured).
pub fn table(lines: &[TensorCv]) -> String {
    let cells: Vec<[String; COLS]> = lines.iter().map(cells).collect();
    let head = [
        "tensor", "shape", "matrix", "cv", "±95%", "null", "z", "valid", "note",
    ]
    .map(String::from);
    let width = |k: usize| {
        cells
            .iter()
            .chain([&head])
            .map(|c| c[k].chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..COLS - 1).map(width).collect();
    let row = |c: &[String; COLS]| {
        let mut text = String::new();
        for (k, w) in widths.iter().enumerate() {
            // Names and shapes read left to right; numbers line up on the right.
            if k < 2 {
                let _ = write!(text, "  {:<w$}", c[k]);
            } else {
                let _ = write!(text, "  {:>w$}", c[k]);
            }
        }
        let _ = write!(text, "  {}", c[COLS - 1]);
        text.trim_end().to_string()
    };
    let mut s = String::new();
    let mut file: Option<&str> = None;
    for (l, c) in lines.iter().zip(&cells) {
        if file != Some(l.file.as_str()) {
            if file.is_some() {
                s.push('\n');
            }
            let _ = writeln!(s, "{}\n{}", l.file, row(&head));
            file = Some(&l.file);
        }
        let _ = writeln!(s, "{}", row(c));
    }
    s
}

const COLS: usize = 9;

/// tensor, shape, matrix, cv, ±, null, z, valid, note.
fn cells(l: &TensorCv) -> [String; COLS] {
    let dash = || "-".to_string();
    let num = |x: Option<f64>, f: fn(f64) -> String| x.map_or_else(dash, f);
    let (matrix, cv, ci, null, z, valid) = match &l.metric {
        Some(m) => (
            format!("{} × {}", m.rows, m.cols),
            fmt_cv(m.cv),
            num(m.ci_half(), |h| format!("±{}", fixed(h, 4))),
            match (m.null_cv, m.null_sd) {
                (Some(c), Some(sd)) => format!("{}±{}", fixed(c, 4), fixed(sd, 4)),
                _ => dash(),
            },
            num(m.z, |z| format!("{z:+.2}")),
            m.valid.to_string(),
        ),
        None => (dash(), dash(), dash(), dash(), dash(), dash()),
    };
    let note = match (&l.note, l.metric.as_ref().and_then(|m| m.reason)) {
        (Some(n), _) => n.clone(),
        (None, Some(r)) => r.as_str().to_string(),
        (None, None) => String::new(),
    };
    [
        l.tensor.clone(),
        fmt_shape(&l.shape),
        matrix,
        cv,
        ci,
        null,
        z,
        valid,
        note,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::result::{Metric, Reason};

    #[test]
    fn rows_show_matrix_cv_and_notes() {
        let m = |cv: Option<f64>, reason| {
            Some(Metric {
                rows: 256,
                cols: 64,
                cv,
                valid: 300,
                reason,
                ci_low: cv.map(|c| c - 0.01),
                ci_high: cv.map(|c| c + 0.01),
                null_cv: cv.map(|_| 0.1166),
                null_sd: cv.map(|_| 0.0071),
                z: cv.map(|c| (c - 0.1166) / 0.0071),
            })
        };
        let lines = vec![
            TensorCv {
                file: "a.safetensors".into(),
                tensor: "emb.weight".into(),
                shape: vec![256, 64],
                dtype: "F32".into(),
                metric: m(Some(0.1585), None),
                note: None,
            },
            TensorCv {
                file: "a.safetensors".into(),
                tensor: "bias".into(),
                shape: vec![64],
                dtype: "F32".into(),
                metric: None,
                note: Some("rank 1: not a matrix, not measured".into()),
            },
            TensorCv {
                file: "b.npy".into(),
                tensor: "b".into(),
                shape: vec![256, 64],
                dtype: "F64".into(),
                metric: m(None, Some(Reason::TooFewValid)),
                note: None,
            },
        ];
        let text = table(&lines);
        let expected = "\
a.safetensors
  tensor      shape        matrix        cv     ±95%           null      z  valid  note
  emb.weight  (256, 64)  256 × 64  *0.1585*  ±0.0100  0.1166±0.0071  +5.90    300
  bias        (64)              -         -        -              -      -      -  rank 1: not a matrix, not measured

b.npy
  tensor      shape        matrix        cv     ±95%           null      z  valid  note
  b           (256, 64)  256 × 64     N/A          -              -      -    300  too_few_valid
";
        assert_eq!(text, expected);
    }
}
