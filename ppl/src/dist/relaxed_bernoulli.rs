//! RelaxedBernoulli (the binary Concrete distribution) and its straight-through version.

use super::bernoulli::{PROB_EPS, ProbsOrLogits};
use super::{
    DistError, Distribution, broadcast_params, check_expand, check_value, require, support,
    uniform_noise,
};
use crate::tensor::DTensor;
use std::any::Any;
use std::sync::{Arc, Mutex, PoisonError};

/// The smallest positive normal f32 (torch's `finfo.tiny`): values are clamped up to it
/// before a logarithm, as torch clips sigmoid outputs.
pub(crate) const TINY: f64 = f32::MIN_POSITIVE as f64;

/// `clamp(x, tiny, 1 - eps)`: torch's clipping of `SigmoidTransform`'s outputs and inputs.
fn clip_unit(x: &DTensor) -> DTensor {
    x.clamp(TINY, 1.0 - PROB_EPS)
}

pub(crate) fn check_temperature(dist: &'static str, t: &DTensor) -> Result<(), DistError> {
    require(t.all_gt(0.0), dist, "temperature", "positive", t)
}

/// The soft draw behind the last hard value a straight-through distribution returned, so that
/// `log_prob` of that value is the relaxed density at the soft draw (Pyro attaches the soft
/// draw to the value tensor as `_unquantize`). A clone starts empty: each distribution object
/// scores its own draw.
#[derive(Debug, Default)]
pub(crate) struct LastDraw(Mutex<Option<(DTensor, DTensor)>>);

impl Clone for LastDraw {
    fn clone(&self) -> Self {
        LastDraw::default()
    }
}

impl LastDraw {
    /// Remembers `(hard, soft)`.
    pub(crate) fn record(&self, hard: &DTensor, soft: &DTensor) {
        let mut last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *last = Some((hard.detach(), soft.clone()));
    }
    /// The soft draw when `value` is exactly the last hard value, else `value` itself.
    pub(crate) fn unquantize(&self, value: &DTensor) -> DTensor {
        let last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match &*last {
            Some((hard, soft))
                if hard.shape() == value.shape() && value.eq_tensor(hard).all_eq(1.0) =>
            {
                soft.clone()
            }
            _ => value.clone(),
        }
    }
}

/// RelaxedBernoulli(temperature, probs): the binary Concrete distribution (Maddison et al.
/// 2017; Jang et al. 2017) on `(0, 1)`, a reparameterisable relaxation of Bernoulli(probs), as
/// torch's `RelaxedBernoulli`.
///
/// A draw is `sigmoid((logits + ln u - ln(1 - u)) / temperature)` with `u ~ Uniform(0, 1)`,
/// clipped into `[tiny, 1 - eps]` as torch does: `P(x > 1/2) = probs` at every temperature,
/// and the draws crowd at 0 and 1 as the temperature falls. The density is torch's
/// `LogitRelaxedBernoulli` pushed through `SigmoidTransform`, in closed form:
/// `ln p(x) = ln t + d - 2 softplus(d) - ln x - ln(1 - x)` with `d = logits - t logit(x)`.
///
/// # Shapes
/// The batch shape is the broadcast of `temperature`'s and `probs`'s (or `logits`'s) shapes;
/// the event is a scalar.
///
/// ```
/// use lobes_ppl::prelude::*;
/// let probs = DTensor::from_floats(vec![0.2, 0.9], &[2], &Device::flex())?;
/// let d = RelaxedBernoulli::from_probs(0.5, probs)?;
/// let x = d.rsample()?;
/// assert_eq!(x.shape(), &[2]);
/// assert!(x.all_gt(0.0) && x.all_le(1.0));
/// assert_eq!(d.log_prob(&x)?.shape(), &[2]);
/// # Ok::<(), PplError>(())
/// ```
#[derive(Clone, Debug)]
pub struct RelaxedBernoulli {
    temperature: DTensor,
    param: ProbsOrLogits,
    batch: Vec<usize>,
}

