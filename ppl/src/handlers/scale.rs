//! `scale`: multiplies log-densities, by a number ([`scale`]) or element by element by a tensor
//! ([`scale_by`]): Pyro's `poutine.scale(fn, scale)`, whose `scale` may be either.

use crate::error::{PplError, Result};
use crate::runtime::{Messenger, is_validation_enabled, with_handler};
use crate::site::Site;
use crate::tensor::DTensor;

struct ScaleMessenger {
    factor: f64,
}

impl Messenger for ScaleMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        site.scale *= self.factor;
        Ok(())
    }
}

/// Runs `f` with every site's log-density multiplied by `factor` (`poutine.scale(f, scale)`),
/// which must be positive and finite.
///
/// ```
/// use lobes_ppl::prelude::*;
/// let x = DTensor::scalar(0.0, &Device::flex());
/// let (_, tr) = trace(|| scale(2.0, || observe("x", Normal::new(0.0, 1.0)?, x.clone()))).unwrap();
/// assert_eq!(tr.get("x").unwrap().scale, 2.0);
/// ```
pub fn scale<R>(factor: f64, f: impl FnOnce() -> Result<R>) -> Result<R> {
    if !(factor.is_finite() && factor > 0.0) {
        return Err(PplError::InvalidHandler {
            handler: "scale",
            reason: format!("scale must be positive and finite, got {factor}"),
        });
    }
    with_handler(ScaleMessenger { factor }, f).map(|(r, _)| r)
}

struct WeightsMessenger {
    weights: DTensor,
}

impl Messenger for WeightsMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        site.weights = Some(match &site.weights {
            None => self.weights.clone(),
            Some(w) => w
                .try_mul(&self.weights)
                .map_err(|source| PplError::SiteShape {
                    site: site.name.clone(),
                    source,
                })?,
        });
        Ok(())
    }
}

/// Runs `f` with every site's log-density multiplied element by element by `weights`,
/// broadcast with the site's batch shape (`poutine.scale(f, scale=tensor)`: per-data-point
/// weights, say). Weights that do not broadcast are an error naming the site and both shapes.
/// Under validation every weight must be finite and non-negative (a zero weight drops the
/// element's term, as a mask does, but a non-finite log-density times zero stays NaN: use
/// [`crate::handlers::mask`] to drop elements).
///
/// ```
/// use lobes_ppl::prelude::*;
/// let d = Device::flex();
/// let w = DTensor::from_floats(vec![1.0, 2.0, 0.5], &[3], &d).unwrap();
/// let x = DTensor::from_floats(vec![0.0, 1.0, 2.0], &[3], &d).unwrap();
/// let (_, mut tr) = trace(|| {
///     scale_by(w.clone(), || {
///         plate("data", 3).run(|_| observe("x", Normal::new(0.0, 1.0)?, x.clone()))
///     })
/// })
/// .unwrap();
/// // 1·ln N(0) + 2·ln N(1) + 0.5·ln N(2)
/// let c = -0.5 * (2.0 * std::f64::consts::PI).ln();
/// let expected = 3.5 * c - 2.0 * 0.5 - 0.5 * 2.0;
/// let got = tr.log_prob_sum().unwrap().to_vec()[0] as f64;
/// assert!((got - expected).abs() < 1e-5);
/// ```
pub fn scale_by<R>(weights: DTensor, f: impl FnOnce() -> Result<R>) -> Result<R> {
    if is_validation_enabled()
        && let Some((i, w)) = weights
            .to_vec()
            .iter()
            .enumerate()
            .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
    {
        return Err(PplError::InvalidHandler {
            handler: "scale_by",
            reason: format!(
                "weights must be finite and non-negative: element {i} of shape {:?} is {w}",
                weights.shape()
            ),
        });
    }
    with_handler(WeightsMessenger { weights }, f).map(|(r, _)| r)
}
