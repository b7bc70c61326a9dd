//! The negative binomial distribution (torch's parameterisation).

use super::batched::{batched_boilerplate, batched_params};
use super::poisson::all_integral;
use super::{DistError, Distribution, check_value, require, support};
use crate::tensor::DTensor;
use rand_distr::Distribution as _;

batched_params! {
    /// NegativeBinomial(total_count, logits): the number of successes before `total_count`
    /// failures, each trial a success with probability `p = sigmoid(logits)` (torch's and
    /// Pyro's parameterisation): `P(k) = Γ(k + r) / (Γ(r) k!) (1 - p)^r p^k`, mean `r p / (1 - p)`.
    /// A Poisson whose rate is Gamma(r, (1 - p)/p): the over-dispersed count model.
    NegativeBinomial {
        /// r (> 0; need not be whole).
        total_count,
        /// `ln(p / (1 - p))`.
        logits,
    }
}

impl NegativeBinomial {
    /// From the success probability `probs` (in `[0, 1)`).
    pub fn from_probs(
        total_count: impl Into<DTensor>,
        probs: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        let p = probs.into().clamp(1e-7, 1.0 - 1e-7);
        Self::from_params(total_count.into(), p.log() - (1.0 - &p).log())
    }
    /// From the log-odds of success.
    pub fn from_logits(
        total_count: impl Into<DTensor>,
        logits: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        Self::from_params(total_count.into(), logits.into())
    }
    /// The success probability.
    pub fn probs(&self) -> DTensor {
        self.logits.sigmoid()
    }
    /// `r p / (1 - p)`.
    pub fn mean(&self) -> DTensor {
        &self.total_count * self.logits.exp()
    }
}

impl Distribution for NegativeBinomial {
    batched_boilerplate!(NegativeBinomial);
    fn sample(&self) -> DTensor {
        let r = self
            .total_count
            .expand(&self.batch)
            .expect("batch broadcasts")
            .to_vec();
        let odds = self
            .logits
            .expand(&self.batch)
            .expect("batch broadcasts")
            .exp()
            .to_vec();
        let v = crate::rng::with_rng(|g| {
            r.iter()
                .zip(&odds)
                .map(|(&r, &o)| {
                    let rate = rand_distr::Gamma::new(r as f64, o as f64)
                        .map(|d| d.sample(g))
                        .unwrap_or(f64::NAN);
                    if rate <= 0.0 {
                        return 0.0;
                    }
                    rand_distr::Poisson::new(rate)
                        .map(|d| d.sample(g) as f32)
                        .unwrap_or(f32::NAN)
                })
                .collect()
        });
        DTensor::from_floats(v, &self.batch, &self.logits.device()).expect("one draw per element")
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let (r, l) = (&self.total_count, &self.logits);
        // r ln(1 - p) + k ln p, then the binomial coefficient Γ(k + r) / (Γ(r) k!).
        let unnormalised =
            r * (-l).log_sigmoid() + (value * l.log_sigmoid()).where_zero(value, 0.0);
        Ok(unnormalised + (value + r).lgamma() - (value + 1.0).lgamma() - r.lgamma())
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.total_count.all_gt(0.0),
            "NegativeBinomial",
            "total_count",
            "positive",
            &self.total_count,
        )
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        support(
            value.all_ge(0.0) && all_integral(value),
            self,
            "non-negative integers",
            value,
        )
    }
}
