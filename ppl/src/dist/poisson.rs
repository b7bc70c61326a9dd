//! The Poisson distribution.

use super::{DistError, Distribution, check_expand, check_value, require, support};
use crate::tensor::DTensor;
use rand_distr::Distribution as _;
use std::any::Any;
use std::sync::Arc;

/// Poisson(rate) over the non-negative integers: `P(k) = rate^k e^(-rate) / k!`. Values are
/// counts stored as floats like every site value. Not reparameterisable.
#[derive(Clone, Debug)]
pub struct Poisson {
    /// Rate λ (>= 0), the mean.
    pub rate: DTensor,
}

impl Poisson {
    /// A Poisson with rate `rate`.
    pub fn new(rate: impl Into<DTensor>) -> Result<Self, DistError> {
        Ok(Poisson { rate: rate.into() })
    }
    /// The mean, `rate`.
    pub fn mean(&self) -> DTensor {
        self.rate.clone()
    }
    /// The variance, `rate`.
    pub fn variance(&self) -> DTensor {
        self.rate.clone()
    }
}

/// Whether every element is a whole number.
pub(crate) fn all_integral(v: &DTensor) -> bool {
    v.to_vec().iter().all(|x| x.fract() == 0.0)
}

impl Distribution for Poisson {
    fn name(&self) -> String {
        "Poisson".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.rate.shape().to_vec()
    }
    fn sample(&self) -> DTensor {
        let rate = self.rate.to_vec();
        let v = crate::rng::with_rng(|r| {
            rate.iter()
                .map(|&l| {
                    if l == 0.0 {
                        return 0.0;
                    }
                    rand_distr::Poisson::new(l as f64)
                        .map(|p| p.sample(r) as f32)
                        .unwrap_or(f32::NAN)
                })
                .collect()
        });
        DTensor::from_floats(v, self.rate.shape(), &self.rate.device())
            .expect("one draw per element")
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        // As torch: xlogy(k, rate) - rate - ln Γ(k + 1), with 0 ln 0 = 0.
        let k_log_rate = (value * self.rate.log()).where_zero(value, 0.0);
        Ok(k_log_rate - &self.rate - (value + 1.0).lgamma())
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.rate.all_ge(0.0),
            "Poisson",
            "rate",
            "non-negative",
            &self.rate,
        )
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        support(
            value.all_ge(0.0) && all_integral(value),
            self,
            "non-negative integers",
            value,
        )
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        Ok(Arc::new(Poisson::new(self.rate.expand(batch)?)?))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
