//! Progress output of `fit`, in Keras' style: `Epoch 3/10`, then a line updated every batch,
//! `125/250 ━━━━━━━━━━────────── 0s 2ms/step - loss: 0.1234`, left with the epoch's figures at its end.
//! An indicatif line on a terminal, plain lines otherwise, nothing when quiet.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use super::history::EpochLog;

/// How much `fit` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// A progress line updated every batch when standard error is a terminal, else the epoch's
    /// lines every `log_every` epochs.
    #[default]
    Auto,
    /// `Epoch n/N` and the epoch's final line every `log_every` epochs, even on a terminal.
    Lines,
    /// Nothing.
    Quiet,
}

/// The width of the bar, in characters (Keras': 20).
const BAR: usize = 20;

/// One progress line, as Keras prints it: the batches done of the total (`Unknown` when the source
/// does not say), a bar, the time (the estimated time left while the epoch runs, the time it took once
/// `done == total`), the time per step and the figures.
///
/// ```
/// use wengert::nn::train::format_progress;
/// assert_eq!(
///     format_progress(12, Some(250), 0.024, &[("loss", 0.1234)]),
///     " 12/250 ──────────────────── 0s 2ms/step - loss: 0.1234"
/// );
/// ```
pub fn format_progress(done: usize, total: Option<usize>, elapsed: f64, figures: &[(&str, f64)]) -> String {
    let per_step = if done == 0 { 0.0 } else { elapsed / done as f64 };
    let mut s = match total {
        Some(total) => {
            let width = total.to_string().len();
            let filled = (BAR * done).checked_div(total).unwrap_or(BAR).min(BAR);
            let time = if done >= total { elapsed } else { per_step * (total - done) as f64 };
            format!(
                "{done:>width$}/{total} {}{} {}",
                "━".repeat(filled),
                "─".repeat(BAR - filled),
                format_time(time)
            )
        }
        None => format!("{done}/Unknown {}", format_time(elapsed)),
    };
    s += &format!(" {}", format_step_time(per_step));
    for (name, value) in figures {
        s += &format!(" - {name}: {}", format_value(*value));
    }
    s
}

