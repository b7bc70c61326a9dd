//! The support of a latent site's distribution, and the log-Jacobian of the bijection onto it
//! (Pyro's `biject_to(site["fn"].support)`).
//!
//! Each distribution reports its own support ([`Distribution::support`]); wrappers
//! (`Independent`, `Masked`) pass their base's on, and `Uniform`, whose interval is a
//! parameter, is read here. Any other distribution is refused with a typed error rather than
//! guessed.

use crate::constraints::Constraint;
use crate::dist::{Distribution, Independent, Masked, Uniform};
use crate::tensor::DTensor;

/// The continuous support of `dist` as a [`Constraint`] with a bijective transform, or why
/// the autoguides cannot handle it.
pub fn support_of(dist: &dyn Distribution) -> std::result::Result<Constraint, String> {
    let any = dist.as_any();
    if let Some(d) = any.downcast_ref::<Independent>() {
        return support_of(&*d.base);
    }
    if let Some(d) = any.downcast_ref::<Masked>() {
        return support_of(&*d.base);
    }
    if let Some(c) = dist.support() {
        return Ok(c);
    }
    if let Some(u) = any.downcast_ref::<Uniform>() {
        let (lo, hi) = (u.low.min_value(), u.high.min_value());
        if lo != u.low.max_value() || hi != u.high.max_value() {
            return Err("a Uniform whose bounds differ between elements is not supported".into());
        }
        return Ok(Constraint::interval(lo, hi));
    }
    Err(format!(
        "{} has no continuous support with a known bijection (discrete latents need \
         enumeration; simplex and transformed supports are not yet supported)",
        dist.name()
    ))
}

/// `log |d transform(u) / du|`, elementwise: the log-Jacobian of the constraint's transform
/// from unconstrained space into the support. `None` for [`Constraint::Simplex`] and
/// [`Constraint::UnitLowerCholesky`], whose transforms are not bijections (softmax; the
/// diagonal set to one).
pub fn log_abs_det_jacobian(c: Constraint, u: &DTensor) -> Option<DTensor> {
    match c {
        Constraint::Real => Some(u.zeros_like()),
        Constraint::Positive | Constraint::GreaterThan { .. } => Some(u.clone()),
        Constraint::UnitInterval => Some(u.log_sigmoid().add(&u.neg().log_sigmoid())),
        Constraint::Interval { lower, upper } => Some(
            u.log_sigmoid()
                .add(&u.neg().log_sigmoid())
                .add_scalar((upper as f64 - lower as f64).ln()),
        ),
        Constraint::SoftplusPositive => Some(u.log_sigmoid()),
        Constraint::Custom(b) => Some(b.log_abs_det_jacobian(u)),
        Constraint::CorrCholesky => Some(Constraint::corr_cholesky_log_det(u)),
        Constraint::Simplex | Constraint::UnitLowerCholesky => None,
    }
}
