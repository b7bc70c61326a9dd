//! The Bernoulli's log-probability from probabilities, `x ln p̂ + (1 − x) ln(1 − p̂)` with
//! `p̂ = clamp(p, ε, 1 − ε)`, as one operation on burn's CPU backend (flex): one parallel pass
//! forward and one backward, where the tensor operations make about eight passes each way, all
//! on one thread (burn's CPU elementwise operations are single-threaded). For a VAE's
//! `[100, 10000]` pixel likelihood that is most of the serial part of an SVI step on two cores.
//!
//! Values and gradients are bit for bit those of the tensor operations in
//! [`Bernoulli::log_prob`](super::Bernoulli): the same f32 operations in the same order (tests
//! below). Tensors off the CPU backend, of another dtype or of different shapes take the tensor
//! operations.

use crate::tensor::DTensor;
use crate::tensor::flex::{f32_values, on_flex, par_map};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, binary};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;

/// The clamp of [`Bernoulli`](super::Bernoulli)'s probabilities (`torch`'s `clamp_probs`).
const EPS: f32 = super::bernoulli::PROB_EPS as f32;

/// The backend operations behind [`bernoulli_log_prob`]; only flex (and autodiff over it)
/// implements them, others never call them.
#[backend_extension(Flex, Autodiff)]
pub trait BernoulliBackend: Backend {
    /// `x ln p̂ + (1 − x) ln(1 − p̂)` elementwise (`p`, `x` of one shape).
    fn bernoulli_log_prob(p: FloatTensor<Self>, x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `(p̂, ln p̂, ln(1 − p̂))` as the tensor operations compute them: `clamp`, `log`, and `log1p`
/// of `−p̂`.
#[inline(always)]
fn terms(p: f32) -> (f32, f32, f32) {
    let c = p.clamp(EPS, 1.0 - EPS);
    (c, c.ln(), (-c).ln_1p())
}

impl BernoulliBackend for Flex {
    fn bernoulli_log_prob(p: FlexTensor, x: FlexTensor) -> FlexTensor {
        let shape = p.layout().shape().to_vec();
        let (pv, xv) = (
            f32_values(&p).expect("f32 checked"),
            f32_values(&x).expect("f32 checked"),
        );
        par_map(shape, |i| {
            let (_, lp, lq) = terms(pv[i]);
            // value * lp + (1 - value) * lq, in the tensor operations' order.
            xv[i] * lp + (1.0 - xv[i]) * lq
        })
    }
}

/// The backward pass: `d/dp` and `d/dx` of the log-probability, in the order burn's autodiff
/// applies the chain rule to the tensor operations.
#[derive(Debug)]
struct BernoulliLogProb;

impl Backward<Flex, 2> for BernoulliLogProb {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (p, x) = ops.state;
        let shape = p.layout().shape().to_vec();
        binary::<Flex, _, _>(
            ops.parents,
            ops.node,
            grads,
            |g| {
                let (pv, xv, gv) = (
                    f32_values(&p).expect("f32"),
                    f32_values(&x).expect("f32"),
                    f32_values(&g).expect("f32"),
                );
                par_map(shape.clone(), |i| {
                    let (c, _, _) = terms(pv[i]);
                    let (g, x) = (gv[i], xv[i]);
                    // mul → log: g·x · (1 / p̂); mul → log1p → neg: −(g·(1 − x) · (1 / (−p̂ + 1))); then
                    // the clamp passes the sum where p lies inside [ε, 1 − ε].
                    let d = (g * x) * (1.0 / c) + -((g * (1.0 - x)) * (1.0 / (-c + 1.0)));
                    if (EPS..=1.0 - EPS).contains(&pv[i]) {
                        d
                    } else {
                        0.0
                    }
                })
            },
            |g| {
                let (pv, gv) = (f32_values(&p).expect("f32"), f32_values(&g).expect("f32"));
                par_map(shape.clone(), |i| {
                    let (_, lp, lq) = terms(pv[i]);
                    // mul: g·ln p̂; the rsub's: −(g·ln(1 − p̂)).
                    gv[i] * lp + -(gv[i] * lq)
                })
            },
        );
    }
}

impl<C: CheckpointStrategy> BernoulliBackend for Autodiff<Flex, C> {
    fn bernoulli_log_prob(p: FloatTensor<Self>, x: FloatTensor<Self>) -> FloatTensor<Self> {
        let nodes = [p.node(), x.node()];
        let (pp, xp) = (p.into_primitive(), x.into_primitive());
        match BernoulliLogProb
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let y = Flex::bernoulli_log_prob(pp.clone(), xp.clone());
                prep.finish((pp, xp), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::bernoulli_log_prob(pp, xp)),
        }
    }
}

