//! results.csv: one row per config × seed × phase × metric, the same numbers as results.json
//! (floats in shortest round-trip form, so both parse to identical values). Empty cells for
//! values that do not exist (the pre-training loss, a missing CV, an interval or baseline of a
//! missing CV).

use std::fmt::Write;
use std::path::Path;

use crate::error::Result;
use crate::experiment::result::{ConfigResult, Phase};
use crate::io::atomic::write_atomic;

pub const HEADER: &str =
    "dim,heads,head_dim,seed,phase,epoch,loss,acc,metric,rows,cols,cv,valid,reason,ci_low,ci_high,null_cv,null_sd,z";

pub fn to_csv(results: &[ConfigResult]) -> String {
    let mut s = format!("{HEADER}\n");
    let opt = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
    for r in results {
        for phase in Phase::ALL {
            let Some(metrics) = r.phase(phase) else {
                continue;
            };
            let epoch = r.epoch_at(phase).map_or(String::new(), |e| e.to_string());
            let loss = opt(r.loss_at(phase));
            let acc = opt(r.acc_at(phase));
            for (name, m) in &metrics.0 {
                let reason = m.reason.map_or("", |x| x.as_str());
                let _ = writeln!(
                    s,
                    "{},{},{},{},{},{epoch},{loss},{acc},{name},{},{},{},{},{reason},{},{},{},{},{}",
                    r.dim,
                    r.heads,
                    r.head_dim,
                    r.seed,
                    phase.as_str(),
                    m.rows,
                    m.cols,
                    opt(m.cv),
                    m.valid,
                    opt(m.ci_low),
                    opt(m.ci_high),
                    opt(m.null_cv),
                    opt(m.null_sd),
                    opt(m.z),
                );
            }
        }
    }
    s
}

pub fn write_csv(path: &Path, results: &[ConfigResult]) -> Result<()> {
    write_atomic(path, to_csv(results).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::result::tests::{sample, sample_with_stats};

    #[test]
    fn one_row_per_phase_and_metric() {
        let csv = to_csv(&[sample(64, 2, 42)]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], HEADER);
        assert_eq!(lines.len(), 1 + 3 * 4);
        assert_eq!(lines[1], "64,2,32,42,pre,0,,,emb,8,4,0.1585,300,,,,,,");
        assert_eq!(
            lines[7],
            "64,2,32,42,mid,2,2.25,0.968,act_Q_h0,8,4,,3,too_few_valid,,,,,"
        );
        assert_eq!(
            lines[9],
            "64,2,32,42,post,4,1.5,0.988,emb,8,4,0.155,300,,,,,,"
        );
    }

    #[test]
    fn intervals_and_baselines_fill_the_last_columns() {
        let csv = to_csv(&[sample_with_stats(64, 2, 42)]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[1],
            "64,2,32,42,pre,0,,,emb,8,4,0.1585,300,,0.1485,0.1685,0.2,0.05,-0.8300000000000002"
        );
        assert!(lines[3].ends_with(",3,too_few_valid,,,,,"), "{}", lines[3]);
    }
}
