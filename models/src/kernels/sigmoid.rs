//! The decoder's sigmoid in parallel on burn's CPU backend (flex).
//!
//! burn's CPU elementwise operations run on one thread: the decoder's `sigmoid` over
//! `[100, 10000]` pixels forward, and again in the backward pass (burn recomputes it from the
//! input, then `g · s · (1 − s)`), were most of what the calling thread did alone during a
//! training step while the other core waited. [`sigmoid`] is one custom autodiff operation
//! computing the same f32 formulas as burn-flex (`1 / (1 + e^−x)` for `x ≥ 0`, `e^x / (1 + e^x)`
//! below) in parallel chunks, and keeps its output for the backward pass instead of
//! recomputing it. Values and gradients are bit for bit burn's (test below). Off flex, or for
//! another dtype, it is burn's `activation::sigmoid`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::DType;
use lobes_ppl::tensor::flex::{f32_values, on_flex, par_map};

/// The backend operation behind [`sigmoid`]; only flex (and autodiff over it) implements it.
#[backend_extension(Flex, Autodiff)]
pub trait SigmoidBackend: Backend {
    /// `1 / (1 + e^−x)` elementwise.
    fn par_sigmoid(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// burn-flex's f32 sigmoid, formula for formula.
#[inline(always)]
fn sigmoid_f32(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

impl SigmoidBackend for Flex {
    fn par_sigmoid(x: FlexTensor) -> FlexTensor {
        let shape = x.layout().shape().to_vec();
        let xv = f32_values(&x).expect("an f32 tensor (checked by `sigmoid`)");
        par_map(shape, |i| sigmoid_f32(xv[i]))
    }
}

/// The backward pass: `g · s · (1 − s)` (burn-flex's `sigmoid_backward`), `s` the kept output.
#[derive(Debug)]
struct ParSigmoid;

impl Backward<Flex, 1> for ParSigmoid {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let s = ops.state;
        let shape = s.layout().shape().to_vec();
        unary::<Flex, _>(ops.parents, ops.node, grads, |g| {
            let (sv, gv) = (f32_values(&s).expect("f32"), f32_values(&g).expect("f32"));
            par_map(shape, |i| gv[i] * sv[i] * (1.0 - sv[i]))
        });
    }
}

impl<C: CheckpointStrategy> SigmoidBackend for Autodiff<Flex, C> {
    fn par_sigmoid(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let node = x.node();
        let xp = x.into_primitive();
        match ParSigmoid.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let s = Flex::par_sigmoid(xp);
                prep.finish(s.clone(), s)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::par_sigmoid(xp)),
        }
    }
}

/// `sigmoid(x)`: on the CPU backend with f32 values one parallel operation (module
/// documentation), elsewhere burn's `activation::sigmoid`; the same values either way.
pub fn sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !on_flex(&x.device()) || x.dtype() != DType::F32 {
        return burn::tensor::activation::sigmoid(x);
    }
    Tensor::from_dispatch(<Dispatch as SigmoidBackend>::par_sigmoid(x.into_dispatch()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    /// Values and the gradient against burn's sigmoid, bit for bit, across both branches,
    /// saturation and several parallel chunks.
    #[test]
    fn the_parallel_sigmoid_is_burns_bit_for_bit() {
        let dev = Device::flex().autodiff();
        let (rows, cols) = (3, lobes_ppl::tensor::flex::CHUNK + 11);
        let v: Vec<f32> = (0..rows * cols)
            .map(|i| match i % 9 {
                0 => 0.0,
                1 => -100.0,
                2 => 100.0,
                3 => -0.0,
                _ => (i as f32 * 0.731).sin() * 12.0,
            })
            .collect();
        let run = |par: bool| {
            let x = Tensor::<2>::from_data(TensorData::new(v.clone(), [rows, cols]), &dev)
                .require_grad();
            let s = if par {
                sigmoid(x.clone())
            } else {
                burn::tensor::activation::sigmoid(x.clone())
            };
            let w = Tensor::<2>::from_data(
                TensorData::new(
                    (0..rows * cols)
                        .map(|i| 1.0 + (i % 5) as f32 * 0.25)
                        .collect::<Vec<f32>>(),
                    [rows, cols],
                ),
                &dev,
            );
            let g = (s.clone() * w).sum().backward();
            let bits = |t: Tensor<2>| -> Vec<u32> {
                t.try_into_vec_as::<f32>()
                    .unwrap()
                    .iter()
                    .map(|f| f.to_bits())
                    .collect()
            };
            (bits(s), bits(x.grad(&g).unwrap()))
        };
        let (burn, par) = (run(false), run(true));
        assert_eq!(burn.0, par.0, "values");
        assert_eq!(burn.1, par.1, "gradients");
        // Off autodiff too.
        let plain =
            Tensor::<2>::from_data(TensorData::new(v.clone(), [rows, cols]), &Device::flex());
        assert_eq!(
            sigmoid(plain.clone()).try_into_vec_as::<f32>().unwrap(),
            burn::tensor::activation::sigmoid(plain)
                .try_into_vec_as::<f32>()
                .unwrap()
        );
    }
}
