//! The sweep over configs: pick this shard's configs, skip those already finished in the output
//! folder, run the rest one by one (any runner: the real one trains a model, tests pass a fake),
//! and store each as it finishes. Progress and printing are the observer's business.

use super::result::ConfigResult;
use super::settings::{ConfigKey, Settings};
use super::shard::Shard;
use super::store::Store;
use crate::error::Result;

/// Told what happens, in order; prints and draws progress (the sweep itself never prints).
pub trait Observer {
    /// Before anything runs: the configs this run covers, and how many of them must be computed.
    fn begin(&mut self, selected: &[ConfigKey], to_run: usize);
    fn config_started(&mut self, key: ConfigKey);
    /// After each training epoch of the config in flight (1-based).
    fn epoch_done(&mut self, key: ConfigKey, epoch: usize);
    /// A config's result, computed now or (`resumed`) found in the output folder.
    fn config_done(&mut self, result: &ConfigResult, resumed: bool);
}

/// What a sweep call covers beyond the settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scope {
    pub shard: Option<Shard>,
    /// Stop after computing this many configs (tests use it to simulate an interrupted run).
    pub stop_after: Option<usize>,
}

pub struct Outcome {
    /// The covered configs that are finished, in the sweep's order.
    pub results: Vec<ConfigResult>,
    /// False when stopped early by `stop_after`.
    pub complete: bool,
}

/// The configs of `settings` that `shard` covers, in the sweep's order.
pub fn selected(settings: &Settings, shard: Option<Shard>) -> Vec<ConfigKey> {
    let all = settings.configs();
    all.into_iter()
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|s| s.selects(*i)))
        .map(|(_, k)| k)
        .collect()
}

/// Runs the sweep; `run_one(key, on_epoch)` computes one config.
pub fn run_sweep<R>(
    settings: &Settings,
    scope: Scope,
    store: &mut Store,
    mut run_one: R,
    observer: &mut dyn Observer,
) -> Result<Outcome>
where
    R: FnMut(ConfigKey, &mut dyn FnMut(usize)) -> Result<ConfigResult>,
{
    let keys = selected(settings, scope.shard);
    let to_run = keys.iter().filter(|k| store.finished(k).is_none()).count();
    observer.begin(&keys, to_run);

    let mut results = Vec::with_capacity(keys.len());
    let mut computed = 0;
    for key in keys {
        if let Some(done) = store.finished(&key) {
            observer.config_done(done, true);
            results.push(done.clone());
            continue;
        }
        if scope.stop_after.is_some_and(|n| computed >= n) {
            return Ok(Outcome {
                results,
                complete: false,
            });
        }
        observer.config_started(key);
        let result = run_one(key, &mut |epoch| observer.epoch_done(key, epoch))?;
        store.record(result.clone())?;
        observer.config_done(&result, false);
        results.push(result);
        computed += 1;
    }
    Ok(Outcome {
        results,
        complete: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::result::tests::sample;

    /// Records what the sweep told it.
    #[derive(Default)]
    struct Log(Vec<String>);

    impl Observer for Log {
        fn begin(&mut self, selected: &[ConfigKey], to_run: usize) {
            self.0.push(format!("begin {} {to_run}", selected.len()));
        }
        fn config_started(&mut self, key: ConfigKey) {
            self.0.push(format!("start {}", key.stem()));
        }
        fn epoch_done(&mut self, _: ConfigKey, epoch: usize) {
            self.0.push(format!("epoch {epoch}"));
        }
        fn config_done(&mut self, r: &ConfigResult, resumed: bool) {
            self.0.push(format!("done {} {resumed}", r.key().stem()));
        }
    }

    fn fake(key: ConfigKey, on_epoch: &mut dyn FnMut(usize)) -> Result<ConfigResult> {
        on_epoch(1);
        Ok(sample(key.dim, key.heads, key.seed))
    }

    #[test]
    fn stopped_run_resumes_where_it_stopped() {
        let dir = std::env::temp_dir().join(format!("mha-cv-sweep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let settings = Settings {
            dims: vec![64],
            heads: vec![1, 2, 4],
            ..Default::default()
        };
        let scope = Scope {
            stop_after: Some(1),
            ..Default::default()
        };

        let mut store = Store::open(&dir, &settings, false).unwrap();
        let mut log = Log::default();
        let out = run_sweep(&settings, scope, &mut store, fake, &mut log).unwrap();
        assert!(!out.complete);
        assert_eq!(
            log.0,
            [
                "begin 3 3",
                "start D64_h1_s42",
                "epoch 1",
                "done D64_h1_s42 false"
            ]
        );

        let mut store = Store::open(&dir, &settings, false).unwrap();
        let mut log = Log::default();
        let out = run_sweep(&settings, Scope::default(), &mut store, fake, &mut log).unwrap();
        assert!(out.complete);
        assert_eq!(out.results.len(), 3);
        assert_eq!(log.0[0..2], ["begin 3 2", "done D64_h1_s42 true"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn shards_select_every_nth_config() {
        let settings = Settings {
            dims: vec![64, 128],
            heads: vec![1, 2],
            ..Default::default()
        };
        let shard = Some("1/3".parse().unwrap());
        let stems: Vec<String> = selected(&settings, shard)
            .iter()
            .map(|k| k.stem())
            .collect();
        assert_eq!(stems, ["D64_h1_s42", "D128_h2_s42"]);
    }
}