/// Seconds as Keras prints a time: `7s`, `2:05`, `1:02:03`.
fn format_time(secs: f64) -> String {
    let t = secs.max(0.0).round() as u64;
    match t {
        0..60 => format!("{t}s"),
        60..3600 => format!("{}:{:02}", t / 60, t % 60),
        _ => format!("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60),
    }
}

/// Seconds per step as Keras prints them: `2s/step`, `15ms/step`, `120us/step`.
fn format_step_time(secs: f64) -> String {
    if secs >= 1.0 || secs == 0.0 {
        format!("{secs:.0}s/step")
    } else if secs >= 1e-3 {
        format!("{:.0}ms/step", secs * 1e3)
    } else {
        format!("{:.0}us/step", secs * 1e6)
    }
}

/// A figure as Keras prints it: four decimals, or scientific notation below 10⁻³.
fn format_value(v: f64) -> String {
    if v != 0.0 && v.abs() < 1e-3 { format!("{v:.4e}") } else { format!("{v:.4}") }
}

/// The figures of an epoch in the order Keras prints them.
fn figures(log: &EpochLog) -> Vec<(String, f64)> {
    let mut out = vec![("loss".to_string(), log.loss)];
    out.extend(log.metrics.iter().cloned());
    if let Some(v) = log.val_loss {
        out.push(("val_loss".into(), v));
    }
    out.extend(log.val_metrics.iter().map(|(n, v)| (format!("val_{n}"), *v)));
    out
}

/// The reporter for one `fit` call.
pub(crate) struct Progress {
    mode: Mode,
    every: usize,
    epochs: usize,
    started: Instant,
    total: Option<usize>,
}

enum Mode {
    Bar(Option<ProgressBar>),
    Lines,
    Quiet,
}

impl Progress {
    pub(crate) fn new(verbosity: Verbosity, epochs: usize, every: usize) -> Self {
        let mode = match verbosity {
            Verbosity::Quiet => Mode::Quiet,
            Verbosity::Auto if std::io::stderr().is_terminal() => Mode::Bar(None),
            Verbosity::Auto | Verbosity::Lines => Mode::Lines,
        };
        Progress { mode, every: every.max(1), epochs, started: Instant::now(), total: None }
    }

    fn shown(&self, epoch: usize) -> bool {
        epoch.is_multiple_of(self.every) || epoch == 1 || epoch == self.epochs
    }

    pub(crate) fn epoch_begin(&mut self, epoch: usize, total: Option<usize>) {
        self.started = Instant::now();
        self.total = total;
        let shown = self.shown(epoch);
        match &mut self.mode {
            Mode::Bar(bar) => {
                eprintln!("Epoch {epoch}/{}", self.epochs);
                let b = ProgressBar::new(total.unwrap_or(0) as u64);
                b.set_style(
                    ProgressStyle::with_template("{msg}").unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                *bar = Some(b);
            }
            Mode::Lines if shown => eprintln!("Epoch {epoch}/{}", self.epochs),
            Mode::Lines | Mode::Quiet => {}
        }
    }

    pub(crate) fn batch(&self, done: usize, loss: f64) {
        if let Mode::Bar(Some(bar)) = &self.mode {
            let elapsed = self.started.elapsed().as_secs_f64();
            bar.set_message(format_progress(done, self.total, elapsed, &[("loss", loss)]));
        }
    }

    pub(crate) fn epoch(&mut self, log: &EpochLog, done: usize) {
        let elapsed = self.started.elapsed().as_secs_f64();
        let figures = figures(log);
        let named: Vec<(&str, f64)> = figures.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let line = format_progress(done, Some(done), elapsed, &named);
        let shown = self.shown(log.epoch);
        match &mut self.mode {
            Mode::Bar(bar) => {
                // Cleared, then printed: indicatif leaves a finished line without its newline.
                if let Some(b) = bar.take() {
                    b.finish_and_clear();
                }
                eprintln!("{line}");
            }
            Mode::Lines if shown => eprintln!("{line}"),
            Mode::Lines | Mode::Quiet => {}
        }
    }

    pub(crate) fn finish(&mut self) {
        if let Mode::Bar(bar) = &mut self.mode
            && let Some(b) = bar.take()
        {
            b.abandon();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_epoch_shows_the_bar_the_time_left_and_the_loss() {
        assert_eq!(
            format_progress(125, Some(250), 0.25, &[("loss", 0.5)]),
            "125/250 ━━━━━━━━━━────────── 0s 2ms/step - loss: 0.5000"
        );
        // 10 s for 100 of 250 steps: 15 s left.
        assert_eq!(
            format_progress(100, Some(250), 10.0, &[("loss", 1.25)]),
            "100/250 ━━━━━━━━──────────── 15s 100ms/step - loss: 1.2500"
        );
    }

    #[test]
    fn a_finished_epoch_shows_the_time_it_took_and_every_figure() {
        let log = EpochLog {
            epoch: 3,
            loss: 0.1234,
            metrics: vec![("accuracy".into(), 0.9)],
            val_loss: Some(0.00012),
            val_metrics: vec![("accuracy".into(), 0.875)],
            lr: 0.01,
        };
        let f = figures(&log);
        let named: Vec<(&str, f64)> = f.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        assert_eq!(
            format_progress(8, Some(8), 125.0, &named),
            "8/8 ━━━━━━━━━━━━━━━━━━━━ 2:05 16s/step - loss: 0.1234 - accuracy: 0.9000 - val_loss: 1.2000e-4 \
             - val_accuracy: 0.8750"
        );
    }

    #[test]
    fn an_unknown_total_and_tiny_steps_are_spelled_out() {
        assert_eq!(format_progress(7, None, 0.0007, &[]), "7/Unknown 0s 100us/step");
        assert_eq!(format_progress(0, Some(3), 0.0, &[]), "0/3 ──────────────────── 0s 0s/step");
        assert_eq!(format_time(3723.0), "1:02:03");
    }
}
