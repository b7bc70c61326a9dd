//! The ContinuousBernoulli distribution (Loaiza-Ganem & Cunningham 2019) on `[0, 1]`.

use super::bernoulli::ProbsOrLogits;
use super::{DistError, Distribution, check_expand, check_value, support, uniform_noise};
use crate::tensor::DTensor;
use std::any::Any;
use std::sync::Arc;

/// Outside `(0.5 - LIM, 0.5 + LIM)` the normaliser is computed exactly, inside by its Taylor
/// series (as torch does), where the exact formula is 0/0.
const LIM: f64 = 1e-3;

/// ContinuousBernoulli(probs): density `C(p) p^x (1 - p)^(1 - x)` on `[0, 1]`; reparameterisable.
#[derive(Clone, Debug)]
pub struct ContinuousBernoulli {
    param: ProbsOrLogits,
}

impl ContinuousBernoulli {
    /// From the shape parameter `probs` in `(0, 1)`.
    pub fn from_probs(probs: impl Into<DTensor>) -> Result<Self, DistError> {
        Ok(ContinuousBernoulli {
            param: ProbsOrLogits::Probs(probs.into()),
        })
    }
    /// From `logits = ln(p / (1 - p))`.
    pub fn from_logits(logits: impl Into<DTensor>) -> Result<Self, DistError> {
        Ok(ContinuousBernoulli {
            param: ProbsOrLogits::Logits(logits.into()),
        })
    }

    fn clamped_probs(&self) -> DTensor {
        self.param
            .probs()
            .clamp(super::bernoulli::PROB_EPS, 1.0 - super::bernoulli::PROB_EPS)
    }

    /// `ln C(p)`, `C(p) = 2 atanh(1 - 2p) / (1 - 2p)`, with its Taylor series near `p = 1/2`.
    fn log_norm(&self) -> DTensor {
        let p = self.clamped_probs();
        let x = p.add_scalar(-0.5);
        let outside = x.abs().gt_scalar(LIM);
        // Keep the exact branch away from 0/0 by substituting a safe p where the series is used.
        let safe_p = p.select_where(&outside, &p.mul_scalar(0.0).add_scalar(0.5 - 2.0 * LIM));
        let one_m_2p = safe_p.mul_scalar(-2.0).add_scalar(1.0);
        let exact = one_m_2p
            .atanh()
            .mul_scalar(2.0)
            .abs()
            .log()
            .sub(&one_m_2p.abs().log());
        let x2 = x.square();
        let taylor = x2
            .mul(&x2.mul_scalar(104.0 / 45.0).add_scalar(4.0 / 3.0))
            .add_scalar(std::f64::consts::LN_2);
        exact.select_where(&outside, &taylor)
    }
}

impl Distribution for ContinuousBernoulli {
    fn name(&self) -> String {
        "ContinuousBernoulli".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.param.tensor().shape().to_vec()
    }
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.rsample()
            .expect("ContinuousBernoulli has rsample")
            .detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        // Inverse CDF: x = [ln(1 - p + u (2p - 1)) - ln(1 - p)] / [ln p - ln(1 - p)], u near 1/2
        // for p near 1/2.
        let p = self.clamped_probs();
        let u = uniform_noise(p.shape(), &p);
        let outside = p.add_scalar(-0.5).abs().gt_scalar(LIM);
        let safe_p = p.select_where(&outside, &p.mul_scalar(0.0).add_scalar(0.5 - 2.0 * LIM));
        let num = safe_p
            .neg()
            .add(&u.mul(&safe_p.mul_scalar(2.0).add_scalar(-1.0)))
            .log1p()
            .sub(&safe_p.neg().log1p());
        let den = safe_p.log().sub(&safe_p.neg().log1p());
        Ok(num.div(&den).select_where(&outside, &u))
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let (lp, lq) = self.param.log_p_q();
        Ok(value
            .mul(&lp)
            .add(&value.rsub_scalar(1.0).mul(&lq))
            .add(&self.log_norm()))
    }
    fn validate(&self) -> Result<(), DistError> {
        self.param.validate("ContinuousBernoulli")
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        support(
            value.all_ge(0.0) && value.all_le(1.0),
            self,
            "[0, 1]",
            value,
        )
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        Ok(Arc::new(ContinuousBernoulli {
            param: self.param.map(|t| Ok(t.expand(batch)?))?,
        }))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
