//! The options of a simulated field, their FIRST-like defaults and their checks.

use super::counts::PowerLaw;
use crate::data::synthetic::Synthetic;
use crate::data::wcs::{Beam, Tan};
pub use crate::error::FieldError;

/// The largest side a field may have, pixels (a 65536² float32 image is 16 GiB).
pub const MAX_SIDE: usize = 65_536;

/// The most sources a field may hold (the truth catalogue is kept in memory).
pub const MAX_SOURCES: usize = 10_000_000;

/// A field's options. Defaults are FIRST's (Becker, White & Helfand 1995; White et al. 1997):
/// 1.8" pixels, a 5.4" circular beam, 0.15 mJy/beam rms.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldConfig {
    /// Width, pixels.
    pub width: usize,
    /// Height, pixels.
    pub height: usize,
    /// Pixel size, arcsec.
    pub pixel_arcsec: f64,
    /// Right ascension of the field's centre, degrees.
    pub ra: f64,
    /// Declination of the field's centre, degrees.
    pub dec: f64,
    /// Beam FWHM, arcsec (circular).
    pub beam_arcsec: f64,
    /// Gaussian noise rms, Jy/beam (0: noiseless).
    pub rms: f64,
    /// Number of sources.
    pub sources: usize,
    /// dN/dS ∝ S^-slope.
    pub slope: f64,
    /// Faintest integrated flux, Jy.
    pub s_min: f64,
    /// Brightest integrated flux, Jy (may be infinite when slope > 1).
    pub s_max: f64,
    /// Fraction of FRI sources (CVAE and synthetic generator; default 0.5 there).
    pub fri_fraction: Option<f64>,
    /// Angular size of one stamp pixel on the sky, arcsec (FIRST's 1.8": sources as large as
    /// in the training stamps). The stamps' own beam is 3 stamp pixels.
    pub stamp_pixel_arcsec: f64,
    /// Seed of everything random.
    pub seed: u64,
}

impl Default for FieldConfig {
    fn default() -> Self {
        FieldConfig {
            width: 2048,
            height: 2048,
            pixel_arcsec: 1.8,
            ra: 180.0,
            dec: 30.0,
            beam_arcsec: 5.4,
            rms: 1.5e-4,
            sources: 1000,
            slope: 1.7,
            s_min: 1e-3,
            s_max: 1.0,
            fri_fraction: None,
            stamp_pixel_arcsec: 1.8,
            seed: 0,
        }
    }
}

/// The beam of the training stamps, in stamp pixels (FIRST: 5.4" / 1.8").
pub const STAMP_BEAM_PIXELS: f64 = Synthetic::FIRST_BEAM_PIXELS;

