//! [`AutoRegressiveNN`]: the masked autoencoder (MADE, Germain et al. 2015) behind the
//! autoregressive flows, as Pyro's `pyro.nn.AutoRegressiveNN` and
//! `ConditionalAutoRegressiveNN`.

use super::shared::{Nonlinearity, check_last, check_permutation, init_linear};
use crate::dist::DistError;
use crate::shape::Dims;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::TensorData;
use rand::seq::SliceRandom;

const NN: &str = "AutoRegressiveNN";

/// Pyro's masked autoregressive network (MADE): outputs `(loc, log_scale)`, each of the
/// input's length, such that output `i` depends only on the inputs before `i` in
/// [`AutoRegressiveNN::permutation`] (and on the whole context, for a conditional network).
///
/// The masks are Pyro's `create_mask`: input `j` has degree `1 + rank(j)` (its position in the
/// permutation), context inputs degree 0, hidden unit `k` of a layer of width `H` degree
/// `round(linspace(1, D - 1, H))[k]` (`round(linspace(1, D, H))[k] - 1` with a context); a unit
/// sees the units below it of lower or equal degree, an output of degree `1 + rank(i)` those
/// of strictly lower degree. The permutation is random by default, drawn from the PPL's
/// generator ([`crate::rng`], where Pyro draws `torch.randperm`), as are the initial weights
/// (torch's `U(-1/√fan_in, 1/√fan_in)`): one seed gives one network.
///
/// A burn `Module`: register it, or the flow holding it, with [`crate::module()`] to train
/// it. Its parameters are `layers.{k}.weight` (burn's `[in, out]` layout) and
/// `layers.{k}.bias`; the masks and the permutation are fixed at construction.
///
/// # Shapes
/// - input `x`: `[n, input_dim]`; `context`: `[n, context_dim]` (conditional networks only)
/// - output: `(loc, log_scale)`, each `[n, input_dim]`
///
/// ```
/// use lobes_ppl::flows::AutoRegressiveNN;
/// use lobes_ppl::prelude::*;
///
/// let d = Device::flex();
/// let arn = AutoRegressiveNN::new(3, &[10], &d)?.with_permutation(vec![2, 0, 1])?;
/// let (loc, log_scale) = arn.forward(Tensor::<2>::zeros([5, 3], &d), None)?;
/// assert_eq!((loc.dims(), log_scale.dims()), ([5, 3], [5, 3]));
/// # Ok::<(), PplError>(())
/// ```
#[derive(Module, Debug)]
pub struct AutoRegressiveNN {
    /// The masked layers, from the input (context first) to the `2 · input_dim` outputs: the
    /// `loc` of every coordinate, then its `log_scale`.
    pub layers: Vec<Linear>,
    #[module(skip)]
    masks: Vec<Vec<f32>>,
    #[module(skip)]
    permutation: Vec<usize>,
    #[module(skip)]
    input_dim: usize,
    #[module(skip)]
    context_dim: usize,
    #[module(skip)]
    hidden_dims: Vec<usize>,
    #[module(skip)]
    nonlinearity: Nonlinearity,
}

impl AutoRegressiveNN {
    /// Pyro's `AutoRegressiveNN(input_dim, hidden_dims)`: a random permutation, ReLU.
    ///
    /// # Errors
    /// `input_dim` of 0, no hidden layer, or a hidden layer narrower than `input_dim` (Pyro
    /// refuses those: some outputs could not be connected).
    pub fn new(
        input_dim: usize,
        hidden_dims: &[usize],
        device: &Device,
    ) -> Result<Self, DistError> {
        Self::conditional(input_dim, 0, hidden_dims, device)
    }

    /// Pyro's `ConditionalAutoRegressiveNN(input_dim, context_dim, hidden_dims)`: the context
    /// is concatenated before the input and every output may depend on all of it
    /// (`context_dim` 0 is [`AutoRegressiveNN::new`]).
    ///
    /// # Errors
    /// As [`AutoRegressiveNN::new`].
    pub fn conditional(
        input_dim: usize,
        context_dim: usize,
        hidden_dims: &[usize],
        device: &Device,
    ) -> Result<Self, DistError> {
        let invalid = |param: &'static str, constraint: &'static str, found: String| {
            DistError::InvalidParameter {
                dist: NN,
                param,
                constraint,
                found,
            }
        };
        if input_dim == 0 {
            return Err(invalid("input_dim", "at least 1", "0".into()));
        }
        if hidden_dims.is_empty() {
            return Err(invalid("hidden_dims", "at least one layer", "[]".into()));
        }
        if let Some(h) = hidden_dims.iter().find(|&&h| h < input_dim) {
            let found = format!(
                "{h} in {} for input_dim {input_dim}",
                Dims(hidden_dims.to_vec())
            );
            return Err(invalid("hidden_dims", "each at least input_dim", found));
        }
        let mut permutation: Vec<usize> = (0..input_dim).collect();
        crate::rng::with_rng(|r| permutation.shuffle(r));
        let widths = [
            &[context_dim + input_dim][..],
            hidden_dims,
            &[2 * input_dim],
        ]
        .concat();
        let layers = widths
            .windows(2)
            .map(|w| init_linear(w[0], w[1], device))
            .collect();
        Ok(AutoRegressiveNN {
            layers,
            masks: build_masks(input_dim, context_dim, hidden_dims, &permutation),
            permutation,
            input_dim,
            context_dim,
            hidden_dims: hidden_dims.to_vec(),
            nonlinearity: Nonlinearity::Relu,
        })
    }

