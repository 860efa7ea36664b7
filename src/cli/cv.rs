//! `mha-cv cv` (placeholder until its issue lands).

use crate::error::{Error, Result};

#[derive(clap::Args, Debug, Default)]
pub struct CvArgs {}

pub fn run(_args: CvArgs) -> Result<()> {
    Err(Error::input("`mha-cv cv` is not built yet"))
}