impl RelaxedBernoulli {
    fn new(temperature: DTensor, param: ProbsOrLogits) -> Result<Self, DistError> {
        let batch = broadcast_params("RelaxedBernoulli", &[&temperature, param.tensor()])?;
        Ok(RelaxedBernoulli {
            temperature,
            param,
            batch,
        })
    }
    /// A RelaxedBernoulli with success probability `probs` (Pyro's
    /// `RelaxedBernoulli(temperature, probs=p)`).
    pub fn from_probs(
        temperature: impl Into<DTensor>,
        probs: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        Self::new(temperature.into(), ProbsOrLogits::Probs(probs.into()))
    }
    /// A RelaxedBernoulli with log-odds `logits` (Pyro's `logits=l`).
    pub fn from_logits(
        temperature: impl Into<DTensor>,
        logits: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        Self::new(temperature.into(), ProbsOrLogits::Logits(logits.into()))
    }
    /// The temperature.
    pub fn temperature(&self) -> &DTensor {
        &self.temperature
    }
    /// The success probabilities of the Bernoulli it relaxes.
    pub fn probs(&self) -> DTensor {
        self.param.probs()
    }
    /// The log-odds, `ln p - ln(1 - p)` with `p` clamped into `[eps, 1 - eps]` (torch's
    /// `probs_to_logits`) when built from probabilities.
    pub fn logits(&self) -> DTensor {
        match &self.param {
            ProbsOrLogits::Logits(l) => l.clone(),
            ProbsOrLogits::Probs(_) => {
                let (lp, lq) = self.param.log_p_q();
                lp - lq
            }
        }
    }
    /// A reparameterised draw of the batch shape.
    pub(crate) fn draw(&self) -> DTensor {
        let logits = self.logits();
        let u = uniform_noise(&self.batch, &logits).clamp(PROB_EPS, 1.0 - PROB_EPS);
        let logistic = u.log() - (-&u).log1p();
        clip_unit(&((logits + logistic) / &self.temperature).sigmoid())
    }
    fn check(&self, dist: &'static str) -> Result<(), DistError> {
        check_temperature(dist, &self.temperature)?;
        self.param.validate(dist)
    }
    fn expanded(&self, batch: &[usize]) -> Result<Self, DistError> {
        Self::new(
            self.temperature.expand(batch)?,
            self.param.map(|t| Ok(t.expand(batch)?))?,
        )
    }
}

impl Distribution for RelaxedBernoulli {
    fn name(&self) -> String {
        "RelaxedBernoulli".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.batch.clone()
    }
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.draw().detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        Ok(self.draw())
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let x = clip_unit(value);
        let (ln_x, ln_1mx) = (x.log(), (-&x).log1p());
        let t = &self.temperature;
        let diff = self.logits() - (&ln_x - &ln_1mx) * t;
        Ok(t.log() + &diff - diff.softplus() * 2.0 - ln_x - ln_1mx)
    }
    fn validate(&self) -> Result<(), DistError> {
        self.check("RelaxedBernoulli")
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
        Ok(Arc::new(self.expanded(batch)?))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Pyro's `RelaxedBernoulliStraightThrough(temperature, probs)`: a [`RelaxedBernoulli`] whose
/// reparameterised draw is quantised to exactly 0 or 1 (the soft draw rounded) in the forward
/// pass, while its gradient is the soft draw's (`hard + (soft - soft.detach())`, the
/// straight-through estimator of Bengio et al. 2013).
///
/// `log_prob` of the value this distribution drew last is the relaxed density at the soft draw
/// behind it, as Pyro's `_unquantize`; any other value is scored as given. Pyro attaches the
/// soft draw to the value tensor, so a model that replays the value with its own
/// straight-through distribution scores the soft draw too; here only the object that drew it
/// can, so give the model a [`Bernoulli`](super::Bernoulli) prior (exact at 0 and 1).
///
/// # Shapes
/// As [`RelaxedBernoulli`].
///
/// ```
/// use lobes_ppl::prelude::*;
/// let d = RelaxedBernoulliStraightThrough::from_probs(0.5, 0.3)?;
/// let z = d.rsample()?;
/// assert!(z.all_eq(0.0) || z.all_eq(1.0));
/// // The relaxed density of the soft draw behind `z`:
/// assert!(d.log_prob(&z)?.all_finite());
/// # Ok::<(), PplError>(())
/// ```
#[derive(Clone, Debug)]
pub struct RelaxedBernoulliStraightThrough {
    relaxed: RelaxedBernoulli,
    last: LastDraw,
}

impl RelaxedBernoulliStraightThrough {
    /// From success probabilities `probs`.
    pub fn from_probs(
        temperature: impl Into<DTensor>,
        probs: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        Ok(Self::wrap(RelaxedBernoulli::from_probs(
            temperature,
            probs,
        )?))
    }
    /// From log-odds `logits`.
    pub fn from_logits(
        temperature: impl Into<DTensor>,
        logits: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        Ok(Self::wrap(RelaxedBernoulli::from_logits(
            temperature,
            logits,
        )?))
    }
    fn wrap(relaxed: RelaxedBernoulli) -> Self {
        RelaxedBernoulliStraightThrough {
            relaxed,
            last: LastDraw::default(),
        }
    }
    /// The relaxed distribution whose draws are quantised.
    pub fn relaxed(&self) -> &RelaxedBernoulli {
        &self.relaxed
    }
    fn draw(&self) -> DTensor {
        let soft = self.relaxed.draw();
        // torch's `round` sends 0.5 to the even value, 0.
        let hard = soft.gt_scalar(0.5);
        self.last.record(&hard, &soft);
        hard + (&soft - soft.detach())
    }
}

impl Distribution for RelaxedBernoulliStraightThrough {
    fn name(&self) -> String {
        "RelaxedBernoulliStraightThrough".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.relaxed.batch_shape()
    }
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.draw().detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        Ok(self.draw())
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        self.relaxed.log_prob(&self.last.unquantize(value))
    }
    fn validate(&self) -> Result<(), DistError> {
        self.relaxed.check("RelaxedBernoulliStraightThrough")
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
        Ok(Arc::new(Self::wrap(self.relaxed.expanded(batch)?)))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
