//! Whole-tensor predicates and extremes, read back to the host (for validation and error
//! messages).

use super::DTensor;

impl DTensor {
    /// Whether every element is finite.
    pub fn all_finite(&self) -> bool {
        self.inner.clone().is_finite().all().into_scalar::<bool>()
    }
    /// Whether any element is NaN.
    pub fn any_nan(&self) -> bool {
        self.inner.clone().is_nan().any().into_scalar::<bool>()
    }
    /// Whether every element is `> c`.
    pub fn all_gt(&self, c: f64) -> bool {
        self.inner
            .clone()
            .greater_elem(c)
            .all()
            .into_scalar::<bool>()
    }
    /// Whether every element is `>= c`.
    pub fn all_ge(&self, c: f64) -> bool {
        self.inner
            .clone()
            .greater_equal_elem(c)
            .all()
            .into_scalar::<bool>()
    }
    /// Whether every element is `<= c`.
    pub fn all_le(&self, c: f64) -> bool {
        self.inner
            .clone()
            .lower_equal_elem(c)
            .all()
            .into_scalar::<bool>()
    }
    /// Whether every element is exactly `c`.
    pub fn all_eq(&self, c: f64) -> bool {
        self.inner.clone().equal_elem(c).all().into_scalar::<bool>()
    }
    /// The smallest element (for error messages).
    pub fn min_value(&self) -> f32 {
        self.inner.clone().min().into_scalar::<f32>()
    }
    /// The largest element (for error messages).
    pub fn max_value(&self) -> f32 {
        self.inner.clone().max().into_scalar::<f32>()
    }
}
