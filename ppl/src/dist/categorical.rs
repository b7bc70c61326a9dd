//! Categorical and OneHotCategorical distributions.

use super::bernoulli::ProbsOrLogits;
use super::{
    DistError, Distribution, check_expand, check_value, expand_param, require, support,
    support_values,
};
use crate::tensor::DTensor;
use std::any::Any;
use std::sync::Arc;

/// Categorical(probs) over `{0, ..., K-1}`: the last dim of `probs` (or `logits`) holds the
/// K class weights (normalised here); the rest is the batch shape. Values are class indices,
/// stored as floats like every site value.
#[derive(Clone, Debug)]
pub struct Categorical {
    param: ProbsOrLogits,
}

fn check_classes(dist: &'static str, t: &DTensor) -> Result<(), DistError> {
    if t.rank() == 0 || t.shape()[t.rank() - 1] == 0 {
        return Err(DistError::InvalidParameter {
            dist,
            param: "probs",
            constraint: "a tensor whose last dim holds at least one class",
            found: format!("shape {}", t.dims()),
        });
    }
    Ok(())
}

impl Categorical {
    /// From class probabilities (last dim; normalised to sum to one).
    pub fn from_probs(probs: impl Into<DTensor>) -> Result<Self, DistError> {
        let p = probs.into();
        check_classes("Categorical", &p)?;
        Ok(Categorical {
            param: ProbsOrLogits::Probs(p),
        })
    }
    /// From unnormalised log-probabilities (last dim).
    pub fn from_logits(logits: impl Into<DTensor>) -> Result<Self, DistError> {
        let l = logits.into();
        check_classes("Categorical", &l)?;
        Ok(Categorical {
            param: ProbsOrLogits::Logits(l),
        })
    }
    /// The number of classes.
    pub fn num_classes(&self) -> usize {
        *self
            .param
            .tensor()
            .shape()
            .last()
            .expect("checked non-scalar")
    }
    /// Normalised log-probabilities, shape `batch + [K]`.
    pub fn log_probs(&self) -> DTensor {
        match &self.param {
            ProbsOrLogits::Probs(p) => (p / p.sum_last_keepdim()).clamp(1e-38, 1.0).log(),
            ProbsOrLogits::Logits(l) => l.log_softmax_last(),
        }
    }
    /// Normalised probabilities, shape `batch + [K]`.
    pub fn probs(&self) -> DTensor {
        match &self.param {
            ProbsOrLogits::Probs(p) => p / p.sum_last_keepdim(),
            ProbsOrLogits::Logits(l) => l.log_softmax_last().exp(),
        }
    }
    fn draw_indices(&self) -> DTensor {
        let p = self.probs().detach();
        let k = self.num_classes();
        let batch = self.batch_shape();
        let probs = p.to_vec();
        let u = crate::rng::uniforms(probs.len() / k);
        let idx: Vec<f32> = probs
            .chunks(k)
            .zip(u)
            .map(|(row, u)| {
                let mut acc = 0.0;
                for (i, &pi) in row.iter().enumerate() {
                    acc += pi;
                    if u < acc {
                        return i as f32;
                    }
                }
                (k - 1) as f32
            })
            .collect();
        DTensor::from_floats(idx, &batch, &p.device()).expect("one index per batch element")
    }
    fn validate_probs(&self, dist: &'static str) -> Result<(), DistError> {
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
}

impl Distribution for Categorical {
    fn name(&self) -> String {
        "Categorical".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        let s = self.param.tensor().shape();
        s[..s.len() - 1].to_vec()
    }
    fn sample(&self) -> DTensor {
        self.draw_indices()
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        Ok(self.log_probs().gather_last(value)?)
    }
    fn validate(&self) -> Result<(), DistError> {
        self.validate_probs("Categorical")
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        let k = self.num_classes() as f64;
        let integral = (value - value.clamp(0.0, k - 1.0)).all_eq(0.0)
            && value.to_vec().iter().all(|v| v.fract() == 0.0);
        support(integral, self, "integers 0..K-1", value)
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        Ok(Arc::new(Categorical {
            param: self.param.map(|t| expand_param(t, batch, 1))?,
        }))
    }
    fn has_enumerate_support(&self) -> bool {
        true
    }
    fn enumerate_support(&self, expand: bool) -> Option<DTensor> {
        let k = self.num_classes();
        let values = (0..k).map(|i| i as f32).collect();
        let device = self.param.tensor().device();
        support_values(values, &[], &self.batch_shape(), expand, &device)
    }
    fn entropy(&self) -> Option<DTensor> {
        let lp = self.log_probs();
        Some(-(lp.exp() * &lp).sum_rightmost(1))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// OneHotCategorical(probs): a Categorical whose values are one-hot vectors (event shape `[K]`).
#[derive(Clone, Debug)]
pub struct OneHotCategorical {
    /// The Categorical over class indices.
    pub base: Categorical,
}

impl OneHotCategorical {
    /// From class probabilities (last dim).
    pub fn from_probs(probs: impl Into<DTensor>) -> Result<Self, DistError> {
        Ok(OneHotCategorical {
            base: Categorical::from_probs(probs)?,
        })
    }
    /// From unnormalised log-probabilities (last dim).
    pub fn from_logits(logits: impl Into<DTensor>) -> Result<Self, DistError> {
        Ok(OneHotCategorical {
            base: Categorical::from_logits(logits)?,
        })
    }
}

impl Distribution for OneHotCategorical {
    fn name(&self) -> String {
        "OneHotCategorical".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.base.batch_shape()
    }
    fn event_shape(&self) -> Vec<usize> {
        vec![self.base.num_classes()]
    }
    fn sample(&self) -> DTensor {
        self.base
            .draw_indices()
            .one_hot(self.base.num_classes())
            .expect("batch shape leaves room for the class dim")
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        Ok((value * self.base.log_probs()).sum_rightmost(1))
    }
    fn validate(&self) -> Result<(), DistError> {
        self.base.validate_probs("OneHotCategorical")
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        let binary = (value * (1.0 - value)).all_eq(0.0);
        let one = (value.sum_rightmost(1) - 1.0).all_eq(0.0);
        support(binary && one, self, "one-hot vectors", value)
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        Ok(Arc::new(OneHotCategorical {
            base: Categorical {
                param: self.base.param.map(|t| expand_param(t, batch, 1))?,
            },
        }))
    }
    fn has_enumerate_support(&self) -> bool {
        true
    }
    fn enumerate_support(&self, expand: bool) -> Option<DTensor> {
        let k = self.base.num_classes();
        let eye = (0..k * k)
            .map(|i| if i / k == i % k { 1.0 } else { 0.0 })
            .collect();
        let device = self.base.param.tensor().device();
        support_values(eye, &[k], &self.batch_shape(), expand, &device)
    }
    fn entropy(&self) -> Option<DTensor> {
        self.base.entropy()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
