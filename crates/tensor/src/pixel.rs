//! Sub-pixel rearrangements of NCHW images, PyTorch's `pixel_shuffle` and `pixel_unshuffle`, each a
//! reshape, a permute and a reshape, and each the other's inverse:
//!
//! pixel_shuffle: `[N, C r², H, W]` to `[N, C, H r, W r]`, output (c, i, j) reading channel
//! `c r² + (i mod r) r + (j mod r)` at (⌊i / r⌋, ⌊j / r⌋); pixel_unshuffle the way back.

use crate::float::Float;
use crate::shape_ops::invalid;
use crate::tensor::Tensor;

/// `[n, c, h, w]` of a 4-D shape, or a panic naming `op`.
#[track_caller]
fn nchw(op: &'static str, s: &[usize]) -> [usize; 4] {
    match *s {
        [n, c, h, w] => [n, c, h, w],
        _ => invalid(op, format!("input {s:?} must be 4-D [N, C, H, W]")),
    }
}

impl<F: Float> Tensor<F> {
    /// Rearranges `[N, C r², H, W]` into `[N, C, H r, W r]` (PyTorch's `pixel_shuffle` with
    /// `upscale_factor = r`): output (c, i, j) is input channel `c r² + (i mod r) r + (j mod r)` at
    /// (⌊i / r⌋, ⌊j / r⌋).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::arange(0.0, 8.0, 1.0).reshape(&[1, 4, 1, 2]).unwrap();
    /// let y = x.pixel_shuffle(2);
    /// assert_eq!(y.shape(), &[1, 1, 2, 4]);
    /// assert_eq!(y.to_vec(), vec![0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` is not 4-D, `r` is 0, or the channels are not a multiple of `r²`:
    /// `pixel_shuffle: 3 channels of input [1, 3, 2, 2] are not a multiple of 2² = 4`.
    #[track_caller]
    pub fn pixel_shuffle(&self, r: usize) -> Self {
        let [n, c, h, w] = nchw("pixel_shuffle", self.shape());
        let rr = r.checked_mul(r).filter(|&rr| rr > 0 && c % rr == 0);
        let Some(rr) = rr else {
            invalid(
                "pixel_shuffle",
                format!(
                    "{c} channels of input {:?} are not a multiple of {r}² = {}",
                    self.shape(),
                    r.saturating_mul(r)
                ),
            );
        };
        let co = c / rr;
        self.reshape(&[n, co, r, r, h, w])
            .expect("the same elements")
            .permute(&[0, 1, 4, 2, 5, 3])
            .reshape(&[n, co, h * r, w * r])
            .expect("the same elements")
    }

    /// Rearranges `[N, C, H r, W r]` into `[N, C r², H, W]` (PyTorch's `pixel_unshuffle` with
    /// `downscale_factor = r`), the inverse of [`Tensor::pixel_shuffle`]: output channel
    /// `c r² + a r + b` at (i, j) is input channel `c` at (i r + a, j r + b).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::arange(0.0, 8.0, 1.0).reshape(&[1, 1, 2, 4]).unwrap();
    /// let y = x.pixel_unshuffle(2);
    /// assert_eq!(y.shape(), &[1, 4, 1, 2]);
    /// assert_eq!(y.to_vec(), vec![0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0]);
    /// assert_eq!(y.pixel_shuffle(2), x);
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` is not 4-D, `r` is 0, or the height or width is not a multiple of `r`:
    /// `pixel_unshuffle: input [1, 1, 3, 4]: height 3 and width 4 must be multiples of the factor 2`.
    #[track_caller]
    pub fn pixel_unshuffle(&self, r: usize) -> Self {
        let [n, c, h, w] = nchw("pixel_unshuffle", self.shape());
        if r == 0 || h % r != 0 || w % r != 0 {
            invalid(
                "pixel_unshuffle",
                format!(
                    "input {:?}: height {h} and width {w} must be multiples of the factor {r}, which must be positive",
                    self.shape()
                ),
            );
        }
        let (ho, wo) = (h / r, w / r);
        self.reshape(&[n, c, ho, r, wo, r])
            .expect("the same elements")
            .permute(&[0, 1, 3, 5, 2, 4])
            .reshape(&[n, c * r * r, ho, wo])
            .expect("the same elements")
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    fn arange(shape: &[usize]) -> Tensor<f64> {
        let n: usize = shape.iter().product();
        Tensor::arange(0.0, n as f64, 1.0).reshape(shape).unwrap()
    }

    #[test]
    fn pixel_unshuffle_follows_pytorchs_channel_order() {
        // Output channel c r² + a r + b at (i, j) is input (c, i r + a, j r + b).
        let x = arange(&[2, 2, 4, 6]);
        let y = x.pixel_unshuffle(2);
        assert_eq!(y.shape(), &[2, 8, 2, 3]);
        let (xv, yv) = (x.to_vec(), y.to_vec());
        for n in 0..2 {
            for c in 0..2 {
                for (a, b) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    for i in 0..2 {
                        for j in 0..3 {
                            let out = ((n * 8 + c * 4 + a * 2 + b) * 2 + i) * 3 + j;
                            let inp = ((n * 2 + c) * 4 + i * 2 + a) * 6 + j * 2 + b;
                            assert_eq!(yv[out], xv[inp]);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn pixel_shuffle_and_unshuffle_invert_each_other() {
        let x = arange(&[1, 9, 2, 3]);
        assert_eq!(x.pixel_shuffle(3).pixel_unshuffle(3), x);
        let x = arange(&[2, 1, 3, 6]);
        assert_eq!(x.pixel_unshuffle(3).pixel_shuffle(3), x);
        // A factor of 1 leaves the image as it is.
        assert_eq!(x.pixel_unshuffle(1), x);
        // A transposed (non-contiguous) input reads in logical order.
        let t = arange(&[1, 1, 4, 2]).swap_axes(2, 3);
        assert_eq!(t.pixel_unshuffle(2), t.to_contiguous().pixel_unshuffle(2));
    }

    #[test]
    #[should_panic(
        expected = "pixel_unshuffle: input [1, 1, 3, 4]: height 3 and width 4 must be multiples of the factor 2"
    )]
    fn pixel_unshuffle_rejects_a_height_not_divisible_by_the_factor() {
        arange(&[1, 1, 3, 4]).pixel_unshuffle(2);
    }

    #[test]
    #[should_panic(expected = "pixel_shuffle: 3 channels of input [1, 3, 2, 2] are not a multiple of 2² = 4")]
    fn pixel_shuffle_rejects_channels_not_divisible_by_the_factor_squared() {
        arange(&[1, 3, 2, 2]).pixel_shuffle(2);
    }

    #[test]
    #[should_panic(expected = "pixel_unshuffle: input [1, 2, 3] must be 4-D")]
    fn pixel_unshuffle_rejects_a_3d_input() {
        arange(&[1, 2, 3]).pixel_unshuffle(1);
    }
}
