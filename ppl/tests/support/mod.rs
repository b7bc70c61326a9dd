//! What several of ppl's test files share: the CPU device, tensor shorthands, closed forms, and
//! the Normal–Normal conjugate model with its exact posterior. `use crate::support::*;`
//! at the top of a test file (`tests/main.rs` declares the module).

#![allow(dead_code)]

use lobes_ppl::prelude::*;

/// The CPU device every test runs on.
pub fn dev() -> Device {
    Device::flex()
}

/// A scalar tensor.
pub fn s(v: f32) -> DTensor {
    DTensor::scalar(v, &dev())
}

/// A vector tensor.
pub fn t(v: &[f32]) -> DTensor {
    DTensor::from_floats(v.to_vec(), &[v.len()], &dev()).unwrap()
}

/// `ln N(x; m, s)`.
pub fn ln_n(x: f64, m: f64, s: f64) -> f64 {
    -0.5 * ((x - m) / s).powi(2) - s.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
}

/// `ln Σ exp(v)`, stable.
pub fn lse(v: &[f64]) -> f64 {
    let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// Ten points around 3: the data of the Normal–Normal model.
pub fn data() -> DTensor {
    let x: Vec<f32> = (0..10)
        .map(|i| 3.0 + 0.4 * ((i as f32) * 1.7).sin())
        .collect();
    DTensor::from_floats(x, &[10], &dev()).unwrap()
}

/// `mu ~ N(0, 1)`; `x_i ~ N(mu, 1)` in plate "data".
pub fn nn_model(x: &DTensor) -> Result<()> {
    let mu: DTensor = sample("mu", Normal::new(s(0.0), s(1.0))?)?;
    plate("data", x.numel()).run(|_| observe("x", Normal::new(mu.clone(), s(1.0))?, x.clone()))?;
    Ok(())
}

/// The exact posterior of [`nn_model`]: `N(Σx / (n + 1), 1 / √(n + 1))`, as (mean, sd).
pub fn exact_posterior(x: &DTensor) -> (f64, f64) {
    let sum: f64 = x.to_vec().iter().map(|&v| v as f64).sum();
    let n = x.numel() as f64;
    (sum / (n + 1.0), (1.0 / (n + 1.0)).sqrt())
}
