//! The result of one config × seed: training curve, accuracies, and every metric's CV at each
//! phase. These are the values written to results.json (field names are the file format, see
//! docs/sweep.md) and read back by resume and merge.

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::settings::ConfigKey;

/// When a measurement is taken: before training, after epoch `epochs / 2`, after training.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Pre,
    Mid,
    Post,
}

impl Phase {
    pub const ALL: [Phase; 3] = [Phase::Pre, Phase::Mid, Phase::Post];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pre => "pre",
            Phase::Mid => "mid",
            Phase::Post => "post",
        }
    }
}

/// Why a metric has no value (the prototype's `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Fewer than 5 rows: no 4-simplex.
    TooFewRows,
    /// Fewer than 10 volumes kept by the vol² > 1e-20 filter.
    TooFewValid,
    /// The matrix or its volumes were not finite (e.g. a diverged run).
    NonFinite,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::TooFewRows => "too_few_rows",
            Reason::TooFewValid => "too_few_valid",
            Reason::NonFinite => "non_finite",
        }
    }
}

/// One metric at one phase.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// The measured matrix: rows are the points, cols their coordinates.
    pub rows: usize,
    pub cols: usize,
    /// None when insufficient (printed N/A); then `reason` says why.
    pub cv: Option<f64>,
    /// Volumes kept by the filter.
    pub valid: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// 95% percentile-bootstrap interval of `cv` (docs/stats.md); with a value only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_low: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_high: Option<f64>,
    /// The null baseline of this shape (mean and sd of random matrices' CV) and
    /// z = (cv − null_cv) / null_sd; with a value, and a baseline that exists (≥ 5 rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_cv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_sd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub z: Option<f64>,
}

impl Metric {
    /// Half the width of the interval, when there is one.
    pub fn ci_half(&self) -> Option<f64> {
        Some((self.ci_high? - self.ci_low?) / 2.0)
    }
}

/// Every metric of one phase, in the prototype's order; a JSON object keyed by metric name
/// (written in this order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Measurements(pub Vec<(String, Metric)>);

impl Measurements {
    pub fn get(&self, name: &str) -> Option<&Metric> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, m)| m)
    }

    /// The CV of `name`, None when absent or insufficient.
    pub fn cv(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(|m| m.cv)
    }
}

impl Serialize for Measurements {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, metric) in &self.0 {
            map.serialize_entry(name, metric)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Measurements {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = Measurements;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of metric name → {rows, cols, cv, valid, reason}")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut a: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = a.next_entry::<String, Metric>()? {
                    out.push(entry);
                }
                Ok(Measurements(out))
            }
        }
        d.deserialize_map(InOrder)
    }
}

/// One config × seed, finished.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigResult {
    pub dim: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub seed: u64,
    /// The training loss of each epoch's forward pass (PyTorch's `loss.item()`), epoch 1 first;
    /// a non-finite loss (a diverged run) is written as null.
    #[serde(with = "finite_or_null")]
    pub losses: Vec<f64>,
    /// The epoch after which `mid` was measured (None with a single epoch).
    pub mid_epoch: Option<usize>,
    /// Training-set accuracy after `mid_epoch`, and after training.
    pub acc_mid: Option<f64>,
    pub acc: f64,
    pub pre: Measurements,
    pub mid: Option<Measurements>,
    pub post: Measurements,
}

impl ConfigResult {
    pub fn key(&self) -> ConfigKey {
        ConfigKey {
            dim: self.dim,
            heads: self.heads,
            seed: self.seed,
        }
    }

    pub fn phase(&self, phase: Phase) -> Option<&Measurements> {
        match phase {
            Phase::Pre => Some(&self.pre),
            Phase::Mid => self.mid.as_ref(),
            Phase::Post => Some(&self.post),
        }
    }

    /// The loss printed with a phase: the forward pass of the epoch it follows.
    pub fn loss_at(&self, phase: Phase) -> Option<f64> {
        match phase {
            Phase::Pre => None,
            Phase::Mid => self.mid_epoch.and_then(|e| self.losses.get(e - 1).copied()),
            Phase::Post => self.losses.last().copied(),
        }
    }

    pub fn acc_at(&self, phase: Phase) -> Option<f64> {
        match phase {
            Phase::Pre => None,
            Phase::Mid => self.acc_mid,
            Phase::Post => Some(self.acc),
        }
    }

