//! The two ways of getting both Jacobians of a function of tensors: in full (one vector-Jacobian
//! product per output element, two evaluations per input element) or along random directions
//! (`⟨vjp(u), v⟩` against `⟨u, f(x + εv) - f(x - εv)⟩ / 2ε`).

use rand::SeedableRng;
use rand::rngs::StdRng;
use wengert_tensor::Tensor;

use super::compare::{Row, compare};
use super::error::{Check, GradcheckError, Location};
use super::{GradcheckOptions, Mode};
use crate::tape::Tape;
use crate::var::Var;

/// The outputs of a checked function: a Var each, or `None` for an output that is identically zero
/// (an unreached gradient in `gradgradcheck`).
pub(super) type Outputs<'t> = Vec<Option<Var<'t, f64>>>;

/// A checked function, behind `dyn` so the checks compile once, not once per closure.
pub(super) type Checked<'g> = &'g dyn for<'t> Fn(&[Var<'t, f64>]) -> Outputs<'t>;

pub(super) fn leaves<'t>(tape: &'t Tape<f64>, inputs: &[Tensor<f64>]) -> Vec<Var<'t, f64>> {
    inputs.iter().map(|x| tape.var(x.clone())).collect()
}

/// Runs `g` on a fresh tape and returns the values of its outputs, flattened and concatenated.
#[track_caller]
fn eval(g: Checked<'_>, inputs: &[Tensor<f64>], shapes: &[Vec<usize>]) -> Vec<f64> {
    let tape = Tape::<f64>::new();
    let outs = g(&leaves(&tape, inputs));
    let mut flat = Vec::with_capacity(shapes.iter().map(|s| numel(s)).sum());
    for (k, (out, shape)) in outs.iter().zip(shapes).enumerate() {
        match out {
            Some(y) => {
                let value = y.value();
                check_output_shape(k, value.shape(), shape);
                flat.extend(value.to_vec());
            }
            None => flat.extend(std::iter::repeat_n(0.0, numel(shape))),
        }
    }
    flat
}

#[track_caller]
fn check_output_shape(k: usize, got: &[usize], expected: &[usize]) {
    assert!(
        got == expected,
        "gradcheck: output {k} has shape {got:?} at perturbed inputs but {expected:?} at the inputs; \
         the output's shape must not depend on the input values"
    );
}

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The multi-index of row-major position `flat` in `shape`.
pub(super) fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (i, &d) in shape.iter().enumerate().rev() {
        index[i] = flat % d;
        flat /= d;
    }
    index
}

