//! [`ConditionalAffineAutoregressive`]: an inverse autoregressive flow whose network also
//! reads a context (Pyro's `ConditionalAffineAutoregressive`), for amortised guides such as
//! `q(z | x)` with `x` the context.

use super::affine_autoregressive::{AffineAutoregressive, AffineOptions};
use super::made::AutoRegressiveNN;
use super::shared::check_last;
use crate::dist::DistError;
use crate::tensor::DTensor;
use burn::prelude::*;

const NAME: &str = "ConditionalAffineAutoregressive";

/// Pyro's `ConditionalAffineAutoregressive(nn)`: an [`AffineAutoregressive`] whose
/// `(loc, log_scale)` come from a conditional [`AutoRegressiveNN`] of `[context, x]`
/// (Paige and Wood 2016's conditional MADE: every output may read the whole context).
///
/// It is not itself a transform: [`ConditionalAffineAutoregressive::condition`] fixes the
/// context and returns the [`AffineAutoregressive`] at it, whose
/// [`Transform::param_shape`](crate::dist::Transform::param_shape) carries the context's batch
/// shape, so a standard Normal over `[D]` pushed through it at a `[B, C]` context has batch
/// `[B]` (Pyro's `ConditionalTransformedDistribution(...).condition(context)`). A burn
/// `Module`: register it with [`crate::module()`] (parameters `name.nn.layers.{k}.weight`,
/// `.bias`), then condition the registered copy.
///
/// # Shapes
/// - `context`: `batch_c + [context_dim]`, broadcast against the input's batch
/// - input `x`: `batch + [input_dim]`; output: `broadcast(batch, batch_c) + [input_dim]`
///
/// ```
/// use lobes_ppl::flows::conditional_affine_autoregressive;
/// use lobes_ppl::prelude::*;
/// use std::sync::Arc;
///
/// let d = Device::flex();
/// let flow = conditional_affine_autoregressive(2, 3, None, &d)?; // hidden [10 · 2], as Pyro
/// let context = DTensor::zeros(&[4, 3], &d);
/// let base = Normal::new(DTensor::zeros(&[2], &d), DTensor::ones(&[2], &d))?;
/// let q = TransformedDistribution::new(Arc::new(base), vec![Arc::new(flow.condition(&context)?)])?;
/// assert_eq!((q.batch_shape(), q.event_shape()), (vec![4], vec![2]));
/// assert_eq!(q.log_prob(&q.sample())?.shape(), &[4]);
/// # Ok::<(), PplError>(())
/// ```
#[derive(Module, Debug)]
pub struct ConditionalAffineAutoregressive {
    /// The conditional autoregressive network (Pyro's `nn`).
    pub nn: AutoRegressiveNN,
    #[module(skip)]
    options: AffineOptions,
}

/// Pyro's `conditional_affine_autoregressive(input_dim, context_dim, hidden_dims)`: hidden
/// layers `hidden_dims` (`None`: Pyro's `[10 · input_dim]`).
///
/// # Errors
/// As [`AutoRegressiveNN::conditional`], and a `context_dim` of 0.
pub fn conditional_affine_autoregressive(
    input_dim: usize,
    context_dim: usize,
    hidden_dims: Option<&[usize]>,
    device: &Device,
) -> Result<ConditionalAffineAutoregressive, DistError> {
    let hidden = hidden_dims.map_or_else(|| vec![10 * input_dim], <[usize]>::to_vec);
    ConditionalAffineAutoregressive::new(AutoRegressiveNN::conditional(
        input_dim,
        context_dim,
        &hidden,
        device,
    )?)
}

impl ConditionalAffineAutoregressive {
    /// The conditional flow of a conditional network.
    ///
    /// # Errors
    /// A network without context (use [`AffineAutoregressive`]).
    pub fn new(nn: AutoRegressiveNN) -> Result<Self, DistError> {
        if nn.context_dim() == 0 {
            return Err(DistError::InvalidParameter {
                dist: NAME,
                param: "autoregressive_nn",
                constraint: "conditional, context_dim > 0 (use AffineAutoregressive)",
                found: "a network with context_dim 0".into(),
            });
        }
        Ok(ConditionalAffineAutoregressive {
            nn,
            options: AffineOptions::default(),
        })
    }

    /// Pyro's `stable=True` (see [`AffineAutoregressive::stable`]).
    pub fn stable(mut self, stable: bool) -> Self {
        self.options.stable = stable;
        self
    }

    /// Pyro's `sigmoid_bias` (see [`AffineAutoregressive::sigmoid_bias`]).
    pub fn sigmoid_bias(mut self, bias: f64) -> Self {
        self.options.sigmoid_bias = bias;
        self
    }

    /// Pyro's `log_scale_min_clip`, `log_scale_max_clip` (default `(-5, 3)`).
    pub fn log_scale_clip(mut self, min: f64, max: f64) -> Self {
        self.options.min_clip = min;
        self.options.max_clip = max;
        self
    }

    /// The flow at `context` (Pyro's `.condition(context)`), a transform of event dim 1 that
    /// keeps this network's parameters (and their autodiff graph).
    ///
    /// # Errors
    /// A context whose last dim is not the network's `context_dim`.
    pub fn condition(&self, context: &DTensor) -> Result<AffineAutoregressive, DistError> {
        check_last(
            &format!("{NAME} context"),
            context.shape(),
            self.nn.context_dim(),
        )?;
        Ok(AffineAutoregressive::conditioned(
            self.nn.clone(),
            self.options,
            context.clone(),
        ))
    }
}
