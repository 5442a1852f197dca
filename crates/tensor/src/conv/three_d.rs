//! `conv3d` of NCDHW volumes, lowered to one `conv2d`: the depth taps of every output slice are
//! gathered into channels, so that
//!
//! `y[n, o, t] = Σ_{k} conv2d(x[n, :, t·s - p + k·d], w[o, :, k])` (depth `t`, kernel depth `k`)
//!
//! becomes the 2-D convolution of `[N·Do, G·kD·C/G, H, W]` images by `[O, kD·C/G, kH, kW]` weights in
//! `G` groups. The lowering uses only ops with rules (pad, index_select, reshape, permute, conv2d),
//! which is why `Var::conv3d` differentiates to any order; the Tensor and Var versions take the same
//! steps, so they give the same numbers.

use std::fmt::Display;

use super::Conv2dOptions;
use crate::alloc;
use crate::float::Float;
use crate::shape_ops::invalid;
use crate::tensor::Tensor;

/// Settings of [`Tensor::conv3d`], as `(depth, rows, columns)` triples: stride, zero padding on each
/// side and dilation, plus the number of groups. The default is PyTorch's: stride 1, no padding,
/// dilation 1, one group.
///
/// ```
/// use wengert::tensor::Conv3dOptions;
/// let opts = Conv3dOptions::default().stride((1, 2, 2)).padding((1, 1, 1)).groups(2);
/// assert_eq!((opts.stride, opts.padding, opts.dilation, opts.groups), ((1, 2, 2), (1, 1, 1), (1, 1, 1), 2));
/// assert_eq!(opts.to_2d().stride, (2, 2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv3dOptions {
    /// The step between output positions, in input slices, rows and columns.
    pub stride: (usize, usize, usize),
    /// Zeros added before and after along depth (`.0`), rows (`.1`) and columns (`.2`).
    pub padding: (usize, usize, usize),
    /// The spacing between kernel taps.
    pub dilation: (usize, usize, usize),
    /// Channel groups: input and output channels split into this many groups, each convolved alone.
    pub groups: usize,
}

impl Default for Conv3dOptions {
    fn default() -> Self {
        Conv3dOptions { stride: (1, 1, 1), padding: (0, 0, 0), dilation: (1, 1, 1), groups: 1 }
    }
}

impl Conv3dOptions {
    /// With stride `s`.
    pub fn stride(mut self, s: (usize, usize, usize)) -> Self {
        self.stride = s;
        self
    }

    /// With padding `p`.
    pub fn padding(mut self, p: (usize, usize, usize)) -> Self {
        self.padding = p;
        self
    }

    /// With dilation `d`.
    pub fn dilation(mut self, d: (usize, usize, usize)) -> Self {
        self.dilation = d;
        self
    }

    /// With `g` groups.
    pub fn groups(mut self, g: usize) -> Self {
        self.groups = g;
        self
    }

    /// The options of the 2-D convolution over rows and columns that the lowering runs.
    pub fn to_2d(self) -> Conv2dOptions {
        let (_, s1, s2) = self.stride;
        let (_, p1, p2) = self.padding;
        let (_, d1, d2) = self.dilation;
        Conv2dOptions { stride: (s1, s2), padding: (p1, p2), dilation: (d1, d2), groups: self.groups }
    }

    /// Where each `(output slice t, kernel slice k)` reads in the input padded along depth:
    /// `t·s + k·d`, `t` major, for `outputs` output slices and a kernel `kernel` deep.
    pub fn depth_taps(&self, outputs: usize, kernel: usize) -> Vec<usize> {
        let (s, d) = (self.stride.0, self.dilation.0);
        (0..outputs).flat_map(|t| (0..kernel).map(move |k| t * s + k * d)).collect()
    }
}

/// Panics with `reason` after the op and the shapes.
#[track_caller]
fn fail(x: &[usize], w: &[usize], reason: impl Display) -> ! {
    invalid("conv3d", format!("input {x:?}, weight {w:?}: {reason}"))
}

