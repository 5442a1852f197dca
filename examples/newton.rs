//! Newton's method on the Rosenbrock function, with Hessian-vector products from the tape and a
//! conjugate-gradient solve of H p = -g (no Hessian is ever formed), plus a backtracking line search.

use wengert::prelude::*;
use wengert::tape::functional::{hvp, value_and_grad};

/// f(x, y) = (1 - x)² + 100 (y - x²)², minimised at (1, 1).
fn rosenbrock<'t>(v: &[Var<'t, f64>]) -> Var<'t, f64> {
    let (x, y) = (v[0].narrow(0, 0, 1), v[0].narrow(0, 1, 1));
    ((1.0 - x).square() + (y - x.square()).square() * 100.0).sum()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| p * q).sum()
}

/// Solves H p = -g by conjugate gradients with H only through products; stops at negative curvature.
fn newton_direction(x: &Tensor<f64>, g: &[f64]) -> Vec<f64> {
    let n = g.len();
    let mut p = vec![0.0; n];
    let mut r: Vec<f64> = g.iter().map(|v| -v).collect();
    let mut d = r.clone();
    for _ in 0..2 * n {
        let hd = hvp(rosenbrock, std::slice::from_ref(x), &[Tensor::from_vec(d.clone(), &[n]).unwrap()]);
        let hd = hd[0].to_vec();
        let curvature = dot(&d, &hd);
        if curvature <= 0.0 {
            // Negative curvature: fall back to the steepest-descent direction if nothing better yet.
            return if p.iter().all(|&v| v == 0.0) { r } else { p };
        }
        let alpha = dot(&r, &r) / curvature;
        let r_old = dot(&r, &r);
        for i in 0..n {
            p[i] += alpha * d[i];
            r[i] -= alpha * hd[i];
        }
        if dot(&r, &r).sqrt() < 1e-12 {
            break;
        }
        let beta = dot(&r, &r) / r_old;
        for i in 0..n {
            d[i] = r[i] + beta * d[i];
        }
    }
    p
}

fn main() {
    let mut x = Tensor::from_vec(vec![-1.2, 1.0], &[2]).unwrap();
    for it in 0..50 {
        let (f, g) = value_and_grad(rosenbrock, std::slice::from_ref(&x));
        let g = g[0].to_vec();
        let xs = x.to_vec();
        println!(
            "iter {it:2}: x = ({:+.8}, {:+.8})  f = {f:.3e}  |g| = {:.3e}",
            xs[0],
            xs[1],
            dot(&g, &g).sqrt()
        );
        if dot(&g, &g).sqrt() < 1e-10 {
            break;
        }
        let p = newton_direction(&x, &g);
        // Backtracking (Armijo) line search.
        let mut t = 1.0;
        let slope = dot(&g, &p);
        loop {
            let trial: Vec<f64> = xs.iter().zip(&p).map(|(a, b)| a + t * b).collect();
            let trial = Tensor::from_vec(trial, &[2]).unwrap();
            let (ft, _) = value_and_grad(rosenbrock, std::slice::from_ref(&trial));
            if ft <= f + 1e-4 * t * slope || t < 1e-10 {
                x = trial;
                break;
            }
            t *= 0.5;
        }
    }
    let xs = x.to_vec();
    println!("minimum found at ({:.6}, {:.6}); the true minimum is (1, 1)", xs[0], xs[1]);
}
