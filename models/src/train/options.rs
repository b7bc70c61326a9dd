//! The options of a training run (`lobes train`), checked before anything is read or
//! written.

use super::{RamisOptions, anneal};
use crate::error::ModelError;
use crate::vae::{GuideScale, ModelKind, VaeConfig};
use lobes_ppl::optim::{Adagrad, Adam, ClippedAdam, Optimizer};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Everything `lobes train` takes.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// VAE or CVAE.
    pub kind: ModelKind,
    /// Network sizes (its `classes` is set from `kind`, its `scale` from `scale`).
    pub net: VaeConfig,
    /// The guide's scale function. `None`: the paper's `exp` for a new run, the checkpoint's on
    /// `resume`. On `resume` a function other than the checkpoint's replaces it from the next
    /// step on (the parameters are the same; say why in the run's notes), e.g. `exp-clamp` for a
    /// run whose `exp` scale underflowed: it computes the same function wherever the encoder's
    /// heads lie within its bounds.
    pub scale: Option<GuideScale>,
    /// Data spec (see [`crate::data::load_spec`]).
    pub data: String,
    /// Epochs to reach (a resumed run continues up to this number).
    pub epochs: usize,
    /// Learning rate.
    pub lr: f64,
    /// `adam` or `adagrad`.
    pub optim: String,
    /// Step decay of the rate (Pyro's `MultiStepLR`, see [`super::schedule`]): after each of these
    /// epochs the rate in use is multiplied by `lr_gamma`. `None`: none for a new run, the
    /// checkpoint's on `resume`.
    pub lr_milestones: Option<Vec<usize>>,
    /// The factor of each decay, in (0, 1]. `None`: 0.1 (Pyro's and PyTorch's default), the
    /// checkpoint's on `resume`.
    pub lr_gamma: Option<f64>,
    /// KL annealing factor β (see [`anneal`]): the latent's log p and log q are scaled by it
    /// while training (1: the paper's ELBO); after the warm-up if there is one. Test losses and
    /// RAMIS are unaffected. On `resume` it may change.
    pub kl_scale: f64,
    /// KL warm-up: β rises linearly over this many epochs, step by step, from
    /// `kl_warmup_from` to `kl_scale` (Pyro DMM's `annealing_epochs`). `None`: none for a new
    /// run, the checkpoint's on `resume` (so a resumed run continues its ramp).
    pub kl_warmup: Option<usize>,
    /// β at the first warm-up step's start (Pyro DMM's `minimum_annealing_factor`), in
    /// `[0, kl_scale]`; the first step already has β above it. `None`: 0.2 (Pyro's default)
    /// for a new run, the checkpoint's on `resume`.
    pub kl_warmup_from: Option<f64>,
    /// Free bits (Kingma et al. 2016): a floor of this many nats on each latent dimension's
    /// KL in the training objective ([`lobes_ppl::infer::FreeBits`]), under β. Not the paper's
    /// objective; test losses stay the ELBO. `None`: none for a new run, the checkpoint's on
    /// `resume`.
    pub free_bits: Option<f64>,
    /// Train on the importance-weighted bound with this many particles (Burda et al. 2016:
    /// `RenyiElbo` at α = 0, the IWAE; a step costs about K ELBO steps) instead of the ELBO;
    /// validation and test losses stay the ELBO. At least 2. `None`: the ELBO for a new run,
    /// the checkpoint's choice on `resume`.
    pub iwae: Option<usize>,
    /// Pyro's `ClippedAdam` gradient clamp (each gradient element clamped to
    /// `[-clip_norm, clip_norm]`); only with `adam`, which it turns into `ClippedAdam`.
    pub clip_norm: Option<f64>,
    /// Stop after this many bad steps in a row (see [`super::recovery()`]); at least 1.
    pub max_bad_steps: usize,
    /// RAMIS while training (`None`: not measured).
    pub ramis: Option<RamisOptions>,
    /// Training images held out as a validation split, stratified by class
    /// ([`crate::data::split::Holdout`]); with one, every evaluation while training is on it
    /// and the test set is left alone. `None`: none for a new run, the checkpoint's on
    /// `resume` (which cannot change it).
    pub validation: Option<usize>,
    /// Seed of the validation split (`None`: 0, the checkpoint's on `resume`).
    pub split_seed: Option<u64>,
    /// Decay the rate by `lr_gamma` after this many epochs without a better validation loss
    /// (Pyro's `ReduceLROnPlateau`, see [`super::validation`]).
    pub lr_plateau: Option<usize>,
    /// Stop after this many epochs without a better validation loss.
    pub early_stop: Option<usize>,
    /// Images per step.
    pub batch: usize,
    /// Rotation step in degrees (0: no augmentation).
    pub augment_step: f64,
    /// Mirror each drawn image with probability 1/2 as well
    /// ([`crate::data::augment::Augmented::with_reflections`]); not the paper's augmentation. A
    /// resumed run that reflected goes on reflecting.
    pub reflect: bool,
    /// Evaluate the test loss every this many epochs (0: never).
    pub eval_every: usize,
    /// Checkpoint every this many epochs (and at the end).
    pub checkpoint_every: usize,
    /// Keep only the newest this many epoch checkpoints in `out/checkpoints/` (0: all). The
    /// paper's VAE writes 1.25 GB per checkpoint (parameters and Adam's state);
    /// `out/checkpoint.safetensors`, the latest, is always kept.
    pub keep_checkpoints: usize,
    /// Seed of everything random.
    pub seed: u64,
    /// Run folder.
    pub out: PathBuf,
    /// Continue from `out/checkpoint.safetensors`.
    pub resume: bool,
    /// Replace the run `out` holds (its checkpoints, metrics and figures are removed first);
    /// without it or `resume` a folder holding a run is refused.
    pub overwrite: bool,
    /// Show a progress bar.
    pub progress: bool,
}

