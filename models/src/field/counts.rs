//! Source counts: integrated fluxes drawn from a power law dN/dS ∝ S^-slope on
//! [S_min, S_max] (S_max may be infinite when slope > 1), by inverting its CDF.

use super::FieldError;

/// A power-law differential source count dN/dS ∝ S^-slope, S in [s_min, s_max] (Jy).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PowerLaw {
    /// The slope (dN/dS ∝ S^-slope).
    pub slope: f64,
    /// The faintest flux, Jy.
    pub s_min: f64,
    /// The brightest flux, Jy (may be `f64::INFINITY` when `slope > 1`).
    pub s_max: f64,
}

impl PowerLaw {
    /// Checks the range and slope: `s_min` positive and finite, `s_max > s_min`, the slope
    /// finite, and above 1 when `s_max` is infinite (else the count diverges). Errors name
    /// the option (`--smin`, `--smax`, `--slope`) and the values.
    pub fn new(slope: f64, s_min: f64, s_max: f64) -> Result<Self, FieldError> {
        if !(s_min.is_finite() && s_min > 0.0) {
            return Err(FieldError::option(
                "--smin",
                format!("the faintest flux must be positive and finite, got {s_min} Jy"),
            ));
        }
        if s_max.is_nan() || s_max <= s_min {
            return Err(FieldError::option(
                "--smax",
                format!("the brightest flux must exceed --smin = {s_min} Jy, got {s_max} Jy"),
            ));
        }
        if !slope.is_finite() {
            return Err(FieldError::option(
                "--slope",
                format!("must be finite, got {slope}"),
            ));
        }
        if s_max.is_infinite() && slope <= 1.0 {
            return Err(FieldError::option(
                "--slope",
                format!(
                    "{slope} with an infinite --smax: dN/dS ∝ S^-{slope} has infinitely many \
                     bright sources; give a slope above 1 or a finite --smax"
                ),
            ));
        }
        Ok(PowerLaw {
            slope,
            s_min,
            s_max,
        })
    }

    /// The flux whose CDF is `u` in [0, 1).
    pub fn quantile(&self, u: f64) -> f64 {
        let k = 1.0 - self.slope;
        if k.abs() < 1e-12 {
            return self.s_min * (self.s_max / self.s_min).powf(u);
        }
        let (a, b) = (self.s_min.powf(k), self.s_max.powf(k));
        // Rounding can step just outside the range.
        (a + u * (b - a))
            .powf(1.0 / k)
            .clamp(self.s_min, self.s_max)
    }

    /// The fraction of sources fainter than `s`.
    pub fn cdf(&self, s: f64) -> f64 {
        if s <= self.s_min {
            return 0.0;
        }
        if s >= self.s_max {
            return 1.0;
        }
        let k = 1.0 - self.slope;
        if k.abs() < 1e-12 {
            return (s / self.s_min).ln() / (self.s_max / self.s_min).ln();
        }
        let (a, b) = (self.s_min.powf(k), self.s_max.powf(k));
        (s.powf(k) - a) / (b - a)
    }
}

/// The Kolmogorov–Smirnov distance between the sample `fluxes` and the law: the largest gap
/// between the empirical and the model CDF.
pub fn ks_distance(law: &PowerLaw, fluxes: &[f64]) -> f64 {
    let mut s = fluxes.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len() as f64;
    s.iter()
        .enumerate()
        .map(|(i, &v)| {
            let c = law.cdf(v);
            (c - i as f64 / n).abs().max((c - (i + 1) as f64 / n).abs())
        })
        .fold(0.0, f64::max)
}

/// The maximum-likelihood slope of fluxes above `s_min` with no upper bound (Clauset et al.
/// 2009, eq. 3.1): 1 + n / Σ ln(S / s_min); its standard error is (slope - 1) / √n.
pub fn mle_slope(fluxes: &[f64], s_min: f64) -> f64 {
    let sum: f64 = fluxes.iter().map(|s| (s / s_min).ln()).sum();
    1.0 + fluxes.len() as f64 / sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn quantile_inverts_the_cdf_for_every_kind_of_slope() {
        for (slope, hi) in [(1.7, 1.0), (2.5, f64::INFINITY), (1.0, 10.0), (0.5, 2.0)] {
            let law = PowerLaw::new(slope, 1e-3, hi).unwrap();
            assert!((law.quantile(0.0) - 1e-3).abs() < 1e-15);
            for u in [0.1, 0.5, 0.9, 0.999] {
                let s = law.quantile(u);
                assert!((law.cdf(s) - u).abs() < 1e-9, "slope {slope}, u {u}: {s}");
            }
        }
    }

    #[test]
    fn samples_follow_the_law() {
        let law = PowerLaw::new(2.0, 1e-3, f64::INFINITY).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 20_000;
        let s: Vec<f64> = (0..n).map(|_| law.quantile(rng.random())).collect();
        // KS at the 0.1% level: 1.95 / √n.
        assert!(ks_distance(&law, &s) < 1.95 / (n as f64).sqrt());
        let a = mle_slope(&s, 1e-3);
        assert!(
            (a - 2.0).abs() < 4.0 * (2.0 - 1.0) / (n as f64).sqrt(),
            "{a}"
        );
        // A wrong law is told apart.
        let other = PowerLaw::new(2.1, 1e-3, f64::INFINITY).unwrap();
        assert!(ks_distance(&other, &s) > 1.95 / (n as f64).sqrt());
    }

    #[test]
    fn bad_ranges_name_their_option() {
        let e = |r: Result<PowerLaw, FieldError>| r.unwrap_err().to_string();
        assert!(e(PowerLaw::new(1.7, 0.0, 1.0)).starts_with("--smin"));
        assert!(e(PowerLaw::new(1.7, 1.0, 1.0)).starts_with("--smax"));
        assert!(e(PowerLaw::new(1.7, 2.0, 1.0)).starts_with("--smax"));
        assert!(e(PowerLaw::new(1.0, 1e-3, f64::INFINITY)).starts_with("--slope"));
        assert!(e(PowerLaw::new(f64::NAN, 1e-3, 1.0)).starts_with("--slope"));
        assert!(PowerLaw::new(0.8, 1e-3, 1.0).is_ok());
    }
}
