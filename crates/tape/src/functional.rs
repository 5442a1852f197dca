//! Function transforms built on the tape, in the spirit of JAX: `value_and_grad`, `hvp` (Hessian-vector
//! product), `jvp` (through the double-VJP construction), `jacobian` and `hessian` for small inputs.
//!
//! Each builds a fresh tape, so `f` is any Rust function of Vars.

use wengert_tensor::{Float, Tensor};

use crate::tape::Tape;
use crate::var::Var;

/// The value of a scalar `f` at `xs` and its gradient with respect to each input (zeros where an input
/// does not reach the output).
///
/// # Panics
///
/// When `f` returns other than one element.
pub fn value_and_grad<F, Fun>(f: Fun, xs: &[Tensor<F>]) -> (F, Vec<Tensor<F>>)
where
    F: Float,
    Fun: for<'t> Fn(&[Var<'t, F>]) -> Var<'t, F>,
{
    let tape = Tape::new();
    let vars: Vec<Var<'_, F>> = xs.iter().map(|x| tape.var(x.clone())).collect();
    let y = f(&vars);
    let grads = tape.grad_opt(y, &vars);
    (y.item(), zeros_for_none(grads, xs))
}

/// The Hessian-vector product `H v` of a scalar `f` at `xs`, for a direction `vs` (one tensor per
/// input): forward, gradient with graph, then the gradient of `⟨∇f, v⟩`.
///
/// ```
/// use wengert::tape::functional::hvp;
/// use wengert::tensor::Tensor;
/// // f(x) = Σ x³ has H = diag(6x).
/// let x = Tensor::<f64>::from_vec(vec![1.0, 2.0], &[2]).unwrap();
/// let v = Tensor::from_vec(vec![1.0, 1.0], &[2]).unwrap();
/// let hv = hvp(|x| x[0].powf(3.0).sum(), &[x], &[v]);
/// assert_eq!(hv[0].to_vec(), vec![6.0, 12.0]);
/// ```
///
/// # Panics
///
/// When `f` returns other than one element, or `vs` does not match `xs` in number and shapes.
pub fn hvp<F, Fun>(f: Fun, xs: &[Tensor<F>], vs: &[Tensor<F>]) -> Vec<Tensor<F>>
where
    F: Float,
    Fun: for<'t> Fn(&[Var<'t, F>]) -> Var<'t, F>,
{
    check_directions("hvp", xs, vs);
    let tape = Tape::new();
    let vars: Vec<Var<'_, F>> = xs.iter().map(|x| tape.var(x.clone())).collect();
    let y = f(&vars);
    let gs = tape.grad_graph_opt(y, &vars);
    let Some(dot) = inner(&tape, &gs, vs) else {
        return xs.iter().map(Tensor::zeros_like).collect();
    };
    zeros_for_none(tape.grad_opt(dot, &vars), xs)
}

/// The Jacobian-vector product `J v` of `f` at `xs` (forward-mode directional derivative), computed
/// with two reverse sweeps: `J v = ∂/∂u ⟨uᵀJ, v⟩`.
///
/// # Panics
///
/// When `vs` does not match `xs` in number and shapes.
pub fn jvp<F, Fun>(f: Fun, xs: &[Tensor<F>], vs: &[Tensor<F>]) -> Tensor<F>
where
    F: Float,
    Fun: for<'t> Fn(&[Var<'t, F>]) -> Var<'t, F>,
{
    check_directions("jvp", xs, vs);
    let tape = Tape::new();
    let vars: Vec<Var<'_, F>> = xs.iter().map(|x| tape.var(x.clone())).collect();
    let y = f(&vars);
    let shape = y.shape();
    let u = tape.var(Tensor::zeros(&shape));
    let s = (y * u).sum();
    let gs = tape.grad_graph_opt(s, &vars);
    let Some(dot) = inner(&tape, &gs, vs) else {
        return Tensor::zeros(&shape);
    };
    tape.grad_opt(dot, &[u]).remove(0).unwrap_or_else(|| Tensor::zeros(&shape))
}

/// The Jacobian of `f` at `x`, of shape `output shape ++ input shape`: one reverse sweep per output
/// element, so meant for small outputs.
pub fn jacobian<F, Fun>(f: Fun, x: &Tensor<F>) -> Tensor<F>
where
    F: Float,
    Fun: for<'t> Fn(Var<'t, F>) -> Var<'t, F>,
{
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let y = f(xv);
    let out_shape = y.shape();
    let m = y.len();
    let mut data = Vec::with_capacity(m * x.len());
    for i in 0..m {
        let mut seed = vec![F::zero(); m];
        seed[i] = F::one();
        let seed = Tensor::from_vec(seed, &out_shape).expect("seed matches the output");
        let g = y.backward_with(&seed).get(xv).cloned().unwrap_or_else(|| x.zeros_like());
        data.extend(g.to_vec());
    }
    let shape: Vec<usize> = out_shape.iter().chain(x.shape()).copied().collect();
    Tensor::from_vec(data, &shape).expect("jacobian fills its shape")
}

