//! The Exponential distribution.

use super::{DistError, Distribution, check_expand, check_value, require, support, uniform_noise};
use crate::constraints::Constraint;
use crate::tensor::DTensor;
use std::any::Any;
use std::sync::Arc;

/// Exponential(rate) on `[0, ∞)`, reparameterisable: density `rate e^(-rate x)`.
#[derive(Clone, Debug)]
pub struct Exponential {
    /// Rate λ (> 0), the inverse of the mean.
    pub rate: DTensor,
}

impl Exponential {
    /// An Exponential with rate `rate`.
    pub fn new(rate: impl Into<DTensor>) -> Result<Self, DistError> {
        Ok(Exponential { rate: rate.into() })
    }
    /// The mean, `1 / rate`.
    pub fn mean(&self) -> DTensor {
        self.rate.recip()
    }
    /// The variance, `1 / rate²`.
    pub fn variance(&self) -> DTensor {
        self.rate.square().recip()
    }
}

impl Distribution for Exponential {
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::Positive)
    }
    fn name(&self) -> String {
        "Exponential".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.rate.shape().to_vec()
    }
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.rsample().expect("Exponential has rsample").detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        // -ln(1 - u) / rate with u in [0, 1): a standard exponential draw, never infinite.
        let u = uniform_noise(self.rate.shape(), &self.rate);
        Ok(-(-u).log1p() / &self.rate)
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        Ok(self.rate.log() - &self.rate * value)
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.rate.all_gt(0.0),
            "Exponential",
            "rate",
            "positive",
            &self.rate,
        )
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        support(value.all_ge(0.0), self, "non-negative reals", value)
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        Ok(Arc::new(Exponential::new(self.rate.expand(batch)?)?))
    }
    fn entropy(&self) -> Option<DTensor> {
        Some(1.0 - self.rate.log())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
