//! `mha-cv plot` (placeholder until its issue lands).

use crate::error::{Error, Result};

#[derive(clap::Args, Debug, Default)]
pub struct PlotArgs {}

pub fn run(_args: PlotArgs) -> Result<()> {
    Err(Error::input("`mha-cv plot` is not built yet"))
}
