//! Where every random number of a sweep comes from, so that a config's numbers depend only on
//! the settings and the config itself, never on which other configs ran before it (shards,
//! resume and a plain run give identical results):
//! - data: `make_data(DataSpec::default(), seed)` (the prototype reseeds 42 in `make_data`);
//! - initial parameters: `init_params(&cfg, seed)`; its draws depend only on the shapes, so every
//!   head count of one D starts from the same weights, as in the prototype;
//! - each CV estimate: `CvOptions::seed = cv_seed(seed, dim, heads, phase, metric)`, one
//!   independent stream per (config, phase, metric), see [`cv_seed`].

use crate::rng::Rng;

/// FNV-1a, 64 bit: a stable hash (unlike `std::hash`, fixed across Rust versions and platforms).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The seed of one CV estimate: the first word of `Rng::stream(seed, fnv1a64("{dim}/{heads}/
/// {phase}/{metric}"))`, e.g. stream id `fnv1a64(b"64/2/post/act_Q_h0")` for seed 42.
pub fn cv_seed(seed: u64, dim: usize, heads: usize, phase: &str, metric: &str) -> u64 {
    let id = fnv1a64(format!("{dim}/{heads}/{phase}/{metric}").as_bytes());
    Rng::stream(seed, id).next_u64()
}

/// The seed of the CV of a tensor in `mha-cv cv`: the same construction keyed by the tensor's
/// name alone, so a tensor's value does not depend on which others were selected.
pub fn tensor_cv_seed(seed: u64, tensor: &str) -> u64 {
    Rng::stream(seed, fnv1a64(tensor.as_bytes())).next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_published_vectors() {
        // Test vectors from the FNV reference (isthe.com/chongo/tech/comp/fnv).
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn every_part_of_the_key_changes_the_seed() {
        let base = cv_seed(42, 64, 2, "post", "emb");
        assert_eq!(base, cv_seed(42, 64, 2, "post", "emb"));
        for other in [
            cv_seed(43, 64, 2, "post", "emb"),
            cv_seed(42, 128, 2, "post", "emb"),
            cv_seed(42, 64, 4, "post", "emb"),
            cv_seed(42, 64, 2, "pre", "emb"),
            cv_seed(42, 64, 2, "post", "Q_full"),
        ] {
            assert_ne!(base, other);
        }
    }
}
