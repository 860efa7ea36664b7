//! The output folder of a sweep, and what makes it resumable:
//! - `configs/<D64_h2_s42>.json`: one file per finished config × seed (a results file holding one
//!   result), written atomically the moment the config finishes;
//! - `results.json` and `results.csv`: every finished config in the folder, rewritten atomically
//!   after each one, so an interrupted run loses at most the config in flight;
//! - `params/<D64_h2_s42>.safetensors` with `--save-params`.
//!
//! Opening a folder loads what is already finished there; results made by other settings are
//! refused (the message names the differences) unless `fresh`, which deletes them first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::result::ConfigResult;
use super::settings::{ConfigKey, Settings};
use crate::error::{Error, Result};
use crate::report::csv::write_csv;
use crate::report::json::ResultFile;

pub struct Store {
    dir: PathBuf,
    settings: Settings,
    done: BTreeMap<ConfigKey, ConfigResult>,
}

impl Store {
    /// Creates or reopens `dir` for `settings`.
    pub fn open(dir: &Path, settings: &Settings, fresh: bool) -> Result<Store> {
        let mut store = Store {
            dir: dir.to_path_buf(),
            settings: settings.clone(),
            done: BTreeMap::new(),
        };
        if fresh {
            store.remove_previous()?;
        } else {
            for file in store.existing_files()? {
                store.adopt(ResultFile::read(&file)?, &file)?;
            }
        }
        store.ensure_writable()?;
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn finished(&self, key: &ConfigKey) -> Option<&ConfigResult> {
        self.done.get(key)
    }

    /// Stores a finished config: its own file first, then the combined files.
    pub fn record(&mut self, result: ConfigResult) -> Result<()> {
        self.record_all(vec![result])
    }

    /// Stores finished configs (e.g. merged shards): their own files, then the combined files once.
    pub fn record_all(&mut self, results: Vec<ConfigResult>) -> Result<()> {
        for result in results {
            let key = result.key();
            let one = ResultFile::new(self.settings.clone(), vec![result.clone()]);
            one.write(&self.config_path(&key))?;
            self.done.insert(key, result);
        }
        self.write_combined()
    }

    /// Every finished config in the folder, in the sweep's order.
    pub fn results(&self) -> Vec<ConfigResult> {
        let order = self.settings.configs();
        let mut out: Vec<ConfigResult> = self.done.values().cloned().collect();
        out.sort_by_key(|r| {
            order
                .iter()
                .position(|k| *k == r.key())
                .unwrap_or(usize::MAX)
        });
        out
    }

    /// Writes results.json and results.csv from every finished config.
    pub fn write_combined(&self) -> Result<()> {
        let results = self.results();
        write_csv(&self.dir.join("results.csv"), &results)?;
        ResultFile::new(self.settings.clone(), results).write(&self.dir.join("results.json"))
    }

    /// Creates the folder where `--save-params` puts each config's final parameters
    /// (`params/<D64_h2_s42>.safetensors`) and returns it.
    pub fn create_params_dir(&self) -> Result<PathBuf> {
        let dir = self.dir.join("params");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(dir)
    }

    fn config_path(&self, key: &ConfigKey) -> PathBuf {
        self.dir
            .join("configs")
            .join(format!("{}.json", key.stem()))
    }

    /// Takes the results of a file found in the folder, if made by the same settings.
    fn adopt(&mut self, file: ResultFile, path: &Path) -> Result<()> {
        if !file.settings.same_run(&self.settings) {
            return Err(Error::input(format!(
                "{} holds results of other settings (in the folder vs now: {}); rerun with the same settings to resume, \
                 choose another --out, or add --fresh to delete them and start over",
                path.display(),
                file.settings.differences(&self.settings).join("; ")
            )));
        }
        let known = self.settings.configs();
        for r in file.results {
            if !known.contains(&r.key()) {
                return Err(Error::input(format!(
                    "{}: {} is not a config of these settings; the file was edited by hand \
                     (use --fresh to start over)",
                    path.display(),
                    r.key()
                )));
            }
            self.done.entry(r.key()).or_insert(r);
        }
        Ok(())
    }

    /// The per-config files first (they are written first), then results.json.
    fn existing_files(&self) -> Result<Vec<PathBuf>> {
        let mut files = json_files(&self.dir.join("configs"))?;
        let combined = self.dir.join("results.json");
        if combined.is_file() {
            files.push(combined);
        }
        Ok(files)
    }

    fn remove_previous(&self) -> Result<()> {
        let mut files = json_files(&self.dir.join("configs"))?;
        files.extend(files_with_ext(&self.dir.join("params"), "safetensors")?);
        files.extend(files_with_ext(&self.dir.join("figures"), "svg")?);
        files.extend(["results.json", "results.csv", "report.html"].map(|n| self.dir.join(n)));
        for f in files.into_iter().filter(|f| f.is_file()) {
            std::fs::remove_file(&f).map_err(|e| Error::io(&f, e))?;
        }
        Ok(())
    }

    /// Creates the folders and proves a file can be written there, before any work is done.
    fn ensure_writable(&self) -> Result<()> {
        let configs = self.dir.join("configs");
        let probe = configs.join(format!(".write-test-{}", std::process::id()));
        std::fs::create_dir_all(&configs)
            .and_then(|()| std::fs::write(&probe, b""))
            .and_then(|()| std::fs::remove_file(&probe))
            .map_err(|e| {
                Error::input(format!(
                    "--out {}: cannot write there ({e}); choose a folder you can write to",
                    self.dir.display()
                ))
            })
    }
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>> {
    files_with_ext(dir, "json")
}

/// The files in `dir` ending in `.ext`, sorted; none when `dir` does not exist.
fn files_with_ext(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.extension().is_some_and(|x| x == ext) && path.is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::result::tests::sample;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mha-cv-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn small() -> Settings {
        Settings {
            dims: vec![64],
            heads: vec![1, 2],
            ..Default::default()
        }
    }

    #[test]
    fn reopening_finds_finished_configs_in_sweep_order() {
        let dir = temp("reopen");
        let mut store = Store::open(&dir, &small(), false).unwrap();
        store.record(sample(64, 2, 42)).unwrap();
        store.record(sample(64, 1, 42)).unwrap();
        let again = Store::open(&dir, &small(), false).unwrap();
        let keys: Vec<usize> = again.results().iter().map(|r| r.heads).collect();
        assert_eq!(keys, [1, 2]);
        let combined = ResultFile::read(&dir.join("results.json")).unwrap();
        assert_eq!(combined.results, again.results());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn other_settings_are_refused_unless_fresh() {
        let dir = temp("refuse");
        Store::open(&dir, &small(), false)
            .unwrap()
            .record(sample(64, 1, 42))
            .unwrap();
        let other = Settings {
            epochs: 5,
            ..small()
        };
        let err = Store::open(&dir, &other, false).err().unwrap();
        assert!(err.to_string().contains("now: epochs: 50 vs 5"), "{err}");
        assert!(err.to_string().contains("--fresh"));
        let store = Store::open(&dir, &other, true).unwrap();
        assert!(store.results().is_empty());
        assert!(!dir.join("results.json").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_folder_under_a_file_is_refused_before_any_work() {
        let dir = temp("unwritable");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("file"), b"x").unwrap();
        let err = Store::open(&dir.join("file").join("out"), &small(), false)
            .err()
            .unwrap();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("cannot write there"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
