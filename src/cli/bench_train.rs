//! `mha-cv bench train`: milliseconds per full-batch training step (forward, backward, Adam) of
//! the prototype's model on the CPU, in f32 on the prototype's data (500 × 8 tokens), for each
//! config asked, with one `--factoring` against a named `--baseline` factoring measured in the
//! same run. The two models step in turn (ours, baseline, ours, …), so that both see the same
//! state of a noisy machine; the first `--warmup` steps of each are discarded, and the median
//! and minimum of the next `--steps` are reported, with the ratio of the medians.

use std::time::Instant;

use serde::Serialize;

use crate::backend::cpu::Cpu;
use crate::backend::Backend;
use crate::data::{make_data, DataSpec};
use crate::defaults;
use crate::error::{Error, Result};
use crate::model::{init_params, DeviceData, Factoring, Model, ModelConfig};
use crate::options::FactoringChoice;

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Embedding dims D, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "64,256",
        value_name = "D,…"
    )]
    pub dims: Vec<usize>,
    /// Head counts, comma-separated; each must divide every D.
    #[arg(long, value_delimiter = ',', default_value = "8", value_name = "H,…")]
    pub heads: Vec<usize>,
    /// The factoring timed.
    #[arg(long, value_enum, default_value_t = FactoringChoice::Auto)]
    pub factoring: FactoringChoice,
    /// The factoring it is compared with, in the same run (per-token: PyTorch's order).
    #[arg(long, value_enum, default_value_t = FactoringChoice::PerToken)]
    pub baseline: FactoringChoice,
    /// Timed steps of each (the median and the minimum are reported).
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Untimed steps of each before the timed ones.
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Print one JSON object per config instead of a line of text.
    #[arg(long)]
    pub json: bool,
}

/// What `--json` prints, one object per config.
#[derive(Serialize, Debug)]
struct Report {
    dim: usize,
    heads: usize,
    threads: usize,
    /// The factorings that ran (`auto` resolved).
    factoring: String,
    baseline: String,
    ms_median: f64,
    ms_min: f64,
    baseline_ms_median: f64,
    baseline_ms_min: f64,
    /// baseline_ms_median / ms_median.
    speedup: f64,
}

pub fn run_train(a: TrainArgs) -> Result<()> {
    if a.steps == 0 {
        return Err(Error::input(
            "bench train: --steps 0; at least 1 timed step is needed",
        ));
    }
    for &dim in &a.dims {
        for &heads in &a.heads {
            if heads == 0 || dim % heads != 0 {
                return Err(Error::input(format!(
                    "bench train: D={dim} is not divisible by heads={heads}; choose heads that \
                     divide every --dims"
                )));
            }
        }
    }
    let data = make_data(DataSpec::default(), defaults::SEED);
    for &dim in &a.dims {
        for &heads in &a.heads {
            let report = time_config(&a, &data, ModelConfig::prototype(dim, heads))?;
            if a.json {
                let line = serde_json::to_string(&report)
                    .map_err(|e| Error::input(format!("bench train: JSON: {e}")))?;
                println!("{line}");
            } else {
                println!(
                    "train step D={dim} heads={heads} (500 × 8 tokens, f32, {} threads): {} \
                     {:.2} ms median ({:.2} min); {} {:.2} ms ({:.2}) → {:.2}×",
                    report.threads,
                    report.factoring,
                    report.ms_median,
                    report.ms_min,
                    report.baseline,
                    report.baseline_ms_median,
                    report.baseline_ms_min,
                    report.speedup
                );
            }
        }
    }
    Ok(())
}

fn time_config(a: &TrainArgs, data: &crate::data::Dataset, cfg: ModelConfig) -> Result<Report> {
    let params = init_params::<f32>(&cfg, defaults::SEED);
    let model = |choice: FactoringChoice| -> Result<(Model<Cpu<f32>>, Factoring)> {
        let be = Cpu::<f32>::new();
        let path = choice.for_config(&cfg, be.has_attention_out());
        let mut m = Model::new(be, cfg, &params)?;
        m.set_factoring(path)?;
        Ok((m, path))
    };
    let (mut ours, path) = model(a.factoring)?;
    let (mut base, base_path) = model(a.baseline)?;
    let dd = DeviceData::new(ours.backend(), data)?;
    let (mut t_ours, mut t_base) = (Vec::new(), Vec::new());
    for i in 0..a.warmup + a.steps {
        for (m, times) in [(&mut ours, &mut t_ours), (&mut base, &mut t_base)] {
            let t0 = Instant::now();
            m.train_step(&dd, defaults::LR)?;
            if i >= a.warmup {
                times.push(t0.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    let (ours_med, ours_min) = median_min(&mut t_ours);
    let (base_med, base_min) = median_min(&mut t_base);
    Ok(Report {
        dim: cfg.dim,
        heads: cfg.heads,
        threads: rayon::current_num_threads(),
        factoring: format!("{path:?}"),
        baseline: format!("{base_path:?}"),
        ms_median: ours_med,
        ms_min: ours_min,
        baseline_ms_median: base_med,
        baseline_ms_min: base_min,
        speedup: base_med / ours_med,
    })
}

/// (median, minimum) of at least one time.
fn median_min(times: &mut [f64]) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[0])
}
