//! The progress bar of a long sweep, on stderr: configs done, the config and epoch in flight,
//! elapsed time and an estimate. Hidden when stderr is not a terminal or when asked to be quiet;
//! text printed through [`Progress::print`] does not tear it.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: ProgressBar,
    epochs: usize,
    configs: usize,
    started: usize,
    /// The configs in flight (several when configs run in parallel) and their last epoch.
    in_flight: Vec<(String, usize)>,
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
            epochs,
            configs,
            started: 0,
            in_flight: Vec::new(),
            quiet,
        }
    }

    pub fn config_started(&mut self, label: &str) {
        self.started += 1;
        self.in_flight.push((label.to_string(), 0));
        self.show();
    }

    /// After epoch `epoch` (1-based) of the config `label`, in flight.
    pub fn epoch(&mut self, label: &str, epoch: usize) {
        self.bar.inc(1);
        if let Some(slot) = self.in_flight.iter_mut().find(|(l, _)| l == label) {
            slot.1 = epoch;
        }
        self.show();
    }

    pub fn config_done(&mut self, label: &str) {
        self.in_flight.retain(|(l, _)| l != label);
        self.show();
    }

    /// "config 3/12 D64_h4 epoch 20/50, D64_h8 epoch 18/50": the last started config's number.
    fn show(&self) {
        let flying: Vec<String> = self
            .in_flight
            .iter()
            .map(|(label, epoch)| format!("{label} epoch {epoch}/{}", self.epochs))
            .collect();
        self.bar.set_message(format!(
            "config {}/{} {}",
            self.started,
            self.configs,
            flying.join(", ")
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
