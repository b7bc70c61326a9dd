//! `Predictive`: samples of chosen sites from the prior, or from the model given guide samples.

use crate::error::PplError;
use crate::error::Result;
use crate::grad::no_grad;
use crate::handlers::{condition, replay, trace, uncondition};
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

    /// Draws from the model given posterior draws (Pyro's `Predictive(model,
    /// posterior_samples=samples)`, what MCMC gives): run `i` fixes every site of `samples` at
    /// its `i`-th row (the leading dim) and draws the rest, observations afresh. The number of
    /// runs is the samples' leading dim (Pyro's rule: a `num_samples` that differs is
    /// replaced by it, with a warning). Returns the sites *not* in `samples` unless
    /// [`Predictive::return_sites`] names others, as Pyro does.
    ///
    /// ```
    /// use lobes_ppl::infer::{Predictive, Samples};
    /// use lobes_ppl::prelude::*;
    /// let d = Device::flex();
    /// let model = |_: &()| -> Result<()> {
    ///     let mu: DTensor = sample("mu", Normal::new(0.0, 1.0)?)?;
    ///     sample::<DTensor>("x", Normal::new(mu, 0.01)?)?;
    ///     Ok(())
    /// };
    /// let mut given = Samples::default();
    /// given.sites.insert("mu".into(), DTensor::from_floats(vec![0.0, 10.0], &[2], &d).unwrap());
    /// let out = Predictive::new(2).from_samples(&model, &given, &()).unwrap();
    /// let x = out.get("x").unwrap().to_vec();
    /// assert!((x[0] - 0.0).abs() < 0.1 && (x[1] - 10.0).abs() < 0.1);
    /// assert!(out.get("mu").is_none());
    /// ```
    pub fn from_samples<A: ?Sized, R>(
        &self,
        model: &impl Fn(&A) -> Result<R>,
        samples: &Samples,
        args: &A,
    ) -> Result<Samples> {
        let mut n = None;
        for (name, v) in &samples.sites {
            let lead = v.shape().first().copied().ok_or_else(|| {
                PplError::ModelGuideMismatch(format!(
                    "posterior samples of site '{name}' have no leading dim (shape {:?}): one row \
                     per draw is expected",
                    v.shape()
                ))
            })?;
            match n {
                None => n = Some((lead, name)),
                Some((m, first)) if m != lead => {
                    return Err(PplError::ModelGuideMismatch(format!(
                        "posterior samples disagree on the number of draws: site '{first}' has \
                         {m}, site '{name}' has {lead}"
                    )));
                }
                Some(_) => {}
            }
        }
        let Some((n, _)) = n else {
            return self.prior(model, args);
        };
        if n != self.num_samples {
            crate::warnings::warn(crate::warnings::PplWarning::PredictiveSamples {
                num_samples: self.num_samples,
                leading: n,
            });
        }
        let runs = Predictive {
            num_samples: n,
            return_sites: None,
        };
        let given: Vec<&String> = samples.sites.keys().collect();
        let mut i = 0;
        let out = runs.collect_filtered(
            || {
                let mut row = std::collections::HashMap::new();
                for (name, v) in &samples.sites {
                    let r = v
                        .index_select(-(v.rank() as isize), &[i])
                        .and_then(|r| r.reshape(&v.shape()[1..]))
                        .map_err(|source| PplError::SiteShape {
                            site: name.clone(),
                            source,
                        })?;
                    row.insert(name.clone(), r);
                }
                i += 1;
                Ok(trace(|| condition(row, || uncondition(|| model(args))))?.1)
            },
            |site| match &self.return_sites {
                Some(r) => r.iter().any(|s| s == site),
                None => !given.iter().any(|g| *g == site),
            },
        )?;
        Ok(out)
    }

    fn collect(&self, draw: impl FnMut() -> Result<Trace>) -> Result<Samples> {
        self.collect_filtered(draw, |site| {
            self.return_sites
                .as_ref()
                .is_none_or(|r| r.iter().any(|s| s == site))
        })
    }

    fn collect_filtered(
        &self,
        mut draw: impl FnMut() -> Result<Trace>,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<Samples> {
        no_grad(|| {
            let mut per_site: BTreeMap<String, Vec<DTensor>> = BTreeMap::new();
            for _ in 0..self.num_samples {
                let tr = draw()?;
                for s in tr.sites().iter().filter(|s| s.kind == SiteKind::Sample) {
                    let wanted = wanted(&s.name);
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
