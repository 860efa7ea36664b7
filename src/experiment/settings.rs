//! What a sweep runs: the settings that decide its numbers, resolved from the command line over a
//! TOML file over the prototype's defaults, and checked before anything is computed or written.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::defaults;
use crate::error::{Error, Result};
use crate::options::{Device, FactoringChoice, Precision};

/// One layer of settings, every field optional: the command line, or a `--config` TOML file.
/// A field set on the command line wins over the file, the file over the defaults.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SettingsLayer {
    pub dims: Option<Vec<usize>>,
    pub heads: Option<Vec<usize>>,
    pub epochs: Option<usize>,
    pub lr: Option<f64>,
    pub samples: Option<usize>,
    pub seed: Option<u64>,
    pub seeds: Option<usize>,
    pub precision: Option<Precision>,
    pub device: Option<Device>,
    pub factoring: Option<FactoringChoice>,
    pub init: Option<PathBuf>,
    pub init_prefix: Option<String>,
    pub data: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub save_params: Option<bool>,
    /// Display only (never part of `Settings`): ± intervals, z, figures after the run.
    pub ci: Option<bool>,
    pub z: Option<bool>,
    pub plot: Option<bool>,
}

impl SettingsLayer {
    /// Reads a `--config` TOML file (the same keys as the long options, `save-params` spelled
    /// `save_params`). Unknown keys are errors, so a typo does not silently run the defaults.
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::input(format!(
                "--config {}: cannot read it ({e}); check the path",
                path.display()
            ))
        })?;
        toml::from_str(&text).map_err(|e| {
            Error::input(format!(
                "{}: not a valid sweep config: {}expected keys: dims, heads, epochs, lr, samples, \
                 seed, seeds, precision, device, factoring, init, init_prefix, data, out, save_params, ci, z, \
                 plot",
                path.display(),
                e
            ))
        })
    }

    /// `self` where set, else `under`.
    pub fn over(self, under: SettingsLayer) -> SettingsLayer {
        SettingsLayer {
            dims: self.dims.or(under.dims),
            heads: self.heads.or(under.heads),
            epochs: self.epochs.or(under.epochs),
            lr: self.lr.or(under.lr),
            samples: self.samples.or(under.samples),
            seed: self.seed.or(under.seed),
            seeds: self.seeds.or(under.seeds),
            precision: self.precision.or(under.precision),
            device: self.device.or(under.device),
            factoring: self.factoring.or(under.factoring),
            init: self.init.or(under.init),
            init_prefix: self.init_prefix.or(under.init_prefix),
            data: self.data.or(under.data),
            out: self.out.or(under.out),
            save_params: self.save_params.or(under.save_params),
            ci: self.ci.or(under.ci),
            z: self.z.or(under.z),
            plot: self.plot.or(under.plot),
        }
    }
}

/// A file the run starts from, identified by content so that a moved copy still matches.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct InputFile {
    /// As given on the command line (informational).
    pub path: String,
    /// FNV-1a 64 of the file's bytes, hex: what resume and merge compare.
    pub fnv1a64: String,
}

impl InputFile {
    /// Fingerprints the file given with `option`.
    pub fn read(option: &str, path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::input(format!(
                "{option} {}: cannot read it ({e}); check the path",
                path.display()
            ))
        })?;
        Ok(InputFile {
            path: path.display().to_string(),
            fnv1a64: format!("{:016x}", crate::experiment::seeds::fnv1a64(&bytes)),
        })
    }
}

/// Everything that decides a sweep's numbers; stored in results.json and compared on resume and
/// merge. (Where results go, the progress bar, sharding: not here, they change no number.)
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    pub dims: Vec<usize>,
    pub heads: Vec<usize>,
    pub epochs: usize,
    pub lr: f64,
    pub samples: usize,
    /// The first seed; `seeds` seeds are run: seed, seed+1, …
    pub seed: u64,
    pub seeds: usize,
    pub precision: Precision,
    pub device: Device,
    /// Absent in results written before it existed, which trained with `qkv` everywhere: read
    /// as that, so resuming such a folder with the new default is refused, not mixed.
    #[serde(default = "factoring_before_the_option")]
    pub factoring: FactoringChoice,
    pub init: Option<InputFile>,
    /// The name prefix of the parameters in the init file (e.g. `init.`); empty for none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub init_prefix: String,
    pub data: Option<InputFile>,
}

