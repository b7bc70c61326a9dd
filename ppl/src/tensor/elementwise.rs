//! Elementwise functions (`exp`, `log`, `sigmoid`, ...), clamping, masking and comparisons.

use super::DTensor;
use crate::shape::broadcast_shapes;
use burn::tensor::activation;

impl DTensor {
    /// `exp(self)`.
    pub fn exp(&self) -> Self {
        self.unary(|a| a.exp())
    }
    /// `cos(self)`.
    pub fn cos(&self) -> Self {
        self.unary(|a| a.cos())
    }
    /// `sin(self)`.
    pub fn sin(&self) -> Self {
        self.unary(|a| a.sin())
    }
    /// Natural logarithm.
    pub fn log(&self) -> Self {
        self.unary(|a| a.log())
    }
    /// `ln(1 + self)`.
    pub fn log1p(&self) -> Self {
        self.unary(|a| a.log1p())
    }
    /// Square root.
    pub fn sqrt(&self) -> Self {
        self.unary(|a| a.sqrt())
    }
    /// Absolute value.
    pub fn abs(&self) -> Self {
        self.unary(|a| a.abs())
    }
    /// `self²`.
    pub fn square(&self) -> Self {
        self.unary(|a| a.square())
    }
    /// `1 / self`.
    pub fn recip(&self) -> Self {
        self.unary(|a| a.recip())
    }
    /// `self^p`.
    pub fn powf_scalar(&self, p: f64) -> Self {
        self.unary(|a| a.powf_scalar(p))
    }
    /// The sign (-1, 0 or 1).
    pub fn sign(&self) -> Self {
        self.unary(|a| a.sign())
    }
    /// Logistic sigmoid.
    pub fn sigmoid(&self) -> Self {
        self.unary(activation::sigmoid)
    }
    /// `ln(1 + exp(self))`, computed stably.
    pub fn softplus(&self) -> Self {
        self.unary(|a| activation::softplus(a, 1.0))
    }
    /// `ln(sigmoid(self))`, computed stably.
    pub fn log_sigmoid(&self) -> Self {
        self.unary(activation::log_sigmoid)
    }
    /// Hyperbolic arctangent.
    pub fn atanh(&self) -> Self {
        self.unary(|a| a.atanh())
    }
    /// The lower triangle of the last two dims, from the `diagonal`-th diagonal down (torch's
    /// `tril`: 0 keeps the diagonal, -1 starts below it); the rest set to zero. A rank-1
    /// tensor is read as a `1 x n` matrix.
    pub fn tril(&self, diagonal: i64) -> Self {
        self.unary(|a| a.tril(diagonal))
    }
    /// The upper triangle of the last two dims, from the `diagonal`-th diagonal up (torch's
    /// `triu`); the rest set to zero.
    pub fn triu(&self, diagonal: i64) -> Self {
        self.unary(|a| a.triu(diagonal))
    }
    /// Clamps into `[lo, hi]`.
    pub fn clamp(&self, lo: f64, hi: f64) -> Self {
        self.unary(|a| a.clamp(lo, hi))
    }
    /// `ln Γ(self)` for positive arguments: [`crate::dist::lgamma`].
    pub fn lgamma(&self) -> Self {
        crate::dist::lgamma(self)
    }
    /// Replaces elements where `mask` is zero by `value`.
    pub fn where_zero(&self, mask: &Self, value: f64) -> Self {
        let m = mask
            .expand(&self.shape)
            .unwrap_or_else(|e| panic!("DTensor mask: {e}"));
        self.unary(|a| a.mask_fill(m.inner.equal_elem(0.0), value))
    }
    /// Replaces elements where `cond` is zero by the matching element of `other`.
    pub fn select_where(&self, cond: &Self, other: &Self) -> Self {
        let shape = broadcast_shapes(
            &broadcast_shapes(&self.shape, &cond.shape).unwrap(),
            &other.shape,
        )
        .unwrap_or_else(|e| panic!("DTensor where: {e}"));
        let a = self.expand(&shape).unwrap();
        let c = cond.expand(&shape).unwrap();
        let o = other.expand(&shape).unwrap();
        Self::wrap(a.inner.mask_where(c.inner.equal_elem(0.0), o.inner), shape)
    }
    /// 1.0 where `self > c`, else 0.0.
    pub fn gt_scalar(&self, c: f64) -> Self {
        self.unary(|a| a.greater_elem(c).float())
    }
    /// 1.0 where `self >= c`, else 0.0.
    pub fn ge_scalar(&self, c: f64) -> Self {
        self.unary(|a| a.greater_equal_elem(c).float())
    }
    /// 1.0 where `self < c`, else 0.0.
    pub fn lt_scalar(&self, c: f64) -> Self {
        self.unary(|a| a.lower_elem(c).float())
    }
    /// 1.0 where `self == other` (broadcasting), else 0.0.
    pub fn eq_tensor(&self, other: &Self) -> Self {
        let (a, b) =
            Self::broadcast_pair(self, other).unwrap_or_else(|e| panic!("DTensor eq: {e}"));
        let shape = a.shape.clone();
        Self::wrap(a.inner.equal(b.inner).float(), shape)
    }
}
