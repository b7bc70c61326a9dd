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
//!
//! Under `--precision bf16` ([`crate::kernels::precision`]) on a CPU with AMX, the three
//! products run on AMX tiles with bf16 inputs and f32 sums ([`crate::kernels::amx`]): `x W`,
//! the input gradient `dy Wᵀ` (W read row by row as the transposed operand) and `xᵀ dy`.

use crate::kernels::amx;
use crate::kernels::matrix::{View, f32_matmul};
use crate::kernels::precision::bf16_now;
use crate::kernels::sparse_op::{flex_f32, rows_f32};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, binary};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::nn::Linear;
use burn::prelude::*;
use lobes_ppl::tensor::flex::on_flex;

/// The backend operation behind [`linear`]: the product is burn's own; autodiff gives it the
/// backward pass described in the module documentation.
#[backend_extension(Flex, Autodiff)]
pub trait LinearBackend: Backend {
    /// `x w` (`[b, n] × [n, m]`).
    fn linear_matmul(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_matmul(x, w)
    }

    /// The input gradient `dy wᵀ` (`[b, m] × [m, n]`), as `(w dyᵀ)ᵀ`.
    fn linear_input_grad(w: FloatTensor<Self>, dy: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_transpose(Self::float_matmul(w, Self::float_transpose(dy)))
    }

    /// The weight gradient `xᵀ dy` (`[n, b] × [b, m]`).
    fn linear_weight_grad(x: FloatTensor<Self>, dy: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_matmul(Self::float_transpose(x), dy)
    }
}

/// `a b` on AMX in bf16 when `--precision bf16` runs here and both are f32 matrices with
/// matching inner sizes (`ta`, `tb`: read transposed); `None` otherwise.
fn bf16_product(a: &FlexTensor, ta: bool, b: &FlexTensor, tb: bool) -> Option<FlexTensor> {
    if !bf16_now() {
        return None;
    }
    let ((av, ar, ac), (bv, br, bc)) = (rows_f32(a)?, rows_f32(b)?);
    let view = |v, r, c, t| {
        let m = View::rows(v, r, c);
        if t { m.t() } else { m }
    };
    let (a, b) = (view(&av, ar, ac, ta), view(&bv, br, bc, tb));
    if a.cols != b.rows || a.rows == 0 || b.cols == 0 {
        return None;
    }
    Some(flex_f32(amx::matmul(a, b), a.rows, b.cols))
}

impl LinearBackend for Flex {
    fn linear_matmul(x: FlexTensor, w: FlexTensor) -> FlexTensor {
        bf16_product(&x, false, &w, false).unwrap_or_else(|| Flex::float_matmul(x, w))
    }

    fn linear_input_grad(w: FlexTensor, dy: FlexTensor) -> FlexTensor {
        bf16_product(&dy, false, &w, true).unwrap_or_else(|| {
            Flex::float_transpose(Flex::float_matmul(w, Flex::float_transpose(dy)))
        })
    }

    fn linear_weight_grad(x: FlexTensor, dy: FlexTensor) -> FlexTensor {
        if let Some(g) = bf16_product(&x, true, &dy, false) {
            return g;
        }
        let (Some((xs, b, n)), Some((ds, b2, m))) = (rows_f32(&x), rows_f32(&dy)) else {
            return Flex::float_matmul(Flex::float_transpose(x), dy);
        };
        if b != b2 || b == 0 {
            return Flex::float_matmul(Flex::float_transpose(x), dy);
        }
        let out = f32_matmul(View::rows(&xs, b, n).t(), View::rows(&ds, b, m));
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
            |g| B::linear_input_grad(w, g),
            |g| B::linear_weight_grad(x, g),
        );
    }
}

impl<B: Backend + LinearBackend, C: CheckpointStrategy> LinearBackend for Autodiff<B, C> {
    fn linear_matmul(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        crate::kernels::tracked::tracked_product::<B, C, _>(LinearMatmul, x, w, B::linear_matmul)
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
