//! `MixtureSameFamily`: a Categorical mixture of components from one batched distribution.

use super::{Categorical, DistError, Distribution, check_expand, check_value};
use crate::tensor::DTensor;
use burn::prelude::Tensor;
use std::any::Any;
use std::sync::Arc;

/// A mixture whose K components are the rightmost batch dim of one distribution, as torch's
/// `MixtureSameFamily(mixture_distribution, component_distribution)`: `component_distribution`
/// has batch shape `batch + [K]`, `mixture_distribution` is a Categorical over K classes whose
/// batch shape broadcasts to `batch`. `log_prob(x) = logsumexp_k(ln π_k + ln p_k(x))`. Not
/// reparameterisable (sampling picks a component).
#[derive(Clone, Debug)]
pub struct MixtureSameFamily {
    /// The mixing weights over the K components.
    pub mixture_distribution: Categorical,
    /// The components, batch shape `batch + [K]`.
    pub component_distribution: Arc<dyn Distribution>,
    batch: Vec<usize>,
}

impl MixtureSameFamily {
    /// A mixture of the rightmost batch dim of `component_distribution`, weighted by
    /// `mixture_distribution`.
    pub fn new(
        mixture_distribution: Categorical,
        component_distribution: Arc<dyn Distribution>,
    ) -> Result<Self, DistError> {
        let cb = component_distribution.batch_shape();
        let k = mixture_distribution.num_classes();
        if cb.last() != Some(&k) {
            return Err(DistError::InvalidParameter {
                dist: "MixtureSameFamily",
                param: "component_distribution",
                constraint: "a distribution whose rightmost batch dim is the number of mixture classes",
                found: format!(
                    "batch shape {} for {k} classes",
                    crate::shape::Dims(cb.clone())
                ),
            });
        }
        let batch = cb[..cb.len() - 1].to_vec();
        let mb = mixture_distribution.batch_shape();
        if !crate::shape::can_expand(&mb, &batch) {
            return Err(DistError::InvalidParameter {
                dist: "MixtureSameFamily",
                param: "mixture_distribution",
                constraint: "a Categorical whose batch shape broadcasts to the components' batch shape without its last dim",
                found: format!(
                    "batch shape {} vs {}",
                    crate::shape::Dims(mb),
                    crate::shape::Dims(batch.clone())
                ),
            });
        }
        Ok(MixtureSameFamily {
            mixture_distribution,
            component_distribution,
            batch,
        })
    }

    /// `value` (`vb + event`) with a size-one component dim before the event dims.
    fn pad(&self, value: &DTensor) -> Result<DTensor, DistError> {
        let ev = self.event_shape().len();
        let s = value.shape();
        let cut = s.len() - ev;
        Ok(value.reshape(&[&s[..cut], &[1], &s[cut..]].concat())?)
    }
}

/// `ln Σ exp` over the last dim (dropped), stable, with `-inf` for an all `-inf` row.
pub(crate) fn logsumexp_last(a: &DTensor) -> Result<DTensor, DistError> {
    let keep = a.shape()[..a.rank() - 1].to_vec();
    let t: Tensor<6> = a.to_tensor()?;
    let m = t.clone().max_dim(5).detach();
    let m = m.clone().mask_fill(m.is_inf(), 0.0);
    let s = (t - m.clone()).exp().sum_dim(5).log() + m;
    Ok(DTensor::from_tensor(s).reshape(&keep)?)
}

impl Distribution for MixtureSameFamily {
    fn name(&self) -> String {
        format!("MixtureSameFamily({})", self.component_distribution.name())
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.batch.clone()
    }
    fn event_shape(&self) -> Vec<usize> {
        self.component_distribution.event_shape()
    }
    fn sample(&self) -> DTensor {
        let idx = self
            .mixture_distribution
            .expand_batch(&self.batch)
            .expect("mixture batch broadcasts")
            .sample();
        let k = self.mixture_distribution.num_classes();
        let comp = self.component_distribution.sample();
        let ev = self.event_shape();
        let onehot = idx
            .one_hot(k)
            .and_then(|o| o.reshape(&[&self.batch[..], &[k], &vec![1; ev.len()][..]].concat()))
            .expect("room for the component dim");
        // Zero the unchosen components (select, not multiply, so an infinite draw stays put)
        // and sum out the component dim.
        let picked = comp
            .select_where(&onehot, &comp.zeros_like())
            .sum_dim_keep(self.batch.len());
        picked
            .reshape(&[&self.batch[..], &ev[..]].concat())
            .expect("drops the component dim")
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let lp = self.component_distribution.log_prob(&self.pad(value)?)?;
        logsumexp_last(&(lp + self.mixture_distribution.log_probs()))
    }
    fn validate(&self) -> Result<(), DistError> {
        self.mixture_distribution.validate()?;
        self.component_distribution.validate()
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        self.component_distribution.check_support(&self.pad(value)?)
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        let k = self.mixture_distribution.num_classes();
        let mix = self.mixture_distribution.expand_batch(batch)?;
        let mix = mix
            .as_any()
            .downcast_ref::<Categorical>()
            .expect("a Categorical expands to a Categorical")
            .clone();
        let comp = self
            .component_distribution
            .expand_batch(&[batch, &[k]].concat())?;
        Ok(Arc::new(MixtureSameFamily::new(mix, comp)?))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
