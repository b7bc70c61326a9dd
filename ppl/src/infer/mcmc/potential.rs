//! The potential energy `U(z) = -log p(x, T(z)) - log |det dT/dz|` of a model in unconstrained
//! space, and its gradient by burn's autodiff (Pyro's `initialize_model` + `potential_fn`,
//! NumPyro's `infer.util.potential_energy`).
//!
//! Every continuous latent site is mapped to all of ℝⁿ by its support's bijection (the
//! constraints the autoguides use); the sampler sees one flat `f64` vector. Sites marked for
//! enumeration ([`config_enumerate`](crate::handlers::config_enumerate)) are summed out
//! exactly by [`TraceEnumElbo`]'s variable elimination, as NumPyro's NUTS does.

use crate::constraints::Constraint;
use crate::error::{PplError, Result};
use crate::grad::no_grad;
use crate::handlers::{block, condition, trace};
use crate::infer::init::{InitLoc, initialize};
use crate::infer::support::{log_abs_det_jacobian, support_of};
use crate::infer::{Elbo, TraceEnumElbo, max_plate_nesting};
use crate::tensor::DTensor;
use crate::trace::Trace;
use burn::prelude::Device;
use std::collections::HashMap;

/// One continuous latent site, laid out in the flat unconstrained vector.
#[derive(Clone, Debug)]
pub struct McmcSite {
    /// The site's name.
    pub name: String,
    /// The site's value shape (the unconstrained value has the same shape).
    pub shape: Vec<usize>,
    /// Its support.
    pub support: Constraint,
    /// Where its values start in the flat vector.
    pub offset: usize,
}

impl McmcSite {
    /// The number of scalars the site holds.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A model's potential energy in unconstrained space.
pub struct Potential<'a, A: ?Sized, M> {
    model: &'a M,
    args: &'a A,
    /// The continuous latent sites, in execution order.
    pub sites: Vec<McmcSite>,
    /// `Some` when the model has enumerated discrete sites to sum out.
    enumerate: Option<TraceEnumElbo>,
    device: Device,
}

/// Whether an error raised inside the model at a proposed point means "zero density there"
/// (a value or parameter outside its support, a non-finite log-density): the sampler then
/// treats the point as divergent, as NumPyro does with a NaN potential.
fn is_zero_density(e: &PplError) -> bool {
    use crate::dist::DistError;
    match e {
        PplError::NonFiniteLogProb { .. } => true,
        PplError::Distribution { source, .. } | PplError::Dist(source) => matches!(
            source,
            DistError::Support { .. } | DistError::InvalidParameter { .. }
        ),
        _ => false,
    }
}

impl<'a, A: ?Sized, R, M: Fn(&A) -> Result<R>> Potential<'a, A, M> {
    /// Runs the model once with latent values set by `init`, and lays its continuous latent
    /// sites out. Returns the potential and the initial point (unconstrained).
    pub fn new(model: &'a M, args: &'a A, init: &InitLoc) -> Result<(Self, Vec<f64>)> {
        let (_, tr) = no_grad(|| block(|| trace(|| initialize(init.clone(), || model(args)))))
            .map_err(|e| match e {
                PplError::Autoguide { site, reason, .. } => PplError::Autoguide {
                    guide: "MCMC",
                    site,
                    reason,
                },
                e => e,
            })?;
        let fail = |site: &str, reason: String| PplError::Autoguide {
            guide: "MCMC",
            site: site.into(),
            reason,
        };
        let (mut sites, mut z0, mut enumerated) = (vec![], vec![], false);
        let mut device = None;
        for s in tr.stochastic_sites() {
            let (Some(dist), Some(value)) = (&s.dist, &s.value) else {
                continue;
            };
            device.get_or_insert_with(|| value.device());
            if s.infer.enumerate {
                enumerated = true;
                continue;
            }
            if let Some(f) = s.plates.iter().find(|f| f.subsample_size != f.size) {
                return Err(fail(
                    &s.name,
                    format!(
                        "plate '{}' subsamples {} of {}: MCMC needs the full data (no \
                         subsampling)",
                        f.name, f.subsample_size, f.size
                    ),
                ));
            }
            let support = support_of(&**dist).map_err(|r| fail(&s.name, r))?;
            if log_abs_det_jacobian(support, value).is_none() {
                return Err(fail(
                    &s.name,
                    format!(
                        "its support ({}) has no bijection from unconstrained space here",
                        support.as_str()
                    ),
                ));
            }
            let offset = z0.len();
            z0.extend(support.inverse(value).to_vec().into_iter().map(f64::from));
            sites.push(McmcSite {
                name: s.name.clone(),
                shape: value.shape().to_vec(),
                support,
                offset,
            });
        }
        let device = device.or_else(|| tr.device()).unwrap_or_default();
        let enumerate =
            enumerated.then(|| TraceEnumElbo::new(max_plate_nesting(&tr, &Trace::new())));
        let p = Potential {
            model,
            args,
            sites,
            enumerate,
            device,
        };
        Ok((p, z0))
    }

