//! Initial values of latent sites for the autoguides and MCMC (Pyro's
//! `pyro.infer.autoguide.initialization`), and the handler that applies them while a guide
//! records its model's prototype trace or a chain finds its start (Pyro's `InitMessenger`).

use super::support::support_of;
use crate::error::{PplError, Result};
use crate::runtime::{Messenger, with_handler};
use crate::site::{Site, SiteKind};
use crate::tensor::DTensor;
use std::collections::HashMap;

/// How an autoguide initialises each latent site (Pyro's `init_loc_fn`).
#[derive(Clone, Debug)]
pub enum InitLoc {
    /// The elementwise median of `num_samples` prior draws (Pyro's `init_to_median`, the
    /// default, with `num_samples=15`).
    Median {
        /// Prior draws per site.
        num_samples: usize,
    },
    /// One prior draw (Pyro's `init_to_sample`).
    Sample,
    /// Zero in unconstrained space, mapped into the support (Pyro's `init_to_feasible`).
    Feasible,
    /// The given values for the named sites, `fallback` for the others (Pyro's
    /// `init_to_value(values=..., fallback=...)`).
    Value {
        /// Site name to initial (constrained) value.
        values: HashMap<String, DTensor>,
        /// The rule for sites not in `values`.
        fallback: Box<InitLoc>,
    },
}

impl Default for InitLoc {
    fn default() -> Self {
        InitLoc::median()
    }
}

impl InitLoc {
    /// `init_to_median` with Pyro's 15 draws.
    pub fn median() -> Self {
        InitLoc::Median { num_samples: 15 }
    }

    /// `init_to_value(values)`, falling back to `init_to_median` as Pyro does.
    pub fn value(values: HashMap<String, DTensor>) -> Self {
        InitLoc::Value {
            values,
            fallback: Box::new(InitLoc::median()),
        }
    }

    /// The initial value of a latent sample site (its distribution must be set).
    pub fn init(&self, site: &Site) -> Result<DTensor> {
        let dist = site.dist.as_ref().ok_or_else(|| PplError::IncompleteSite {
            stage: "init_loc_fn",
            site: site.name.clone(),
            missing: "distribution",
        })?;
        match self {
            InitLoc::Median { num_samples } => {
                let n = (*num_samples).max(1);
                let draws: Vec<Vec<f32>> = (0..n).map(|_| dist.sample().to_vec()).collect();
                let shape = [dist.batch_shape(), dist.event_shape()].concat();
                let mut out = Vec::with_capacity(draws[0].len());
                for i in 0..draws[0].len() {
                    let mut col: Vec<f32> = draws.iter().map(|d| d[i]).collect();
                    col.sort_by(f32::total_cmp);
                    out.push(col[(n - 1) / 2]);
                }
                let device = dist.sample().device();
                Ok(DTensor::from_floats(out, &shape, &device)?)
            }
            InitLoc::Sample => Ok(dist.sample()),
            InitLoc::Feasible => {
                let c = support_of(&**dist).map_err(|reason| PplError::Autoguide {
                    guide: "init_to_feasible",
                    site: site.name.clone(),
                    reason,
                })?;
                Ok(c.transform(&dist.sample().zeros_like()))
            }
            InitLoc::Value { values, fallback } => match values.get(&site.name) {
                Some(v) => Ok(v.clone()),
                None => fallback.init(site),
            },
        }
    }
}

struct InitMessenger {
    init: InitLoc,
}

impl Messenger for InitMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        if site.kind != SiteKind::Sample || site.is_observed || site.value.is_some() {
            return Ok(());
        }
        site.value = Some(self.init.init(site)?.detach());
        site.done = true;
        Ok(())
    }
}

/// Runs `f` with every latent sample site that has no value yet set by `init` (Pyro's
/// `InitMessenger(init_loc_fn)`), so later sites see the initial values of earlier ones.
pub fn initialize<R>(init: InitLoc, f: impl FnOnce() -> Result<R>) -> Result<R> {
    with_handler(InitMessenger { init }, f).map(|(r, _)| r)
}
