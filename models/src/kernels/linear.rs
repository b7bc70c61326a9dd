//! The VAE's dense layers, with a backward pass shaped for burn's CPU matrix products.
//!
//! For `y = x W` (`x`: `[b, n]`, `W`: `[n, m]`, batch `b` = 100) burn's `matmul` computes the
//! input gradient as `dy Wᵀ`: a `[b, m] × [m, n]` product whose right operand is a transposed
//! view of the large weight, which burn's GEMM runs at about half the rate of the forward
//! product here (`cargo bench --bench gemm`, third column against the first). The same numbers
//! come as `(W dyᵀ)ᵀ`: a `[n, m] × [m, b]` product reading `W` in its own row-major order, as
//! fast as the forward product (fourth column); only the small `[n, b]` result is transposed.
//! [`linear`] is `Linear::forward` with that input gradient, a custom autodiff operation
//! through burn's backend-extension mechanism (as [`crate::kernels::sparse_op`]); the weight gradient is
//! burn's `xᵀ dy`, computed on the CPU by the same GEMM as burn's but written straight into a
//! new buffer: burn's CPU `matmul` allocates its output zeroed and then copies it once more to
//! align it, which for the weight gradients (104M floats per step) costs ~4% of a step. Values
//! and gradients equal `Linear::forward`'s within f32 summation order (tests below). Other
//! devices (a GPU) use `Linear::forward` itself.

use crate::kernels::sparse_op::{flex_f32, on_flex, rows_f32};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, binary};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::nn::Linear;
use burn::prelude::*;

/// The backend operation behind [`linear`]: the product is burn's own; autodiff gives it the
/// backward pass described in the module documentation.
#[backend_extension(Flex, Autodiff)]
pub trait LinearBackend: Backend {
    /// `x w` (`[b, n] × [n, m]`).
    fn linear_matmul(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_matmul(x, w)
    }

    /// The weight gradient `xᵀ dy` (`[n, b] × [b, m]`).
    fn linear_weight_grad(x: FloatTensor<Self>, dy: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_matmul(Self::float_transpose(x), dy)
    }
}

impl LinearBackend for Flex {
    fn linear_weight_grad(x: FlexTensor, dy: FlexTensor) -> FlexTensor {
        let (Some((xs, b, n)), Some((ds, b2, m))) = (rows_f32(&x), rows_f32(&dy)) else {
            return Flex::float_matmul(Flex::float_transpose(x), dy);
        };
        if b != b2 || b == 0 {
            return Flex::float_matmul(Flex::float_transpose(x), dy);
        }
        let mut out: Vec<f32> = Vec::with_capacity(n * m);
        // SAFETY: `out` has room for the n x m row-major result and gemm writes every element
        // (`read_dst` false: dst = 1 · lhs · rhs, nothing read); lhs is `xᵀ` (element (i, k) is
        // `x[k, i]`, at k·n + i) and rhs is `dy` (element (k, j) at k·m + j), both in bounds
        // of their row-major slices.
        unsafe {
            gemm::gemm(
                n,
                m,
                b,
                out.as_mut_ptr(),
                1,
                m as isize,
                false,
                xs.as_ptr(),
                n as isize,
                1,
                ds.as_ptr(),
                1,
                m as isize,
                0.0f32,
                1.0f32,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(0),
            );
            out.set_len(n * m);
        }
        flex_f32(out, n, m)
    }
}

/// `x w`, differentiated as `dx = (w dyᵀ)ᵀ`, `dw = xᵀ dy`.
#[derive(Debug)]
struct LinearMatmul;

impl<B: Backend + LinearBackend> Backward<B, 2> for LinearMatmul {
    type State = (B::FloatTensorPrimitive, B::FloatTensorPrimitive);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (x, w) = ops.state;
        binary::<B, _, _>(
            ops.parents,
            ops.node,
            grads,
            |g| B::float_transpose(B::float_matmul(w, B::float_transpose(g))),
            |g| B::linear_weight_grad(x, g),
        );
    }
}

impl<B: Backend + LinearBackend, C: CheckpointStrategy> LinearBackend for Autodiff<B, C> {
    fn linear_matmul(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        let nodes = [x.node(), w.node()];
        let (xp, wp) = (x.into_primitive(), w.into_primitive());
        match LinearMatmul.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let y = B::linear_matmul(xp.clone(), wp.clone());
                prep.finish((xp, wp), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::linear_matmul(xp, wp)),
        }
    }
}

/// `y + bias` for a layer's output `y` (`[b, m]`).
pub(crate) fn add_bias(l: &Linear, y: Tensor<2>) -> Tensor<2> {
    match &l.bias {
        Some(b) => y + b.val().unsqueeze::<2>(),
        None => y,
    }
}

/// `l.forward(x)`, with the faster input gradient on the CPU backend.
pub fn linear(l: &Linear, x: Tensor<2>) -> Tensor<2> {
    if !on_flex(&x.device()) {
        return l.forward(x);
    }
    let y = Tensor::from_dispatch(<Dispatch as LinearBackend>::linear_matmul(
        x.into_dispatch(),
        l.weight.val().into_dispatch(),
    ));
    add_bias(l, y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::sparse_op::tests::{close, run, wave};
    use burn::nn::LinearConfig;

    #[test]
    fn the_layer_matches_burns_linear_in_values_and_gradients() {
        let device = Device::flex().autodiff();
        let x = wave([7, 300], 0.021, &device);
        let w = wave([300, 130], 0.013, &device);
        for track_x in [false, true] {
            let dense = run(|x, w| x.matmul(w), &x, &w, track_x);
            let ours = run(
                |x, w| {
                    Tensor::from_dispatch(<Dispatch as LinearBackend>::linear_matmul(
                        x.into_dispatch(),
                        w.into_dispatch(),
                    ))
                },
                &x,
                &w,
                track_x,
            );
            close("output", &dense.0, &ours.0);
            close("weight gradient", &dense.1, &ours.1);
            assert_eq!(dense.2.is_some(), track_x);
            if let (Some(a), Some(b)) = (dense.2, ours.2) {
                close("input gradient", &a, &b);
            }
        }
        // Through `linear`, with the bias: the layer's own forward, and its bias gradient.
        let l = LinearConfig::new(300, 130).init(&device);
        let x = x.require_grad();
        let target = wave([7, 130], 0.37, &device);
        let grads = |y: Tensor<2>| {
            let g = ((y.clone() * target.clone()).sum() + y.square().sum() * 0.5).backward();
            let v = |t: Option<Tensor<2>>| t.unwrap().try_into_vec_as::<f32>().unwrap();
            let b = l.bias.as_ref().unwrap().val().grad(&g).unwrap();
            (
                v(x.grad(&g)),
                v(l.weight.val().grad(&g)),
                b.into_data().try_to_vec::<f32>().unwrap(),
            )
        };
        let (a, b) = (grads(l.forward(x.clone())), grads(linear(&l, x.clone())));
        close("input gradient", &a.0, &b.0);
        close("weight gradient", &a.1, &b.1);
        close("bias gradient", &a.2, &b.2);
        // Without autodiff, the plain product.
        let plain = Device::flex();
        let l = LinearConfig::new(30, 20).init(&plain);
        let x = wave([4, 30], 0.1, &plain);
        close(
            "untracked output",
            &l.forward(x.clone()).try_into_vec_as::<f32>().unwrap(),
            &linear(&l, x).try_into_vec_as::<f32>().unwrap(),
        );
    }
}
