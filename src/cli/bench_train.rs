//! `mha-cv bench train`: milliseconds per full-batch training step (forward, backward, Adam) of
//! the prototype's model on the CPU, in f32 on the prototype's data (500 × 8 tokens), for each
//! config asked, with one `--factoring` against a named `--baseline` factoring measured in the
//! same run. The two models step in turn (ours, baseline, ours, …), so that both see the same
//! state of a noisy machine; the first `--warmup` steps of each are discarded, and the median
//! and minimum of the next `--steps` are reported, with the ratio of the medians. `--ops` also
//! times each op of the timed factoring's steps, forward and backward (`tape/timing.rs`), and
//! reports their means per step next to the mean step.

use std::time::Instant;

use serde::Serialize;

use crate::backend::cpu::Cpu;
use crate::backend::Backend;
use crate::data::{make_data, DataSpec};
use crate::defaults;
use crate::error::{Error, Result};
use crate::model::{init_params, DeviceData, Factoring, Model, ModelConfig};
use crate::options::FactoringChoice;
use crate::tape::OpTimes;

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
    /// Also time each op of the timed factoring's steps, forward and backward.
    #[arg(long)]
    pub ops: bool,
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
    /// With `--ops`: the timed factoring's ops, means per step over the timed steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    ops: Option<OpsReport>,
}

/// Means per step, in ms, of each op and of the whole step, over the same timed steps: the ops
/// and the update sum to less than the step (the rest is the model's own bookkeeping).
#[derive(Serialize, Debug)]
struct OpsReport {
    ms_step_mean: f64,
    ms_update: f64,
    ops: Vec<OpReport>,
}

#[derive(Serialize, Debug)]
struct OpReport {
    op: &'static str,
    ms_forward: f64,
    ms_backward: f64,
}

impl OpsReport {
    fn new(times: &OpTimes, steps: &[f64]) -> Self {
        let n = steps.len() as f64;
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3 / n;
        OpsReport {
            ms_step_mean: steps.iter().sum::<f64>() / n,
            ms_update: ms(times.update),
            ops: times
                .ops
                .iter()
                .map(|t| OpReport {
                    op: t.op,
                    ms_forward: ms(t.forward),
                    ms_backward: ms(t.backward),
                })
                .collect(),
        }
    }

    /// The text form: one line per op, then the update and the sum against the step.
    fn text(&self) -> String {
        let mut out = format!(
            "  {:<16} {:>10} {:>10}\n",
            "op (ms/step)", "forward", "backward"
        );
        for t in &self.ops {
            let line = format!(
                "  {:<16} {:>10.2} {:>10.2}\n",
                t.op, t.ms_forward, t.ms_backward
            );
            out.push_str(&line);
        }
        let sum = self
            .ops
            .iter()
            .map(|t| t.ms_forward + t.ms_backward)
            .sum::<f64>()
            + self.ms_update;
        out.push_str(&format!(
            "  {:<16} {:>21.2}\n",
            "adam update", self.ms_update
        ));
        out.push_str(&format!(
            "  {:<16} {:>21.2} of a {:.2} ms mean step\n",
            "sum", sum, self.ms_step_mean
        ));
        out
    }
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
                if let Some(ops) = &report.ops {
                    print!("{}", ops.text());
                }
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
    let mut op_times = OpTimes::default();
    for i in 0..a.warmup + a.steps {
        let timed = i >= a.warmup;
        let t0 = Instant::now();
        if a.ops && timed {
            op_times.merge(&ours.train_step_timed(&dd, defaults::LR)?.1);
        } else {
            ours.train_step(&dd, defaults::LR)?;
        }
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        if timed {
            t_ours.push(ms);
        }
        let t0 = Instant::now();
        base.train_step(&dd, defaults::LR)?;
        if timed {
            t_base.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    let ops = a.ops.then(|| OpsReport::new(&op_times, &t_ours));
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
        ops,
    })
}

/// (median, minimum) of at least one time.
fn median_min(times: &mut [f64]) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[0])
}
