//! Importance sampling with the guide as proposal: log weights `log p(x, z) − log q(z)`, the
//! log marginal likelihood `log p(x) ≈ log (1/K) Σₖ exp wₖ` (Pyro's
//! `Importance(model, guide, num_samples).get_log_normalizer()`; the importance-sampled
//! log-likelihood of Burda et al. 2015 that VAE papers report), and per data point along a
//! plate, so that K samples of one image can be drawn as a batch of K copies.
//!
//! ```
//! use lobes_ppl::prelude::*;
//! use lobes_ppl::infer::importance::log_marginal;
//! // z ~ N(0, 1), x | z ~ N(z, 1): p(x) = N(x; 0, √2). With the exact posterior N(x/2, √½)
//! // as the guide every weight equals log p(x).
//! let s = |v: f32| DTensor::scalar(v, &Device::flex());
//! let x = 1.0f32;
//! let model = |_: &()| -> Result<()> {
//!     let z: DTensor = sample("z", Normal::new(s(0.0), s(1.0))?)?;
//!     observe("x", Normal::new(z, s(1.0))?, s(x))?;
//!     Ok(())
//! };
//! let guide = |_: &()| -> Result<()> {
//!     sample::<DTensor>("z", Normal::new(s(x / 2.0), s(0.5f32.sqrt()))?)?;
//!     Ok(())
//! };
//! let lp = log_marginal(&model, &guide, &(), 10).unwrap();
//! let exact = -(x as f64).powi(2) / 4.0 - 0.5 * (4.0 * std::f64::consts::PI).ln();
//! assert!((lp - exact).abs() < 1e-5, "{lp} vs {exact}");
//! ```

use super::elbo::{get_traces, log_r_for};
use crate::error::{PplError, Result};
use crate::grad::no_grad;

/// `log (1/K) Σₖ exp wₖ`, computed stably (−∞ for no weights).
pub fn log_mean_exp(w: &[f64]) -> f64 {
    let m = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + (w.iter().map(|v| (v - m).exp()).sum::<f64>() / w.len() as f64).ln()
}

/// One importance weight `log p(x, z) − log q(z)`: the guide run once, the model replayed
/// against it, every site's log-density summed (scaled and masked as the handlers say).
pub fn log_weight<A: ?Sized, RM, RG>(
    model: &impl Fn(&A) -> Result<RM>,
    guide: &impl Fn(&A) -> Result<RG>,
    args: &A,
) -> Result<f64> {
    no_grad(|| {
        let (model_tr, guide_tr) = get_traces(model, guide, args)?;
        Ok(log_r_for(&model_tr, &guide_tr, &[]).item() as f64)
    })
}

/// The log marginal likelihood `log p(x)` estimated from `num_samples` weights
/// ([`log_weight`], each a run of guide and model): Pyro's `Importance(...)
/// .get_log_normalizer()`. Its expectation is the importance-weighted bound, which rises with
/// `num_samples` towards `log p(x)` (Burda et al. 2015).
pub fn log_marginal<A: ?Sized, RM, RG>(
    model: &impl Fn(&A) -> Result<RM>,
    guide: &impl Fn(&A) -> Result<RG>,
    args: &A,
    num_samples: usize,
) -> Result<f64> {
    let w = (0..num_samples.max(1))
        .map(|_| log_weight(model, guide, args))
        .collect::<Result<Vec<f64>>>()?;
    Ok(log_mean_exp(&w))
}

/// One importance weight per element of the plate `plate`: the log-densities of sites inside
/// it kept per element, those of sites outside it (global latents) added to every element. For
/// a model whose plate elements are independent given the global sites (a VAE's images), a
/// batch holding K copies of one data point gives K weights of that point in one run.
///
/// # Errors
/// No site in a plate named `plate`.
pub fn log_weights_along<A: ?Sized, RM, RG>(
    model: &impl Fn(&A) -> Result<RM>,
    guide: &impl Fn(&A) -> Result<RG>,
    args: &A,
    plate: &str,
) -> Result<Vec<f64>> {
    no_grad(|| {
        let (model_tr, guide_tr) = get_traces(model, guide, args)?;
        let frame = model_tr
            .sites()
            .iter()
            .chain(guide_tr.sites())
            .flat_map(|s| &s.plates)
            .find(|f| f.name == plate)
            .cloned()
            .ok_or_else(|| PplError::InvalidPlate {
                plate: plate.to_string(),
                reason: "no sample site of the model or the guide is inside this plate".into(),
            })?;
        let w = log_r_for(&model_tr, &guide_tr, std::slice::from_ref(&frame));
        Ok(w.to_vec().into_iter().map(f64::from).collect())
    })
}
