//! Progress output of `fit`: an indicatif bar on a terminal, plain lines otherwise, nothing when quiet.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::history::EpochLog;

/// How much `fit` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// A progress bar when standard error is a terminal, else a line every `log_every` epochs.
    #[default]
    Auto,
    /// A line every `log_every` epochs, even on a terminal.
    Lines,
    /// Nothing.
    Quiet,
}

/// The reporter for one `fit` call.
pub(crate) enum Progress {
    Bar(ProgressBar),
    Lines { every: usize, epochs: usize },
    Quiet,
}

impl Progress {
    pub(crate) fn new(verbosity: Verbosity, epochs: usize, every: usize) -> Self {
        let every = every.max(1);
        match verbosity {
            Verbosity::Quiet => Progress::Quiet,
            Verbosity::Auto if std::io::stderr().is_terminal() => {
                let bar = ProgressBar::new(epochs as u64);
                let style = ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} epochs  {msg}  [{elapsed_precise}<{eta}]",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar());
                bar.set_style(style);
                Progress::Bar(bar)
            }
            Verbosity::Auto | Verbosity::Lines => Progress::Lines { every, epochs },
        }
    }

    pub(crate) fn epoch(&self, log: &EpochLog) {
        match self {
            Progress::Bar(bar) => {
                bar.set_message(log.summary());
                bar.inc(1);
            }
            Progress::Lines { every, epochs } => {
                if log.epoch.is_multiple_of(*every) || log.epoch == 1 || log.epoch == *epochs {
                    eprintln!("epoch {}/{epochs}  {}", log.epoch, log.summary());
                }
            }
            Progress::Quiet => {}
        }
    }

    pub(crate) fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish();
        }
    }
}
