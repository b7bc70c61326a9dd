//! What bounds a training step of the paper's VAE (batch 100) on burn's CPU backend
//! (docs/performance.md), in four parts:
//! 1. the machine's own ceiling: fused multiply-adds from registers on every core, no memory
//!    traffic;
//! 2. GFLOP/s of burn's matrix products at each layer's shapes: forward `x W`, weight gradient
//!    `xᵀ dY`, and the input gradient both as burn computes it (`dY Wᵀ`) and as
//!    `lobes_models::kernels::linear` does (`(W dYᵀ)ᵀ`);
//! 3. the first encoder layer on a batch of synthetic stamps: burn's dense products against
//!    the sparse kernels of `lobes_models::kernels::sparse_op`;
//! 4. the dense layers' forward and backward passes with burn's `Linear::forward` against
//!    `lobes_models::kernels::linear::linear`.
//!
//! ```sh
//! cargo bench --bench gemm
//! ```

use burn::backend::Dispatch;
use burn::prelude::*;
use lobes::models::kernels::sparse_op::{SparseBackend, sparse_matmul};
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

/// Fused multiply-adds per second of one thread for about `secs` seconds: 16 independent
/// 16-wide AVX-512 accumulators (8-wide AVX2 without AVX-512), nothing read from memory.
#[cfg(target_arch = "x86_64")]
fn fma_thread(secs: f64) -> (f64, &'static str) {
    use std::arch::x86_64::*;
    #[target_feature(enable = "avx512f")]
    fn avx512(iters: u64) -> f32 {
        let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
        let mut acc = [_mm512_set1_ps(1.0); 16];
        for _ in 0..iters {
            for r in acc.iter_mut() {
                *r = _mm512_fmadd_ps(*r, a, b);
            }
        }
        acc.iter().map(|r| _mm512_reduce_add_ps(*r)).sum()
    }
    #[target_feature(enable = "avx2,fma")]
    fn avx2(iters: u64) -> f32 {
        let (a, b) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
        let mut acc = [_mm256_set1_ps(1.0); 16];
        for _ in 0..iters {
            for r in acc.iter_mut() {
                *r = _mm256_fmadd_ps(*r, a, b);
            }
        }
        let mut out = [0.0f32; 8];
        for r in acc {
            let mut v = [0.0f32; 8];
            // SAFETY: `v` holds 8 floats.
            unsafe { _mm256_storeu_ps(v.as_mut_ptr(), r) };
            out.iter_mut().zip(v).for_each(|(o, v)| *o += v);
        }
        out.iter().sum()
    }
    let (run, lanes, kind): (&dyn Fn(u64) -> f32, u64, _) =
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked above).
            (&|n| unsafe { avx512(n) }, 16, "AVX-512")
        } else if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            (&|n| unsafe { avx2(n) }, 8, "AVX2")
        } else {
            return (0.0, "no AVX2/FMA");
        };
    let _ = std::hint::black_box(run(1_000_000));
    let (mut done, t) = (0u64, Instant::now());
    while t.elapsed().as_secs_f64() < secs {
        let _ = std::hint::black_box(run(std::hint::black_box(10_000_000)));
        done += 10_000_000;
    }
    ((done * 16 * lanes) as f64 / t.elapsed().as_secs_f64(), kind)
}

/// The FP32 fused multiply-add ceiling of all cores together, in GFLOP/s (2 flops each).
#[cfg(target_arch = "x86_64")]
fn fma_peak() -> (f64, &'static str) {
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per: Vec<(f64, &str)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..n).map(|_| s.spawn(|| fma_thread(2.0))).collect();
        hs.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    (2.0 * per.iter().map(|p| p.0).sum::<f64>() / 1e9, per[0].1)
}

