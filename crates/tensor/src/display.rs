//! Printing tensors as PyTorch does: `tensor([[1.0000, 2.0000], ...])`, summarised past 1000 elements.

use std::fmt;

use ndarray::{ArrayViewD, Axis};

use crate::float::Float;
use crate::tensor::Tensor;

/// Tensors with more elements than this print only the edges of each long axis.
const THRESHOLD: usize = 1000;
/// How many entries a summarised axis shows at each end.
const EDGE: usize = 3;
/// Rows of a vector wrap at this many characters.
const LINE_WIDTH: usize = 80;
/// Digits after the point when the format string gives no precision.
const PRECISION: usize = 4;

/// How every element of one tensor is written: fixed or scientific, padded to a common width.
struct Style {
    sci: bool,
    precision: usize,
    width: usize,
    /// Break lines as PyTorch does (Display), or keep everything on one line (Debug).
    wrap: bool,
}

impl Style {
    /// PyTorch's choice: scientific notation when the nonzero finite magnitudes span more than
    /// a factor of 1000, exceed 1e8 or go below 1e-4; the width is the widest of those values.
    fn new<F: Float>(values: &[F], precision: usize, wrap: bool) -> Self {
        let shown: Vec<f64> =
            values.iter().map(|&x| x.to_f64()).filter(|x| x.is_finite() && *x != 0.0).collect();
        let (min, max) =
            shown.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), x| (lo.min(x.abs()), hi.max(x.abs())));
        let sci = !shown.is_empty() && (max / min > 1000.0 || max > 1e8 || min < 1e-4);
        let mut style = Style { sci, precision, width: 1, wrap };
        style.width = shown.iter().map(|&x| style.raw(x).len()).max().unwrap_or(1);
        style
    }

    /// One value, unpadded.
    fn raw(&self, x: f64) -> String {
        if x.is_nan() {
            "nan".to_string()
        } else if x.is_infinite() {
            if x > 0.0 { "inf" } else { "-inf" }.to_string()
        } else if self.sci {
            // Rust writes `1.5e-7`; PyTorch (Python) writes `1.5000e-07`.
            let s = format!("{x:.p$e}", p = self.precision);
            let (mantissa, exp) = s.split_once('e').expect("exponent");
            let exp: i32 = exp.parse().expect("integer exponent");
            format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.unsigned_abs())
        } else {
            format!("{x:.p$}", p = self.precision)
        }
    }

    /// One value, right-aligned to the common width.
    fn format<F: Float>(&self, x: F) -> String {
        format!("{:>w$}", self.raw(x.to_f64()), w = self.width)
    }

    /// The separator between the rows (sub-blocks) of a block of `ndim` dims at `indent`.
    fn separator(&self, ndim: usize, indent: usize) -> String {
        if self.wrap {
            format!(",{}{}", "\n".repeat(ndim.max(2) - 1), " ".repeat(indent + 1))
        } else {
            ", ".into()
        }
    }
}

/// The positions of an axis of length `n` that are shown: all, or the edges when summarising.
fn shown(n: usize, summarize: bool) -> Vec<Option<usize>> {
    if summarize && n > 2 * EDGE {
        (0..EDGE).map(Some).chain([None]).chain((n - EDGE..n).map(Some)).collect()
    } else {
        (0..n).map(Some).collect()
    }
}

/// The elements that will be printed, for choosing the style from them alone.
fn shown_values<F: Float>(a: &ArrayViewD<'_, F>, summarize: bool, out: &mut Vec<F>) {
    if a.ndim() == 0 {
        out.push(a[[]]);
        return;
    }
    for i in shown(a.len_of(Axis(0)), summarize).into_iter().flatten() {
        shown_values(&a.index_axis(Axis(0), i), summarize, out);
    }
}

/// Writes the bracketed body of `a`, whose opening bracket sits at column `indent`.
fn body<F: Float>(a: &ArrayViewD<'_, F>, indent: usize, summarize: bool, style: &Style, out: &mut String) {
    if a.ndim() == 0 {
        out.push_str(&style.format(a[[]]));
        return;
    }
    let entries = shown(a.len_of(Axis(0)), summarize);
    out.push('[');
    if a.ndim() == 1 {
        let per_line = if style.wrap {
            (LINE_WIDTH.saturating_sub(indent) / (style.width + 2)).max(1)
        } else {
            usize::MAX
        };
        let items: Vec<String> =
            entries.iter().map(|e| e.map_or_else(|| " ...".to_string(), |i| style.format(a[[i]]))).collect();
        let lines: Vec<String> = items.chunks(per_line).map(|line| line.join(", ")).collect();
        out.push_str(&lines.join(&style.separator(1, indent)));
    } else {
        let sep = style.separator(a.ndim(), indent);
        for (k, e) in entries.iter().enumerate() {
            if k > 0 {
                out.push_str(&sep);
            }
            match e {
                Some(i) => body(&a.index_axis(Axis(0), *i), indent + 1, summarize, style, out),
                None => out.push_str("..."),
            }
        }
    }
    out.push(']');
}

