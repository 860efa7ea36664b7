//! Choices shared by the subcommands and the rooms they call: where to compute, in what precision,
//! with which projections factored.

use serde::{Deserialize, Serialize};

use crate::model::{Factoring, ModelConfig};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    #[default]
    Cpu,
    Cuda,
}

/// The precision of the Cayley–Menger determinant (training always runs in f32).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    F32,
    #[default]
    F64,
}

/// Which projections training runs on the distinct rows (`model::Factoring`). The results of
/// the choices differ by the order of the sums only; `auto` takes the fastest for each config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FactoringChoice {
    /// `qkv-and-out` where it is faster (4·seq·heads ≤ dim, CPU), else `qkv`.
    #[default]
    Auto,
    /// PyTorch's order: every projection on all tokens.
    PerToken,
    /// The QKV projection on the vocab + seq distinct rows.
    Qkv,
    /// The QKV and the out projection on the distinct rows (CPU only).
    QkvAndOut,
}

impl FactoringChoice {
    /// The factoring a model of `cfg` trains with on a backend that has (or not) the
    /// factored out projection.
    pub fn for_config(self, cfg: &ModelConfig, has_attention_out: bool) -> Factoring {
        match self {
            FactoringChoice::Auto => Factoring::fastest(cfg, has_attention_out),
            FactoringChoice::PerToken => Factoring::PerToken,
            FactoringChoice::Qkv => Factoring::Qkv,
            FactoringChoice::QkvAndOut => Factoring::QkvAndOut,
        }
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
        })
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        })
    }
}
