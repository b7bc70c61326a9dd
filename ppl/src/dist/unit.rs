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
}

impl Unit {
    /// A unit distribution contributing `log_factor`.
    pub fn new(log_factor: impl Into<DTensor>) -> Self {
        Unit {
            log_factor: log_factor.into(),
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
    fn event_shape(&self) -> Vec<usize> {
        vec![]
    }
    fn sample(&self) -> DTensor {
        self.log_factor.zeros_like().detach()
    }
    fn log_prob(&self, _value: &DTensor) -> Result<DTensor, DistError> {
        Ok(self.log_factor.clone())
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        Ok(Arc::new(Unit::new(self.log_factor.expand(batch)?)))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
