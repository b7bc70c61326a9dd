//! [`AffineCoupling`]: RealNVP's affine coupling layer (Dinh et al. 2017), as Pyro's
//! `pyro.distributions.transforms.AffineCoupling`, with its network [`DenseNN`] (Pyro's
//! `pyro.nn.DenseNN`) and [`Permute`] (Pyro's `Permute`) to alternate the halves.

use super::shared::{
    Nonlinearity, check_last, check_permutation, clamp_preserve_gradients, from_matrix,
    init_linear, to_matrix,
};
use crate::constraints::Constraint;
use crate::dist::{DistError, Transform};
use crate::shape::Dims;
use crate::tensor::DTensor;
use burn::nn::Linear;
use burn::prelude::*;

const COUPLING: &str = "AffineCoupling";

/// Pyro's `DenseNN(input_dim, hidden_dims, param_dims)`: a fully connected network with
/// `output_dim` outputs (the sum of Pyro's `param_dims`), initialised from the PPL's generator
/// as [`AutoRegressiveNN`](super::AutoRegressiveNN) is.
///
/// # Shapes
/// - input: `[n, input_dim]`; output: `[n, output_dim]`
#[derive(Module, Debug)]
pub struct DenseNN {
    /// The layers, input to output (`layers.{k}.weight` `[in, out]`, `layers.{k}.bias`).
    pub layers: Vec<Linear>,
    #[module(skip)]
    input_dim: usize,
    #[module(skip)]
    output_dim: usize,
    #[module(skip)]
    nonlinearity: Nonlinearity,
}

impl DenseNN {
    /// `input_dim → hidden_dims… → output_dim`, ReLU between layers.
    ///
    /// # Errors
    /// A width of zero.
    pub fn new(
        input_dim: usize,
        hidden_dims: &[usize],
        output_dim: usize,
        device: &Device,
    ) -> Result<Self, DistError> {
        let widths = [&[input_dim][..], hidden_dims, &[output_dim]].concat();
        if widths.contains(&0) {
            return Err(DistError::InvalidParameter {
                dist: "DenseNN",
                param: "widths",
                constraint: "each at least 1",
                found: format!("{}", Dims(widths)),
            });
        }
        Ok(DenseNN {
            layers: widths
                .windows(2)
                .map(|w| init_linear(w[0], w[1], device))
                .collect(),
            input_dim,
            output_dim,
            nonlinearity: Nonlinearity::Relu,
        })
    }

    /// The same network with another nonlinearity between its layers.
    pub fn with_nonlinearity(mut self, nonlinearity: Nonlinearity) -> Self {
        self.nonlinearity = nonlinearity;
        self
    }

    /// The network at the rows of `x`.
    ///
    /// # Errors
    /// `x` without `input_dim` columns.
    pub fn forward(&self, x: Tensor<2>) -> Result<Tensor<2>, DistError> {
        check_last("DenseNN", &x.dims(), self.input_dim)?;
        let last = self.layers.len().saturating_sub(1);
        let mut h = x;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(h);
            if i < last {
                h = self.nonlinearity.apply(h);
            }
        }
        Ok(h)
    }
}

/// Pyro's `AffineCoupling(split_dim, hypernet)`: `y[..d] = x[..d]`,
/// `y[d..] = loc + exp(log_scale) ⊙ x[d..]` with `(loc, log_scale) = nn(x[..d])`, `d` the
/// split dim; `ln |det J| = Σ log_scale`, clamped to `(-5, 3)` as Pyro's. Forward and inverse
/// each take one network pass. The first `d` coordinates pass unchanged: stack couplings with
/// a [`Permute`] between them.
///
/// A burn `Module` (parameters `name.nn.layers.{k}.weight`, `.bias` once registered with
/// [`crate::module()`]); its [`Transform::event_dim`] is 1.
///
/// # Shapes
/// - input `x`: `batch + [input_dim]`; output: the same
/// - `log_abs_det_jacobian`: `batch`
///
/// ```
/// use lobes_ppl::flows::{Permute, affine_coupling};
/// use lobes_ppl::prelude::*;
/// use std::sync::Arc;
///
/// let d = Device::flex();
/// // Hidden layer [10 · 4], split at 4 / 2, as Pyro's defaults.
/// let (c1, c2) = (affine_coupling(4, None, None, &d)?, affine_coupling(4, None, None, &d)?);
/// let ts: Vec<Arc<dyn Transform>> =
///     vec![Arc::new(c1), Arc::new(Permute::new(vec![3, 2, 1, 0])?), Arc::new(c2)];
/// let base = Normal::new(DTensor::zeros(&[10, 4], &d), DTensor::ones(&[10, 4], &d))?;
/// let q = TransformedDistribution::new(Arc::new(base), ts)?;
/// assert_eq!((q.batch_shape(), q.event_shape()), (vec![10], vec![4]));
/// # Ok::<(), PplError>(())
/// ```
#[derive(Module, Debug)]
pub struct AffineCoupling {
    /// The network from the first `split_dim` coordinates to `(loc, log_scale)` of the others
    /// (Pyro's `nn`).
    pub nn: DenseNN,
    #[module(skip)]
    input_dim: usize,
    #[module(skip)]
    split_dim: usize,
    #[module(skip)]
    clip: (f64, f64),
}

