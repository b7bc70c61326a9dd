//! Where a field's sources come from: the built-in synthetic FRI/FRII generator or a trained
//! VAE/CVAE; and the plan of every source (position, flux, rotation, class, stamp seed),
//! drawn up front from the seed.

use super::config::{FieldConfig, FieldError};
use crate::data::synthetic::Synthetic;
use crate::data::{Class, Image};
use crate::error::ModelError;
use crate::generate::{Generator, Sampling};
use crate::vae::ModelKind;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The generator of source stamps (at FIRST resolution: 3-pixel beam).
pub enum Population {
    /// [`Synthetic`]'s parametric FRI/FRII sources (150x150 stamps).
    Synthetic(Synthetic),
    /// Decoded from a trained network's latents (100x100 stamps).
    Model {
        /// The network.
        generator: Box<Generator>,
        /// Where latents come from.
        sampling: Sampling,
    },
}

impl Population {
    /// Whether sources have classes, and so whether `--fri-fraction` means anything.
    pub fn has_classes(&self) -> bool {
        match self {
            Population::Synthetic(_) => true,
            Population::Model { generator, .. } => generator.kind == ModelKind::Cvae,
        }
    }

    /// Refuses a class fraction for a VAE (it has no classes).
    pub fn check(&self, cfg: &FieldConfig) -> Result<(), FieldError> {
        if cfg.fri_fraction.is_some() && !self.has_classes() {
            return Err(FieldError::option(
                "--fri-fraction",
                "the checkpoint is a VAE, which generates without classes; give a CVAE \
                 checkpoint, or no --checkpoint for the synthetic FRI/FRII generator",
            ));
        }
        Ok(())
    }

    /// The stamps of `sources` (each its own seed and class), in order. Each stamp depends on
    /// its source's seed only, so the field does not depend on how sources are batched.
    pub fn stamps(&mut self, sources: &[&Planned]) -> Result<Vec<Image>, ModelError> {
        match self {
            Population::Synthetic(s) => {
                use rayon::prelude::*;
                Ok(sources
                    .par_iter()
                    .map(|p| s.source(p.class.unwrap_or(Class::FRI), p.stamp_seed))
                    .collect())
            }
            Population::Model {
                generator,
                sampling,
            } => {
                if sources.is_empty() {
                    return Ok(vec![]);
                }
                let mut z: Vec<f32> = Vec::with_capacity(sources.len() * generator.net.latent);
                for p in sources {
                    z.extend(generator.latents(1, *sampling, p.stamp_seed)?);
                }
                let classes: Vec<Class> = sources
                    .iter()
                    .map(|p| p.class.unwrap_or(Class::FRI))
                    .collect();
                generator.decode(&z, &classes)
            }
        }
    }
}

/// One source as planned before anything is drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    /// Catalogue id (0-based order of drawing).
    pub id: usize,
    /// Zero-based field pixel of the stamp's centre (the host's position).
    pub x: f64,
    /// Zero-based field pixel (row from the bottom).
    pub y: f64,
    /// Integrated flux, Jy.
    pub flux: f64,
    /// Rotation of the stamp on the sky, degrees (north through east).
    pub rotation_deg: f64,
    /// Class, for the CVAE and the synthetic generator; `None` for a VAE.
    pub class: Option<Class>,
    /// Seed of the stamp (synthetic source or latent draw).
    pub stamp_seed: u64,
}

/// Draws every source's plan from `cfg.seed`: positions uniform on the sky within the image
/// (uniform pixels accepted with probability cos³θ, the gnomonic area element, θ the distance
/// from the centre), fluxes from the power law, rotations uniform in [0, 360), classes FRI with
/// probability `fri_fraction` (0.5 by default) when `classes`.
pub fn plan(cfg: &FieldConfig, classes: bool) -> Result<Vec<Planned>, FieldError> {
    let law = cfg.power_law()?;
    let tan = cfg.tan();
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x05ee_df1e_1d00);
    let (w, h) = (cfg.width as f64, cfg.height as f64);
    let fri = cfg.fri_fraction.unwrap_or(0.5);
    let mut out = Vec::with_capacity(cfg.sources);
    for id in 0..cfg.sources {
        let (x, y) = loop {
            // Anywhere on the image: pixel centres span [-0.5, n - 0.5).
            let x = rng.random::<f64>() * w - 0.5;
            let y = rng.random::<f64>() * h - 0.5;
            if rng.random::<f64>() < tan.relative_pixel_area(x, y) {
                break (x, y);
            }
        };
        let flux = law.quantile(rng.random());
        let rotation_deg = rng.random::<f64>() * 360.0;
        let class = if classes {
            Some(if rng.random::<f64>() < fri {
                Class::FRI
            } else {
                Class::FRII
            })
        } else {
            None
        };
        out.push(Planned {
            id,
            x,
            y,
            flux,
            rotation_deg,
            class,
            stamp_seed: rng.random(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_reproducible_and_inside_the_image() {
        let cfg = FieldConfig {
            width: 300,
            height: 200,
            sources: 500,
            fri_fraction: Some(0.25),
            ..Default::default()
        };
        let a = plan(&cfg, true).unwrap();
        assert_eq!(a, plan(&cfg, true).unwrap());
        assert!(
            a.iter()
                .all(|p| p.x >= -0.5 && p.x < 299.5 && p.y >= -0.5 && p.y < 199.5)
        );
        let fri = a.iter().filter(|p| p.class == Some(Class::FRI)).count() as f64;
        // Binomial(500, 0.25): sd 9.7.
        assert!((fri - 125.0).abs() < 40.0, "{fri}");
        let other = plan(&FieldConfig { seed: 1, ..cfg }, true).unwrap();
        assert_ne!(a, other);
    }

    #[test]
    fn the_synthetic_generator_takes_a_class_fraction() {
        let cfg = FieldConfig {
            fri_fraction: Some(0.3),
            ..Default::default()
        };
        Population::Synthetic(Synthetic::default())
            .check(&cfg)
            .unwrap();
    }
}
