//! `Predictive`: samples of chosen sites from the prior, or from the model given guide samples.

use crate::error::PplError;
use crate::error::Result;
use crate::grad::no_grad;
use crate::handlers::{condition, replay, trace, uncondition};
use crate::plate::plate;
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
    /// Draw every sample in one run of model (and guide) inside a plate left of the model's
    /// plates (Pyro's `parallel=True`); the model must broadcast over that extra dim.
    pub parallel: bool,
}

/// The plate of vectorised draws, as Pyro names it.
pub const PREDICTIVE_PLATE: &str = "_num_predictive_samples";

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
            parallel: false,
        }
    }

    /// All draws in one vectorised run (Pyro's `Predictive(..., parallel=True)`): one
    /// sequential draw first gives each site's shape and the model's plate nesting, then
    /// model (and guide) run once inside a plate of `num_samples` left of every model plate.
    /// The result has the shapes of the sequential draws, `[num_samples, ...]`.
    ///
    /// ```
    /// use lobes_ppl::infer::Predictive;
    /// use lobes_ppl::prelude::*;
    /// let model = |_: &()| -> Result<()> {
    ///     let mu: DTensor = sample("mu", Normal::new(0.0, 1.0)?)?;
    ///     plate("data", 3).run(|_| sample::<DTensor>("x", Normal::new(mu.clone(), 0.1)?))?;
    ///     Ok(())
    /// };
    /// let out = Predictive::new(1000).parallel(true).prior(&model, &()).unwrap();
    /// assert_eq!(out.get("mu").unwrap().shape(), vec![1000]);
    /// assert_eq!(out.get("x").unwrap().shape(), vec![1000, 3]);
    /// ```
    pub fn parallel(mut self, on: bool) -> Self {
        self.parallel = on;
        self
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
        let one = || Ok(trace(|| uncondition(|| model(args)))?.1);
        if self.parallel {
            let n = self.num_samples;
            return self.vectorized(one, |dim| {
                let model = || plate(PREDICTIVE_PLATE, n).dim(dim).run(|_| model(args));
                Ok(trace(|| uncondition(model))?.1)
            });
        }
        self.collect(one)
    }

    /// Draws from the posterior predictive: the guide's latent draws replayed into the model,
    /// observations drawn afresh.
    pub fn posterior<A: ?Sized, RM, RG>(
        &self,
        model: &impl Fn(&A) -> Result<RM>,
        guide: &impl Fn(&A) -> Result<RG>,
        args: &A,
    ) -> Result<Samples> {
        let one = || {
            let (_, g) = trace(|| guide(args))?;
            Ok(trace(|| replay(&g, || uncondition(|| model(args))))?.1)
        };
        if self.parallel {
            let n = self.num_samples;
            return self.vectorized(one, |dim| {
                let guide = || plate(PREDICTIVE_PLATE, n).dim(dim).run(|_| guide(args));
                let model = || plate(PREDICTIVE_PLATE, n).dim(dim).run(|_| model(args));
                let (_, g) = trace(guide)?;
                Ok(trace(|| replay(&g, || uncondition(model)))?.1)
            });
        }
        self.collect(one)
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
            parallel: false,
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

    /// One sequential draw (`one`) for the shapes and the plate nesting, then every draw in
    /// one run (`all`, given the dim of the plate of draws); each wanted site's value
    /// reshaped to `[num_samples, ..shape of one draw]`.
    fn vectorized(
        &self,
        one: impl FnOnce() -> Result<Trace>,
        all: impl FnOnce(isize) -> Result<Trace>,
    ) -> Result<Samples> {
        no_grad(|| {
            let probe = one()?;
            let nesting = probe
                .sites()
                .iter()
                .map(|s| s.plate_width())
                .max()
                .unwrap_or(0);
            let tr = all(-(nesting as isize) - 1)?;
            let n = self.num_samples;
            let mut sites = BTreeMap::new();
            for s in probe.sites().iter().filter(|s| s.kind == SiteKind::Sample) {
                let wanted = self
                    .return_sites
                    .as_ref()
                    .is_none_or(|r| r.iter().any(|w| w == &s.name));
                let (true, Some(one)) = (wanted, &s.value) else {
                    continue;
                };
                let value = tr
                    .get(&s.name)
                    .and_then(|v| v.value.clone())
                    .ok_or_else(|| {
                        PplError::ModelGuideMismatch(format!(
                            "Predictive(parallel): site '{}' appeared in one draw but not in the \
                         vectorised run",
                            s.name
                        ))
                    })?;
                let mut shape = vec![n];
                shape.extend(one.shape());
                let numel: usize = shape.iter().product();
                let value = if value.numel() < numel {
                    // A value the plate did not broadcast: the same in every draw.
                    let mut single = vec![1];
                    single.extend(one.shape());
                    value.reshape(&single).and_then(|v| v.expand(&shape))
                } else {
                    value.reshape(&shape)
                }
                .map_err(|source| PplError::SiteShape {
                    site: s.name.clone(),
                    source,
                })?;
                sites.insert(s.name.clone(), value);
            }
            Ok(Samples { sites })
        })
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
