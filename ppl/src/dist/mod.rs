//! Distributions with batch and event shapes, as `torch.distributions` / `pyro.distributions`.
//!
//! A distribution's `batch_shape` indexes independent draws; its `event_shape` is the shape of
//! one draw. `log_prob(value)` returns a tensor of the (broadcast) batch shape. Parameters are
//! [`DTensor`]s; constructors check that parameter shapes broadcast, and the values themselves
//! (a negative scale, a probability above one) are checked by [`Distribution::validate`] when
//! the distribution reaches a sample site, so the error can name the site.

mod batched;
mod bernoulli;
mod bernoulli_op;
mod beta;
mod binomial;
mod categorical;
mod cauchy;
mod continuous_bernoulli;
mod delta;
mod dirichlet;
mod error;
mod exponential;
mod gamma;
mod gumbel;
mod half_cauchy;
mod half_normal;
mod independent;
mod inverse_gamma;
mod kl;
mod laplace;
mod lkj_cholesky;
mod logistic;
mod lognormal;
mod low_rank_multivariate_normal;
mod masked;
mod mixture_same_family;
mod multinomial;
mod multivariate_normal;
mod negative_binomial;
mod normal;
mod pareto;
mod poisson;
mod relaxed_bernoulli;
mod relaxed_categorical;
mod special;
mod student_t;
mod transformed;
mod transforms;
mod uniform;
mod unit;
mod von_mises;
mod weibull;
mod zero_inflated;

pub use bernoulli::Bernoulli;
pub use beta::Beta;
pub use binomial::Binomial;
pub use categorical::{Categorical, OneHotCategorical};
pub use cauchy::Cauchy;
pub use continuous_bernoulli::ContinuousBernoulli;
pub use delta::Delta;
pub use dirichlet::Dirichlet;
pub use error::DistError;
pub use exponential::Exponential;
pub use gamma::Gamma;
pub use gumbel::Gumbel;
pub use half_cauchy::HalfCauchy;
pub use half_normal::HalfNormal;
pub use independent::Independent;
pub use inverse_gamma::InverseGamma;
pub use kl::{kl_divergence, register_kl};
pub use laplace::Laplace;
pub use lkj_cholesky::LkjCholesky;
pub use logistic::Logistic;
pub use lognormal::LogNormal;
pub use low_rank_multivariate_normal::LowRankMultivariateNormal;
pub use masked::Masked;
pub use mixture_same_family::MixtureSameFamily;
pub use multinomial::Multinomial;
pub use multivariate_normal::MultivariateNormal;
pub use negative_binomial::NegativeBinomial;
pub use normal::Normal;
pub use pareto::Pareto;
pub use poisson::Poisson;
pub use relaxed_bernoulli::{RelaxedBernoulli, RelaxedBernoulliStraightThrough};
pub use relaxed_categorical::{RelaxedOneHotCategorical, RelaxedOneHotCategoricalStraightThrough};
pub use special::{digamma, lgamma};
pub use student_t::StudentT;
pub use transformed::TransformedDistribution;
pub(crate) use transforms::expm1;
pub use transforms::{
    AffineTransform, ExpTransform, SigmoidTransform, SoftplusTransform, Transform,
};
pub use uniform::Uniform;
pub use unit::Unit;
pub use von_mises::{VonMises, log_bessel_i0};
pub use weibull::Weibull;
pub use zero_inflated::ZeroInflated;

