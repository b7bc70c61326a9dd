//! Where latent points come from: [`Sampling`], the prior or a uniform box, and its parsing.

use crate::error::ModelError;

/// Where latent points come from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampling {
    /// The prior, N(0, I).
    Prior,
    /// Uniform on `[lo, hi]` in every dimension (the paper's uniform(-4, 4)).
    Uniform(f64, f64),
}

impl Sampling {
    /// Parses `prior` or `uniform:LO,HI`; `None` for anything else, or for a box
    /// [`Sampling::check`] refuses.
    pub fn parse(s: &str) -> Option<Self> {
        Self::from_option("", s).ok()
    }

    /// Parses the value `s` of the command-line option `option` (e.g. `--sampling`): `prior`,
    /// or `uniform:LO,HI` with bounds [`Sampling::check`] accepts. An error names the option,
    /// the value and what is wrong, before anything is read or written.
    pub fn from_option(option: &'static str, s: &str) -> Result<Self, ModelError> {
        let bad = |why: &str| {
            ModelError::invalid_option(
                option,
                s,
                format!(
                    "{option}{}'{s}': {why}",
                    if option.is_empty() { "" } else { " " }
                ),
            )
        };
        if s == "prior" {
            return Ok(Sampling::Prior);
        }
        let (lo, hi) = s
            .strip_prefix("uniform:")
            .and_then(|r| r.split_once(','))
            .ok_or_else(|| bad("expected prior or uniform:LO,HI"))?;
        let (lo, hi): (f64, f64) = match (lo.trim().parse(), hi.trim().parse()) {
            (Ok(lo), Ok(hi)) => (lo, hi),
            _ => return Err(bad("LO and HI of uniform:LO,HI must be numbers")),
        };
        let sampling = Sampling::Uniform(lo, hi);
        sampling.check().map_err(|why| bad(&why))?;
        Ok(sampling)
    }

    /// A uniform box must have finite bounds that a latent (`f32`) can hold, `LO < HI`, and a
    /// finite width `HI - LO` (`-1e308,1e308` overflows); the prior is always fine.
    pub fn check(&self) -> Result<(), String> {
        let Sampling::Uniform(lo, hi) = *self else {
            return Ok(());
        };
        // 1e308 is shown as such, not as 309 digits.
        let show = |v: f64| {
            if v.abs() >= 1e15 {
                format!("{v:e}")
            } else {
                v.to_string()
            }
        };
        let (l, h) = (show(lo), show(hi));
        if !lo.is_finite() || !hi.is_finite() {
            return Err(format!("the bounds must be finite, got {l} and {h}"));
        }
        if lo >= hi {
            return Err(format!("LO must be below HI, got {l} and {h}"));
        }
        if !(hi - lo).is_finite() {
            return Err(format!(
                "the width HI - LO of {l} and {h} overflows to {}",
                hi - lo
            ));
        }
        if !(lo as f32).is_finite() || !(hi as f32).is_finite() {
            return Err(format!(
                "a latent is an f32: the bounds must lie within ±{:e}, got {l} and {h}",
                f32::MAX
            ));
        }
        Ok(())
    }
}
