//! RAMIS while training (`lobes train --classifier C --ramis-every K`): every K epochs, images
//! decoded from latents drawn as the paper does (uniform(-4, 4) in every dimension, 100 images,
//! by default) are scored by the RAMIS classifier; for the CVAE also Table 4's two columns.
//!
//! The evaluation runs in evaluation mode (dropout off, no gradients) and draws its latents from
//! its own generator, seeded from the run's seed and the same at every epoch (so the curve
//! follows the network, not the draw). Training's random stream is untouched: SVI reseeds its
//! generators before every step, so a run with RAMIS logging trains exactly as one without, and
//! a resumed run exactly as an uninterrupted one.

use crate::data::Class;
use crate::error::ModelError;
use crate::generate::{Generator, Sampling};
use crate::ramis::balance::class_balance;
use crate::ramis::classifier::{Classifier, SIDE, ramis};
use crate::vae::ModelKind;
use crate::vae::{Vae, VaeConfig};
use burn::prelude::Device;
use lobes_ppl::ParamStore;
use std::path::PathBuf;

/// What to measure while training.
#[derive(Clone, Debug, PartialEq)]
pub struct RamisOptions {
    /// The classifier weights (`hmt-frdeepf.safetensors`).
    pub classifier: PathBuf,
    /// Measure every this many epochs (and at epoch 0 and at the last epoch).
    pub every: usize,
    /// Images per measurement (the paper: 100).
    pub n: usize,
    /// Where the latents come from (the paper: uniform(-4, 4)).
    pub sampling: Sampling,
}

impl RamisOptions {
    /// The paper's protocol with classifier `classifier` every `every` epochs.
    pub fn paper(classifier: PathBuf, every: usize) -> Self {
        RamisOptions {
            classifier,
            every,
            n: 100,
            sampling: Sampling::Uniform(-4.0, 4.0),
        }
    }

    /// Checks the counts (at least one image, every at least 1 epoch) and the sampling box
    /// ([`Sampling::check`]).
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.every == 0 || self.n == 0 {
            let (option, value) = if self.every == 0 {
                ("--ramis-every", self.every)
            } else {
                ("--ramis-n", self.n)
            };
            return Err(ModelError::invalid_option(
                option,
                value,
                format!(
                    "--ramis-every and --ramis-n must be at least 1, got {} and {}",
                    self.every, self.n
                ),
            ));
        }
        self.sampling.check().map_err(|why| {
            ModelError::invalid_option(
                "--ramis-sampling",
                format!("{:?}", self.sampling),
                format!("--ramis-sampling: {why}"),
            )
        })
    }
}

/// One measurement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RamisMeasure {
    /// RAMIS of the generated images.
    pub ramis: f64,
    /// CVAE: the percentages of generated FRI and FRII scored as requested.
    pub class_percent: Option<(f64, f64)>,
}

/// The classifier loaded once for the run, with its options and the network the measurements
/// decode with (built once, on the default device; the trained values come from the store).
pub struct Monitor {
    opts: RamisOptions,
    classifier: Classifier,
    seed: u64,
    kind: ModelKind,
    net: VaeConfig,
    template: Vae,
}

impl Monitor {
    /// Loads the classifier (before the run writes anything: a bad path fails early) and builds
    /// the decoding network for `kind` and `net`. Call it before the run seeds burn's
    /// generator: building draws from it.
    pub fn new(
        opts: RamisOptions,
        seed: u64,
        kind: ModelKind,
        net: &VaeConfig,
    ) -> Result<Self, ModelError> {
        opts.validate()?;
        let classifier = Classifier::load(&opts.classifier)?;
        Ok(Monitor {
            opts,
            classifier,
            seed: seed ^ 0x5241_4d49_5300_0000,
            kind,
            net: net.clone(),
            template: net.init(&Device::default()),
        })
    }

    /// Whether epoch `epoch` of a run of `last` epochs is measured.
    pub fn due(&self, epoch: usize, last: usize) -> bool {
        epoch.is_multiple_of(self.opts.every) || epoch == last
    }

    /// Measures the network whose trained values are `store` (parameters it lacks, before the
    /// first step, take the monitor's own initial values).
    pub fn measure(&self, store: ParamStore) -> Result<RamisMeasure, ModelError> {
        let kind = self.kind;
        let mut g = Generator::with_template(kind, self.net.clone(), store, self.template.clone());
        let (n, sampling, seed) = (self.opts.n, self.opts.sampling, self.seed);
        let images: Vec<_> = g
            .generate(n, None, sampling, seed)?
            .iter()
            .map(|i| i.pad_to(SIDE))
            .collect();
        let ramis = ramis(&self.classifier.probs(&images)?, 1e-12);
        let class_percent = if kind == ModelKind::Cvae {
            let rows = class_balance(
                n,
                &mut |c: Class, k| g.generate(k, Some(c), sampling, seed),
                &|imgs| self.classifier.probs(imgs),
            )?;
            Some((rows[0].percent_correct(), rows[1].percent_correct()))
        } else {
            None
        };
        Ok(RamisMeasure {
            ramis,
            class_percent,
        })
    }
}
