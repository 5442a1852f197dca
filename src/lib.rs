//! Wengert: automatic differentiation in Rust.
//!
//! This facade re-exports the three crates: [`tensor`] (n-dimensional tensors), [`tape`] (the
//! reverse-mode tape) and [`nn`] (layers, losses, optimizers), and the [`rand`] it is built against.
//! Most programs start with `use wengert::prelude::*;`.
#![doc = include_str!("../README.md")]

/// Data-parallel training (features `dist`, and `mpi` for the MPI world): gradients averaged over
/// workers in a fixed order, bit-identical to one process.
#[cfg(feature = "dist")]
pub use wengert_dist as dist;
pub use wengert_nn as nn;
pub use wengert_tape as tape;
pub use wengert_tensor as tensor;

/// The `rand` crate Wengert is built against. Generators passed to [`Tensor::randn`](tensor::Tensor)
/// and friends must implement this version's `rand::Rng`; use `wengert::rand` instead of a `rand`
/// dependency of your own, and a version mismatch cannot happen.
///
/// ```
/// use wengert::prelude::*;
/// use wengert::rand::{SeedableRng, rngs::StdRng};
/// let mut rng = StdRng::seed_from_u64(0);
/// assert_eq!(Tensor::<f32>::randn(&[2, 3], &mut rng).shape(), &[2, 3]);
/// ```
pub use rand;

/// The names most programs need: tensors and the tape, the everyday layers, [`Module`](nn::Module),
/// the parameter store, initialisers, the [`loss`](nn::loss) module, optimizers and schedulers, and
/// the Keras-like training types.
///
/// A whole training program with this one import:
///
/// ```
/// use wengert::prelude::*;
///
/// // y = x0 - 2 x1, learned by a small MLP.
/// let mut rng = SeedRng::new(1);
/// let x = Tensor::<f32>::rand_uniform(&[64, 2], -1.0, 1.0, &mut rng);
/// let y = Tensor::from_vec(x.to_vec().chunks(2).map(|r| r[0] - 2.0 * r[1]).collect(), &[64, 1])?;
///
/// let store = ParamStore::<f32>::new(0);
/// let model = Sequential::new(&store.root())
///     .add(|p| Linear::new(p, 2, 16))
///     .add(|_| Tanh)
///     .add(|p| Linear::new(p, 16, 1));
///
/// // An explicit loop: a fresh tape per step.
/// let mut opt = Adam::new(store.parameters(), 0.02);
/// let mut schedule = StepLr::new(0.02, 100, 0.5);
/// for _ in 0..200 {
///     let tape = Tape::new();
///     let pred = model.forward(tape.constant(x.clone()));
///     let l = loss::mse(pred, tape.constant(y.clone()));
///     opt.step(&l.backward())?;
///     opt.set_lr(schedule.step(None));
/// }
///
/// // Or Keras' fit, with a callback, then predict in evaluation mode.
/// let mut trainer = Trainer::new(&model, &store, Adam::new(store.parameters(), 0.01), |p, t| loss::mse(p, t))
///     .callback(EarlyStopping::new("loss", 10));
/// let opts = FitOptions { epochs: 50, batch_size: 16, verbosity: Verbosity::Quiet, ..FitOptions::default() };
/// let history: History = trainer.fit(&x, &y, &opts)?;
/// assert!(history.last().unwrap().loss < 0.05, "{history:?}");
/// store.eval();
/// assert_eq!(trainer.predict(&x).shape(), &[64, 1]);
/// println!("{}", store.summary());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub mod prelude {
    pub use wengert_tape::{CustomCtx, CustomOp, Gradients, Tape, Var};
    pub use wengert_tensor::{
        Conv1dOptions, Conv2dOptions, Float, Pool2dOptions, Shape, Tensor, TensorError, s,
    };

    pub use wengert_nn::optim::{
        Adagrad, Adam, AdamW, Clip, CosineAnnealingLr, ExponentialLr, GradAccumulator, LinearWarmup,
        OptimError, Optimizer, ParamGroup, ReduceLrOnPlateau, RmsProp, Scheduler, Sgd, StepLr,
    };
    pub use wengert_nn::train::{
        Batch, Batches, BestCheckpoint, Callback, Control, EarlyStopping, Every, FitContext, FitOptions,
        FnModel, History, LearningRateScheduler, Model, Trainer, Validation, Verbosity,
    };
    pub use wengert_nn::{
        AdaptiveAvgPool2d, AttentionMask, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, Conv3d,
        ConvTranspose1d, ConvTranspose2d, Dropout, Dropout2d, Embedding, Flatten, Gelu, GradientsParam,
        GroupNorm, Gru, GruCell, Init, InstanceNorm, LayerNorm, LeakyRelu, LearnedPositionalEmbedding,
        Linear, Lstm, LstmCell, MaxPool2d, Module, MultiHeadAttention, Param, ParamStore, Path, PixelShuffle,
        PixelUnshuffle, Relu, RmsNorm, Rnn, RnnCell, RotaryEmbedding, SeedRng, Sequential, Sigmoid,
        SinusoidalPositionalEncoding, Softmax, Tanh, TapeParam, TransformerDecoderLayer,
        TransformerEncoderLayer, TransformerOptions, Upsample, UpsampleMode, loss,
    };
}
