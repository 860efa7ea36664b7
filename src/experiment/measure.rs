//! Measuring a model at one phase: the prototype's weight metrics, then its activation metrics
//! on the whole training set, then the extra metrics (`act_attn_h{i}`), each turned into a CV
//! by the geometry core with its own seed, and read against its sampling interval and the null
//! baseline of its shape (docs/stats.md).

use rayon::prelude::*;

use super::inputs::Inputs;
use super::result::{Measurements, Metric, Phase, Reason};
use super::seeds::cv_seed;
use super::settings::{ConfigKey, Settings};
use crate::backend::{Backend, Scalar};
use crate::defaults::CV_POOL;
use crate::error::{Error, Result};
use crate::geometry::cv::{cv_metric, CvOptions, CvOutcome, InsufficientReason};
use crate::metrics::{metric_shapes, weight_matrices};
use crate::model::{DeviceData, HostTensor, Model, ModelConfig};
use crate::stats::bootstrap::{bootstrap_ci, BootstrapOptions};
use crate::stats::null::{null_distribution, z_score, NullCache, NullSpec};

/// Every metric of `model` at `phase`: the prototype's, in its order (weights, then
/// activations), then each head's attention output before out_proj (`act_attn_h{i}`).
/// Null baselines missing from `cache` are computed first, all in parallel.
///
/// The activation metrics read only the first `CV_POOL` rows of their (n·seq_len, cols)
/// matrices (the prototype's pool), so the forward pass runs on just the sequences that hold
/// those rows. Every row of every op depends on its own sequence only (GEMM rows are computed
/// the same way whatever the other rows are: `backend::cpu::gemm`), so the pool's values are
/// the bits a pass over the whole set gives (a test in `model/tests.rs`); the stored row count
/// stays the whole matrix's.
pub fn measure<B: Backend>(
    model: &Model<B>,
    data: &DeviceData<B>,
    key: ConfigKey,
    phase: Phase,
    settings: &Settings,
    cache: &NullCache,
) -> Result<Measurements> {
    let cfg = model.config();
    let mut matrices = weight_matrices(&model.params()?, key.heads);
    let probe = DeviceData::new(
        model.backend(),
        &data.dataset().head(CV_POOL.div_ceil(cfg.seq_len)),
    )?;
    matrices.extend(model.all_activations(&probe)?);
    // The specs carry the whole matrices' shapes (n·seq activation rows), the tensors the
    // probe's rows.
    let specs = null_specs(cfg, data.len() * cfg.seq_len, settings);
    if let Some((t, _)) = matrices
        .iter()
        .zip(&specs)
        .find(|(t, (name, _))| t.name != *name)
    {
        return Err(Error::input(format!(
            "measure: metric {} where the layout has another; metrics::metric_shapes must list \
             what the model returns",
            t.name
        )));
    }
    let specs: Vec<NullSpec> = specs.into_iter().map(|(_, spec)| spec).collect();
    cache.prefetch(&specs)?;
    let metrics = matrices
        .par_iter()
        .zip(&specs)
        .map(|(t, spec)| {
            let opts = CvOptions {
                samples: settings.samples,
                pool: CV_POOL,
                seed: cv_seed(key.seed, key.dim, key.heads, phase.as_str(), &t.name),
                precision: settings.precision,
            };
            let (rows, cols) = matrix_shape(t)?;
            let outcome = cv_metric(&t.data, rows, cols, &opts)?;
            Ok((
                t.name.clone(),
                metric_with_stats(outcome, spec, opts.seed, cache)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Measurements(metrics))
}

/// The null baseline spec of every metric a measurement of a `cfg` model on `act_rows` token
/// rows reads, by name, in the measurement's order.
pub fn null_specs(
    cfg: &ModelConfig,
    act_rows: usize,
    settings: &Settings,
) -> Vec<(String, NullSpec)> {
    metric_shapes(cfg, act_rows)
        .into_iter()
        .map(|(name, rows, cols)| {
            let spec = NullSpec {
                rows,
                cols,
                dist: null_distribution(&name, cfg.dim),
                samples: settings.samples,
                pool: CV_POOL,
                precision: settings.precision,
            };
            (name, spec)
        })
        .collect()
}

/// The null baselines of every config in `keys`, computed up front all in parallel (configs
/// that run at the same time would otherwise compute the shapes they share twice).
pub fn prefetch_nulls(
    settings: &Settings,
    inputs: &Inputs,
    keys: &[ConfigKey],
    cache: &NullCache,
) -> Result<()> {
    let specs: Vec<NullSpec> = keys
        .iter()
        .flat_map(|&key| {
            let cfg = inputs.model_config(key);
            null_specs(&cfg, inputs.data(key.seed).n * cfg.seq_len, settings)
        })
        .map(|(_, spec)| spec)
        .collect();
    cache.prefetch(&specs)
}

/// (rows, cols) of a metric's matrix.
fn matrix_shape<T: Scalar>(t: &HostTensor<T>) -> Result<(usize, usize)> {
    match t.shape[..] {
        [rows, cols] => Ok((rows, cols)),
        _ => Err(Error::input(format!(
            "metric {}: shape {:?}, expected a matrix (rows, cols)",
            t.name, t.shape
        ))),
    }
}

/// The stored form of a CV outcome of a `spec.rows` × `spec.cols` matrix, with its 95%
/// bootstrap interval (seeded by the CV's own seed `cv_seed`) and, when the shape has one, the
/// null baseline and z. Insufficient values get neither.
pub fn metric_with_stats(
    outcome: CvOutcome,
    spec: &NullSpec,
    cv_seed: u64,
    cache: &NullCache,
) -> Result<Metric> {
    let stats = match &outcome {
        CvOutcome::Value { cv, vols, .. } => {
            let ci = bootstrap_ci(vols, &BootstrapOptions::with_seed(cv_seed))?;
            Some((*cv, ci, cache.get(spec)?))
        }
        CvOutcome::Insufficient { .. } => None,
    };
    let mut metric = metric_from(outcome, spec.rows, spec.cols);
    if let Some((cv, ci, null)) = stats {
        metric.ci_low = Some(ci.low);
        metric.ci_high = Some(ci.high);
        if let Some(null) = null {
            metric.null_cv = Some(null.null_cv);
            metric.null_sd = Some(null.null_sd);
            metric.z = z_score(cv, &null);
        }
    }
    Ok(metric)
}

/// The stored form of a CV outcome (without interval or baseline).
fn metric_from(outcome: CvOutcome, rows: usize, cols: usize) -> Metric {
    match outcome {
        CvOutcome::Value { cv, valid, .. } => Metric {
            rows,
            cols,
            cv: Some(cv),
            valid,
            ..Metric::default()
        },
        CvOutcome::Insufficient { reason, valid } => Metric {
            rows,
            cols,
            cv: None,
            valid,
            reason: Some(match reason {
                InsufficientReason::TooFewRows { .. } => Reason::TooFewRows,
                InsufficientReason::TooFewValid { .. } => Reason::TooFewValid,
                InsufficientReason::NonFinite => Reason::NonFinite,
            }),
            ..Metric::default()
        },
    }
}
