//! `Masked`: zeroes the log-prob where a mask is zero (Pyro's `.mask(m)`).

use super::{DistError, Distribution};
use crate::shape::broadcast_shapes;
use crate::tensor::DTensor;
use std::any::Any;
use std::sync::Arc;

/// A distribution whose `log_prob` is zero wherever `mask` (broadcast to the batch shape) is
/// zero. Sampling is unchanged.
#[derive(Clone, Debug)]
pub struct Masked {
    /// The base distribution.
    pub base: Arc<dyn Distribution>,
    /// 1 keeps, 0 masks out; broadcasts with the batch shape.
    pub mask: DTensor,
}

impl Masked {
    /// Masks `base` with `mask`.
    pub fn new(base: Arc<dyn Distribution>, mask: DTensor) -> Self {
        Masked { base, mask }
    }
}

impl Distribution for Masked {
    fn name(&self) -> String {
        format!("Masked({})", self.base.name())
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.base.batch_shape()
    }
    fn event_shape(&self) -> Vec<usize> {
        self.base.event_shape()
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
        let lp = self.base.log_prob(value)?;
        let shape = broadcast_shapes(lp.shape(), self.mask.shape())?;
        Ok(lp.expand(&shape)?.where_zero(&self.mask, 0.0))
    }
    fn validate(&self) -> Result<(), DistError> {
        let batch = self.base.batch_shape();
        if broadcast_shapes(&batch, self.mask.shape()).is_err() {
            return Err(DistError::MaskShape {
                dist: self.base.name(),
                mask: self.mask.dims(),
                batch: batch.into(),
            });
        }
        self.base.validate()
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        self.base.check_support(value)
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        Ok(Arc::new(Masked::new(
            self.base.expand_batch(batch)?,
            self.mask.clone(),
        )))
    }
    fn has_enumerate_support(&self) -> bool {
        self.base.has_enumerate_support()
    }
    fn enumerate_support(&self, expand: bool) -> Option<DTensor> {
        self.base.enumerate_support(expand)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
