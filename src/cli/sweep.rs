//! `mha-cv sweep` (and `mha-cv` with no arguments): the prototype's experiment over D × heads
//! (× seeds), printed in the prototype's layout and stored, resumably, in `--out`.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use crate::error::Result;
use crate::experiment::inputs::Inputs;
use crate::experiment::measure::prefetch_nulls;
use crate::experiment::result::ConfigResult;
use crate::experiment::run::{run_config, Engine, RunContext, Timings};
use crate::experiment::settings::{ConfigKey, Settings, SettingsLayer};
use crate::experiment::shard::Shard;
use crate::experiment::store::Store;
use crate::experiment::sweep::{run_sweep, selected, Observer, Scope};
use crate::options::{Device, FactoringChoice, Precision};
use crate::report::figures::plot_dir;
use crate::report::progress::Progress;
use crate::report::text::{self, View};
use crate::report::timings::timings_table;
use crate::stats::null::{NullCache, REPLICATES};

/// The null-baseline cache in the output folder.
pub const NULL_CACHE_FILE: &str = "null_cache.json";

/// Every option is optional: unset ones come from `--config`, then from the prototype's
/// defaults, so `SweepArgs::default()` is the prototype's sweep.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct SweepArgs {
    /// Embedding dims D, comma-separated [default: 64,128,256].
    #[arg(long, value_delimiter = ',', value_name = "D,…")]
    pub dims: Option<Vec<usize>>,
    /// Head counts, comma-separated; each must divide every D [default: 1,2,4,8].
    #[arg(long, value_delimiter = ',', value_name = "H,…")]
    pub heads: Option<Vec<usize>>,
    /// Training epochs (full batch); mid is measured after epochs/2 [default: 50].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Adam learning rate [default: 0.001].
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// Pentachora sampled per CV estimate [default: 300].
    #[arg(long)]
    pub samples: Option<usize>,
    /// Seed of the data, the initialisation and the CV samples [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run every config with N seeds: seed, seed+1, … [default: 1].
    #[arg(long, value_name = "N")]
    pub seeds: Option<usize>,
    /// Precision of the Cayley–Menger determinant [default: f64].
    #[arg(long, value_enum)]
    pub precision: Option<Precision>,
    /// Where to train [default: cpu].
    #[arg(long, value_enum)]
    pub device: Option<Device>,
    /// Which projections run on the distinct rows (vocab + seq) instead of every token;
    /// results differ by the order of the sums only [default: auto].
    #[arg(long, value_enum)]
    pub factoring: Option<FactoringChoice>,
    /// Folder for results.json, results.csv, configs/ (and params/) [default: results].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Read these settings from a TOML file (same names; the command line wins).
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Start from these parameters (a PyTorch state_dict as .safetensors) instead of the
    /// generated initialisation.
    #[arg(long, value_name = "FILE.safetensors")]
    pub init: Option<PathBuf>,
    /// Name prefix of the parameters in the --init file (e.g. `init.`).
    #[arg(long, value_name = "PREFIX")]
    pub init_prefix: Option<String>,
    /// Train on this data set (tensors `x` (N, seq) and `y` (N)) instead of the generated one.
    #[arg(long, value_name = "FILE.safetensors")]
    pub data: Option<PathBuf>,
    /// Save each config's final parameters to DIR/params/CONFIG.safetensors.
    #[arg(long)]
    pub save_params: bool,
    /// No progress bar or notes on stderr (the tables still go to stdout).
    #[arg(long, short)]
    pub quiet: bool,
    /// Delete earlier results in --out instead of resuming (or refusing other settings).
    #[arg(long)]
    pub fresh: bool,
    /// Run only every N-th config, starting with the K-th (1-based), for job arrays.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Show ± the half-width of each value's 95% interval; flag the band only where the whole
    /// interval lies in it. Display only: intervals are always stored.
    #[arg(long)]
    pub ci: bool,
    /// Show z = (cv − null_cv) / null_sd against random matrices of the same shape. Display
    /// only: baselines are always stored.
    #[arg(long)]
    pub z: bool,
    /// Write figures (DIR/figures/*.svg) and DIR/report.html after the run (as `mha-cv plot`).
    #[arg(long)]
    pub plot: bool,
    /// Configs trained at the same time [default: the number of cores on the CPU, 1 on the
    /// GPU]. Results do not depend on it.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Print where each config's time went (setup, training, measurements) on stderr at the end.
    #[arg(long)]
    pub timings: bool,
    /// Stop after computing this many configs (tests: an interrupted run).
    #[arg(long, hide = true)]
    pub stop_after: Option<usize>,
}