    /// The device the model's values live on.
    pub fn device(&self) -> Device {
        self.device.clone()
    }

    /// The number of unconstrained coordinates.
    pub fn dim(&self) -> usize {
        self.sites.iter().map(McmcSite::numel).sum()
    }

    fn tensors(&self, z: &[f64], grad: bool) -> Result<Vec<DTensor>> {
        self.sites
            .iter()
            .map(|s| {
                let v: Vec<f32> = z[s.offset..s.offset + s.numel()]
                    .iter()
                    .map(|&x| x as f32)
                    .collect();
                let t = DTensor::from_floats(v, &s.shape, &self.device)?;
                Ok(if grad { t.autodiff().require_grad() } else { t })
            })
            .collect()
    }

    /// The sites' values in their supports at the unconstrained point `z`.
    pub fn constrain(&self, z: &[f64]) -> Result<Vec<(String, DTensor)>> {
        let u = self.tensors(z, false)?;
        Ok(self
            .sites
            .iter()
            .zip(u)
            .map(|(s, u)| (s.name.clone(), s.support.transform(&u)))
            .collect())
    }

    /// `-log p(x, T(z)) - log |det J_T(z)|`, with its gradient; `(+∞, zeros)` where the
    /// model has zero density (see [`is_zero_density`]).
    pub fn value_and_grad(&self, z: &[f64]) -> Result<(f64, Vec<f64>)> {
        let u = self.tensors(z, true)?;
        let mut values = HashMap::new();
        let mut log_det = DTensor::scalar(0.0, &self.device);
        for (s, u) in self.sites.iter().zip(&u) {
            values.insert(s.name.clone(), s.support.transform(u));
            if let Some(j) = log_abs_det_jacobian(s.support, u) {
                log_det = log_det + j.sum();
            }
        }
        let log_joint = block(|| match &self.enumerate {
            None => {
                let (_, mut tr) = trace(|| condition(values, || (self.model)(self.args)))?;
                tr.log_prob_sum()
            }
            Some(elbo) => {
                let conditioned = |a: &A| condition(values.clone(), || (self.model)(a));
                let (_, surrogate, _, _) =
                    elbo.particle(&conditioned, &|_: &A| Ok(()), self.args)?;
                Ok(surrogate)
            }
        });
        let log_joint = match log_joint {
            Ok(l) => l,
            Err(e) if is_zero_density(&e) => return Ok((f64::INFINITY, vec![0.0; z.len()])),
            Err(e) => return Err(e),
        };
        let energy = -(log_joint + log_det);
        let value = f64::from(energy.item());
        if !value.is_finite() {
            return Ok((f64::INFINITY, vec![0.0; z.len()]));
        }
        let grads = energy.backward();
        let mut g = vec![0.0; z.len()];
        for (s, u) in self.sites.iter().zip(&u) {
            if let Some(gu) = u.grad(&grads) {
                for (dst, v) in g[s.offset..].iter_mut().zip(gu.to_vec()) {
                    *dst = f64::from(v);
                }
            }
        }
        if g.iter().any(|v| !v.is_finite()) {
            return Ok((f64::INFINITY, vec![0.0; z.len()]));
        }
        Ok((value, g))
    }
}
