//! The resampling layers, PyTorch's `nn.Upsample`, `nn.PixelShuffle` and `nn.PixelUnshuffle`: thin
//! `Module` wrappers of the resampling functions, without parameters.

use wengert_tape::Var;
use wengert_tensor::Float;

use super::{
    pixel_shuffle, pixel_unshuffle, upsample_bilinear, upsample_bilinear_scale, upsample_nearest,
    upsample_nearest_scale,
};
use crate::module::Module;

/// How [`Upsample`] interpolates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UpsampleMode {
    /// Copies the nearest input pixel (PyTorch's `mode="nearest"`, its default).
    #[default]
    Nearest,
    /// Bilinear interpolation (PyTorch's `mode="bilinear"`); PyTorch's `align_corners=None` is `false`.
    Bilinear {
        /// Whether the corner pixels' centres of input and output coincide.
        align_corners: bool,
    },
}

/// What [`Upsample`] resizes to: a fixed size or a scale factor of the input's size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UpsampleTarget {
    /// The output's `(rows, columns)`, PyTorch's `size`.
    Size(usize, usize),
    /// Factors of the input's rows and columns, PyTorch's `scale_factor`: the output has
    /// `(⌊H s₀⌋, ⌊W s₁⌋)` pixels.
    Scale(f64, f64),
}

/// Resizes `[N, C, H, W]` images (PyTorch's `nn.Upsample`) to a size or by a scale factor, by
/// nearest-neighbour or bilinear interpolation.
///
/// ```
/// use wengert::nn::{Module, Upsample, UpsampleMode};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let x = tape.constant(Tensor::from_vec(vec![0.0, 3.0], &[1, 1, 1, 2]).unwrap());
/// let up = Upsample::scale((2.0, 2.0), UpsampleMode::Bilinear { align_corners: true });
/// assert_eq!(up.forward(x).value().to_vec(), vec![0.0, 1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 3.0]);
/// assert_eq!(Upsample::size((1, 3), UpsampleMode::Nearest).forward(x).value().to_vec(), vec![0.0, 0.0, 3.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Upsample {
    /// The size or scale factor.
    pub target: UpsampleTarget,
    /// Nearest or bilinear.
    pub mode: UpsampleMode,
}

impl Upsample {
    /// Resizes to `(rows, columns)`.
    pub fn size(size: (usize, usize), mode: UpsampleMode) -> Self {
        Upsample { target: UpsampleTarget::Size(size.0, size.1), mode }
    }

    /// Resizes by the factors `(rows, columns)` of the input's size.
    pub fn scale(factor: (f64, f64), mode: UpsampleMode) -> Self {
        Upsample { target: UpsampleTarget::Scale(factor.0, factor.1), mode }
    }
}

impl<F: Float> Module<F> for Upsample {
    /// `x` of shape `[N, C, H, W]` to `[N, C, Ho, Wo]`.
    ///
    /// # Panics
    ///
    /// When `x` is not 4-D, a size is 0, or a scale factor is not positive and finite or leaves no pixel.
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        match (self.target, self.mode) {
            (UpsampleTarget::Size(h, w), UpsampleMode::Nearest) => upsample_nearest(x, (h, w)),
            (UpsampleTarget::Size(h, w), UpsampleMode::Bilinear { align_corners }) => {
                upsample_bilinear(x, (h, w), align_corners)
            }
            (UpsampleTarget::Scale(a, b), UpsampleMode::Nearest) => upsample_nearest_scale(x, (a, b)),
            (UpsampleTarget::Scale(a, b), UpsampleMode::Bilinear { align_corners }) => {
                upsample_bilinear_scale(x, (a, b), align_corners)
            }
        }
    }
}

/// `[N, C r², H, W]` to `[N, C, H r, W r]` (PyTorch's `nn.PixelShuffle(upscale_factor=r)`); see
/// [`pixel_shuffle`].
///
/// ```
/// use wengert::nn::{Module, PixelShuffle};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f32>::new();
/// let y = PixelShuffle { factor: 2 }.forward(tape.constant(Tensor::ones(&[1, 8, 3, 3])));
/// assert_eq!(y.shape(), vec![1, 2, 6, 6]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PixelShuffle {
    /// The upscale factor `r`.
    pub factor: usize,
}

impl<F: Float> Module<F> for PixelShuffle {
    /// # Panics
    ///
    /// As [`pixel_shuffle`].
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        pixel_shuffle(x, self.factor)
    }
}

/// `[N, C, H r, W r]` to `[N, C r², H, W]` (PyTorch's `nn.PixelUnshuffle(downscale_factor=r)`); see
/// [`pixel_unshuffle`].
///
/// ```
/// use wengert::nn::{Module, PixelUnshuffle};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f32>::new();
/// let y = PixelUnshuffle { factor: 3 }.forward(tape.constant(Tensor::ones(&[2, 1, 6, 9])));
/// assert_eq!(y.shape(), vec![2, 9, 2, 3]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PixelUnshuffle {
    /// The downscale factor `r`.
    pub factor: usize,
}

impl<F: Float> Module<F> for PixelUnshuffle {
    /// # Panics
    ///
    /// As [`pixel_unshuffle`].
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        pixel_unshuffle(x, self.factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sequential;
    use crate::store::ParamStore;
    use wengert_tape::Tape;
    use wengert_tensor::Tensor;

    fn arange(shape: &[usize]) -> Tensor<f64> {
        let n: usize = shape.iter().product();
        Tensor::arange(0.0, n as f64, 1.0).reshape(shape).unwrap()
    }

    #[test]
    fn upsample_dispatches_each_target_and_mode_to_its_function() {
        let tape = Tape::<f64>::new();
        let x = tape.constant(arange(&[2, 1, 3, 2]));
        let bl = UpsampleMode::Bilinear { align_corners: false };
        let ac = UpsampleMode::Bilinear { align_corners: true };
        let near = UpsampleMode::Nearest;
        assert_eq!(Upsample::size((5, 3), near).forward(x).value(), upsample_nearest(x, (5, 3)).value());
        assert_eq!(
            Upsample::size((5, 3), bl).forward(x).value(),
            upsample_bilinear(x, (5, 3), false).value()
        );
        assert_eq!(Upsample::size((5, 3), ac).forward(x).value(), upsample_bilinear(x, (5, 3), true).value());
        let s = (1.5, 2.5);
        assert_eq!(Upsample::scale(s, near).forward(x).value(), upsample_nearest_scale(x, s).value());
        assert_eq!(Upsample::scale(s, bl).forward(x).value(), upsample_bilinear_scale(x, s, false).value());
        assert_eq!(Upsample::scale(s, ac).forward(x).value(), upsample_bilinear_scale(x, s, true).value());
        assert_eq!(Upsample::scale(s, near).forward(x).shape(), vec![2, 1, 4, 5]);
        assert_eq!(UpsampleMode::default(), near);
    }

    #[test]
    fn pixel_layers_chain_in_a_sequential_and_undo_each_other() {
        let store = ParamStore::<f64>::with_seed(0);
        let model = Sequential::new(&store.root())
            .add(|_| PixelUnshuffle { factor: 2 })
            .add(|_| PixelShuffle { factor: 2 });
        let tape = Tape::new();
        let x = arange(&[1, 3, 4, 6]);
        let y = tape.constant(x.clone());
        assert_eq!(PixelUnshuffle { factor: 2 }.forward(y).value(), x.pixel_unshuffle(2));
        assert_eq!(model.forward(y).value(), x);
    }
}