use crate::constraints::Constraint;
use crate::shape::broadcast_shapes;
use crate::tensor::DTensor;
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// A probability distribution over tensors of shape `batch_shape + event_shape`.
pub trait Distribution: fmt::Debug + Send + Sync + 'static {
    /// The distribution's name as the shape table prints it, e.g. `Normal`.
    fn name(&self) -> String;
    /// Shape of independent, non-identical draws.
    fn batch_shape(&self) -> Vec<usize>;
    /// Shape of one draw: `[]` (a scalar) unless the distribution says otherwise, as in
    /// `torch.distributions.Distribution`.
    fn event_shape(&self) -> Vec<usize> {
        vec![]
    }
    /// Whether [`Distribution::rsample`] exists (pathwise gradients).
    fn has_rsample(&self) -> bool {
        false
    }
    /// A draw of shape `batch + event`, cut from the graph.
    fn sample(&self) -> DTensor;
    /// A reparameterised draw whose gradient flows into the parameters.
    fn rsample(&self) -> Result<DTensor, DistError> {
        Err(DistError::NoRsample { dist: self.name() })
    }
    /// Log-density of `value`, of the broadcast batch shape.
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError>;
    /// Checks parameter values (a positive scale, probabilities in `[0, 1]`, ...).
    fn validate(&self) -> Result<(), DistError> {
        Ok(())
    }
    /// Checks that `value` lies in the support.
    fn check_support(&self, _value: &DTensor) -> Result<(), DistError> {
        Ok(())
    }
    /// The same distribution with its parameters broadcast to a new batch shape.
    fn expand_batch(&self, batch_shape: &[usize]) -> Result<Arc<dyn Distribution>, DistError>;
    /// Entropy, where known in closed form.
    fn entropy(&self) -> Option<DTensor> {
        None
    }
    /// Whether the support is finite, so the site can be enumerated (torch's
    /// `has_enumerate_support`).
    fn has_enumerate_support(&self) -> bool {
        false
    }
    /// Every value of a finite support, along a new leading dim (torch's
    /// `enumerate_support`): shape `[K] + [1; batch rank] + event`, or `[K] + batch + event`
    /// with `expand`. `None` where the support is not finite.
    fn enumerate_support(&self, _expand: bool) -> Option<DTensor> {
        None
    }
    /// The support as a [`Constraint`] whose transform maps unconstrained space onto it,
    /// where there is one: the autoguides and MCMC sample such sites in unconstrained space.
    /// `None` (the default) for discrete distributions and supports without a bijection here;
    /// a user's distribution returns `Some(Constraint::custom(&MY_BIJECTION))` for its own.
    fn support(&self) -> Option<Constraint> {
        None
    }
    /// `self` as `Any`: downcasting, for the KL registry and to recognise a type.
    fn as_any(&self) -> &dyn Any;
}

impl Distribution for Arc<dyn Distribution> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn batch_shape(&self) -> Vec<usize> {
        (**self).batch_shape()
    }
    fn event_shape(&self) -> Vec<usize> {
        (**self).event_shape()
    }
    fn has_rsample(&self) -> bool {
        (**self).has_rsample()
    }
    fn sample(&self) -> DTensor {
        (**self).sample()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        (**self).rsample()
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        (**self).log_prob(value)
    }
    fn validate(&self) -> Result<(), DistError> {
        (**self).validate()
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        (**self).check_support(value)
    }
    fn expand_batch(&self, batch_shape: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        (**self).expand_batch(batch_shape)
    }
    fn has_enumerate_support(&self) -> bool {
        (**self).has_enumerate_support()
    }
    fn enumerate_support(&self, expand: bool) -> Option<DTensor> {
        (**self).enumerate_support(expand)
    }
    fn entropy(&self) -> Option<DTensor> {
        (**self).entropy()
    }
    fn support(&self) -> Option<Constraint> {
        (**self).support()
    }
    fn as_any(&self) -> &dyn Any {
        (**self).as_any()
    }
}

/// Pyro's distribution combinators, for every distribution.
pub trait DistExt: Distribution + Sized {
    /// Reinterprets the `n` rightmost batch dims as event dims (Pyro's `.to_event(n)`).
    /// Too few batch dims is reported when the distribution reaches a site.
    fn to_event(self, n: usize) -> Independent {
        Independent::new(Arc::new(self), n)
    }
    /// Broadcasts the parameters to a new batch shape (Pyro's `.expand(shape)`).
    fn expand(self, batch_shape: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        self.expand_batch(batch_shape)
    }
    /// Zeroes the log-prob where `mask` is zero (Pyro's `.mask(m)`).
    fn mask(self, mask: DTensor) -> Masked {
        Masked::new(Arc::new(self), mask)
    }
    /// Wraps the distribution in an `Arc<dyn Distribution>`.
    fn boxed(self) -> Arc<dyn Distribution> {
        Arc::new(self)
    }
}

impl<D: Distribution> DistExt for D {}

