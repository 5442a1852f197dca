//! Where `fit` takes its batches from: the [`Batches`] trait, implemented by the
//! [`DataLoader`], by a `Vec` of batches and by a closure of the epoch; and the [`Model`] trait, through
//! which a model takes one input (any [`Module`]) or several ([`FnModel`]).

use wengert_tape::Var;
use wengert_tensor::{Float, Tensor};

use crate::data::DataLoader;
use crate::module::Module;
use crate::rng::SeedRng;

/// One batch: the model's inputs (one tensor per input, rows on axis 0) and the target.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch<F: Float = f32> {
    /// The inputs, in the order the model takes them.
    pub inputs: Vec<Tensor<F>>,
    /// The target, compared with the model's output by the loss.
    pub target: Tensor<F>,
}

impl<F: Float> Batch<F> {
    /// A batch of a model with several inputs.
    pub fn new(inputs: Vec<Tensor<F>>, target: Tensor<F>) -> Self {
        Batch { inputs, target }
    }

    /// The number of rows: the target's first dimension.
    pub fn rows(&self) -> usize {
        self.target.shape().first().copied().unwrap_or(1)
    }
}

impl<F: Float> From<(Tensor<F>, Tensor<F>)> for Batch<F> {
    fn from((x, y): (Tensor<F>, Tensor<F>)) -> Self {
        Batch { inputs: vec![x], target: y }
    }
}

impl<F: Float> From<(Vec<Tensor<F>>, Tensor<F>)> for Batch<F> {
    fn from((inputs, target): (Vec<Tensor<F>>, Tensor<F>)) -> Self {
        Batch { inputs, target }
    }
}

/// A source of training batches, epoch after epoch, for [`Trainer::fit_batches`](super::Trainer::fit_batches).
///
/// ```
/// use wengert::nn::data::{DataLoader, TensorDataset};
/// use wengert::nn::train::Batches;
/// use wengert::tensor::Tensor;
/// let data = TensorDataset::new(Tensor::<f32>::zeros(&[5, 2]), Tensor::zeros(&[5, 1]))?;
/// let mut loader = DataLoader::new(data, 2).shuffle(0);
/// assert_eq!(Batches::len_hint(&loader), Some(3));
/// assert_eq!(loader.epoch(1).map(|b| b.rows()).sum::<usize>(), 5);
/// # Ok::<(), wengert::nn::data::DataError>(())
/// ```
pub trait Batches<F: Float> {
    /// The batches of epoch `epoch` (from 1).
    fn epoch(&mut self, epoch: usize) -> Box<dyn Iterator<Item = Batch<F>> + '_>;

    /// The number of batches per epoch, when known (the progress bar shows it).
    fn len_hint(&self) -> Option<usize> {
        None
    }

    /// The state of the generator that orders the batches, if any, for a checkpoint.
    fn rng_state(&self) -> Option<SeedRng> {
        None
    }

    /// Restores a generator saved by [`rng_state`](Batches::rng_state); a source without one ignores it.
    fn set_rng_state(&mut self, _rng: SeedRng) {}
}

impl<F: Float> Batches<F> for DataLoader<F> {
    fn epoch(&mut self, _epoch: usize) -> Box<dyn Iterator<Item = Batch<F>> + '_> {
        Box::new(self.iter().map(Batch::from))
    }
    fn len_hint(&self) -> Option<usize> {
        Some(self.len())
    }
    fn rng_state(&self) -> Option<SeedRng> {
        DataLoader::rng_state(self)
    }
    fn set_rng_state(&mut self, rng: SeedRng) {
        DataLoader::set_rng_state(self, rng);
    }
}

/// The same batches every epoch, in order.
impl<F: Float> Batches<F> for Vec<(Tensor<F>, Tensor<F>)> {
    fn epoch(&mut self, _epoch: usize) -> Box<dyn Iterator<Item = Batch<F>> + '_> {
        Box::new(self.iter().cloned().map(Batch::from))
    }
    fn len_hint(&self) -> Option<usize> {
        Some(self.len())
    }
}

/// The same batches every epoch, in order.
impl<F: Float> Batches<F> for Vec<Batch<F>> {
    fn epoch(&mut self, _epoch: usize) -> Box<dyn Iterator<Item = Batch<F>> + '_> {
        Box::new(self.iter().cloned())
    }
    fn len_hint(&self) -> Option<usize> {
        Some(self.len())
    }
}

/// Batches made by a closure of the epoch; see [`from_fn`].
#[derive(Debug, Clone)]
pub struct FromFn<C> {
    make: C,
}

