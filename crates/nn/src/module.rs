//! The `Module` trait — a layer or a model is anything with a `forward` over Vars — and `Sequential`.

use wengert_tape::Var;
use wengert_tensor::Float;

use crate::store::Path;

/// A layer or a model: a function of Vars whose parameters live in a [`ParamStore`](crate::ParamStore).
///
/// A custom model is a plain struct holding layers, built with a [`Path`], with `forward` written in Var
/// code; nothing more is required. Modules are `Send + Sync`, so a trained model can serve many threads
/// at once, each recording on its own tape.
///
/// ```
/// use wengert::nn::{Linear, Module, ParamStore, Path, TapeParam};
/// use wengert::tape::{Tape, Var};
/// use wengert::tensor::Tensor;
///
/// struct TwoLayer { fc1: Linear, fc2: Linear }
/// impl TwoLayer {
///     fn new(p: &Path) -> Self {
///         TwoLayer { fc1: Linear::new(&p.sub("fc1"), 4, 8), fc2: Linear::new(&p.sub("fc2"), 8, 1) }
///     }
/// }
/// impl Module for TwoLayer {
///     fn forward<'t>(&self, x: Var<'t>) -> Var<'t> {
///         self.fc2.forward(self.fc1.forward(x).relu())
///     }
/// }
///
/// let store = ParamStore::new(0);
/// let model = TwoLayer::new(&store.root());
/// let tape = Tape::new();
/// let y = model.forward(tape.constant(Tensor::ones(&[5, 4])));
/// assert_eq!(y.shape(), vec![5, 1]);
/// assert_eq!(store.num_parameters(), 4 * 8 + 8 + 8 + 1);
/// ```
pub trait Module<F: Float = f32>: Send + Sync {
    /// The output for input `x`, recorded on `x`'s tape.
    ///
    /// It is `#[track_caller]`, through `dyn Module` and `Sequential` too, so a layer's shape panic
    /// reports the line that called `forward`.
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F>;
}

impl<F: Float, M: Module<F> + ?Sized> Module<F> for Box<M> {
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        (**self).forward(x)
    }
}

/// Layers applied one after the other. As in PyTorch's `nn.Sequential`, the `i`-th layer (counting
/// every layer, activations included) names its parameters `i.*` under the sequence's own path:
/// `Linear, Relu, Linear` at the root are `0.weight`, `0.bias`, `2.weight`, `2.bias`; in a model's
/// field `net`, `net.0.weight`, ... (Files written when these were `layers.0.weight` load through a
/// [`KeyMap`](crate::checkpoint::KeyMap) that strips `layers.`.)
///
/// ```
/// use wengert::nn::{Linear, Module, ParamStore, Relu, Sequential};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f32>::new(0);
/// let model = Sequential::new(&store.root())
///     .add(|p| Linear::new(p, 2, 16))
///     .add(|_| Relu)
///     .add(|p| Linear::new(p, 16, 1));
/// assert_eq!(store.parameters()[2].name(), "2.weight");
/// let tape = Tape::new();
/// assert_eq!(model.forward(tape.constant(Tensor::ones(&[3, 2]))).shape(), vec![3, 1]);
/// ```
pub struct Sequential<F: Float = f32> {
    path: Path<F>,
    layers: Vec<Box<dyn Module<F>>>,
}

impl<F: Float> Sequential<F> {
    /// An empty sequence whose `i`-th layer is named `path.i`.
    pub fn new(path: &Path<F>) -> Self {
        Sequential { path: path.clone(), layers: Vec::new() }
    }

    /// Appends the layer `make` builds under the path `i`, its index (Keras' `model.add`).
    #[allow(clippy::should_implement_trait)] // Keras' name; a sequence is not a number
    pub fn add<M: Module<F> + 'static>(mut self, make: impl FnOnce(&Path<F>) -> M) -> Self {
        let layer = make(&self.path.sub(self.layers.len()));
        self.layers.push(Box::new(layer));
        self
    }

    /// Appends a layer that was built elsewhere (it takes an index, which names nothing of it).
    pub fn push(&mut self, layer: impl Module<F> + 'static) {
        self.layers.push(Box::new(layer));
    }

    /// The number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// True when there is no layer (the sequence is the identity).
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl<F: Float> std::fmt::Debug for Sequential<F> {
    /// The number of layers and the parameters under their paths `path.i` (layers themselves need
    /// not be `Debug`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let prefixes: Vec<String> =
            (0..self.layers.len()).map(|i| format!("{}.", self.path.sub(i).prefix())).collect();
        let mine = |name: &str| prefixes.iter().any(|prefix| name.starts_with(prefix.as_str()));
        let params: Vec<_> = self.path.store().parameters().into_iter().filter(|p| mine(p.name())).collect();
        f.debug_struct("Sequential").field("layers", &self.layers.len()).field("parameters", &params).finish()
    }
}

impl<F: Float> Module<F> for Sequential<F> {
    /// Each layer's `forward` in turn. A plain loop, no closure, so that a layer's shape panic
    /// reports the line that called the sequence's `forward`.
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        let mut h = x;
        for layer in &self.layers {
            h = layer.forward(h);
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Linear, ParamStore, Relu};

    #[test]
    fn sequential_debug_counts_layers_and_lists_their_parameters() {
        let store = ParamStore::<f32>::new(0);
        let _other = Linear::new(&store.root().sub("head"), 1, 1);
        let model = Sequential::new(&store.root()).add(|p| Linear::new(p, 2, 3)).add(|_| Relu);
        let text = format!("{model:?}");
        assert!(text.starts_with("Sequential { layers: 2, parameters: [Param(0.weight, #"), "{text}");
        assert!(text.contains("Param(0.bias, #") && text.contains("shape [3])"), "{text}");
        assert!(!text.contains("head"), "{text}");
    }
}