/// The Hessian of a scalar `f` at `x`, of shape `x.shape() ++ x.shape()`: one HVP per input element,
/// so meant for small inputs.
///
/// # Panics
///
/// When `f` returns other than one element.
pub fn hessian<F, Fun>(f: Fun, x: &Tensor<F>) -> Tensor<F>
where
    F: Float,
    Fun: for<'t> Fn(Var<'t, F>) -> Var<'t, F>,
{
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let y = f(xv);
    let g = tape.grad_graph_opt(y, &[xv]).remove(0);
    let n = x.len();
    let mut data = Vec::with_capacity(n * n);
    for i in 0..n {
        let mut e = vec![F::zero(); n];
        e[i] = F::one();
        let row = g.and_then(|g| {
            let e = Tensor::from_vec(e, x.shape()).expect("basis vector matches the input");
            tape.grad_opt((g * &e).sum(), &[xv]).remove(0)
        });
        data.extend(row.unwrap_or_else(|| x.zeros_like()).to_vec());
    }
    let shape: Vec<usize> = x.shape().iter().chain(x.shape()).copied().collect();
    Tensor::from_vec(data, &shape).expect("hessian fills its shape")
}

#[track_caller]
fn check_directions<F: Float>(op: &str, xs: &[Tensor<F>], vs: &[Tensor<F>]) {
    assert_eq!(xs.len(), vs.len(), "{op}: {} inputs but {} directions", xs.len(), vs.len());
    for (i, (x, v)) in xs.iter().zip(vs).enumerate() {
        assert_eq!(
            x.shape(),
            v.shape(),
            "{op}: input {i} has shape {:?} but its direction {:?}",
            x.shape(),
            v.shape()
        );
    }
}

/// `Σ ⟨g_i, v_i⟩` over the gradients that exist, or `None` when none does.
fn inner<'t, F: Float>(tape: &'t Tape<F>, gs: &[Option<Var<'t, F>>], vs: &[Tensor<F>]) -> Option<Var<'t, F>> {
    gs.iter()
        .zip(vs)
        .filter_map(|(g, v)| g.map(|g| (g * tape.constant(v.clone())).sum()))
        .reduce(|a, b| a + b)
}

fn zeros_for_none<F: Float>(gs: Vec<Option<Tensor<F>>>, xs: &[Tensor<F>]) -> Vec<Tensor<F>> {
    gs.into_iter().zip(xs).map(|(g, x)| g.unwrap_or_else(|| x.zeros_like())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f64]) -> Tensor<f64> {
        Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap()
    }

    #[test]
    fn value_and_grad_of_a_quadratic() {
        let (v, g) = value_and_grad(|x| (x[0] * x[0]).sum() + x[1].sum(), &[t(&[1.0, 2.0]), t(&[5.0])]);
        assert_eq!(v, 10.0);
        assert_eq!(g[0].to_vec(), vec![2.0, 4.0]);
        assert_eq!(g[1].to_vec(), vec![1.0]);
    }

    /// f = x0² x1 ; H = [[2 x1, 2 x0], [2 x0, 0]], at (1, 3) [[6, 2], [2, 0]].
    fn coupled<'t>(x: Var<'t, f64>) -> Var<'t, f64> {
        let (a, b) = (x.narrow(0, 0, 1), x.narrow(0, 1, 1));
        (a * a * b).sum()
    }

    /// f(x) = [x0 x1, sin x0]: J = [[x1, x0], [cos x0, 0]].
    fn pair<'t>(x: Var<'t, f64>) -> Var<'t, f64> {
        let (a, b) = (x.narrow(0, 0, 1), x.narrow(0, 1, 1));
        Var::concat(&[a * b, a.sin()], 0)
    }

    #[test]
    fn hvp_matches_the_hessian_of_a_coupled_function() {
        let hv = hvp(|x| coupled(x[0]), &[t(&[1.0, 3.0])], &[t(&[1.0, 0.0])]);
        assert_eq!(hv[0].to_vec(), vec![6.0, 2.0]);
        let h = hessian(coupled, &t(&[1.0, 3.0]));
        assert_eq!(h.shape(), &[2, 2]);
        assert_eq!(h.to_vec(), vec![6.0, 2.0, 2.0, 0.0]);
    }

    #[test]
    fn hvp_of_a_linear_function_is_zero() {
        let hv = hvp(|x| x[0].sum() * 3.0, &[t(&[1.0, 2.0])], &[t(&[1.0, 1.0])]);
        assert_eq!(hv[0].to_vec(), vec![0.0, 0.0]);
    }

    #[test]
    fn jvp_and_jacobian_agree() {
        let x = t(&[0.5, 2.0]);
        let j = jacobian(pair, &x);
        assert_eq!(j.shape(), &[2, 2]);
        let want = [2.0, 0.5, 0.5f64.cos(), 0.0];
        for (a, b) in j.to_vec().iter().zip(want) {
            assert!((a - b).abs() < 1e-15);
        }
        let jv = jvp(|x| pair(x[0]), &[x], &[t(&[1.0, -1.0])]);
        let want = [2.0 - 0.5, 0.5f64.cos()];
        for (a, b) in jv.to_vec().iter().zip(want) {
            assert!((a - b).abs() < 1e-15);
        }
    }
}
