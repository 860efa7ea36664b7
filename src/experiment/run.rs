//! One config's run, as the prototype's `run_experiment`: measure before training, train full
//! batch with Adam for `epochs` epochs (measuring after epoch `epochs / 2`), measure after.

use std::path::Path;
use std::time::{Duration, Instant};

use super::inputs::Inputs;
use super::measure::measure;
use super::result::{ConfigResult, Phase};
use super::settings::{ConfigKey, Settings};
use crate::backend::cpu::Cpu;
#[cfg(feature = "cuda")]
use crate::backend::cuda::Cuda;
use crate::backend::Backend;
#[cfg(not(feature = "cuda"))]
use crate::error::Error;
use crate::error::Result;
use crate::io::params::save_params;
use crate::model::{DeviceData, Model};
use crate::options::Device;
use crate::stats::null::NullCache;

/// Where the configs train: opened once per process (a CUDA context is costly) and shared.
#[derive(Clone)]
pub enum Engine {
    Cpu,
    #[cfg(feature = "cuda")]
    Cuda(Cuda),
}

impl Engine {
    pub fn open(device: Device) -> Result<Engine> {
        match device {
            Device::Cpu => Ok(Engine::Cpu),
            #[cfg(feature = "cuda")]
            Device::Cuda => Ok(Engine::Cuda(Cuda::new(0)?)),
            #[cfg(not(feature = "cuda"))]
            Device::Cuda => Err(Error::input(CUDA_NOT_BUILT)),
        }
    }
}

/// The message for `--device cuda` in a build without the `cuda` feature.
pub const CUDA_NOT_BUILT: &str =
    "--device cuda: this binary was built without the `cuda` feature; \
     rebuild with `cargo build --release --features cuda` (see README, GPU), or use --device cpu";

/// What a config's run needs besides its key, shared by every config of a sweep.
pub struct RunContext<'a> {
    pub settings: &'a Settings,
    pub inputs: &'a Inputs,
    pub engine: &'a Engine,
    /// Null baselines, computed once per shape across configs.
    pub nulls: &'a NullCache,
}

/// Where a config's wall time went (`sweep --timings`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    /// Uploading the data and the initial parameters (and saving the final ones, if asked).
    pub setup: Duration,
    /// The training steps (forward, backward, Adam).
    pub train: Duration,
    /// The measurements (forward passes, CVs, intervals, null baselines not yet cached) and
    /// the accuracies.
    pub measure: Duration,
}

impl Timings {
    pub fn total(&self) -> Duration {
        self.setup + self.train + self.measure
    }
}

/// Trains and measures `key`; `on_epoch(e)` after each epoch; the final parameters are saved
/// to `save` when given.
pub fn run_config(
    ctx: &RunContext,
    key: ConfigKey,
    save: Option<&Path>,
    on_epoch: &dyn Fn(usize),
) -> Result<(ConfigResult, Timings)> {
    match ctx.engine {
        Engine::Cpu => run_on(Cpu::<f32>::new(), ctx, key, save, on_epoch),
        #[cfg(feature = "cuda")]
        Engine::Cuda(cuda) => run_on(cuda.clone(), ctx, key, save, on_epoch),
    }
}

fn run_on<B: Backend<T = f32>>(
    backend: B,
    ctx: &RunContext,
    key: ConfigKey,
    save: Option<&Path>,
    on_epoch: &dyn Fn(usize),
) -> Result<(ConfigResult, Timings)> {
    let (settings, inputs, nulls) = (ctx.settings, ctx.inputs, ctx.nulls);
    let mut t = Timings::default();
    let mut clock = Instant::now();
    // Adds the time since the last lap to `slot`.
    let mut lap = |slot: &mut Duration| {
        let now = Instant::now();
        *slot += now - clock;
        clock = now;
    };
    let cfg = inputs.model_config(key);
    let data = DeviceData::new(&backend, &inputs.data(key.seed))?;
    let mut model = Model::new(backend, cfg, &inputs.params(&cfg, key.seed)?)?;
    let has_attention_out = model.backend().has_attention_out();
    model.set_factoring(settings.factoring.for_config(&cfg, has_attention_out))?;
    lap(&mut t.setup);

    let pre = measure(&model, &data, key, Phase::Pre, settings, nulls)?;
    lap(&mut t.measure);
    let mut losses = Vec::with_capacity(settings.epochs);
    let (mut mid, mut acc_mid) = (None, None);
    for epoch in 1..=settings.epochs {
        losses.push(model.train_step(&data, settings.lr)?);
        lap(&mut t.train);
        on_epoch(epoch);
        if Some(epoch) == settings.mid_epoch() {
            acc_mid = Some(model.accuracy(&data)?);
            mid = Some(measure(&model, &data, key, Phase::Mid, settings, nulls)?);
            lap(&mut t.measure);
        }
    }
    let acc = model.accuracy(&data)?;
    let post = measure(&model, &data, key, Phase::Post, settings, nulls)?;
    lap(&mut t.measure);
    if let Some(path) = save {
        save_params(path, &model.params()?)?;
        lap(&mut t.setup);
    }
    let result = ConfigResult {
        dim: key.dim,
        heads: key.heads,
        head_dim: key.head_dim(),
        seed: key.seed,
        losses,
        mid_epoch: settings.mid_epoch(),
        acc_mid,
        acc,
        pre,
        mid,
        post,
    };
    Ok((result, t))
}
