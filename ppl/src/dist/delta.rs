//! The Delta (point mass) distribution.

use super::{DistError, Distribution, check_expand, check_value};
use crate::tensor::DTensor;
use std::any::Any;
use std::sync::Arc;

/// Delta(v): all mass at `v`. The rightmost `event_dim` dims of `v` form the event.
/// `log_prob` is `log_density` at `v` and `-inf` elsewhere. `rsample` returns `v` itself,
/// so gradients flow through it.
#[derive(Clone, Debug)]
pub struct Delta {
    /// The point.
    pub v: DTensor,
    /// Number of rightmost dims of `v` that form one event.
    pub event_dim: usize,
    /// Log-density at the point, broadcastable to the batch shape (0 by default; a tensor, so
    /// it can carry gradients, as Pyro's `dist.Delta(v, log_density=...)`).
    pub log_density: DTensor,
}

impl Delta {
    /// A point mass at `v` with `event_dim` event dims.
    pub fn new(v: impl Into<DTensor>, event_dim: usize) -> Result<Self, DistError> {
        let v = v.into();
        if event_dim > v.rank() {
            return Err(DistError::ToEvent {
                dist: "Delta".into(),
                n: event_dim,
                batch: v.dims(),
            });
        }
        let log_density = DTensor::scalar(0.0, &v.device());
        Ok(Delta {
            v,
            event_dim,
            log_density,
        })
    }

    /// The same point mass with log-density `log_density` at `v` (the autoguides put a
    /// transform's log-Jacobian there).
    pub fn with_log_density(mut self, log_density: DTensor) -> Self {
        self.log_density = log_density;
        self
    }
}

impl Distribution for Delta {
    fn name(&self) -> String {
        "Delta".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.v.shape()[..self.v.rank() - self.event_dim].to_vec()
    }
    fn event_shape(&self) -> Vec<usize> {
        self.v.shape()[self.v.rank() - self.event_dim..].to_vec()
    }
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.v.detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        Ok(self.v.clone())
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let same = value.eq_tensor(&self.v).sum_rightmost(self.event_dim);
        let n = self.event_shape().iter().product::<usize>() as f64;
        let hit = (same - n).abs().lt_scalar(0.5);
        Ok((&hit * 0.0 + &self.log_density).where_zero(&hit, f64::NEG_INFINITY))
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        let shape = [batch, &self.event_shape()].concat();
        Ok(Arc::new(Delta {
            v: self.v.expand(&shape)?,
            event_dim: self.event_dim,
            log_density: self.log_density.expand(batch)?,
        }))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
