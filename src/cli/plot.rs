//! `mha-cv plot DIR`: SVG figures (DIR/figures/*.svg) and a one-page DIR/report.html from the
//! results a sweep wrote into DIR.

use std::path::PathBuf;

use crate::error::Result;
use crate::report::figures::plot_dir;

#[derive(clap::Args, Debug, Default)]
pub struct PlotArgs {
    /// A results folder (holding results.json), e.g. `results/`.
    pub dir: PathBuf,
}

pub fn run(args: PlotArgs) -> Result<()> {
    let written = plot_dir(&args.dir)?;
    let figures = written.len().saturating_sub(1);
    let page = written
        .last()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    println!(
        "wrote {figures} figures under {} and {page}",
        args.dir.join("figures").display()
    );
    Ok(())
}