fn factoring_before_the_option() -> FactoringChoice {
    FactoringChoice::Qkv
}

impl Default for Settings {
    /// The prototype's sweep.
    fn default() -> Self {
        Settings {
            dims: defaults::DIMS.to_vec(),
            heads: defaults::HEADS.to_vec(),
            epochs: defaults::EPOCHS,
            lr: defaults::LR,
            samples: defaults::CV_SAMPLES,
            seed: defaults::SEED,
            seeds: 1,
            precision: Precision::default(),
            device: Device::default(),
            factoring: FactoringChoice::default(),
            init: None,
            init_prefix: String::new(),
            data: None,
        }
    }
}

/// One config of the sweep: a model shape and a seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConfigKey {
    pub dim: usize,
    pub heads: usize,
    pub seed: u64,
}

impl ConfigKey {
    pub fn head_dim(&self) -> usize {
        self.dim / self.heads
    }

    /// The file stem of this config's result and parameter files, e.g. `D64_h2_s42`.
    pub fn stem(&self) -> String {
        format!("D{}_h{}_s{}", self.dim, self.heads, self.seed)
    }
}

impl std::fmt::Display for ConfigKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "D={} heads={} seed={}", self.dim, self.heads, self.seed)
    }
}

impl Settings {
    /// Resolves a layer over the defaults and checks it; `init`/`data` are read to fingerprint
    /// them (their contents are checked later, when loaded).
    pub fn resolve(layer: &SettingsLayer) -> Result<Settings> {
        let d = Settings::default();
        let settings = Settings {
            dims: layer.dims.clone().unwrap_or(d.dims),
            heads: layer.heads.clone().unwrap_or(d.heads),
            epochs: layer.epochs.unwrap_or(d.epochs),
            lr: layer.lr.unwrap_or(d.lr),
            samples: layer.samples.unwrap_or(d.samples),
            seed: layer.seed.unwrap_or(d.seed),
            seeds: layer.seeds.unwrap_or(d.seeds),
            precision: layer.precision.unwrap_or(d.precision),
            device: layer.device.unwrap_or(d.device),
            factoring: layer.factoring.unwrap_or(d.factoring),
            init: layer
                .init
                .as_deref()
                .map(|p| InputFile::read("--init", p))
                .transpose()?,
            init_prefix: layer.init_prefix.clone().unwrap_or_default(),
            data: layer
                .data
                .as_deref()
                .map(|p| InputFile::read("--data", p))
                .transpose()?,
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Checks every value; each message names the value and what would be accepted.
    pub fn validate(&self) -> Result<()> {
        check_list("--dims", &self.dims)?;
        check_list("--heads", &self.heads)?;
        for &dim in &self.dims {
            for &heads in &self.heads {
                if dim % heads != 0 {
                    let divisors: Vec<String> = (1..=dim)
                        .filter(|h| dim % h == 0)
                        .map(|h| h.to_string())
                        .collect();
                    return Err(Error::input(format!(
                        "D={dim} is not divisible by heads={heads}: head_dim = D / heads must be a \
                         whole number; for D={dim} choose heads among {}",
                        divisors.join(", ")
                    )));
                }
            }
        }
        if self.device == Device::Cuda && self.factoring == FactoringChoice::QkvAndOut {
            return Err(Error::input(
                "--factoring qkv-and-out: the GPU has no kernels for the factored out \
                 projection; use --factoring auto or qkv there (or --device cpu)",
            ));
        }
        if self.epochs == 0 {
            return Err(Error::input(
                "--epochs 0: at least 1 epoch is needed (the prototype trains 50)",
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::input(format!(
                "--lr {}: the learning rate must be a finite number > 0 (the prototype uses 1e-3)",
                self.lr
            )));
        }
        if self.samples < defaults::CV_MIN_VALID {
            return Err(Error::input(format!(
                "--samples {}: at least {} are needed, since a CV needs {} kept volumes (the \
                 prototype draws 300)",
                self.samples,
                defaults::CV_MIN_VALID,
                defaults::CV_MIN_VALID
            )));
        }
        if self.seeds == 0 {
            return Err(Error::input("--seeds 0: at least 1 seed is needed"));
        }
        if self.seed.checked_add(self.seeds as u64 - 1).is_none() {
            return Err(Error::input(format!(
                "--seed {} with --seeds {}: the last seed would pass 2^64 - 1; choose a smaller seed",
                self.seed, self.seeds
            )));
        }
        if !self.init_prefix.is_empty() && self.init.is_none() {
            return Err(Error::input(format!(
                "--init-prefix {}: it names the parameters inside an --init file; give --init too",
                self.init_prefix
            )));
        }
        if cfg!(not(feature = "cuda")) && self.device == Device::Cuda {
            return Err(Error::input(super::run::CUDA_NOT_BUILT));
        }
        Ok(())
    }

    /// The seeds run for every shape: seed, seed+1, …, seed+seeds-1.
    pub fn seed_list(&self) -> Vec<u64> {
        (0..self.seeds as u64).map(|i| self.seed + i).collect()
    }

    /// Every config, in the order the sweep runs and prints them: D, then heads (the prototype's
    /// order), then seed.
    pub fn configs(&self) -> Vec<ConfigKey> {
        let mut out = Vec::with_capacity(self.dims.len() * self.heads.len() * self.seeds);
        for &dim in &self.dims {
            for &heads in &self.heads {
                for seed in self.seed_list() {
                    out.push(ConfigKey { dim, heads, seed });
                }
            }
        }
        out
    }

    /// The epoch after which the prototype measures "mid" (`epoch == epochs // 2`); none for
    /// a single epoch, as in the prototype.
    pub fn mid_epoch(&self) -> Option<usize> {
        let mid = self.epochs / 2;
        (mid >= 1).then_some(mid)
    }

    /// True when two result sets were made by the same settings (input files compared by
    /// content, not by path).
    pub fn same_run(&self, other: &Settings) -> bool {
        let strip = |s: &Settings| {
            let mut s = s.clone();
            for f in [&mut s.init, &mut s.data].into_iter().flatten() {
                f.path.clear();
            }
            s
        };
        strip(self) == strip(other)
    }

    /// The settings that differ from `other`, as `name: ours vs theirs`, for refusal messages.
    pub fn differences(&self, other: &Settings) -> Vec<String> {
        let ours = serde_json::to_value(self).unwrap_or_default();
        let theirs = serde_json::to_value(other).unwrap_or_default();
        let (Some(a), Some(b)) = (ours.as_object(), theirs.as_object()) else {
            return Vec::new();
        };
        a.iter()
            .filter(|(k, v)| {
                let w = &b[k.as_str()];
                // Input files differ only if their contents do.
                match (v.get("fnv1a64"), w.get("fnv1a64")) {
                    (Some(x), Some(y)) => x != y,
                    _ => *v != w,
                }
            })
            .map(|(k, v)| format!("{k}: {v} vs {}", b[k.as_str()]))
            .collect()
    }
}

fn check_list(option: &str, values: &[usize]) -> Result<()> {
    if values.is_empty() {
        return Err(Error::input(format!(
            "{option}: give at least one value (comma-separated)"
        )));
    }
    if values.contains(&0) {
        return Err(Error::input(format!(
            "{option} contains 0: every value must be at least 1"
        )));
    }
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(Error::input(format!(
                "{option} lists {v} twice: give each value once"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_prototype_sweep() {
        let s = Settings::resolve(&SettingsLayer::default()).unwrap();
        assert_eq!(s, Settings::default());
        let keys = s.configs();
        assert_eq!(keys.len(), 12);
        assert_eq!(
            keys[0],
            ConfigKey {
                dim: 64,
                heads: 1,
                seed: 42
            }
        );
        assert_eq!(
            keys[11],
            ConfigKey {
                dim: 256,
                heads: 8,
                seed: 42
            }
        );
        assert_eq!(s.mid_epoch(), Some(25));
    }

    #[test]
    fn command_line_wins_over_file_wins_over_defaults() {
        let file: SettingsLayer = toml::from_str("dims = [16]\nepochs = 4\nlr = 0.01").unwrap();
        let cli = SettingsLayer {
            epochs: Some(2),
            ..Default::default()
        };
        let s = Settings::resolve(&cli.over(file)).unwrap();
        assert_eq!((s.dims.clone(), s.epochs, s.lr), (vec![16], 2, 0.01));
        assert_eq!(s.heads, defaults::HEADS.to_vec());
    }

    #[test]
    fn display_flags_come_from_the_file_unless_given() {
        let file: SettingsLayer = toml::from_str("ci = true\nz = false\nplot = true").unwrap();
        let cli = SettingsLayer {
            z: Some(true),
            ..Default::default()
        };
        let layer = cli.over(file);
        assert_eq!(
            (layer.ci, layer.z, layer.plot),
            (Some(true), Some(true), Some(true))
        );
        // They change no number, so the settings (compared on resume) are the defaults.
        assert_eq!(Settings::resolve(&layer).unwrap(), Settings::default());
    }

    #[test]
    fn unknown_toml_key_is_an_error() {
        assert!(toml::from_str::<SettingsLayer>("dimz = [16]").is_err());
    }

    #[test]
    fn each_bad_value_is_refused_with_its_name() {
        let cases = vec![
            (
                SettingsLayer {
                    heads: Some(vec![3]),
                    ..Default::default()
                },
                "not divisible",
            ),
            (
                SettingsLayer {
                    heads: Some(vec![0]),
                    ..Default::default()
                },
                "--heads contains 0",
            ),
            (
                SettingsLayer {
                    epochs: Some(0),
                    ..Default::default()
                },
                "--epochs 0",
            ),
            (
                SettingsLayer {
                    lr: Some(f64::NAN),
                    ..Default::default()
                },
                "--lr",
            ),
            (
                SettingsLayer {
                    samples: Some(9),
                    ..Default::default()
                },
                "--samples 9",
            ),
            (
                SettingsLayer {
                    dims: Some(vec![64, 64]),
                    ..Default::default()
                },
                "twice",
            ),
            #[cfg(not(feature = "cuda"))]
            (
                SettingsLayer {
                    device: Some(Device::Cuda),
                    ..Default::default()
                },
                "--features cuda",
            ),
        ];
        for (layer, needle) in cases {
            let err = Settings::resolve(&layer).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            assert!(err.to_string().contains(needle), "{err} lacks {needle}");
        }
    }

    #[test]
    fn one_epoch_has_no_mid_and_seeds_extend_the_configs() {
        let s = Settings {
            epochs: 1,
            seeds: 3,
            dims: vec![8],
            heads: vec![2],
            ..Default::default()
        };
        assert_eq!(s.mid_epoch(), None);
        let seeds: Vec<u64> = s.configs().iter().map(|k| k.seed).collect();
        assert_eq!(seeds, vec![42, 43, 44]);
    }

    #[test]
    fn input_files_compare_by_content_and_differences_are_named() {
        let file = |p: &str| {
            Some(InputFile {
                path: p.into(),
                fnv1a64: "ab".into(),
            })
        };
        let a = Settings {
            init: file("a/x"),
            ..Default::default()
        };
        let b = Settings {
            init: file("b/x"),
            ..Default::default()
        };
        assert!(a.same_run(&b));
        assert!(a.differences(&b).is_empty());
        let c = Settings { epochs: 7, ..b };
        assert!(!a.same_run(&c));
        assert_eq!(a.differences(&c), vec!["epochs: 50 vs 7".to_string()]);
    }
}