/// Pyro's `affine_coupling(input_dim, hidden_dims, split_dim)`: a [`DenseNN`] with hidden
/// layers `hidden_dims` (`None`: `[10 · input_dim]`), split at `split_dim` (`None`:
/// `input_dim / 2`).
///
/// # Errors
/// As [`AffineCoupling::new`].
pub fn affine_coupling(
    input_dim: usize,
    hidden_dims: Option<&[usize]>,
    split_dim: Option<usize>,
    device: &Device,
) -> Result<AffineCoupling, DistError> {
    let split = split_dim.unwrap_or(input_dim / 2);
    let hidden = hidden_dims.map_or_else(|| vec![10 * input_dim], <[usize]>::to_vec);
    let out = 2 * input_dim.saturating_sub(split);
    AffineCoupling::new(input_dim, split, DenseNN::new(split, &hidden, out, device)?)
}

impl AffineCoupling {
    /// The coupling of vectors of `input_dim` split at `split_dim`, with `nn` from
    /// `split_dim` inputs to `2 (input_dim - split_dim)` outputs (all the `loc`s, then all
    /// the `log_scale`s).
    ///
    /// # Errors
    /// `split_dim` outside `1..input_dim`, or a network of other sizes.
    pub fn new(input_dim: usize, split_dim: usize, nn: DenseNN) -> Result<Self, DistError> {
        if split_dim == 0 || split_dim >= input_dim {
            return Err(DistError::InvalidParameter {
                dist: COUPLING,
                param: "split_dim",
                constraint: "in 1..input_dim",
                found: format!("{split_dim} for input_dim {input_dim}"),
            });
        }
        let want = 2 * (input_dim - split_dim);
        if nn.input_dim != split_dim || nn.output_dim != want {
            return Err(DistError::InvalidParameter {
                dist: COUPLING,
                param: "hypernet",
                constraint: "a DenseNN from split_dim to 2 (input_dim - split_dim) values",
                found: format!(
                    "{} → {} for input_dim {input_dim}, split_dim {split_dim} (needs \
                     {split_dim} → {want})",
                    nn.input_dim, nn.output_dim
                ),
            });
        }
        Ok(AffineCoupling {
            nn,
            input_dim,
            split_dim,
            clip: (-5.0, 3.0),
        })
    }

    /// The interval `log_scale` is clamped to (Pyro's `log_scale_min_clip`,
    /// `log_scale_max_clip`, default `(-5, 3)`).
    pub fn log_scale_clip(mut self, min: f64, max: f64) -> Self {
        self.clip = (min, max);
        self
    }

    /// `(loc, log_scale)` of the second part, from the first part's rows.
    fn affine(&self, x1: Tensor<2>) -> Result<(Tensor<2>, Tensor<2>), DistError> {
        let h = self.nn.forward(x1)?;
        let k = self.input_dim - self.split_dim;
        let log_scale =
            clamp_preserve_gradients(h.clone().narrow(1, k, k), self.clip.0, self.clip.1);
        Ok((h.narrow(1, 0, k), log_scale))
    }

