//! [`AffineAutoregressive`]: the inverse autoregressive flow (IAF, Kingma et al. 2016), as
//! Pyro's `pyro.distributions.transforms.AffineAutoregressive`.

use super::made::AutoRegressiveNN;
use super::shared::{check_last, clamp_preserve_gradients, from_matrix, to_matrix};
use crate::constraints::Constraint;
use crate::dist::{DistError, Transform};
use crate::shape::broadcast_shapes;
use crate::tensor::DTensor;
use burn::prelude::*;
use burn::tensor::activation;

const IAF: &str = "AffineAutoregressive";

/// The options of an affine autoregressive flow, Pyro's keyword arguments.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct AffineOptions {
    pub(super) stable: bool,
    pub(super) sigmoid_bias: f64,
    pub(super) min_clip: f64,
    pub(super) max_clip: f64,
}

impl Default for AffineOptions {
    fn default() -> Self {
        AffineOptions {
            stable: false,
            sigmoid_bias: 2.0,
            min_clip: -5.0,
            max_clip: 3.0,
        }
    }
}

/// Pyro's `AffineAutoregressive(arn)`: `y = loc(x) + exp(log_scale(x)) ⊙ x`, with `loc` and
/// `log_scale` from an [`AutoRegressiveNN`] of `x`, so that the Jacobian is triangular (in the
/// network's permutation) and `ln |det J| = Σ log_scale`.
///
/// As Pyro's, `log_scale` is clamped to `(-5, 3)` with the identity's gradient
/// ([`AffineAutoregressive::log_scale_clip`]); the stable variant
/// ([`AffineAutoregressive::stable`]) is `y = σ ⊙ x + (1 - σ) ⊙ loc` with the gate
/// `σ = sigmoid(log_scale + sigmoid_bias)`. Sampling is one network pass; the inverse, which
/// `log_prob` needs, is computed dimension by dimension: `D` passes for `D` coordinates
/// (Pyro caches the last forward pass instead; lobes recomputes).
///
/// A burn `Module`: `module("name", &template)` ([`crate::module()`]) registers its
/// parameters (`name.arn.layers.{k}.weight`, `.bias`) and returns it with the stored values,
/// ready for [`crate::dist::TransformedDistribution`] and training by `Svi`.
/// Its [`Transform::event_dim`] is 1.
///
/// # Shapes
/// - input `x`: `batch + [input_dim]`; output `y`: the same
/// - `log_abs_det_jacobian`: `batch`
///
/// ```
/// use lobes_ppl::flows::affine_autoregressive;
/// use lobes_ppl::prelude::*;
/// use std::sync::Arc;
///
/// let d = Device::flex();
/// let template = affine_autoregressive(2, None, &d)?; // hidden layer [3 · 2 + 1], as Pyro
/// let mut store = ParamStore::new();
/// let lp = with_param_store(&mut store, || -> Result<DTensor> {
///     let iaf = module("iaf", &template)?; // the stored (trained) parameters
///     let base = Normal::new(DTensor::zeros(&[2], &d), DTensor::ones(&[2], &d))?;
///     let flow = TransformedDistribution::new(Arc::new(base), vec![Arc::new(iaf)])?;
///     assert_eq!((flow.batch_shape(), flow.event_shape()), (vec![], vec![2]));
///     Ok(flow.log_prob(&flow.sample())?)
/// })?;
/// assert_eq!(lp.shape(), &[] as &[usize]);
/// assert!(store.contains("iaf.arn.layers.0.weight"));
/// # Ok::<(), PplError>(())
/// ```
#[derive(Module, Debug)]
pub struct AffineAutoregressive {
    /// The autoregressive network giving `(loc, log_scale)` (Pyro's `arn`).
    pub arn: AutoRegressiveNN,
    #[module(skip)]
    options: AffineOptions,
    #[module(skip)]
    context: Option<DTensor>,
}