/// The body of `t` as Display and Debug print it, with `precision` digits.
fn render<F: Float>(t: &Tensor<F>, indent: usize, precision: usize, wrap: bool) -> String {
    if t.is_empty() {
        return "[]".to_string();
    }
    let view = t.view();
    let summarize = t.len() > THRESHOLD;
    let mut values = Vec::new();
    shown_values(&view, summarize, &mut values);
    let style = Style::new(&values, precision, wrap);
    let mut out = String::new();
    body(&view, indent, summarize, &style, &mut out);
    out
}

/// Appends `, suffix` to `s`, on a new line when the last line would pass the line width (PyTorch's rule).
fn add_suffixes(s: &mut String, suffixes: &[String], indent: usize) {
    let mut last_line = match s.rfind('\n') {
        Some(p) => s.len() - p + 1,
        None => s.len() + 2,
    };
    for suffix in suffixes {
        if last_line + suffix.len() + 2 > LINE_WIDTH {
            s.push_str(&format!(",\n{}{suffix}", " ".repeat(indent)));
            last_line = indent + suffix.len();
        } else {
            s.push_str(&format!(", {suffix}"));
            last_line += suffix.len() + 2;
        }
    }
}

impl<F: Float> fmt::Display for Tensor<F> {
    /// Prints like PyTorch: `tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]])`.
    ///
    /// Four decimals by default (`{:.2}` asks for two); scientific notation when the nonzero
    /// magnitudes span more than a factor of 1000, exceed 1e8 or go below 1e-4; past 1000
    /// elements each axis longer than 6 shows its first and last 3 entries around `...`.
    /// Empty tensors of other than one dim add `shape=[..]`, and `f64` tensors add `dtype=f64`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let a = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// assert_eq!(a.to_string(), "tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]])");
    /// assert_eq!(format!("{:.1}", Tensor::<f64>::scalar(0.25)), "tensor(0.2, dtype=f64)");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const PREFIX: &str = "tensor(";
        let precision = f.precision().unwrap_or(PRECISION);
        let mut s = format!("{PREFIX}{}", render(self, PREFIX.len(), precision, true));
        let mut suffixes = Vec::new();
        if self.is_empty() && self.ndim() != 1 {
            suffixes.push(format!("shape={:?}", self.shape()));
        }
        if F::DTYPE != "f32" {
            suffixes.push(format!("dtype={}", F::DTYPE));
        }
        add_suffixes(&mut s, &suffixes, PREFIX.len());
        s.push(')');
        f.write_str(&s)
    }
}

