//! `reparam`: rewrites sample sites into equivalent ones that are easier to infer (Pyro's
//! `poutine.reparam(model, config={...})`), here with [`LocScaleReparam`].

use crate::dist::{Delta, DistExt, Distribution, Independent, Normal};
use crate::error::{PplError, Result};
use crate::runtime::{Messenger, active_plates, apply_stack, with_handler};
use crate::site::{InferConfig, PlateFrame, Site, SiteKind};
use crate::tensor::DTensor;
use std::collections::HashMap;
use std::sync::Arc;

/// Pyro's `LocScaleReparam(centered=c)` for Normal sites (and `Normal(..).to_event(n)`).
///
/// A site `x ~ Normal(loc, scale)` becomes the latent `x_decentered ~ Normal(c loc,
/// scale^c)` and `x = loc + scale^(1-c) (x_decentered - c loc)`, recorded as a deterministic
/// site `x`. `centered = 0` is the fully non-centred parameterisation `x = loc + scale *
/// x_decentered` with `x_decentered ~ Normal(0, 1)`; `centered = 1` leaves the site alone.
/// An observed site is observed through `x_decentered = (x - loc) scale^(c-1) + c loc`, as
/// in Pyro. Pyro's learnable `centered=None` is not supported.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LocScaleReparam {
    /// The degree of centering, in `[0, 1]`.
    pub centered: f64,
}

impl Default for LocScaleReparam {
    fn default() -> Self {
        LocScaleReparam { centered: 0.0 }
    }
}

impl LocScaleReparam {
    /// A reparameteriser with the given degree of centering (0: fully non-centred).
    pub fn new(centered: f64) -> Self {
        LocScaleReparam { centered }
    }
}

/// A site in flight: what its postprocess needs to turn it back into `x`.
struct InFlight {
    name: String,
    decentered: String,
    loc: DTensor,
    scale: DTensor,
    event_dim: usize,
    centered: f64,
    observed: Option<DTensor>,
}

/// A deterministic site `x` still to be recorded by the handlers outside.
struct Pending {
    name: String,
    value: DTensor,
    event_dim: usize,
    plates: Vec<PlateFrame>,
}

struct ReparamMessenger {
    config: HashMap<String, LocScaleReparam>,
    in_flight: Option<InFlight>,
    pending: Vec<Pending>,
}

fn fail(site: &str, reason: impl Into<String>) -> PplError {
    PplError::Reparam {
        reparam: "LocScaleReparam",
        site: site.to_string(),
        reason: reason.into(),
    }
}

/// The Normal inside `dist` and the number of event dims around it.
fn unwrap_normal(site: &str, dist: &dyn Distribution) -> Result<(Normal, usize)> {
    let any = dist.as_any();
    if let Some(n) = any.downcast_ref::<Normal>() {
        return Ok((n.clone(), 0));
    }
    if let Some(ind) = any.downcast_ref::<Independent>()
        && let Some(n) = ind.base.as_any().downcast_ref::<Normal>()
    {
        return Ok((n.clone(), ind.reinterpreted));
    }
    Err(fail(
        site,
        format!("{} is not a Normal (or Normal.to_event)", dist.name()),
    ))
}

