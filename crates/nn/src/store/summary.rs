//! `Summary`: a store's parameters as a Keras-like table (`model.summary()`), with the totals.

use std::fmt;

use wengert_tensor::Float;

use crate::param::Param;

/// A table of a store's parameters and buffers, and their totals; made by
/// [`ParamStore::summary`](crate::ParamStore::summary) and printed with `{}`.
///
/// ```
/// use wengert::nn::{Linear, ParamStore};
/// let store = ParamStore::<f32>::new(0);
/// let _fc = Linear::new(&store.root().sub("fc"), 2, 3);
/// println!("{}", store.summary());
/// assert!(store.summary().to_string().ends_with("Non-trainable params: 0\n"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    name: String,
    shape: String,
    count: usize,
    buffer: bool,
}

impl Summary {
    pub(crate) fn new<F: Float>(params: &[Param<F>], buffers: &[Param<F>]) -> Self {
        let row = |p: &Param<F>, buffer| Row {
            name: p.name().to_string(),
            shape: format!("{:?}", p.shape()),
            count: p.len(),
            buffer,
        };
        let rows = params.iter().map(|p| row(p, false)).chain(buffers.iter().map(|b| row(b, true))).collect();
        Summary { rows }
    }

    /// The number of trainable elements (every parameter, no buffer).
    pub fn trainable(&self) -> usize {
        self.rows.iter().filter(|r| !r.buffer).map(|r| r.count).sum()
    }

    /// The number of non-trainable elements (the buffers).
    pub fn non_trainable(&self) -> usize {
        self.rows.iter().filter(|r| r.buffer).map(|r| r.count).sum()
    }
}

/// `1234567` as `1,234,567`, as Keras prints counts.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts: Vec<String> = self.rows.iter().map(|r| grouped(r.count)).collect();
        let name_w = self.rows.iter().map(|r| r.name.len()).chain([9]).max().unwrap_or(9);
        let shape_w = self.rows.iter().map(|r| r.shape.len()).chain([5]).max().unwrap_or(5);
        let count_w = counts.iter().map(String::len).chain([6]).max().unwrap_or(6);
        let rule = "-".repeat(name_w + shape_w + count_w + 4);
        writeln!(f, "{:name_w$}  {:shape_w$}  {:>count_w$}", "Parameter", "Shape", "Params")?;
        writeln!(f, "{rule}")?;
        for (r, count) in self.rows.iter().zip(&counts) {
            write!(f, "{:name_w$}  {:shape_w$}  {count:>count_w$}", r.name, r.shape)?;
            writeln!(f, "{}", if r.buffer { "  (buffer)" } else { "" })?;
        }
        writeln!(f, "{rule}")?;
        let (trainable, frozen) = (self.trainable(), self.non_trainable());
        writeln!(f, "Total params: {}", grouped(trainable + frozen))?;
        writeln!(f, "Trainable params: {}", grouped(trainable))?;
        writeln!(f, "Non-trainable params: {}", grouped(frozen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BatchNorm1d, Linear, ParamStore};

    #[test]
    fn a_small_model_prints_a_table_with_buffers_marked_and_totals() {
        let store = ParamStore::<f32>::new(0);
        let _fc = Linear::new(&store.root().sub("encoder").sub("fc"), 4, 300);
        let _bn = BatchNorm1d::new(&store.root().sub("bn"), 3);
        let expected = "\
Parameter               Shape     Params
----------------------------------------
encoder.fc.weight       [300, 4]   1,200
encoder.fc.bias         [300]        300
bn.weight               [3]            3
bn.bias                 [3]            3
bn.running_mean         [3]            3  (buffer)
bn.running_var          [3]            3  (buffer)
bn.num_batches_tracked  []             1  (buffer)
----------------------------------------
Total params: 1,513
Trainable params: 1,506
Non-trainable params: 7
";
        assert_eq!(store.summary().to_string(), expected);
        assert_eq!((store.summary().trainable(), store.summary().non_trainable()), (1506, 7));
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1234567), "1,234,567");
    }
}