/// The output length along one axis, or `None` when the padded input or dilated kernel overflows;
/// `Some(Err(()))` when the kernel is larger than the padded input.
fn out_len(len: usize, k: usize, p: usize, d: usize, s: usize) -> Option<Result<usize, ()>> {
    let padded = len.checked_add(p.checked_mul(2)?)?;
    let span = d.checked_mul(k - 1)?.checked_add(1)?;
    Some(if padded < span { Err(()) } else { Ok((padded - span) / s + 1) })
}

impl<F: Float> Tensor<F> {
    /// The output shape `[N, O, Do, Ho, Wo]` of `conv3d` of an input of shape `input` by a weight of
    /// shape `weight`, after checking both, the options, and that every buffer of the lowering can be
    /// held (its errors are those of [`Tensor::conv3d`]).
    ///
    /// ```
    /// use wengert::tensor::{Conv3dOptions, Tensor};
    /// let o = Conv3dOptions::default().stride((2, 1, 1)).padding((1, 0, 0));
    /// assert_eq!(Tensor::<f32>::conv3d_output_shape(&[2, 3, 5, 6, 6], &[4, 3, 3, 3, 3], &o), [2, 4, 3, 4, 4]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::conv3d`].
    #[track_caller]
    pub fn conv3d_output_shape(input: &[usize], weight: &[usize], opts: &Conv3dOptions) -> [usize; 5] {
        let (x, w) = (input, weight);
        let (&[n, c, d, h, wd], &[o, cg, kd, kh, kw]) = (x, w) else {
            fail(x, w, "both must be 5-D [N, C, D, H, W] and [O, C / groups, kD, kH, kW]");
        };
        let Conv3dOptions { stride: s, padding: p, dilation: dl, groups: g } = *opts;
        if s.0 == 0 || s.1 == 0 || s.2 == 0 {
            fail(x, w, format!("stride {s:?} must be positive"));
        }
        if dl.0 == 0 || dl.1 == 0 || dl.2 == 0 {
            fail(x, w, format!("dilation {dl:?} must be positive"));
        }
        if g == 0 {
            fail(x, w, "groups must be positive");
        }
        if c % g != 0 {
            fail(x, w, format!("input channels {c} are not divisible by groups {g}"));
        }
        if o % g != 0 {
            fail(x, w, format!("output channels {o} are not divisible by groups {g}"));
        }
        if cg.checked_mul(g) != Some(c) {
            fail(
                x,
                w,
                format!("the weight takes {cg} channels per group, the input has {} ({c} / {g})", c / g),
            );
        }
        if kd == 0 || kh == 0 || kw == 0 {
            fail(x, w, "the kernel is empty");
        }
        let lens =
            [out_len(d, kd, p.0, dl.0, s.0), out_len(h, kh, p.1, dl.1, s.1), out_len(wd, kw, p.2, dl.2, s.2)];
        let (input, kernel) = ((d, h, wd), (kd, kh, kw));
        let [Some(a), Some(b), Some(e)] = lens else {
            fail(
                x,
                w,
                format!(
                    "the input {input:?} padded by {p:?} or the kernel {kernel:?} dilated by {dl:?} overflows"
                ),
            );
        };
        let (Ok(od), Ok(oh), Ok(ow)) = (a, b, e) else {
            fail(
                x,
                w,
                format!(
                    "the kernel {kernel:?} dilated by {dl:?} is larger than the input {input:?} padded by {p:?}"
                ),
            );
        };
        let room = |what: String, dims: &[usize]| {
            let Some(len) = alloc::fits::<F>(dims) else {
                fail(x, w, format!("{what} has too many elements to index"))
            };
            if alloc::refused::<F>(len) {
                fail(
                    x,
                    w,
                    format!("{what} needs {} bytes, more than can be allocated", len * size_of::<F>()),
                );
            }
        };
        room(format!("the output {:?}", [n, o, od, oh, ow]), &[n, o, od, oh, ow]);
        room(
            format!("the input padded in depth {:?}", [n, c, d + 2 * p.0, h, wd]),
            &[n, c, d + 2 * p.0, h, wd],
        );
        room(
            format!("the gathered depth taps {:?}", [n, c, od.saturating_mul(kd), h, wd]),
            &[n, c, od, kd, h, wd],
        );
        room(format!("one slice's column matrix, {c}·{kd}·{kh}·{kw} x {oh}·{ow},"), &[c, kd, kh, kw, oh, ow]);
        [n, o, od, oh, ow]
    }

