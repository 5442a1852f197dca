//! Tests of `fit` for real training: callbacks with batch hooks and the learning rate, schedulers,
//! batch sources and several inputs, resuming, targets, gradient accumulation and freezing.

use std::cell::RefCell;
use std::rc::Rc;

use wengert_tape::Var;
use wengert_tensor::Tensor;

use super::*;
use crate::checkpoint::Checkpoint;
use crate::data::{DataLoader, TensorDataset};
use crate::layers::{Dropout, Linear, Relu};
use crate::loss;
use crate::module::{Module, Sequential};
use crate::optim::{Adam, Sgd, StepLr};

fn data(n: usize) -> (Tensor<f64>, Tensor<f64>) {
    let x = Tensor::from_vec((0..2 * n).map(|i| (i as f64 * 0.37).sin()).collect(), &[n, 2]).unwrap();
    let y = Tensor::from_vec((0..n).map(|i| (i as f64 * 0.37).cos()).collect(), &[n, 1]).unwrap();
    (x, y)
}

fn quiet(epochs: usize) -> FitOptions<f64> {
    FitOptions { epochs, batch_size: 4, verbosity: Verbosity::Quiet, ..FitOptions::default() }
}

type Mse = for<'t> fn(Var<'t, f64>, Var<'t, f64>) -> Var<'t, f64>;

fn mse<'t>(p: Var<'t, f64>, t: Var<'t, f64>) -> Var<'t, f64> {
    loss::mse(p, t)
}