    /// The same network with the order of the inputs given: output `permutation[k]` depends
    /// on inputs `permutation[..k]` (Pyro's `permutation=`). The weights are kept.
    ///
    /// # Errors
    /// Anything but a permutation of `0..input_dim`.
    pub fn with_permutation(mut self, permutation: Vec<usize>) -> Result<Self, DistError> {
        check_permutation(NN, &permutation, self.input_dim)?;
        self.masks = build_masks(
            self.input_dim,
            self.context_dim,
            &self.hidden_dims,
            &permutation,
        );
        self.permutation = permutation;
        Ok(self)
    }

    /// The same network with another nonlinearity between its layers.
    pub fn with_nonlinearity(mut self, nonlinearity: Nonlinearity) -> Self {
        self.nonlinearity = nonlinearity;
        self
    }

    /// The order of the inputs (Pyro's `arn.permutation`).
    pub fn permutation(&self) -> &[usize] {
        &self.permutation
    }

    /// The length `D` of the input and of each output.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// The length of the context (0 for an unconditional network).
    pub fn context_dim(&self) -> usize {
        self.context_dim
    }

    /// The masks as Pyro stores them, one per layer: `mask[out][in]` is 1 where the weight
    /// from input unit `in` to output unit `out` is used.
    pub fn masks(&self) -> Vec<Vec<Vec<f32>>> {
        let widths = [
            &[self.context_dim + self.input_dim][..],
            &self.hidden_dims,
            &[2 * self.input_dim],
        ]
        .concat();
        widths
            .windows(2)
            .zip(&self.masks)
            .map(|(w, m)| {
                (0..w[1])
                    .map(|o| (0..w[0]).map(|i| m[i * w[1] + o]).collect())
                    .collect()
            })
            .collect()
    }

    /// `(loc, log_scale)` at the rows of `x` (and of `context`).
    ///
    /// # Errors
    /// `x` without `input_dim` columns, or a context missing, unexpected or of the wrong
    /// shape; the error names both shapes.
    pub fn forward(
        &self,
        x: Tensor<2>,
        context: Option<Tensor<2>>,
    ) -> Result<(Tensor<2>, Tensor<2>), DistError> {
        let [n, d] = x.dims();
        check_last(NN, &[n, d], self.input_dim)?;
        let k = self.context_dim;
        let mut h = match context {
            None if k == 0 => x,
            Some(c) if k > 0 && c.dims() == [n, k] => Tensor::cat(vec![c, x], 1),
            c => {
                let found = c.map_or("none".into(), |c| Dims(c.dims().to_vec()).to_string());
                return Err(DistError::InvalidParameter {
                    dist: NN,
                    param: "context",
                    constraint: if k == 0 {
                        "absent: the network is not conditional"
                    } else {
                        "one row of context_dim values per input row"
                    },
                    found: format!("{found} for input {} and context_dim {k}", Dims(vec![n, d])),
                });
            }
        };
        let last = self.layers.len().saturating_sub(1);
        for (i, (layer, mask)) in self.layers.iter().zip(&self.masks).enumerate() {
            let w = layer.weight.val();
            let [d_in, d_out] = w.dims();
            let m =
                Tensor::<2>::from_data(TensorData::new(mask.clone(), [d_in, d_out]), &w.device());
            h = burn::tensor::module::linear(h, w * m, layer.bias.as_ref().map(|b| b.val()));
            if i < last {
                h = self.nonlinearity.apply(h);
            }
        }
        let d = self.input_dim;
        Ok((h.clone().narrow(1, 0, d), h.narrow(1, d, d)))
    }
}

/// `round(linspace(1, end, steps))`, ties to even as torch rounds (Pyro's
/// `sample_mask_indices`).
fn mask_indices(end: f64, steps: usize) -> Vec<f64> {
    (0..steps)
        .map(|i| {
            if steps == 1 {
                1.0
            } else {
                (1.0 + (end - 1.0) * i as f64 / (steps - 1) as f64).round_ties_even()
            }
        })
        .collect()
}

/// MADE's masks (Pyro's `create_mask`), each in burn's `[in, out]` layout, row-major.
fn build_masks(d: usize, context: usize, hidden: &[usize], perm: &[usize]) -> Vec<Vec<f32>> {
    let mut var_index = vec![0.0f64; d];
    for (k, &p) in perm.iter().enumerate() {
        var_index[p] = k as f64;
    }
    let input: Vec<f64> = std::iter::repeat_n(0.0, context)
        .chain(var_index.iter().map(|v| v + 1.0))
        .collect();
    let hidden: Vec<Vec<f64>> = hidden
        .iter()
        .map(|&h| {
            if context > 0 {
                mask_indices(d as f64, h).iter().map(|v| v - 1.0).collect()
            } else {
                mask_indices(d as f64 - 1.0, h)
            }
        })
        .collect();
    let output: Vec<f64> = var_index
        .iter()
        .chain(&var_index)
        .map(|v| v + 1.0)
        .collect();
    // Unit `t` of the layer above sees unit `f` below when `t > f` (`t >= f` unless strict).
    fn connect(from: &[f64], to: &[f64], strict: bool) -> Vec<f32> {
        let mut m = Vec::with_capacity(from.len() * to.len());
        for &f in from {
            for &t in to {
                m.push(if t > f || (!strict && t == f) {
                    1.0
                } else {
                    0.0
                });
            }
        }
        m
    }
    let mut masks = vec![];
    let mut below = &input;
    for h in &hidden {
        masks.push(connect(below, h, false));
        below = h;
    }
    masks.push(connect(below, &output, true));
    masks
}
