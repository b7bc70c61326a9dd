//! `Unit`: the trivial distribution behind `factor` sites.

use super::{DistError, Distribution, check_expand};
use crate::tensor::DTensor;
use std::any::Any;
use std::sync::Arc;

/// A distribution over nothing whose `log_prob` is a fixed `log_factor` (Pyro's `Unit`):
/// a [`crate::factor`] site adds `log_factor` to the joint log-density.
#[derive(Clone, Debug)]
pub struct Unit {
    /// The log-density contribution; its shape is the batch shape.
    pub log_factor: DTensor,
    /// Whether `log_factor` arose from reparameterised sampling (Pyro's `has_rsample`
    /// argument); `None` when unspecified, which a guide's factor may not be under validation.
    pub rsample: Option<bool>,
}

impl Unit {
    /// A unit distribution contributing `log_factor`, `has_rsample` unspecified (false).
    pub fn new(log_factor: impl Into<DTensor>) -> Self {
        Unit {
            log_factor: log_factor.into(),
            rsample: None,
        }
    }

    /// A unit distribution contributing `log_factor`, with `has_rsample` given.
    pub fn with_rsample(log_factor: impl Into<DTensor>, has_rsample: bool) -> Self {
        Unit {
            log_factor: log_factor.into(),
            rsample: Some(has_rsample),
        }
    }
}

impl Distribution for Unit {
    fn name(&self) -> String {
        "Unit".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.log_factor.shape().to_vec()
    }
    fn has_rsample(&self) -> bool {
        self.rsample.unwrap_or(false)
    }
    fn sample(&self) -> DTensor {
        self.log_factor.zeros_like().detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        Ok(self.sample())
    }
    fn log_prob(&self, _value: &DTensor) -> Result<DTensor, DistError> {
        Ok(self.log_factor.clone())
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        Ok(Arc::new(Unit {
            log_factor: self.log_factor.expand(batch)?,
            rsample: self.rsample,
        }))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
