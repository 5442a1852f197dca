//! The checks of a convolution's arguments and its sizes, in checked arithmetic: a bad shape, option or
//! size panics with a message naming the op and the shapes as the caller gave them (3-D for `conv1d`),
//! before any index is computed or buffer allocated.

use std::fmt::Display;

use super::lowering::Geom;
use super::{Conv2dOptions, ConvTranspose2dOptions};
use crate::alloc;
use crate::float::Float;
use crate::shape_ops::invalid;

/// How a convolution's checks speak: the op, its shapes as the caller gave them, and whether sizes are
/// `(rows, columns)` pairs or, for `conv1d`, the columns alone.
pub(crate) struct Context {
    op: &'static str,
    shapes: String,
    one_d: bool,
}

impl Context {
    /// The context of `op` on an input of shape `x` and a weight of shape `w`.
    pub(crate) fn new(op: &'static str, x: &[usize], w: &[usize]) -> Self {
        Context { op, shapes: format!("input {x:?}, weight {w:?}"), one_d: false }
    }

    /// The context of a 1-D `op` (`conv1d`, `conv_transpose1d`) on 3-D shapes, lowered to a 2-D
    /// convolution of one row.
    pub(crate) fn one_d(op: &'static str, x: &[usize], w: &[usize]) -> Self {
        Context { one_d: true, ..Context::new(op, x, w) }
    }

    /// A pair of sizes as the caller gave it: `(a, b)`, or `b` for `conv1d`.
    fn pair(&self, (a, b): (usize, usize)) -> String {
        if self.one_d { b.to_string() } else { format!("({a}, {b})") }
    }

    /// A 4-D shape as the caller sees it: itself, or without its row axis (of size 1) for `conv1d`.
    fn shape(&self, [n, c, h, w]: [usize; 4]) -> String {
        if self.one_d { format!("{:?}", [n, c, w]) } else { format!("{:?}", [n, c, h, w]) }
    }

    /// Panics with `reason` after the op and the shapes.
    #[track_caller]
    fn fail(&self, reason: impl Display) -> ! {
        invalid(self.op, format!("{}: {reason}", self.shapes))
    }

    /// `[a, b, c, d]` of a 4-D shape, or a panic naming `what`.
    #[track_caller]
    fn dims4(&self, what: &str, s: &[usize]) -> [usize; 4] {
        match *s {
            [a, b, c, d] => [a, b, c, d],
            _ => self.fail(format!("the {what} must be 4-D, not {}-D", s.len())),
        }
    }

    /// Panics unless a buffer of `dims` elements of `F` can be indexed and (when large) allocated;
    /// `what` names it.
    #[track_caller]
    fn room<F: Float>(&self, what: impl Display, dims: &[usize]) {
        let Some(n) = alloc::fits::<F>(dims) else {
            self.fail(format!("{what} has too many elements to index"))
        };
        if alloc::refused::<F>(n) {
            self.fail(format!("{what} needs {} bytes, more than can be allocated", n * size_of::<F>()));
        }
    }
}

/// `(padded input, dilated kernel)` lengths along one axis, `None` when either overflows.
fn extents(len: usize, k: usize, p: usize, d: usize) -> Option<(usize, usize)> {
    Some((len.checked_add(p.checked_mul(2)?)?, d.checked_mul(k - 1)?.checked_add(1)?))
}

