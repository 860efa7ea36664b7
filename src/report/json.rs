//! results.json: the settings and every finished config × seed (format in docs/sweep.md). The
//! same structure, holding one result, is each config's file under `configs/`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiment::result::ConfigResult;
use crate::experiment::settings::Settings;
use crate::io::atomic::write_atomic;

pub const FORMAT: &str = "mha-cv results";
pub const VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultFile {
    /// Always "mha-cv results": tells this file from any other JSON.
    pub format: String,
    /// Bumped when a field changes meaning; new optional fields do not bump it.
    pub version: u32,
    /// The mha-cv version that wrote the file (informational).
    pub tool_version: String,
    pub settings: Settings,
    /// In the sweep's order (D, heads, seed).
    pub results: Vec<ConfigResult>,
}

impl ResultFile {
    pub fn new(settings: Settings, results: Vec<ConfigResult>) -> Self {
        ResultFile {
            format: FORMAT.into(),
            version: VERSION,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            settings,
            results,
        }
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let file: ResultFile = serde_json::from_str(&text).map_err(|e| {
            Error::input(format!(
                "{}: not a readable mha-cv results file ({e}); remove it, or rerun the sweep with \
                 --fresh to start that folder over",
                path.display()
            ))
        })?;
        if file.format != FORMAT || file.version != VERSION {
            return Err(Error::input(format!(
                "{}: format \"{}\" version {}, expected \"{FORMAT}\" version {VERSION}; it was \
                 written by another tool or version (rerun with --fresh to replace it)",
                path.display(),
                file.format,
                file.version
            )));
        }
        Ok(file)
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::input(format!("results could not be encoded as JSON: {e}")))?;
        text.push('\n');
        write_atomic(path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::result::tests::sample;

    #[test]
    fn write_then_read_is_identity_and_other_json_is_refused() {
        let dir = std::env::temp_dir().join(format!("mha-cv-json-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("results.json");
        let file = ResultFile::new(
            Settings::default(),
            vec![sample(64, 1, 42), sample(64, 2, 42)],
        );
        file.write(&path).unwrap();
        assert_eq!(ResultFile::read(&path).unwrap(), file);

        std::fs::write(&path, "{\"format\": \"other\"}").unwrap();
        let err = ResultFile::read(&path).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--fresh"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
