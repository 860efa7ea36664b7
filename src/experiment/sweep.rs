//! The sweep over configs: pick this shard's configs, skip those already finished in the output
//! folder, run the rest (any runner: the real one trains a model, tests pass a fake), `jobs` at
//! a time, and store each as it finishes. Progress and printing are the observer's business.
//!
//! Configs are independent, so running several at once changes no result: each config's
//! numbers depend only on its key (the CPU ops give the same bits on any thread split:
//! `backend::cpu::gemm`). Runners work on rayon's pool, so a config's parallel ops use whatever
//! cores the other configs leave idle; this thread stores, prints and saves, in the sweep's
//! order.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use super::result::ConfigResult;
use super::settings::{ConfigKey, Settings};
use super::shard::Shard;
use super::store::Store;
use crate::error::{Error, Result};

/// Told what happens, on the sweep's calling thread. `config_started` and `epoch_done` come as
/// they happen (interleaved when several configs run); `config_done` comes in the sweep's order.
pub trait Observer {
    /// Before anything runs: the configs this run covers, and how many of them must be computed.
    fn begin(&mut self, selected: &[ConfigKey], to_run: usize);
    fn config_started(&mut self, key: ConfigKey);
    /// After each training epoch of a config in flight (1-based).
    fn epoch_done(&mut self, key: ConfigKey, epoch: usize);
    /// A config's result, computed now (and already stored) or (`resumed`) found in the output
    /// folder.
    fn config_done(&mut self, result: &ConfigResult, resumed: bool) -> Result<()>;
}

/// What a sweep call covers beyond the settings.
#[derive(Clone, Copy, Debug)]
pub struct Scope {
    pub shard: Option<Shard>,
    /// Stop after computing this many configs (tests use it to simulate an interrupted run).
    pub stop_after: Option<usize>,
    /// Configs computed at the same time (at least 1).
    pub jobs: usize,
}

impl Default for Scope {
    fn default() -> Self {
        Scope {
            shard: None,
            stop_after: None,
            jobs: 1,
        }
    }
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

/// What a runner reports to the sweep's thread; `usize` is the config's place in `keys`.
enum Event {
    Started(usize),
    Epoch(usize, usize),
    Done(usize, Result<ConfigResult>),
}

/// Runs the sweep; `run_one(key, on_epoch)` computes one config (on any thread).
pub fn run_sweep<R>(
    settings: &Settings,
    scope: Scope,
    store: &mut Store,
    run_one: R,
    observer: &mut dyn Observer,
) -> Result<Outcome>
where
    R: Fn(ConfigKey, &dyn Fn(usize)) -> Result<ConfigResult> + Sync,
{
    let keys = selected(settings, scope.shard);
    // Results by place in `keys`, handed to the observer in order as the prefix completes;
    // those found in the folder are ready now, the others are to do.
    let mut ready: BTreeMap<usize, (ConfigResult, bool)> = BTreeMap::new();
    let mut todo: Vec<usize> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        match store.finished(key) {
            Some(done) => {
                ready.insert(i, (done.clone(), true));
            }
            None => todo.push(i),
        }
    }
    observer.begin(&keys, todo.len());
    let complete = scope.stop_after.is_none_or(|n| n >= todo.len());
    todo.truncate(scope.stop_after.unwrap_or(usize::MAX));
    let mut next_out = 0;
    let mut results = Vec::with_capacity(keys.len());
    let mut emit = |ready: &mut BTreeMap<usize, (ConfigResult, bool)>,
                    observer: &mut dyn Observer|
     -> Result<()> {
        while let Some((result, resumed)) = ready.remove(&next_out) {
            observer.config_done(&result, resumed)?;
            results.push(result);
            next_out += 1;
        }
        Ok(())
    };
    emit(&mut ready, observer)?;

