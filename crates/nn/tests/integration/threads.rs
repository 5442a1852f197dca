//! Models cross threads: parameters, stores, layers and optimizers are `Send + Sync`, and a model
//! trained on one thread predicts on many at once, each thread with its own tape.

use std::thread;

use wengert::nn::optim::{
    Adagrad, Adam, AdamW, CosineAnnealingLr, ExponentialLr, LinearWarmup, Optimizer, ReduceLrOnPlateau,
    RmsProp, Sgd, StepLr,
};
use wengert::nn::{
    AdaptiveAvgPool2d, AttentionMask, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, Conv3d,
    ConvTranspose1d, ConvTranspose2d, Dropout, Dropout2d, Embedding, Flatten, Gelu, GroupNorm, Gru, GruCell,
    InstanceNorm, LayerNorm, LeakyRelu, LearnedPositionalEmbedding, Linear, Lstm, LstmCell, MaxPool2d,
    Module, MultiHeadAttention, Param, ParamStore, Path, PixelShuffle, PixelUnshuffle, Relu, RmsNorm, Rnn,
    RnnCell, RotaryEmbedding, SeedRng, Sequential, Sigmoid, SinusoidalPositionalEncoding, Softmax, Tanh,
    TransformerDecoderLayer, TransformerEncoderLayer, Upsample,
};
use wengert::tape::{Tape, Var};
use wengert::tensor::Tensor;

fn assert_send_sync<T: Send + Sync>() {}

/// A layer a model can hold: shareable across threads and printable with `{:?}`.
fn assert_layer<T: Send + Sync + std::fmt::Debug>() {}

#[test]
fn stores_params_and_optimizers_are_send_and_sync() {
    assert_send_sync::<Param>();
    assert_send_sync::<Param<f64>>();
    assert_send_sync::<ParamStore>();
    assert_send_sync::<ParamStore<f64>>();
    assert_send_sync::<Path>();
    assert_send_sync::<SeedRng>();
    assert_send_sync::<Sgd>();
    assert_send_sync::<Adam>();
    assert_send_sync::<AdamW>();
    assert_send_sync::<Adagrad>();
    assert_send_sync::<RmsProp>();
    assert_send_sync::<Box<dyn Optimizer<f32> + Send + Sync>>();
    assert_send_sync::<StepLr>();
    assert_send_sync::<ExponentialLr>();
    assert_send_sync::<CosineAnnealingLr>();
    assert_send_sync::<LinearWarmup>();
    assert_send_sync::<ReduceLrOnPlateau>();
}

#[test]
fn every_layer_and_sequential_is_send_sync_and_debug() {
    assert_layer::<Sequential>();
    assert_layer::<Sequential<f64>>();
    assert_send_sync::<Box<dyn Module>>();
    assert_layer::<Linear>();
    assert_layer::<Conv1d>();
    assert_layer::<Conv2d>();
    assert_layer::<ConvTranspose1d>();
    assert_layer::<ConvTranspose2d>();
    assert_layer::<MaxPool2d>();
    assert_layer::<AvgPool2d>();
    assert_layer::<AdaptiveAvgPool2d>();
    assert_layer::<Flatten>();
    assert_layer::<BatchNorm1d>();
    assert_layer::<BatchNorm2d>();
    assert_layer::<LayerNorm>();
    assert_layer::<GroupNorm>();
    assert_layer::<InstanceNorm>();
    assert_layer::<RmsNorm>();
    assert_layer::<Dropout>();
    assert_layer::<Dropout2d>();
    assert_layer::<Embedding>();
    assert_layer::<SinusoidalPositionalEncoding>();
    assert_layer::<LearnedPositionalEmbedding>();
    assert_layer::<RotaryEmbedding>();
    assert_layer::<AttentionMask>();
    assert_layer::<MultiHeadAttention>();
    assert_layer::<TransformerEncoderLayer>();
    assert_layer::<TransformerDecoderLayer>();
    assert_layer::<Rnn>();
    assert_layer::<Gru>();
    assert_layer::<Lstm>();
    assert_layer::<RnnCell>();
    assert_layer::<GruCell>();
    assert_layer::<LstmCell>();
    assert_layer::<Relu>();
    assert_layer::<Tanh>();
    assert_layer::<Sigmoid>();
    assert_layer::<Gelu>();
    assert_layer::<LeakyRelu>();
    assert_layer::<Softmax>();
    assert_layer::<Conv3d>();
    assert_layer::<Upsample>();
    assert_layer::<PixelShuffle>();
    assert_layer::<PixelUnshuffle>();
}

/// A small classifier-shaped model: two hidden layers, dropout (so the eval flag must cross threads).
fn model(store: &ParamStore<f64>) -> Sequential<f64> {
    Sequential::new(&store.root())
        .add(|p| Linear::new(p, 3, 16))
        .add(|_| Tanh)
        .add(|p| Dropout::new(p, 0.5))
        .add(|p| Linear::new(p, 16, 2))
}

fn mse<'t>(model: &Sequential<f64>, x: &Tensor<f64>, y: &Tensor<f64>, tape: &'t Tape<f64>) -> Var<'t, f64> {
    let d = model.forward(tape.constant(x.clone())) - tape.constant(y.clone());
    (d * d).mean()
}

fn predict(model: &Sequential<f64>, x: &Tensor<f64>) -> Vec<f64> {
    let tape = Tape::new();
    model.forward(tape.constant(x.clone())).value().to_vec()
}

#[test]
fn a_model_trained_on_one_thread_predicts_the_same_bits_on_eight() {
    let store = ParamStore::<f64>::with_seed(7);
    let net = model(&store);
    let mut rng = SeedRng::new(3);
    let x = Tensor::<f64>::randn(&[32, 3], &mut rng);
    let y = Tensor::<f64>::randn(&[32, 2], &mut rng);
    let mut opt = Adam::new(store.parameters(), 0.01);
    let first = mse(&net, &x, &y, &Tape::new()).value().item();
    for _ in 0..50 {
        let tape = Tape::new();
        let grads = mse(&net, &x, &y, &tape).backward();
        opt.step(&grads).unwrap();
    }
    store.eval();
    let trained = mse(&net, &x, &y, &Tape::new()).value().item();
    assert!(trained < first, "training did not lower the loss: {first} -> {trained}");

    let probe = Tensor::<f64>::randn(&[5, 3], &mut rng);
    let expected = predict(&net, &probe);
    let answers: Vec<Vec<f64>> = thread::scope(|s| {
        let workers: Vec<_> = (0..8).map(|_| s.spawn(|| predict(&net, &probe))).collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    for (i, got) in answers.iter().enumerate() {
        let same = got.iter().zip(&expected).all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same && got.len() == expected.len(), "thread {i} predicted {got:?}, expected {expected:?}");
    }
}

#[test]
fn threads_can_register_parameters_and_read_them_concurrently() {
    let store = ParamStore::<f32>::new(1);
    thread::scope(|s| {
        for t in 0..4 {
            let root = store.root();
            s.spawn(move || {
                for k in 0..8 {
                    let w = root.sub(t).sub(k).param("w", &[2], wengert::nn::Init::Ones);
                    assert_eq!(w.value().to_vec(), vec![1.0, 1.0]);
                }
            });
        }
    });
    assert_eq!(store.parameters().len(), 32);
    assert_eq!(store.num_parameters(), 64);
}
