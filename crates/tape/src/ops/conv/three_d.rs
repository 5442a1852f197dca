//! `conv3d` on Vars, lowered to one `conv2d` as [`Tensor::conv3d`] is: pad the depth, gather the depth
//! taps of every output slice into channels (index_select, reshape, permute), convolve in 2-D, and put
//! the output slices back along depth. Every step is an op with rules of its own, so the convolution
//! is differentiated to any order, and the first-order sweep runs each step's tensor rule.

use wengert_tensor::{Conv3dOptions, Float, Tensor};

use crate::var::Var;

impl<'t, F: Float> Var<'t, F> {
    /// The 3-D convolution of `self`, `[N, C, D, H, W]`, by `weight`, `[O, C / groups, kD, kH, kW]`
    /// (PyTorch's `conv3d` without its bias; add one of shape `[O, 1, 1, 1]`), to `[N, O, Do, Ho, Wo]`,
    /// with the numbers of [`Tensor::conv3d`]. Both are differentiated, to any order.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::{Conv3dOptions, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::ones(&[1, 1, 3, 2, 2]));
    /// let w = tape.var(Tensor::ones(&[1, 1, 2, 1, 1]));
    /// let y = x.conv3d(w, &Conv3dOptions::default());
    /// assert_eq!(y.shape(), vec![1, 1, 2, 2, 2]);
    /// let grads = y.sum().backward();
    /// // The middle slice is read by both output slices, the outer ones by one.
    /// assert_eq!(grads[x].to_vec(), [[1.0; 4], [2.0; 4], [1.0; 4]].concat());
    /// assert_eq!(grads[w].to_vec(), vec![8.0, 8.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::conv3d`], in the terms of the 5-D shapes, or when the Vars are on different tapes.
    #[track_caller]
    pub fn conv3d(self, weight: Self, opts: &Conv3dOptions) -> Self {
        let (xs, ws) = (self.shape(), weight.shape());
        let [n, o, od, oh, ow] = Tensor::<F>::conv3d_output_shape(&xs, &ws, opts);
        self.tape.check_same("conv3d", &[weight]);
        let ([.., h, w], [_, cg, kd, kh, kw]) = (shape5(&xs), shape5(&ws));
        let (g, pd) = (opts.groups, opts.padding.0);
        let x = if pd == 0 { self } else { self.pad(&[(0, 0), (0, 0), (pd, pd), (0, 0), (0, 0)], F::zero()) };
        let taps = x
            .index_select(2, &opts.depth_taps(od, kd))
            .reshape(&[n, g, cg, od, kd, h, w])
            .permute(&[0, 3, 1, 4, 2, 5, 6])
            .reshape(&[n * od, g * kd * cg, h, w]);
        let w2 = weight.permute(&[0, 2, 1, 3, 4]).reshape(&[o, kd * cg, kh, kw]);
        taps.conv2d(w2, &opts.to_2d()).reshape(&[n, od, o, oh, ow]).permute(&[0, 2, 1, 3, 4])
    }
}

/// A shape checked to be 5-D.
fn shape5(s: &[usize]) -> [usize; 5] {
    s.try_into().expect("checked 5-D by conv3d_output_shape")
}

#[cfg(test)]
mod tests {
    use wengert_tensor::{Conv3dOptions, Tensor};

    use crate::ops::cases::{Case, case, gradchecks};
    use crate::tape::Tape;

    /// `sin(0.37 i + phase)` of `shape`.
    fn sines(shape: &[usize], phase: f64) -> Tensor<f64> {
        let n = shape.iter().product();
        Tensor::from_vec((0..n).map(|i| (i as f64 * 0.37 + phase).sin()).collect(), shape).unwrap()
    }

    /// Small input and weight shapes of conv3d with each option in play.
    fn options() -> Vec<(&'static str, [usize; 5], [usize; 5], Conv3dOptions)> {
        let d = Conv3dOptions::default();
        vec![
            ("plain", [1, 2, 3, 3, 2], [2, 2, 2, 2, 1], d),
            ("stride and padding", [2, 1, 4, 3, 3], [2, 1, 2, 2, 2], d.stride((2, 1, 2)).padding((1, 1, 0))),
            ("dilation", [1, 1, 4, 3, 4], [1, 1, 2, 2, 2], d.dilation((2, 1, 2))),
            ("groups", [1, 4, 2, 3, 2], [2, 2, 2, 1, 2], d.groups(2)),
        ]
    }

    fn cases() -> Vec<Case> {
        let mut cases = Vec::new();
        for (what, xs, ws, o) in options() {
            let inputs = [sines(&xs, 0.3), sines(&ws, 1.3)];
            cases.push(case(format!("conv3d, {what}"), &inputs, move |v| v[0].conv3d(v[1], &o)));
            // The square makes the second derivative depend on both inputs.
            cases.push(case(format!("conv3d, {what}, squared"), &inputs, move |v| {
                v[0].conv3d(v[1], &o).square()
            }));
        }
        cases
    }

    #[test]
    fn conv3d_grads_match_finite_differences_to_second_order() {
        gradchecks(cases()).unwrap();
    }

    #[test]
    fn conv3d_on_vars_has_the_tensor_numbers_and_first_order_matches_the_graph() {
        for (what, xs, ws, o) in options() {
            let (x, w) = (sines(&xs, 0.1), sines(&ws, 0.7));
            let tape = Tape::<f64>::new();
            let (xv, wv) = (tape.var(x.clone()), tape.var(w.clone()));
            let y = xv.conv3d(wv, &o);
            assert_eq!(y.value().to_vec(), x.conv3d(&w, &o).to_vec(), "{what}");
            let loss = (y * y.constant(sines(&y.shape(), 2.0))).sum();
            let first = tape.grad(loss, &[xv, wv]);
            let graph = tape.grad_graph(loss, &[xv, wv]);
            for (a, b) in first.iter().zip(&graph) {
                assert_eq!(a.to_vec(), b.value().to_vec(), "{what}");
            }
        }
    }

    #[test]
    #[should_panic(
        expected = "conv3d: input [1, 2, 3, 3, 3], weight [1, 1, 1, 1, 1]: the weight takes 1 channels per group, the input has 2 (2 / 1)"
    )]
    fn conv3d_on_vars_speaks_of_its_5d_shapes() {
        let tape = Tape::<f64>::new();
        let x = tape.var(Tensor::ones(&[1, 2, 3, 3, 3]));
        x.conv3d(tape.var(Tensor::ones(&[1, 1, 1, 1, 1])), &Conv3dOptions::default());
    }
}
