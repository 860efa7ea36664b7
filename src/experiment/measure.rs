//! Measuring a model at one phase: the prototype's weight metrics, then its activation metrics
//! on the whole training set, each turned into a CV by the geometry core with its own seed.

use rayon::prelude::*;

use super::result::{Measurements, Metric, Phase, Reason};
use super::seeds::cv_seed;
use super::settings::{ConfigKey, Settings};
use crate::backend::{Backend, Scalar};
use crate::defaults::CV_POOL;
use crate::error::{Error, Result};
use crate::geometry::cv::{cv_metric, CvOptions, CvOutcome, InsufficientReason};
use crate::metrics::weight_matrices;
use crate::model::{DeviceData, HostTensor, Model};

/// Every metric of `model` at `phase`, in the prototype's order (weights, then activations).
pub fn measure<B: Backend>(
    model: &Model<B>,
    data: &DeviceData<B>,
    key: ConfigKey,
    phase: Phase,
    settings: &Settings,
) -> Result<Measurements> {
    let mut matrices = weight_matrices(&model.params()?, key.heads);
    matrices.extend(model.activations(data)?);
    let metrics = matrices
        .par_iter()
        .map(|t| {
            let opts = CvOptions {
                samples: settings.samples,
                pool: CV_POOL,
                seed: cv_seed(key.seed, key.dim, key.heads, phase.as_str(), &t.name),
                precision: settings.precision,
            };
            Ok((t.name.clone(), measure_matrix(t, &opts)?))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Measurements(metrics))
}

/// The CV of one 2-D tensor (rows are the points).
fn measure_matrix<T: Scalar>(t: &HostTensor<T>, opts: &CvOptions) -> Result<Metric> {
    let [rows, cols] = t.shape[..] else {
        return Err(Error::input(format!(
            "metric {}: shape {:?}, expected a matrix (rows, cols)",
            t.name, t.shape
        )));
    };
    Ok(metric_from(
        cv_metric(&t.data, rows, cols, opts)?,
        rows,
        cols,
    ))
}

/// The stored form of a CV outcome.
pub fn metric_from(outcome: CvOutcome, rows: usize, cols: usize) -> Metric {
    match outcome {
        CvOutcome::Value { cv, valid, .. } => Metric {
            rows,
            cols,
            cv: Some(cv),
            valid,
            reason: None,
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
        },
    }
}
