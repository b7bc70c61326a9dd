//! p(z): the latent prior of the VAE and CVAE.
//!
//! Adding a prior: an arm in [`Prior`] (its name in `ALL` and [`Prior::name`], its parameters
//! in [`Prior::param_names`], its distribution in [`Prior::distribution`]) and a test below.
//! Generation from a trained model draws from [`Prior::distribution`] under the checkpoint's
//! parameters.

use crate::error::ModelError;
use burn::prelude::*;
use lobes_ppl::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// The prior over the `d` latent dimensions, one draw per image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Prior {
    /// `Normal(0, I)`, the paper's.
    #[default]
    Normal,
    /// `Laplace(0, 1)` in each dimension: sparser codes, heavier tails.
    Laplace,
    /// `StudentT(ν = 3, 0, 1)` in each dimension: heavy tails.
    StudentT,
    /// A learnable mixture of [`Prior::COMPONENTS`] diagonal Gaussians (Tomczak & Welling's
    /// "mixture of Gaussians" prior): weights `prior.logits` `[K]`, means `prior.locs` `[K, d]`
    /// (initially N(0, 1) draws of a fixed seed), scales `prior.scales` `[K, d]` (initially 1).
    Mixture,
    /// For the CVAE, a learnable Normal per class, p(z | y) (the conditional prior of Sohn et
    /// al. 2015): means `prior.class_locs` `[classes, d]` (initially 0) and scales
    /// `prior.class_scales` `[classes, d]` (initially 1), so training starts from the paper's
    /// N(0, I) for every class. Drawing from it needs the class of each point.
    ClassNormal,
}

impl Prior {
    /// Every choice, by [`Prior::name`].
    pub const ALL: [Prior; 5] = [
        Prior::Normal,
        Prior::Laplace,
        Prior::StudentT,
        Prior::Mixture,
        Prior::ClassNormal,
    ];

    /// Components of [`Prior::Mixture`].
    pub const COMPONENTS: usize = 10;

    /// Degrees of freedom of [`Prior::StudentT`].
    pub const DF: f32 = 3.0;

    /// The name `--prior` takes.
    pub fn name(self) -> &'static str {
        match self {
            Prior::Normal => "normal",
            Prior::Laplace => "laplace",
            Prior::StudentT => "student-t",
            Prior::Mixture => "mixture",
            Prior::ClassNormal => "class-normal",
        }
    }

    /// Parses [`Prior::name`]; an unknown name is an error listing the choices.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|p| p.name()).collect();
                ModelError::unknown_name("prior", s, names.join(", "))
            })
    }

    /// The parameters the prior makes in the model.
    pub fn param_names(self) -> Vec<&'static str> {
        match self {
            Prior::Mixture => vec!["prior.logits", "prior.locs", "prior.scales"],
            Prior::ClassNormal => vec!["prior.class_locs", "prior.class_scales"],
            _ => vec![],
        }
    }

    /// The prior of `batch` latent vectors of `d` dimensions: batch shape `[batch]`, event
    /// shape `[d]`. A learnable prior reads (or, on the model's first run, makes) its
    /// parameters in the active store. `y`, the one-hot classes `[batch, classes]` of a CVAE,
    /// is read by [`Prior::ClassNormal`] alone, which is an error without it.
    pub fn distribution(
        self,
        batch: usize,
        d: usize,
        y: Option<&Tensor<2>>,
        device: &Device,
    ) -> Result<Arc<dyn Distribution>> {
        let zeros = || Tensor::<2>::zeros([batch, d], device);
        let ones = || Tensor::<2>::ones([batch, d], device);
        Ok(match self {
            Prior::Normal => Arc::new(Normal::new(zeros(), ones())?.to_event(1)),
            Prior::Laplace => Arc::new(Laplace::new(zeros(), ones())?.to_event(1)),
            Prior::StudentT => Arc::new(
                StudentT::new(
                    Tensor::<2>::full([batch, d], Self::DF, device),
                    zeros(),
                    ones(),
                )?
                .to_event(1),
            ),
            Prior::Mixture => {
                let k = Self::COMPONENTS;
                let logits: Tensor<1> = param("prior.logits", Tensor::<1>::zeros([k], device))?;
                let locs: Tensor<2> = param("prior.locs", initial_locs(k, d, device))?;
                let scales: Tensor<2> = param_constrained(
                    "prior.scales",
                    Tensor::<2>::ones([k, d], device),
                    Constraint::Positive,
                )?;
                let components = Normal::new(locs, scales)?.to_event(1);
                let mixture = MixtureSameFamily::new(
                    Categorical::from_logits(logits)?,
                    Arc::new(components),
                )?;
                mixture.expand(&[batch])?
            }
            Prior::ClassNormal => {
                let Some(y) = y else {
                    return Err(PplError::InvalidParam {
                        name: "prior.class_locs".into(),
                        reason: "the class-conditional prior p(z | y) needs each point's \
                                 class (a CVAE)"
                            .into(),
                    });
                };
                let k = y.dims()[1];
                let locs: Tensor<2> =
                    param("prior.class_locs", Tensor::<2>::zeros([k, d], device))?;
                let scales: Tensor<2> = param_constrained(
                    "prior.class_scales",
                    Tensor::<2>::ones([k, d], device),
                    Constraint::Positive,
                )?;
                // One-hot rows pick their class's mean and scale.
                Arc::new(Normal::new(y.clone().matmul(locs), y.clone().matmul(scales))?.to_event(1))
            }
        })
    }
}

