//! Arithmetic: the broadcasting `add`/`sub`/`mul`/`div` methods and their checked `try_*`
//! forms, scalar arithmetic, and the `std::ops` operators built on them (see [`DTensor`]).

use super::{DTensor, Inner};
use crate::shape::{ShapeError, broadcast_shapes};

impl DTensor {
    /// `self + other`, broadcasting; shapes that do not broadcast are an error naming both
    /// (as torch raises): the checked form of [`DTensor::add`], for shapes from user input.
    pub fn try_add(&self, other: &Self) -> Result<Self, ShapeError> {
        self.try_binary(other, |a, b| a + b)
    }
    /// `self - other`, broadcasting, or an error naming both shapes.
    pub fn try_sub(&self, other: &Self) -> Result<Self, ShapeError> {
        self.try_binary(other, |a, b| a - b)
    }
    /// `self * other`, broadcasting, or an error naming both shapes.
    pub fn try_mul(&self, other: &Self) -> Result<Self, ShapeError> {
        self.try_binary(other, |a, b| a * b)
    }
    /// `self / other`, broadcasting, or an error naming both shapes.
    pub fn try_div(&self, other: &Self) -> Result<Self, ShapeError> {
        self.try_binary(other, |a, b| a / b)
    }

    /// `self + other`, broadcasting, for shapes known to broadcast (a distribution's own
    /// parameters). Panics if they do not; [`DTensor::try_add`] returns the error instead.
    pub fn add(&self, other: &Self) -> Self {
        self.binary(other, |a, b| a + b)
    }
    /// `self - other`, broadcasting, for shapes known to broadcast (a distribution's own
    /// parameters). Panics if they do not; [`DTensor::try_sub`] returns the error instead.
    pub fn sub(&self, other: &Self) -> Self {
        self.binary(other, |a, b| a - b)
    }
    /// `self * other`, broadcasting, for shapes known to broadcast (a distribution's own
    /// parameters). Panics if they do not; [`DTensor::try_mul`] returns the error instead.
    pub fn mul(&self, other: &Self) -> Self {
        self.binary(other, |a, b| a * b)
    }
    /// `self / other`, broadcasting, for shapes known to broadcast (a distribution's own
    /// parameters). Panics if they do not; [`DTensor::try_div`] returns the error instead.
    pub fn div(&self, other: &Self) -> Self {
        self.binary(other, |a, b| a / b)
    }
    /// Elementwise maximum, broadcasting.
    pub fn max_pair(&self, other: &Self) -> Self {
        let (a, b) =
            Self::broadcast_pair(self, other).unwrap_or_else(|e| panic!("DTensor max: {e}"));
        let shape = a.shape.clone();
        Self::wrap(a.inner.max_pair(b.inner), shape)
    }
    /// `self + c`.
    pub fn add_scalar(&self, c: f64) -> Self {
        self.unary(|a| a.add_scalar(c))
    }
    /// `self * c`.
    pub fn mul_scalar(&self, c: f64) -> Self {
        self.unary(|a| a.mul_scalar(c))
    }
    /// `c - self`.
    pub fn rsub_scalar(&self, c: f64) -> Self {
        self.unary(|a| a.neg().add_scalar(c))
    }
    /// `-self`.
    pub fn neg(&self) -> Self {
        self.unary(|a| a.neg())
    }
}

/// The broadcast shape of an operator's operands; panics as [`DTensor::add`] does.
fn op_shape(a: &DTensor, b: &DTensor) -> Vec<usize> {
    broadcast_shapes(&a.shape, &b.shape).unwrap_or_else(|e| panic!("DTensor arithmetic: {e}"))
}

/// `DTensor op DTensor` for the four combinations of owned and borrowed operands: one burn op
/// on the padded tensors, an owned operand's handle moved into it.
macro_rules! tensor_op {
    ($Trait:ident, $method:ident, $op:tt) => {
        impl std::ops::$Trait<&DTensor> for &DTensor {
            type Output = DTensor;
            fn $method(self, rhs: &DTensor) -> DTensor {
                let shape = op_shape(self, rhs);
                DTensor::wrap(self.inner.clone() $op rhs.inner.clone(), shape)
            }
        }
        impl std::ops::$Trait<DTensor> for &DTensor {
            type Output = DTensor;
            fn $method(self, rhs: DTensor) -> DTensor {
                let shape = op_shape(self, &rhs);
                DTensor::wrap(self.inner.clone() $op rhs.inner, shape)
            }
        }
        impl std::ops::$Trait<&DTensor> for DTensor {
            type Output = DTensor;
            fn $method(self, rhs: &DTensor) -> DTensor {
                let shape = op_shape(&self, rhs);
                DTensor::wrap(self.inner $op rhs.inner.clone(), shape)
            }
        }
        impl std::ops::$Trait<DTensor> for DTensor {
            type Output = DTensor;
            fn $method(self, rhs: DTensor) -> DTensor {
                let shape = op_shape(&self, &rhs);
                DTensor::wrap(self.inner $op rhs.inner, shape)
            }
        }
    };
}

