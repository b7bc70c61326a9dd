//! Zero-inflated distributions (Pyro's `ZeroInflatedDistribution`, `ZeroInflatedPoisson`,
//! `ZeroInflatedNegativeBinomial`), over counts as in Pyro and, beyond Pyro, over a continuous
//! base (a hurdle: a point mass at zero beside a density).

use super::{
    DistError, Distribution, NegativeBinomial, Poisson, broadcast_params, check_expand,
    check_value, require,
};
use crate::shape::broadcast_shapes;
use crate::tensor::DTensor;
use std::any::Any;
use std::sync::Arc;

/// A distribution with extra zeros: 0 with probability `gate`, else a draw of `base`.
/// Over counts (a base without a [`Distribution::support`] bijection: Poisson, negative
/// binomial, ...), `P(0) = gate + (1 - gate) base(0)`, `P(k) = (1 - gate) base(k)` for `k > 0`,
/// as Pyro's. Over a continuous base (one with a support, e.g. a Beta on (0, 1)), which puts no
/// mass on a point, a zero is the gate's alone: `ln p(0) = ln gate` and `ln p(x) = ln(1 - gate)
/// + ln base(x)` for `x ≠ 0`, the base evaluated only at the non-zero values (so a base with no
/// density at 0 gives neither infinities nor NaN gradients there). Pyro's
/// `ZeroInflatedDistribution` refuses a continuous base's zeros under validation.
///
/// ```
/// use lobes_ppl::prelude::*;
/// use lobes_ppl::dist::{Beta, ZeroInflated};
/// let dev = Device::flex();
/// let s = |v: f32| DTensor::scalar(v, &dev);
/// let zb = ZeroInflated::new(Beta::new(s(2.0), s(3.0))?.boxed(), s(0.9))?;
/// let at_zero = zb.log_prob(&s(0.0))?.item();
/// assert!((at_zero - 0.9f32.ln()).abs() < 1e-6);
/// # Ok::<(), lobes_ppl::dist::DistError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ZeroInflated {
    /// The distribution of the counts that are not structural zeros.
    pub base: Arc<dyn Distribution>,
    /// The probability of a structural zero.
    pub gate: DTensor,
    batch: Vec<usize>,
    name: &'static str,
}

impl ZeroInflated {
    /// Zero-inflates any count distribution (Pyro's `ZeroInflatedDistribution(base, gate=...)`).
    pub fn new(base: Arc<dyn Distribution>, gate: impl Into<DTensor>) -> Result<Self, DistError> {
        Self::named(base, gate.into(), "ZeroInflated")
    }
    /// Pyro's `ZeroInflatedPoisson(rate, gate=...)`.
    pub fn poisson(rate: impl Into<DTensor>, gate: impl Into<DTensor>) -> Result<Self, DistError> {
        Self::named(
            Arc::new(Poisson::new(rate)?),
            gate.into(),
            "ZeroInflatedPoisson",
        )
    }
    /// Pyro's `ZeroInflatedNegativeBinomial(total_count, probs=..., gate=...)`.
    pub fn negative_binomial(
        total_count: impl Into<DTensor>,
        probs: impl Into<DTensor>,
        gate: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        let base = NegativeBinomial::from_probs(total_count, probs)?;
        Self::named(Arc::new(base), gate.into(), "ZeroInflatedNegativeBinomial")
    }

    fn named(
        base: Arc<dyn Distribution>,
        gate: DTensor,
        name: &'static str,
    ) -> Result<Self, DistError> {
        broadcast_params(name, &[&gate])?;
        let batch = broadcast_shapes(&base.batch_shape(), gate.shape())
            .map_err(|source| DistError::ParamShapes { dist: name, source })?;
        Ok(ZeroInflated {
            base,
            gate,
            batch,
            name,
        })
    }
}

impl Distribution for ZeroInflated {
    fn name(&self) -> String {
        self.name.into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.batch.clone()
    }
    fn sample(&self) -> DTensor {
        let base = self
            .base
            .sample()
            .expand(&self.batch)
            .expect("batch broadcasts");
        let u = super::uniform_noise(&self.batch, &self.gate);
        // A structural zero where u < gate; the base draw elsewhere.
        base * (u - self.gate.detach()).ge_scalar(0.0)
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        if self.base.support().is_some() {
            // A continuous base: the zeros are the gate's, the base sees the other values only
            // (a zero replaced by 1/2, inside any support of interest, then not selected).
            let nonzero = value.gt_scalar(0.0).try_add(&value.lt_scalar(0.0))?;
            let safe = value.select_where(
                &nonzero,
                &DTensor::full(value.shape(), 0.5, &value.device()),
            );
            let base = self.base.log_prob(&safe)?;
            let kept = (1.0 - &self.gate).log() + &base;
            let zero = self.gate.log().expand(kept.shape())?;
            return Ok(kept.select_where(&nonzero, &zero));
        }
        let base = self.base.log_prob(value)?;
        let nonzero = (1.0 - &self.gate).log() + &base;
        // ln(gate + (1 - gate) base(0)) as a log-sum-exp of the two terms.
        let a = self.gate.log();
        let m = a.max_pair(&nonzero);
        let zero = &m + ((&a - &m).exp() + (&nonzero - &m).exp()).log();
        Ok(nonzero.select_where(&value.gt_scalar(0.0), &zero))
    }
    fn validate(&self) -> Result<(), DistError> {
        self.base.validate()?;
        let ok = self.gate.all_ge(0.0) && self.gate.all_le(1.0);
        require(ok, self.name, "gate", "in [0, 1]", &self.gate)
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        if self.base.support().is_some() {
            // Zero is in the support whatever the base's; the other values must be in it.
            let nonzero = value.gt_scalar(0.0).try_add(&value.lt_scalar(0.0))?;
            let safe = value.select_where(
                &nonzero,
                &DTensor::full(value.shape(), 0.5, &value.device()),
            );
            return self.base.check_support(&safe);
        }
        self.base.check_support(value)
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        let base = self.base.expand_batch(batch)?;
        Ok(Arc::new(Self::named(
            base,
            self.gate.expand(batch)?,
            self.name,
        )?))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
