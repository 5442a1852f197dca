//! Inverse and hyperbolic trigonometry, tangent, base-2 and base-10 logarithms, `2^x` and `1/√x`,
//! elementwise, with the standard library's (correctly rounded or nearly) functions.

use crate::float::Float;
use crate::kernel::map;
use crate::tensor::Tensor;

impl<F: Float> Tensor<F> {
    /// Arctangent, in `(-π/2, π/2)`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![0.0, 1.0], &[2]).unwrap().atan();
    /// assert_eq!(y.to_vec(), vec![0.0, std::f64::consts::FRAC_PI_4]);
    /// ```
    pub fn atan(&self) -> Self {
        map(self, |x| x.atan())
    }

    /// Arcsine, in `[-π/2, π/2]`; NaN outside `[-1, 1]`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![0.0, 1.0], &[2]).unwrap().asin();
    /// assert_eq!(y.to_vec(), vec![0.0, std::f64::consts::FRAC_PI_2]);
    /// ```
    pub fn asin(&self) -> Self {
        map(self, |x| x.asin())
    }

    /// Arccosine, in `[0, π]`; NaN outside `[-1, 1]`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![1.0, -1.0], &[2]).unwrap().acos();
    /// assert_eq!(y.to_vec(), vec![0.0, std::f64::consts::PI]);
    /// ```
    pub fn acos(&self) -> Self {
        map(self, |x| x.acos())
    }

    /// Hyperbolic sine.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// assert_eq!(Tensor::<f64>::from_vec(vec![0.0], &[1]).unwrap().sinh().to_vec(), vec![0.0]);
    /// ```
    pub fn sinh(&self) -> Self {
        map(self, |x| x.sinh())
    }

    /// Hyperbolic cosine.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// assert_eq!(Tensor::<f64>::from_vec(vec![0.0], &[1]).unwrap().cosh().to_vec(), vec![1.0]);
    /// ```
    pub fn cosh(&self) -> Self {
        map(self, |x| x.cosh())
    }

    /// Tangent.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// assert_eq!(Tensor::<f64>::from_vec(vec![0.0], &[1]).unwrap().tan().to_vec(), vec![0.0]);
    /// ```
    pub fn tan(&self) -> Self {
        map(self, |x| x.tan())
    }

    /// Inverse hyperbolic tangent; ±inf at ±1, NaN outside `[-1, 1]`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![0.0, 1.0], &[2]).unwrap().atanh();
    /// assert_eq!(y.to_vec(), vec![0.0, f64::INFINITY]);
    /// ```
    pub fn atanh(&self) -> Self {
        map(self, |x| x.atanh())
    }

    /// Inverse hyperbolic sine.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// assert_eq!(Tensor::<f64>::from_vec(vec![0.0], &[1]).unwrap().asinh().to_vec(), vec![0.0]);
    /// ```
    pub fn asinh(&self) -> Self {
        map(self, |x| x.asinh())
    }

    /// Inverse hyperbolic cosine; NaN below 1.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// assert_eq!(Tensor::<f64>::from_vec(vec![1.0], &[1]).unwrap().acosh().to_vec(), vec![0.0]);
    /// ```
    pub fn acosh(&self) -> Self {
        map(self, |x| x.acosh())
    }

    /// Base-2 logarithm.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![1.0, 8.0], &[2]).unwrap().log2();
    /// assert_eq!(y.to_vec(), vec![0.0, 3.0]);
    /// ```
    pub fn log2(&self) -> Self {
        map(self, |x| x.log2())
    }

    /// Base-10 logarithm.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![1.0, 1000.0], &[2]).unwrap().log10();
    /// assert_eq!(y.to_vec(), vec![0.0, 3.0]);
    /// ```
    pub fn log10(&self) -> Self {
        map(self, |x| x.log10())
    }

    /// `2^x`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![-1.0, 3.0], &[2]).unwrap().exp2();
    /// assert_eq!(y.to_vec(), vec![0.5, 8.0]);
    /// ```
    pub fn exp2(&self) -> Self {
        map(self, |x| x.exp2())
    }

    /// `1 / √x`; +inf at 0, NaN below.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![4.0, 0.0], &[2]).unwrap().rsqrt();
    /// assert_eq!(y.to_vec(), vec![0.5, f64::INFINITY]);
    /// ```
    pub fn rsqrt(&self) -> Self {
        map(self, |x| x.sqrt().recip())
    }
}

#[cfg(test)]
mod tests {
    use crate::tensor::Tensor;

    #[test]
    fn inverse_functions_undo_their_functions() {
        let x = Tensor::<f64>::from_vec(vec![-0.7, -0.2, 0.3, 0.9], &[4]).unwrap();
        for (name, y) in [
            ("atan", x.tan().atan()),
            ("asin", x.sin().asin()),
            ("asinh", x.sinh().asinh()),
            ("atanh", x.tanh().atanh()),
            ("log2", x.exp2().log2()),
            ("rsqrt", x.square().rsqrt().recip()),
        ] {
            let want = if name == "rsqrt" { x.abs() } else { x.clone() };
            for (a, b) in y.to_vec().iter().zip(want.to_vec()) {
                assert!((a - b).abs() < 1e-14, "{name}: {a} vs {b}");
            }
        }
        let c = Tensor::<f64>::from_vec(vec![0.1, 2.0], &[2]).unwrap();
        for (a, b) in c.cos().acos().to_vec().iter().zip(c.to_vec()) {
            assert!((a - b).abs() < 1e-14);
        }
        for (a, b) in c.cosh().acosh().to_vec().iter().zip(c.to_vec()) {
            assert!((a - b).abs() < 1e-14);
        }
        assert_eq!(c.exp().ln().to_vec().len(), 2);
        let p = Tensor::<f64>::from_vec(vec![1e-3, 1e5], &[2]).unwrap();
        assert_eq!(p.log10().to_vec(), vec![-3.0, 5.0]);
    }

    #[test]
    fn domains_edges_give_ieee_values() {
        let x = Tensor::<f32>::from_vec(vec![-1.0, 1.0, 2.0], &[3]).unwrap();
        assert_eq!(x.atanh().to_vec()[..2], [f32::NEG_INFINITY, f32::INFINITY]);
        assert!(x.asin().to_vec()[2].is_nan() && x.acos().to_vec()[2].is_nan());
        assert!(x.acosh().to_vec()[0].is_nan());
        assert!(x.rsqrt().to_vec()[0].is_nan());
    }
}
