//! The multinomial distribution.

use super::poisson::all_integral;
use super::{DistError, Distribution, check_expand, check_value, require, support};
use crate::tensor::DTensor;
use rand_distr::Distribution as _;
use std::any::Any;
use std::sync::Arc;

/// Multinomial(total_count, probs): counts of `total_count` draws among `K` categories, event
/// shape `[K]`: `P(x) = n! / Π x_i! Π p_i^(x_i)` (torch's; `probs` need not be normalised).
#[derive(Clone, Debug)]
pub struct Multinomial {
    /// The number of draws n.
    pub total_count: usize,
    /// Normalised log-probabilities, `batch + [K]`.
    pub logits: DTensor,
    batch: Vec<usize>,
}

impl Multinomial {
    /// `total_count` draws with category probabilities proportional to `probs` (`batch + [K]`).
    pub fn from_probs(total_count: usize, probs: impl Into<DTensor>) -> Result<Self, DistError> {
        Self::from_logits(total_count, probs.into().log())
    }
    /// `total_count` draws with category log-probabilities `logits` (normalised here).
    pub fn from_logits(total_count: usize, logits: impl Into<DTensor>) -> Result<Self, DistError> {
        let logits = logits.into();
        if logits.rank() == 0 {
            return Err(DistError::InvalidParameter {
                dist: "Multinomial",
                param: "probs",
                constraint: "a tensor with a category dim",
                found: "a scalar".into(),
            });
        }
        let batch = logits.shape()[..logits.rank() - 1].to_vec();
        Ok(Multinomial {
            total_count,
            logits: logits.log_softmax_last(),
            batch,
        })
    }
    fn k(&self) -> usize {
        self.logits.shape()[self.logits.rank() - 1]
    }
}

impl Distribution for Multinomial {
    fn name(&self) -> String {
        "Multinomial".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.batch.clone()
    }
    fn event_shape(&self) -> Vec<usize> {
        vec![self.k()]
    }
    fn sample(&self) -> DTensor {
        let k = self.k();
        let p: Vec<f32> = self.logits.exp().to_vec();
        let n = self.total_count as u64;
        let v = crate::rng::with_rng(|r| {
            let mut out = Vec::with_capacity(p.len());
            for row in p.chunks(k) {
                // Sequential conditional binomials.
                let (mut left, mut mass) = (n, 1.0f64);
                for (i, &pi) in row.iter().enumerate() {
                    let x = if i + 1 == k || left == 0 {
                        left
                    } else {
                        let q = (pi as f64 / mass).clamp(0.0, 1.0);
                        rand_distr::Binomial::new(left, q)
                            .map(|b| b.sample(r))
                            .unwrap_or(0)
                    };
                    out.push(x as f32);
                    left -= x;
                    mass -= pi as f64;
                }
            }
            out
        });
        DTensor::from_floats(v, self.logits.shape(), &self.logits.device())
            .expect("one count per category")
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let ln_n_factorial: f64 = (1..=self.total_count).map(|i| (i as f64).ln()).sum();
        let terms = (value * &self.logits).where_zero(value, 0.0) - (value + 1.0).lgamma();
        Ok(terms.sum_rightmost(1) + ln_n_factorial)
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            !self.logits.any_nan(),
            "Multinomial",
            "probs",
            "non-negative",
            &self.logits.exp(),
        )
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        let sums = value.sum_rightmost(1);
        let ok = value.all_ge(0.0) && all_integral(value) && sums.all_eq(self.total_count as f64);
        support(
            ok,
            self,
            "non-negative integers summing to total_count",
            value,
        )
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        let logits = self.logits.expand(&[batch, &[self.k()]].concat())?;
        Ok(Arc::new(Multinomial {
            total_count: self.total_count,
            logits,
            batch: batch.to_vec(),
        }))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
