//! RelaxedOneHotCategorical (the Concrete / Gumbel-softmax distribution) and its
//! straight-through version.

use super::bernoulli::{PROB_EPS, ProbsOrLogits};
use super::relaxed_bernoulli::{LastDraw, TINY, check_temperature};
use super::{
    DistError, Distribution, check_expand, check_value, expand_param, require, support,
    uniform_noise,
};
use crate::constraints::Constraint;
use crate::shape::{ShapeError, broadcast_shapes};
use crate::tensor::{DTensor, MAX_RANK};
use std::any::Any;
use std::sync::Arc;

const NAME: &str = "RelaxedOneHotCategorical";

/// RelaxedOneHotCategorical(temperature, probs): the Concrete or Gumbel-softmax distribution
/// (Maddison et al. 2017; Jang et al. 2017) on the simplex, a reparameterisable relaxation of
/// OneHotCategorical(probs), as torch's `RelaxedOneHotCategorical`.
///
/// A draw is `softmax((logits + g) / temperature)` with `g` standard Gumbel noise: its largest
/// component is class `k` with probability `probs[k]` at every temperature, and the draws near
/// one-hot vectors as the temperature falls. The density is torch's `ExpRelaxedCategorical`
/// pushed through `ExpTransform`, in closed form: with `K` classes,
/// `ln p(x) = ln (K-1)! + (K-1) ln t + Σ_k (l_k - t ln x_k) - K lse_k(l_k - t ln x_k) - Σ_k ln x_k`
/// (`l` the normalised logits; components are clamped up to f32's smallest normal number
/// before the logarithm, where torch would return NaN for a component of exactly 0).
///
/// # Shapes
/// The last dim of `probs` (or `logits`) holds the `K` classes and is the event shape `[K]`;
/// the batch shape is the broadcast of the rest with `temperature`'s shape.
///
/// ```
/// use lobes_ppl::prelude::*;
/// let probs = DTensor::from_floats(vec![0.2, 0.3, 0.5], &[3], &Device::flex())?;
/// let d = RelaxedOneHotCategorical::from_probs(0.5, probs)?;
/// let x = d.rsample()?;
/// assert_eq!(x.shape(), &[3]);
/// assert!((x.sum().item() - 1.0).abs() < 1e-5);
/// assert_eq!(d.log_prob(&x)?.shape(), &[] as &[usize]);
/// # Ok::<(), PplError>(())
/// ```
#[derive(Clone, Debug)]
pub struct RelaxedOneHotCategorical {
    temperature: DTensor,
    /// `temperature` with a trailing dim of size one, to broadcast over the classes.
    temperature_ev: DTensor,
    param: ProbsOrLogits,
    batch: Vec<usize>,
}

impl RelaxedOneHotCategorical {
    fn new(temperature: DTensor, param: ProbsOrLogits) -> Result<Self, DistError> {
        let p = param.tensor();
        let which = match param {
            ProbsOrLogits::Probs(_) => "probs",
            ProbsOrLogits::Logits(_) => "logits",
        };
        if p.rank() == 0 || p.shape()[p.rank() - 1] == 0 {
            return Err(DistError::InvalidParameter {
                dist: NAME,
                param: which,
                constraint: "a tensor whose last dim holds at least one class",
                found: format!("shape {}", p.dims()),
            });
        }
        let batch = broadcast_shapes(&p.shape()[..p.rank() - 1], temperature.shape())
            .map_err(|source| DistError::ParamShapes { dist: NAME, source })?;
        if batch.len() >= MAX_RANK {
            return Err(ShapeError::TooManyDims {
                shape: [batch, vec![p.shape()[p.rank() - 1]]].concat().into(),
                max: MAX_RANK,
            }
            .into());
        }
        let mut ev_shape = temperature.shape().to_vec();
        ev_shape.push(1);
        let temperature_ev = temperature.reshape(&ev_shape)?;
        Ok(RelaxedOneHotCategorical {
            temperature,
            temperature_ev,
            param,
            batch,
        })
    }
    /// From class probabilities (last dim; normalised to sum to one).
    pub fn from_probs(
        temperature: impl Into<DTensor>,
        probs: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        Self::new(temperature.into(), ProbsOrLogits::Probs(probs.into()))
    }
    /// From unnormalised log-probabilities (last dim).
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
    /// The number of classes `K`.
    pub fn num_classes(&self) -> usize {
        let p = self.param.tensor();
        p.shape()[p.rank() - 1]
    }
    /// Normalised log-probabilities, of shape `probs`'s: `ln p` with `p` normalised and clamped
    /// into `[eps, 1 - eps]` (torch's `probs_to_logits`), or `log_softmax(logits)`.
    pub fn logits(&self) -> DTensor {
        match &self.param {
            ProbsOrLogits::Probs(p) => (p / p.sum_last_keepdim())
                .clamp(PROB_EPS, 1.0 - PROB_EPS)
                .log(),
            ProbsOrLogits::Logits(l) => l.log_softmax_last(),
        }
    }
    /// Normalised class probabilities, of shape `probs`'s.
    pub fn probs(&self) -> DTensor {
        match &self.param {
            ProbsOrLogits::Probs(p) => p / p.sum_last_keepdim(),
            ProbsOrLogits::Logits(l) => l.log_softmax_last().exp(),
        }
    }
    /// A reparameterised draw of shape `batch + [K]`.
    pub(crate) fn draw(&self) -> DTensor {
        let logits = self.logits();
        let shape = [self.batch.clone(), vec![self.num_classes()]].concat();
        let u = uniform_noise(&shape, &logits).clamp(PROB_EPS, 1.0 - PROB_EPS);
        let gumbel = -(-u.log()).log();
        ((logits + gumbel) / &self.temperature_ev)
            .log_softmax_last()
            .exp()
    }
    fn check(&self, dist: &'static str) -> Result<(), DistError> {
        check_temperature(dist, &self.temperature)?;
        match &self.param {
            ProbsOrLogits::Probs(p) => {
                require(p.all_ge(0.0), dist, "probs", "non-negative", p)?;
                let s = p.sum_last_keepdim();
                require(
                    s.all_gt(0.0),
                    dist,
                    "probs",
                    "with a positive sum over classes",
                    &s,
                )
            }
            ProbsOrLogits::Logits(l) => require(!l.any_nan(), dist, "logits", "not NaN", l),
        }
    }
    fn expanded(&self, batch: &[usize]) -> Result<Self, DistError> {
        Self::new(
            self.temperature.expand(batch)?,
            self.param.map(|t| expand_param(t, batch, 1))?,
        )
    }
}

