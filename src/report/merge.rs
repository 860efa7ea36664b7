//! Joining result sets (shard folders of one sweep) into one: the settings must agree, and a
//! config present in several sets must carry the same numbers in each.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::json::ResultFile;
use crate::error::{Error, Result};
use crate::experiment::settings::ConfigKey;

/// Merges `(source, file)` pairs; the result lists every config once, in the sweep's order.
pub fn merge(sets: Vec<(PathBuf, ResultFile)>) -> Result<ResultFile> {
    let Some((first_path, first)) = sets.first() else {
        return Err(Error::input("merge: give at least one results folder"));
    };
    let settings = first.settings.clone();
    let mut by_key: BTreeMap<ConfigKey, (PathBuf, _)> = BTreeMap::new();
    for (path, file) in &sets {
        if !file.settings.same_run(&settings) {
            return Err(Error::input(format!(
                "{} and {} were made by different settings ({}); only shards of one sweep can be \
                 merged",
                first_path.display(),
                path.display(),
                settings.differences(&file.settings).join("; ")
            )));
        }
        for r in &file.results {
            match by_key.get(&r.key()) {
                Some((other, kept)) if kept != r => {
                    return Err(Error::input(format!(
                        "{} is in {} and {} with different numbers; keep one of the two folders",
                        r.key(),
                        other.display(),
                        path.display()
                    )));
                }
                Some(_) => {}
                None => {
                    by_key.insert(r.key(), (path.clone(), r.clone()));
                }
            }
        }
    }
    let order = settings.configs();
    let mut results: Vec<_> = by_key.into_values().map(|(_, r)| r).collect();
    results.sort_by_key(|r| {
        order
            .iter()
            .position(|k| *k == r.key())
            .unwrap_or(usize::MAX)
    });
    Ok(ResultFile::new(settings, results))
}

/// The configs of the settings that no set holds, in the sweep's order.
pub fn missing(merged: &ResultFile) -> Vec<ConfigKey> {
    merged
        .settings
        .configs()
        .into_iter()
        .filter(|k| !merged.results.iter().any(|r| r.key() == *k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::result::tests::sample;
    use crate::experiment::settings::Settings;

    fn settings() -> Settings {
        Settings {
            dims: vec![64],
            heads: vec![1, 2, 4],
            ..Default::default()
        }
    }

    #[test]
    fn shards_merge_into_the_sweep_order() {
        let a = ResultFile::new(settings(), vec![sample(64, 1, 42), sample(64, 4, 42)]);
        let b = ResultFile::new(settings(), vec![sample(64, 2, 42), sample(64, 4, 42)]);
        let merged = merge(vec![("a".into(), a), ("b".into(), b)]).unwrap();
        let heads: Vec<usize> = merged.results.iter().map(|r| r.heads).collect();
        assert_eq!(heads, [1, 2, 4]);
        assert!(missing(&merged).is_empty());
    }

    #[test]
    fn conflicts_and_other_settings_are_refused() {
        let a = ResultFile::new(settings(), vec![sample(64, 1, 42)]);
        let mut changed = sample(64, 1, 42);
        changed.acc = 0.5;
        let b = ResultFile::new(settings(), vec![changed]);
        let err = merge(vec![("a".into(), a.clone()), ("b".into(), b)]).unwrap_err();
        assert!(
            err.to_string()
                .contains("D=64 heads=1 seed=42 is in a and b"),
            "{err}"
        );

        let c = ResultFile::new(
            Settings {
                lr: 0.01,
                ..settings()
            },
            vec![],
        );
        let err = merge(vec![("a".into(), a.clone()), ("c".into(), c)]).unwrap_err();
        assert!(err.to_string().contains("lr: 0.001 vs 0.01"), "{err}");
        assert_eq!(missing(&merge(vec![("a".into(), a)]).unwrap()).len(), 2);
    }
}
