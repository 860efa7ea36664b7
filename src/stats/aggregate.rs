//! Many seeds, one row per config × phase × metric: mean ± sd of the CV over seeds, the
//! envelope of the per-seed 95% intervals, the null baseline, and the band flag.
//!
//! The band rule: a cell is flagged only where its whole interval lies in the band
//! (BAND_LOW < low and high < BAND_HIGH, open like the prototype's). The interval is the
//! envelope of the seeds' bootstrap intervals (every seed's interval then lies in the band),
//! or, when the rows carry no intervals, the range of the seeds' CVs — which for one seed is
//! the point itself, the prototype's rule. A cell with a missing CV in any seed is not flagged.

use crate::defaults::{BAND_HIGH, BAND_LOW};
use crate::error::{Error, Result};

/// One measurement of one seed (the sweep's per-seed rows, as in results.csv).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeedRow {
    pub dim: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub seed: u64,
    /// "pre", "mid" or "post".
    pub phase: String,
    pub metric: String,
    /// None when insufficient (N/A).
    pub cv: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub null_cv: Option<f64>,
    pub null_sd: Option<f64>,
    pub z: Option<f64>,
}

/// A config × phase × metric over its seeds.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Aggregate {
    pub dim: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub phase: String,
    pub metric: String,
    /// Seeds with a row, and those of them with a CV value.
    pub n_seeds: usize,
    pub n_valid: usize,
    /// Mean and sd (Bessel; None below 2 values) of the valid seeds' CVs.
    pub cv_mean: Option<f64>,
    pub cv_sd: Option<f64>,
    /// Envelope of the valid seeds' intervals: min ci_low, max ci_high; None unless every
    /// valid seed has one.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Means over the valid seeds that have them (the baseline does not depend on the seed,
    /// so these are the seeds' common values).
    pub null_cv: Option<f64>,
    pub null_sd: Option<f64>,
    pub z: Option<f64>,
    /// The band rule (module docs).
    pub band: bool,
}

/// True when the whole of [low, high] lies inside the open band.
pub fn interval_in_band(low: f64, high: f64) -> bool {
    BAND_LOW < low && high < BAND_HIGH
}

fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

fn sd(xs: &[f64]) -> Option<f64> {
    let m = mean(xs)?;
    (xs.len() >= 2)
        .then(|| (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - 1) as f64).sqrt())
}

/// Groups `rows` by (dim, heads, phase, metric), in order of first appearance. Err when a
/// seed appears twice in a group (rows of two runs mixed up).
pub fn aggregate(rows: &[SeedRow]) -> Result<Vec<Aggregate>> {
    let mut groups: Vec<Vec<&SeedRow>> = Vec::new();
    for row in rows {
        let same = |g: &&mut Vec<&SeedRow>| {
            let f = g[0];
            (f.dim, f.heads, &f.phase, &f.metric) == (row.dim, row.heads, &row.phase, &row.metric)
        };
        match groups.iter_mut().find(same) {
            Some(g) if g.iter().any(|r| r.seed == row.seed) => {
                return Err(Error::input(format!(
                    "D={} heads={} {} {}: seed {} appears twice; aggregate the rows of one sweep",
                    row.dim, row.heads, row.phase, row.metric, row.seed
                )));
            }
            Some(g) => g.push(row),
            None => groups.push(vec![row]),
        }
    }
    Ok(groups.iter().map(|g| one(g)).collect())
}

fn one(group: &[&SeedRow]) -> Aggregate {
    let first = group[0];
    let valid: Vec<&SeedRow> = group.iter().copied().filter(|r| r.cv.is_some()).collect();
    let pick = |f: fn(&SeedRow) -> Option<f64>| -> Vec<f64> {
        valid.iter().filter_map(|r| f(r)).collect()
    };
    let cvs = pick(|r| r.cv);
    let lows = pick(|r| r.ci_low);
    let highs = pick(|r| r.ci_high);
    let has_ci = !valid.is_empty() && lows.len() == valid.len() && highs.len() == valid.len();
    let (ci_low, ci_high) = if has_ci {
        (
            lows.iter().copied().reduce(f64::min),
            highs.iter().copied().reduce(f64::max),
        )
    } else {
        (None, None)
    };
    let range = match (ci_low, ci_high) {
        (Some(lo), Some(hi)) => Some((lo, hi)),
        _ => cvs
            .iter()
            .copied()
            .reduce(f64::min)
            .zip(cvs.iter().copied().reduce(f64::max)),
    };
    let all_valid = valid.len() == group.len();
    Aggregate {
        dim: first.dim,
        heads: first.heads,
        head_dim: first.head_dim,
        phase: first.phase.clone(),
        metric: first.metric.clone(),
        n_seeds: group.len(),
        n_valid: valid.len(),
        cv_mean: mean(&cvs),
        cv_sd: sd(&cvs),
        ci_low,
        ci_high,
        null_cv: mean(&pick(|r| r.null_cv)),
        null_sd: mean(&pick(|r| r.null_sd)),
        z: mean(&pick(|r| r.z)),
        band: all_valid && range.is_some_and(|(lo, hi)| interval_in_band(lo, hi)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seed: u64, cv: Option<f64>, ci: Option<(f64, f64)>) -> SeedRow {
        SeedRow {
            dim: 64,
            heads: 2,
            head_dim: 32,
            seed,
            phase: "post".into(),
            metric: "emb".into(),
            cv,
            ci_low: ci.map(|c| c.0),
            ci_high: ci.map(|c| c.1),
            ..Default::default()
        }
    }

    #[test]
    fn band_needs_the_whole_interval_inside() {
        let flag = |rows: &[SeedRow]| aggregate(rows).unwrap()[0].band;
        assert!(flag(&[row(1, Some(0.2), Some((0.15, 0.25)))]));
        assert!(
            !flag(&[row(1, Some(0.2), Some((0.12, 0.25)))]),
            "low end outside"
        );
        assert!(
            !flag(&[row(1, Some(0.2), Some((0.15, 0.30)))]),
            "the band is open at 0.30"
        );
        // Without intervals: the prototype's point rule for one seed, the range for several.
        assert!(flag(&[row(1, Some(0.2), None)]));
        assert!(!flag(&[row(1, Some(0.2), None), row(2, Some(0.31), None)]));
        // A seed with N/A, or a seed's interval outside, removes the flag.
        assert!(!flag(&[row(1, Some(0.2), None), row(2, None, None)]));
        assert!(!flag(&[
            row(1, Some(0.2), Some((0.15, 0.25))),
            row(2, Some(0.2), Some((0.1, 0.25)))
        ]));
    }

    #[test]
    fn duplicate_seeds_are_refused() {
        let err = aggregate(&[row(1, Some(0.2), None), row(1, Some(0.3), None)]).unwrap_err();
        assert!(err.to_string().contains("seed 1 appears twice"), "{err}");
    }
}
