//! Parameter constraints. A parameter is stored unconstrained and mapped into its support on
//! every use, so gradient steps never leave the support (Pyro's `constraints` +
//! `transform_to`, which is what Pyro's parameter store uses).

mod corr_cholesky;

use crate::tensor::DTensor;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The support of a parameter.
///
/// Bounds are compared bit for bit, so equality is an equivalence even for NaN bounds (which
/// no support should have).
#[derive(Clone, Copy, Debug, Default)]
pub enum Constraint {
    /// All reals: stored as is.
    #[default]
    Real,
    /// `(0, ∞)`: stored as its logarithm.
    Positive,
    /// `(0, 1)`: stored as its logit.
    UnitInterval,
    /// `[lower, upper]` (torch's `constraints.interval`): `x = lower + (upper - lower)
    /// sigmoid(u)`, as torch's `transform_to(interval)`.
    Interval {
        /// Lower bound.
        lower: f32,
        /// Upper bound (> lower).
        upper: f32,
    },
    /// `(lower, ∞)` (torch's `constraints.greater_than`): `x = lower + exp(u)`, as torch's
    /// `transform_to(greater_than)`.
    GreaterThan {
        /// Lower bound (excluded).
        lower: f32,
    },
    /// Vectors in the probability simplex along the last dim (non-negative, summing to one):
    /// `x = softmax(u)`, as torch's `transform_to(simplex)` (the softmax keeps the shape, so
    /// the unconstrained value is one dim longer than a stick-breaking one would be; the
    /// inverse is `ln x`, defined up to a constant per vector).
    Simplex,
    /// `(0, ∞)` through softplus (Pyro's `constraints.softplus_positive`): `x = ln(1 + e^u)`,
    /// linear for large `u` where `exp` grows without bound. Pyro's autoguides store their
    /// scales this way.
    SoftplusPositive,
    /// Lower-triangular matrices with ones on the diagonal, over the last two dims (Pyro's
    /// `constraints.unit_lower_cholesky`): `x = tril(u, -1) + I`, as Pyro's
    /// `UnitLowerCholeskyTransform`, whose inverse is the identity (the diagonal of the
    /// unconstrained value is ignored). For tensors of rank >= 2.
    UnitLowerCholesky,
    /// Lower Cholesky factors of correlation matrices over the last two dims (torch's
    /// `constraints.corr_cholesky`, the support of [`LkjCholesky`](crate::dist::LkjCholesky)):
    /// NumPyro's `CorrCholeskyTransform` (tanh, then stick-breaking along each row). The
    /// unconstrained value keeps the `[.., D, D]` shape and uses its strictly-lower entries;
    /// the others carry an independent standard Normal (see the `corr_cholesky` module).
    CorrCholesky,
    /// A user-defined support and its bijection from unconstrained space (build it with
    /// [`Constraint::custom`], which registers it so that saved parameters name it and load
    /// back). Distributions report it from [`Distribution::support`]; the autoguides and MCMC
    /// then sample the site through it.
    ///
    /// [`Distribution::support`]: crate::dist::Distribution::support
    Custom(&'static dyn Bijection),
}

/// A support and the bijection that maps unconstrained space onto it, for
/// [`Constraint::Custom`]. The Jacobian is elementwise: the bijection acts on each element
/// (one value in, one out), so a value and its unconstrained form share a shape.
///
/// ```
/// use lobes_ppl::constraints::{Bijection, Constraint};
/// use lobes_ppl::prelude::*;
///
/// /// `(-1, 1)` through tanh.
/// #[derive(Debug)]
/// struct Tanh;
/// impl Bijection for Tanh {
///     fn name(&self) -> &'static str { "open_unit_ball" }
///     fn transform(&self, u: &DTensor) -> DTensor { (u * 2.0).sigmoid() * 2.0 - 1.0 }
///     fn inverse(&self, x: &DTensor) -> DTensor { x.atanh() }
///     // d tanh(u)/du = 1 - tanh²(u).
///     fn log_abs_det_jacobian(&self, u: &DTensor) -> DTensor { (1.0 - self.transform(u).square()).log() }
///     fn check(&self, x: &DTensor) -> bool { x.abs().all_le(1.0) }
/// }
/// static TANH: Tanh = Tanh;
///
/// let c = Constraint::custom(&TANH);
/// assert_eq!(Constraint::parse("open_unit_ball"), Some(c));
/// let u = DTensor::scalar(0.3, &Device::flex());
/// assert!((c.inverse(&c.transform(&u)).item() - 0.3).abs() < 1e-6);
/// ```
pub trait Bijection: std::fmt::Debug + Send + Sync {
    /// The support's name, in files and messages (unique among registered bijections).
    fn name(&self) -> &'static str;
    /// Maps unconstrained values into the support.
    fn transform(&self, u: &DTensor) -> DTensor;
    /// Maps values in the support to unconstrained space.
    fn inverse(&self, x: &DTensor) -> DTensor;
    /// `log |d transform(u) / du|`, elementwise, in tensor ops (it is differentiated).
    fn log_abs_det_jacobian(&self, u: &DTensor) -> DTensor;
    /// Whether every element of `x` lies in the support.
    fn check(&self, x: &DTensor) -> bool;
}

fn registry() -> &'static Mutex<Vec<&'static dyn Bijection>> {
    static REGISTRY: OnceLock<Mutex<Vec<&'static dyn Bijection>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

impl PartialEq for Constraint {
    fn eq(&self, other: &Self) -> bool {
        use Constraint::*;
        match (self, other) {
            (Real, Real)
            | (Positive, Positive)
            | (UnitInterval, UnitInterval)
            | (Simplex, Simplex)
            | (SoftplusPositive, SoftplusPositive)
            | (UnitLowerCholesky, UnitLowerCholesky)
            | (CorrCholesky, CorrCholesky) => true,
            (
                Interval { lower, upper },
                Interval {
                    lower: l2,
                    upper: u2,
                },
            ) => lower.to_bits() == l2.to_bits() && upper.to_bits() == u2.to_bits(),
            (GreaterThan { lower }, GreaterThan { lower: l2 }) => lower.to_bits() == l2.to_bits(),
            (Custom(a), Custom(b)) => a.name() == b.name(),
            _ => false,
        }
    }
}

impl Eq for Constraint {}

/// Interned names of parameterised constraints, so [`Constraint::as_str`] can hand out a
/// `&'static str` for each distinct one (each is leaked once).
fn intern(s: String) -> &'static str {
    static NAMES: OnceLock<Mutex<HashMap<String, &'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(&n) = names.get(&s) {
        return n;
    }
    let leaked: &'static str = Box::leak(s.clone().into_boxed_str());
    names.insert(s, leaked);
    leaked
}

