//! `mha-cv bench` (placeholder until its issue lands).

use crate::error::{Error, Result};

#[derive(clap::Args, Debug, Default)]
pub struct BenchArgs {}

pub fn run(_args: BenchArgs) -> Result<()> {
    Err(Error::input("`mha-cv bench` is not built yet"))
}