impl Messenger for ReparamMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        if site.kind != SiteKind::Sample || site.infer.deterministic {
            return Ok(());
        }
        let Some(r) = self.config.get(&site.name).copied() else {
            return Ok(());
        };
        let c = r.centered;
        if !(0.0..=1.0).contains(&c) {
            return Err(fail(
                &site.name,
                format!("centered must be in [0, 1], got {c}"),
            ));
        }
        if c == 1.0 {
            return Ok(());
        }
        let Some(dist) = site.dist.clone() else {
            return Ok(());
        };
        let (normal, event_dim) = unwrap_normal(&site.name, &*dist)?;
        let shape = [dist.batch_shape(), dist.event_shape()].concat();
        let loc = normal.loc.expand(&shape)?;
        let scale = normal.scale.expand(&shape)?;
        let dec_loc = &loc * c;
        let dec_scale = scale.powf_scalar(c);
        let base = Normal::new(dec_loc, dec_scale).map_err(|e| PplError::at_site(&site.name, e))?;
        let new: Arc<dyn Distribution> = if event_dim > 0 {
            Arc::new(base.to_event(event_dim))
        } else {
            Arc::new(base)
        };
        let observed = if site.is_observed {
            site.value.clone()
        } else {
            None
        };
        if let Some(v) = &observed {
            let dec = (v - &loc) * scale.powf_scalar(c - 1.0) + &loc * c;
            site.value = Some(dec);
        }
        let decentered = format!("{}_decentered", site.name);
        self.in_flight = Some(InFlight {
            name: std::mem::replace(&mut site.name, decentered.clone()),
            decentered,
            loc,
            scale,
            event_dim,
            centered: c,
            observed,
        });
        site.dist = Some(new);
        Ok(())
    }

    fn postprocess(&mut self, site: &mut Site) -> Result<()> {
        let Some(f) = self.in_flight.take_if(|f| f.decentered == site.name) else {
            return Ok(());
        };
        let dec = site
            .value
            .clone()
            .ok_or_else(|| fail(&f.name, "no decentered value"))?;
        let value = match &f.observed {
            Some(v) => v.clone(),
            None => &f.loc + f.scale.powf_scalar(1.0 - f.centered) * (&dec - &f.loc * f.centered),
        };
        // The handlers inside see what Pyro's reparameterised message becomes: `x` as a
        // deterministic site.
        site.name = f.name.clone();
        site.dist = Some(deterministic_dist(&f.name, &value, f.event_dim)?);
        site.value = Some(value.clone());
        site.is_observed = true;
        site.infer.deterministic = true;
        self.pending.push(Pending {
            name: f.name,
            value,
            event_dim: f.event_dim,
            plates: site.plates.clone(),
        });
        Ok(())
    }
}

fn deterministic_dist(
    name: &str,
    value: &DTensor,
    event_dim: usize,
) -> Result<Arc<dyn Distribution>> {
    let zero = DTensor::scalar(0.0, &value.device());
    let d = Delta::new(value.clone(), event_dim).map_err(|e| PplError::at_site(name, e))?;
    Ok(Arc::new(d.mask(zero)))
}

/// Runs `f` with the sites named in `config` reparameterised
/// (`poutine.reparam(f, config={"x": LocScaleReparam(0)})`).
///
/// The handlers outside see the latent `x_decentered` where `f` drew `x`, and `x` itself as
/// a deterministic site (value `loc + scale * x_decentered` for `centered = 0`), in the
/// plates `x` was drawn in; `f` gets `x`'s value. Because a site in flight cannot start
/// another through the handler stack, the deterministic sites are recorded when `f`
/// returns (after `f`'s other sites, where Pyro records each right after its
/// `x_decentered`); they carry no log-density, so traces and the ELBO are unchanged by this.
pub fn reparam<R>(
    config: HashMap<String, LocScaleReparam>,
    f: impl FnOnce() -> Result<R>,
) -> Result<R> {
    let messenger = ReparamMessenger {
        config,
        in_flight: None,
        pending: vec![],
    };
    let (r, m) = with_handler(messenger, f)?;
    let outside = active_plates();
    for p in m.pending {
        let mut site = Site::new(&p.name, SiteKind::Sample);
        site.dist = Some(deterministic_dist(&p.name, &p.value, p.event_dim)?);
        site.value = Some(p.value);
        site.is_observed = true;
        site.infer = InferConfig {
            deterministic: true,
            ..Default::default()
        };
        // Plates entered inside `f` are over; those around `reparam` add their own frames.
        site.plates = p
            .plates
            .into_iter()
            .filter(|f| !outside.iter().any(|o| o.name == f.name))
            .collect();
        apply_stack(&mut site)?;
    }
    Ok(r)
}
