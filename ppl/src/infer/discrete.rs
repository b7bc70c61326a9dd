//! `infer_discrete`: draws the enumerated sites of a model from their posterior given
//! everything else, or takes their joint MAP assignment (Pyro's
//! `pyro.infer.infer_discrete`, forward filtering and backward sampling over the factors
//! `TraceEnumElbo` sums out).

use super::chain::{Factors, eliminate_in_order};
use super::contract::{EnumVar, Ring, contract, plate_dims};
use crate::error::{PplError, Result};
use crate::handlers::{block, enumerate, replay, trace};
use crate::site::{Site, SiteKind};
use crate::tensor::DTensor;
use crate::trace::{Trace, scale_and_mask};

/// Runs `f` with every site marked by [`config_enumerate`](crate::handlers::config_enumerate)
/// drawn from its posterior given the other sites (`temperature = 1`) or set to the joint MAP
/// assignment (`temperature = 0`), as `infer_discrete(fn, temperature, first_available_dim)`
/// does. `f` runs twice: once enumerated, hidden from outer handlers, then for real with the
/// drawn values replayed (so an outer `trace` records them); its other latent sites are drawn
/// again given them (replay them from a trace inside `f` to keep them, as the GMM tutorial
/// replays its globals).
///
/// `first_available_dim` is `-1 - max_plate_nesting`, as for Pyro.
pub fn infer_discrete<R>(
    first_available_dim: isize,
    temperature: f64,
    f: impl Fn() -> Result<R>,
) -> Result<R> {
    let ring = match temperature {
        0.0 => Ring::Max,
        1.0 => Ring::LogSum,
        t => {
            return Err(PplError::InvalidInference {
                algorithm: "infer_discrete",
                reason: format!("temperature must be 0 (MAP) or 1 (posterior draws), got {t}"),
            });
        }
    };
    let (_, mut tr) =
        crate::grad::no_grad(|| block(|| trace(|| enumerate(first_available_dim, &f))))?;
    tr.compute_log_prob()?;
    let vars: Vec<EnumVar> = tr.sample_sites().filter_map(EnumVar::of).collect();
    if vars.is_empty() {
        return f();
    }
    // Every term that depends on an enumerated site, unscaled: the other sites are
    // conditioned on, so subsampling's scale does not enter the posterior of these.
    let mut factors = Factors::for_vars(&vars);
    for s in tr.sample_sites() {
        let lp = s.log_prob.as_ref().expect("computed");
        if vars.iter().any(|v| v.in_tensor(lp)) {
            let u = s.unscaled_log_prob.as_ref().expect("computed");
            let tensor = scale_and_mask(u, 1.0, None, s.mask.as_ref()).map_err(|source| {
                PplError::SiteShape {
                    site: s.name.clone(),
                    source,
                }
            })?;
            factors.push(s, tensor, &vars);
        }
    }
    let plates = plate_dims(tr.sample_sites());
    // Each elimination: the variable, its factor, and the later variables in that factor
    // (with reused dims a dim alone does not say which variable it holds).
    let eliminations: Vec<(usize, DTensor, Vec<usize>)> = match factors {
        Factors::Chain(chain) => {
            let (_, e) = eliminate_in_order(chain, &vars, &plates, ring, true)?;
            e.into_iter()
                .map(|e| (e.var, e.factor, e.later.into_iter().collect()))
                .collect()
        }
        Factors::Plated(factors) => {
            let c = contract(factors, &vars, &[], &plates, ring, true)?;
            c.eliminations
                .into_iter()
                .map(|e| {
                    let later = (0..vars.len())
                        .filter(|&u| u != e.var && vars[u].in_tensor(&e.factor))
                        .collect();
                    (e.var, e.factor, later)
                })
                .collect()
        }
    };
    // Backward: each variable from the factor it was eliminated from, given the variables
    // eliminated after it (drawn already).
    let mut drawn: Vec<Option<DTensor>> = vec![None; vars.len()];
    for (var, factor, later) in eliminations.iter().rev() {
        let mut f = factor.clone();
        for &u in later {
            if let Some(idx) = &drawn[u]
                && vars[u].in_tensor(&f)
            {
                f = f.gather_dim(vars[u].dim, idx)?;
            }
        }
        let v = &vars[*var];
        if ring == Ring::LogSum {
            f = f.add(&gumbel(f.shape(), &f));
        }
        drawn[*var] = Some(f.argmax_dim(v.dim));
    }
    // Replay the drawn values of the enumerated sites (and the plates' subsamples); the other
    // latent sites are drawn again given them, as Pyro's `SamplePosteriorMessenger` does.
    let nesting = (-first_available_dim - 1) as usize;
    let mut collapsed = Trace::new();
    for s in tr.sites() {
        let mut s = s.clone();
        if s.kind == SiteKind::Plate {
            collapsed.add(s)?;
            continue;
        }
        let Some(i) = vars.iter().position(|v| v.name == s.name) else {
            continue;
        };
        let (Some(value), Some(idx)) = (&s.value, &drawn[i]) else {
            continue;
        };
        let event = s.dist.as_ref().map_or(0, |d| d.event_shape().len());
        let v = select(value, event, vars[i].dim, idx)?;
        s.value = Some(trim(&v, event, nesting, &s)?);
        s.infer.enumerate = false;
        s.infer.enum_dim = None;
        collapsed.add(s)?;
    }
    replay(&collapsed, f)
}

/// Gumbel noise: `argmax(logits + g)` is a draw from `softmax(logits)` along any dim.
fn gumbel(shape: &[usize], like: &DTensor) -> DTensor {
    let n = shape.iter().product();
    let g: Vec<f32> = crate::rng::uniforms(n)
        .into_iter()
        .map(|u| -(-(u.max(f32::MIN_POSITIVE)).ln()).ln())
        .collect();
    DTensor::from_floats(g, shape, &like.device()).expect("noise has the shape it was drawn for")
}

/// The value of a site at the drawn indices of one enumerated variable (dim `dim` of the
/// batch, left of `event` event dims).
fn select(value: &DTensor, event: usize, dim: isize, idx: &DTensor) -> Result<DTensor> {
    let mut shape = idx.shape().to_vec();
    shape.extend(std::iter::repeat_n(1, event));
    Ok(value.gather_dim(dim - event as isize, &idx.reshape(&shape)?)?)
}

/// Drops the enumeration dims (all of size one once drawn) and leading ones beyond the
/// site's plates, so a site in a plate of `n` gets shape `[n] + event`, as it would without
/// enumeration.
fn trim(v: &DTensor, event: usize, nesting: usize, site: &Site) -> Result<DTensor> {
    let width = site.plate_width();
    let batch = v.rank().saturating_sub(event);
    let mut keep = batch.min(nesting);
    let shape = v.shape();
    while keep > width && shape[batch - keep] == 1 {
        keep -= 1;
    }
    if shape[..batch - keep].iter().any(|&n| n != 1) {
        return Err(PplError::Enumeration {
            site: site.name.clone(),
            reason: format!(
                "its value {} still varies along an enumeration dim after drawing",
                v.dims()
            ),
        });
    }
    Ok(v.reshape(&shape[batch - keep..])?)
}