/// Batches from a closure called once per epoch (from 1) that returns that epoch's batches, as
/// `(inputs, target)` pairs or [`Batch`]es.
///
/// ```
/// use wengert::nn::train::{Batches, from_fn};
/// use wengert::tensor::Tensor;
/// let mut source = from_fn(|epoch: usize| {
///     (0..epoch).map(|_| (Tensor::<f32>::zeros(&[2, 1]), Tensor::<f32>::zeros(&[2, 1])))
/// });
/// assert_eq!(source.epoch(3).count(), 3);
/// ```
pub fn from_fn<F, C, I>(make: C) -> FromFn<C>
where
    F: Float,
    C: FnMut(usize) -> I,
    I: IntoIterator,
    I::Item: Into<Batch<F>>,
{
    FromFn { make }
}

impl<F, C, I> Batches<F> for FromFn<C>
where
    F: Float,
    C: FnMut(usize) -> I,
    I: IntoIterator,
    I::IntoIter: 'static,
    I::Item: Into<Batch<F>> + 'static,
{
    fn epoch(&mut self, epoch: usize) -> Box<dyn Iterator<Item = Batch<F>> + '_> {
        Box::new((self.make)(epoch).into_iter().map(Into::into))
    }
}

/// A model as `fit` sees it: the output for a batch's inputs. Every [`Module`] of `f32` or `f64` is one
/// (one input); [`FnModel`] makes one of a closure over several inputs.
pub trait Model<F: Float> {
    /// The output for `inputs`.
    fn forward_inputs<'t>(&self, inputs: &[Var<'t, F>]) -> Var<'t, F>;

    /// How many inputs it takes, when fixed: `fit` checks the batches against it before training.
    fn num_inputs(&self) -> Option<usize>;
}

/// Every `Module<f32>` is a model of one input.
impl<M: Module<f32>> Model<f32> for M {
    /// # Panics
    ///
    /// Unless there is exactly one input.
    #[track_caller]
    fn forward_inputs<'t>(&self, inputs: &[Var<'t, f32>]) -> Var<'t, f32> {
        self.forward(one_input(inputs))
    }

    fn num_inputs(&self) -> Option<usize> {
        Some(1)
    }
}

/// Every `Module<f64>` is a model of one input.
impl<M: Module<f64>> Model<f64> for M {
    /// # Panics
    ///
    /// Unless there is exactly one input.
    #[track_caller]
    fn forward_inputs<'t>(&self, inputs: &[Var<'t, f64>]) -> Var<'t, f64> {
        self.forward(one_input(inputs))
    }

    fn num_inputs(&self) -> Option<usize> {
        Some(1)
    }
}

/// The one input of a [`Module`].
///
/// # Panics
///
/// Unless there is exactly one.
#[track_caller]
fn one_input<'t, F: Float>(inputs: &[Var<'t, F>]) -> Var<'t, F> {
    assert_eq!(inputs.len(), 1, "Module::forward takes one input, not {}", inputs.len());
    inputs[0]
}

/// A model with several inputs, as a closure over their Vars.
///
/// ```
/// use wengert::nn::train::{FnModel, Model};
/// use wengert::tape::{Tape, Var};
/// use wengert::tensor::Tensor;
/// let model = FnModel::new(|xs: &[Var<'_, f32>]| xs[0] + xs[1]);
/// let tape = Tape::new();
/// let (a, b) = (tape.constant(Tensor::ones(&[2])), tape.constant(Tensor::ones(&[2])));
/// assert_eq!(model.forward_inputs(&[a, b]).value().to_vec(), vec![2.0, 2.0]);
/// ```
pub struct FnModel<C> {
    forward: C,
    inputs: Option<usize>,
}

impl<C> FnModel<C> {
    /// The model computing `forward(inputs)`.
    pub fn new<F: Float>(forward: C) -> Self
    where
        C: for<'t> Fn(&[Var<'t, F>]) -> Var<'t, F>,
    {
        FnModel { forward, inputs: None }
    }

    /// Declares how many inputs it takes, so that `fit` refuses other batches before training.
    pub fn inputs(mut self, n: usize) -> Self {
        self.inputs = Some(n);
        self
    }
}

impl<F: Float, C> Model<F> for FnModel<C>
where
    C: for<'t> Fn(&[Var<'t, F>]) -> Var<'t, F>,
{
    fn forward_inputs<'t>(&self, inputs: &[Var<'t, F>]) -> Var<'t, F> {
        (self.forward)(inputs)
    }

    fn num_inputs(&self) -> Option<usize> {
        self.inputs
    }
}
