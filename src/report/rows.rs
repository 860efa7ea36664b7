//! The sweep's results as per-seed rows (`stats::aggregate::SeedRow`, one per config × seed ×
//! phase × metric, as results.csv), and the post − pre movements as rows of their own, so that
//! both can be aggregated over seeds.

use crate::experiment::result::{ConfigResult, Phase};
use crate::stats::aggregate::SeedRow;

/// One row per config × seed × phase × metric, in the results' order.
pub fn seed_rows(results: &[ConfigResult]) -> Vec<SeedRow> {
    let mut rows = Vec::new();
    for r in results {
        for phase in Phase::ALL {
            let Some(metrics) = r.phase(phase) else {
                continue;
            };
            for (name, m) in &metrics.0 {
                rows.push(SeedRow {
                    phase: phase.as_str().into(),
                    metric: name.clone(),
                    cv: m.cv,
                    ci_low: m.ci_low,
                    ci_high: m.ci_high,
                    null_cv: m.null_cv,
                    null_sd: m.null_sd,
                    z: m.z,
                    ..row_of(r)
                });
            }
        }
    }
    rows
}

/// post − pre per config × seed × metric, as rows of phase "movement" (cv = the difference,
/// None when either is missing; no interval or baseline).
pub fn movement_rows(results: &[ConfigResult]) -> Vec<SeedRow> {
    let mut rows = Vec::new();
    for r in results {
        for (name, m) in &r.post.0 {
            rows.push(SeedRow {
                phase: "movement".into(),
                metric: name.clone(),
                cv: m.cv.zip(r.pre.cv(name)).map(|(post, pre)| post - pre),
                ..row_of(r)
            });
        }
    }
    rows
}

fn row_of(r: &ConfigResult) -> SeedRow {
    SeedRow {
        dim: r.dim,
        heads: r.heads,
        head_dim: r.head_dim,
        seed: r.seed,
        ..SeedRow::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::result::tests::{sample, sample_with_stats};
    use crate::report::figures::input;

    #[test]
    fn rows_equal_those_read_back_from_results_json() {
        // The figures read results.json by field name; both routes must give the same rows.
        let results = vec![sample_with_stats(64, 2, 42), sample(64, 2, 43)];
        let file = crate::report::json::ResultFile::new(Default::default(), results.clone());
        let json = serde_json::to_value(&file).unwrap();
        let mut from_json = input::seed_rows(&json).unwrap();
        let mut ours = seed_rows(&results);
        // serde_json's map sorts the metric names; compare as sets.
        let key = |r: &SeedRow| (r.seed, r.phase.clone(), r.metric.clone());
        from_json.sort_by_key(key);
        ours.sort_by_key(key);
        assert_eq!(ours, from_json);
    }

    #[test]
    fn movement_is_post_minus_pre_where_both_exist() {
        let rows = movement_rows(&[sample(64, 2, 42)]);
        let get = |m: &str| rows.iter().find(|r| r.metric == m).unwrap().cv;
        // sample(): post = pre − 0.0035 on every value.
        assert!((get("emb").unwrap() + 0.0035).abs() < 1e-15);
        assert_eq!(get("act_Q_h0"), None);
    }
}