/// The mixture's initial means: N(0, 1) draws from a generator of their own (seed 0), so
/// making them shifts no other random stream and every run starts from the same prior.
fn initial_locs(k: usize, d: usize, device: &Device) -> Tensor<2> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let v: Vec<f32> = (0..k * d)
        .map(|_| rand::Rng::sample::<f32, _>(&mut rng, rand_distr::StandardNormal))
        .collect();
    Tensor::<1>::from_floats(v.as_slice(), device).reshape([k, d])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_prior_has_one_event_of_d_per_image_and_the_mixture_makes_its_parameters() {
        let dev = Device::flex();
        for p in Prior::ALL {
            let mut store = ParamStore::new();
            let (dist, lp) = with_param_store(&mut store, || {
                let y = Tensor::<2>::from_floats(
                    [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]],
                    &dev,
                );
                let dist = p.distribution(5, 3, Some(&y), &dev).unwrap();
                let z = dist.sample();
                let lp = dist.log_prob(&z).unwrap();
                (dist, lp)
            });
            assert_eq!(dist.batch_shape(), vec![5], "{}", p.name());
            assert_eq!(dist.event_shape(), vec![3], "{}", p.name());
            assert!(lp.to_vec().iter().all(|v| v.is_finite()), "{}", p.name());
            let mut names: Vec<&str> = store.names().iter().map(|s| s.as_str()).collect();
            names.sort();
            let mut want = p.param_names();
            want.sort();
            assert_eq!(names, want, "{}", p.name());
        }
        // The mixture at its start: ten unit Gaussians with equal weights.
        let mut store = ParamStore::new();
        with_param_store(&mut store, || {
            Prior::Mixture.distribution(2, 3, None, &dev).unwrap()
        });
        assert_eq!(
            store.get("prior.locs").unwrap().shape(),
            vec![Prior::COMPONENTS, 3]
        );
        assert_eq!(
            store.get("prior.scales").unwrap().to_vec(),
            vec![1.0; Prior::COMPONENTS * 3]
        );
    }

    #[test]
    fn the_standard_normal_prior_scores_as_the_closed_form() {
        let dev = Device::flex();
        let dist = Prior::Normal.distribution(1, 2, None, &dev).unwrap();
        let z = DTensor::from_floats(vec![0.5, -1.0], &[1, 2], &dev).unwrap();
        let lp = dist.log_prob(&z).unwrap().to_vec()[0] as f64;
        let want = -(0.25 + 1.0) / 2.0 - (2.0 * std::f64::consts::PI).ln();
        assert!((lp - want).abs() < 1e-5, "{lp} vs {want}");
        for p in Prior::ALL {
            assert_eq!(Prior::parse(p.name()).unwrap(), p);
        }
        assert!(
            Prior::parse("flat")
                .unwrap_err()
                .to_string()
                .contains("student-t")
        );
    }
}
