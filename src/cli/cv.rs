//! `mha-cv cv FILE…`: the CV of every 2-D tensor (or the ones named) in .safetensors / .npy
//! files, as a table or JSON.

use std::path::PathBuf;

use crate::defaults;
use crate::error::{Error, Result};
use crate::experiment::tensor_cv::{tensor_cvs, TensorCvOptions};
use crate::options::{Device, Precision};
use crate::report::tensor_table;

#[derive(clap::Args, Debug, Default)]
pub struct CvArgs {
    /// .safetensors or .npy files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Measure only this tensor (repeatable).
    #[arg(long = "tensor", value_name = "NAME")]
    pub tensors: Vec<String>,
    /// Pentachora sampled per CV estimate.
    #[arg(long, default_value_t = defaults::CV_SAMPLES)]
    pub samples: usize,
    /// Seed of the row samples (each tensor's stream is keyed by its name).
    #[arg(long, default_value_t = defaults::SEED)]
    pub seed: u64,
    /// Precision of the Cayley–Menger determinant.
    #[arg(long, value_enum, default_value_t = Precision::F64)]
    pub precision: Precision,
    /// Where the volumes are computed (cuda: the fused Cayley–Menger kernel; needs a build
    /// with `--features cuda`).
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    pub device: Device,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: CvArgs) -> Result<()> {
    if args.samples < defaults::CV_MIN_VALID {
        return Err(Error::input(format!(
            "--samples {}: at least {} are needed, since a CV needs {} kept volumes",
            args.samples,
            defaults::CV_MIN_VALID,
            defaults::CV_MIN_VALID
        )));
    }
    let opts = TensorCvOptions {
        samples: args.samples,
        pool: defaults::CV_POOL,
        seed: args.seed,
        precision: args.precision,
        device: args.device,
        only: args.tensors,
    };
    let lines = tensor_cvs(&args.files, &opts)?;
    if args.json {
        let doc = serde_json::json!({
            "samples": opts.samples,
            "pool": opts.pool,
            "seed": opts.seed,
            "precision": opts.precision,
            "tensors": lines,
        });
        let text = serde_json::to_string_pretty(&doc)
            .map_err(|e| Error::input(format!("results could not be encoded as JSON: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", tensor_table::table(&lines));
    }
    Ok(())
}