    /// The 3-D convolution (cross-correlation, as PyTorch's `conv3d`) of `self`, `[N, C, D, H, W]`, by
    /// `weight`, `[O, C / groups, kD, kH, kW]`: `[N, O, Do, Ho, Wo]` with, along each axis,
    /// `⌊(D + 2p - d(kD - 1) - 1) / s⌋ + 1`. No bias is added (add one of shape `[O, 1, 1, 1]`).
    ///
    /// It runs as one [`Tensor::conv2d`] over the depth taps gathered into channels (see the module
    /// docs), so its numbers are those of the tape's `Var::conv3d`.
    ///
    /// ```
    /// use wengert::tensor::{Conv3dOptions, Tensor};
    /// let x = Tensor::<f64>::arange(0.0, 8.0, 1.0).reshape(&[1, 1, 2, 2, 2]).unwrap();
    /// let w = Tensor::<f64>::ones(&[1, 1, 2, 1, 1]);
    /// // Each output element adds the two depth slices: x[0] + x[1].
    /// assert_eq!(x.conv3d(&w, &Conv3dOptions::default()).to_vec(), vec![4.0, 6.0, 8.0, 10.0]);
    /// let y = x.conv3d(&Tensor::ones(&[1, 1, 1, 1, 1]), &Conv3dOptions::default().padding((1, 0, 0)));
    /// assert_eq!(y.shape(), &[1, 1, 4, 2, 2]);
    /// ```
    ///
    /// # Panics
    ///
    /// When either is not 5-D, the channels do not match or are not divisible by `groups`, a stride,
    /// dilation or `groups` is 0, the dilated kernel is larger than the padded input, or the sizes are
    /// too large to index or allocate, in 3-D terms:
    /// `conv3d: input [1, 3, 4, 4, 4], weight [4, 2, 3, 3, 3]: input channels 3 are not divisible by groups 2`.
    #[track_caller]
    pub fn conv3d(&self, weight: &Self, opts: &Conv3dOptions) -> Self {
        let [n, o, od, oh, ow] = Self::conv3d_output_shape(self.shape(), weight.shape(), opts);
        let (&[.., h, w], &[_, cg, kd, kh, kw]) = (self.shape(), weight.shape()) else {
            unreachable!("conv3d_output_shape checked both 5-D")
        };
        let (g, pd) = (opts.groups, opts.padding.0);
        let x = if pd == 0 {
            self.clone()
        } else {
            self.pad(&[(0, 0), (0, 0), (pd, pd), (0, 0), (0, 0)], F::zero())
        };
        let taps = x
            .index_select(2, &opts.depth_taps(od, kd))
            .reshape(&[n, g, cg, od, kd, h, w])
            .expect("the gathered taps")
            .permute(&[0, 3, 1, 4, 2, 5, 6])
            .reshape(&[n * od, g * kd * cg, h, w])
            .expect("the taps as channels");
        let w2 = weight.permute(&[0, 2, 1, 3, 4]).reshape(&[o, kd * cg, kh, kw]).expect("the weight's taps");
        let y = taps.conv2d(&w2, &opts.to_2d());
        y.reshape(&[n, od, o, oh, ow]).expect("the output slices").permute(&[0, 2, 1, 3, 4]).to_contiguous()
    }
}

#[cfg(test)]
mod tests {
    use crate::{Conv2dOptions, Conv3dOptions, Tensor};

