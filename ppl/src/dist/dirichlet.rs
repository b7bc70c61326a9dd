//! The Dirichlet distribution.

use super::gamma::gamma_draws;
use super::special::standard_gamma_rsample;
use super::{DistError, Distribution, check_expand, check_value, expand_param, require, support};
use crate::constraints::Constraint;
use crate::tensor::DTensor;
use std::any::Any;
use std::sync::Arc;

/// Dirichlet(concentration) on the probability simplex: the last dim of `concentration`
/// holds the K concentrations α (event shape `[K]`); the rest is the batch shape. Density
/// `Γ(Σα) / ΠΓ(α) Π x^(α-1)`. Sampled by normalising Gamma(α, 1) draws; reparameterisable,
/// with [`Distribution::rsample`] normalising Gamma draws that carry implicit
/// reparameterisation gradients (see [`super::Gamma`]). (torch differentiates its draw through
/// each coordinate's Beta marginal, `_dirichlet_grad`; both estimators are unbiased.)
#[derive(Clone, Debug)]
pub struct Dirichlet {
    /// Concentrations α (> 0), shape `batch + [K]`.
    pub concentration: DTensor,
}

impl Dirichlet {
    /// A Dirichlet whose last dim of `concentration` indexes the K categories.
    pub fn new(concentration: impl Into<DTensor>) -> Result<Self, DistError> {
        let concentration = concentration.into();
        if concentration.rank() == 0 {
            return Err(DistError::InvalidParameter {
                dist: "Dirichlet",
                param: "concentration",
                constraint: "a tensor with at least one dim (the categories)",
                found: format!("shape {}", concentration.dims()),
            });
        }
        Ok(Dirichlet { concentration })
    }
    /// The mean, `α / Σα`.
    pub fn mean(&self) -> DTensor {
        let a = &self.concentration;
        a / a.sum_dim_keep(a.rank() - 1)
    }
    /// The variance of each coordinate, `α (α0 - α) / (α0² (α0 + 1))` with `α0 = Σα`.
    pub fn variance(&self) -> DTensor {
        let a = &self.concentration;
        let a0 = a.sum_dim_keep(a.rank() - 1);
        a * (&a0 - a) / (a0.square() * (&a0 + 1.0))
    }
}

impl Distribution for Dirichlet {
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::Simplex)
    }
    fn name(&self) -> String {
        "Dirichlet".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        let s = self.concentration.shape();
        s[..s.len() - 1].to_vec()
    }
    fn event_shape(&self) -> Vec<usize> {
        vec![*self.concentration.shape().last().expect("rank >= 1")]
    }
    fn has_rsample(&self) -> bool {
        true
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        let g = standard_gamma_rsample(&self.concentration);
        let total = g.sum_dim_keep(g.rank() - 1);
        Ok((g / total).clamp(f32::MIN_POSITIVE as f64, 1.0))
    }
    fn sample(&self) -> DTensor {
        let a = self.concentration.to_vec();
        let k = *self.concentration.shape().last().expect("rank >= 1");
        let mut g = gamma_draws(&a);
        for row in g.chunks_mut(k.max(1)) {
            let s: f32 = row.iter().sum();
            row.iter_mut().for_each(|x| *x /= s);
        }
        DTensor::from_floats(g, self.concentration.shape(), &self.concentration.device())
            .expect("one draw per element")
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        // As torch: Σ xlogy(α - 1, x) + ln Γ(Σα) - Σ ln Γ(α).
        let a = &self.concentration;
        let am1 = a - 1.0;
        let terms = (&am1 * value.log()).where_zero(&am1, 0.0);
        let norm = a.sum_rightmost(1).lgamma() - a.lgamma().sum_rightmost(1);
        Ok(terms.sum_rightmost(1) + norm)
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.concentration.all_gt(0.0),
            "Dirichlet",
            "concentration",
            "positive",
            &self.concentration,
        )
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        support(
            Constraint::Simplex.check(value),
            self,
            "the simplex: non-negative, summing to one along the last dim",
            value,
        )
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        Ok(Arc::new(Dirichlet::new(expand_param(
            &self.concentration,
            batch,
            1,
        )?)?))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
