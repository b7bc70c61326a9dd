//! Initial network parameters drawn on the host, so that one seed gives one initial model on
//! every device.
//!
//! burn's `LinearConfig::init(device)` (and `Conv2dConfig`'s) draws from the device's own
//! generator: flex and a GPU give different initial weights for the same seed, and a GPU
//! generator is not ours to reproduce. Here each parameter tensor is drawn from a ChaCha8
//! generator keyed by the run's seed, on a stream of its own (the 64-bit FNV-1a hash of the
//! parameter's name, e.g. `encoder.layers.0.weight`), then uploaded. The distribution is
//! burn's default for these layers (`Initializer::KaimingUniform { gain: 1/√3 }`):
//! `U(-k, k)` with `k = 1/√fan_in` for weights and biases alike, `fan_in` the layer's input
//! width (`in_channels · kernel area` for a convolution), as PyTorch's `nn.Linear` and
//! `nn.Conv2d` initialise too.
//!
//! Large tensors are drawn in parallel: block `b` of a tensor seeks its stream to word
//! `b · BLOCK`, so the values are those of one sequential pass whatever the number of threads.

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::TensorData;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Values per parallel block.
const BLOCK: usize = 1 << 16;

/// The generator stream of the parameter `name`: its 64-bit FNV-1a hash.
fn stream_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `n` draws of `U(-bound, bound)` for the parameter `name` under `seed` (row-major order):
/// 24-bit uniforms `u` on [0, 1) from the high bits of each 32-bit word, mapped to
/// `bound · (2u - 1)`.
pub fn uniform_values(seed: u64, name: &str, n: usize, bound: f32) -> Vec<f32> {
    let stream = stream_of(name);
    let mut out = vec![0f32; n];
    let fill = |(b, chunk): (usize, &mut [f32])| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        rng.set_word_pos((b * BLOCK) as u128);
        for v in chunk {
            let u = (rng.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0);
            *v = bound * (2.0 * u - 1.0);
        }
    };
    if n <= BLOCK {
        fill((0, &mut out[..]));
    } else {
        out.par_chunks_mut(BLOCK).enumerate().for_each(fill);
    }
    out
}

/// A parameter of `shape` drawn as [`uniform_values`] says, on `device` (tracked when
/// `device` is an autodiff device, as burn's initialisers make them).
pub fn uniform_param<const D: usize>(
    seed: u64,
    name: &str,
    shape: [usize; D],
    fan_in: usize,
    device: &Device,
) -> Param<Tensor<D>> {
    let n = shape.iter().product();
    let bound = (1.0 / (fan_in.max(1) as f64).sqrt()) as f32;
    let values = uniform_values(seed, name, n, bound);
    Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device))
}

/// A `d_input → d_output` layer with a bias, as `LinearConfig::new(d_input, d_output)` makes
/// it (weight `[d_input, d_output]`), its values drawn on the host from `seed` for the layer
/// named `name` (`name.weight`, `name.bias`).
pub fn linear(seed: u64, name: &str, d_input: usize, d_output: usize, device: &Device) -> Linear {
    Linear {
        weight: uniform_param(
            seed,
            &format!("{name}.weight"),
            [d_input, d_output],
            d_input,
            device,
        ),
        bias: Some(uniform_param(
            seed,
            &format!("{name}.bias"),
            [d_output],
            d_input,
            device,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_uniform_on_the_bound_and_independent_of_blocking() {
        let n = 3 * BLOCK + 17;
        let v = uniform_values(5, "a.weight", n, 0.5);
        assert!(v.iter().all(|x| (-0.5..0.5).contains(x)));
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        // U(-1/2, 1/2): mean 0 (standard error 0.0008), variance 1/12.
        assert!(mean.abs() < 0.004, "mean {mean}");
        assert!((var - 1.0 / 12.0).abs() < 0.002, "variance {var}");
        // The parallel blocks continue one sequential stream.
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        rng.set_stream(stream_of("a.weight"));
        let seq: Vec<f32> = (0..n)
            .map(|_| 0.5 * (2.0 * ((rng.next_u32() >> 8) as f32 / 16_777_216.0) - 1.0))
            .collect();
        assert_eq!(v, seq);
        // Another name, another seed: other values.
        assert_ne!(uniform_values(5, "a.bias", 100, 0.5), v[..100]);
        assert_ne!(uniform_values(6, "a.weight", 100, 0.5), v[..100]);
    }
}
