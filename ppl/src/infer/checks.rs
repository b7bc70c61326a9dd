//! Model/guide agreement (Pyro's `check_model_guide_match`).

use crate::error::{PplError, Result};
use crate::shape::{Dims, broadcast_shapes};
use crate::site::SiteKind;
use crate::trace::Trace;

/// Checks that every latent site of the model is sampled by the guide and vice versa, that no
/// guide site is observed in the model, that the shapes agree, and (under validation) that
/// every `factor` in the guide says whether it is reparameterised.
pub fn check_model_guide_match(model: &Trace, guide: &Trace) -> Result<()> {
    for m in model.stochastic_sites().filter(|s| !s.infer.is_auxiliary) {
        match guide.get(&m.name) {
            Some(g) if g.kind == SiteKind::Sample && !g.is_observed => {}
            _ => {
                return Err(PplError::ModelGuideMismatch(format!(
                    "latent site '{}' is sampled in the model but not in the guide",
                    m.name
                )));
            }
        }
    }
    for g in guide.stochastic_sites().filter(|s| !s.infer.is_auxiliary) {
        let Some(m) = model.get(&g.name).filter(|m| m.kind == SiteKind::Sample) else {
            return Err(PplError::ModelGuideMismatch(format!(
                "latent site '{}' is sampled in the guide but not in the model",
                g.name
            )));
        };
        if m.is_observed {
            return Err(PplError::ModelGuideMismatch(format!(
                "site '{}' is sampled in the guide but observed in the model",
                g.name
            )));
        }
        let (Some(md), Some(gd)) = (&m.dist, &g.dist) else {
            continue;
        };
        let (me, ge) = (md.event_shape().len(), gd.event_shape().len());
        if me != ge {
            return Err(PplError::ModelGuideMismatch(format!(
                "Model and guide event_dims disagree at site '{}': {me} vs {ge}",
                g.name
            )));
        }
        let model_shape = [md.batch_shape(), md.event_shape()].concat();
        let guide_shape = [gd.batch_shape(), gd.event_shape()].concat();
        if broadcast_shapes(&model_shape, &guide_shape).ok().as_ref() != Some(&guide_shape) {
            return Err(PplError::ModelGuideMismatch(format!(
                "Model and guide shapes disagree at site '{}': {} vs {}",
                g.name,
                Dims(model_shape),
                Dims(guide_shape)
            )));
        }
    }
    // A factor in the guide must say whether it is reparameterised (Pyro checks this under
    // validation; without validation it is taken as not reparameterised, as in Pyro).
    if crate::runtime::is_validation_enabled() {
        for g in guide.sample_sites().filter(|s| s.infer.is_auxiliary) {
            let unit = g
                .dist
                .as_ref()
                .and_then(|d| d.as_any().downcast_ref::<crate::dist::Unit>());
            if unit.is_some_and(|u| u.rsample.is_none()) {
                return Err(PplError::GuideFactorRsample {
                    site: g.name.clone(),
                });
            }
        }
    }
    Ok(())
}
