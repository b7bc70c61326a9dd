//! A point mass carrying a log-density tensor: Pyro's `dist.Delta(value, log_density=...)`,
//! which the autoguides use to put the log-Jacobian of a transform into `log q`.

use crate::dist::{DistError, Distribution, check_expand, check_value};
use crate::tensor::DTensor;
use std::any::Any;
use std::sync::Arc;

/// All mass at `v`, with `log_prob(v) = log_density` (a tensor of the batch shape, carrying
/// gradients) and `-inf` elsewhere. `rsample` returns `v` itself.
#[derive(Clone, Debug)]
pub struct PointMass {
    /// The point.
    pub v: DTensor,
    /// Number of rightmost dims of `v` forming one event.
    pub event_dim: usize,
    /// The log-density at `v`, broadcastable to the batch shape.
    pub log_density: DTensor,
}

impl PointMass {
    /// A point mass at `v` with `event_dim` event dims and log-density `log_density`.
    pub fn new(v: DTensor, event_dim: usize, log_density: DTensor) -> Result<Self, DistError> {
        if event_dim > v.rank() {
            return Err(DistError::ToEvent {
                dist: "Delta".into(),
                n: event_dim,
                batch: v.dims(),
            });
        }
        Ok(PointMass {
            v,
            event_dim,
            log_density,
        })
    }
}

impl Distribution for PointMass {
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
        let hit = same.add_scalar(-n).abs().lt_scalar(0.5);
        Ok(hit
            .mul_scalar(0.0)
            .add(&self.log_density)
            .where_zero(&hit, f64::NEG_INFINITY))
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        let shape = [batch, &self.event_shape()].concat();
        Ok(Arc::new(PointMass {
            v: self.v.expand(&shape)?,
            event_dim: self.event_dim,
            log_density: self.log_density.expand(batch)?,
        }))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