impl TrainOptions {
    /// β of each training step: `kl_scale`, after a warm-up of `kl_warmup` epochs from
    /// `kl_warmup_from`; what the options leave out comes from `saved`, the settings of the
    /// checkpoint a run resumes (`lobes.kl_warmup*`), else Pyro's defaults (no warm-up, 0.2).
    pub fn kl_schedule(
        &self,
        saved: Option<&BTreeMap<String, String>>,
    ) -> Result<anneal::KlSchedule, ModelError> {
        let recorded = |key: &str| saved.and_then(|m| m.get(key)).and_then(|v| v.parse().ok());
        let schedule = anneal::KlSchedule {
            from: self
                .kl_warmup_from
                .or_else(|| recorded("kl_warmup_from"))
                .unwrap_or(0.2),
            to: self.kl_scale,
            warmup_epochs: self
                .kl_warmup
                .or_else(|| recorded("kl_warmup").map(|e: f64| e as usize))
                .unwrap_or(0),
        };
        if schedule.warmup_epochs > 0
            && !(schedule.from.is_finite() && (0.0..=schedule.to).contains(&schedule.from))
        {
            return Err(ModelError::conflicting_options(
                &["--kl-warmup-from", "--kl-scale"],
                format!(
                    "--kl-warmup-from must lie in [0, --kl-scale] = [0, {}], got {}",
                    schedule.to, schedule.from
                ),
            ));
        }
        Ok(schedule)
    }
    /// The free-bits floor in nats per latent dimension (0: none, the paper): the option, else
    /// the checkpoint's `lobes.free_bits` on resume.
    pub fn free_bits(&self, saved: Option<&BTreeMap<String, String>>) -> f64 {
        self.free_bits
            .or_else(|| {
                saved
                    .and_then(|m| m.get("free_bits"))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0.0)
    }

    /// The IWAE's particles, if the run trains on it: the option, else the checkpoint's
    /// `lobes.iwae` on resume.
    pub fn iwae(&self, saved: Option<&BTreeMap<String, String>>) -> Option<usize> {
        self.iwae.or_else(|| {
            saved
                .and_then(|m| m.get("iwae"))
                .and_then(|v| v.parse().ok())
        })
    }

    /// Whether epochs mirror images as well: the option, or the checkpoint's
    /// `lobes.reflect` on resume.
    pub fn reflects(&self, saved: Option<&BTreeMap<String, String>>) -> bool {
        self.reflect
            || saved
                .and_then(|m| m.get("reflect"))
                .is_some_and(|v| v == "true")
    }

    /// Checks the options before anything is read or written: the network's sizes
    /// ([`VaeConfig::validate`]), a batch of at least one image, a positive finite learning
    /// rate, a positive finite β, a warm-up start only with a warm-up (its range is checked by
    /// [`TrainOptions::kl_schedule`], once the checkpoint's settings are known), a known
    /// optimiser and a finite, non-negative rotation step.
    pub fn validate(&self) -> Result<(), ModelError> {
        self.net.validate()?;
        crate::output::RunMode::from_flags(&self.out, self.resume, self.overwrite)?;
        if self.batch == 0 {
            return Err(ModelError::invalid_option(
                "--batch",
                self.batch,
                "the batch needs at least one image",
            ));
        }
        crate::error::check_learning_rate(self.lr)?;
        if !(self.kl_scale.is_finite() && self.kl_scale > 0.0) {
            return Err(ModelError::invalid_option(
                "--kl-scale",
                self.kl_scale,
                format!(
                    "--kl-scale must be positive and finite, got {}",
                    self.kl_scale
                ),
            ));
        }
        if self.kl_warmup_from.is_some()
            && (self.kl_warmup == Some(0) || (self.kl_warmup.is_none() && !self.resume))
        {
            return Err(ModelError::conflicting_options(
                &["--kl-warmup-from", "--kl-warmup"],
                "--kl-warmup-from needs a warm-up (--kl-warmup N with N > 0)",
            ));
        }
        if self.net.prior == crate::vae::Prior::ClassNormal && self.kind != ModelKind::Cvae {
            return Err(ModelError::conflicting_options(
                &["--prior", "--model"],
                "--prior class-normal is p(z | y), a prior per class: it needs --model cvae",
            ));
        }
        if let Some(k) = self.iwae {
            if k < 2 {
                return Err(ModelError::invalid_option(
                    "--iwae",
                    k,
                    format!("--iwae needs at least 2 particles (1 is the ELBO itself), got {k}"),
                ));
            }
            if self.free_bits.is_some_and(|f| f > 0.0) {
                return Err(ModelError::conflicting_options(
                    &["--iwae", "--free-bits"],
                    "--free-bits floors the ELBO's KL terms; --iwae trains on another bound: \
                     give one of them",
                ));
            }
        }
        if let Some(f) = self.free_bits
            && !(f.is_finite() && f >= 0.0)
        {
            return Err(ModelError::invalid_option(
                "--free-bits",
                f,
                format!("--free-bits must be a finite number of nats ≥ 0, got {f}"),
            ));
        }
        if self.free_bits.is_some_and(|f| f > 0.0) && self.net.prior == crate::vae::Prior::Mixture {
            return Err(ModelError::conflicting_options(
                &["--free-bits", "--prior"],
                "--free-bits floors each latent dimension's KL; --prior mixture does not \
                 factorise over the dimensions (use --prior normal, laplace or student-t)",
            ));
        }
        if !matches!(self.optim.as_str(), "adam" | "adagrad") {
            return Err(ModelError::unknown_name(
                "optimiser",
                &self.optim,
                "adam, adagrad",
            ));
        }
        if let Some(c) = self.clip_norm {
            if !(c.is_finite() && c > 0.0) {
                return Err(ModelError::invalid_option(
                    "--clip-norm",
                    c,
                    format!("--clip-norm must be positive and finite, got {c}"),
                ));
            }
            if self.optim != "adam" {
                return Err(ModelError::conflicting_options(
                    &["--clip-norm", "--optim"],
                    format!(
                        "--clip-norm clips Adam's gradients (Pyro's ClippedAdam); it does not \
                         apply to --optim {}",
                        self.optim
                    ),
                ));
            }
        }
        if self.max_bad_steps == 0 {
            return Err(ModelError::invalid_option(
                "--max-bad-steps",
                self.max_bad_steps,
                "--max-bad-steps must be at least 1",
            ));
        }
        if let Some(r) = &self.ramis {
            r.validate()?;
        }
        if !(self.augment_step.is_finite() && self.augment_step >= 0.0) {
            return Err(ModelError::invalid_option(
                "--augment-step",
                self.augment_step,
                format!(
                    "the rotation step must be 0 (no augmentation) or a positive number of \
                     degrees, got {}",
                    self.augment_step
                ),
            ));
        }
        Ok(())
    }
}

impl TrainOptions {
    /// The optimiser `optim`, `lr` and `clip_norm` name.
    pub(super) fn optimizer(&self) -> Result<Box<dyn Optimizer>, ModelError> {
        match (self.optim.as_str(), self.clip_norm) {
            ("adam", None) => Ok(Box::new(Adam::new(self.lr))),
            ("adam", Some(c)) => Ok(Box::new(ClippedAdam::new(self.lr).with_clip_norm(c))),
            ("adagrad", None) => Ok(Box::new(Adagrad::new(self.lr))),
            (o, _) => Err(ModelError::unknown_name(
                "optimiser",
                o,
                "adam, adagrad; --clip-norm only with adam",
            )),
        }
    }
}
