//! The command line: one file per subcommand. Parses, calls the rooms, prints; no numerics here.

use clap::{Parser, Subcommand};

pub mod bench;
mod bench_train;
mod bench_volumes;
pub mod cv;
pub mod merge;
pub mod plot;
pub mod selftest;
pub mod stream;
pub mod sweep;

#[derive(Parser, Debug)]
#[command(
    name = "mha-cv",
    version,
    about = "Cayley–Menger CV of attention weights and activations (the mha-cv prototype's sweep, CPU and CUDA)",
    after_help = "With no subcommand, runs the prototype's sweep (same as `mha-cv sweep`)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train and measure every config of a sweep (default: the prototype's).
    Sweep(Box<sweep::SweepArgs>),
    /// Benchmarks (`bench det`: the batched 6×6 determinant; `bench train`: the training step;
    /// `bench volumes`: the fused Cayley–Menger volumes).
    Bench(bench::BenchArgs),
    /// CV of every 2-D tensor in .safetensors / .npy files.
    Cv(cv::CvArgs),
    /// Combine shard folders into one result set and print the summaries.
    Merge(merge::MergeArgs),
    /// SVG figures and an HTML report from a results folder.
    Plot(plot::PlotArgs),
    /// Check every GPU kernel against the CPU path.
    Selftest(selftest::SelftestArgs),
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        None => sweep::run(sweep::SweepArgs::default()),
        Some(Command::Sweep(args)) => sweep::run(*args),
        Some(Command::Bench(args)) => bench::run(args),
        Some(Command::Cv(args)) => cv::run(args),
        Some(Command::Merge(args)) => merge::run(args),
        Some(Command::Plot(args)) => plot::run(args),
        Some(Command::Selftest(args)) => selftest::run(args),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}
