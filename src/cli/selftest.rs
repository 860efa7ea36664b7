//! `mha-cv selftest` (placeholder until its issue lands).

use crate::error::{Error, Result};

#[derive(clap::Args, Debug, Default)]
pub struct SelftestArgs {}

pub fn run(_args: SelftestArgs) -> Result<()> {
    Err(Error::input("`mha-cv selftest` is not built yet"))
}
