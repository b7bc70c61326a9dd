//! The first encoder layer on mostly-zero images. About 98.5% of FIRST pixels are exactly
//! zero, and the first layer (10000 → 4096) holds 40% of the VAE's multiply-adds. A dense
//! `x W` and its weight gradient `xᵀ dY` spend almost all of that on zeros.
//!
//! [`sparse_linear`] computes the same layer from the columns of `x` that are non-zero somewhere
//! in the batch: `x[:, K] W[K, :] + b`. It is built from burn's `select` and `matmul`, so
//! autodiff differentiates it like any other expression: the weight gradient is the small
//! `x[:, K]ᵀ dY` scattered into the rows `K` (rows outside `K` get exactly zero, as in the dense
//! product), and it runs on every backend. The result equals the dense layer up to f32
//! summation order (the omitted terms are exact zeros); a test checks values and gradients.

use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::{Int, TensorData};

/// Use the gathered product only when at most this fraction of the input columns is non-zero;
/// beyond it the dense product is as fast.
pub const MAX_DENSITY: f64 = 0.6;

/// The columns of `x` (`[B, n]`) with a non-zero value in some row.
pub fn nonzero_columns(x: &Tensor<2>) -> Vec<i64> {
    let col = x.clone().abs().sum_dim(0);
    let v: Vec<f32> = col.try_into_vec_as::<f32>().unwrap_or_default();
    v.iter()
        .enumerate()
        .filter(|(_, s)| **s != 0.0)
        .map(|(i, _)| i as i64)
        .collect()
}

/// `l.forward(x)` computed from the non-zero columns of `x` when they are few enough
/// ([`MAX_DENSITY`]); `x` must not need its own gradient (it is data).
pub fn sparse_linear(l: &Linear, x: Tensor<2>) -> Tensor<2> {
    let [_, n] = x.dims();
    let cols = nonzero_columns(&x);
    if cols.len() as f64 > MAX_DENSITY * n as f64 {
        return l.forward(x);
    }
    let device = x.device();
    let k = cols.len();
    let idx = Tensor::<1, Int>::from_data(TensorData::new(cols, [k]), &device);
    let y = x
        .select(1, idx.clone())
        .matmul(l.weight.val().select(0, idx));
    match &l.bias {
        Some(b) => y + b.val().unsqueeze::<2>(),
        None => y,
    }
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
        let x = Tensor::<1>::from_floats(px.as_slice(), &device).reshape([b, n]);
        assert!(nonzero_columns(&x).len() < n / 2);
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