impl<F: Float> fmt::Debug for Tensor<F> {
    /// One line: `Tensor { shape: [2], dtype: f32, data: [1.0000, 2.0000] }`, summarised like Display.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precision = f.precision().unwrap_or(PRECISION);
        let data = render(self, 0, precision, false);
        write!(f, "Tensor {{ shape: {:?}, dtype: {}, data: {data} }}", self.shape(), F::DTYPE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(shape: &[usize]) -> Tensor<f32> {
        let n: usize = shape.iter().product();
        Tensor::from_vec((0..n).map(|i| i as f32).collect(), shape).unwrap()
    }

    fn t32(v: Vec<f32>, shape: &[usize]) -> Tensor<f32> {
        Tensor::from_vec(v, shape).unwrap()
    }

    #[test]
    fn scalars_vectors_and_matrices_print_like_pytorch() {
        assert_eq!(Tensor::<f32>::scalar(3.5).to_string(), "tensor(3.5000)");
        assert_eq!(t32(vec![1.0, -2.5, 3.0], &[3]).to_string(), "tensor([ 1.0000, -2.5000,  3.0000])");
        assert_eq!(seq(&[2, 2]).to_string(), "tensor([[0.0000, 1.0000],\n        [2.0000, 3.0000]])");
        assert_eq!(seq(&[2, 2]).t().to_string(), "tensor([[0.0000, 2.0000],\n        [1.0000, 3.0000]])");
        assert_eq!(Tensor::<f32>::zeros(&[2]).to_string(), "tensor([0.0000, 0.0000])");
    }

    #[test]
    fn three_dims_leave_a_blank_line_between_blocks() {
        let want = "tensor([[[0.0000, 1.0000]],\n\n        [[2.0000, 3.0000]]])";
        assert_eq!(seq(&[2, 1, 2]).to_string(), want);
    }

    #[test]
    fn wide_ranges_switch_to_scientific_notation() {
        // torch.tensor([1e4, 1.5]) -> tensor([1.0000e+04, 1.5000e+00])
        assert_eq!(t32(vec![1e4, 1.5], &[2]).to_string(), "tensor([1.0000e+04, 1.5000e+00])");
        assert_eq!(t32(vec![1e-5, 0.0], &[2]).to_string(), "tensor([1.0000e-05, 0.0000e+00])");
        assert_eq!(t32(vec![2e9], &[1]).to_string(), "tensor([2.0000e+09])");
        assert_eq!(
            t32(vec![f32::NAN, f32::NEG_INFINITY, 1.0], &[3]).to_string(),
            "tensor([   nan,   -inf, 1.0000])"
        );
    }

    #[test]
    fn precision_from_the_format_string_wins() {
        assert_eq!(format!("{:.2}", t32(vec![1.0, 2.125], &[2])), "tensor([1.00, 2.12])");
        assert_eq!(format!("{:.1}", t32(vec![1e-6], &[1])), "tensor([1.0e-06])");
    }

    #[test]
    fn empty_and_f64_tensors_add_suffixes() {
        assert_eq!(Tensor::<f32>::zeros(&[0]).to_string(), "tensor([])");
        assert_eq!(Tensor::<f32>::zeros(&[2, 0]).to_string(), "tensor([], shape=[2, 0])");
        assert_eq!(Tensor::<f64>::ones(&[1]).to_string(), "tensor([1.0000], dtype=f64)");
        assert_eq!(Tensor::<f64>::zeros(&[0, 3]).to_string(), "tensor([], shape=[0, 3], dtype=f64)");
    }

    #[test]
    fn long_rows_wrap_at_eighty_columns() {
        let s = t32((10..30).map(|i| i as f32).collect(), &[20]).to_string();
        let want = "tensor([10.0000, 11.0000, 12.0000, 13.0000, 14.0000, 15.0000, 16.0000, 17.0000,\n        \
                    18.0000, 19.0000, 20.0000, 21.0000, 22.0000, 23.0000, 24.0000, 25.0000,\n        \
                    26.0000, 27.0000, 28.0000, 29.0000])";
        assert_eq!(s, want);
        assert!(s.lines().all(|l| l.len() <= LINE_WIDTH));
        // A suffix that does not fit goes on its own line.
        let d = Tensor::<f64>::from_vec((10..17).map(f64::from).collect(), &[7]).unwrap().to_string();
        assert!(d.ends_with("16.0000],\n       dtype=f64)"), "{d}");
    }

    #[test]
    fn large_tensors_are_summarised() {
        // torch.arange(10000.).reshape(100, 100)
        let s = seq(&[100, 100]).to_string();
        let want = "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 9.7000e+01, 9.8000e+01,\n         \
                    9.9000e+01],\n        \
                    [1.0000e+02, 1.0100e+02, 1.0200e+02,  ..., 1.9700e+02, 1.9800e+02,\n         \
                    1.9900e+02],\n        \
                    [2.0000e+02, 2.0100e+02, 2.0200e+02,  ..., 2.9700e+02, 2.9800e+02,\n         \
                    2.9900e+02],\n        \
                    ...,\n        \
                    [9.7000e+03, 9.7010e+03, 9.7020e+03,  ..., 9.7970e+03, 9.7980e+03,\n         \
                    9.7990e+03],\n        \
                    [9.8000e+03, 9.8010e+03, 9.8020e+03,  ..., 9.8970e+03, 9.8980e+03,\n         \
                    9.8990e+03],\n        \
                    [9.9000e+03, 9.9010e+03, 9.9020e+03,  ..., 9.9970e+03, 9.9980e+03,\n         \
                    9.9990e+03]])";
        assert_eq!(s, want);
        // 1000 elements are still printed in full.
        assert!(!seq(&[1000]).to_string().contains("..."));
    }

    #[test]
    fn debug_is_one_line_with_shape_and_dtype() {
        assert_eq!(
            format!("{:?}", seq(&[2, 2])),
            "Tensor { shape: [2, 2], dtype: f32, data: [[0.0000, 1.0000], [2.0000, 3.0000]] }"
        );
        assert_eq!(
            format!("{:?}", Tensor::<f64>::zeros(&[0])),
            "Tensor { shape: [0], dtype: f64, data: [] }"
        );
        assert_eq!(
            format!("{:.1?}", Tensor::<f64>::scalar(2.0)),
            "Tensor { shape: [], dtype: f64, data: 2.0 }"
        );
        assert!(format!("{:?}", seq(&[2000])).contains(" ..., "));
    }
}