impl Distribution for RelaxedOneHotCategorical {
    fn name(&self) -> String {
        NAME.into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.batch.clone()
    }
    fn event_shape(&self) -> Vec<usize> {
        vec![self.num_classes()]
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
        let k = self.num_classes();
        let ln_x = value.clamp(TINY, 1.0).log();
        let score = self.logits() - &ln_x * &self.temperature_ev;
        let score = (&score - score.logsumexp_dim(-1)).sum_rightmost(1);
        let ln_gamma_k: f64 = (1..k).map(|i| (i as f64).ln()).sum();
        let log_scale = self.temperature.log() * (k - 1) as f64 + ln_gamma_k;
        Ok(score + log_scale - ln_x.sum_rightmost(1))
    }
    fn validate(&self) -> Result<(), DistError> {
        self.check(NAME)
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        support(Constraint::Simplex.check(value), self, "simplex", value)
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        Ok(Arc::new(self.expanded(batch)?))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Pyro's `RelaxedOneHotCategoricalStraightThrough(temperature, probs)`: a
/// [`RelaxedOneHotCategorical`] whose reparameterised draw is the one-hot vector of the soft
/// draw's largest component in the forward pass, while its gradient is the soft draw's
/// (`hard + (soft - soft.detach())`, the straight-through Gumbel-softmax of Jang et al. 2017).
///
/// `log_prob` of the value this distribution drew last is the relaxed density at the soft draw
/// behind it, as Pyro's `_unquantize`; any other value is scored as given. Pyro attaches the
/// soft draw to the value tensor, so a model that replays the value with its own
/// straight-through distribution scores the soft draw too; here only the object that drew it
/// can, so give the model a [`OneHotCategorical`](super::OneHotCategorical) prior (exact at
/// one-hot values), as Pyro's own `test_onehot_svi_usage` does.
///
/// # Shapes
/// As [`RelaxedOneHotCategorical`]: values are `batch + [K]`.
///
/// ```
/// use lobes_ppl::prelude::*;
/// let logits = DTensor::from_floats(vec![0.0, 1.0, -1.0], &[3], &Device::flex())?;
/// let d = RelaxedOneHotCategoricalStraightThrough::from_logits(0.5, logits)?;
/// let z = d.rsample()?;
/// assert_eq!(z.sum().item(), 1.0);
/// assert!(z.to_vec().iter().all(|&v| v == 0.0 || v == 1.0));
/// assert!(d.log_prob(&z)?.all_finite());
/// # Ok::<(), PplError>(())
/// ```
#[derive(Clone, Debug)]
pub struct RelaxedOneHotCategoricalStraightThrough {
    relaxed: RelaxedOneHotCategorical,
    /// `[0, 1, ..., K-1]`, to one-hot encode the largest component.
    classes: DTensor,
    last: LastDraw,
}

impl RelaxedOneHotCategoricalStraightThrough {
    /// From class probabilities (last dim).
    pub fn from_probs(
        temperature: impl Into<DTensor>,
        probs: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        Self::wrap(RelaxedOneHotCategorical::from_probs(temperature, probs)?)
    }
    /// From unnormalised log-probabilities (last dim).
    pub fn from_logits(
        temperature: impl Into<DTensor>,
        logits: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        Self::wrap(RelaxedOneHotCategorical::from_logits(temperature, logits)?)
    }
    fn wrap(relaxed: RelaxedOneHotCategorical) -> Result<Self, DistError> {
        let k = relaxed.num_classes();
        let device = relaxed.param.tensor().device();
        let classes = DTensor::from_floats((0..k).map(|i| i as f32).collect(), &[k], &device)?;
        Ok(RelaxedOneHotCategoricalStraightThrough {
            relaxed,
            classes,
            last: LastDraw::default(),
        })
    }
    /// The relaxed distribution whose draws are quantised.
    pub fn relaxed(&self) -> &RelaxedOneHotCategorical {
        &self.relaxed
    }
    fn draw(&self) -> DTensor {
        let soft = self.relaxed.draw();
        let hard = soft.argmax_dim(-1).eq_tensor(&self.classes);
        self.last.record(&hard, &soft);
        hard + (&soft - soft.detach())
    }
}

impl Distribution for RelaxedOneHotCategoricalStraightThrough {
    fn name(&self) -> String {
        "RelaxedOneHotCategoricalStraightThrough".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.relaxed.batch_shape()
    }
    fn event_shape(&self) -> Vec<usize> {
        self.relaxed.event_shape()
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
        self.relaxed
            .check("RelaxedOneHotCategoricalStraightThrough")
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        support(Constraint::Simplex.check(value), self, "simplex", value)
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        Ok(Arc::new(Self::wrap(self.relaxed.expanded(batch)?)?))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
