//! `mha-cv selftest --device cuda`: every GPU kernel against the CPU path (see
//! `backend::cuda::selftest` for what is compared and the tolerances), printed as a table;
//! non-zero exit on any mismatch or CUDA error.

use crate::error::{Error, Result};
use crate::options::Device;

#[derive(clap::Args, Debug)]
pub struct SelftestArgs {
    /// Whose kernels to check: `cuda` compares every GPU kernel with the CPU path.
    #[arg(long, value_enum, default_value_t = Device::Cuda)]
    pub device: Device,
    /// Seed of the random inputs (default: from the clock; printed, so a failure can be rerun).
    #[arg(long)]
    pub seed: Option<u64>,
}

pub fn run(args: SelftestArgs) -> Result<()> {
    match args.device {
        Device::Cpu => {
            println!(
                "selftest --device cpu: nothing to compare (the CPU path is the reference; its own tests run with \
                 `cargo test`). Use --device cuda to check the GPU kernels against it."
            );
            Ok(())
        }
        Device::Cuda => run_cuda(args.seed),
    }
}

#[cfg(not(feature = "cuda"))]
fn run_cuda(_seed: Option<u64>) -> Result<()> {
    Err(Error::input(
        "this mha-cv was built without GPU support; rebuild with `cargo build --release --features cuda` \
         (see docs/gpu.md), or use --device cpu",
    ))
}

#[cfg(feature = "cuda")]
fn run_cuda(seed: Option<u64>) -> Result<()> {
    use crate::backend::cuda::{selftest, Cuda};

    let seed = seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    });
    let mut cuda = Cuda::new(0)?;
    cuda.set_checked(true);
    println!(
        "selftest on {} with seed {seed} (rerun with --seed {seed})",
        cuda.describe()?
    );
    let checks = selftest::run_all(&cuda, seed);
    print_table(&checks);
    let failed = checks.iter().filter(|c| !c.ok()).count();
    if failed > 0 {
        return Err(Error::device(format!(
            "{failed} of {} kernel checks failed (seed {seed})",
            checks.len()
        )));
    }
    println!("all {} kernel checks passed", checks.len());
    Ok(())
}

#[cfg(feature = "cuda")]
fn print_table(checks: &[crate::backend::cuda::selftest::Check]) {
    let rows: Vec<[String; 5]> = checks
        .iter()
        .map(|c| {
            [
                c.kernel.clone(),
                c.sizes.clone(),
                format!("{:.3e}", c.err),
                format!("{:.3e}", c.tol),
                match (&c.failure, c.ok()) {
                    (Some(e), _) => format!("ERROR: {e}"),
                    (None, true) => "ok".to_string(),
                    (None, false) => "FAIL".to_string(),
                },
            ]
        })
        .collect();
    let header = ["kernel", "sizes", "max rel err", "tolerance", "ok"].map(String::from);
    let mut widths = [0usize; 4];
    for r in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for r in std::iter::once(&header).chain(&rows) {
        println!(
            "{:<w0$} | {:<w1$} | {:>w2$} | {:>w3$} | {}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
    }
}