/// A linear model trained by `fit` from the same start: its losses and final weights.
fn linear_run(
    fit: impl FnOnce(&mut Trainer<'_, f64, Linear<f64>, Sgd<f64>, Mse>) -> History,
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let store = ParamStore::with_seed(4);
    let model = Linear::new(&store.root(), 2, 1);
    let mut trainer = Trainer::new(&model, &store, Sgd::new(store.parameters(), 0.1), mse as Mse);
    let h = fit(&mut trainer);
    (h.series("loss"), values(&store))
}

fn values(store: &ParamStore<f64>) -> Vec<Vec<f64>> {
    store.parameters().iter().map(|p| p.value().to_vec()).collect()
}

/// What a callback saw, in order.
#[derive(Default)]
struct Recorder {
    events: Rc<RefCell<Vec<String>>>,
}

impl Callback<f64> for Recorder {
    fn on_epoch_end(&mut self, log: &EpochLog, _store: &ParamStore<f64>) -> Result<Control, String> {
        self.events.borrow_mut().push(format!("end {} lr {}", log.epoch, log.lr));
        Ok(Control::Continue)
    }
    fn on_train_begin(&mut self, ctx: &mut FitContext<'_, f64>) -> Result<(), String> {
        self.events.borrow_mut().push(format!("train {}/{}", ctx.epoch, ctx.epochs));
        Ok(())
    }
    fn on_epoch_begin(&mut self, ctx: &mut FitContext<'_, f64>) -> Result<(), String> {
        self.events.borrow_mut().push(format!("epoch {} of {:?}", ctx.epoch, ctx.batches));
        Ok(())
    }
    fn on_batch_begin(&mut self, ctx: &mut FitContext<'_, f64>) -> Result<(), String> {
        // A warm-up: the rate of batch b is b/100.
        ctx.set_learning_rate(ctx.batch as f64 / 100.0);
        Ok(())
    }
    fn on_batch_end(&mut self, ctx: &mut FitContext<'_, f64>, loss: f64) -> Result<Control, String> {
        assert!(loss.is_finite());
        let e = format!("batch {}.{} lr {} steps {}", ctx.epoch, ctx.batch, ctx.learning_rate(), ctx.steps);
        self.events.borrow_mut().push(e);
        Ok(Control::Continue)
    }
}

#[test]
fn callbacks_see_every_batch_and_set_the_learning_rate() {
    let (x, y) = data(10);
    let store = ParamStore::with_seed(0);
    let model = Linear::new(&store.root(), 2, 1);
    let events = Rc::new(RefCell::new(Vec::new()));
    let mut trainer = Trainer::new(&model, &store, Sgd::new(store.parameters(), 0.5), mse)
        .callback(Recorder { events: events.clone() });
    let history = trainer.fit(&x, &y, &FitOptions { batch_size: 5, ..quiet(2) }).unwrap();
    assert_eq!(
        *events.borrow(),
        [
            "train 0/2",
            "epoch 1 of Some(2)",
            "batch 1.1 lr 0.01 steps 1",
            "batch 1.2 lr 0.02 steps 2",
            "end 1 lr 0.02",
            "epoch 2 of Some(2)",
            "batch 2.1 lr 0.01 steps 3",
            "batch 2.2 lr 0.02 steps 4",
            "end 2 lr 0.02",
        ]
    );
    assert_eq!(history.series("lr"), [0.02, 0.02]);
}

#[test]
fn a_batch_scheduler_steps_after_every_step_and_an_epoch_scheduler_after_every_epoch() {
    let (x, y) = data(12);
    let store = ParamStore::with_seed(0);
    let model = Linear::new(&store.root(), 2, 1);
    let mut trainer = Trainer::new(&model, &store, Sgd::new(store.parameters(), 9.0), mse)
        .with_scheduler(StepLr::new(0.1, 1, 0.5), Every::Batch);
    // Three batches an epoch: the rate halves after each, so epoch 2's last step runs with 0.1/2⁵.
    let history = trainer.fit(&x, &y, &quiet(2)).unwrap();
    assert_eq!(history.series("lr"), [0.1 / 4.0, 0.1 / 32.0]);
    assert_eq!(trainer.optimizer.lr(), 0.1 / 64.0);
}

#[test]
fn keras_learning_rate_scheduler_sets_the_rate_before_each_epoch() {
    let (x, y) = data(8);
    let store = ParamStore::with_seed(0);
    let model = Linear::new(&store.root(), 2, 1);
    let mut trainer = Trainer::new(&model, &store, Sgd::new(store.parameters(), 0.1), mse)
        .callback(LearningRateScheduler::new(|epoch, lr| if epoch < 3 { lr } else { lr / 10.0 }));
    let history = trainer.fit(&x, &y, &quiet(4)).unwrap();
    let lr = history.series("lr");
    assert_eq!(lr[..2], [0.1, 0.1]);
    assert!((lr[2] - 0.01).abs() < 1e-15 && (lr[3] - 0.001).abs() < 1e-15, "{lr:?}");
    let mut bad = Trainer::new(&model, &store, Sgd::new(store.parameters(), 0.1), mse)
        .callback(LearningRateScheduler::new(|_, _| f64::NAN));
    let err = bad.fit(&x, &y, &quiet(1)).unwrap_err();
    assert_eq!(err.to_string(), "fit: callback: learning rate scheduler: epoch 1 got the rate NaN");
}

#[test]
fn a_callback_stops_training_after_a_batch() {
    struct StopAt(usize);
    impl Callback<f64> for StopAt {
        fn on_epoch_end(&mut self, _: &EpochLog, _: &ParamStore<f64>) -> Result<Control, String> {
            Ok(Control::Continue)
        }
        fn on_batch_end(&mut self, ctx: &mut FitContext<'_, f64>, _: f64) -> Result<Control, String> {
            Ok(if ctx.epoch == 2 && ctx.batch == self.0 { Control::Stop } else { Control::Continue })
        }
    }
    let (x, y) = data(12);
    let store = ParamStore::with_seed(0);
    let model = Linear::new(&store.root(), 2, 1);
    let mut trainer =
        Trainer::new(&model, &store, Sgd::new(store.parameters(), 0.1), mse).callback(StopAt(2));
    let history = trainer.fit(&x, &y, &quiet(5)).unwrap();
    assert!(history.stopped_early);
    assert_eq!(history.epochs.len(), 2);
}

#[test]
fn fit_batches_reads_a_loader_a_vec_and_a_closure_alike() {
    let (x, y) = data(12);
    let pairs: Vec<(Tensor<f64>, Tensor<f64>)> =
        (0..3).map(|i| (x.narrow(0, 4 * i, 4), y.narrow(0, 4 * i, 4))).collect();
    let from_loader = linear_run(|t| {
        let mut loader = DataLoader::new(TensorDataset::new(x.clone(), y.clone()).unwrap(), 4);
        t.fit_batches(&mut loader, &quiet(3)).unwrap()
    });
    let from_vec = linear_run(|t| t.fit_batches(&mut pairs.clone(), &quiet(3)).unwrap());
    let from_closure = linear_run(|t| t.fit_batches(&mut from_fn(|_| pairs.clone()), &quiet(3)).unwrap());
    let in_memory = linear_run(|t| t.fit(&x, &y, &FitOptions { shuffle: false, ..quiet(3) }).unwrap());
    assert_eq!(from_loader, from_vec);
    assert_eq!(from_vec, from_closure);
    assert_eq!(from_closure, in_memory);
    assert!(from_vec.0[2] < from_vec.0[0]);
}

#[test]
fn a_model_with_two_inputs_learns_from_batches_of_two_tensors() {
    let n = 16;
    let a = Tensor::from_vec((0..n).map(|i| (i as f64 * 0.3).sin()).collect(), &[n, 1]).unwrap();
    let b = Tensor::from_vec((0..n).map(|i| (i as f64 * 0.7).cos()).collect(), &[n, 1]).unwrap();
    let y = &a + &b.map(|v| 2.0 * v);
    let store = ParamStore::with_seed(0);
    let (fa, fb) = (Linear::new(&store.root().sub("a"), 1, 1), Linear::new(&store.root().sub("b"), 1, 1));
    let model = FnModel::new(|xs: &[Var<'_, f64>]| fa.forward(xs[0]) + fb.forward(xs[1])).inputs(2);
    let mut batches = vec![Batch::new(vec![a.clone(), b.clone()], y.clone())];
    let mut trainer = Trainer::new(&model, &store, Adam::new(store.parameters(), 0.05), mse);
    let opts = FitOptions { validation: Validation::Batches(batches.clone()), ..quiet(400) };
    let history = trainer.fit_batches(&mut batches, &opts).unwrap();
    assert!(history.last().unwrap().val_loss.unwrap() < 1e-4, "{:?}", history.last());
    let pred = trainer.predict_inputs(&[a.clone(), b.clone()]);
    assert!(pred.to_vec().iter().zip(y.to_vec()).all(|(p, t)| (p - t).abs() < 0.02));
    // A batch with one input is refused before any step.
    let before = values(&store);
    let err = trainer.fit_batches(&mut vec![(a, y)], &quiet(1)).unwrap_err();
    assert_eq!(err.to_string(), "fit: the model takes 2 input(s) but a batch holds 1");
    assert_eq!(values(&store), before);
}

/// A model with dropout (drawing from the store's generator), an Adam optimizer and a schedule.
fn trainer<'m>(
    store: &ParamStore<f64>,
    model: &'m Sequential<f64>,
) -> Trainer<'m, f64, Sequential<f64>, Adam<f64>, Mse> {
    Trainer::new(model, store, Adam::new(store.parameters(), 0.01), mse as Mse)
        .with_scheduler(StepLr::new(0.01, 1, 0.7), Every::Epoch)
}

fn resumable(seed: u64) -> (ParamStore<f64>, Sequential<f64>) {
    let store = ParamStore::with_seed(seed);
    let model = Sequential::new(&store.root())
        .add(|p| Linear::new(p, 2, 8))
        .add(|_| Relu)
        .add(|p| Dropout::new(p, 0.25))
        .add(|p| Linear::new(p, 8, 1));
    (store, model)
}

#[test]
fn a_run_resumed_from_a_checkpoint_ends_bit_identical_to_an_uninterrupted_one() {
    let (x, y) = data(22);
    let loader = |seed| DataLoader::new(TensorDataset::new(x.clone(), y.clone()).unwrap(), 4).shuffle(seed);
    let opts = |initial_epoch| FitOptions { initial_epoch, ..quiet(4) };
    // Straight through, from a loader and from tensors.
    let (store, model) = resumable(0);
    let straight = trainer(&store, &model).fit_batches(&mut loader(5), &opts(0)).unwrap();
    let (s_mem, m_mem) = resumable(0);
    trainer(&s_mem, &m_mem).fit(&x, &y, &opts(0)).unwrap();

    // Two epochs, a checkpoint on disk, then a fresh process's worth of objects.
    let path = std::env::temp_dir().join(format!("wengert-resume-{}.ckpt", std::process::id()));
    let (s1, m1) = resumable(0);
    let mut first = loader(5);
    let mut t1 = trainer(&s1, &m1);
    t1.fit_batches(&mut first, &FitOptions { epochs: 2, ..opts(0) }).unwrap();
    t1.checkpoint_with(2, &first).save(&path).unwrap();
    let (s2, m2) = resumable(99);
    let mut second = loader(123);
    let mut t2 = trainer(&s2, &m2);
    let done = t2.resume_with(&Checkpoint::load(&path).unwrap(), &mut second).unwrap();
    assert_eq!(done, 2);
    let rest = t2.fit_batches(&mut second, &opts(done)).unwrap();
    assert_eq!(values(&s2), values(&store), "weights differ from the uninterrupted run's");
    assert_eq!(rest.epochs, straight.epochs[2..]);

    // The same from tensors: the store's generator, in the checkpoint, shuffles the rows.
    let (s3, m3) = resumable(0);
    let mut t3 = trainer(&s3, &m3);
    t3.fit(&x, &y, &FitOptions { epochs: 2, ..opts(0) }).unwrap();
    t3.checkpoint(2).save(&path).unwrap();
    let (s4, m4) = resumable(7);
    let mut t4 = trainer(&s4, &m4);
    let done = t4.resume(&Checkpoint::load(&path).unwrap()).unwrap();
    t4.fit(&x, &y, &opts(done)).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(values(&s4), values(&s_mem));
}

#[test]
fn resuming_a_checkpoint_of_another_model_names_the_file() {
    let (store, model) = resumable(0);
    let mut c = Trainer::new(&model, &store, Adam::new(store.parameters(), 0.01), mse).checkpoint(1);
    c.params.pop();
    let path = std::env::temp_dir().join(format!("wengert-resume-bad-{}.ckpt", std::process::id()));
    c.save(&path).unwrap();
    let mut t = Trainer::new(&model, &store, Adam::new(store.parameters(), 0.01), mse);
    let err = t.resume(&Checkpoint::load(&path).unwrap()).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(err, TrainError::Resume(_)), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
}

#[test]
fn targets_of_shape_n_train_as_targets_of_shape_n_by_1() {
    let (x, y) = data(12);
    let flat = y.reshape(&[12]).unwrap();
    let train = |target: &Tensor<f64>| {
        let store = ParamStore::with_seed(1);
        let model = Linear::new(&store.root(), 2, 1);
        let mut t = Trainer::new(&model, &store, Sgd::new(store.parameters(), 0.1), mse);
        let h = t.fit(&x, target, &quiet(3)).unwrap();
        (h.series("loss"), values(&store), t.evaluate(&x, target).unwrap())
    };
    assert_eq!(train(&flat), train(&y));
}

#[test]
fn targets_that_do_not_fit_the_output_are_named_before_any_step() {
    let (x, _) = data(12);
    let store = ParamStore::with_seed(1);
    let model = Linear::new(&store.root(), 2, 3);
    let before = values(&store);
    // Rows that differ, from a source whose targets were cut wrong.
    let mut t = Trainer::new(&model, &store, Sgd::new(store.parameters(), 0.1), mse);
    let err = t.fit_batches(&mut vec![(x.clone(), Tensor::zeros(&[5, 3]))], &quiet(1)).unwrap_err();
    assert_eq!(
        err,
        TrainError::TargetShape {
            prediction: vec![12, 3],
            target: vec![5, 3],
            reason: "they do not have the same number of rows".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "fit: the model's output of shape [12, 3] and the target of shape [5, 3] do not fit together: they \
         do not have the same number of rows"
    );
    // A loss that is not one value (here an elementwise square) is refused, not differentiated.
    fn elementwise<'t>(p: Var<'t, f64>, t: Var<'t, f64>) -> Var<'t, f64> {
        (p - t).square()
    }
    let mut t = Trainer::new(&model, &store, Sgd::new(store.parameters(), 0.1), elementwise);
    let err = t.fit(&x, &Tensor::zeros(&[12, 3]), &quiet(1)).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("do not fit together: the loss of them has shape [4, 3], not a single value"),
        "{err}"
    );
    assert_eq!(values(&store), before);
}

#[test]
fn accumulating_two_micro_batches_of_5_steps_as_one_batch_of_10() {
    let (x, y) = data(10);
    let train = |batches: Vec<(Tensor<f64>, Tensor<f64>)>, k: usize| {
        let store = ParamStore::with_seed(2);
        let model = Linear::new(&store.root(), 2, 1);
        let mut t = Trainer::new(&model, &store, Adam::new(store.parameters(), 0.05), mse);
        t.fit_batches(&mut batches.clone(), &FitOptions { accumulate_steps: k, ..quiet(5) }).unwrap();
        values(&store).concat()
    };
    let whole = train(vec![(x.clone(), y.clone())], 1);
    let halves = vec![(x.narrow(0, 0, 5), y.narrow(0, 0, 5)), (x.narrow(0, 5, 5), y.narrow(0, 5, 5))];
    // Unequal micro-batches are weighted by their rows: 3 + 7 is still the batch of 10.
    let uneven = vec![(x.narrow(0, 0, 3), y.narrow(0, 0, 3)), (x.narrow(0, 3, 7), y.narrow(0, 3, 7))];
    for (name, got) in [("halves", train(halves.clone(), 2)), ("3 + 7", train(uneven, 2))] {
        assert!(got.iter().zip(&whole).all(|(a, b)| (a - b).abs() < 1e-6), "{name}: {got:?} vs {whole:?}");
    }
    // Micro-batches left at an epoch's end make a smaller step: 5 + 5, then 2 alone.
    let (x12, y12) = data(12);
    let cut = |at, len| (x12.narrow(0, at, len), y12.narrow(0, at, len));
    let left_over = train(vec![cut(0, 5), cut(5, 5), cut(10, 2)], 2);
    let by_hand = train(vec![cut(0, 10), cut(10, 2)], 1);
    assert!(
        left_over.iter().zip(&by_hand).all(|(a, b)| (a - b).abs() < 1e-6),
        "{left_over:?} vs {by_hand:?}"
    );
    // Without accumulation, two steps an epoch go elsewhere.
    let stepped = train(halves, 1);
    assert!(stepped.iter().zip(&whole).any(|(a, b)| (a - b).abs() > 1e-3));
}

#[test]
fn a_frozen_prefix_keeps_its_weights_through_fit() {
    let (x, y) = data(12);
    let store = ParamStore::with_seed(3);
    let model = Sequential::new(&store.root().sub("net"))
        .add(|p| Linear::new(p, 2, 4))
        .add(|_| Relu)
        .add(|p| Linear::new(p, 4, 1));
    let mut t = Trainer::new(&model, &store, Sgd::new(store.parameters(), 0.1), mse);
    assert_eq!(t.freeze("net.0."), 2);
    let before = values(&store);
    t.fit(&x, &y, &quiet(3)).unwrap();
    let after = values(&store);
    assert_eq!(after[..2], before[..2]);
    assert_ne!(after[2..], before[2..]);
    assert_eq!(t.unfreeze("net."), 4);
    t.fit(&x, &y, &quiet(1)).unwrap();
    assert_ne!(values(&store)[..2], before[..2]);
}

#[test]
fn initial_epoch_numbers_the_epochs_from_there_and_validation_splits_need_tensors() {
    let (x, y) = data(8);
    let store = ParamStore::with_seed(0);
    let model = Linear::new(&store.root(), 2, 1);
    let mut t = Trainer::new(&model, &store, Sgd::new(store.parameters(), 0.1), mse);
    let h = t.fit(&x, &y, &FitOptions { initial_epoch: 3, ..quiet(5) }).unwrap();
    assert_eq!(h.epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(), [4, 5]);
    let opts = FitOptions { validation: Validation::Split(0.25), ..quiet(1) };
    let err = t.fit_batches(&mut vec![(x, y)], &opts).unwrap_err();
    assert!(matches!(err, TrainError::InvalidData(_)), "{err}");
}
