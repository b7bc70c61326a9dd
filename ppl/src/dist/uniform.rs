//! The continuous Uniform distribution.

use super::{
    DistError, Distribution, broadcast_params, check_expand, check_value, require, uniform_noise,
};
use crate::tensor::DTensor;
use std::any::Any;
use std::sync::Arc;

/// Uniform(low, high) on `[low, high)`, reparameterisable.
#[derive(Clone, Debug)]
pub struct Uniform {
    /// Lower bound.
    pub low: DTensor,
    /// Upper bound (> low).
    pub high: DTensor,
    batch: Vec<usize>,
}

impl Uniform {
    /// A Uniform on `[low, high)`.
    pub fn new(low: impl Into<DTensor>, high: impl Into<DTensor>) -> Result<Self, DistError> {
        let (low, high) = (low.into(), high.into());
        let batch = broadcast_params("Uniform", &[&low, &high])?;
        Ok(Uniform { low, high, batch })
    }
}

impl Distribution for Uniform {
    fn name(&self) -> String {
        "Uniform".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.batch.clone()
    }
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.rsample().expect("Uniform has rsample").detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        let u = uniform_noise(&self.batch, &self.low);
        Ok(&self.low + (&self.high - &self.low) * &u)
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let inside = (value - &self.low).ge_scalar(0.0) * (&self.high - value).gt_scalar(0.0);
        let lp = (-(&self.high - &self.low).log()).expand(&crate::shape::broadcast_shapes(
            &self.batch,
            inside.shape(),
        )?)?;
        Ok(lp.where_zero(&inside, f64::NEG_INFINITY))
    }
    fn validate(&self) -> Result<(), DistError> {
        let width = &self.high - &self.low;
        require(
            width.all_gt(0.0),
            "Uniform",
            "high",
            "greater than low",
            &width,
        )
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        Ok(Arc::new(Uniform::new(
            self.low.expand(batch)?,
            self.high.expand(batch)?,
        )?))
    }
    fn entropy(&self) -> Option<DTensor> {
        (&self.high - &self.low).log().expand(&self.batch).ok()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
