//! Bijections for [`super::TransformedDistribution`], as `torch.distributions.transforms`:
//! the elementwise ones here, the learnable flows over vectors in [`crate::flows`].

use super::DistError;
use crate::constraints::Constraint;
use crate::tensor::DTensor;
use std::fmt;

/// An invertible map `y = f(x)` with its log absolute Jacobian determinant: elementwise
/// ([`Transform::event_dim`] 0, the default) or acting on the last dim as a whole
/// (`event_dim` 1, the flows of [`crate::flows`]), as torch's `Transform.event_dim`.
pub trait Transform: fmt::Debug + Send + Sync + 'static {
    /// The transform's name, e.g. `ExpTransform`.
    fn name(&self) -> String;
    /// `y = f(x)`.
    fn forward(&self, x: &DTensor) -> DTensor;
    /// `x = f⁻¹(y)`.
    fn inverse(&self, y: &DTensor) -> DTensor;
    /// `ln |f'(x)|` elementwise, given `x` and `y = f(x)`; for a transform with
    /// [`Transform::event_dim`] 1, `ln |det ∂y/∂x|` per vector (the shape of `x` without its
    /// last dim).
    fn log_abs_det_jacobian(&self, x: &DTensor, y: &DTensor) -> DTensor;
    /// The set `f` maps into, for support checks.
    fn codomain(&self) -> Constraint;
    /// The shape the transform's own parameters broadcast to (`[]` for none).
    fn param_shape(&self) -> Vec<usize> {
        vec![]
    }
    /// The number of rightmost dims the map acts on jointly (torch's `Transform.event_dim`):
    /// 0 for elementwise maps, 1 for maps of vectors, whose log-Jacobian is then already summed
    /// over the vector.
    fn event_dim(&self) -> usize {
        0
    }
    /// Checks that inputs of `shape` suit the map, naming the transform and the shapes: a flow
    /// over vectors of length `D` needs a last dim of `D`. Elementwise maps accept any shape.
    /// [`super::TransformedDistribution::new`] calls it with the shape flowing into the map.
    fn check_shape(&self, _shape: &[usize]) -> Result<(), DistError> {
        Ok(())
    }
}

/// `y = exp(x)`, onto `(0, ∞)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExpTransform;

impl Transform for ExpTransform {
    fn name(&self) -> String {
        "ExpTransform".into()
    }
    fn forward(&self, x: &DTensor) -> DTensor {
        x.exp()
    }
    fn inverse(&self, y: &DTensor) -> DTensor {
        y.log()
    }
    fn log_abs_det_jacobian(&self, x: &DTensor, _y: &DTensor) -> DTensor {
        x.clone()
    }
    fn codomain(&self) -> Constraint {
        Constraint::Positive
    }
}

/// `y = loc + scale x` (shapes broadcast), onto the reals.
#[derive(Clone, Debug)]
pub struct AffineTransform {
    /// Shift.
    pub loc: DTensor,
    /// Multiplier (non-zero).
    pub scale: DTensor,
}

impl AffineTransform {
    /// `y = loc + scale x`.
    pub fn new(loc: impl Into<DTensor>, scale: impl Into<DTensor>) -> Self {
        AffineTransform {
            loc: loc.into(),
            scale: scale.into(),
        }
    }
}

impl Transform for AffineTransform {
    fn name(&self) -> String {
        "AffineTransform".into()
    }
    fn forward(&self, x: &DTensor) -> DTensor {
        &self.loc + &self.scale * x
    }
    fn inverse(&self, y: &DTensor) -> DTensor {
        (y - &self.loc) / &self.scale
    }
    fn log_abs_det_jacobian(&self, x: &DTensor, _y: &DTensor) -> DTensor {
        let shape = crate::shape::broadcast_shapes(x.shape(), self.scale.shape())
            .unwrap_or_else(|e| panic!("AffineTransform: {e}"));
        self.scale
            .abs()
            .log()
            .expand(&shape)
            .expect("broadcast shape")
    }
    fn codomain(&self) -> Constraint {
        Constraint::Real
    }
    fn param_shape(&self) -> Vec<usize> {
        crate::shape::broadcast_shapes(self.loc.shape(), self.scale.shape())
            .unwrap_or_else(|e| panic!("AffineTransform loc and scale: {e}"))
    }
}

/// Probabilities kept inside `[tiny, 1 - eps]` of f32, as torch's `_clipped_sigmoid`.
fn clip_probs(p: &DTensor) -> DTensor {
    p.clamp(f32::MIN_POSITIVE as f64, 1.0 - f32::EPSILON as f64)
}

/// `y = 1 / (1 + e^(-x))`, onto `(0, 1)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SigmoidTransform;

impl Transform for SigmoidTransform {
    fn name(&self) -> String {
        "SigmoidTransform".into()
    }
    fn forward(&self, x: &DTensor) -> DTensor {
        clip_probs(&x.sigmoid())
    }
    fn inverse(&self, y: &DTensor) -> DTensor {
        let y = clip_probs(y);
        y.log() - (-&y).log1p()
    }
    fn log_abs_det_jacobian(&self, x: &DTensor, _y: &DTensor) -> DTensor {
        // ln σ'(x) = -softplus(-x) - softplus(x)
        -((-x).softplus() + x.softplus())
    }
    fn codomain(&self) -> Constraint {
        Constraint::UnitInterval
    }
}

/// `exp(x) - 1`, accurate near zero (Kahan's `(e^x - 1) x / ln(e^x)`, and `x` where
/// `e^x` rounds to one).
pub(crate) fn expm1(x: &DTensor) -> DTensor {
    let e = x.exp();
    let one = (&e - 1.0).abs().lt_scalar(f32::EPSILON as f64 / 2.0);
    let kahan = (&e - 1.0) * x / e.log();
    x.select_where(&one, &kahan)
}

/// `y = ln(1 + e^x)`, onto `(0, ∞)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SoftplusTransform;

impl Transform for SoftplusTransform {
    fn name(&self) -> String {
        "SoftplusTransform".into()
    }
    fn forward(&self, x: &DTensor) -> DTensor {
        x.softplus()
    }
    fn inverse(&self, y: &DTensor) -> DTensor {
        // As torch: y + ln(-expm1(-y)).
        y + (-expm1(&-y)).log()
    }
    fn log_abs_det_jacobian(&self, x: &DTensor, _y: &DTensor) -> DTensor {
        -(-x).softplus()
    }
    fn codomain(&self) -> Constraint {
        Constraint::Positive
    }
}
