//! The LogNormal distribution: `exp` of a Normal.

use super::{DistError, Distribution, Normal, check_expand, support};
use crate::constraints::Constraint;
use crate::tensor::DTensor;
use std::any::Any;
use std::sync::Arc;

/// LogNormal(loc, scale): `exp(X)` for `X ~ Normal(loc, scale)`; reparameterisable.
#[derive(Clone, Debug)]
pub struct LogNormal {
    base: Normal,
}

impl LogNormal {
    /// A LogNormal whose logarithm has mean `loc` and standard deviation `scale`.
    pub fn new(loc: impl Into<DTensor>, scale: impl Into<DTensor>) -> Result<Self, DistError> {
        Ok(LogNormal {
            base: Normal::new(loc, scale)?,
        })
    }
    /// The underlying Normal's `loc`.
    pub fn loc(&self) -> &DTensor {
        &self.base.loc
    }
    /// The underlying Normal's `scale`.
    pub fn scale(&self) -> &DTensor {
        &self.base.scale
    }
}

impl Distribution for LogNormal {
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::Positive)
    }
    fn name(&self) -> String {
        "LogNormal".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.base.batch_shape()
    }
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.base.sample().exp()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        Ok(self.base.rsample()?.exp())
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        let lx = value.log();
        Ok(self.base.log_prob(&lx)? - &lx)
    }
    fn validate(&self) -> Result<(), DistError> {
        self.base.validate()
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        support(value.all_gt(0.0), self, "positive reals", value)
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        Ok(Arc::new(LogNormal::new(
            self.base.loc.expand(batch)?,
            self.base.scale.expand(batch)?,
        )?))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