/// Pyro's `affine_autoregressive(input_dim, hidden_dims)`: an [`AffineAutoregressive`] on an
/// [`AutoRegressiveNN`] with hidden layers `hidden_dims` (`None`: Pyro's `[3 · input_dim + 1]`).
///
/// # Errors
/// As [`AutoRegressiveNN::new`].
pub fn affine_autoregressive(
    input_dim: usize,
    hidden_dims: Option<&[usize]>,
    device: &Device,
) -> Result<AffineAutoregressive, DistError> {
    let hidden = hidden_dims.map_or_else(|| vec![3 * input_dim + 1], <[usize]>::to_vec);
    AffineAutoregressive::new(AutoRegressiveNN::new(input_dim, &hidden, device)?)
}

impl AffineAutoregressive {
    /// The flow of an unconditional network (Pyro's `AffineAutoregressive(arn)`).
    ///
    /// # Errors
    /// A conditional network (it belongs in
    /// [`ConditionalAffineAutoregressive`](super::ConditionalAffineAutoregressive)).
    pub fn new(arn: AutoRegressiveNN) -> Result<Self, DistError> {
        if arn.context_dim() > 0 {
            return Err(DistError::InvalidParameter {
                dist: IAF,
                param: "autoregressive_nn",
                constraint: "unconditional (use ConditionalAffineAutoregressive)",
                found: format!("a network with context_dim {}", arn.context_dim()),
            });
        }
        Ok(AffineAutoregressive {
            arn,
            options: AffineOptions::default(),
            context: None,
        })
    }

    /// The flow of a conditional network at `context` (`batch + [context_dim]`, checked by
    /// the caller).
    pub(super) fn conditioned(
        arn: AutoRegressiveNN,
        options: AffineOptions,
        context: DTensor,
    ) -> Self {
        AffineAutoregressive {
            arn,
            options,
            context: Some(context),
        }
    }

    /// Pyro's `stable=True`: `y = σ ⊙ x + (1 - σ) ⊙ loc`, `σ = sigmoid(log_scale + bias)`.
    pub fn stable(mut self, stable: bool) -> Self {
        self.options.stable = stable;
        self
    }

    /// The term added to the gate's logit in the stable variant (Pyro's `sigmoid_bias`,
    /// default 2).
    pub fn sigmoid_bias(mut self, bias: f64) -> Self {
        self.options.sigmoid_bias = bias;
        self
    }

    /// The interval `log_scale` is clamped to (Pyro's `log_scale_min_clip`,
    /// `log_scale_max_clip`, default `(-5, 3)`).
    pub fn log_scale_clip(mut self, min: f64, max: f64) -> Self {
        self.options.min_clip = min;
        self.options.max_clip = max;
        self
    }

    /// The length of the vectors the flow maps.
    pub fn input_dim(&self) -> usize {
        self.arn.input_dim()
    }

    /// `(loc, s)` at the rows of `x`: `s` the clamped log-scale, or the gate's logit in the
    /// stable variant.
    fn affine(
        &self,
        x: Tensor<2>,
        ctx: Option<Tensor<2>>,
    ) -> Result<(Tensor<2>, Tensor<2>), DistError> {
        let (loc, raw) = self.arn.forward(x, ctx)?;
        let o = self.options;
        Ok(if o.stable {
            (loc, raw.add_scalar(o.sigmoid_bias))
        } else {
            (loc, clamp_preserve_gradients(raw, o.min_clip, o.max_clip))
        })
    }

    /// Runs `f` on `x` as an `[n, input_dim]` matrix, with the context broadcast to the same
    /// rows, and returns its `[n, k]` result as `batch + [k]`.
    fn rows(
        &self,
        x: &DTensor,
        f: impl FnOnce(Tensor<2>, Option<Tensor<2>>) -> Result<Tensor<2>, DistError>,
    ) -> Result<DTensor, DistError> {
        let d = self.arn.input_dim();
        check_last(&self.name(), x.shape(), d)?;
        let x_batch = &x.shape()[..x.rank() - 1];
        let (batch, ctx) = match &self.context {
            None => (x_batch.to_vec(), None),
            Some(c) => {
                let k = self.arn.context_dim();
                let batch = broadcast_shapes(x_batch, &c.shape()[..c.rank() - 1])?;
                let c = c.expand(&[&batch[..], &[k]].concat())?;
                (batch, Some(to_matrix(&c, k)?))
            }
        };
        let x = x.expand(&[&batch[..], &[d]].concat())?;
        from_matrix(f(to_matrix(&x, d)?, ctx)?, &batch)
    }

