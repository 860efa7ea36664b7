//! The model's sizes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::defaults;
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub vocab: usize,
    pub dim: usize,
    pub heads: usize,
    pub seq_len: usize,
    pub classes: usize,
}

impl ModelConfig {
    /// The prototype's model at embedding size `dim` with `heads` heads (vocab 256, seq 8,
    /// 10 classes).
    pub fn prototype(dim: usize, heads: usize) -> Self {
        ModelConfig {
            vocab: defaults::VOCAB,
            dim,
            heads,
            seq_len: defaults::SEQ_LEN,
            classes: defaults::N_CLASSES,
        }
    }

    /// dim / heads (meaningful once `validate` has passed).
    pub fn head_dim(&self) -> usize {
        self.dim / self.heads.max(1)
    }

    /// Every size ≥ 1 and dim divisible by heads.
    pub fn validate(&self) -> Result<()> {
        let sizes = [
            ("vocab", self.vocab),
            ("dim", self.dim),
            ("heads", self.heads),
            ("seq_len", self.seq_len),
            ("classes", self.classes),
        ];
        if let Some((name, _)) = sizes.iter().find(|(_, v)| *v == 0) {
            return Err(Error::input(format!(
                "model config: {name} is 0, expected ≥ 1 ({self})"
            )));
        }
        if !self.dim.is_multiple_of(self.heads) {
            return Err(Error::input(format!(
                "model config: dim {} is not divisible by heads {}; choose heads dividing dim \
                 (head_dim = dim / heads)",
                self.dim, self.heads
            )));
        }
        Ok(())
    }
}

impl fmt::Display for ModelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "vocab {}, dim {}, heads {}, seq_len {}, classes {}",
            self.vocab, self.dim, self.heads, self.seq_len, self.classes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_the_bad_size() {
        assert!(ModelConfig::prototype(64, 8).validate().is_ok());
        let err = ModelConfig::prototype(64, 0)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("heads is 0"), "{err}");
        let err = ModelConfig::prototype(64, 3)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("dim 64 is not divisible by heads 3"), "{err}");
        let cfg = ModelConfig {
            classes: 0,
            ..ModelConfig::prototype(64, 8)
        };
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("classes is 0"));
    }
}
