//! [`DistError`]: what a distribution reports, before a sample site adds its name.

use crate::shape::{Dims, ShapeError};

/// Errors raised by distributions.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DistError {
    /// Parameters whose shapes do not broadcast together.
    #[error("{dist}: parameter shapes do not broadcast: {source}")]
    ParamShapes {
        /// The distribution.
        dist: &'static str,
        /// The shape error.
        source: ShapeError,
    },
    /// A parameter outside its support.
    #[error("invalid {dist} parameter '{param}': must be {constraint}, found {found}")]
    InvalidParameter {
        /// The distribution.
        dist: &'static str,
        /// The parameter.
        param: &'static str,
        /// The constraint it breaks.
        constraint: &'static str,
        /// The offending values.
        found: String,
    },
    /// A value whose shape does not broadcast with the distribution.
    #[error(
        "{dist}: value shape {value} does not broadcast with batch shape {batch} + event shape {event}"
    )]
    ValueShape {
        /// The distribution.
        dist: String,
        /// The value's shape.
        value: Dims,
        /// The batch shape.
        batch: Dims,
        /// The event shape.
        event: Dims,
    },
    /// A value outside the support.
    #[error("{dist}: value outside the support ({support}); values range over [{min}, {max}]")]
    Support {
        /// The distribution.
        dist: String,
        /// The support.
        support: &'static str,
        /// Smallest value seen.
        min: f32,
        /// Largest value seen.
        max: f32,
    },
    /// `to_event(n)` with fewer than `n` batch dims.
    #[error("{dist}.to_event({n}): needs {n} batch dims, batch shape is {batch}")]
    ToEvent {
        /// The base distribution.
        dist: String,
        /// Dims asked for.
        n: usize,
        /// The base batch shape.
        batch: Dims,
    },
    /// `expand` to a shape the batch shape cannot broadcast to.
    #[error("{dist}.expand: cannot expand batch shape {from} to {to}")]
    Expand {
        /// The distribution.
        dist: String,
        /// Batch shape before.
        from: Dims,
        /// Batch shape asked for.
        to: Dims,
    },
    /// `rsample` on a distribution that has none.
    #[error(
        "{dist} has no reparameterised sampler (rsample); use sample or a score-function estimator"
    )]
    NoRsample {
        /// The distribution.
        dist: String,
    },
    /// A mask that does not broadcast with the batch shape.
    #[error("{dist}.mask: mask shape {mask} does not broadcast with batch shape {batch}")]
    MaskShape {
        /// The distribution.
        dist: String,
        /// The mask's shape.
        mask: Dims,
        /// The batch shape.
        batch: Dims,
    },
    /// Anything else about shapes.
    #[error(transparent)]
    Shape(#[from] ShapeError),
}
