//! `Trace`: the sites of one run, in execution order (Pyro's `Trace`).

use crate::error::{PplError, Result};
use crate::site::{Site, SiteKind};
use crate::tensor::DTensor;
use std::collections::HashMap;

/// The record of one run of a model or guide.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    sites: Vec<Site>,
    index: HashMap<String, usize>,
}

impl Trace {
    /// An empty trace.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a site. A second sample or plate site of the same name is an error; a param
    /// site may recur (a parameter read twice), and is kept once.
    pub fn add(&mut self, site: Site) -> Result<()> {
        if let Some(&i) = self.index.get(&site.name) {
            let old = &self.sites[i];
            if old.kind == SiteKind::Param && site.kind == SiteKind::Param {
                return Ok(());
            }
            if old.kind == SiteKind::Plate && site.kind == SiteKind::Plate {
                return Err(PplError::DuplicatePlate { name: site.name });
            }
            return Err(PplError::DuplicateSite { name: site.name });
        }
        self.index.insert(site.name.clone(), self.sites.len());
        self.sites.push(site);
        Ok(())
    }

    /// The site called `name`.
    pub fn get(&self, name: &str) -> Option<&Site> {
        self.index.get(name).map(|&i| &self.sites[i])
    }

    /// Mutable access to the site called `name`.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Site> {
        self.index.get(name).map(|&i| &mut self.sites[i])
    }

    /// Whether a site called `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// All sites in execution order.
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    /// Number of sites.
    pub fn len(&self) -> usize {
        self.sites.len()
    }

    /// Whether the trace has no sites.
    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    /// Sample sites (latent and observed), in order.
    pub fn sample_sites(&self) -> impl Iterator<Item = &Site> {
        self.sites.iter().filter(|s| s.kind == SiteKind::Sample)
    }

    /// Latent (non-observed) sample sites, in order.
    pub fn stochastic_sites(&self) -> impl Iterator<Item = &Site> {
        self.sites.iter().filter(|s| s.is_latent())
    }

    /// Observed sample sites, in order.
    pub fn observed_sites(&self) -> impl Iterator<Item = &Site> {
        self.sites
            .iter()
            .filter(|s| s.kind == SiteKind::Sample && s.is_observed)
    }

    /// Param sites, in order.
    pub fn param_sites(&self) -> impl Iterator<Item = &Site> {
        self.sites.iter().filter(|s| s.kind == SiteKind::Param)
    }

    /// The value of site `name`.
    pub fn value(&self, name: &str) -> Option<&DTensor> {
        self.get(name).and_then(|s| s.value.as_ref())
    }

    /// The device of the first site that has a value.
    pub fn device(&self) -> Option<burn::prelude::Device> {
        self.sites
            .iter()
            .find_map(|s| s.value.as_ref().map(|v| v.device()))
    }

    /// Computes `unscaled_log_prob`, `log_prob` (scaled and masked) and `log_prob_sum` at every
    /// sample site that lacks them (Pyro's `compute_log_prob`).
    pub fn compute_log_prob(&mut self) -> Result<()> {
        for site in self.sites.iter_mut().filter(|s| s.kind == SiteKind::Sample) {
            if site.log_prob_sum.is_some() {
                continue;
            }
            let (Some(dist), Some(value)) = (&site.dist, &site.value) else {
                continue;
            };
            let lp = dist
                .log_prob(value)
                .map_err(|e| PplError::at_site(&site.name, e))?;
            let scaled = scale_and_mask(&lp, site.scale, site.weights.as_ref(), site.mask.as_ref())
                .map_err(|source| PplError::SiteShape {
                    site: site.name.clone(),
                    source,
                })?;
            site.log_prob_sum = Some(scaled.sum());
            site.unscaled_log_prob = Some(lp);
            site.log_prob = Some(scaled);
        }
        Ok(())
    }

    /// The sum of every sample site's scaled, masked log-density: a rank-0 tensor carrying
    /// the autodiff graph. Computes log-probs first where missing.
    pub fn log_prob_sum(&mut self) -> Result<DTensor> {
        self.log_prob_sum_filtered(|_| true)
    }

    /// As [`Trace::log_prob_sum`] over the sample sites `keep` accepts.
    pub fn log_prob_sum_filtered(&mut self, keep: impl Fn(&Site) -> bool) -> Result<DTensor> {
        self.compute_log_prob()?;
        let mut total: Option<DTensor> = None;
        for s in self
            .sites
            .iter()
            .filter(|s| s.kind == SiteKind::Sample && keep(s))
        {
            if let Some(lp) = &s.log_prob_sum {
                total = Some(match total {
                    None => lp.clone(),
                    Some(t) => t.add(lp),
                });
            }
        }
        Ok(total.unwrap_or_else(|| DTensor::scalar(0.0, &self.device().unwrap_or_default())))
    }

    /// The first sample site whose log-prob holds a NaN or infinity, if any (reads values back).
    pub fn first_nonfinite_site(&mut self) -> Result<Option<&Site>> {
        self.compute_log_prob()?;
        Ok(self
            .sites
            .iter()
            .find(|s| s.log_prob.as_ref().is_some_and(|lp| !lp.all_finite())))
    }

    /// [`Trace::log_prob_sum`] read back as a number; a non-finite log-density is an error
    /// naming the first offending site.
    pub fn log_prob_sum_checked(&mut self) -> Result<f64> {
        let v = self.log_prob_sum()?.item() as f64;
        if !v.is_finite()
            && let Some(s) = self.first_nonfinite_site()?
        {
            return Err(PplError::NonFiniteLogProb {
                site: s.name.clone(),
                dist: s.dist.as_ref().map(|d| d.name()).unwrap_or_default(),
                shape: s.value_shape().into(),
            });
        }
        Ok(v)
    }

    /// A table of every site's shapes, like Pyro's `trace.format_shapes()`:
    /// site, kind, distribution, batch shape, event shape, value shape, log-prob shape.
    pub fn format_shapes(&self) -> String {
        let mut rows = vec![[
            "site".to_string(),
            "kind".into(),
            "dist".into(),
            "batch".into(),
            "event".into(),
            "value".into(),
            "log_prob".into(),
        ]];
        let dims = |v: &[usize]| crate::shape::Dims(v.to_vec()).to_string();
        for s in &self.sites {
            let kind = match s.kind {
                SiteKind::Sample if s.infer.deterministic => "determ",
                SiteKind::Sample if s.is_observed => "observed",
                k => k.as_str(),
            };
            let (dist, batch, event) = match (&s.dist, s.kind) {
                (Some(d), _) => (d.name(), dims(&d.batch_shape()), dims(&d.event_shape())),
                (None, SiteKind::Param) => (
                    s.constraint.as_str().to_string(),
                    String::new(),
                    String::new(),
                ),
                (None, _) => {
                    let f = s.plates.last();
                    (
                        f.map(|f| format!("size {} of {}", f.subsample_size, f.size))
                            .unwrap_or_default(),
                        String::new(),
                        String::new(),
                    )
                }
            };
            let value = match (&s.value, &s.indices) {
                (Some(v), _) => dims(v.shape()),
                (None, Some(ix)) => dims(&[ix.len()]),
                _ => String::new(),
            };
            let lp = s
                .log_prob
                .as_ref()
                .map(|l| dims(l.shape()))
                .unwrap_or_default();
            rows.push([s.name.clone(), kind.into(), dist, batch, event, value, lp]);
        }
        let mut widths = [0; 7];
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        for r in &rows {
            let line: Vec<String> = r
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}

/// `log_prob * scale * weights`, zero where `mask` is zero (Pyro's `scale_and_mask`, whose
/// scale may be a tensor: here the number `scale` and the tensor `weights`). Weights or a mask
/// that do not broadcast with the log-prob are an error, not a panic.
pub fn scale_and_mask(
    lp: &DTensor,
    scale: f64,
    weights: Option<&DTensor>,
    mask: Option<&DTensor>,
) -> std::result::Result<DTensor, crate::shape::ShapeError> {
    let mut out = if scale == 1.0 {
        lp.clone()
    } else {
        lp.mul_scalar(scale)
    };
    if let Some(w) = weights {
        out = out.try_mul(w)?;
    }
    match mask {
        None => Ok(out),
        Some(m) => {
            let shape = crate::shape::broadcast_shapes(out.shape(), m.shape())?;
            Ok(out.expand(&shape)?.where_zero(m, 0.0))
        }
    }
}