/// Parses `name(a, b, ...)` into its float arguments.
fn args(s: &str, name: &str) -> Option<Vec<f32>> {
    let inner = s
        .strip_prefix(name)?
        .trim()
        .strip_prefix('(')?
        .strip_suffix(')')?;
    inner.split(',').map(|a| a.trim().parse().ok()).collect()
}

impl Constraint {
    /// A user-defined support (see [`Bijection`]), registered by its name so that
    /// [`Constraint::parse`] finds it (a parameter store saved with it loads back).
    pub fn custom(b: &'static dyn Bijection) -> Self {
        let mut reg = registry().lock().unwrap_or_else(|e| e.into_inner());
        if !reg.iter().any(|r| r.name() == b.name()) {
            reg.push(b);
        }
        Constraint::Custom(b)
    }

    /// `[lower, upper]`, torch's `constraints.interval(lower, upper)`.
    pub fn interval(lower: f32, upper: f32) -> Self {
        Constraint::Interval { lower, upper }
    }

    /// `(lower, ∞)`, torch's `constraints.greater_than(lower)`.
    pub fn greater_than(lower: f32) -> Self {
        Constraint::GreaterThan { lower }
    }

    /// The name used in files and messages: `real`, `positive`, `unit_interval`, `simplex`,
    /// `softplus_positive`, `unit_lower_cholesky`, `interval(lower, upper)` or
    /// `greater_than(lower)` (bounds printed so that they parse back exactly).
    pub fn as_str(self) -> &'static str {
        match self {
            Constraint::Real => "real",
            Constraint::Positive => "positive",
            Constraint::UnitInterval => "unit_interval",
            Constraint::Simplex => "simplex",
            Constraint::SoftplusPositive => "softplus_positive",
            Constraint::UnitLowerCholesky => "unit_lower_cholesky",
            Constraint::CorrCholesky => "corr_cholesky",
            Constraint::Interval { lower, upper } => intern(format!("interval({lower}, {upper})")),
            Constraint::GreaterThan { lower } => intern(format!("greater_than({lower})")),
            Constraint::Custom(b) => b.name(),
        }
    }

    /// `log |d transform(u) / du|` of [`Constraint::CorrCholesky`], per entry.
    pub(crate) fn corr_cholesky_log_det(u: &DTensor) -> DTensor {
        corr_cholesky::log_abs_det_jacobian(u)
    }

    /// Parses [`Constraint::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        match s {
            "real" => Some(Constraint::Real),
            "positive" => Some(Constraint::Positive),
            "unit_interval" => Some(Constraint::UnitInterval),
            "simplex" => Some(Constraint::Simplex),
            "softplus_positive" => Some(Constraint::SoftplusPositive),
            "unit_lower_cholesky" => Some(Constraint::UnitLowerCholesky),
            "corr_cholesky" => Some(Constraint::CorrCholesky),
            _ => {
                if let Some(a) = args(s, "interval") {
                    return match a[..] {
                        [lower, upper] => Some(Constraint::Interval { lower, upper }),
                        _ => None,
                    };
                }
                if let Some(a) = args(s, "greater_than") {
                    return match a[..] {
                        [lower] => Some(Constraint::GreaterThan { lower }),
                        _ => None,
                    };
                }
                let reg = registry().lock().unwrap_or_else(|e| e.into_inner());
                reg.iter()
                    .find(|b| b.name() == s)
                    .map(|&b| Constraint::Custom(b))
            }
        }
    }

    /// Maps an unconstrained tensor into the support.
    pub fn transform(self, u: &DTensor) -> DTensor {
        match self {
            Constraint::Real => u.clone(),
            Constraint::Positive => u.exp(),
            Constraint::UnitInterval => u.sigmoid(),
            Constraint::Interval { lower, upper } => u
                .sigmoid()
                .mul_scalar(upper as f64 - lower as f64)
                .add_scalar(lower as f64),
            Constraint::GreaterThan { lower } => u.exp().add_scalar(lower as f64),
            Constraint::Simplex => u.log_softmax_last().exp(),
            Constraint::SoftplusPositive => u.softplus(),
            Constraint::UnitLowerCholesky => u.tril(-1).add(&identity_like(u)),
            Constraint::CorrCholesky => corr_cholesky::transform(u),
            Constraint::Custom(b) => b.transform(u),
        }
    }

    /// Maps a value in the support to unconstrained space. For an interval, values are first
    /// clamped into the open interval as torch's `SigmoidTransform` inverse does, so the end
    /// points map to finite values.
    pub fn inverse(self, x: &DTensor) -> DTensor {
        match self {
            Constraint::Real => x.clone(),
            Constraint::Positive => x.log(),
            Constraint::UnitInterval => x.log().sub(&x.neg().log1p()),
            Constraint::Interval { lower, upper } => {
                let (lo, hi) = (lower as f64, upper as f64);
                let y = x
                    .add_scalar(-lo)
                    .mul_scalar(1.0 / (hi - lo))
                    .clamp(f32::MIN_POSITIVE as f64, 1.0 - f32::EPSILON as f64);
                y.log().sub(&y.neg().log1p())
            }
            Constraint::GreaterThan { lower } => x.add_scalar(-(lower as f64)).log(),
            Constraint::Simplex => x.log(),
            // torch's SoftplusTransform inverse, `y + ln(-expm1(-y))`: no overflow for large
            // y, and exact for small y, where `1 - exp(-y)` would round to 0.
            Constraint::SoftplusPositive => x.add(&crate::dist::expm1(&x.neg()).neg().log()),
            Constraint::UnitLowerCholesky => x.clone(),
            Constraint::CorrCholesky => corr_cholesky::inverse(x),
            Constraint::Custom(b) => b.inverse(x),
        }
    }

    /// Whether every element of `x` lies in the support. A simplex needs rank >= 1, every
    /// element `>= 0` and each vector along the last dim summing to one within `1e-5` (torch
    /// uses `1e-6`; f32 sums of normalised vectors need a little more).
    pub fn check(self, x: &DTensor) -> bool {
        match self {
            Constraint::Real => !x.any_nan(),
            Constraint::Positive => x.all_gt(0.0),
            Constraint::UnitInterval => x.all_gt(0.0) && x.lt_scalar(1.0).all_eq(1.0),
            Constraint::Interval { lower, upper } => {
                x.all_ge(lower as f64) && x.all_le(upper as f64)
            }
            Constraint::GreaterThan { lower } => x.all_gt(lower as f64),
            Constraint::Simplex => {
                x.rank() >= 1
                    && x.all_ge(0.0)
                    && x.sum_rightmost(1).add_scalar(-1.0).abs().all_le(1e-5)
            }
            Constraint::SoftplusPositive => x.all_gt(0.0),
            // Zero above the diagonal and one on it; anything below.
            Constraint::UnitLowerCholesky => {
                x.rank() >= 2 && x.triu(0).sub(&identity_like(x)).all_eq(0.0)
            }
            Constraint::CorrCholesky => corr_cholesky::check(x),
            Constraint::Custom(b) => b.check(x),
        }
    }
}

/// Ones on the diagonal of the last two dims of `t`, zeros elsewhere, of `t`'s shape and
/// device.
fn identity_like(t: &DTensor) -> DTensor {
    t.ones_like().tril(0).triu(0)
}