    /// `sin(0.37 i + phase)` of `shape`.
    fn sines(shape: &[usize], phase: f64) -> Tensor<f64> {
        let n = shape.iter().product();
        Tensor::from_vec((0..n).map(|i| (i as f64 * 0.37 + phase).sin()).collect(), shape).unwrap()
    }

    /// The definition, one output element at a time, reading zeros outside the volume.
    fn naive(x: &Tensor<f64>, w: &Tensor<f64>, o: &Conv3dOptions) -> Tensor<f64> {
        let shape = Tensor::<f64>::conv3d_output_shape(x.shape(), w.shape(), o);
        let (xs, ws) = (x.shape().to_vec(), w.shape().to_vec());
        let (xv, wv) = (x.to_vec(), w.to_vec());
        let (cg, og) = (ws[1], shape[1] / o.groups);
        let s = [o.stride.0, o.stride.1, o.stride.2];
        let p = [o.padding.0, o.padding.1, o.padding.2];
        let d = [o.dilation.0, o.dilation.1, o.dilation.2];
        let mut y = Vec::new();
        for n in 0..shape[0] {
            for oc in 0..shape[1] {
                for t in 0..shape[2] {
                    for i in 0..shape[3] {
                        for j in 0..shape[4] {
                            let mut acc = 0.0;
                            for c in 0..cg {
                                let ci = oc / og * cg + c;
                                for a in 0..ws[2] {
                                    for b in 0..ws[3] {
                                        for e in 0..ws[4] {
                                            let pos = [
                                                t * s[0] + a * d[0],
                                                i * s[1] + b * d[1],
                                                j * s[2] + e * d[2],
                                            ];
                                            let at: Vec<isize> =
                                                (0..3).map(|k| pos[k] as isize - p[k] as isize).collect();
                                            if (0..3).any(|k| at[k] < 0 || at[k] >= xs[k + 2] as isize) {
                                                continue;
                                            }
                                            let xi = (((n * xs[1] + ci) * xs[2] + at[0] as usize) * xs[3]
                                                + at[1] as usize)
                                                * xs[4]
                                                + at[2] as usize;
                                            let wi = (((oc * cg + c) * ws[2] + a) * ws[3] + b) * ws[4] + e;
                                            acc += xv[xi] * wv[wi];
                                        }
                                    }
                                }
                            }
                            y.push(acc);
                        }
                    }
                }
            }
        }
        Tensor::from_vec(y, &shape).unwrap()
    }

