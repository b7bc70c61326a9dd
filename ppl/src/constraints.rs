//! Parameter constraints. A parameter is stored unconstrained and mapped into its support on
//! every use, so gradient steps never leave the support (Pyro's `constraints` + `biject_to`).

use crate::tensor::DTensor;

/// The support of a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Constraint {
    /// All reals: stored as is.
    #[default]
    Real,
    /// `(0, ∞)`: stored as its logarithm.
    Positive,
    /// `(0, 1)`: stored as its logit.
    UnitInterval,
}

impl Constraint {
    /// The name used in files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Constraint::Real => "real",
            Constraint::Positive => "positive",
            Constraint::UnitInterval => "unit_interval",
        }
    }

    /// Parses [`Constraint::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "real" => Some(Constraint::Real),
            "positive" => Some(Constraint::Positive),
            "unit_interval" => Some(Constraint::UnitInterval),
            _ => None,
        }
    }

    /// Maps an unconstrained tensor into the support.
    pub fn transform(self, u: &DTensor) -> DTensor {
        match self {
            Constraint::Real => u.clone(),
            Constraint::Positive => u.exp(),
            Constraint::UnitInterval => u.sigmoid(),
        }
    }

    /// Maps a value in the support to unconstrained space.
    pub fn inverse(self, x: &DTensor) -> DTensor {
        match self {
            Constraint::Real => x.clone(),
            Constraint::Positive => x.log(),
            Constraint::UnitInterval => x.log().sub(&x.neg().log1p()),
        }
    }

    /// Whether every element of `x` lies in the support.
    pub fn check(self, x: &DTensor) -> bool {
        match self {
            Constraint::Real => !x.any_nan(),
            Constraint::Positive => x.all_gt(0.0),
            Constraint::UnitInterval => x.all_gt(0.0) && x.lt_scalar(1.0).all_eq(1.0),
        }
    }
}
