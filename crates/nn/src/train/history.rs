//! What `fit` returns: per-epoch figures, as Keras' `History`; serde, CSV and (in `plot.rs`) SVG.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The figures of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// The epoch, from 1.
    pub epoch: usize,
    /// The mean training loss over the epoch's batches.
    pub loss: f64,
    /// Training metrics over the epoch, by name.
    pub metrics: Vec<(String, f64)>,
    /// The validation loss, when there is validation data.
    pub val_loss: Option<f64>,
    /// Validation metrics, by name.
    pub val_metrics: Vec<(String, f64)>,
    /// The learning rate of the epoch's last step (with a per-epoch schedule, the rate the whole epoch
    /// ran with), as Keras logs `lr`.
    pub lr: f64,
}

impl EpochLog {
    /// The value of a monitored quantity: `loss`, `val_loss`, `lr`, a metric name, or `val_` + a metric
    /// name.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "loss" => Some(self.loss),
            "lr" => Some(self.lr),
            "val_loss" => self.val_loss,
            _ => {
                let (list, key) = match name.strip_prefix("val_") {
                    Some(k) => (&self.val_metrics, k),
                    None => (&self.metrics, name),
                };
                list.iter().find(|(n, _)| n == key).map(|&(_, v)| v)
            }
        }
    }

    /// A one-line summary: `loss 0.1234  mae 0.2000  val_loss 0.1500`.
    pub fn summary(&self) -> String {
        let mut s = format!("loss {:.6}", self.loss);
        for (n, v) in &self.metrics {
            s += &format!("  {n} {v:.4}");
        }
        if let Some(v) = self.val_loss {
            s += &format!("  val_loss {v:.6}");
        }
        for (n, v) in &self.val_metrics {
            s += &format!("  val_{n} {v:.4}");
        }
        s
    }
}

/// Every epoch's figures, in order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct History {
    /// One entry per epoch run.
    pub epochs: Vec<EpochLog>,
    /// True when a callback stopped training early.
    pub stopped_early: bool,
    /// The batches whose step was skipped for a non-finite loss or gradient, as (epoch, batch), both
    /// from 1 (only with [`NonFinite::SkipBatch`](super::NonFinite::SkipBatch)).
    pub skipped_batches: Vec<(usize, usize)>,
}

impl History {
    /// The series of a monitored quantity (see [`EpochLog::get`]), one value per epoch that has it.
    pub fn series(&self, name: &str) -> Vec<f64> {
        self.epochs.iter().filter_map(|e| e.get(name)).collect()
    }

    /// The last epoch's figures.
    pub fn last(&self) -> Option<&EpochLog> {
        self.epochs.last()
    }

    /// The names of the figures in the order of the CSV's columns after `epoch`: `loss`, the metrics,
    /// `val_loss`, the validation metrics (each when some epoch has it), `lr`.
    pub fn columns(&self) -> Vec<String> {
        let mut cols = vec!["loss".to_string()];
        let mut push = |name: String| {
            if !cols.contains(&name) {
                cols.push(name);
            }
        };
        for e in &self.epochs {
            e.metrics.iter().for_each(|(n, _)| push(n.clone()));
        }
        if self.epochs.iter().any(|e| e.val_loss.is_some()) {
            push("val_loss".into());
        }
        for e in &self.epochs {
            e.val_metrics.iter().for_each(|(n, _)| push(format!("val_{n}")));
        }
        push("lr".into());
        cols
    }

    /// The history as CSV text, as Keras' `CSVLogger` writes it: a header `epoch,loss,...,lr` (see
    /// [`columns`](Self::columns)), then a row per epoch; every number in Rust's shortest form that
    /// reads back to the same `f64`, and an empty field for a figure an epoch lacks.
    ///
    /// ```
    /// use wengert::nn::train::{EpochLog, History};
    /// let log = |epoch, loss| EpochLog { epoch, loss, metrics: vec![("mae".into(), loss / 2.0)], val_loss: None, val_metrics: vec![], lr: 0.01 };
    /// let history = History { epochs: vec![log(1, 0.5), log(2, 0.25)], ..History::default() };
    /// assert_eq!(history.to_csv_string(), "epoch,loss,mae,lr\n1,0.5,0.25,0.01\n2,0.25,0.125,0.01\n");
    /// ```
    pub fn to_csv_string(&self) -> String {
        let cols = self.columns();
        let mut out = format!("epoch,{}\n", cols.join(","));
        for e in &self.epochs {
            out += &e.epoch.to_string();
            for c in &cols {
                out.push(',');
                if let Some(v) = e.get(c) {
                    out += &v.to_string();
                }
            }
            out.push('\n');
        }
        out
    }

    /// Writes [`to_csv_string`](Self::to_csv_string) to `path`.
    ///
    /// # Errors
    ///
    /// The I/O error when `path` cannot be written.
    pub fn to_csv(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.to_csv_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history() -> History {
        let log = |epoch: usize, loss: f64, acc: f64, val: Option<(f64, f64)>| EpochLog {
            epoch,
            loss,
            metrics: vec![("accuracy".into(), acc)],
            val_loss: val.map(|v| v.0),
            val_metrics: val.map(|v| vec![("accuracy".into(), v.1)]).unwrap_or_default(),
            lr: 0.001 / epoch as f64,
        };
        History {
            epochs: vec![log(1, 0.75, 0.5, Some((0.8, 0.45))), log(2, 0.125, 0.875, None)],
            ..History::default()
        }
    }

    #[test]
    fn the_csv_has_a_column_per_figure_and_empty_fields_for_missing_ones() {
        assert_eq!(
            history().to_csv_string(),
            "epoch,loss,accuracy,val_loss,val_accuracy,lr\n\
             1,0.75,0.5,0.8,0.45,0.001\n\
             2,0.125,0.875,,,0.0005\n"
        );
        let path = std::env::temp_dir().join(format!("wengert-history-{}.csv", std::process::id()));
        history().to_csv(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), history().to_csv_string());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_history_round_trips_through_serde() {
        let h = history();
        let json = serde_json::to_string(&h).unwrap();
        assert!(json.contains("\"val_loss\":0.8"), "{json}");
        assert_eq!(serde_json::from_str::<History>(&json).unwrap(), h);
    }
}