/// Checks a convolution of an input of shape `x` by a weight of shape `w` (both 4-D for the caller's
/// 2-D view) and returns its sizes, after checking that its output and its per-sample buffers can be
/// held.
#[track_caller]
pub(crate) fn conv_geom<F: Float>(cx: &Context, x: &[usize], w: &[usize], o: &Conv2dOptions) -> Geom {
    let [n, c, h, wd] = cx.dims4("input", x);
    let [oc, cg, kh, kw] = cx.dims4("weight", w);
    check_options(cx, o.stride, o.dilation, o.groups);
    let g = o.groups;
    if c % g != 0 {
        cx.fail(format!("input channels {c} are not divisible by groups {g}"));
    }
    if oc % g != 0 {
        cx.fail(format!("output channels {oc} are not divisible by groups {g}"));
    }
    if cg.checked_mul(g) != Some(c) {
        cx.fail(format!("the weight takes {cg} channels per group, the input has {} ({c} / {g})", c / g));
    }
    if kh == 0 || kw == 0 {
        cx.fail("the kernel is empty");
    }
    let (input, kernel) = (cx.pair((h, wd)), cx.pair((kh, kw)));
    let (padding, dilation) = (cx.pair(o.padding), cx.pair(o.dilation));
    let (Some((hp, sh)), Some((wp, sw))) =
        (extents(h, kh, o.padding.0, o.dilation.0), extents(wd, kw, o.padding.1, o.dilation.1))
    else {
        cx.fail(format!(
            "the input {input} padded by {padding} or the kernel {kernel} dilated by {dilation} overflows"
        ));
    };
    if hp < sh || wp < sw {
        cx.fail(format!(
            "the kernel {kernel} dilated by {dilation} is larger than the input {input} padded by {padding}"
        ));
    }
    let (ho, wo) = ((hp - sh) / o.stride.0 + 1, (wp - sw) / o.stride.1 + 1);
    cx.room::<F>(format_args!("the output {}", cx.shape([n, oc, ho, wo])), &[n, oc, ho, wo]);
    // The column matrix of one sample, and the sample with its padding (see `lowering`).
    cx.room::<F>(
        format_args!("one sample's column matrix, {c}·{kh}·{kw} x {ho}·{wo},"),
        &[c, kh, kw, ho, wo],
    );
    if o.padding != (0, 0) {
        cx.room::<F>(format_args!("one padded sample, {c} x {hp} x {wp},"), &[c, hp, wp]);
    }
    Geom {
        n,
        c,
        h,
        w: wd,
        o: oc,
        kh,
        kw,
        ho,
        wo,
        stride: o.stride,
        padding: o.padding,
        dilation: o.dilation,
        groups: g,
    }
}

/// Panics unless strides, dilations and groups are positive.
#[track_caller]
fn check_options(cx: &Context, stride: (usize, usize), dilation: (usize, usize), groups: usize) {
    if stride.0 == 0 || stride.1 == 0 {
        cx.fail(format!("stride {} must be positive", cx.pair(stride)));
    }
    if dilation.0 == 0 || dilation.1 == 0 {
        cx.fail(format!("dilation {} must be positive", cx.pair(dilation)));
    }
    if groups == 0 {
        cx.fail("groups must be positive");
    }
}

/// The output length of a transposed convolution along one axis,
/// `(len - 1)·s + d·(k - 1) + extra + 1 - 2p`: `Err(true)` when it overflows, `Err(false)` when the
/// padding leaves nothing.
fn transposed_len(len: usize, k: usize, s: usize, p: usize, d: usize, extra: usize) -> Result<usize, bool> {
    let Some(l) = len.checked_sub(1) else { return Err(false) };
    let full = || l.checked_mul(s)?.checked_add(d.checked_mul(k - 1)?)?.checked_add(extra)?.checked_add(1);
    let (full, pads) = (full().ok_or(true)?, p.checked_mul(2).ok_or(false)?);
    full.checked_sub(pads).filter(|&v| v > 0).ok_or(false)
}

/// Checks a transposed convolution (`conv_transpose2d`, or `conv_transpose1d` on one row, as `cx`
/// speaks) of an input of shape `x` by a weight of shape `w` (both 4-D) and returns the sizes of the
/// convolution it transposes (whose input is the transposed convolution's output).
#[track_caller]
pub(crate) fn transpose_geom<F: Float>(
    cx: &Context,
    x: &[usize],
    w: &[usize],
    o: &ConvTranspose2dOptions,
) -> Geom {
    let [n, c, h, wd] = cx.dims4("input", x);
    let [wc, og, kh, kw] = cx.dims4("weight", w);
    check_options(cx, o.stride, o.dilation, o.groups);
    let g = o.groups;
    if c % g != 0 {
        cx.fail(format!("input channels {c} are not divisible by groups {g}"));
    }
    if wc != c {
        cx.fail(format!("the weight is for {wc} input channels, the input has {c}"));
    }
    if kh == 0 || kw == 0 {
        cx.fail("the kernel is empty");
    }
    let (op0, op1) = o.output_padding;
    if op0 >= o.stride.0 || op1 >= o.stride.1 {
        let (op, s) = (cx.pair(o.output_padding), cx.pair(o.stride));
        cx.fail(format!("output padding {op} must be below the stride {s}"));
    }
    let sizes = (
        transposed_len(h, kh, o.stride.0, o.padding.0, o.dilation.0, op0),
        transposed_len(wd, kw, o.stride.1, o.padding.1, o.dilation.1, op1),
    );
    let (ho, wo) = match sizes {
        (Ok(ho), Ok(wo)) => (ho, wo),
        (Err(true), _) | (_, Err(true)) => cx.fail(format!(
            "the output size for stride {} and dilation {} of the kernel {} overflows",
            cx.pair(o.stride),
            cx.pair(o.dilation),
            cx.pair((kh, kw))
        )),
        _ => cx.fail(format!("padding {} leaves no output", cx.pair(o.padding))),
    };
    let Some(oc) = og.checked_mul(g) else { cx.fail(format!("output channels {og}·{g} overflow")) };
    cx.room::<F>(format_args!("the output {}", cx.shape([n, oc, ho, wo])), &[n, oc, ho, wo]);
    let geom = conv_geom::<F>(cx, &[n, oc, ho, wo], &[c, og, kh, kw], &o.conv());
    debug_assert_eq!((geom.ho, geom.wo), (h, wd), "the transposed convolution maps back to the input");
    geom
}

