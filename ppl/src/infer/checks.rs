//! Model/guide agreement (Pyro's `check_model_guide_match`) and log-prob shapes (Pyro's
//! `check_site_shape`).

use crate::error::{PplError, Result};
use crate::shape::{Dims, broadcast_shapes};
use crate::site::{PlateFrame, Site, SiteKind};
use crate::trace::Trace;

/// Checks that every latent site of the guide is sampled by the model, that no guide site is
/// observed in the model, that the shapes agree, and (under validation) that every `factor` in
/// the guide says whether it is reparameterised. A model latent the guide does not sample is
/// drawn from the model's prior and only warned about, as in Pyro (so a model with latents
/// and an empty guide runs).
pub fn check_model_guide_match(model: &Trace, guide: &Trace) -> Result<()> {
    check_model_guide_match_within(model, guide, None)
}

/// [`check_model_guide_match`] under enumeration: with `max_plate_nesting` given, only the
/// rightmost `max_plate_nesting` batch dims are compared (left of them lie enumeration dims,
/// as Pyro's check cuts them).
pub(crate) fn check_model_guide_match_within(
    model: &Trace,
    guide: &Trace,
    max_plate_nesting: Option<usize>,
) -> Result<()> {
    let model_only: Vec<&str> = model
        .stochastic_sites()
        .filter(|s| !s.infer.is_auxiliary)
        // Enumerated in the model: summed out, not sampled from the prior (Pyro's enum_vars).
        .filter(|s| s.infer.enum_dim.is_none())
        .filter(|m| {
            !matches!(guide.get(&m.name), Some(g) if g.kind == SiteKind::Sample && !g.is_observed)
        })
        .map(|m| m.name.as_str())
        .collect();
    if !model_only.is_empty() {
        crate::warnings::warn(crate::warnings::PplWarning::ModelOnlySites {
            sites: model_only.iter().map(|s| s.to_string()).collect(),
        });
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
        let cut = |batch: Vec<usize>| match max_plate_nesting {
            Some(n) if batch.len() > n => batch[batch.len() - n..].to_vec(),
            _ => batch,
        };
        let model_shape = [cut(md.batch_shape()), md.event_shape()].concat();
        let guide_shape = [cut(gd.batch_shape()), gd.event_shape()].concat();
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

/// The largest number of plate dims any site of the two traces sits in (Pyro's
/// `_guess_max_plate_nesting`).
pub fn max_plate_nesting(model: &Trace, guide: &Trace) -> usize {
    model
        .sites()
        .iter()
        .chain(guide.sites())
        .map(Site::plate_width)
        .max()
        .unwrap_or(0)
}

/// Checks that a sample site's log-prob has only the batch dims its plates declare (Pyro's
/// `check_site_shape`): no more dims than `max_plate_nesting` (leftover dims of size one
/// excepted), and the plate's size at every dim a plate holds. A batch dim no plate accounts
/// for would otherwise be summed silently.
pub fn check_site_shape(site: &Site, max_plate_nesting: usize) -> Result<()> {
    check_shape(site, max_plate_nesting, false)
}

/// [`check_site_shape`] under enumeration (`TraceEnumElbo`, as Pyro's): dims left of
/// `max_plate_nesting` are enumeration dims and are not checked, and a plate deeper than
/// `max_plate_nesting` is an error naming it.
pub(crate) fn check_site_shape_enum(site: &Site, max_plate_nesting: usize) -> Result<()> {
    if let Some(f) = site
        .plates
        .iter()
        .find(|f| -f.dim > max_plate_nesting as isize)
    {
        return Err(PplError::LogProbShape {
            site: site.name.clone(),
            expected: format!("at most {max_plate_nesting} plate dim(s)"),
            actual: Dims(
                site.log_prob
                    .as_ref()
                    .map(|l| l.shape().to_vec())
                    .unwrap_or_default(),
            ),
            reason: format!(
                "plate('{}') holds dim {}, beyond max_plate_nesting = {max_plate_nesting}; raise max_plate_nesting",
                f.name, f.dim
            ),
        });
    }
    check_shape(site, max_plate_nesting, true)
}

fn check_shape(site: &Site, max_plate_nesting: usize, enumerated: bool) -> Result<()> {
    let Some(lp) = &site.log_prob else {
        return Ok(());
    };
    let actual = lp.shape();
    let width = site.plate_width();
    let mut expected: Vec<Option<&PlateFrame>> = vec![None; width];
    for f in &site.plates {
        expected[(width as isize + f.dim) as usize] = Some(f);
    }
    let show_expected = || {
        let parts: Vec<String> = expected
            .iter()
            .map(|e| e.map_or("-1".to_string(), |f| f.subsample_size.to_string()))
            .collect();
        format!("[{}]", parts.join(", "))
    };
    // Unlike Pyro, leftover dims of size one are allowed: summing over them changes nothing.
    let extra = actual.len().saturating_sub(max_plate_nesting);
    if !enumerated && actual[..extra].iter().any(|&n| n != 1) {
        return Err(PplError::LogProbShape {
            site: site.name.clone(),
            expected: show_expected(),
            actual: Dims(actual.to_vec()),
            reason: format!(
                "its leftmost {extra} batch dim(s) {} are declared by no plate (the model and guide nest at most {max_plate_nesting} plate(s)); use .to_event() to make them event dims, or declare them with plate()",
                Dims(actual[..extra].to_vec())
            ),
        });
    }
    for (i, f) in expected.iter().enumerate() {
        let Some(f) = f else { continue };
        let from_right = width - i;
        let size = if from_right <= actual.len() {
            actual[actual.len() - from_right]
        } else {
            1
        };
        if size != f.subsample_size {
            return Err(PplError::LogProbShape {
                site: site.name.clone(),
                expected: show_expected(),
                actual: Dims(actual.to_vec()),
                reason: format!(
                    "dim {} belongs to plate('{}') of size {} but has size {size}",
                    f.dim, f.name, f.subsample_size
                ),
            });
        }
    }
    Ok(())
}
