//! `Independent`: reinterprets batch dims as event dims (Pyro's `.to_event(n)`).

use super::{DistError, Distribution};
use crate::tensor::DTensor;
use std::any::Any;
use std::sync::Arc;

/// A distribution whose `n` rightmost batch dims are reinterpreted as event dims; `log_prob`
/// sums over them.
#[derive(Clone, Debug)]
pub struct Independent {
    /// The base distribution.
    pub base: Arc<dyn Distribution>,
    /// Number of batch dims reinterpreted.
    pub reinterpreted: usize,
}

impl Independent {
    /// Wraps `base`, moving its `n` rightmost batch dims into the event.
    pub fn new(base: Arc<dyn Distribution>, n: usize) -> Self {
        Independent {
            base,
            reinterpreted: n,
        }
    }
    fn split(&self) -> usize {
        self.base
            .batch_shape()
            .len()
            .saturating_sub(self.reinterpreted)
    }
}

impl Distribution for Independent {
    fn name(&self) -> String {
        format!("Independent({})", self.base.name())
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.base.batch_shape()[..self.split()].to_vec()
    }
    fn event_shape(&self) -> Vec<usize> {
        [
            &self.base.batch_shape()[self.split()..],
            &self.base.event_shape()[..],
        ]
        .concat()
    }
    fn has_rsample(&self) -> bool {
        self.base.has_rsample()
    }
    fn sample(&self) -> DTensor {
        self.base.sample()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        self.base.rsample()
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        Ok(self.base.log_prob(value)?.sum_rightmost(self.reinterpreted))
    }
    fn validate(&self) -> Result<(), DistError> {
        let batch = self.base.batch_shape();
        if self.reinterpreted > batch.len() {
            return Err(DistError::ToEvent {
                dist: self.base.name(),
                n: self.reinterpreted,
                batch: batch.into(),
            });
        }
        self.base.validate()
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        self.base.check_support(value)
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        super::check_expand(self, batch)?;
        let base_batch = self.base.batch_shape();
        let moved = &base_batch[self.split()..];
        let base = self.base.expand_batch(&[batch, moved].concat())?;
        Ok(Arc::new(Independent::new(base, self.reinterpreted)))
    }
    fn entropy(&self) -> Option<DTensor> {
        Some(self.base.entropy()?.sum_rightmost(self.reinterpreted))
    }
    /// Enumerable only when no batch dim is reinterpreted (torch does not enumerate the
    /// cartesian product of an event).
    fn has_enumerate_support(&self) -> bool {
        self.reinterpreted == 0 && self.base.has_enumerate_support()
    }
    fn enumerate_support(&self, expand: bool) -> Option<DTensor> {
        if self.reinterpreted != 0 {
            return None;
        }
        self.base.enumerate_support(expand)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
