//! `mha-cv cv`: the CV of the tensors stored in .safetensors / .npy files (e.g. a checkpoint's
//! weights). A 2-D tensor is measured as it is (rows are the points); a higher-rank tensor as
//! (product of the leading dims) × last dim, which the row's note says; rank 0/1 tensors and
//! integer tensors are listed with a note and not measured.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::measure::metric_with_stats;
use super::result::Metric;
use super::run::Engine;
use super::seeds::tensor_cv_seed;
use crate::error::{Error, Result};
use crate::geometry::cv::{cv_metric, CvOptions};
use crate::io::{fmt_shape, list_names, AnyTensor, TensorData};
use crate::options::{Device, Precision};
use crate::stats::null::{null_distribution, NullCache, NullSpec, REPLICATES};

/// How `mha-cv cv` measures.
#[derive(Clone, Debug)]
pub struct TensorCvOptions {
    pub samples: usize,
    pub pool: usize,
    /// Each tensor's CV seed is `tensor_cv_seed(seed, name)`: the same tensor name gets the same
    /// row samples in every file, so two checkpoints are compared on equal terms.
    pub seed: u64,
    pub precision: Precision,
    /// Where the volumes are computed.
    pub device: Device,
    /// Only these tensors (all when empty).
    pub only: Vec<String>,
}

/// One tensor's line.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TensorCv {
    pub file: String,
    pub tensor: String,
    pub shape: Vec<usize>,
    pub dtype: String,
    /// The metric (rows, cols, cv, valid, reason); None when the tensor was not measured.
    #[serde(flatten)]
    pub metric: Option<Metric>,
    /// How the tensor was read, or why it was not measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Reads every file, then measures the selected tensors (in parallel; each has its own seed),
/// each with its interval and the null baseline of its shape.
pub fn tensor_cvs(files: &[PathBuf], opts: &TensorCvOptions) -> Result<Vec<TensorCv>> {
    let engine = Engine::open(opts.device)?;
    let mut all: Vec<(String, AnyTensor)> = Vec::new();
    for path in files {
        let label = path.display().to_string();
        for t in read_any(path)? {
            all.push((label.clone(), t));
        }
    }
    for name in &opts.only {
        if !all.iter().any(|(_, t)| &t.name == name) {
            let tensors: Vec<AnyTensor> = all.iter().map(|(_, t)| t.clone()).collect();
            return Err(Error::input(format!(
                "--tensor {name}: no such tensor in the given files; they hold {}",
                list_names(&tensors)
            )));
        }
    }
    all.retain(|(_, t)| opts.only.is_empty() || opts.only.contains(&t.name));
    let nulls = NullCache::new(REPLICATES);
    let specs: Vec<NullSpec> = all
        .iter()
        .filter_map(|(_, t)| match plan(t) {
            Plan::Matrix { rows, cols, .. } => Some(null_spec(t, rows, cols, opts)),
            Plan::Skip(_) => None,
        })
        .collect();
    nulls.prefetch(&specs)?;
    all.par_iter()
        .map(|(file, t)| measure_tensor(file, t, opts, &nulls, &engine))
        .collect()
}

fn read_any(path: &Path) -> Result<Vec<AnyTensor>> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("safetensors") => crate::io::safetensors::read_tensors(path),
        Some("npy") => Ok(vec![crate::io::npy::read_npy(path)?]),
        _ => Err(Error::input(format!(
            "{}: unknown file type; give .safetensors or .npy files",
            path.display()
        ))),
    }
}

/// How a tensor is measured: as a rows × cols matrix (with a note when reshaped), or not.
enum Plan {
    Matrix {
        rows: usize,
        cols: usize,
        note: Option<String>,
    },
    Skip(String),
}

fn plan(t: &AnyTensor) -> Plan {
    if !matches!(t.data, TensorData::F32(_) | TensorData::F64(_)) {
        return Plan::Skip(format!(
            "{}: not a float tensor, not measured",
            t.data.dtype()
        ));
    }
    match t.shape[..] {
        [] | [_] => Plan::Skip(format!(
            "rank {}: not a matrix, not measured",
            t.shape.len()
        )),
        [rows, cols] => Plan::Matrix {
            rows,
            cols,
            note: None,
        },
        ref dims => {
            let (last, leading) = dims.split_last().expect("rank ≥ 3");
            let rows: usize = leading.iter().product();
            let factors: Vec<String> = leading.iter().map(|d| d.to_string()).collect();
            Plan::Matrix {
                rows,
                cols: *last,
                note: Some(format!(
                    "shape {} read as ({}) × {last} = {rows} × {last}",
                    fmt_shape(dims),
                    factors.join("·")
                )),
            }
        }
    }
}

/// The null baseline a tensor is read against: its columns' count and the pool's rows, with
/// N(0, 1) entries (tensor names are not the sweep's metric names, so no init is known).
fn null_spec(t: &AnyTensor, rows: usize, cols: usize, opts: &TensorCvOptions) -> NullSpec {
    NullSpec {
        rows,
        cols,
        dist: null_distribution(&t.name, cols),
        samples: opts.samples,
        pool: opts.pool,
        precision: opts.precision,
    }
}

fn measure_tensor(
    file: &str,
    t: &AnyTensor,
    opts: &TensorCvOptions,
    nulls: &NullCache,
    engine: &Engine,
) -> Result<TensorCv> {
    let mut line = TensorCv {
        file: file.to_string(),
        tensor: t.name.clone(),
        shape: t.shape.clone(),
        dtype: t.data.dtype().to_string(),
        metric: None,
        note: None,
    };
    let (rows, cols) = match plan(t) {
        Plan::Skip(note) => {
            line.note = Some(note);
            return Ok(line);
        }
        Plan::Matrix { rows, cols, note } => {
            line.note = note;
            (rows, cols)
        }
    };
    let cv_opts = CvOptions {
        samples: opts.samples,
        pool: opts.pool,
        seed: tensor_cv_seed(opts.seed, &t.name),
        precision: opts.precision,
    };
    let matrix = t.to_f64_vec();
    let outcome = match engine {
        Engine::Cpu => cv_metric(&matrix, rows, cols, &cv_opts)?,
        #[cfg(feature = "cuda")]
        Engine::Cuda(cuda) => {
            crate::backend::cuda::geometry::cv_metric_gpu(cuda, &matrix, rows, cols, &cv_opts)?
        }
    };
    let spec = null_spec(t, rows, cols, opts);
    line.metric = Some(metric_with_stats(outcome, &spec, cv_opts.seed, nulls)?);
    Ok(line)
}