    let stop = AtomicBool::new(false);
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<Event>();
    let mut failure: Option<Error> = None;
    std::thread::scope(|threads| {
        let (todo, keys, stop, next, run_one) = (&todo, &keys, &stop, &next, &run_one);
        threads.spawn(move || {
            rayon::scope(|pool| {
                for _ in 0..scope.jobs.clamp(1, todo.len().max(1)) {
                    let tx = tx.clone();
                    pool.spawn(move |_| {
                        while !stop.load(Ordering::Relaxed) {
                            let Some(&i) = todo.get(next.fetch_add(1, Ordering::Relaxed)) else {
                                break;
                            };
                            let _ = tx.send(Event::Started(i));
                            let on_epoch = |epoch| {
                                let _ = tx.send(Event::Epoch(i, epoch));
                            };
                            let result = run_one(keys[i], &on_epoch);
                            let failed = result.is_err();
                            let _ = tx.send(Event::Done(i, result));
                            if failed {
                                stop.store(true, Ordering::Relaxed);
                            }
                        }
                    });
                }
            });
            drop(tx);
        });
        // Until every runner has stopped (the channel closes): store, print, save.
        for event in rx {
            let outcome = match event {
                Event::Started(i) => {
                    observer.config_started(keys[i]);
                    Ok(())
                }
                Event::Epoch(i, epoch) => {
                    observer.epoch_done(keys[i], epoch);
                    Ok(())
                }
                Event::Done(i, result) => result.and_then(|r| {
                    store.record(r.clone())?;
                    ready.insert(i, (r, false));
                    emit(&mut ready, observer)
                }),
            };
            if let Err(e) = outcome {
                // The first error is reported; configs in flight finish and are stored.
                stop.store(true, Ordering::Relaxed);
                failure.get_or_insert(e);
            }
        }
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(Outcome { results, complete }),
    }
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
        fn config_done(&mut self, r: &ConfigResult, resumed: bool) -> Result<()> {
            self.0.push(format!("done {} {resumed}", r.key().stem()));
            Ok(())
        }
    }

    fn fake(key: ConfigKey, on_epoch: &dyn Fn(usize)) -> Result<ConfigResult> {
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

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mha-cv-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// Several configs at a time: the first config is slow, so the second runner finishes all
    /// the later ones before it; yet the observer sees them in the sweep's order and the store
    /// holds them all.
    #[test]
    fn parallel_configs_are_reported_in_the_sweep_order() {
        let dir = temp_dir("sweep-jobs");
        let settings = Settings {
            dims: vec![64, 128],
            heads: vec![1, 2],
            ..Default::default()
        };
        let slow_first = |key: ConfigKey, _: &dyn Fn(usize)| {
            let ms = if (key.dim, key.heads) == (64, 1) {
                200
            } else {
                1
            };
            std::thread::sleep(std::time::Duration::from_millis(ms));
            Ok(sample(key.dim, key.heads, key.seed))
        };
        let scope = Scope {
            jobs: 2,
            ..Default::default()
        };
        let mut store = Store::open(&dir, &settings, false).unwrap();
        let mut log = Log::default();
        let out = run_sweep(&settings, scope, &mut store, slow_first, &mut log).unwrap();
        assert!(out.complete);
        let done: Vec<&str> = log
            .0
            .iter()
            .filter(|l| l.starts_with("done"))
            .map(|l| l.as_str())
            .collect();
        assert_eq!(
            done,
            [
                "done D64_h1_s42 false",
                "done D64_h2_s42 false",
                "done D128_h1_s42 false",
                "done D128_h2_s42 false"
            ]
        );
        let stems: Vec<String> = out.results.iter().map(|r| r.key().stem()).collect();
        assert_eq!(
            stems,
            ["D64_h1_s42", "D64_h2_s42", "D128_h1_s42", "D128_h2_s42"]
        );
        assert_eq!(store.results(), out.results);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A failing config stops the sweep with its error; the configs that finished stay stored.
    #[test]
    fn a_failing_config_stops_the_sweep_and_keeps_the_finished_ones() {
        let dir = temp_dir("sweep-fail");
        let settings = Settings {
            dims: vec![64],
            heads: vec![1, 2, 4],
            ..Default::default()
        };
        let fail_h2 = |key: ConfigKey, _: &dyn Fn(usize)| {
            if key.heads == 2 {
                return Err(Error::input("no memory for D64_h2"));
            }
            Ok(sample(key.dim, key.heads, key.seed))
        };
        let mut store = Store::open(&dir, &settings, false).unwrap();
        let err = run_sweep(
            &settings,
            Scope::default(),
            &mut store,
            fail_h2,
            &mut Log::default(),
        )
        .err()
        .expect("the sweep fails");
        assert!(err.to_string().contains("no memory for D64_h2"), "{err}");
        let stems: Vec<String> = store.results().iter().map(|r| r.key().stem()).collect();
        assert_eq!(
            stems,
            ["D64_h1_s42"],
            "jobs = 1 starts nothing after the failure"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
