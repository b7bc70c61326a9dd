//! A likelihood of one's own, plugged into the paper's VAE without touching `lobes-models`.
//!
//! Radio maps are not coin flips: a pixel is the source's brightness plus thermal noise of a
//! fixed rms, plus a calibration error proportional to the brightness. So here a pixel is
//! `Normal(μ, sqrt(rms² + (f·μ)²))`, with μ the decoder's output, `rms` fixed and the fractional
//! error `f` learned. The distribution is written below (the `Distribution` trait of
//! `lobes-ppl`); the model is the library's, through `model_with`, and so is the guide.
//!
//! Run: `cargo run --release --example custom_likelihood`

use lobes::models::data::synthetic::Synthetic;
use lobes::models::vae::batch_of;
use lobes::models::vae::{Batch, PixelLikelihood, VaeConfig, guide, model_with};
use lobes::ppl::dist::DistError;
use lobes::ppl::prelude::*;
use std::any::Any;
use std::sync::Arc;

/// Thermal noise plus a fractional calibration error, per pixel.
#[derive(Clone, Debug)]
struct NoisyFlux {
    mean: DTensor,
    sd: DTensor,
}

impl NoisyFlux {
    fn new(mean: DTensor, rms: f32, frac: DTensor) -> Self {
        let sd = mean
            .mul(&frac)
            .square()
            .add_scalar((rms * rms) as f64)
            .sqrt();
        NoisyFlux { mean, sd }
    }
}

impl Distribution for NoisyFlux {
    fn name(&self) -> String {
        "NoisyFlux".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.mean.shape().to_vec()
    }
    fn sample(&self) -> DTensor {
        let n = self.mean.numel();
        let eps = DTensor::from_floats(
            lobes::ppl::rng::normals(n),
            self.mean.shape(),
            &self.mean.device(),
        )
        .expect("noise of the mean's shape");
        self.mean.add(&self.sd.mul(&eps)).detach()
    }
    fn log_prob(&self, x: &DTensor) -> Result<DTensor, DistError> {
        let z = x.sub(&self.mean).div(&self.sd);
        let half_ln_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
        Ok(z.square()
            .mul_scalar(-0.5)
            .sub(&self.sd.log())
            .add_scalar(-half_ln_2pi))
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        Ok(Arc::new(NoisyFlux {
            mean: self.mean.expand(batch)?,
            sd: self.sd.expand(batch)?,
        }))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The likelihood the model asks for: the noise rms is fixed, the fractional error a
/// parameter of the model (`pyro.param` with a positive constraint).
struct RadioNoise {
    rms: f32,
}

impl PixelLikelihood for RadioNoise {
    fn distribution(&self, decoded: Tensor<2>) -> Result<Arc<dyn Distribution>> {
        let frac: DTensor = param_constrained(
            "obs.frac",
            DTensor::full(&[1], 0.1, &decoded.device()),
            Constraint::Positive,
        )?;
        let mean = DTensor::from(decoded);
        Ok(NoisyFlux::new(mean, self.rms, frac).to_event(1).boxed())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    lobes::tune_allocator();
    let dev = Device::default();
    let data = Synthetic::default().dataset(200, 20, 0);
    let net = VaeConfig {
        hidden: vec![256, 64],
        ..VaeConfig::paper(8, false)
    };
    let vae = net.init(&dev.clone().autodiff());
    let likelihood = RadioNoise { rms: 0.02 };
    let mut svi = Svi::new(
        |b: &Batch| model_with(&vae, b, &likelihood),
        |b: &Batch| guide(&vae, b),
        Adam::new(1e-3),
        TraceElbo::default(),
    )
    .with_seed(0, Some(dev.clone()));
    let train: Vec<_> = data.train.iter().collect();
    let test: Vec<_> = data.test.iter().collect();
    let test_batch = batch_of(&test, 100, &dev);
    for epoch in 1..=5 {
        let mut total = 0.0;
        for chunk in train.chunks(50) {
            total += svi.step(&batch_of(chunk, 100, &dev))?;
        }
        let frac = svi.store().get("obs.frac").map(|f| f.to_vec()[0]);
        println!(
            "epoch {epoch}  train loss {:9.1}  test loss {:9.1}  fractional error {:.4}",
            total / train.len() as f64,
            svi.evaluate_loss(&test_batch)? / test.len() as f64,
            frac.unwrap_or(f32::NAN)
        );
    }
    Ok(())
}
