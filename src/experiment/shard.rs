//! `--shard K/N`: run every N-th config, starting with the K-th (1-based), so that N jobs of a
//! cluster array together run each config exactly once; `mha-cv merge` joins their folders.

use std::str::FromStr;

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1 ..= count.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Whether config number `i` (0-based, in the sweep's order) belongs to this shard.
    pub fn selects(&self, i: usize) -> bool {
        i % self.count == self.index - 1
    }
}

impl FromStr for Shard {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::input(format!(
                "--shard {s}: expected K/N with 1 <= K <= N, e.g. 1/4 (the first of four shards; \
                 with Slurm: --shard $SLURM_ARRAY_TASK_ID/4 and --array=1-4)"
            ))
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_configs() {
        let shards: Vec<Shard> = (1..=3).map(|k| format!("{k}/3").parse().unwrap()).collect();
        for i in 0..12 {
            assert_eq!(
                shards.iter().filter(|s| s.selects(i)).count(),
                1,
                "config {i}"
            );
        }
        assert!(shards[0].selects(0) && shards[0].selects(3) && shards[2].selects(5));
    }

    #[test]
    fn malformed_shards_are_refused() {
        for s in ["0/4", "5/4", "1/0", "1", "a/b", "1/4/2"] {
            let err = s.parse::<Shard>().unwrap_err();
            assert!(err.to_string().contains("expected K/N"), "{s}: {err}");
        }
    }
}
