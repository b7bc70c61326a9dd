//! Free bits (Kingma et al. 2016, "Improved variational inference with inverse autoregressive
//! flow", appendix C.8): a minimum KL per latent dimension. The training objective becomes
//!
//! ```text
//! L̃ = E_q[log p(x | z)] − Σ_j max(λ, E_x[ E_q[log q(z_j | x) − log p(z_j)] ])
//! ```
//!
//! so the optimiser gains nothing by pushing a dimension's KL below `λ` nats: below the floor
//! a dimension costs λ whatever it carries, which keeps dimensions from collapsing onto the
//! prior early in training. `E_x` is the mean over the batch, `E_q` the sampled estimate of the
//! wrapped ELBO, `j` each latent dimension (each element of a site's event; a site without
//! event dims is one dimension). Pyro has no free bits; a Pyro user writes this loss by hand.

use super::elbo::Elbo;
use super::particles::ParticlePlate;
use crate::dist::{Distribution, Independent};
use crate::error::{PplError, Result};
use crate::site::Site;
use crate::tensor::DTensor;
use crate::trace::{Trace, scale_and_mask};

/// An ELBO estimator `E` whose gradient follows the free-bits objective with `λ` nats per
/// latent dimension. The estimate it reports stays the ELBO itself (what `Svi::step`
/// returns and what a test loss compares); only the surrogate, and so the gradient, changes.
///
/// Every latent site of the guide must be reparameterised, and the model's and the guide's
/// distributions at it must factorise over the same dimensions (both `.to_event(n)` with the
/// same `n`, or both without event dims): a full-covariance or mixture prior has no
/// per-dimension KL, and is an error naming the site. `λ = 0` is the wrapped ELBO unchanged.
///
/// ```
/// use lobes_ppl::infer::{FreeBits, TraceElbo};
/// // 0.25 nats per latent dimension on top of Trace_ELBO.
/// let elbo = FreeBits::new(TraceElbo::default(), 0.25).unwrap();
/// assert!(FreeBits::new(TraceElbo::default(), -1.0).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct FreeBits<E> {
    /// The wrapped estimator.
    pub elbo: E,
    /// The floor per latent dimension, in nats.
    pub lambda: f64,
}

impl<E: Elbo> FreeBits<E> {
    /// Wraps `elbo` with a floor of `lambda` nats per latent dimension (finite, ≥ 0).
    pub fn new(elbo: E, lambda: f64) -> Result<Self> {
        if !(lambda.is_finite() && lambda >= 0.0) {
            return Err(PplError::InvalidInference {
                algorithm: "FreeBits",
                reason: format!("λ must be a finite number of nats ≥ 0, got {lambda}"),
            });
        }
        Ok(FreeBits { elbo, lambda })
    }
}

/// A site's distribution as `(elementwise base, reinterpreted dims)`: the base of an
/// `Independent`, or the distribution itself with none.
fn per_dimension(d: &dyn Distribution) -> (&dyn Distribution, usize) {
    match d.as_any().downcast_ref::<Independent>() {
        Some(ind) => (&*ind.base, ind.reinterpreted),
        None => (d, 0),
    }
}

/// `Σ_b w_b · log p_b(z_bj)` for each dimension `j` of `site` (shape: its event), with `w` the
/// site's scale, weights and mask, and `Σ_b w_b` (the number of data points it stands for).
fn weighted_by_dimension(site: &Site, err: &impl Fn(String) -> PplError) -> Result<(DTensor, f64)> {
    let (Some(dist), Some(value)) = (&site.dist, &site.value) else {
        return Err(err("has no distribution or value".into()));
    };
    let (base, r) = per_dimension(&**dist);
    let lp = base
        .log_prob(value)
        .map_err(|e| PplError::at_site(&site.name, e))?;
    let batch = lp.shape()[..lp.rank() - r].to_vec();
    let ones = DTensor::ones(&batch, &lp.device());
    let w = scale_and_mask(&ones, site.scale, site.weights.as_ref(), site.mask.as_ref()).map_err(
        |source| PplError::SiteShape {
            site: site.name.clone(),
            source,
        },
    )?;
    let n = w.sum().item() as f64;
    let trailing: Vec<usize> = w.shape().iter().copied().chain(vec![1; r]).collect();
    let mut weighted = lp.try_mul(&w.reshape(&trailing)?)?;
    for pos in 0..batch.len() {
        weighted = weighted.sum_dim_keep(pos);
    }
    let event = weighted.shape()[batch.len()..].to_vec();
    Ok((weighted.reshape(&event)?, n))
}

impl<E: Elbo> FreeBits<E> {
    /// `Σ_j (T_j − max(λ n, T_j))` over every latent site, `T_j` the weighted sum over the batch
    /// of `log q(z_j) − log p(z_j)`: added to the wrapped surrogate (which holds `−Σ_j T_j`),
    /// it leaves `−Σ_j max(λ n, T_j)`.
    fn correction(&self, model: &Trace, guide: &Trace) -> Result<Option<DTensor>> {
        let mut total: Option<DTensor> = None;
        for g in guide.stochastic_sites() {
            let err = |reason: String| PplError::InvalidInference {
                algorithm: "FreeBits",
                reason: format!("latent site '{}' {reason}", g.name),
            };
            let Some(m) = model.get(&g.name) else {
                continue;
            };
            let (gd, md) = match (&g.dist, &m.dist) {
                (Some(gd), Some(md)) => (gd, md),
                _ => return Err(err("has no distribution in the model or the guide".into())),
            };
            if !gd.has_rsample() {
                return Err(err(format!(
                    "is not reparameterised in the guide ({}): free bits need a pathwise KL",
                    gd.name()
                )));
            }
            let ((_, rg), (_, rm)) = (per_dimension(&**gd), per_dimension(&**md));
            if rg != rm || gd.event_shape() != md.event_shape() {
                return Err(err(format!(
                    "does not factorise over the same dimensions in the guide, {} with event \
                     {:?} ({rg} reinterpreted), and the model, {} with event {:?} ({rm}): \
                     free bits need a KL per dimension",
                    gd.name(),
                    gd.event_shape(),
                    md.name(),
                    md.event_shape()
                )));
            }
            let (log_q, n) = weighted_by_dimension(g, &err)?;
            let (log_p, _) = weighted_by_dimension(m, &err)?;
            let kl = log_q.try_sub(&log_p)?;
            let floored = kl.clamp(self.lambda * n, f64::INFINITY);
            let part = kl.try_sub(&floored)?.sum();
            total = Some(match total {
                None => part,
                Some(t) => t.add(&part),
            });
        }
        Ok(total)
    }
}

impl<E: Elbo> Elbo for FreeBits<E> {
    fn num_particles(&self) -> usize {
        self.elbo.num_particles()
    }

    fn particle_plate(&self) -> Option<&ParticlePlate> {
        self.elbo.particle_plate()
    }

    fn particle<A: ?Sized, RM, RG>(
        &self,
        model: &impl Fn(&A) -> Result<RM>,
        guide: &impl Fn(&A) -> Result<RG>,
        args: &A,
    ) -> Result<(DTensor, DTensor, Trace, Trace)> {
        let (elbo, surrogate, model_tr, guide_tr) = self.elbo.particle(model, guide, args)?;
        if self.lambda == 0.0 {
            return Ok((elbo, surrogate, model_tr, guide_tr));
        }
        let surrogate = match self.correction(&model_tr, &guide_tr)? {
            Some(c) => surrogate.add(&c),
            None => surrogate,
        };
        Ok((elbo, surrogate, model_tr, guide_tr))
    }
}