    /// The epoch count a phase follows: 0 before training.
    pub fn epoch_at(&self, phase: Phase) -> Option<usize> {
        match phase {
            Phase::Pre => Some(0),
            Phase::Mid => self.mid_epoch,
            Phase::Post => Some(self.losses.len()),
        }
    }
}

/// JSON has no NaN or infinity: write them as null and read null back as NaN.
mod finite_or_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| x.is_finite().then_some(*x)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let v: Vec<Option<f64>> = Vec::deserialize(d)?;
        Ok(v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small result with every kind of value, for the report tests.
    pub fn sample(dim: usize, heads: usize, seed: u64) -> ConfigResult {
        let m = |cv: Option<f64>| Metric {
            rows: 8,
            cols: 4,
            cv,
            valid: if cv.is_some() { 300 } else { 3 },
            reason: cv.is_none().then_some(Reason::TooFewValid),
            ..Metric::default()
        };
        let phase = |shift: f64| {
            Measurements(vec![
                ("emb".into(), m(Some(0.1585 + shift))),
                ("Q_full".into(), m(Some(0.1228 + shift))),
                ("act_Q_h0".into(), m(None)),
                ("act_emb".into(), m(Some(0.3 + shift))),
            ])
        };
        ConfigResult {
            dim,
            heads,
            head_dim: dim / heads,
            seed,
            losses: vec![2.5, 2.25, 2.0, 1.5],
            mid_epoch: Some(2),
            acc_mid: Some(0.968),
            acc: 0.988,
            pre: phase(0.0),
            mid: Some(phase(0.01)),
            post: phase(-0.0035),
        }
    }

    /// `sample` with an interval of ±0.01 around, a null baseline of 0.2 ± 0.05 and its z on
    /// every value.
    pub fn sample_with_stats(dim: usize, heads: usize, seed: u64) -> ConfigResult {
        let mut r = sample(dim, heads, seed);
        let phases = [Some(&mut r.pre), r.mid.as_mut(), Some(&mut r.post)];
        for (_, m) in phases.into_iter().flatten().flat_map(|p| p.0.iter_mut()) {
            if let Some(cv) = m.cv {
                m.ci_low = Some(cv - 0.01);
                m.ci_high = Some(cv + 0.01);
                m.null_cv = Some(0.2);
                m.null_sd = Some(0.05);
                m.z = Some((cv - 0.2) / 0.05);
            }
        }
        r
    }

    #[test]
    fn stats_fields_are_written_only_when_present() {
        let r = sample_with_stats(64, 2, 42);
        let text = serde_json::to_string(&r.pre).unwrap();
        assert!(text.starts_with(r#"{"emb":{"rows":8,"cols":4,"cv":0.1585,"valid":300,"ci_low":0.1485,"ci_high":0.1685,"null_cv":0.2,"null_sd":0.05,"z":-0.8300000000000002}"#), "{text}");
        assert!(text.contains(
            r#""act_Q_h0":{"rows":8,"cols":4,"cv":null,"valid":3,"reason":"too_few_valid"}"#
        ));
        let back: Measurements = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r.pre);
        assert!((back.get("emb").unwrap().ci_half().unwrap() - 0.01).abs() < 1e-15);
    }

    #[test]
    fn json_round_trip_keeps_metric_order_and_nulls() {
        let mut r = sample(64, 2, 42);
        r.losses[3] = f64::NAN;
        let text = serde_json::to_string(&r).unwrap();
        assert!(
            text.contains(r#""pre":{"emb":{"rows":8,"cols":4,"cv":0.1585,"valid":300}"#),
            "{text}"
        );
        assert!(text.contains(
            r#""act_Q_h0":{"rows":8,"cols":4,"cv":null,"valid":3,"reason":"too_few_valid"}"#
        ));
        assert!(text.contains(r#""losses":[2.5,2.25,2.0,null]"#));
        let back: ConfigResult = serde_json::from_str(&text).unwrap();
        assert!(back.losses[3].is_nan());
        let names: Vec<&str> = back.post.0.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["emb", "Q_full", "act_Q_h0", "act_emb"]);
        assert_eq!((back.pre, back.mid, back.post), (r.pre, r.mid, r.post));
    }

    #[test]
    fn phase_accessors_follow_the_prototype() {
        let r = sample(64, 2, 42);
        assert_eq!(r.loss_at(Phase::Mid), Some(2.25));
        assert_eq!(r.loss_at(Phase::Post), Some(1.5));
        assert_eq!(r.epoch_at(Phase::Post), Some(4));
        assert_eq!(r.acc_at(Phase::Pre), None);
    }
}
