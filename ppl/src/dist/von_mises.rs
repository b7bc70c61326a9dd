//! The von Mises distribution: a Normal on the circle.

use super::batched::{batched_boilerplate, batched_params};
use super::{DistError, Distribution, check_value, require};
use crate::constraints::Constraint;
use crate::tensor::DTensor;
use rand::Rng;
use std::f64::consts::PI;

batched_params! {
    /// VonMises(loc, concentration): density `e^(κ cos(x - μ)) / (2π I₀(κ))` for an angle `x`;
    /// draws lie in `[-π, π)`. Not reparameterisable here (torch's implicit reparameterisation
    /// is not ported); `sample` uses Best and Fisher's rejection sampler, as torch.
    VonMises {
        /// Mean direction μ.
        loc,
        /// Concentration κ (> 0).
        concentration,
    }
}

impl VonMises {
    /// A von Mises with mean direction `loc` and concentration `concentration`.
    pub fn new(
        loc: impl Into<DTensor>,
        concentration: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        Self::from_params(loc.into(), concentration.into())
    }
}

/// `ln I₀(κ)`, the polynomial approximations of Abramowitz & Stegun 9.8.1–9.8.2 (torch's
/// `_log_modified_bessel_fn(x, order=0)`; relative error below 2 × 10⁻⁷), differentiable.
pub fn log_bessel_i0(k: &DTensor) -> DTensor {
    const SMALL: [f64; 7] = [
        1.0,
        3.515_622_9,
        3.089_942_4,
        1.206_749_2,
        0.265_973_2,
        0.036_076_8,
        0.004_581_3,
    ];
    const LARGE: [f64; 9] = [
        0.398_942_28,
        0.013_285_92,
        0.002_253_19,
        -0.001_575_65,
        0.009_162_81,
        -0.020_577_06,
        0.026_355_37,
        -0.016_476_33,
        0.003_923_77,
    ];
    let horner = |coefs: &[f64], y: &DTensor| {
        let mut acc = y.zeros_like() + coefs[coefs.len() - 1];
        for &c in coefs[..coefs.len() - 1].iter().rev() {
            acc = acc * y + c;
        }
        acc
    };
    let y = (k / 3.75).square();
    let small = horner(&SMALL, &y).log();
    let kl = k.clamp(3.75, f64::MAX);
    let large = &kl - kl.log() * 0.5 + horner(&LARGE, &(3.75 / &kl)).log();
    large.select_where(&k.ge_scalar(3.75), &small)
}

impl Distribution for VonMises {
    batched_boilerplate!(VonMises);
    fn sample(&self) -> DTensor {
        let loc = self
            .loc
            .expand(&self.batch)
            .expect("batch broadcasts")
            .to_vec();
        let kappa = self
            .concentration
            .expand(&self.batch)
            .expect("batch broadcasts")
            .to_vec();
        let v: Vec<f32> = crate::rng::with_rng(|r| {
            loc.iter()
                .zip(&kappa)
                .map(|(&m, &k)| sample_one(r, m as f64, k as f64) as f32)
                .collect()
        });
        DTensor::from_floats(v, &self.batch, &self.loc.device()).expect("one draw per element")
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let k = &self.concentration;
        Ok(k * (value - &self.loc).cos() - log_bessel_i0(k) - (2.0 * PI).ln())
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.concentration.all_gt(0.0),
            "VonMises",
            "concentration",
            "positive",
            &self.concentration,
        )
    }
    fn support(&self) -> Option<Constraint> {
        // torch's support: any real angle (the density is 2π-periodic).
        Some(Constraint::Real)
    }
}

/// One draw by Best & Fisher (1979), wrapped into `[-π, π)`.
fn sample_one(r: &mut impl Rng, loc: f64, kappa: f64) -> f64 {
    let theta = if kappa < 1e-5 {
        PI * (2.0 * r.random::<f64>() - 1.0)
    } else {
        let tau = 1.0 + (1.0 + 4.0 * kappa * kappa).sqrt();
        let rho = (tau - (2.0 * tau).sqrt()) / (2.0 * kappa);
        let s = (1.0 + rho * rho) / (2.0 * rho);
        loop {
            let (u1, u2, u3): (f64, f64, f64) = (r.random(), r.random(), r.random());
            let z = (PI * u1).cos();
            let f = (1.0 + s * z) / (s + z);
            let c = kappa * (s - f);
            if c * (2.0 - c) - u2 > 0.0 || (c / u2).ln() + 1.0 - c >= 0.0 {
                break (u3 - 0.5).signum() * f.clamp(-1.0, 1.0).acos();
            }
        }
    };
    (loc + theta + PI).rem_euclid(2.0 * PI) - PI
}
