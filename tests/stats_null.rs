//! The null baseline reproduces the table of ../shared/notes/numerics.md ("What a CV value
//! means"), and its cache returns what it computed, across a file round trip.
//!
//! Assumption: the table's matrices have 512 rows (the pool), so every row is in the pool; a
//! NumPy check (300 samples, 100 matrices) gives the table's values and spreads with 512 rows
//! and visibly lower CVs with 64 (0.175 vs 0.180 at 64 columns, 0.37 vs 0.39 at 16).
//!
//! Tolerance: each table entry is ONE 300-sample estimate, so it carries the spread of one
//! estimate, σ = null_sd (what numerics.md quotes as ±0.03 at 8 columns, ±0.008 at 64,
//! ±0.004 at 256); our value is the mean of R = 200 replicates (standard error σ/√200, small
//! beside σ). We accept |null_cv − table| ≤ 3σ + 2σ/√R, and check that σ itself agrees with
//! the quoted spreads to within 30% (they are quoted to one significant digit).

use mha_cv::options::Precision;
use mha_cv::stats::null::{estimate, z_score, NullCache, NullDist, NullSpec, REPLICATES};

const COLS: [usize; 7] = [8, 16, 24, 32, 64, 128, 256];
const GAUSSIAN: [f64; 7] = [0.60, 0.38, 0.30, 0.25, 0.18, 0.12, 0.088];
const UNIFORM: [f64; 7] = [0.48, 0.29, 0.23, 0.19, 0.13, 0.09, 0.063];

fn spec(cols: usize, dist: NullDist) -> NullSpec {
    NullSpec {
        rows: 512,
        cols,
        dist,
        samples: 300,
        pool: 512,
        precision: Precision::F64,
    }
}

#[test]
fn null_baseline_reproduces_the_numerics_table() {
    let cache = NullCache::new(REPLICATES);
    let specs: Vec<NullSpec> = COLS
        .iter()
        .flat_map(|&c| {
            [
                spec(c, NullDist::Gaussian),
                spec(c, NullDist::UniformFanIn { fan_in: c }),
            ]
        })
        .collect();
    cache.prefetch(&specs).unwrap();
    assert_eq!(cache.len(), specs.len());
    let quoted_sd = [(8, 0.03), (64, 0.008), (256, 0.004)];
    for (i, &cols) in COLS.iter().enumerate() {
        for (dist, table) in [
            (NullDist::Gaussian, GAUSSIAN[i]),
            (NullDist::UniformFanIn { fan_in: cols }, UNIFORM[i]),
        ] {
            let s = cache.get(&spec(cols, dist)).unwrap().unwrap();
            assert_eq!(s.replicates, REPLICATES, "every replicate has a value");
            let tol = 3.0 * s.null_sd + 2.0 * s.null_sd / (REPLICATES as f64).sqrt();
            assert!(
                (s.null_cv - table).abs() <= tol,
                "{cols} columns, {}: null_cv {:.4} ± {:.4}, table {table}",
                dist.label(),
                s.null_cv,
                s.null_sd
            );
            if let (NullDist::Gaussian, Some(&(_, sd))) =
                (dist, quoted_sd.iter().find(|q| q.0 == cols))
            {
                assert!(
                    (s.null_sd / sd - 1.0).abs() <= 0.3,
                    "{cols} columns: null_sd {} vs quoted {sd}",
                    s.null_sd
                );
            }
        }
    }
}

#[test]
fn cache_matches_a_fresh_estimate_and_survives_a_file_round_trip() {
    let dir = std::env::temp_dir().join(format!("mha-cv-null-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("null_cache.json");
    let reps = 20;
    // A per-head weight slice (8 rows, Xavier), an activation (4000 rows → the 512-row pool) and
    // a 4-row matrix (no CV: None, cached too).
    let xavier = NullDist::XavierUniform {
        fan_in: 64,
        fan_out: 192,
    };
    let specs = [
        NullSpec {
            rows: 8,
            cols: 64,
            dist: xavier,
            samples: 300,
            pool: 512,
            precision: Precision::F32,
        },
        NullSpec {
            rows: 4000,
            cols: 16,
            dist: NullDist::Gaussian,
            samples: 300,
            pool: 512,
            precision: Precision::F64,
        },
        NullSpec {
            rows: 4,
            cols: 64,
            dist: NullDist::Gaussian,
            samples: 300,
            pool: 512,
            precision: Precision::F64,
        },
    ];
    let cache = NullCache::open(&path, reps).unwrap();
    let first: Vec<_> = specs.iter().map(|s| cache.get(s).unwrap()).collect();
    for (s, got) in specs.iter().zip(&first) {
        assert_eq!(*got, estimate(s, reps).unwrap(), "cache = fresh estimate");
    }
    assert!(first[2].is_none());
    // The parallel path gives the same numbers as the serial one.
    let parallel = NullCache::new(reps);
    parallel.prefetch(&specs).unwrap();
    for (s, got) in specs.iter().zip(&first) {
        assert_eq!(parallel.get(s).unwrap(), *got, "prefetch = get");
    }
    // Same matrix after the pool: 4000 rows and 512 rows share one entry.
    let same_pool = NullSpec {
        rows: 512,
        ..specs[1]
    };
    assert_eq!(cache.get(&same_pool).unwrap(), first[1]);
    assert_eq!(cache.len(), 3);
    cache.save().unwrap();

    let reopened = NullCache::open(&path, reps).unwrap();
    assert_eq!(reopened.len(), 3);
    let again: Vec<_> = specs.iter().map(|s| reopened.get(s).unwrap()).collect();
    assert_eq!(again, first, "bit-identical after the JSON round trip");
    // The small pool biases CV low (numerics.md: 8 rows ≈ 0.09 vs 0.13 with 512 rows at 64 columns).
    let s = first[0].unwrap();
    assert!(
        s.null_cv < 0.12,
        "8-row Xavier slice at 64 columns: {}",
        s.null_cv
    );
    let z = z_score(s.null_cv + 2.0 * s.null_sd, &s).unwrap();
    assert!((z - 2.0).abs() < 1e-12);

    std::fs::write(&path, "not json").unwrap();
    let err = NullCache::open(&path, reps).err().unwrap();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("delete it"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