fn with_input(inputs: &[Tensor<f64>], i: usize, data: Vec<f64>) -> Vec<Tensor<f64>> {
    let mut xs = inputs.to_vec();
    xs[i] = Tensor::from_vec(data, inputs[i].shape()).expect("same length as the input");
    xs
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

#[track_caller]
pub(super) fn run(
    check: Check,
    g: Checked<'_>,
    inputs: &[Tensor<f64>],
    shapes: &[Vec<usize>],
    opts: &GradcheckOptions,
) -> Result<(), GradcheckError> {
    let n_in: usize = inputs.iter().map(Tensor::len).sum();
    let n_out: usize = shapes.iter().map(|s| numel(s)).sum();
    match opts.mode {
        Mode::Full => full(check, g, inputs, shapes, opts),
        Mode::Auto if n_in.saturating_mul(n_out) <= Mode::AUTO_FULL_LIMIT => {
            full(check, g, inputs, shapes, opts)
        }
        Mode::Auto => fast(check, g, inputs, shapes, opts, Mode::AUTO_DIRECTIONS),
        Mode::Fast { directions } => fast(check, g, inputs, shapes, opts, directions),
    }
}

/// The tape's gradient of input `i` from one backward sweep, flattened, or `None` when it gets none.
fn gradient_of(
    check: Check,
    grads: &crate::Gradients<f64>,
    x: Var<'_, f64>,
    i: usize,
) -> Result<Option<Vec<f64>>, GradcheckError> {
    match grads.get(x) {
        None => Ok(None),
        Some(g) if g.shape() != x.shape().as_slice() => Err(GradcheckError::GradientShape {
            check,
            input: i,
            expected: x.shape(),
            got: g.shape().to_vec(),
        }),
        Some(g) => Ok(Some(g.to_vec())),
    }
}

/// The full Jacobian: a backward sweep per output element for the analytic rows, two evaluations per
/// input element for the numeric columns.
#[track_caller]
fn full(
    check: Check,
    g: Checked<'_>,
    inputs: &[Tensor<f64>],
    shapes: &[Vec<usize>],
    opts: &GradcheckOptions,
) -> Result<(), GradcheckError> {
    // Which output each flat row belongs to, and where in it.
    let rows_at: Vec<(usize, Vec<usize>)> =
        shapes.iter().enumerate().flat_map(|(k, s)| (0..numel(s)).map(move |e| (k, unravel(e, s)))).collect();

    // analytic[i][row]: the row of input i's block.
    let mut analytic: Vec<Vec<Option<Vec<f64>>>> = vec![Vec::with_capacity(rows_at.len()); inputs.len()];
    {
        let tape = Tape::<f64>::new();
        let xs = leaves(&tape, inputs);
        let outs = g(&xs);
        for (k, (out, shape)) in outs.iter().zip(shapes).enumerate() {
            let n = numel(shape);
            let Some(y) = out else {
                for rows in &mut analytic {
                    rows.extend(std::iter::repeat_n(None, n));
                }
                continue;
            };
            check_output_shape(k, &y.shape(), shape);
            for e in 0..n {
                let mut seed = vec![0.0; n];
                seed[e] = 1.0;
                let grads =
                    y.backward_with(&Tensor::from_vec(seed, shape).expect("seed of the output's shape"));
                for (i, &x) in xs.iter().enumerate() {
                    analytic[i].push(gradient_of(check, &grads, x, i)?);
                }
            }
        }
    }

    for (i, (x, analytic)) in inputs.iter().zip(analytic).enumerate() {
        let base = x.to_vec();
        let mut numeric = vec![vec![0.0; base.len()]; rows_at.len()];
        for j in 0..base.len() {
            let mut plus = base.clone();
            plus[j] += opts.eps;
            let mut minus = base.clone();
            minus[j] -= opts.eps;
            let fp = eval(g, &with_input(inputs, i, plus), shapes);
            let fm = eval(g, &with_input(inputs, i, minus), shapes);
            for (r, (p, m)) in fp.iter().zip(&fm).enumerate() {
                numeric[r][j] = (p - m) / (2.0 * opts.eps);
            }
        }
        let rows: Vec<Row> =
            analytic.into_iter().zip(numeric).map(|(analytic, numeric)| Row { analytic, numeric }).collect();
        let locate = |r: usize, c: usize| {
            let (output, output_element) = rows_at[r].clone();
            Location::Entry { element: unravel(c, x.shape()), output, output_element }
        };
        compare(check, i, &rows, opts.atol, opts.rtol, &locate)?;
    }
    Ok(())
}

/// A standard normal vector of length `n` scaled to unit Euclidean norm (zero when `n` is 0).
fn unit(n: usize, rng: &mut StdRng) -> Vec<f64> {
    let v = Tensor::<f64>::randn(&[n], rng).to_vec();
    let norm = dot(&v, &v).sqrt();
    if norm > 0.0 { v.into_iter().map(|x| x / norm).collect() } else { v }
}

/// Fast mode: for each direction `(u, v)`, each input `i`: `⟨vjp(u)ᵢ, vᵢ⟩` against
/// `⟨u, f(xᵢ + εvᵢ) - f(xᵢ - εvᵢ)⟩ / 2ε`.
#[track_caller]
fn fast(
    check: Check,
    g: Checked<'_>,
    inputs: &[Tensor<f64>],
    shapes: &[Vec<usize>],
    opts: &GradcheckOptions,
    directions: usize,
) -> Result<(), GradcheckError> {
    let n_out: usize = shapes.iter().map(|s| numel(s)).sum();
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let mut rows: Vec<Vec<Row>> = vec![Vec::with_capacity(directions); inputs.len()];
    let tape = Tape::<f64>::new();
    let xs = leaves(&tape, inputs);
    let outs = g(&xs);
    for _ in 0..directions {
        let u = unit(n_out, &mut rng);
        let vs: Vec<Vec<f64>> = inputs.iter().map(|x| unit(x.len(), &mut rng)).collect();

        // Analytic: Σ over outputs of vjp(u_k), dotted with v_i.
        let mut analytic: Vec<Option<f64>> = vec![None; inputs.len()];
        let mut offset = 0;
        for (k, (out, shape)) in outs.iter().zip(shapes).enumerate() {
            let n = numel(shape);
            let uk = &u[offset..offset + n];
            offset += n;
            let Some(y) = out else { continue };
            check_output_shape(k, &y.shape(), shape);
            let grads =
                y.backward_with(&Tensor::from_vec(uk.to_vec(), shape).expect("seed of the output's shape"));
            for (i, &x) in xs.iter().enumerate() {
                if let Some(gi) = gradient_of(check, &grads, x, i)? {
                    *analytic[i].get_or_insert(0.0) += dot(&gi, &vs[i]);
                }
            }
        }

        for (i, (x, v)) in inputs.iter().zip(&vs).enumerate() {
            let base = x.to_vec();
            let plus = base.iter().zip(v).map(|(b, v)| b + opts.eps * v).collect();
            let minus = base.iter().zip(v).map(|(b, v)| b - opts.eps * v).collect();
            let fp = eval(g, &with_input(inputs, i, plus), shapes);
            let fm = eval(g, &with_input(inputs, i, minus), shapes);
            let diff: Vec<f64> = fp.iter().zip(&fm).map(|(p, m)| p - m).collect();
            let numeric = dot(&u, &diff) / (2.0 * opts.eps);
            rows[i].push(Row { analytic: analytic[i].map(|a| vec![a]), numeric: vec![numeric] });
        }
    }
    for (i, rows) in rows.iter().enumerate() {
        compare(check, i, rows, opts.atol, opts.rtol, &|r, _| Location::Direction { index: r })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unravel_is_row_major() {
        assert_eq!(unravel(5, &[2, 3]), vec![1, 2]);
        assert_eq!(unravel(0, &[]), Vec::<usize>::new());
        assert_eq!(unravel(3, &[4, 1]), vec![3, 0]);
    }
}