/// Shape of `value`'s batch part and check that it broadcasts with the distribution.
pub(crate) fn check_value(d: &dyn Distribution, value: &DTensor) -> Result<Vec<usize>, DistError> {
    let event = d.event_shape();
    let batch = d.batch_shape();
    let vs = value.shape();
    let bad = || DistError::ValueShape {
        dist: d.name(),
        value: value.dims(),
        batch: batch.clone().into(),
        event: event.clone().into(),
    };
    if vs.len() < event.len() || vs[vs.len() - event.len()..] != event[..] {
        return Err(bad());
    }
    broadcast_shapes(&vs[..vs.len() - event.len()], &batch).map_err(|_| bad())
}

/// The enumerated support of a distribution whose values are `values` (each of shape
/// `event`, `K` of them, row-major): `[K] + [1; batch rank] + event`, expanded over `batch`
/// with `expand`. `None` where the shape would exceed [`crate::MAX_RANK`].
pub(crate) fn support_values(
    values: Vec<f32>,
    event: &[usize],
    batch: &[usize],
    expand: bool,
    device: &burn::prelude::Device,
) -> Option<DTensor> {
    let k = values.len() / event.iter().product::<usize>().max(1);
    let shape = [vec![k], vec![1; batch.len()], event.to_vec()].concat();
    let t = DTensor::from_floats(values, &shape, device).ok()?;
    if !expand {
        return Some(t);
    }
    t.expand(&[vec![k], batch.to_vec(), event.to_vec()].concat())
        .ok()
}

/// Broadcasts parameter tensors to one shape.
pub(crate) fn broadcast_params(
    dist: &'static str,
    params: &[&DTensor],
) -> Result<Vec<usize>, DistError> {
    let mut shape: Vec<usize> = vec![];
    for p in params {
        shape = broadcast_shapes(&shape, p.shape())
            .map_err(|source| DistError::ParamShapes { dist, source })?;
    }
    Ok(shape)
}

/// Standard-normal noise of `shape` on the device of `like`.
pub(crate) fn normal_noise(shape: &[usize], like: &DTensor) -> DTensor {
    let n = shape.iter().product();
    DTensor::from_floats(crate::rng::normals(n), shape, &like.device())
        .expect("noise has the shape it was drawn for")
}

/// Uniform `[0, 1)` noise of `shape` on the device of `like`.
pub(crate) fn uniform_noise(shape: &[usize], like: &DTensor) -> DTensor {
    let n = shape.iter().product();
    DTensor::from_floats(crate::rng::uniforms(n), shape, &like.device())
        .expect("noise has the shape it was drawn for")
}

/// Fails with [`DistError::InvalidParameter`] unless `ok`.
pub(crate) fn require(
    ok: bool,
    dist: &'static str,
    param: &'static str,
    constraint: &'static str,
    t: &DTensor,
) -> Result<(), DistError> {
    if ok {
        Ok(())
    } else {
        Err(DistError::InvalidParameter {
            dist,
            param,
            constraint,
            found: format!("values in [{}, {}]", t.min_value(), t.max_value()),
        })
    }
}

/// Fails with [`DistError::Support`] unless `ok`.
pub(crate) fn support(
    ok: bool,
    d: &dyn Distribution,
    support: &'static str,
    v: &DTensor,
) -> Result<(), DistError> {
    if ok {
        Ok(())
    } else {
        Err(DistError::Support {
            dist: d.name(),
            support,
            min: v.min_value(),
            max: v.max_value(),
        })
    }
}

/// Checks `to` is a valid expansion of `from` (`Expand` error otherwise).
pub(crate) fn check_expand(d: &dyn Distribution, to: &[usize]) -> Result<(), DistError> {
    let from = d.batch_shape();
    if crate::shape::can_expand(&from, to) {
        Ok(())
    } else {
        Err(DistError::Expand {
            dist: d.name(),
            from: from.into(),
            to: to.into(),
        })
    }
}

/// Expands a parameter tensor with `event` trailing dims to `batch + event`.
pub(crate) fn expand_param(
    p: &DTensor,
    batch: &[usize],
    event: usize,
) -> Result<DTensor, DistError> {
    let ev = &p.shape()[p.rank() - event..];
    Ok(p.expand(&[batch, ev].concat())?)
}
