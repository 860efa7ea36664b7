//! The output of `mha-cv cv`: a table per file (or JSON).

use std::fmt::Write;

use super::fmt::fmt_cv;
use crate::experiment::tensor_cv::TensorCv;
use crate::io::fmt_shape;

/// One section per file: tensor, stored shape, the matrix measured, CV (band-marked as the
/// prototype does), volumes kept, and a note (how the tensor was read, or why not measured).
pub fn table(lines: &[TensorCv]) -> String {
    let cells: Vec<[String; 6]> = lines.iter().map(cells).collect();
    let head = ["tensor", "shape", "matrix", "cv", "valid", "note"].map(String::from);
    let width = |k: usize| {
        cells
            .iter()
            .chain([&head])
            .map(|c| c[k].chars().count())
            .max()
            .unwrap_or(0)
    };
    let w = [width(0), width(1), width(2), width(3), width(4)];
    let row = |c: &[String; 6]| {
        let text = format!(
            "  {:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {:>w4$}  {}",
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c[5],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3],
            w4 = w[4]
        );
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

/// tensor, shape, matrix, cv, valid, note.
fn cells(l: &TensorCv) -> [String; 6] {
    let (matrix, cv, valid) = match &l.metric {
        Some(m) => (
            format!("{} × {}", m.rows, m.cols),
            fmt_cv(m.cv),
            m.valid.to_string(),
        ),
        None => ("-".into(), "-".into(), "-".into()),
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
        let m = |cv, reason| {
            Some(Metric {
                rows: 256,
                cols: 64,
                cv,
                valid: 300,
                reason,
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
  tensor      shape        matrix        cv  valid  note
  emb.weight  (256, 64)  256 × 64  *0.1585*    300
  bias        (64)              -         -      -  rank 1: not a matrix, not measured

b.npy
  tensor      shape        matrix        cv  valid  note
  b           (256, 64)  256 × 64     N/A      300  too_few_valid
";
        assert_eq!(text, expected);
    }
}
