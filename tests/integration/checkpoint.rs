//! Save → load gives identical predictions and an identical next training step; safetensors round trip.

use wengert::nn::checkpoint::{Checkpoint, load_safetensors, save_safetensors};
use wengert::nn::optim::{Adam, Optimizer};
use wengert::nn::{BatchNorm1d, Linear, Module, ParamStore, Sequential, Tanh, loss};
use wengert::prelude::*;

fn model(store: &ParamStore<f32>) -> Sequential<f32> {
    Sequential::new(&store.root()).add(|p| Linear::new(p, 3, 8)).add(|_| Tanh).add(|p| Linear::new(p, 8, 1))
}

fn data() -> (Tensor<f32>, Tensor<f32>) {
    let x = Tensor::from_vec((0..24).map(|i| (i as f32 * 0.37).sin()).collect(), &[8, 3]).unwrap();
    let y = Tensor::from_vec((0..8).map(|i| i as f32 * 0.1).collect(), &[8, 1]).unwrap();
    (x, y)
}

fn step(m: &Sequential<f32>, opt: &mut Adam<f32>, x: &Tensor<f32>, y: &Tensor<f32>) -> f32 {
    let tape = Tape::new();
    let l = loss::mse(m.forward(tape.constant(x.clone())), tape.constant(y.clone()));
    opt.step(&l.backward()).unwrap();
    l.item()
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("wengert-test-{}-{name}", std::process::id()))
}

#[test]
fn save_then_load_gives_identical_predictions_and_next_step() {
    let (x, y) = data();
    let store = ParamStore::new(1);
    let m = model(&store);
    let mut opt = Adam::new(store.parameters(), 0.01);
    for _ in 0..5 {
        step(&m, &mut opt, &x, &y);
    }
    let mut ckpt = Checkpoint::from_store(&store);
    ckpt.optimizer = Some(opt.state());
    let path = temp("ckpt");
    ckpt.save(&path).unwrap();

    let store2 = ParamStore::new(99);
    let m2 = model(&store2);
    let mut opt2 = Adam::new(store2.parameters(), 0.01);
    let loaded = Checkpoint::<f32>::load(&path).unwrap();
    loaded.apply_to_store(&store2).unwrap();
    opt2.load_state(loaded.optimizer.as_ref().unwrap()).unwrap();
    std::fs::remove_file(&path).unwrap();

    let tape = Tape::new();
    let (p1, p2) =
        (m.forward(tape.constant(x.clone())).value(), m2.forward(tape.constant(x.clone())).value());
    assert_eq!(p1, p2);
    assert_eq!(step(&m, &mut opt, &x, &y).to_bits(), step(&m2, &mut opt2, &x, &y).to_bits());
    for (a, b) in store.parameters().iter().zip(store2.parameters()) {
        assert_eq!(a.value(), b.value(), "{}", a.name());
    }
}

#[test]
fn weights_round_trip_through_safetensors() {
    let store = ParamStore::<f32>::new(2);
    let _m = model(&store);
    let path = temp("weights.safetensors");
    save_safetensors(&store, &path).unwrap();
    let other = ParamStore::<f32>::new(3);
    let _m2 = model(&other);
    load_safetensors(&other, &path).unwrap();
    std::fs::remove_file(&path).unwrap();
    for (a, b) in store.parameters().iter().zip(other.parameters()) {
        assert_eq!(a.value(), b.value(), "{}", a.name());
    }
}

#[test]
fn batch_norm_running_statistics_are_saved_and_restored() {
    let make = |seed| {
        let store = ParamStore::<f32>::new(seed);
        let bn = BatchNorm1d::new(&store.root().sub("bn"), 3);
        (store, bn)
    };
    let (store, bn) = make(1);
    let tape = Tape::new();
    bn.forward(tape.constant(data().0));
    assert_ne!(bn.running_mean.value().to_vec(), vec![0.0; 3]);
    let path = temp("bn");
    Checkpoint::from_store(&store).save(&path).unwrap();
    let (other, bn2) = make(2);
    Checkpoint::<f32>::load(&path).unwrap().apply_to_store(&other).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(bn.running_mean.value(), bn2.running_mean.value());
    assert_eq!(bn.running_var.value(), bn2.running_var.value());
}

#[test]
fn a_saved_optimizer_state_with_a_negative_second_moment_is_refused_naming_the_file() {
    let (x, y) = data();
    let store = ParamStore::new(4);
    let m = model(&store);
    let mut opt = Adam::new(store.parameters(), 0.01);
    step(&m, &mut opt, &x, &y);
    let mut ckpt = Checkpoint::from_store(&store);
    ckpt.optimizer = Some(opt.state());
    let path = temp("bad-moment.ckpt");
    ckpt.save(&path).unwrap();
    let loaded = Checkpoint::<f32>::load(&path).unwrap();
    let mut resumed = Adam::new(store.parameters(), 0.01);
    loaded.apply_to_optimizer(&mut resumed).unwrap();
    assert_eq!(resumed.state(), opt.state());

    let slot = ckpt.optimizer.as_mut().unwrap().slots.iter_mut().find(|s| s.slot == "exp_avg_sq").unwrap();
    let name = format!("{}/{}", slot.param, slot.slot);
    slot.value = slot.value.map(|v| -v - 1.0);
    ckpt.save(&path).unwrap();
    let err = Checkpoint::<f32>::load(&path).unwrap().apply_to_optimizer(&mut resumed).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    let want = format!("{}: invalid state: optimizer slot `{name}`: element 0 is", path.display());
    assert!(err.to_string().starts_with(&want), "{err}");
    assert!(err.to_string().ends_with("a second moment is never negative"), "{err}");
}
