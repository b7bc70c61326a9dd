//! `lift`: parameters drawn from priors, turning a model with `param` sites into a Bayesian one
//! (Pyro's `poutine.lift`).

use crate::dist::Distribution;
use crate::error::Result;
use crate::runtime::{Messenger, with_handler};
use crate::site::{Site, SiteKind};
use std::collections::HashMap;
use std::sync::Arc;

struct LiftMessenger {
    priors: HashMap<String, Arc<dyn Distribution>>,
}

impl Messenger for LiftMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        if site.kind != SiteKind::Param {
            return Ok(());
        }
        if let Some(prior) = self.priors.get(&site.name) {
            // The param becomes a latent sample site with that prior: the handlers outside and
            // the default behaviour then treat it as any other draw.
            site.kind = SiteKind::Sample;
            site.dist = Some(prior.clone());
            site.value = None;
            site.init = None;
            site.constraint = Default::default();
        }
        Ok(())
    }
}

/// Runs `f` with each param site named in `priors` drawn from its prior instead of read from
/// the parameter store (`poutine.lift(fn, prior={"w": dist})`): the site becomes a latent
/// sample site, so `Mcmc` or an autoguide can infer it.
///
/// ```
/// use lobes_ppl::prelude::*;
/// use lobes_ppl::handlers::lift;
/// use std::collections::HashMap;
/// use std::sync::Arc;
/// let d = Device::flex();
/// let model = || -> Result<DTensor> { param("w", DTensor::scalar(0.5, &d)) };
/// let prior: Arc<dyn Distribution> = Arc::new(Normal::new(DTensor::scalar(0.0, &d), DTensor::scalar(1.0, &d))?);
/// let (_, tr) = trace(|| lift(HashMap::from([("w".to_string(), prior)]), model))?;
/// assert_eq!(tr.get("w").unwrap().kind, lobes_ppl::SiteKind::Sample);
/// # Ok::<(), PplError>(())
/// ```
pub fn lift<R>(
    priors: HashMap<String, Arc<dyn Distribution>>,
    f: impl FnOnce() -> Result<R>,
) -> Result<R> {
    with_handler(LiftMessenger { priors }, f).map(|(r, _)| r)
}
