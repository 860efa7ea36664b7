//! The integration tests, one module per file, built as one executable: the library's generic
//! code is instantiated and linked once instead of once per file (as 26 executables, the crate's
//! test build took 25–35 s longer on 2 cores). `cargo test --test suite torch_parity::` runs one
//! file's tests.
//! The feature-gated tests (`geometry_lapack`, `gpu_kernels`) stay executables of their own.

// Shared by several files.
mod geometry_support;
mod plot_common;
mod sweep_common;

mod cli_bench;
mod cli_cv;
mod cli_errors;
mod finite_differences;
mod geometry_cm;
mod geometry_cv;
mod geometry_det;
mod geometry_sampler;
mod geometry_table;
mod io_atomic;
mod io_npy;
mod io_params;
mod io_safetensors;
mod io_torch_fixture;
mod plot_cli;
mod plot_figures;
mod stats_aggregate;
mod stats_bootstrap;
mod stats_null;
mod sweep_e2e;
mod sweep_factoring;
mod sweep_fixture;
mod sweep_resume;
mod sweep_stats;
mod torch_parity;
mod train_cpu;