impl FieldConfig {
    /// Checks every option; errors name the option and its value.
    pub fn validate(&self) -> Result<(), FieldError> {
        for (opt, v) in [("--width", self.width), ("--height", self.height)] {
            if v == 0 || v > MAX_SIDE {
                return Err(FieldError::option(
                    opt,
                    format!("the field's side must be 1..={MAX_SIDE} pixels, got {v}"),
                ));
            }
        }
        let positive = |opt: &'static str, v: f64, what: &str| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(FieldError::option(
                    opt,
                    format!("{what} must be positive and finite, got {v}"),
                ))
            }
        };
        positive(
            "--pixel-scale",
            self.pixel_arcsec,
            "the pixel size (arcsec)",
        )?;
        positive("--beam", self.beam_arcsec, "the beam FWHM (arcsec)")?;
        positive(
            "--stamp-pixel",
            self.stamp_pixel_arcsec,
            "a stamp pixel (arcsec)",
        )?;
        if !(self.rms.is_finite() && self.rms >= 0.0) {
            return Err(FieldError::option(
                "--rms",
                format!(
                    "the noise rms must be zero or positive (Jy/beam), got {}",
                    self.rms
                ),
            ));
        }
        if !(self.ra.is_finite() && (0.0..360.0).contains(&self.ra)) {
            return Err(FieldError::option(
                "--ra",
                format!(
                    "the centre's RA must be in [0, 360) degrees, got {}",
                    self.ra
                ),
            ));
        }
        if !(self.dec.is_finite() && (-90.0..=90.0).contains(&self.dec)) {
            return Err(FieldError::option(
                "--dec",
                format!(
                    "the centre's Dec must be in [-90, 90] degrees, got {}",
                    self.dec
                ),
            ));
        }
        let half_diag =
            0.5 * (self.width as f64).hypot(self.height as f64) * self.pixel_arcsec / 3600.0;
        if half_diag >= 60.0 {
            return Err(FieldError::option(
                "--pixel-scale",
                format!(
                    "{} x {} pixels of {}\" reach {half_diag:.1} degrees from the centre: a \
                     TAN image must stay well inside 90 degrees (keep it under 60)",
                    self.width, self.height, self.pixel_arcsec
                ),
            ));
        }
        if self.sources > MAX_SOURCES {
            return Err(FieldError::option(
                "--n",
                format!("at most {MAX_SOURCES} sources, got {}", self.sources),
            ));
        }
        if let Some(f) = self.fri_fraction
            && !(0.0..=1.0).contains(&f)
        {
            return Err(FieldError::option(
                "--fri-fraction",
                format!("a fraction must be in [0, 1], got {f}"),
            ));
        }
        let stamp_beam = STAMP_BEAM_PIXELS * self.stamp_pixel_arcsec;
        if self.beam_arcsec < stamp_beam * (1.0 - 1e-9) {
            return Err(FieldError::option(
                "--beam",
                format!(
                    "{}\" is finer than the stamps' own beam, 3 stamp pixels of \
                     --stamp-pixel {}\" = {stamp_beam}\": stamps cannot be deconvolved; give \
                     --beam {stamp_beam} or more, or a smaller --stamp-pixel",
                    self.beam_arcsec, self.stamp_pixel_arcsec
                ),
            ));
        }
        self.power_law()?;
        Ok(())
    }

    /// The flux distribution.
    pub fn power_law(&self) -> Result<PowerLaw, FieldError> {
        PowerLaw::new(self.slope, self.s_min, self.s_max)
    }

    /// The field's projection: centred on (`ra`, `dec`).
    pub fn tan(&self) -> Tan {
        Tan::centred(
            self.width,
            self.height,
            self.ra,
            self.dec,
            self.pixel_arcsec / 3600.0,
        )
    }

    /// The field's beam.
    pub fn beam(&self) -> Beam {
        Beam::circular(self.beam_arcsec)
    }

    /// The Gaussian σ, in field pixels, that takes the stamps' beam to the field's:
    /// √(σ_field² - σ_stamp²); 0 when they are equal.
    pub fn extra_sigma_pixels(&self) -> f64 {
        let fwhm_to_sigma = 1.0 / (8.0 * 2f64.ln()).sqrt();
        let stamp = STAMP_BEAM_PIXELS * self.stamp_pixel_arcsec;
        let d2 = self.beam_arcsec.powi(2) - stamp.powi(2);
        if d2 <= 0.0 {
            0.0
        } else {
            d2.sqrt() * fwhm_to_sigma / self.pixel_arcsec
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_first_like() {
        let c = FieldConfig::default();
        c.validate().unwrap();
        assert_eq!(
            c.extra_sigma_pixels(),
            0.0,
            "stamps already carry FIRST's beam"
        );
        let wider = FieldConfig {
            beam_arcsec: 10.0,
            ..c.clone()
        };
        let s = wider.extra_sigma_pixels();
        assert!(
            (s - (100.0f64 - 5.4 * 5.4).sqrt() / 2.35482 / 1.8).abs() < 1e-4,
            "{s}"
        );
    }

    #[test]
    fn every_bad_option_is_named() {
        let c = FieldConfig::default();
        let bad = |f: &dyn Fn(&mut FieldConfig), opt: &str| {
            let mut c = c.clone();
            f(&mut c);
            let e = c.validate().unwrap_err().to_string();
            assert!(e.starts_with(opt), "{opt}: {e}");
        };
        bad(&|c| c.width = 0, "--width");
        bad(&|c| c.height = MAX_SIDE + 1, "--height");
        bad(&|c| c.pixel_arcsec = -1.0, "--pixel-scale");
        bad(&|c| c.pixel_arcsec = 3600.0, "--pixel-scale");
        bad(&|c| c.rms = -1e-4, "--rms");
        bad(&|c| c.rms = f64::NAN, "--rms");
        bad(&|c| c.beam_arcsec = 3.0, "--beam");
        bad(&|c| c.dec = 91.0, "--dec");
        bad(&|c| c.ra = 360.0, "--ra");
        bad(&|c| c.fri_fraction = Some(1.5), "--fri-fraction");
        bad(&|c| c.s_min = 2.0, "--smax");
        bad(
            &|c| {
                c.slope = 0.9;
                c.s_max = f64::INFINITY
            },
            "--slope",
        );
        bad(&|c| c.stamp_pixel_arcsec = 0.0, "--stamp-pixel");
    }
}
