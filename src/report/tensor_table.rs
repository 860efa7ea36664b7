//! The output of `mha-cv cv`: a table per file (or JSON).

use std::fmt::Write;

use super::fmt::fmt_cv;
use crate::experiment::tensor_cv::TensorCv;
use crate::io::fmt_shape;

/// One section per file: tensor, stored shape, the matrix measured, CV (band-marked as the
/// prototype does), volumes kept, and a note (how the tensor was read, or why not measured).
pub fn table(lines: &[TensorCv]) -> String {
    let name_w = lines
        .iter()
        .map(|l| l.tensor.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let shape_w = lines
        .iter()
        .map(|l| fmt_shape(&l.shape).len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut s = String::new();
    let mut file: Option<&str> = None;
    for l in lines {
        if file != Some(l.file.as_str()) {
            if file.is_some() {
                s.push('\n');
            }
            let _ = writeln!(s, "{}", l.file);
            let _ = writeln!(
                s,
                "  {:<name_w$}  {:<shape_w$}  {:>13}  {:>8}  {:>5}  note",
                "tensor", "shape", "matrix", "cv", "valid"
            );
            file = Some(&l.file);
        }
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
        let row = format!(
            "  {:<name_w$}  {:<shape_w$}  {matrix:>13}  {cv:>8}  {valid:>5}  {note}",
            l.tensor,
            fmt_shape(&l.shape)
        );
        let _ = writeln!(s, "{}", row.trim_end());
    }
    s
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
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows[0], "a.safetensors");
        assert_eq!(
            rows[1],
            "  tensor      shape           matrix        cv  valid  note"
        );
        assert_eq!(
            rows[2],
            "  emb.weight  (256, 64)     256 × 64  *0.1585*    300"
        );
        assert_eq!(rows[3], "  bias        (64)                 -         -      -  rank 1: not a matrix, not measured");
        assert_eq!(rows[4], "");
        assert_eq!(
            rows[7],
            "  b           (256, 64)     256 × 64     N/A      300  too_few_valid"
        );
    }
}