tensor_op!(Add, add, +);
tensor_op!(Sub, sub, -);
tensor_op!(Mul, mul, *);
tensor_op!(Div, div, /);

/// `DTensor op f64` (owned or borrowed): burn's scalar op, elementwise.
macro_rules! scalar_rhs_op {
    ($Trait:ident, $method:ident, $scalar:ident) => {
        impl std::ops::$Trait<f64> for &DTensor {
            type Output = DTensor;
            fn $method(self, c: f64) -> DTensor {
                self.unary(|a| a.$scalar(c))
            }
        }
        impl std::ops::$Trait<f64> for DTensor {
            type Output = DTensor;
            fn $method(self, c: f64) -> DTensor {
                DTensor::wrap(self.inner.$scalar(c), self.shape)
            }
        }
    };
}

scalar_rhs_op!(Add, add, add_scalar);
scalar_rhs_op!(Sub, sub, sub_scalar);
scalar_rhs_op!(Mul, mul, mul_scalar);
scalar_rhs_op!(Div, div, div_scalar);

/// `f64 op DTensor` (owned or borrowed), elementwise: `c + x`, `c - x` (as
/// [`DTensor::rsub_scalar`]), `c * x` and `c / x`.
macro_rules! scalar_lhs_op {
    ($Trait:ident, $method:ident, $f:expr) => {
        impl std::ops::$Trait<&DTensor> for f64 {
            type Output = DTensor;
            fn $method(self, x: &DTensor) -> DTensor {
                x.unary(|a| $f(self, a))
            }
        }
        impl std::ops::$Trait<DTensor> for f64 {
            type Output = DTensor;
            fn $method(self, x: DTensor) -> DTensor {
                DTensor::wrap($f(self, x.inner), x.shape)
            }
        }
    };
}

scalar_lhs_op!(Add, add, |c: f64, a: Inner| a.add_scalar(c));
scalar_lhs_op!(Sub, sub, |c: f64, a: Inner| a.neg().add_scalar(c));
scalar_lhs_op!(Mul, mul, |c: f64, a: Inner| a.mul_scalar(c));
scalar_lhs_op!(Div, div, |c: f64, a: Inner| a.full_like(c) / a);

impl std::ops::Neg for &DTensor {
    type Output = DTensor;
    fn neg(self) -> DTensor {
        self.unary(|a| a.neg())
    }
}

impl std::ops::Neg for DTensor {
    type Output = DTensor;
    fn neg(self) -> DTensor {
        DTensor::wrap(self.inner.neg(), self.shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::prelude::Device;

    fn t(v: &[f32], shape: &[usize]) -> DTensor {
        DTensor::from_floats(v.to_vec(), shape, &Device::flex()).unwrap()
    }

    #[test]
    fn operators_match_the_methods() {
        let a = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
        let b = t(&[0.5, -2., 4.], &[3]);
        for (op, m) in [
            (&a + &b, a.add(&b)),
            (&a - &b, a.sub(&b)),
            (&a * &b, a.mul(&b)),
            (&a / &b, a.div(&b)),
            (a.clone() + b.clone(), a.add(&b)),
            (a.clone() - &b, a.sub(&b)),
            (&a * b.clone(), a.mul(&b)),
            (-&a, a.neg()),
            (-a.clone(), a.neg()),
            (&a + 1.5, a.add_scalar(1.5)),
            (&a - 1.5, a.add_scalar(-1.5)),
            (a.clone() * 2.0, a.mul_scalar(2.0)),
            (&a / 4.0, a.mul_scalar(0.25)),
            (1.5 + &a, a.add_scalar(1.5)),
            (1.0 - &a, a.rsub_scalar(1.0)),
            (2.0 * a.clone(), a.mul_scalar(2.0)),
            (1.0 / &a, a.recip()),
        ] {
            assert_eq!(op.shape(), m.shape());
            assert_eq!(op.to_vec(), m.to_vec());
        }
        assert_eq!((6.0 / &b).to_vec(), vec![12., -3., 1.5]);
        let x = -((&a - &b) / &b).square() * 0.5 - 1.0;
        assert_eq!(x.shape(), &[2, 3]);
    }

    #[test]
    #[should_panic(expected = "DTensor arithmetic")]
    fn operators_panic_on_shapes_that_do_not_broadcast() {
        let _ = &t(&[1., 2.], &[2]) + &t(&[1., 2., 3.], &[3]);
    }

    #[test]
    fn operators_carry_gradients() {
        let x = t(&[1., 2.], &[2]).autodiff().require_grad();
        let y = (3.0 * &x - 1.0) * &x;
        let g = x.grad(&y.sum().backward()).unwrap();
        assert_eq!(g.to_vec(), vec![5., 11.]);
    }
}
