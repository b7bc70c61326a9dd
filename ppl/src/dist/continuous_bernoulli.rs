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
        let x = &p - 0.5;
        let outside = x.abs().gt_scalar(LIM);
        // Keep the exact branch away from 0/0 by substituting a safe p where the series is used.
        let safe_p = p.select_where(&outside, &(&p * 0.0 + (0.5 - 2.0 * LIM)));
        let one_m_2p = &safe_p * -2.0 + 1.0;
        let exact = (one_m_2p.atanh() * 2.0).abs().log() - one_m_2p.abs().log();
        let x2 = x.square();
        let taylor = &x2 * (&x2 * (104.0 / 45.0) + 4.0 / 3.0) + std::f64::consts::LN_2;
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
        let outside = (&p - 0.5).abs().gt_scalar(LIM);
        let safe_p = p.select_where(&outside, &(&p * 0.0 + (0.5 - 2.0 * LIM)));
        // ln(1 - p + u (2p - 1)) - ln(1 - p), over ln p - ln(1 - p).
        let num = (-&safe_p + &u * (&safe_p * 2.0 - 1.0)).log1p() - (-&safe_p).log1p();
        let den = safe_p.log() - (-&safe_p).log1p();
        Ok((num / den).select_where(&outside, &u))
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let (lp, lq) = self.param.log_p_q();
        Ok(value * &lp + (1.0 - value) * &lq + self.log_norm())
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