#[cfg(test)]
mod tests {
    use crate::{Conv1dOptions, Conv2dOptions, ConvTranspose2dOptions, Tensor};

    fn ones(shape: &[usize]) -> Tensor<f64> {
        Tensor::ones(shape)
    }

    fn conv2d(x: &[usize], w: &[usize], o: Conv2dOptions) -> Tensor<f64> {
        ones(x).conv2d(&ones(w), &o)
    }

    fn conv1d(x: &[usize], w: &[usize], o: Conv1dOptions) -> Tensor<f64> {
        ones(x).conv1d(&ones(w), &o)
    }

    #[test]
    #[should_panic(
        expected = "conv1d: input [1, 1, 2], weight [1, 1, 3]: the kernel 3 dilated by 1 is larger than the input 2 padded by 0"
    )]
    fn conv1d_speaks_of_its_3d_shapes_when_the_kernel_is_too_large() {
        conv1d(&[1, 1, 2], &[1, 1, 3], Conv1dOptions::default());
    }

    #[test]
    #[should_panic(expected = "conv1d: input [1, 1, 4], weight [1, 1, 2]: stride 0 must be positive")]
    fn conv1d_speaks_of_its_own_stride() {
        conv1d(&[1, 1, 4], &[1, 1, 2], Conv1dOptions { stride: 0, ..Conv1dOptions::default() });
    }

    #[test]
    #[should_panic(
        expected = "conv1d: input [1, 2, 4], weight [1, 3, 2]: the weight takes 3 channels per group, the input has 2"
    )]
    fn conv1d_speaks_of_its_own_channels() {
        conv1d(&[1, 2, 4], &[1, 3, 2], Conv1dOptions::default());
    }

    #[test]
    #[should_panic(
        expected = "conv1d: input [1, 1, 4], weight [1, 1, 3]: the output [1, 1, 9223372036854775810] has too many elements to index"
    )]
    fn conv1d_names_an_output_too_large_in_3d() {
        conv1d(&[1, 1, 4], &[1, 1, 3], Conv1dOptions { padding: 1 << 62, ..Conv1dOptions::default() });
    }

    #[test]
    #[should_panic(
        expected = "conv2d: input [1, 1, 4, 4], weight [1, 1, 3, 3]: the output [1, 1, 2199023255554, 2199023255554] has too many elements to index"
    )]
    fn conv2d_names_an_output_too_large_to_index() {
        conv2d(&[1, 1, 4, 4], &[1, 1, 3, 3], Conv2dOptions::default().padding((1 << 40, 1 << 40)));
    }

    #[test]
    #[should_panic(
        expected = "conv2d: input [1, 1, 4, 4], weight [1, 1, 3, 3]: the output [1, 1, 8388610, 8388610] needs 562950221856800 bytes, more than can be allocated"
    )]
    fn conv2d_names_an_output_the_allocator_refuses() {
        conv2d(&[1, 1, 4, 4], &[1, 1, 3, 3], Conv2dOptions::default().padding((1 << 22, 1 << 22)));
    }

    #[test]
    #[should_panic(
        expected = "conv2d: input [1, 1, 4, 4], weight [1, 1, 3, 3]: the input (4, 4) padded by (9223372036854775807, 0) or the kernel (3, 3) dilated by (1, 1) overflows"
    )]
    fn conv2d_names_a_padding_that_overflows() {
        conv2d(&[1, 1, 4, 4], &[1, 1, 3, 3], Conv2dOptions::default().padding((usize::MAX / 2, 0)));
    }

    #[test]
    #[should_panic(
        expected = "conv2d: input [1, 1, 4, 4], weight [1, 1, 3, 3]: the input (4, 4) padded by (0, 0) or the kernel (3, 3) dilated by (1, 18446744073709551615) overflows"
    )]
    fn conv2d_names_a_dilation_that_overflows() {
        conv2d(&[1, 1, 4, 4], &[1, 1, 3, 3], Conv2dOptions::default().dilation((1, usize::MAX)));
    }

    #[test]
    #[should_panic(
        expected = "conv2d: input [1, 1, 1000, 1000], weight [1, 1, 1000, 1000]: one sample's column matrix, 1·1000·1000 x 10001·10001, needs 800160008000000 bytes"
    )]
    fn conv2d_names_a_column_matrix_the_allocator_refuses() {
        // The output, 10001² f64, takes 800 MB; the column matrix a million times that, 800 TB.
        let o = Conv2dOptions::default().padding((5000, 5000));
        conv2d(&[1, 1, 1000, 1000], &[1, 1, 1000, 1000], o);
    }

    #[test]
    fn a_stride_past_the_input_gives_one_output_per_axis() {
        let x = Tensor::<f64>::arange(0.0, 16.0, 1.0).reshape(&[1, 1, 4, 4]).unwrap();
        for (stride, padding) in [((usize::MAX, usize::MAX), (0, 0)), ((usize::MAX, 1 << 40), (1, 1))] {
            let o = Conv2dOptions::default().stride(stride).padding(padding);
            let y = x.conv2d(&ones(&[1, 1, 3, 3]), &o);
            let want = x.conv2d(&ones(&[1, 1, 3, 3]), &o.stride((4, 4)));
            assert_eq!((y.shape(), y.to_vec()), (&[1, 1, 1, 1][..], want.to_vec()));
            let (dx, dw) = x.conv2d_adjoints(&ones(&[1, 1, 3, 3]), &ones(&[1, 1, 1, 1]), &o);
            let (dx4, dw4) = x.conv2d_adjoints(&ones(&[1, 1, 3, 3]), &ones(&[1, 1, 1, 1]), &o.stride((4, 4)));
            assert_eq!((dx, dw), (dx4, dw4));
        }
        let y =
            conv1d(&[1, 1, 5], &[1, 1, 2], Conv1dOptions { stride: usize::MAX, ..Conv1dOptions::default() });
        assert_eq!(y.to_vec(), vec![2.0]);
    }

    #[test]
    #[should_panic(
        expected = "conv_transpose2d: input [1, 1, 3, 3], weight [1, 1, 3, 3]: the output size for stride (18446744073709551615, 1) and dilation (1, 1) of the kernel (3, 3) overflows"
    )]
    fn conv_transpose2d_names_a_stride_that_overflows() {
        let o = ConvTranspose2dOptions { stride: (usize::MAX, 1), ..Default::default() };
        ones(&[1, 1, 3, 3]).conv_transpose2d(&ones(&[1, 1, 3, 3]), &o);
    }

    #[test]
    #[should_panic(
        expected = "conv_transpose2d: input [1, 1, 3, 3], weight [1, 1, 3, 3]: the output [1, 1, 2199023255555, 2199023255555] has too many elements to index"
    )]
    fn conv_transpose2d_names_an_output_too_large_to_index() {
        let o = ConvTranspose2dOptions { stride: (1 << 40, 1 << 40), ..Default::default() };
        ones(&[1, 1, 3, 3]).conv_transpose2d(&ones(&[1, 1, 3, 3]), &o);
    }

    #[test]
    #[should_panic(
        expected = "conv_transpose2d: input [1, 1, 3, 3], weight [1, 1, 3, 3]: padding (9223372036854775808, 0) leaves no output"
    )]
    fn conv_transpose2d_names_a_padding_past_its_output() {
        let o = ConvTranspose2dOptions { padding: (1 << 63, 0), ..Default::default() };
        ones(&[1, 1, 3, 3]).conv_transpose2d(&ones(&[1, 1, 3, 3]), &o);
    }
}
