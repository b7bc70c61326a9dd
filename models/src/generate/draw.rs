//! Drawing latent points and decoding them into new images, whole or in chunks.

use super::{Generator, Sampling};
use crate::data::{Class, Image, Sample};
use crate::error::ModelError;
use crate::vae::Prior;
use lobes_ppl::{no_grad, with_param_store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

impl Generator {
    /// `n` latent points (`n * latent` values, point by point) drawn as `sampling` says: from
    /// the model's prior (with its trained parameters, for a learnable one) or uniform. The
    /// paper's Normal(0, I) and the uniform box draw from ChaCha8 seeded with `seed`; the other
    /// priors from their distribution, with the PPL's generator seeded with `seed` for the draw
    /// and restored after it. A class-conditional prior draws point `i` from the prior of class
    /// FRI or FRII alternately, as [`Generator::generate`] decodes them without a class.
    pub fn latents(
        &mut self,
        n: usize,
        sampling: Sampling,
        seed: u64,
    ) -> Result<Vec<f32>, ModelError> {
        self.latents_of(n, None, sampling, seed)
    }

    /// [`Generator::latents`] for points of `class` (FRI and FRII alternately for `None`): only
    /// a class-conditional prior reads it.
    pub fn latents_of(
        &mut self,
        n: usize,
        class: Option<Class>,
        sampling: Sampling,
        seed: u64,
    ) -> Result<Vec<f32>, ModelError> {
        sampling.check().map_err(|why| {
            ModelError::invalid_option(
                "sampling",
                format!("{sampling:?}"),
                format!("sampling {sampling:?}: {why}"),
            )
        })?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let d = self.net.latent;
        let values = n.checked_mul(d).filter(|v| v.checked_mul(4).is_some());
        let Some(values) = values else {
            return Err(ModelError::invalid_option(
                "--n",
                n,
                format!(
                    "{n} latent points of {d} dimensions are more values than memory can address"
                ),
            ));
        };
        crate::memory::check(
            &format!("{n} latent points of {d} dimensions"),
            crate::memory::total(values, 4, 0),
        )?;
        Ok(match (sampling, self.net.prior) {
            (Sampling::Prior, Prior::Normal) => (0..values)
                .map(|_| rng.sample::<f32, _>(rand_distr::StandardNormal))
                .collect(),
            (Sampling::Uniform(lo, hi), _) => (0..values)
                .map(|_| rng.random_range(lo..hi) as f32)
                .collect(),
            (Sampling::Prior, prior) => {
                // Seeded draws that leave the PPL's generator as they found it (training's
                // stream, when RAMIS is measured between epochs).
                let before = lobes_ppl::rng::get_rng_state();
                lobes_ppl::rng::set_rng_seed(seed);
                let dev = self.device.clone();
                let classes = self.net.classes;
                let y = (prior == Prior::ClassNormal).then(|| {
                    let hot: Vec<f32> = (0..n)
                        .flat_map(|i| {
                            let c = class.unwrap_or(Class::ALL[i % 2]).label();
                            (0..classes).map(move |k| f32::from(u8::from(k == c)))
                        })
                        .collect();
                    burn::prelude::Tensor::<1>::from_floats(hot.as_slice(), &dev)
                        .reshape([n, classes])
                });
                let z = with_param_store(&mut self.store, || {
                    no_grad(|| {
                        prior
                            .distribution(n, d, y.as_ref(), &dev)
                            .map(|p| p.sample())
                    })
                });
                lobes_ppl::rng::set_rng_state(&before);
                z?.to_vec()
            }
        })
    }

    /// `n` new images. For the CVAE, of `class`, or alternating FRI/FRII when `None`.
    pub fn generate(
        &mut self,
        n: usize,
        class: Option<Class>,
        sampling: Sampling,
        seed: u64,
    ) -> Result<Vec<Image>, ModelError> {
        let z = self.latents_of(n, class, sampling, seed)?;
        let classes: Vec<Class> = (0..n).map(|i| class.unwrap_or(Class::ALL[i % 2])).collect();
        self.decode(&z, &classes)
    }

    /// [`Generator::generate`] as samples named `generated_00000`, ... with their classes (a
    /// VAE's, which have none, alternate FRI/FRII like the CVAE's without `class`).
    pub fn generate_samples(
        &mut self,
        n: usize,
        class: Option<Class>,
        sampling: Sampling,
        seed: u64,
    ) -> Result<Vec<Sample>, ModelError> {
        let images = self.generate(n, class, sampling, seed)?;
        Ok(images
            .into_iter()
            .enumerate()
            .map(|(i, image)| generated(i, image, class))
            .collect())
    }

    /// [`Generator::generate_samples`] a chunk of at most `chunk` images at a time, each chunk
    /// handed to `each` as soon as it is decoded, so that `n` images need the memory of one
    /// chunk (and of the `n` latent points, drawn at once). The images, names and classes are
    /// those of one call; bit for bit when `n <= chunk`.
    pub fn generate_chunks(
        &mut self,
        n: usize,
        class: Option<Class>,
        sampling: Sampling,
        seed: u64,
        chunk: usize,
        mut each: impl FnMut(Vec<Sample>) -> Result<(), ModelError>,
    ) -> Result<(), ModelError> {
        let z = self.latents_of(n, class, sampling, seed)?;
        let d = self.net.latent;
        let chunk = chunk.max(1);
        for start in (0..n).step_by(chunk) {
            let end = n.min(start + chunk);
            let classes: Vec<Class> = (start..end)
                .map(|i| class.unwrap_or(Class::ALL[i % 2]))
                .collect();
            let images = self.decode(&z[start * d..end * d], &classes)?;
            each(
                images
                    .into_iter()
                    .zip(start..)
                    .map(|(image, i)| generated(i, image, class))
                    .collect(),
            )?;
        }
        Ok(())
    }
}

/// Generated image `i`, named `generated_00000`, ..., of `class` (alternating FRI/FRII when
/// `None`).
fn generated(i: usize, image: Image, class: Option<Class>) -> Sample {
    Sample {
        image,
        label: class.unwrap_or(Class::ALL[i % 2]),
        name: format!("generated_{i:05}"),
        meta: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vae::{ModelKind, VaeConfig};
    use burn::prelude::*;
    use lobes_ppl::ParamStore;

    fn tiny() -> Generator {
        let net = VaeConfig {
            pixels: 100,
            hidden: vec![8],
            ..VaeConfig::paper(2, true)
        };
        let template = net.init(&Device::default());
        Generator::with_template(ModelKind::Cvae, net, ParamStore::new(), template)
    }

    #[test]
    fn a_uniform_box_needs_finite_bounds_a_finite_width_and_lo_below_hi() {
        assert_eq!(
            Sampling::from_option("--sampling", "uniform:-4,4").unwrap(),
            Sampling::Uniform(-4.0, 4.0)
        );
        assert_eq!(Sampling::parse("prior"), Some(Sampling::Prior));
        for (value, why) in [
            ("uniform:-inf,inf", "must be finite"),
            ("uniform:NaN,1", "must be finite"),
            ("uniform:-1e308,1e308", "overflows"),
            ("uniform:-1e300,1e300", "a latent is an f32"),
            ("uniform:4,-4", "LO must be below HI"),
            ("uniform:1,1", "LO must be below HI"),
            ("uniform:a,1", "must be numbers"),
            ("gauss", "expected prior or uniform:LO,HI"),
        ] {
            let e = Sampling::from_option("--sampling", value)
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(&format!("--sampling '{value}': ")) && e.contains(why),
                "{value}: {e}"
            );
            assert_eq!(Sampling::parse(value), None, "{value}");
        }
        // A box built in code is checked before drawing: no panic in the generator.
        let e = tiny()
            .latents(3, Sampling::Uniform(f64::NEG_INFINITY, 0.0), 0)
            .unwrap_err();
        assert!(e.to_string().contains("must be finite"), "{e}");
    }

    #[test]
    fn counts_beyond_memory_are_errors_not_overflows_or_aborts() {
        let mut g = tiny();
        for n in [usize::MAX, 100_000_000_000_000] {
            let e = g.latents(n, Sampling::Prior, 0).unwrap_err().to_string();
            assert!(e.contains("latent points"), "{e}");
        }
    }

    #[test]
    fn chunks_hold_the_images_names_and_classes_of_one_call() {
        let mut g = tiny();
        let all = g.generate_samples(7, None, Sampling::Prior, 5).unwrap();
        let mut chunks = vec![];
        g.generate_chunks(7, None, Sampling::Prior, 5, 3, |c| {
            chunks.push(c.len());
            for s in c {
                let a = all.iter().find(|a| a.name == s.name).expect("same names");
                assert_eq!(a.label, s.label);
                let diff = a
                    .image
                    .pixels
                    .iter()
                    .zip(&s.image.pixels)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0f32, f32::max);
                assert!(diff < 1e-6, "{}: {diff}", s.name);
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(chunks, [3, 3, 1]);
    }
}
