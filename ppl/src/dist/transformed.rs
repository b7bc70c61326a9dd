//! `TransformedDistribution`: a base distribution pushed through a chain of bijections.

use super::transforms::Transform;
use super::{DistError, Distribution, check_expand, check_value, support};
use crate::tensor::DTensor;
use std::any::Any;
use std::sync::Arc;

/// The distribution of `y = f_n(... f_1(x))` for `x ~ base`, as torch's
/// `TransformedDistribution(base, transforms)`: `log_prob(y) = base.log_prob(x) - Σ ln|f_i'|`
/// (summed over the event dims), reparameterisable when the base is. With elementwise
/// transforms the event shape is the base's; a transform's parameters may broadcast the
/// batch shape (an `AffineTransform` with a `[3]` loc over a scalar base has batch `[3]`).
/// A transform with [`Transform::event_dim`] 1 (a flow of [`crate::flows`]) makes the last
/// dim part of the event, as torch does: `Normal(zeros(2), ones(2))` (batch `[2]`) through
/// an `AffineAutoregressive` has batch `[]` and event `[2]`, and the base's log-density is
/// summed over that dim.
#[derive(Clone, Debug)]
pub struct TransformedDistribution {
    /// The distribution of `x`.
    pub base: Arc<dyn Distribution>,
    /// The bijections, applied first to last.
    pub transforms: Vec<Arc<dyn Transform>>,
    batch: Vec<usize>,
    event: Vec<usize>,
}

impl TransformedDistribution {
    /// `base` pushed through `transforms` (first to last).
    ///
    /// # Errors
    /// A transform refusing the shape that reaches it ([`Transform::check_shape`]), parameters
    /// that do not broadcast, or a transform acting on more dims than the shape has.
    pub fn new(
        base: Arc<dyn Distribution>,
        transforms: Vec<Arc<dyn Transform>>,
    ) -> Result<Self, DistError> {
        let ev = base.event_shape();
        let mut shape = [base.batch_shape(), ev.clone()].concat();
        for t in &transforms {
            t.check_shape(&shape)?;
            let ps = t.param_shape();
            shape = crate::shape::broadcast_shapes(&shape, &ps).map_err(|source| {
                DistError::ParamShapes {
                    dist: "TransformedDistribution",
                    source,
                }
            })?;
        }
        // The event grows to the largest event dim of a transform (torch's rule).
        let ev_rank = transforms
            .iter()
            .map(|t| t.event_dim())
            .fold(ev.len(), usize::max);
        if ev_rank > shape.len() {
            return Err(DistError::ToEvent {
                dist: format!("TransformedDistribution({})", base.name()),
                n: ev_rank,
                batch: shape.into(),
            });
        }
        let split = shape.len() - ev_rank;
        let event = if ev_rank == ev.len() {
            ev
        } else {
            shape[split..].to_vec()
        };
        Ok(TransformedDistribution {
            base,
            transforms,
            batch: shape[..split].to_vec(),
            event,
        })
    }
    /// One transform.
    pub fn with(base: Arc<dyn Distribution>, t: impl Transform) -> Result<Self, DistError> {
        Self::new(base, vec![Arc::new(t)])
    }
    fn forward(&self, x: DTensor) -> DTensor {
        self.transforms.iter().fold(x, |x, t| t.forward(&x))
    }
}

impl Distribution for TransformedDistribution {
    fn name(&self) -> String {
        let ts: Vec<String> = self.transforms.iter().map(|t| t.name()).collect();
        format!(
            "TransformedDistribution({}, [{}])",
            self.base.name(),
            ts.join(", ")
        )
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.batch.clone()
    }
    fn event_shape(&self) -> Vec<usize> {
        self.event.clone()
    }
    fn has_rsample(&self) -> bool {
        self.base.has_rsample()
    }
    fn sample(&self) -> DTensor {
        self.forward(self.base.sample()).detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        Ok(self.forward(self.base.rsample()?))
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let ev = self.event.len();
        let mut y = value.clone();
        let mut ladj: Option<DTensor> = None;
        for t in self.transforms.iter().rev() {
            let x = t.inverse(&y);
            // A transform of event_dim k has already summed its k rightmost dims.
            let term = t
                .log_abs_det_jacobian(&x, &y)
                .sum_rightmost(ev.saturating_sub(t.event_dim()));
            ladj = Some(match ladj {
                Some(a) => a + term,
                None => term,
            });
            y = x;
        }
        // The base's batch dims that became event dims are summed too.
        let lp = self
            .base
            .log_prob(&y)?
            .sum_rightmost(ev.saturating_sub(self.base.event_shape().len()));
        Ok(match ladj {
            Some(a) => lp - a,
            None => lp,
        })
    }
    fn validate(&self) -> Result<(), DistError> {
        self.base.validate()
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        match self.transforms.last() {
            Some(t) => {
                let c = t.codomain();
                support(c.check(value), self, c.as_str(), value)
            }
            None => self.base.check_support(value),
        }
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        // The base keeps, as batch dims, the event dims that the transforms added.
        let grown = self
            .event
            .len()
            .saturating_sub(self.base.event_shape().len());
        let base_batch = [batch, &self.event[..grown]].concat();
        Ok(Arc::new(TransformedDistribution::new(
            self.base.expand_batch(&base_batch)?,
            self.transforms.clone(),
        )?))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
