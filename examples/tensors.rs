//! A tour of `Tensor`: creation, broadcasting, reductions, matmul, shapes and printing.

use rand::SeedableRng;
use rand::rngs::StdRng;
use wengert::prelude::*;

fn main() -> Result<(), TensorError> {
    let mut rng = StdRng::seed_from_u64(0);
    let x = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    println!("x =\n{x}");

    let bias = Tensor::from_vec(vec![10.0, 20.0, 30.0], &[3])?;
    println!("x + bias (broadcast over rows) =\n{}", &x + &bias);
    println!("sum over rows = {}", x.sum_axes(&[1], false));
    println!("mean = {}, std = {}", x.mean(), x.std(1));

    let w = Tensor::<f32>::randn(&[3, 2], &mut rng);
    println!("x · w =\n{}", x.matmul(&w));
    println!("xᵀ =\n{}", x.t());
    println!("softmax over columns =\n{:.3}", x.softmax(1));
    println!("reshaped to [3, 2] =\n{}", x.reshape(&[3, 2])?);
    println!(
        "a large tensor prints elided:\n{}",
        Tensor::<f32>::arange(0.0, 2000.0, 1.0).reshape(&[40, 50])?
    );
    Ok(())
}
