//! The Binomial distribution, from probabilities or logits.

use super::bernoulli::ProbsOrLogits;
use super::poisson::all_integral;
use super::{
    DistError, Distribution, broadcast_params, check_expand, check_value, require, support,
    support_values,
};
use crate::tensor::DTensor;
use rand_distr::Distribution as _;
use std::any::Any;
use std::sync::Arc;

/// Binomial(total_count, probs): the number of successes in `total_count` independent
/// Bernoulli(probs) trials, over `{0, ..., total_count}`. Values are counts stored as floats.
/// Not reparameterisable.
#[derive(Clone, Debug)]
pub struct Binomial {
    /// Number of trials n (a non-negative integer).
    pub total_count: DTensor,
    param: ProbsOrLogits,
    batch: Vec<usize>,
}

impl Binomial {
    /// A Binomial with `total_count` trials of success probability `probs` (shapes broadcast).
    pub fn from_probs(
        total_count: impl Into<DTensor>,
        probs: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        Self::build(total_count.into(), ProbsOrLogits::Probs(probs.into()))
    }
    /// A Binomial with `total_count` trials of log-odds `logits` (shapes broadcast).
    pub fn from_logits(
        total_count: impl Into<DTensor>,
        logits: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        Self::build(total_count.into(), ProbsOrLogits::Logits(logits.into()))
    }
    fn build(total_count: DTensor, param: ProbsOrLogits) -> Result<Self, DistError> {
        let batch = broadcast_params("Binomial", &[&total_count, param.tensor()])?;
        Ok(Binomial {
            total_count,
            param,
            batch,
        })
    }
    /// The success probabilities.
    pub fn probs(&self) -> DTensor {
        self.param.probs()
    }
    /// The mean, `n p`.
    pub fn mean(&self) -> DTensor {
        &self.total_count * self.probs()
    }
    /// The variance, `n p (1 - p)`.
    pub fn variance(&self) -> DTensor {
        let p = self.probs();
        &self.total_count * &p * (1.0 - &p)
    }
}

impl Distribution for Binomial {
    fn name(&self) -> String {
        "Binomial".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.batch.clone()
    }
    fn sample(&self) -> DTensor {
        let n = self
            .total_count
            .expand(&self.batch)
            .expect("batch broadcasts");
        let p = self
            .probs()
            .detach()
            .expand(&self.batch)
            .expect("batch broadcasts");
        let (n, p) = (n.to_vec(), p.to_vec());
        let v = crate::rng::with_rng(|r| {
            n.iter()
                .zip(&p)
                .map(|(&n, &p)| {
                    rand_distr::Binomial::new(n as u64, p as f64)
                        .map(|b| b.sample(r) as f32)
                        .unwrap_or(f32::NAN)
                })
                .collect()
        });
        DTensor::from_floats(v, &self.batch, &self.total_count.device())
            .expect("one draw per element")
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        // ln C(n, k) + k ln p + (n - k) ln(1 - p), with p clamped away from 0 and 1 as torch.
        let n = &self.total_count;
        let (lp, lq) = self.param.log_p_q();
        let n_minus_k = n - value;
        let log_choose = (n + 1.0).lgamma() - (value + 1.0).lgamma() - (&n_minus_k + 1.0).lgamma();
        Ok(log_choose + value * &lp + &n_minus_k * &lq)
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.total_count.all_ge(0.0) && all_integral(&self.total_count),
            "Binomial",
            "total_count",
            "a non-negative integer",
            &self.total_count,
        )?;
        self.param.validate("Binomial")
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        let inside = value.all_ge(0.0) && self.total_count.sub(value).all_ge(0.0);
        support(
            inside && all_integral(value),
            self,
            "integers 0..=total_count",
            value,
        )
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        Ok(Arc::new(Binomial::build(
            self.total_count.expand(batch)?,
            self.param.map(|t| Ok(t.expand(batch)?))?,
        )?))
    }
    fn has_enumerate_support(&self) -> bool {
        true
    }
    /// `0..=total_count`, when `total_count` is the same at every batch element (torch
    /// refuses an inhomogeneous count too).
    fn enumerate_support(&self, expand: bool) -> Option<DTensor> {
        let (lo, hi) = (self.total_count.min_value(), self.total_count.max_value());
        if lo != hi || !(hi >= 0.0 && hi.fract() == 0.0) {
            return None;
        }
        let values = (0..=hi as usize).map(|k| k as f32).collect();
        support_values(values, &[], &self.batch, expand, &self.total_count.device())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
