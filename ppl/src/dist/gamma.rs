//! The Gamma distribution (shape-rate parameterisation, as torch), reparameterisable by
//! implicit reparameterisation gradients as `torch._standard_gamma`.

use super::special::standard_gamma_rsample;
use super::{
    DistError, Distribution, broadcast_params, check_expand, check_value, require, support,
};
use crate::tensor::DTensor;
use rand_distr::Distribution as _;
use std::any::Any;
use std::sync::Arc;

/// Gamma(concentration, rate): density `β^α x^(α-1) e^(-βx) / Γ(α)` on `x > 0`.
///
/// [`Distribution::rsample`] draws `x ~ Gamma(α, 1)` on the host and carries the implicit
/// gradient `dx/dα` (Figurnov et al. 2018, as torch's `_standard_gamma_grad`) into `α`; the
/// rate enters as `x / β`, an ordinary differentiable op.
#[derive(Clone, Debug)]
pub struct Gamma {
    /// Shape α (> 0).
    pub concentration: DTensor,
    /// Rate β (> 0).
    pub rate: DTensor,
    batch: Vec<usize>,
}

impl Gamma {
    /// A Gamma with shape `concentration` and `rate`.
    pub fn new(
        concentration: impl Into<DTensor>,
        rate: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        let (concentration, rate) = (concentration.into(), rate.into());
        let batch = broadcast_params("Gamma", &[&concentration, &rate])?;
        Ok(Gamma {
            concentration,
            rate,
            batch,
        })
    }
}

/// Host-side Gamma(α, 1) draws, one per element of `alpha`.
pub(crate) fn gamma_draws(alpha: &[f32]) -> Vec<f32> {
    crate::rng::with_rng(|r| {
        alpha
            .iter()
            .map(|&a| {
                rand_distr::Gamma::new(a as f64, 1.0)
                    .map(|g| g.sample(r) as f32)
                    .unwrap_or(f32::NAN)
            })
            .collect()
    })
}

impl Distribution for Gamma {
    fn name(&self) -> String {
        "Gamma".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.batch.clone()
    }
    fn has_rsample(&self) -> bool {
        true
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        let a = self.concentration.expand(&self.batch)?;
        Ok(standard_gamma_rsample(&a) / &self.rate)
    }
    fn sample(&self) -> DTensor {
        let a = self
            .concentration
            .expand(&self.batch)
            .expect("batch shape broadcasts");
        let g = DTensor::from_floats(gamma_draws(&a.to_vec()), &self.batch, &a.device())
            .expect("one draw per element");
        g / self.rate.detach()
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let a = &self.concentration;
        Ok(a * self.rate.log() + (a - 1.0) * value.log() - &self.rate * value - a.lgamma())
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.concentration.all_gt(0.0),
            "Gamma",
            "concentration",
            "positive",
            &self.concentration,
        )?;
        require(
            self.rate.all_gt(0.0),
            "Gamma",
            "rate",
            "positive",
            &self.rate,
        )
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        support(value.all_gt(0.0), self, "positive reals", value)
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        Ok(Arc::new(Gamma::new(
            self.concentration.expand(batch)?,
            self.rate.expand(batch)?,
        )?))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
