//! The progress bar of a long sweep, on stderr: configs done, the config and epoch in flight,
//! elapsed time and an estimate. Hidden when stderr is not a terminal or when asked to be quiet;
//! text printed through [`Progress::print`] does not tear it.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: ProgressBar,
    epochs: u64,
    configs: usize,
    started: usize,
    quiet: bool,
}

impl Progress {
    /// A bar over `configs` configs of `epochs` epochs each.
    pub fn new(configs: usize, epochs: usize, quiet: bool) -> Self {
        let total = (configs * epochs) as u64;
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(total)
        };
        let style =
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {msg} (about {eta} left)")
                .map(|s| s.progress_chars("=> "));
        if let Ok(style) = style {
            bar.set_style(style);
        }
        Progress {
            bar,
            epochs: epochs as u64,
            configs,
            started: 0,
            quiet,
        }
    }

    pub fn config_started(&mut self, label: &str) {
        self.started += 1;
        self.bar
            .set_message(format!("config {}/{} {label}", self.started, self.configs));
    }

    /// After epoch `epoch` (1-based) of the config in flight.
    pub fn epoch(&self, label: &str, epoch: usize) {
        let done = (self.started.saturating_sub(1)) as u64 * self.epochs + epoch as u64;
        self.bar.set_position(done);
        self.bar.set_message(format!(
            "config {}/{} {label} epoch {epoch}/{}",
            self.started, self.configs, self.epochs
        ));
    }

    /// Prints to stdout without tearing the bar.
    pub fn print(&self, text: &str) {
        self.bar.suspend(|| print!("{text}"));
    }

    /// A note on stderr (above the bar); none when quiet.
    pub fn note(&self, text: &str) {
        if !self.quiet {
            self.bar.suspend(|| eprintln!("{text}"));
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
