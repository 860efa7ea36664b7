//! `mha-cv sweep` (placeholder until its issue lands).

use crate::error::{Error, Result};

#[derive(clap::Args, Debug, Default)]
pub struct SweepArgs {}

pub fn run(_args: SweepArgs) -> Result<()> {
    Err(Error::input("`mha-cv sweep` is not built yet"))
}
