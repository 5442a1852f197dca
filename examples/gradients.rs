//! The basics of the tape: gradients of a small function, reuse, broadcasting, a vector-Jacobian
//! product, and a second derivative.

use wengert::prelude::*;

fn main() -> Result<(), TensorError> {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3])?);
    let w = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?);
    let b = tape.constant(Tensor::from_vec(vec![0.1, -0.1], &[2])?);

    // y = Σ tanh(W x + b)
    let h = w.matmul(x) + b;
    let y = h.tanh().sum();
    let grads = y.backward();
    println!("y = {:.6}", y.item());
    println!("dy/dx =\n{:.6}", grads[x]);
    println!("dy/dW =\n{:.6}", grads[w]);
    println!("b is a constant, so it has no gradient: {:?}", grads.get(b).map(|_| ()));

    // A value used twice: the gradients add up. d/dx Σ (x·x + x) = 2x + 1.
    let z = (x * x + x).sum();
    println!("d/dx Σ(x² + x) = {}", tape.grad(z, &[x])[0]);

    // A non-scalar output needs a seed: this is the vector-Jacobian product vᵀ J.
    let v = Tensor::from_vec(vec![1.0, 0.0, 0.0], &[3])?;
    println!("vᵀ J of x ↦ x³ = {}", x.powf(3.0).backward_with(&v)[x]);

    // Second order: differentiate the gradient again.
    let s = (x * x * x).sum();
    let g = tape.grad_graph(s, &[x])[0]; // 3x²
    let gg = tape.grad(g.sum(), &[x])[0].clone(); // 6x
    println!("d²/dx² Σ x³ = {gg}");
    Ok(())
}