impl SweepArgs {
    fn layer(&self) -> SettingsLayer {
        SettingsLayer {
            dims: self.dims.clone(),
            heads: self.heads.clone(),
            epochs: self.epochs,
            lr: self.lr,
            samples: self.samples,
            seed: self.seed,
            seeds: self.seeds,
            precision: self.precision,
            device: self.device,
            factoring: self.factoring,
            init: self.init.clone(),
            init_prefix: self.init_prefix.clone(),
            data: self.data.clone(),
            out: self.out.clone(),
            save_params: self.save_params.then_some(true),
            ci: self.ci.then_some(true),
            z: self.z.then_some(true),
            plot: self.plot.then_some(true),
        }
    }
}

pub fn run(args: SweepArgs) -> Result<()> {
    let started = Instant::now();
    let file = match &args.config {
        Some(path) => SettingsLayer::from_toml_file(path)?,
        None => SettingsLayer::default(),
    };
    let layer = args.layer().over(file);
    let settings = Settings::resolve(&layer)?;
    let jobs = jobs(args.jobs, settings.device)?;
    let inputs = Inputs::load(
        &settings,
        layer.data.as_deref(),
        layer.init.as_deref(),
        &settings.init_prefix,
    )?;
    let out = layer
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results"));
    let save_params = layer.save_params.unwrap_or(false);

    let view = View {
        seeds: settings.seeds > 1,
        ci: layer.ci.unwrap_or(false),
        z: layer.z.unwrap_or(false),
    };

    let engine = Engine::open(settings.device)?;
    // Null baselines depend on shapes only: kept in the folder, they serve resumed runs and
    // survive --fresh (`Store` deletes results, not this cache). Read (and checked) here,
    // written after each config.
    let nulls = NullCache::open(&out.join(NULL_CACHE_FILE), REPLICATES)?;
    // Everything is checked; only now is the output folder touched.
    let mut store = Store::open(&out, &settings, args.fresh)?;
    let params_dir = save_params.then(|| store.create_params_dir()).transpose()?;
    let ctx = RunContext {
        settings: &settings,
        inputs: &inputs,
        engine: &engine,
        nulls: &nulls,
    };
    let scope = Scope {
        shard: args.shard,
        stop_after: args.stop_after,
        jobs,
    };
    let mut printer = Printer {
        progress: None,
        quiet: args.quiet,
        epochs: settings.epochs,
        view,
        nulls: &nulls,
    };
    let to_run: Vec<ConfigKey> = selected(&settings, args.shard)
        .into_iter()
        .filter(|k| store.finished(k).is_none())
        .collect();
    prefetch_nulls(&settings, &inputs, &to_run, &nulls)?;
    nulls.save()?;
    print!("{}", text::header());
    let timings = Mutex::new(Vec::<(ConfigKey, Timings)>::new());
    let outcome = run_sweep(
        &settings,
        scope,
        &mut store,
        |key, on_epoch| {
            let save = params_dir
                .as_ref()
                .map(|d| d.join(format!("{}.safetensors", key.stem())));
            let (result, t) = run_config(&ctx, key, save.as_deref(), on_epoch)?;
            timings.lock().expect("timings lock").push((key, t));
            Ok(result)
        },
        &mut printer,
    )?;
    printer.finish();
    if args.timings {
        let mut timings = timings.into_inner().expect("timings lock");
        let order = settings.configs();
        timings.sort_by_key(|(k, _)| order.iter().position(|o| o == k));
        eprint!(
            "{}",
            timings_table(
                &timings,
                scope.jobs,
                nulls.compute_time(),
                started.elapsed()
            )
        );
    }
    if outcome.complete {
        print!("{}", text::summaries(&outcome.results, view)?);
    } else if !args.quiet {
        eprintln!(
            "stopped after {} computed config(s); rerun the same command to continue",
            args.stop_after.unwrap_or(0)
        );
    }
    if layer.plot.unwrap_or(false) {
        let written = plot_dir(&out)?;
        if !args.quiet {
            eprintln!(
                "wrote {} figures and {}",
                written.len().saturating_sub(1),
                out.join("report.html").display()
            );
        }
    }
    Ok(())
}

