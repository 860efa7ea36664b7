//! `mha-cv merge` (placeholder until its issue lands).

use crate::error::{Error, Result};

#[derive(clap::Args, Debug, Default)]
pub struct MergeArgs {}

pub fn run(_args: MergeArgs) -> Result<()> {
    Err(Error::input("`mha-cv merge` is not built yet"))
}
