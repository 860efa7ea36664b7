//! The prototype's defaults, in one place (`../shared/notes/seed-semantics.md`).

pub const VOCAB: usize = 256;
pub const SEQ_LEN: usize = 8;
pub const N_CLASSES: usize = 10;
pub const SAMPLES_PER_CLASS: usize = 50;
/// Each position of a sample is replaced by a fresh token with this probability.
pub const NOISE_P: f64 = 0.25;

pub const DIMS: [usize; 3] = [64, 128, 256];
pub const HEADS: [usize; 4] = [1, 2, 4, 8];
pub const EPOCHS: usize = 50;
pub const LR: f64 = 1e-3;
pub const SEED: u64 = 42;

/// CV metric: samples per estimate, pool size, volume filter, minimum kept volumes.
pub const CV_SAMPLES: usize = 300;
pub const CV_POOL: usize = 512;
pub const CV_MIN_VOL2: f64 = 1e-20;
pub const CV_MIN_VALID: usize = 10;
pub const CV_MEAN_EPS: f64 = 1e-8;

/// The band the prototype marks with `*`: BAND_LOW < CV < BAND_HIGH.
pub const BAND_LOW: f64 = 0.13;
pub const BAND_HIGH: f64 = 0.30;

/// LayerNorm epsilon and Adam's defaults (PyTorch's).
pub const LN_EPS: f64 = 1e-5;
pub const ADAM_BETA1: f64 = 0.9;
pub const ADAM_BETA2: f64 = 0.999;
pub const ADAM_EPS: f64 = 1e-8;