    /// Applies `f` to the halves of `x`'s rows, returning `batch + [k]` for `f`'s `[n, k]`.
    fn rows(
        &self,
        x: &DTensor,
        f: impl FnOnce(Tensor<2>, Tensor<2>) -> Result<Tensor<2>, DistError>,
    ) -> Result<DTensor, DistError> {
        let (d, s) = (self.input_dim, self.split_dim);
        check_last(COUPLING, x.shape(), d)?;
        let batch = &x.shape()[..x.rank() - 1];
        let m = to_matrix(x, d)?;
        from_matrix(f(m.clone().narrow(1, 0, s), m.narrow(1, s, d - s))?, batch)
    }

    /// `y = f(x)`, or an error naming the transform and the shapes.
    pub fn try_forward(&self, x: &DTensor) -> Result<DTensor, DistError> {
        self.rows(x, |x1, x2| {
            let (loc, log_scale) = self.affine(x1.clone())?;
            Ok(Tensor::cat(vec![x1, log_scale.exp() * x2 + loc], 1))
        })
    }

    /// `x = f⁻¹(y)`: `x[d..] = (y[d..] - loc) ⊙ exp(-log_scale)` with the network at `y[..d]`.
    pub fn try_inverse(&self, y: &DTensor) -> Result<DTensor, DistError> {
        self.rows(y, |y1, y2| {
            let (loc, log_scale) = self.affine(y1.clone())?;
            Ok(Tensor::cat(vec![y1, (y2 - loc) * log_scale.neg().exp()], 1))
        })
    }

    /// `ln |det ∂y/∂x| = Σ log_scale` at `x`, of shape `batch`.
    pub fn try_log_abs_det_jacobian(&self, x: &DTensor) -> Result<DTensor, DistError> {
        let out = self.rows(x, |x1, _| Ok(self.affine(x1)?.1.sum_dim(1)))?;
        let batch = out.shape()[..out.rank() - 1].to_vec();
        Ok(out.reshape(&batch)?)
    }
}

/// # Panics
/// The infallible [`Transform`] methods panic with the `try_` methods' error (a last dim other
/// than `input_dim`), which [`crate::dist::TransformedDistribution::new`] reports beforehand.
impl Transform for AffineCoupling {
    fn name(&self) -> String {
        COUPLING.into()
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
    fn event_dim(&self) -> usize {
        1
    }
    fn check_shape(&self, shape: &[usize]) -> Result<(), DistError> {
        check_last(COUPLING, shape, self.input_dim)
    }
}

/// Pyro's `Permute(permutation)`: `y = x[..., permutation]`, volume preserving
/// (`ln |det J| = 0`), event dim 1.
///
/// # Shapes
/// - input: `batch + [len]`; output: the same; `log_abs_det_jacobian`: `batch`
#[derive(Clone, Debug)]
pub struct Permute {
    permutation: Vec<usize>,
    inverse: Vec<usize>,
}

impl Permute {
    /// The permutation `y[i] = x[permutation[i]]`.
    ///
    /// # Errors
    /// Anything but a permutation of `0..len`.
    pub fn new(permutation: Vec<usize>) -> Result<Self, DistError> {
        check_permutation("Permute", &permutation, permutation.len())?;
        let mut inverse = vec![0; permutation.len()];
        for (i, &p) in permutation.iter().enumerate() {
            inverse[p] = i;
        }
        Ok(Permute {
            permutation,
            inverse,
        })
    }
}

/// # Panics
/// On an input whose last dim is not the permutation's length (reported beforehand by
/// [`crate::dist::TransformedDistribution::new`]).
impl Transform for Permute {
    fn name(&self) -> String {
        "Permute".into()
    }
    fn forward(&self, x: &DTensor) -> DTensor {
        x.index_select(-1, &self.permutation)
            .unwrap_or_else(|e| panic!("Permute: {e}"))
    }
    fn inverse(&self, y: &DTensor) -> DTensor {
        y.index_select(-1, &self.inverse)
            .unwrap_or_else(|e| panic!("Permute: {e}"))
    }
    fn log_abs_det_jacobian(&self, x: &DTensor, _y: &DTensor) -> DTensor {
        DTensor::zeros(&x.shape()[..x.rank().saturating_sub(1)], &x.device())
    }
    fn codomain(&self) -> Constraint {
        Constraint::Real
    }
    fn event_dim(&self) -> usize {
        1
    }
    fn check_shape(&self, shape: &[usize]) -> Result<(), DistError> {
        check_last("Permute", shape, self.permutation.len())
    }
}
