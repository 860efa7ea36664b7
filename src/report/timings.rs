//! `sweep --timings`: where each config's wall time went, and the process's whole, so a slow
//! sweep can be read before it is profiled.

use std::fmt::Write;
use std::time::Duration;

use crate::experiment::run::Timings;
use crate::experiment::settings::ConfigKey;

/// One line per computed config (setup, training, measurements, total, in seconds), their sum,
/// the time spent on null baselines (inside the measurements) and the process's wall time.
pub fn timings_table(
    rows: &[(ConfigKey, Timings)],
    jobs: usize,
    nulls: Duration,
    wall: Duration,
) -> String {
    let mut out = String::new();
    let line = |out: &mut String, name: &str, t: &Timings| {
        let _ = writeln!(
            out,
            "{name:<14} {:>8.3} {:>8.3} {:>8.3} {:>8.3}",
            t.setup.as_secs_f64(),
            t.train.as_secs_f64(),
            t.measure.as_secs_f64(),
            t.total().as_secs_f64()
        );
    };
    let _ = writeln!(
        out,
        "timings (wall seconds per config, {jobs} config(s) at a time)\n{:<14} {:>8} {:>8} {:>8} {:>8}",
        "config", "setup", "train", "measure", "total"
    );
    let mut sum = Timings::default();
    for (key, t) in rows {
        line(&mut out, &key.stem(), t);
        sum.setup += t.setup;
        sum.train += t.train;
        sum.measure += t.measure;
    }
    line(&mut out, "sum", &sum);
    let _ = writeln!(
        out,
        "null baselines computed (part of measure): {:.3} s\nprocess wall time: {:.3} s",
        nulls.as_secs_f64(),
        wall.as_secs_f64()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_sums_the_configs() {
        let key = |heads| ConfigKey {
            dim: 64,
            heads,
            seed: 42,
        };
        let t = |ms| Timings {
            setup: Duration::from_millis(ms),
            train: Duration::from_millis(10 * ms),
            measure: Duration::from_millis(2 * ms),
        };
        let table = timings_table(
            &[(key(1), t(1)), (key(2), t(3))],
            2,
            Duration::from_millis(5),
            Duration::from_millis(70),
        );
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].contains("2 config(s) at a time"));
        assert_eq!(
            lines[2].split_whitespace().collect::<Vec<_>>(),
            ["D64_h1_s42", "0.001", "0.010", "0.002", "0.013"]
        );
        assert_eq!(
            lines[4].split_whitespace().collect::<Vec<_>>(),
            ["sum", "0.004", "0.040", "0.008", "0.052"]
        );
        assert!(
            lines[5].ends_with("0.005 s") && lines[6].ends_with("0.070 s"),
            "{table}"
        );
    }
}
