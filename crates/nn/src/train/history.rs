//! What `fit` returns: per-epoch figures, as Keras' `History`.

/// The figures of one epoch.
#[derive(Debug, Clone, PartialEq)]
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
    /// The learning rate the epoch ran with.
    pub lr: f64,
}

impl EpochLog {
    /// The value of a monitored quantity: `loss`, `val_loss`, a metric name, or `val_` + a metric name.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "loss" => Some(self.loss),
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
#[derive(Debug, Clone, PartialEq, Default)]
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
}
