//! The prototype's data (`make_data`): 10 classes × 50 noisy copies of a random 8-token pattern,
//! shuffled. Drawn from [`crate::rng::Rng`] in this exact order, so a seed fixes the data on every
//! platform (only integer and uniform draws are used):
//! 1. per class c = 0..10: 8 tokens, each `below(vocab)` (the base patterns);
//! 2. per class, per sample: 8 uniforms (the mask: position replaced where u < 0.25), then one
//!    `below(vocab)` per masked position, in position order (as the prototype draws the mask
//!    first, then `mask.sum()` tokens);
//! 3. a Fisher–Yates shuffle of the samples: for i = n-1 down to 1, swap i with `below(i + 1)`.

use crate::defaults;
use crate::error::{Error, Result};
use crate::rng::Rng;

/// A classification data set: `x` (n, seq_len) token ids, row-major; `y` (n) labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    pub x: Vec<u32>,
    pub y: Vec<u32>,
    pub n: usize,
    pub seq_len: usize,
}

/// The sizes of a generated data set; `Default` is the prototype's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DataSpec {
    pub classes: usize,
    pub per_class: usize,
    pub seq_len: usize,
    pub vocab: usize,
    pub noise_p: f64,
}

impl Default for DataSpec {
    fn default() -> Self {
        DataSpec {
            classes: defaults::N_CLASSES,
            per_class: defaults::SAMPLES_PER_CLASS,
            seq_len: defaults::SEQ_LEN,
            vocab: defaults::VOCAB,
            noise_p: defaults::NOISE_P,
        }
    }
}

/// Generates the prototype's data set for `spec` from `seed`.
pub fn make_data(spec: DataSpec, seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let vocab = spec.vocab as u64;
    let base: Vec<u32> = (0..spec.classes * spec.seq_len)
        .map(|_| rng.below(vocab) as u32)
        .collect();

    let n = spec.classes * spec.per_class;
    let mut samples: Vec<(Vec<u32>, u32)> = Vec::with_capacity(n);
    for class in 0..spec.classes {
        let pattern = &base[class * spec.seq_len..(class + 1) * spec.seq_len];
        for _ in 0..spec.per_class {
            let mask: Vec<bool> = (0..spec.seq_len)
                .map(|_| rng.uniform() < spec.noise_p)
                .collect();
            let mut tokens = pattern.to_vec();
            for (token, _) in tokens.iter_mut().zip(&mask).filter(|(_, &m)| m) {
                *token = rng.below(vocab) as u32;
            }
            samples.push((tokens, class as u32));
        }
    }
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        samples.swap(i, j);
    }

    Dataset {
        x: samples
            .iter()
            .flat_map(|(t, _)| t.iter().copied())
            .collect(),
        y: samples.iter().map(|&(_, c)| c).collect(),
        n,
        seq_len: spec.seq_len,
    }
}

impl Dataset {
    /// The first `n` samples (all of them when there are fewer).
    pub fn head(&self, n: usize) -> Dataset {
        let n = n.min(self.n);
        Dataset {
            x: self.x[..n * self.seq_len].to_vec(),
            y: self.y[..n].to_vec(),
            n,
            seq_len: self.seq_len,
        }
    }

    /// Checks shapes and ranges: every token < `vocab`, every label < `classes`.
    pub fn validate(&self, vocab: usize, classes: usize) -> Result<()> {
        if self.x.len() != self.n * self.seq_len || self.y.len() != self.n {
            return Err(Error::input(format!(
                "data: x has {} tokens and y {} labels; expected x ({}, {}) and y ({})",
                self.x.len(),
                self.y.len(),
                self.n,
                self.seq_len,
                self.n
            )));
        }
        if let Some((i, &t)) = self
            .x
            .iter()
            .enumerate()
            .find(|(_, &t)| t as usize >= vocab)
        {
            return Err(Error::input(format!(
                "data: x[{}, {}] = {t} is not a token id in [0, {vocab})",
                i / self.seq_len,
                i % self.seq_len
            )));
        }
        if let Some((i, &c)) = self
            .y
            .iter()
            .enumerate()
            .find(|(_, &c)| c as usize >= classes)
        {
            return Err(Error::input(format!(
                "data: y[{i}] = {c} is not a class in [0, {classes})"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data_and_valid_ranges() {
        let a = make_data(DataSpec::default(), 42);
        let b = make_data(DataSpec::default(), 42);
        assert_eq!(a, b);
        assert_eq!((a.n, a.x.len(), a.y.len()), (500, 4000, 500));
        a.validate(256, 10).unwrap();
        let c = make_data(DataSpec::default(), 43);
        assert_ne!(a.x, c.x);
    }

    #[test]
    fn every_class_has_its_samples_and_noise_rate_is_a_quarter() {
        let spec = DataSpec::default();
        let d = make_data(spec, 42);
        let mut counts = [0usize; 10];
        for &c in &d.y {
            counts[c as usize] += 1;
        }
        assert_eq!(counts, [50; 10]);
        // A position differs from its class's most common token only where it was replaced
        // (a replacement can redraw the same token, with probability 1/256). The fraction of
        // replaced positions is 0.25 ± 3σ, σ = √(0.25·0.75/4000) ≈ 0.0068.
        let mut differs = 0usize;
        for class in 0..10u32 {
            let rows: Vec<&[u32]> = (0..d.n)
                .filter(|&i| d.y[i] == class)
                .map(|i| &d.x[i * 8..(i + 1) * 8])
                .collect();
            for pos in 0..8 {
                let mut freq = std::collections::HashMap::new();
                for r in &rows {
                    *freq.entry(r[pos]).or_insert(0usize) += 1;
                }
                let mode = freq.values().copied().max().unwrap();
                differs += rows.len() - mode;
            }
        }
        let rate = differs as f64 / 4000.0;
        assert!(
            (rate - 0.25 * 255.0 / 256.0).abs() < 0.021,
            "replacement rate {rate}"
        );
    }
}
