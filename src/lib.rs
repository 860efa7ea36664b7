//! mha-cv: the Cayley–Menger "CV" of attention weights and activations, with no ML framework.
//!
//! Data flows one way (see README, "Layout"):
//! settings → data → model → train (tape on a backend) → measure (geometry) → results → report.

pub mod backend;
pub mod cli;
pub mod data;
pub mod defaults;
pub mod error;
pub mod experiment;
pub mod geometry;
pub mod io;
pub mod metrics;
pub mod model;
pub mod options;
pub mod report;
pub mod rng;
pub mod stats;
pub mod tape;

pub use error::{Error, Result};