    #[test]
    fn conv3d_matches_the_definition_with_each_option() {
        let d = Conv3dOptions::default();
        let cases = [
            ([2, 2, 3, 4, 3], [3, 2, 2, 2, 2], d),
            ([1, 2, 5, 4, 4], [2, 2, 3, 2, 3], d.stride((2, 1, 2)).padding((1, 1, 0))),
            ([1, 2, 5, 5, 4], [2, 2, 2, 2, 2], d.dilation((2, 1, 2)).padding((0, 1, 1))),
            ([2, 4, 3, 3, 3], [4, 2, 2, 1, 2], d.groups(2).stride((1, 2, 1))),
        ];
        for (xs, ws, o) in cases {
            let (x, w) = (sines(&xs, 0.2), sines(&ws, 1.1));
            let (y, want) = (x.conv3d(&w, &o), naive(&x, &w, &o));
            assert_eq!(y.shape(), want.shape(), "{o:?}");
            for (a, b) in y.to_vec().iter().zip(want.to_vec()) {
                assert!((a - b).abs() < 1e-12, "{o:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn conv3d_of_one_slice_by_a_flat_kernel_is_conv2d() {
        let (x, w) = (sines(&[2, 4, 1, 5, 4], 0.3), sines(&[6, 2, 1, 3, 2], 0.9));
        let o3 = Conv3dOptions::default().stride((3, 2, 1)).padding((0, 1, 2)).dilation((4, 1, 2)).groups(2);
        let o2 = Conv2dOptions::default().stride((2, 1)).padding((1, 2)).dilation((1, 2)).groups(2);
        let y3 = x.conv3d(&w, &o3);
        let y2 = x.reshape(&[2, 4, 5, 4]).unwrap().conv2d(&w.reshape(&[6, 2, 3, 2]).unwrap(), &o2);
        assert_eq!(y3.shape(), &[2, 6, 1, y2.shape()[2], y2.shape()[3]]);
        assert_eq!(y3.to_vec(), y2.to_vec());
    }

    #[test]
    fn conv3d_gives_hand_computed_values() {
        // x[d] = d-th 2 x 2 slice of 0..12; w = [1, -1] in depth, 1 x 1 in the plane; padding 1 in depth
        // puts zeros before and after: y[t] = x[t - 1] - x[t] for t = 0..4.
        let x = Tensor::<f64>::arange(0.0, 12.0, 1.0).reshape(&[1, 1, 3, 2, 2]).unwrap();
        let w = Tensor::<f64>::from_vec(vec![1.0, -1.0], &[1, 1, 2, 1, 1]).unwrap();
        let y = x.conv3d(&w, &Conv3dOptions::default().padding((1, 0, 0)));
        let want = [
            [0.0, -1.0, -2.0, -3.0],
            [-4.0, -4.0, -4.0, -4.0],
            [-4.0, -4.0, -4.0, -4.0],
            [8.0, 9.0, 10.0, 11.0],
        ];
        assert_eq!(y.to_vec(), want.concat());
    }

    #[test]
    #[should_panic(
        expected = "conv3d: input [1, 3, 4, 4, 4], weight [4, 2, 3, 3, 3]: input channels 3 are not divisible by groups 2"
    )]
    fn conv3d_names_channels_not_divisible_by_groups() {
        Tensor::<f64>::ones(&[1, 3, 4, 4, 4])
            .conv3d(&Tensor::ones(&[4, 2, 3, 3, 3]), &Conv3dOptions::default().groups(2));
    }

    #[test]
    #[should_panic(
        expected = "conv3d: input [1, 1, 2, 4, 4], weight [1, 1, 3, 3, 3]: the kernel (3, 3, 3) dilated by (1, 1, 1) is larger than the input (2, 4, 4) padded by (0, 0, 0)"
    )]
    fn conv3d_names_a_kernel_deeper_than_the_input() {
        Tensor::<f64>::ones(&[1, 1, 2, 4, 4])
            .conv3d(&Tensor::ones(&[1, 1, 3, 3, 3]), &Conv3dOptions::default());
    }

    #[test]
    #[should_panic(expected = "conv3d: input [1, 1, 4, 4], weight [1, 1, 3, 3]: both must be 5-D")]
    fn conv3d_rejects_4d_shapes() {
        Tensor::<f64>::ones(&[1, 1, 4, 4]).conv3d(&Tensor::ones(&[1, 1, 3, 3]), &Conv3dOptions::default());
    }

    #[test]
    #[should_panic(
        expected = "conv3d: input [1, 1, 4, 4, 4], weight [1, 1, 1, 1, 1]: stride (1, 0, 1) must be positive"
    )]
    fn conv3d_names_a_zero_stride() {
        let o = Conv3dOptions::default().stride((1, 0, 1));
        Tensor::<f64>::ones(&[1, 1, 4, 4, 4]).conv3d(&Tensor::ones(&[1, 1, 1, 1, 1]), &o);
    }

    #[test]
    #[should_panic(
        expected = "conv3d: input [1, 1, 4, 4, 4], weight [1, 1, 1, 1, 1]: the output [1, 1, 4398046511108, 4398046511108, 4] has too many elements to index"
    )]
    fn conv3d_names_an_output_too_large_to_index() {
        let o = Conv3dOptions::default().padding((1 << 41, 1 << 41, 0));
        Tensor::<f64>::ones(&[1, 1, 4, 4, 4]).conv3d(&Tensor::ones(&[1, 1, 1, 1, 1]), &o);
    }
}
