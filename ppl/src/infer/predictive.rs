//! `Predictive`: samples of chosen sites from the prior, or from the model given guide samples.

use crate::error::Result;
use crate::grad::no_grad;
use crate::handlers::{replay, trace, uncondition};
use crate::site::SiteKind;
use crate::tensor::DTensor;
use crate::trace::Trace;
use std::collections::BTreeMap;

/// Pyro's `Predictive(model, guide=None, num_samples=N, return_sites=...)`.
///
/// Observed sites are drawn afresh (the model runs under `uncondition`), so the same model
/// function serves for training and for prior or posterior predictive checks. Runs without
/// gradients, networks in evaluation mode, with the active parameter store.
#[derive(Clone, Debug)]
pub struct Predictive {
    /// Number of joint draws.
    pub num_samples: usize,
    /// Sites to return; all sample sites when `None`.
    pub return_sites: Option<Vec<String>>,
}

/// Draws per site, stacked along a new leading dim of size `num_samples`.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    /// Site name to stacked values.
    pub sites: BTreeMap<String, DTensor>,
}

impl Samples {
    /// The stacked draws of `name`.
    pub fn get(&self, name: &str) -> Option<&DTensor> {
        self.sites.get(name)
    }
}

impl Predictive {
    /// `num_samples` draws of every sample site.
    pub fn new(num_samples: usize) -> Self {
        Predictive {
            num_samples,
            return_sites: None,
        }
    }

    /// Only these sites.
    pub fn return_sites<S: AsRef<str>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.return_sites = Some(names.into_iter().map(|s| s.as_ref().to_string()).collect());
        self
    }

    /// Draws from the prior predictive: the model with every observation unconditioned.
    pub fn prior<A: ?Sized, R>(
        &self,
        model: &impl Fn(&A) -> Result<R>,
        args: &A,
    ) -> Result<Samples> {
        self.collect(|| Ok(trace(|| uncondition(|| model(args)))?.1))
    }

    /// Draws from the posterior predictive: the guide's latent draws replayed into the model,
    /// observations drawn afresh.
    pub fn posterior<A: ?Sized, RM, RG>(
        &self,
        model: &impl Fn(&A) -> Result<RM>,
        guide: &impl Fn(&A) -> Result<RG>,
        args: &A,
    ) -> Result<Samples> {
        self.collect(|| {
            let (_, g) = trace(|| guide(args))?;
            Ok(trace(|| replay(&g, || uncondition(|| model(args))))?.1)
        })
    }

    fn collect(&self, mut draw: impl FnMut() -> Result<Trace>) -> Result<Samples> {
        no_grad(|| {
            let mut per_site: BTreeMap<String, Vec<DTensor>> = BTreeMap::new();
            for _ in 0..self.num_samples {
                let tr = draw()?;
                for s in tr.sites().iter().filter(|s| s.kind == SiteKind::Sample) {
                    let wanted = self
                        .return_sites
                        .as_ref()
                        .is_none_or(|r| r.contains(&s.name));
                    if let (true, Some(v)) = (wanted, &s.value) {
                        per_site.entry(s.name.clone()).or_default().push(v.clone());
                    }
                }
            }
            let mut sites = BTreeMap::new();
            for (name, vals) in per_site {
                let stacked =
                    DTensor::stack(&vals).map_err(|source| crate::PplError::SiteShape {
                        site: name.clone(),
                        source,
                    })?;
                sites.insert(name, stacked);
            }
            Ok(Samples { sites })
        })
    }
}
