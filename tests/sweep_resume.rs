//! Resume and shards give exactly the numbers of one uninterrupted run: an interrupted run
//! (stopped after its first config) rerun to the end, and two shards merged, produce the same
//! results.json byte for byte, and print the same tables; so do runs with other numbers of
//! configs in parallel.

use crate::sweep_common;

use std::path::PathBuf;
use std::sync::OnceLock;

use sweep_common::{fresh_dir, mha_cv, read, small_sweep, Output};

/// The uninterrupted reference run, shared by the tests of this file.
fn reference() -> &'static (PathBuf, String) {
    static REF: OnceLock<(PathBuf, String)> = OnceLock::new();
    REF.get_or_init(|| {
        let dir = fresh_dir("resume-reference");
        let out = small_sweep(&dir, &[]);
        (dir, out.stdout)
    })
}

fn config_files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("configs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn interrupted_run_resumes_to_identical_results() {
    let (ref_dir, ref_stdout) = reference();
    let dir = fresh_dir("resume-interrupted");

    let first = small_sweep(&dir, &["--stop-after", "1"]);
    assert_eq!(config_files(&dir), ["D8_h1_s42.json"]);
    let partial: serde_json::Value =
        serde_json::from_str(&read(&dir.join("results.json"))).unwrap();
    assert_eq!(partial["results"].as_array().unwrap().len(), 1);
    assert!(
        !first.stdout.contains("SUMMARY"),
        "an interrupted run prints no summary"
    );

    let rest = small_sweep(&dir, &[]);
    assert_eq!(
        read(&dir.join("results.json")),
        read(&ref_dir.join("results.json"))
    );
    assert_eq!(
        read(&dir.join("results.csv")),
        read(&ref_dir.join("results.csv"))
    );
    assert_eq!(config_files(&dir), config_files(ref_dir));
    assert_eq!(
        &rest.stdout, ref_stdout,
        "a resumed run prints what an uninterrupted one does"
    );

    // A finished folder reruns without computing anything, and gives the same output again.
    let again = small_sweep(&dir, &[]);
    assert_eq!(&again.stdout, ref_stdout);
}

/// Configs run in parallel (`--jobs`, default one per core) change no number and no line: one
/// at a time and three at a time give the reference's files and tables.
#[test]
fn any_number_of_parallel_configs_gives_the_same_results() {
    let (ref_dir, ref_stdout) = reference();
    for jobs in ["1", "3"] {
        let dir = fresh_dir(&format!("jobs-{jobs}"));
        let out = small_sweep(&dir, &["--jobs", jobs]);
        assert_eq!(&out.stdout, ref_stdout, "--jobs {jobs}");
        // The null cache too: written while configs run, it must end with every baseline.
        for file in ["results.json", "results.csv", "null_cache.json"] {
            assert_eq!(
                read(&dir.join(file)),
                read(&ref_dir.join(file)),
                "--jobs {jobs}: {file}"
            );
        }
    }
}

#[test]
fn other_settings_are_refused_and_nothing_changes_unless_fresh() {
    let (ref_dir, _) = reference();
    let dir = fresh_dir("resume-refuse");
    small_sweep(&dir, &["--stop-after", "1"]);
    let before = read(&dir.join("results.json"));

    let mut args = vec![
        "sweep",
        "--dims",
        "8,16",
        "--heads",
        "1,2",
        "--epochs",
        "3",
        "--samples",
        "40",
    ];
    args.extend(["--quiet", "--out", dir.to_str().unwrap()]);
    let refused: Output = mha_cv(&args);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("epochs: 4 vs 3"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--fresh"), "{}", refused.stderr);
    assert_eq!(read(&dir.join("results.json")), before);

    // --fresh starts over: the rerun with the reference settings equals the reference.
    small_sweep(&dir, &["--fresh"]);
    assert_eq!(
        read(&dir.join("results.json")),
        read(&ref_dir.join("results.json"))
    );
}

#[test]
fn merged_shards_equal_the_unsharded_run() {
    let (ref_dir, ref_stdout) = reference();
    let base = fresh_dir("shards");
    let (a, b, merged) = (base.join("a"), base.join("b"), base.join("merged"));
    small_sweep(&a, &["--shard", "1/2"]);
    small_sweep(&b, &["--shard", "2/2"]);
    assert_eq!(config_files(&a), ["D16_h1_s42.json", "D8_h1_s42.json"]);
    assert_eq!(config_files(&b), ["D16_h2_s42.json", "D8_h2_s42.json"]);

    let out = mha_cv(&[
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        read(&merged.join("results.json")),
        read(&ref_dir.join("results.json"))
    );
    assert_eq!(
        read(&merged.join("results.csv")),
        read(&ref_dir.join("results.csv"))
    );
    assert_eq!(config_files(&merged), config_files(ref_dir));
    // merge prints the summary tables, exactly as the end of the unsharded run.
    let summaries = &ref_stdout[ref_stdout.find("\n\n\n===").unwrap() + 1..];
    assert_eq!(out.stdout, summaries);

    // A missing shard is reported, and what is there is still merged.
    let partial = mha_cv(&[
        "merge",
        a.to_str().unwrap(),
        "--out",
        base.join("p").to_str().unwrap(),
    ]);
    assert_eq!(partial.code, 0, "{}", partial.stderr);
    assert!(
        partial.stderr.contains("merged 2 of 4 configs"),
        "{}",
        partial.stderr
    );
    assert!(
        partial.stderr.contains("D=8 heads=2 seed=42"),
        "{}",
        partial.stderr
    );
}

#[test]
fn a_config_gives_the_same_numbers_whatever_else_runs() {
    let (ref_dir, _) = reference();
    let dir = fresh_dir("seeds");
    let out = mha_cv(&[
        "sweep",
        "--dims",
        "8",
        "--heads",
        "2",
        "--epochs",
        "4",
        "--samples",
        "40",
        "--seeds",
        "2",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("D=8 heads=2 head_dim=4 seed=43\n"));
    let doc: serde_json::Value = serde_json::from_str(&read(&dir.join("results.json"))).unwrap();
    let reference: serde_json::Value =
        serde_json::from_str(&read(&ref_dir.join("results.json"))).unwrap();
    let ours = &doc["results"].as_array().unwrap();
    assert_eq!(ours.len(), 2);
    let in_reference = reference["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["dim"] == 8 && r["heads"] == 2)
        .unwrap();
    assert_eq!(
        &ours[0], in_reference,
        "seed 42 alone equals seed 42 within the bigger sweep"
    );
    assert_eq!(ours[1]["seed"], 43);
    assert_ne!(
        ours[1]["losses"], ours[0]["losses"],
        "another seed, other data and init"
    );
}
