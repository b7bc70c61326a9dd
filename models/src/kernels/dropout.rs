//! Dropout whose mask is drawn in parallel from the PPL's generator.
//!
//! burn's `Dropout::forward` draws its Bernoulli mask element by element on one thread from
//! burn's device generator and then scales in a second pass: ~3% of a training step of the
//! paper's VAE (1.6M draws per step). [`dropout`] does the same thing, `x · m` with
//! `m = 1 / (1 - p)` kept and `0` dropped, drawing the mask in parallel blocks, each from its own
//! ChaCha8 stream of one seed taken from the PPL's generator. So the mask is reproducible
//! under `lobes_ppl::rng::set_rng_seed` (as `pyro.set_rng_seed` governs torch's dropout) and
//! under `Svi::with_seed`, whatever the number of threads. On every device: on a GPU the mask
//! is drawn on the host the same way and uploaded (4 bytes per element; burn's
//! `Dropout::forward` would draw it from the device's generator, another stream on every
//! device), so a step on a GPU applies the same masks as on the CPU for the same seed.

use burn::nn::Dropout;
use burn::prelude::*;
use burn::tensor::TensorData;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Mask elements per block (one generator stream each).
const BLOCK: usize = 1 << 14;

/// `d.forward(x)` with the mask drawn as the module documentation says: in training (an
/// autodiff device, the layer not frozen, `p > 0`) each element is kept with probability
/// `1 - p` and scaled by `1 / (1 - p)`; otherwise `x` unchanged.
pub fn dropout<const D: usize>(d: &Dropout, x: Tensor<D>) -> Tensor<D> {
    if !d.training.is_enabled() || !x.device().is_autodiff() || d.prob == 0.0 {
        return x;
    }
    let keep = 1.0 - d.prob;
    let scale = (1.0 / keep) as f32;
    // P(u < threshold) = keep for u uniform on 0..2^32.
    let threshold = (keep * 4_294_967_296.0).round() as u64;
    let shape = x.shape();
    let n = shape.num_elements();
    let seed = lobes_ppl::rng::next_seed();
    let mut mask = vec![0f32; n];
    mask.par_chunks_mut(BLOCK).enumerate().for_each(|(b, m)| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(b as u64);
        for v in m {
            *v = if u64::from(rng.next_u32()) < threshold {
                scale
            } else {
                0.0
            };
        }
    });
    let mask = Tensor::<D>::from_data(TensorData::new(mask, shape), &x.device());
    x * mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::DropoutConfig;

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.try_into_vec_as::<f32>().unwrap()
    }

    #[test]
    fn dropout_keeps_one_minus_p_scaled_and_is_reproducible() {
        let d = DropoutConfig::new(0.2).init();
        let dev = Device::flex().autodiff();
        let (rows, cols) = (40, 5000);
        let x = Tensor::<2>::ones([rows, cols], &dev).require_grad();
        lobes_ppl::rng::set_rng_seed(7);
        let y = dropout(&d, x.clone());
        let v = values(y.clone());
        let kept = v.iter().filter(|&&e| e != 0.0).count() as f64 / v.len() as f64;
        // 200,000 draws: the standard error of the kept fraction is 0.0009.
        assert!((kept - 0.8).abs() < 0.005, "kept {kept}");
        assert!(v.iter().all(|&e| e == 0.0 || (e - 1.25).abs() < 1e-6));
        // Blocks differ from one another (distinct streams), and the gradient is the mask.
        assert_ne!(&v[..BLOCK], &v[BLOCK..2 * BLOCK]);
        let g = x.grad(&y.sum().backward()).unwrap();
        assert_eq!(values(g), v);
        // The same seed, the same mask; the next draw, another.
        lobes_ppl::rng::set_rng_seed(7);
        assert_eq!(values(dropout(&d, x.clone())), v);
        assert_ne!(values(dropout(&d, x.clone())), v);
        // Off outside training: without autodiff, and with p = 0.
        let plain = Tensor::<2>::ones([3, 4], &Device::flex());
        assert_eq!(values(dropout(&d, plain)), vec![1.0; 12]);
        let none = DropoutConfig::new(0.0).init();
        assert_eq!(values(dropout(&none, x.clone())), vec![1.0; rows * cols]);
    }
}
