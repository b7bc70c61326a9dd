//! The first encoder layer on mostly-zero images. About 98.5% of FIRST pixels are exactly
//! zero, and the first layer (10000 → 4096) holds 40% of the VAE's multiply-adds. A dense
//! `x W` and its weight gradient `xᵀ dY` spend almost all of that on zeros.
//!
//! [`sparse_linear`] computes the same layer through the custom autodiff operation
//! [`crate::kernels::sparse_op::sparse_matmul`]: on the CPU backend its forward and weight-gradient
//! kernels cost in proportion to the non-zero pixels (rows of the weight gradient for
//! all-zero pixels are exactly zero, as in the dense product); on other backends it is the
//! dense product. The result equals the dense layer up to f32 summation order (the omitted
//! terms are exact zeros); a test checks values and gradients.

use crate::kernels::sparse_op::sparse_matmul;
use burn::nn::Linear;
use burn::prelude::*;

/// `l.forward(x)` computed from the non-zero entries of `x`; `x` is data (its own gradient,
/// if it is tracked, is the dense one).
pub fn sparse_linear(l: &Linear, x: Tensor<2>) -> Tensor<2> {
    crate::kernels::linear::add_bias(l, sparse_matmul(x, l.weight.val()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;

    #[test]
    fn the_sparse_layer_matches_the_dense_one_in_values_and_gradients() {
        let device = Device::flex().autodiff();
        let (b, n, out) = (7, 300, 64);
        let l = LinearConfig::new(n, out).init(&device);
        // 95% zeros, the rest in (0, 1]: a FIRST-like batch.
        let px: Vec<f32> = (0..b * n)
            .map(|i| {
                let h = (i as u64).wrapping_mul(2654435761) % 1000;
                if h < 950 {
                    0.0
                } else {
                    (h - 949) as f32 / 50.0
                }
            })
            .collect();
        let nz = px.iter().filter(|v| **v != 0.0).count() as f64 / px.len() as f64;
        assert!(
            nz < crate::kernels::sparse_op::MAX_SPARSE_DENSITY,
            "the sparse kernels run"
        );
        let x = Tensor::<1>::from_floats(px.as_slice(), &device).reshape([b, n]);
        let target = Tensor::<1>::from_floats(
            (0..b * out)
                .map(|i| (i as f32 * 0.1).sin())
                .collect::<Vec<_>>()
                .as_slice(),
            &device,
        )
        .reshape([b, out]);
        let run = |y: Tensor<2>| {
            let loss = (y.clone() * target.clone()).sum() + y.clone().square().sum() * 0.5;
            let g = loss.backward();
            (
                y.try_into_vec_as::<f32>().unwrap(),
                l.weight.grad(&g).unwrap().try_into_vec_as::<f32>().unwrap(),
                l.bias
                    .as_ref()
                    .unwrap()
                    .grad(&g)
                    .unwrap()
                    .try_into_vec_as::<f32>()
                    .unwrap(),
            )
        };
        let dense = run(l.forward(x.clone()));
        let sparse = run(sparse_linear(&l, x));
        for (name, a, s) in [
            ("output", &dense.0, &sparse.0),
            ("weight gradient", &dense.1, &sparse.1),
            ("bias gradient", &dense.2, &sparse.2),
        ] {
            assert_eq!(a.len(), s.len(), "{name}");
            for (i, (a, s)) in a.iter().zip(s).enumerate() {
                assert!(
                    (a - s).abs() <= 1e-5 * (1.0 + a.abs()),
                    "{name}[{i}]: {a} vs {s}"
                );
            }
        }
        // Rows of the weight gradient for all-zero columns are exactly zero.
        assert!(sparse.1.iter().any(|&v| v != 0.0));
    }

    #[test]
    fn a_dense_batch_takes_the_dense_product() {
        let device = Device::flex();
        let l = LinearConfig::new(10, 3).init(&device);
        let x = Tensor::<2>::ones([2, 10], &device);
        let a = l.forward(x.clone()).try_into_vec_as::<f32>().unwrap();
        let b = sparse_linear(&l, x).try_into_vec_as::<f32>().unwrap();
        assert_eq!(a, b);
    }
}
