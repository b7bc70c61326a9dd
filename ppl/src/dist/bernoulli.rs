//! The Bernoulli distribution, from probabilities or logits.

use super::{
    DistError, Distribution, check_expand, check_value, require, support, support_values,
    uniform_noise,
};
use crate::tensor::DTensor;
use std::any::Any;
use std::sync::Arc;

/// The smallest probability used inside logarithms: f32's machine epsilon, as torch's
/// `clamp_probs`.
pub(crate) const PROB_EPS: f64 = f32::EPSILON as f64;

/// How a Bernoulli (or ContinuousBernoulli) was parameterised.
#[derive(Clone, Debug)]
pub(crate) enum ProbsOrLogits {
    Probs(DTensor),
    Logits(DTensor),
}

impl ProbsOrLogits {
    pub(crate) fn tensor(&self) -> &DTensor {
        match self {
            ProbsOrLogits::Probs(t) | ProbsOrLogits::Logits(t) => t,
        }
    }
    pub(crate) fn probs(&self) -> DTensor {
        match self {
            ProbsOrLogits::Probs(p) => p.clone(),
            ProbsOrLogits::Logits(l) => l.sigmoid(),
        }
    }
    /// `(ln p, ln(1 - p))`, clamped away from `ln 0` as torch does.
    pub(crate) fn log_p_q(&self) -> (DTensor, DTensor) {
        match self {
            ProbsOrLogits::Probs(p) => {
                let p = p.clamp(PROB_EPS, 1.0 - PROB_EPS);
                (p.log(), (-&p).log1p())
            }
            ProbsOrLogits::Logits(l) => (l.log_sigmoid(), (-l).log_sigmoid()),
        }
    }
    pub(crate) fn map(
        &self,
        f: impl Fn(&DTensor) -> Result<DTensor, DistError>,
    ) -> Result<Self, DistError> {
        Ok(match self {
            ProbsOrLogits::Probs(p) => ProbsOrLogits::Probs(f(p)?),
            ProbsOrLogits::Logits(l) => ProbsOrLogits::Logits(f(l)?),
        })
    }
    pub(crate) fn validate(&self, dist: &'static str) -> Result<(), DistError> {
        match self {
            ProbsOrLogits::Probs(p) => require(
                p.all_ge(0.0) && p.all_le(1.0),
                dist,
                "probs",
                "in [0, 1]",
                p,
            ),
            ProbsOrLogits::Logits(l) => require(!l.any_nan(), dist, "logits", "not NaN", l),
        }
    }
}

/// Bernoulli(probs) over `{0, 1}`.
///
/// `log_prob` also accepts continuous targets in `[0, 1]` (`x ln p + (1 - x) ln(1 - p)`, the
/// binary cross-entropy), because the paper's likelihood is a Bernoulli over pixel values.
#[derive(Clone, Debug)]
pub struct Bernoulli {
    param: ProbsOrLogits,
}

impl Bernoulli {
    /// A Bernoulli with success probability `probs`.
    pub fn from_probs(probs: impl Into<DTensor>) -> Result<Self, DistError> {
        Ok(Bernoulli {
            param: ProbsOrLogits::Probs(probs.into()),
        })
    }
    /// A Bernoulli with log-odds `logits`.
    pub fn from_logits(logits: impl Into<DTensor>) -> Result<Self, DistError> {
        Ok(Bernoulli {
            param: ProbsOrLogits::Logits(logits.into()),
        })
    }
    /// The success probabilities.
    pub fn probs(&self) -> DTensor {
        self.param.probs()
    }
}

impl Distribution for Bernoulli {
    fn name(&self) -> String {
        "Bernoulli".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.param.tensor().shape().to_vec()
    }
    fn sample(&self) -> DTensor {
        let p = self.probs().detach();
        let u = uniform_noise(p.shape(), &p);
        (&p - &u).gt_scalar(0.0)
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        // On the CPU backend, the same values in one parallel pass (bernoulli_op.rs).
        if let ProbsOrLogits::Probs(p) = &self.param
            && let Some(lp) = super::bernoulli_op::bernoulli_log_prob(p, value)
        {
            return Ok(lp);
        }
        let (lp, lq) = self.param.log_p_q();
        Ok(value * &lp + (1.0 - value) * &lq)
    }
    fn validate(&self) -> Result<(), DistError> {
        self.param.validate("Bernoulli")
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
        Ok(Arc::new(Bernoulli {
            param: self.param.map(|t| Ok(t.expand(batch)?))?,
        }))
    }
    fn has_enumerate_support(&self) -> bool {
        true
    }
    fn enumerate_support(&self, expand: bool) -> Option<DTensor> {
        let t = self.param.tensor();
        support_values(
            vec![0.0, 1.0],
            &[],
            &self.batch_shape(),
            expand,
            &t.device(),
        )
    }
    fn entropy(&self) -> Option<DTensor> {
        let p = self.probs();
        let (lp, lq) = self.param.log_p_q();
        Some(-(&p * &lp + (1.0 - &p) * &lq))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
