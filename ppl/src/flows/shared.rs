//! What the flows share: the nonlinearity of their networks, initialisation, shape checks,
//! batches as matrices and Pyro's `clamp_preserve_gradients`.

use crate::dist::DistError;
use crate::tensor::DTensor;
use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::{TensorData, activation};

/// The nonlinearity between hidden layers (Pyro's `nonlinearity=` argument).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Nonlinearity {
    /// `max(0, x)`, Pyro's default.
    #[default]
    Relu,
    /// `x` for `x > 0`, `e^x - 1` otherwise (smooth to first order).
    Elu,
    /// `tanh(x)`.
    Tanh,
}

impl Nonlinearity {
    pub(super) fn apply(self, h: Tensor<2>) -> Tensor<2> {
        match self {
            Nonlinearity::Relu => activation::relu(h),
            Nonlinearity::Elu => activation::elu(h, 1.0),
            Nonlinearity::Tanh => h.tanh(),
        }
    }
}

/// Fails unless `p` is a permutation of `0..n`.
pub(super) fn check_permutation(
    dist: &'static str,
    p: &[usize],
    n: usize,
) -> Result<(), DistError> {
    let mut seen = vec![false; n];
    let ok = p.len() == n
        && p.iter()
            .all(|&i| i < n && !std::mem::replace(&mut seen[i], true));
    if ok {
        return Ok(());
    }
    Err(DistError::InvalidParameter {
        dist,
        param: "permutation",
        constraint: "a permutation of 0..input_dim",
        found: format!("{p:?} for input_dim {n}"),
    })
}

/// A `d_in → d_out` layer (burn's `[d_in, d_out]` weight) drawn from the PPL's generator as
/// torch's `nn.Linear` is initialised: weights and biases `U(-1/√d_in, 1/√d_in)`.
pub(super) fn init_linear(d_in: usize, d_out: usize, device: &Device) -> Linear {
    let k = 1.0 / (d_in.max(1) as f32).sqrt();
    let draw = |n: usize| -> Vec<f32> {
        crate::rng::uniforms(n)
            .into_iter()
            .map(|u| k * (2.0 * u - 1.0))
            .collect()
    };
    let weight = Tensor::<2>::from_data(TensorData::new(draw(d_in * d_out), [d_in, d_out]), device);
    let bias = Tensor::<1>::from_data(TensorData::new(draw(d_out), [d_out]), device);
    Linear {
        weight: Param::from_tensor(weight),
        bias: Some(Param::from_tensor(bias)),
    }
}

/// Fails unless the last dim of `shape` is `d`, naming `what` and both shapes.
pub(super) fn check_last(what: &str, shape: &[usize], d: usize) -> Result<(), DistError> {
    if shape.last() == Some(&d) {
        return Ok(());
    }
    Err(DistError::ValueShape {
        dist: what.to_string(),
        value: shape.into(),
        batch: shape[..shape.len().saturating_sub(1)].into(),
        event: vec![d].into(),
    })
}

/// `x` (last dim `d`, checked) as an `[n, d]` matrix.
pub(super) fn to_matrix(x: &DTensor, d: usize) -> Result<Tensor<2>, DistError> {
    let n = x.numel() / d.max(1);
    Ok(x.reshape(&[n, d])?.to_tensor::<2>()?)
}

/// An `[n, k]` matrix back to `batch + [k]`.
pub(super) fn from_matrix(t: Tensor<2>, batch: &[usize]) -> Result<DTensor, DistError> {
    let k = t.dims()[1];
    let shape = [batch, &[k][..]].concat();
    Ok(DTensor::try_from_tensor(t)?.reshape(&shape)?)
}

/// `x` clamped into `[lo, hi]` with the identity's gradient (Pyro's
/// `clamp_preserve_gradients`).
pub(super) fn clamp_preserve_gradients(x: Tensor<2>, lo: f64, hi: f64) -> Tensor<2> {
    x.clone() + (x.clone().clamp(lo, hi) - x).detach()
}