fn main() {
    lobes::tune_allocator();
    #[cfg(target_arch = "x86_64")]
    {
        let (peak, kind) = fma_peak();
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        println!("FP32 FMA ceiling of this machine ({kind}, {n} threads): {peak:.1} GFLOP/s");
    }
    let dev = Device::flex();
    let widths = [10000, 4096, 2048, 1024, 512, 256];
    let b = 100;
    println!("burn flex matmul, batch {b}; GFLOP/s (2 flops per multiply-add)");
    println!(
        "{:>12} {:>10} {:>14} {:>14} {:>16}",
        "layer", "x W", "x^T dY (dW)", "dY W^T (dX)", "(W dY^T)^T (dX)"
    );
    let (mut flops, mut secs) = (0.0, 0.0);
    for w in widths.windows(2) {
        let (i, o) = (w[0], w[1]);
        let f = gflops(b, i, o, false, false, &dev);
        let gw = gflops(i, b, o, true, false, &dev);
        let gx = gflops(b, o, i, false, true, &dev);
        // The same dX as `W dYᵀ` (`[i, o] × [o, b]`), transposed: lobes_models::kernels::linear's form.
        let gt = gflops(i, o, b, false, true, &dev);
        println!(
            "{:>12} {f:10.1} {gw:14.1} {gx:14.1} {gt:16.1}",
            format!("{i}-{o}")
        );
        let mac = (b * i * o) as f64 * 2.0;
        // Encoder and decoder each hold this layer once: three products each.
        secs += 2.0 * (mac / f + mac / gw + mac / gt) / 1e9;
        flops += 2.0 * 3.0 * mac;
    }
    println!(
        "all products of one dense step (dX as lobes computes it): {:.1} GFLOP in {:.3} s = {:.1} GFLOP/s -> at most {:.0} images/s",
        flops / 1e9,
        secs,
        flops / 1e9 / secs,
        b as f64 / secs
    );

    // The first encoder layer on 100 synthetic stamps.
    let data = lobes::models::data::synthetic::Synthetic::default().dataset(b.div_ceil(2), 0, 0);
    let refs: Vec<_> = data.train.iter().take(b).collect();
    let x = lobes::models::vae::batch_of(&refs, 100, &dev).x;
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

    let (a, b) = dense_passes(5);
    println!(
        "dense layers of the Table-2 VAE, forward + backward at batch 100: burn Linear {:.1} ms, lobes linear {:.1} ms",
        a * 1e3,
        b * 1e3
    );
}

/// Seconds of one forward and backward pass through the Table-2 VAE's dense layers (encoder
/// 4096 → … → 32, decoder 32 → … → 10000; no activations) at batch 100: burn's
/// `Linear::forward`, then `lobes_models::kernels::linear::linear`, alternating, best of `reps` each.
fn dense_passes(reps: usize) -> (f64, f64) {
    use burn::nn::{Linear, LinearConfig};
    let dev = Device::flex().autodiff();
    let widths = [
        4096, 2048, 1024, 512, 256, 32, 256, 512, 1024, 2048, 4096, 10000,
    ];
    let layers: Vec<Linear> = widths
        .windows(2)
        .map(|w| LinearConfig::new(w[0], w[1]).init(&dev))
        .collect();
    let x = Tensor::<2>::random([100, 4096], burn::tensor::Distribution::Default, &dev);
    let target = Tensor::<2>::random([100, 10000], burn::tensor::Distribution::Default, &dev);
    let pass = |f: &dyn Fn(&Linear, Tensor<2>) -> Tensor<2>| {
        let t = Instant::now();
        // Tracked, as the encoder's hidden activations are: every layer's input gradient runs.
        let input = x.clone().require_grad();
        let mut h = input.clone();
        for l in &layers {
            h = f(l, h);
        }
        let g = (h * target.clone()).sum().backward();
        let _ = input.grad(&g).map(|g| g.sum().into_scalar::<f32>());
        t.elapsed().as_secs_f64()
    };
    let burn_layer = |l: &Linear, h: Tensor<2>| l.forward(h);
    let ours = |l: &Linear, h: Tensor<2>| lobes::models::kernels::linear::linear(l, h);
    let (mut a, mut b) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..reps {
        a = a.min(pass(&burn_layer));
        b = b.min(pass(&ours));
    }
    (a, b)
}
