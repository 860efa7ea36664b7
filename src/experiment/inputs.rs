//! What a config starts from: the prototype's generated data and initialisation, or the files
//! given with `--data` / `--init` (a PyTorch state_dict, for parity runs). Everything is read
//! and checked against every config before the sweep writes anything.

use std::path::{Path, PathBuf};

use crate::data::{make_data, DataSpec, Dataset};
use crate::defaults;
use crate::error::{Error, Result};
use crate::io::AnyTensor;
use crate::model::{init_params, HostParams, ModelConfig, PARAM_NAMES};

use super::settings::{ConfigKey, Settings};

/// The data and initial parameters of a sweep.
pub struct Inputs {
    data: Option<Dataset>,
    /// The `--init` file's tensors (parameters stored as `<prefix><name>`).
    init: Option<(PathBuf, Vec<AnyTensor>, String)>,
    vocab: usize,
    classes: usize,
    seq_len: usize,
}

impl Inputs {
    /// Reads `--data` and `--init` (with the name prefix of the parameters in the init file)
    /// and checks them against every config of `settings`.
    pub fn load(
        settings: &Settings,
        data: Option<&Path>,
        init: Option<&Path>,
        init_prefix: &str,
    ) -> Result<Inputs> {
        let data = data.map(crate::io::dataset::load_dataset).transpose()?;
        let init = init
            .map(|p| {
                Ok::<_, Error>((
                    p.to_path_buf(),
                    crate::io::safetensors::read_tensors(p)?,
                    init_prefix.to_string(),
                ))
            })
            .transpose()?;
        // The sizes the model takes from its inputs: vocabulary and classes from the init file's
        // emb.weight / head.weight, the sequence length from the data (or pos); else the prototype's.
        let rows_of = |name: &str, axis: usize| {
            init.as_ref().and_then(|(_, tensors, prefix)| {
                let full = format!("{prefix}{name}");
                tensors
                    .iter()
                    .find(|t| t.name == full)
                    .and_then(|t| t.shape.get(axis).copied())
            })
        };
        let inputs = Inputs {
            vocab: rows_of("emb.weight", 0).unwrap_or(defaults::VOCAB),
            classes: rows_of("head.weight", 0).unwrap_or(defaults::N_CLASSES),
            seq_len: data
                .as_ref()
                .map(|d| d.seq_len)
                .or_else(|| rows_of("pos", 1))
                .unwrap_or(defaults::SEQ_LEN),
            data,
            init,
        };
        inputs.check(settings)?;
        Ok(inputs)
    }

    /// The model of a config.
    pub fn model_config(&self, key: ConfigKey) -> ModelConfig {
        ModelConfig {
            vocab: self.vocab,
            dim: key.dim,
            heads: key.heads,
            seq_len: self.seq_len,
            classes: self.classes,
        }
    }

    /// The training data of a seed: the given data set, or the prototype's generator with this
    /// seed (sized to the model's vocabulary, classes and sequence length).
    pub fn data(&self, seed: u64) -> Dataset {
        match &self.data {
            Some(d) => d.clone(),
            None => make_data(
                DataSpec {
                    vocab: self.vocab,
                    classes: self.classes,
                    seq_len: self.seq_len,
                    ..DataSpec::default()
                },
                seed,
            ),
        }
    }

    /// The initial parameters of a config: the given ones, or `init_params(cfg, seed)`.
    pub fn params(&self, cfg: &ModelConfig, seed: u64) -> Result<HostParams<f32>> {
        match &self.init {
            Some((path, tensors, prefix)) => {
                crate::io::params::params_from_tensors(path, tensors, prefix, cfg)
            }
            None => Ok(init_params(cfg, seed)),
        }
    }

    fn check(&self, settings: &Settings) -> Result<()> {
        for key in settings.configs() {
            let cfg = self.model_config(key);
            cfg.validate()?;
            if let Some((_, tensors, prefix)) = &self.init {
                self.params(&cfg, key.seed).map_err(|e| {
                    Error::input(format!(
                        "--init for D={} heads={}: {e}{}",
                        key.dim,
                        key.heads,
                        prefix_hint(tensors, prefix)
                    ))
                })?;
            }
        }
        if let Some(d) = &self.data {
            d.validate(self.vocab, self.classes).map_err(|e| {
                Error::input(format!(
                    "--data: {e} (the model has vocabulary {} and {} classes{})",
                    self.vocab,
                    self.classes,
                    if self.init.is_some() {
                        ", from --init"
                    } else {
                        "; give --init for other sizes"
                    }
                ))
            })?;
        }
        Ok(())
    }
}

/// When complete parameter sets sit under other name prefixes (e.g. `init.emb.weight` in the
/// PyTorch fixture), names them so the user can pick one with `--init-prefix`.
fn prefix_hint(tensors: &[AnyTensor], prefix: &str) -> String {
    let has = |p: &str| {
        PARAM_NAMES
            .iter()
            .all(|n| tensors.iter().any(|t| t.name == format!("{p}{n}")))
    };
    if has(prefix) {
        return String::new();
    }
    let mut found: Vec<&str> = tensors
        .iter()
        .filter_map(|t| t.name.strip_suffix("emb.weight"))
        .filter(|p| has(p))
        .collect();
    found.sort();
    found.dedup();
    if found.is_empty() {
        return String::new();
    }
    let list: Vec<String> = found.iter().map(|p| format!("`{p}`")).collect();
    format!(
        "; the file holds complete parameter sets under the prefix(es) {}: choose one with --init-prefix",
        list.join(", ")
    )
}