    /// `y = f(x)`, or an error naming the transform and the shapes.
    pub fn try_forward(&self, x: &DTensor) -> Result<DTensor, DistError> {
        let stable = self.options.stable;
        self.rows(x, |x, ctx| {
            let (loc, s) = self.affine(x.clone(), ctx)?;
            Ok(if stable {
                let gate = activation::sigmoid(s);
                gate.clone() * x + gate.neg().add_scalar(1.0) * loc
            } else {
                s.exp() * x + loc
            })
        })
    }

    /// `x = f⁻¹(y)`, one coordinate per network pass in the permutation's order: after pass
    /// `k` the first `k` coordinates in that order are exact, so `input_dim` passes invert.
    pub fn try_inverse(&self, y: &DTensor) -> Result<DTensor, DistError> {
        let (stable, d) = (self.options.stable, self.arn.input_dim());
        self.rows(y, |y, ctx| {
            let mut x = y.zeros_like();
            for _ in 0..d {
                let (loc, s) = self.affine(x, ctx.clone())?;
                x = if stable {
                    let inv = s.neg().exp().add_scalar(1.0);
                    inv.clone() * y.clone() + inv.neg().add_scalar(1.0) * loc
                } else {
                    (y.clone() - loc) * s.neg().exp()
                };
            }
            Ok(x)
        })
    }

    /// `ln |det ∂y/∂x|` at `x`: `Σ log_scale` (`Σ ln σ` in the stable variant), of shape
    /// `batch`.
    pub fn try_log_abs_det_jacobian(&self, x: &DTensor) -> Result<DTensor, DistError> {
        let stable = self.options.stable;
        let out = self.rows(x, |x, ctx| {
            let (_, s) = self.affine(x, ctx)?;
            let log_scale = if stable {
                activation::log_sigmoid(s)
            } else {
                s
            };
            Ok(log_scale.sum_dim(1))
        })?;
        let batch = out.shape()[..out.rank() - 1].to_vec();
        Ok(out.reshape(&batch)?)
    }
}

/// # Panics
/// The infallible [`Transform`] methods panic with the `try_` methods' error (a last dim other
/// than `input_dim`), which [`crate::dist::TransformedDistribution::new`] reports as an error
/// beforehand through [`Transform::check_shape`].
impl Transform for AffineAutoregressive {
    fn name(&self) -> String {
        match self.context {
            Some(_) => "ConditionalAffineAutoregressive".into(),
            None => IAF.into(),
        }
    }
    fn forward(&self, x: &DTensor) -> DTensor {
        self.try_forward(x).unwrap_or_else(|e| panic!("{e}"))
    }
    fn inverse(&self, y: &DTensor) -> DTensor {
        self.try_inverse(y).unwrap_or_else(|e| panic!("{e}"))
    }
    fn log_abs_det_jacobian(&self, x: &DTensor, _y: &DTensor) -> DTensor {
        self.try_log_abs_det_jacobian(x)
            .unwrap_or_else(|e| panic!("{e}"))
    }
    fn codomain(&self) -> Constraint {
        Constraint::Real
    }
    /// The context's batch shape and `[input_dim]`: a context of `[B, context_dim]` makes the
    /// transformed distribution's batch `[B]`.
    fn param_shape(&self) -> Vec<usize> {
        match &self.context {
            Some(c) => [&c.shape()[..c.rank() - 1], &[self.arn.input_dim()]].concat(),
            None => vec![],
        }
    }
    fn event_dim(&self) -> usize {
        1
    }
    fn check_shape(&self, shape: &[usize]) -> Result<(), DistError> {
        check_last(&self.name(), shape, self.arn.input_dim())
    }
}
