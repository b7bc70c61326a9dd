//! GFLOP/s of burn's CPU matrix products at the shapes of one training step of the paper's VAE
//! (batch 100): forward `x W`, weight gradient `xᵀ dY` and input gradient `dY Wᵀ` for each
//! layer. It bounds what any training loop on this backend can reach (docs/performance.md).
//! Then the first encoder layer on a batch of synthetic stamps: burn's dense products against
//! the sparse kernels of `lobes_models::sparse_op`.
//!
//! ```sh
//! cargo bench --bench gemm
//! ```

use burn::backend::Dispatch;
use burn::prelude::*;
use lobes::models::sparse_op::{SparseBackend, sparse_matmul};
use std::time::Instant;

/// Milliseconds per call of `f` (best of 5 after one warm-up call).
fn millis(f: impl Fn() -> Tensor<2>) -> f64 {
    let sync = |t: Tensor<2>| t.slice([0..1, 0..1]).into_scalar::<f32>();
    let _ = sync(f());
    (0..5)
        .map(|_| {
            let t = Instant::now();
            let _ = sync(f());
            t.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}

fn gflops(m: usize, k: usize, n: usize, ta: bool, tb: bool, dev: &Device) -> f64 {
    let a = if ta {
        Tensor::<2>::random([k, m], burn::tensor::Distribution::Default, dev).transpose()
    } else {
        Tensor::<2>::random([m, k], burn::tensor::Distribution::Default, dev)
    };
    let b = if tb {
        Tensor::<2>::random([n, k], burn::tensor::Distribution::Default, dev).transpose()
    } else {
        Tensor::<2>::random([k, n], burn::tensor::Distribution::Default, dev)
    };
    let _ = a.clone().matmul(b.clone()).sum().into_scalar::<f32>();
    let reps = 5;
    let t = Instant::now();
    for _ in 0..reps {
        let _ = a.clone().matmul(b.clone()).sum().into_scalar::<f32>();
    }
    2.0 * (m * k * n * reps) as f64 / t.elapsed().as_secs_f64() / 1e9
}

fn main() {
    lobes::tune_allocator();
    let dev = Device::flex();
    let widths = [10000, 4096, 2048, 1024, 512, 256];
    let b = 100;
    println!("burn flex matmul, batch {b}; GFLOP/s (2 flops per multiply-add)");
    println!(
        "{:>12} {:>10} {:>14} {:>14}",
        "layer", "x W", "x^T dY (dW)", "dY W^T (dX)"
    );
    let (mut flops, mut secs) = (0.0, 0.0);
    for w in widths.windows(2) {
        let (i, o) = (w[0], w[1]);
        let f = gflops(b, i, o, false, false, &dev);
        let gw = gflops(i, b, o, true, false, &dev);
        let gx = gflops(b, o, i, false, true, &dev);
        println!("{:>12} {f:10.1} {gw:14.1} {gx:14.1}", format!("{i}-{o}"));
        let mac = (b * i * o) as f64 * 2.0;
        // Encoder and decoder each hold this layer once: three products each.
        secs += 2.0 * (mac / f + mac / gw + mac / gx) / 1e9;
        flops += 2.0 * 3.0 * mac;
    }
    println!(
        "all products of one dense step: {:.1} GFLOP in {:.3} s = {:.1} GFLOP/s -> at most {:.0} images/s",
        flops / 1e9,
        secs,
        flops / 1e9 / secs,
        b as f64 / secs
    );

    // The first encoder layer on 100 synthetic stamps.
    let data = lobes::models::data::synthetic::Synthetic::default().dataset(b.div_ceil(2), 0, 0);
    let refs: Vec<_> = data.train.iter().take(b).collect();
    let x = lobes::models::train::batch_of(&refs, 100, &dev).x;
    let px: Vec<f32> = x.clone().try_into_vec_as().expect("f32");
    let nz = px.iter().filter(|v| **v != 0.0).count() as f64 / px.len() as f64;
    let w = Tensor::<2>::random([10000, 4096], burn::tensor::Distribution::Default, &dev);
    let dy = Tensor::<2>::random([b, 4096], burn::tensor::Distribution::Default, &dev);
    println!(
        "first layer 10000-4096, {b} synthetic stamps ({:.1}% non-zero pixels), ms:",
        100.0 * nz
    );
    println!("{:>14} {:>10} {:>10}", "", "dense", "sparse");
    let fd = millis(|| x.clone().matmul(w.clone()));
    let fs = millis(|| sparse_matmul(x.clone(), w.clone()));
    println!("{:>14} {fd:10.1} {fs:10.1}", "x W");
    let gd = millis(|| x.clone().transpose().matmul(dy.clone()));
    let gs = millis(|| {
        Tensor::from_dispatch(<Dispatch as SparseBackend>::sparse_matmul_xt(
            x.clone().into_dispatch(),
            dy.clone().into_dispatch(),
        ))
    });
    println!("{:>14} {gd:10.1} {gs:10.1}", "x^T dY (dW)");
}