/// Configs at a time: `--jobs`, else one per core on the CPU (each config's own parallel ops
/// fill what the others leave idle) and one on the GPU (one device, one stream).
fn jobs(asked: Option<usize>, device: Device) -> Result<usize> {
    match asked {
        Some(0) => Err(crate::error::Error::input(
            "--jobs 0: at least one config must run at a time; give --jobs 1 or more",
        )),
        Some(n) => Ok(n),
        None if device == Device::Cuda => Ok(1),
        None => Ok(rayon::current_num_threads()),
    }
}

/// Prints each config's block in the sweep's order, saves the null cache after each config,
/// and drives the progress bar.
struct Printer<'a> {
    progress: Option<Progress>,
    quiet: bool,
    epochs: usize,
    view: View,
    nulls: &'a NullCache,
}

impl Printer<'_> {
    fn finish(&self) {
        if let Some(p) = &self.progress {
            p.finish();
        }
    }
}

impl Observer for Printer<'_> {
    fn begin(&mut self, selected: &[ConfigKey], to_run: usize) {
        let progress = Progress::new(to_run, self.epochs, self.quiet);
        let resumed = selected.len() - to_run;
        if resumed > 0 {
            progress.note(&format!(
                "resuming: {resumed} of {} configs already finished in the output folder",
                selected.len()
            ));
        }
        self.progress = Some(progress);
    }

    fn config_started(&mut self, key: ConfigKey) {
        if let Some(p) = &mut self.progress {
            p.config_started(&key.to_string());
        }
    }

    fn epoch_done(&mut self, key: ConfigKey, epoch: usize) {
        if let Some(p) = &mut self.progress {
            p.epoch(&key.to_string(), epoch);
        }
    }

    fn config_done(&mut self, result: &ConfigResult, resumed: bool) -> Result<()> {
        let block = text::config_block(result, self.view);
        match &mut self.progress {
            Some(p) => {
                p.config_done(&result.key().to_string());
                p.print(&block);
            }
            None => print!("{block}"),
        }
        if resumed {
            Ok(())
        } else {
            self.nulls.save()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn no_arguments_is_the_prototype_sweep() {
        assert_eq!(
            Settings::resolve(&SweepArgs::default().layer()).unwrap(),
            Settings::default()
        );
        let cli = crate::cli::Cli::try_parse_from(["mha-cv", "sweep"]).unwrap();
        let Some(crate::cli::Command::Sweep(parsed)) = cli.command else {
            panic!("`mha-cv sweep` parses as the sweep");
        };
        assert_eq!(parsed.layer(), SweepArgs::default().layer());
    }

    #[test]
    fn options_reach_the_settings() {
        let cli = crate::cli::Cli::try_parse_from([
            "mha-cv",
            "sweep",
            "--dims",
            "16,32",
            "--heads",
            "2",
            "--epochs",
            "3",
            "--lr",
            "0.01",
            "--samples",
            "50",
            "--seed",
            "7",
            "--seeds",
            "2",
            "--precision",
            "f32",
        ])
        .unwrap();
        let Some(crate::cli::Command::Sweep(args)) = cli.command else {
            panic!("parses as the sweep");
        };
        let s = Settings::resolve(&args.layer()).unwrap();
        let expected = Settings {
            dims: vec![16, 32],
            heads: vec![2],
            epochs: 3,
            lr: 0.01,
            samples: 50,
            seed: 7,
            seeds: 2,
            precision: Precision::F32,
            ..Settings::default()
        };
        assert_eq!(s, expected);
    }
}