/// `x ln p̂ + (1 − x) ln(1 − p̂)` as one operation when `p` and `x` are f32 tensors of one shape
/// on the CPU backend (with or without autodiff); `None` otherwise (take the tensor operations).
pub(crate) fn bernoulli_log_prob(p: &DTensor, x: &DTensor) -> Option<DTensor> {
    let dev = p.device();
    if !on_flex(&dev) || p.shape() != x.shape() || !p.is_f32() || !x.is_f32() || x.device() != dev {
        return None;
    }
    let (pi, xi) = (p.to_tensor::<6>().ok()?, x.to_tensor::<6>().ok()?);
    let out = Tensor::<6>::from_dispatch(<Dispatch as BernoulliBackend>::bernoulli_log_prob(
        pi.into_dispatch(),
        xi.into_dispatch(),
    ));
    DTensor::from_tensor(out).reshape(p.shape()).ok()
}

#[cfg(test)]
mod tests {
    use crate::tensor::DTensor;
    use burn::prelude::*;

    /// The fused values and both gradients against the tensor operations', bit for bit, at the
    /// clamp's edges and inside, with `x` in {0, 1} and between.
    #[test]
    fn the_fused_log_prob_is_the_tensor_operations_bit_for_bit() {
        let dev = Device::flex().autodiff();
        let n = 3 * crate::tensor::flex::CHUNK + 7;
        let p: Vec<f32> = (0..n)
            .map(|i| match i % 7 {
                0 => 0.0,
                1 => 1.0,
                2 => f32::EPSILON / 2.0,
                _ => ((i as f32 * 0.37).sin() * 0.5 + 0.5).clamp(0.0, 1.0),
            })
            .collect();
        let x: Vec<f32> = (0..n).map(|i| [0.0, 1.0, 0.3][i % 3]).collect();
        let run = |fused: bool| {
            let pt = DTensor::from_floats(p.clone(), &[n], &dev)
                .unwrap()
                .require_grad();
            let xt = DTensor::from_floats(x.clone(), &[n], &dev)
                .unwrap()
                .require_grad();
            let lp = if fused {
                super::bernoulli_log_prob(&pt, &xt).expect("on flex")
            } else {
                let c = pt.clamp(
                    super::super::bernoulli::PROB_EPS,
                    1.0 - super::super::bernoulli::PROB_EPS,
                );
                let (a, b) = (c.log(), (-&c).log1p());
                &xt * &a + (1.0 - &xt) * &b
            };
            let g = (lp.clone() * 1.5).sum().backward();
            (
                lp.to_vec(),
                pt.grad(&g).unwrap().to_vec(),
                xt.grad(&g).unwrap().to_vec(),
            )
        };
        let (a, b) = (run(false), run(true));
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a.0), bits(&b.0), "values");
        for (what, u, v) in [("d/dp", &a.1, &b.1), ("d/dx", &a.2, &b.2)] {
            let bad: Vec<(usize, f32, f32, f32, f32)> = (0..n)
                .filter(|&i| u[i].to_bits() != v[i].to_bits())
                .map(|i| (i, p[i], x[i], u[i], v[i]))
                .take(5)
                .collect();
            assert!(bad.is_empty(), "{what}: (i, p, x, ops, fused) {bad:?}");
        }
    }
}
