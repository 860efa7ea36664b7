//! `mha-cv merge DIR…`: joins the result folders of a sweep's shards (or any results.json files
//! of one sweep) into one folder and prints the summary tables.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::experiment::store::Store;
use crate::report::json::ResultFile;
use crate::report::merge::{merge, missing};
use crate::report::text::{self, View};

#[derive(clap::Args, Debug, Default)]
pub struct MergeArgs {
    /// Result folders (each a `sweep --out`) or results.json files, all from one sweep.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Folder for the merged results.json, results.csv and configs/.
    #[arg(long, default_value = "results", value_name = "DIR")]
    pub out: PathBuf,
    /// Delete results of other settings in --out instead of refusing.
    #[arg(long)]
    pub fresh: bool,
    /// No notes on stderr (the tables still go to stdout).
    #[arg(long, short)]
    pub quiet: bool,
    /// Show ± interval half-widths in the summaries (as `sweep --ci`).
    #[arg(long)]
    pub ci: bool,
    /// Show z against the null baseline in the summaries (as `sweep --z`).
    #[arg(long)]
    pub z: bool,
}

pub fn run(args: MergeArgs) -> Result<()> {
    let mut sets = Vec::with_capacity(args.dirs.len() + 1);
    for dir in &args.dirs {
        let file = results_file(dir)?;
        sets.push((dir.clone(), ResultFile::read(&file)?));
    }
    // What --out already holds from the same sweep takes part like any other input; results of
    // other settings there are refused by `Store::open` (or deleted with --fresh).
    let existing = args.out.join("results.json");
    if !args.fresh && existing.is_file() && !args.dirs.iter().any(|d| same_folder(d, &args.out)) {
        let file = ResultFile::read(&existing)?;
        if sets
            .first()
            .is_some_and(|(_, f)| f.settings.same_run(&file.settings))
        {
            sets.push((args.out.clone(), file));
        }
    }
    let merged = merge(sets)?;
    let mut store = Store::open(&args.out, &merged.settings, args.fresh)?;
    store.record_all(merged.results.clone())?;

    let absent = missing(&merged);
    if !args.quiet {
        eprintln!(
            "merged {} of {} configs into {}",
            merged.results.len(),
            merged.settings.configs().len(),
            args.out.display()
        );
        if !absent.is_empty() {
            let names: Vec<String> = absent.iter().map(|k| k.to_string()).collect();
            eprintln!(
                "missing (run their shards, then merge again): {}",
                names.join("; ")
            );
        }
    }
    let view = View {
        seeds: merged.settings.seeds > 1,
        ci: args.ci,
        z: args.z,
    };
    print!("{}", text::summaries(&merged.results, view)?);
    Ok(())
}

/// A folder's results.json, or the file itself.
fn results_file(path: &Path) -> Result<PathBuf> {
    if path.is_dir() {
        let file = path.join("results.json");
        if file.is_file() {
            return Ok(file);
        }
        return Err(Error::input(format!(
            "{}: no results.json in this folder; give the --out folder of a sweep (or its \
             results.json)",
            path.display()
        )));
    }
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    Err(Error::input(format!(
        "{}: no such folder or file; give the --out folder of a sweep",
        path.display()
    )))
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
