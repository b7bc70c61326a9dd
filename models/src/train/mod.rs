//! Training the VAE/CVAE with SVI: rotation-augmented epochs, per-image test loss (-ELBO) in
//! evaluation mode, RAMIS while training, `metrics.csv`, checkpoints that resume exactly, bad
//! steps survived by rolling back, a sample grid.

pub mod anneal;
pub mod figure;
mod lr_search;
mod metrics;
mod monitor;
mod recovery;
pub mod schedule;

pub use lr_search::{LrPoint, best_rate, lr_search, rates, write_lr_search};
pub use metrics::{EpochMetrics, read_metrics, write_metrics};
pub use monitor::{Monitor, RamisMeasure, RamisOptions};
pub use recovery::{LR_BACKOFF, Recovery, recovery};

use crate::data::augment::{Augmented, Interp};
use crate::data::{self, DataSet, Sample, writers};
use crate::error::ModelError;
use crate::vae::{
    Batch, GuideScale, ModelKind, RunMetadata, VaeConfig, batch_from, batch_of, guide, model,
};
use burn::prelude::*;
use lobes_ppl::optim::{Adagrad, Adam, ClippedAdam, Optimizer};
use lobes_ppl::prelude::{Svi, TraceElbo};
use std::path::{Path, PathBuf};
use std::time::Instant;

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
    /// Data spec (see [`data::load_spec`]).
    pub data: String,
    /// Epochs to reach (a resumed run continues up to this number).
    pub epochs: usize,
    /// Learning rate.
    pub lr: f64,
    /// `adam` or `adagrad`.
    pub optim: String,
    /// Step decay of the rate (Pyro's `MultiStepLR`, see [`schedule`]): after each of these
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
    /// Pyro's `ClippedAdam` gradient clamp (each gradient element clamped to
    /// `[-clip_norm, clip_norm]`); only with `adam`, which it turns into `ClippedAdam`.
    pub clip_norm: Option<f64>,
    /// Stop after this many bad steps in a row (see [`recovery`]); at least 1.
    pub max_bad_steps: usize,
    /// RAMIS while training (`None`: not measured).
    pub ramis: Option<RamisOptions>,
    /// Images per step.
    pub batch: usize,
    /// Rotation step in degrees (0: no augmentation).
    pub augment_step: f64,
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
    /// Show a progress bar.
    pub progress: bool,
}

impl TrainOptions {
    /// β of each training step: `kl_scale`, after a warm-up of `kl_warmup` epochs from
    /// `kl_warmup_from`; what the options leave out comes from `saved`, the settings of the
    /// checkpoint a run resumes (`lobes.kl_warmup*`), else Pyro's defaults (no warm-up, 0.2).
    pub fn kl_schedule(
        &self,
        saved: Option<&std::collections::BTreeMap<String, String>>,
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
            return Err(ModelError::Config(format!(
                "--kl-warmup-from must lie in [0, --kl-scale] = [0, {}], got {}",
                schedule.to, schedule.from
            )));
        }
        Ok(schedule)
    }
    /// Checks the options before anything is read or written: the network's sizes
    /// ([`VaeConfig::validate`]), a batch of at least one image, a positive finite learning
    /// rate, a positive finite β, a warm-up start only with a warm-up (its range is checked by
    /// [`TrainOptions::kl_schedule`], once the checkpoint's settings are known), a known
    /// optimiser and a finite, non-negative rotation step.
    pub fn validate(&self) -> Result<(), ModelError> {
        self.net.validate()?;
        if self.batch == 0 {
            return Err(ModelError::Config(
                "the batch needs at least one image".into(),
            ));
        }
        crate::error::check_learning_rate(self.lr)?;
        if !(self.kl_scale.is_finite() && self.kl_scale > 0.0) {
            return Err(ModelError::Config(format!(
                "--kl-scale must be positive and finite, got {}",
                self.kl_scale
            )));
        }
        if self.kl_warmup_from.is_some()
            && (self.kl_warmup == Some(0) || (self.kl_warmup.is_none() && !self.resume))
        {
            return Err(ModelError::Config(
                "--kl-warmup-from needs a warm-up (--kl-warmup N with N > 0)".into(),
            ));
        }
        if !matches!(self.optim.as_str(), "adam" | "adagrad") {
            return Err(ModelError::Config(format!(
                "unknown optimiser '{}' (adam, adagrad)",
                self.optim
            )));
        }
        if let Some(c) = self.clip_norm {
            if !(c.is_finite() && c > 0.0) {
                return Err(ModelError::Config(format!(
                    "--clip-norm must be positive and finite, got {c}"
                )));
            }
            if self.optim != "adam" {
                return Err(ModelError::Config(format!(
                    "--clip-norm clips Adam's gradients (Pyro's ClippedAdam); it does not apply to --optim {}",
                    self.optim
                )));
            }
        }
        if self.max_bad_steps == 0 {
            return Err(ModelError::Config(
                "--max-bad-steps must be at least 1".into(),
            ));
        }
        if let Some(r) = &self.ramis {
            r.validate()?;
        }
        if !(self.augment_step.is_finite() && self.augment_step >= 0.0) {
            return Err(ModelError::Config(format!(
                "the rotation step must be 0 (no augmentation) or a positive number of degrees, got {}",
                self.augment_step
            )));
        }
        Ok(())
    }
}

fn optimizer(opts: &TrainOptions) -> Result<Box<dyn Optimizer>, ModelError> {
    match (opts.optim.as_str(), opts.clip_norm) {
        ("adam", None) => Ok(Box::new(Adam::new(opts.lr))),
        ("adam", Some(c)) => Ok(Box::new(ClippedAdam::new(opts.lr).with_clip_norm(c))),
        ("adagrad", None) => Ok(Box::new(Adagrad::new(opts.lr))),
        (o, _) => Err(ModelError::Config(format!(
            "unknown optimiser '{o}' (adam, adagrad; --clip-norm only with adam)"
        ))),
    }
}

fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(0x2545_F491_4F6C_DD1D)
        .wrapping_add(epoch as u64)
}

/// Per-image test loss over `samples` in evaluation mode.
pub fn test_loss<M, G, O, L>(
    svi: &mut Svi<Batch, M, G, O, L>,
    samples: &[Sample],
    batch: usize,
    crop: usize,
    device: &Device,
) -> Result<f64, ModelError>
where
    M: Fn(&Batch) -> lobes_ppl::Result<()>,
    G: Fn(&Batch) -> lobes_ppl::Result<()>,
    O: Optimizer,
    L: lobes_ppl::infer::Elbo,
{
    // The guide's draws come from the PPL's generator: seed it so the evaluation is
    // reproducible (SVI reseeds it before every training step, so this shifts nothing).
    lobes_ppl::rng::set_rng_seed(0x7e57_1055);
    let mut total = 0.0;
    for chunk in samples.chunks(batch.max(1)) {
        let refs: Vec<&Sample> = chunk.iter().collect();
        total += svi.evaluate_loss(&batch_of(&refs, crop, device))?;
    }
    Ok(total / samples.len().max(1) as f64)
}

/// Trains as `opts` says; returns every epoch's metrics (those before a resume included).
pub fn train(opts: &TrainOptions) -> Result<Vec<EpochMetrics>, ModelError> {
    // Before the data is loaded (or downloaded); `train_on` checks again for its own callers.
    opts.validate()?;
    let ds: DataSet = data::load_spec(&opts.data)?;
    train_on(opts, &ds)
}

/// [`train`] on an already loaded data set.
///
/// Bad steps (see [`recovery`]) are skipped or rolled back to the latest checkpoint
/// (`out/checkpoint.safetensors`, written before the first epoch too) with the learning rate
/// multiplied by [`LR_BACKOFF`]; [`TrainOptions::max_bad_steps`] in a row stop the run with
/// [`ModelError::Diverged`].
pub fn train_on(opts: &TrainOptions, ds: &DataSet) -> Result<Vec<EpochMetrics>, ModelError> {
    opts.validate()?;
    let mut net = opts.net.clone();
    net.classes = opts.kind.classes();
    net.scale = opts.scale.unwrap_or_default();
    let crop = (net.pixels as f64).sqrt().round() as usize;
    if crop * crop != net.pixels {
        return Err(ModelError::Config(format!(
            "{} pixels is not a square image",
            net.pixels
        )));
    }
    if let Some(s) = ds.train.iter().find(|s| s.image.size < crop) {
        return Err(ModelError::Config(format!(
            "image '{}' is {1}x{1}, smaller than the {crop}x{crop} input",
            s.name, s.image.size
        )));
    }
    if ds.train.is_empty() {
        return Err(ModelError::Config(format!(
            "data set '{}' has no training images",
            ds.name
        )));
    }
    // The classifier is read before anything is written: a bad path fails early.
    let monitor = match &opts.ramis {
        Some(r) => Some(Monitor::new(r.clone(), opts.seed, opts.kind, &net)?),
        None => None,
    };
    let latest = opts.out.join("checkpoint.safetensors");
    // The checkpoint to resume is read before anything is written: a missing or foreign one
    // leaves the folder as it was.
    let resumed = if opts.resume {
        if !latest.exists() {
            return Err(ModelError::NothingToResume {
                checkpoint: latest.clone(),
            });
        }
        let meta = lobes_ppl::io::read_metadata(&latest)?;
        if meta.get("format").map(String::as_str) == Some(lobes_ppl::io::PARAMS_FORMAT) {
            return Err(ModelError::Config(format!(
                "{}: holds parameters only (e.g. from `lobes export`), no optimiser state or \
                 step count to resume from",
                latest.display()
            )));
        }
        let RunMetadata {
            kind,
            net: saved,
            epoch,
            extra: settings,
        } = RunMetadata::from_map(&meta, &latest)?;
        net.scale = opts.scale.unwrap_or(saved.scale);
        if net.scale != saved.scale {
            eprintln!(
                "{}: the guide's scale changes from '{}' to '{}' at epoch {epoch}",
                latest.display(),
                saved.scale.name(),
                net.scale.name()
            );
        }
        let same_network = VaeConfig {
            scale: net.scale,
            ..saved.clone()
        } == net;
        if kind != opts.kind || !same_network {
            return Err(ModelError::Config(format!(
                "{}: checkpoint is a {} {:?}, the options ask for a {} {:?}",
                latest.display(),
                kind.name(),
                saved,
                opts.kind.name(),
                net
            )));
        }
        Some((meta, epoch, settings))
    } else {
        None
    };
    let schedule = opts.kl_schedule(resumed.as_ref().map(|(_, _, s)| s))?;
    let decay = schedule::MultiStep::resolve(
        opts.lr_milestones.as_deref(),
        opts.lr_gamma,
        resumed.as_ref().map(|(_, _, s)| s),
    )?;
    if schedule.warmup_epochs > opts.epochs {
        eprintln!(
            "note: the KL warm-up of {} epochs ends after this run's {} epochs: β reaches {:.3}, not {}",
            schedule.warmup_epochs,
            opts.epochs,
            schedule.beta(opts.epochs, 0, 1),
            schedule.to
        );
    }
    std::fs::create_dir_all(opts.out.join("checkpoints"))
        .map_err(|e| data::DataError::io(&opts.out, e))?;
    // A run killed while writing (SIGKILL, power loss) leaves its temporary file beside the
    // checkpoint or metrics.csv it was writing; the run folder is this run's own.
    for d in [opts.out.clone(), opts.out.join("checkpoints")] {
        lobes_ppl::io::remove_stale_temporaries(&d)?;
    }
    let device = Device::default().autodiff();
    let plain = Device::default();
    // burn's CPU generator is seeded through the plain device (seeding the autodiff wrapper
    // does not reach it); initialisation draws from it. The VAE's dropout draws from the PPL's
    // generator (crate::kernels::dropout), which `with_seed` reseeds every step.
    plain.seed(opts.seed);
    let template = net.init(&device);
    let beta = anneal::KlScale::new(opts.kl_scale);
    let mut svi = Svi::new(
        |b: &Batch| anneal::anneal(beta.get(), || model(&template, b)),
        |b: &Batch| anneal::anneal(beta.get(), || guide(&template, b)),
        optimizer(opts)?,
        TraceElbo::default(),
    )
    .with_seed(opts.seed, Some(device.clone()));

    let metrics_path = opts.out.join("metrics.csv");
    let mut extra = vec![
        ("data", opts.data.clone()),
        ("seed", opts.seed.to_string()),
        ("lr", opts.lr.to_string()),
        ("optim", opts.optim.clone()),
        ("batch", opts.batch.to_string()),
        ("augment_step", opts.augment_step.to_string()),
    ];
    if let Some(c) = opts.clip_norm {
        extra.push(("clip_norm", c.to_string()));
    }
    if opts.kl_scale != 1.0 {
        extra.push(("kl_scale", opts.kl_scale.to_string()));
    }
    extra.extend(decay.metadata());
    if schedule.warmup_epochs > 0 {
        extra.push(("kl_warmup", schedule.warmup_epochs.to_string()));
        extra.push(("kl_warmup_from", schedule.from.to_string()));
    }
    let mut start = 0;
    let mut rows = vec![];
    if let Some((meta, epoch, _)) = resumed {
        svi.load_checkpoint(&latest, &plain)?;
        // The checkpoint holds the rate in use (lowered after bad steps); a --lr other than
        // the one the run was started or last resumed with replaces it.
        let configured: Option<f64> = meta.get("lobes.lr").and_then(|v| v.parse().ok());
        if configured != Some(opts.lr) {
            svi.optim.set_lr(opts.lr);
        }
        start = epoch;
        rows = read_metrics(&metrics_path, epoch)?;
    } else {
        let mut row = EpochMetrics {
            epoch: 0,
            lr: Some(opts.lr),
            ..Default::default()
        };
        if opts.eval_every > 0 && !ds.test.is_empty() {
            row.test_loss =
                Some(beta.unannealed(|| test_loss(&mut svi, &ds.test, opts.batch, crop, &plain))?);
        }
        if let Some(m) = &monitor {
            record(&mut row, m.measure(svi.store().clone())?);
        }
        rows.push(row);
        write_metrics(&metrics_path, &rows)?;
        // The state a bad step in the first epoch rolls back to.
        svi.save_checkpoint_with(
            &latest,
            &RunMetadata::new(opts.kind, &net, 0, &extra).to_map(),
        )?;
    }
    let (mut pending_bad, mut in_a_row) = (0usize, 0usize);
    // The step count at the latest bad step: bad steps count as "in a row" until a good step
    // gets past it. The good steps a rollback replays do not count: the replay is
    // deterministic, so a batch whose gradient is not finite at the checkpoint's state fails
    // again at the same step, and the run must stop rather than halve the rate for ever.
    let mut furthest_bad = 0u64;
    // The epoch of `latest`, the state a bad step rolls back to.
    let mut good_epoch = start;
    let mut epoch = start + 1;
    // The last epoch whose start applied a decay: a rollback re-enters an epoch, and must not
    // decay the rate twice.
    let mut decayed_through = start;
    'epochs: while epoch <= opts.epochs {
        if let Some(g) = decay.factor_at(epoch).filter(|_| epoch > decayed_through) {
            let lr = svi.optim.lr();
            svi.optim.set_lr(lr * g);
            decayed_through = epoch;
            eprintln!(
                "epoch {epoch}: learning rate {lr:e} -> {:e} (--lr-milestones)",
                svi.optim.lr()
            );
        }
        let mut aug = Augmented::new(
            &ds.train,
            opts.augment_step,
            crop,
            Interp::Bilinear,
            epoch_seed(opts.seed, epoch),
        );
        let bar = if opts.progress {
            indicatif::ProgressBar::new(aug.len() as u64)
        } else {
            indicatif::ProgressBar::hidden()
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template("epoch {prefix} {bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_prefix(format!("{epoch}/{}", opts.epochs));
        let t0 = Instant::now();
        let (mut sum, mut n) = (0.0, 0usize);
        let steps = aug.len().div_ceil(opts.batch);
        for (i, b) in aug.epoch(opts.batch).enumerate() {
            beta.set(schedule.beta(epoch, i, steps));
            let k = b.labels.len();
            let batch = batch_from(&b.pixels, &b.labels, net.pixels, &plain);
            let e = match svi.step(&batch) {
                Ok(loss) => {
                    if svi.steps() > furthest_bad {
                        in_a_row = 0;
                    }
                    sum += loss;
                    n += k;
                    bar.inc(k as u64);
                    let secs = t0.elapsed().as_secs_f64();
                    bar.set_message(format!(
                        "loss {:.1}  {:.0} images/s",
                        sum / n.max(1) as f64,
                        n as f64 / secs
                    ));
                    continue;
                }
                Err(e) => e,
            };
            let Some(action) = recovery(&e) else {
                return Err(e.into());
            };
            pending_bad += 1;
            in_a_row += 1;
            furthest_bad = furthest_bad.max(svi.steps());
            if in_a_row >= opts.max_bad_steps {
                bar.finish_and_clear();
                return Err(ModelError::Diverged {
                    bad: in_a_row,
                    epoch,
                    cause: Box::new(e),
                    checkpoint: latest,
                    good_epoch,
                });
            }
            let lr = svi.optim.lr();
            let msg = match action {
                Recovery::Skip => {
                    svi.optim.set_lr(lr * LR_BACKOFF);
                    "skipped the batch".to_string()
                }
                Recovery::RollBack => {
                    svi.load_checkpoint(&latest, &plain)?;
                    // The checkpoint may hold a higher rate than the one just used.
                    svi.optim.set_lr(svi.optim.lr().min(lr) * LR_BACKOFF);
                    format!("rolled back to {} (epoch {good_epoch})", latest.display())
                }
            };
            bar.suspend(|| {
                eprintln!(
                    "epoch {epoch}: bad step ({e}); {msg}; learning rate {lr:e} -> {:e} ({in_a_row} in a row, {} allowed)",
                    svi.optim.lr(),
                    opts.max_bad_steps - 1
                )
            });
            if action == Recovery::RollBack {
                bar.finish_and_clear();
                rows.retain(|r| r.epoch <= good_epoch);
                epoch = good_epoch + 1;
                continue 'epochs;
            }
        }
        bar.finish_and_clear();
        let seconds = t0.elapsed().as_secs_f64();
        let evaluate =
            opts.eval_every > 0 && (epoch % opts.eval_every == 0 || epoch == opts.epochs);
        let mut row = EpochMetrics {
            epoch,
            train_loss: Some(sum / n.max(1) as f64),
            test_loss: None,
            seconds,
            images_per_s: n as f64 / seconds,
            bad_steps: std::mem::take(&mut pending_bad),
            lr: Some(svi.optim.lr()),
            kl_scale: (!schedule.is_plain()).then(|| beta.get()),
            ..Default::default()
        };
        if evaluate && !ds.test.is_empty() {
            row.test_loss =
                Some(beta.unannealed(|| test_loss(&mut svi, &ds.test, opts.batch, crop, &plain))?);
        }
        if let Some(m) = monitor.as_ref().filter(|m| m.due(epoch, opts.epochs)) {
            record(&mut row, m.measure(svi.store().clone())?);
        }
        rows.push(row);
        write_metrics(&metrics_path, &rows)?;
        if epoch % opts.checkpoint_every.max(1) == 0 || epoch == opts.epochs {
            let meta = RunMetadata::new(opts.kind, &net, epoch, &extra).to_map();
            svi.save_checkpoint_with(
                opts.out
                    .join("checkpoints")
                    .join(format!("epoch_{epoch:04}.safetensors")),
                &meta,
            )?;
            svi.save_checkpoint_with(&latest, &meta)?;
            good_epoch = epoch;
            prune_checkpoints(&opts.out.join("checkpoints"), opts.keep_checkpoints)?;
        }
        epoch += 1;
    }
    let title = format!("{}, d = {}", opts.kind.name().to_uppercase(), net.latent);
    figure::loss_figure(&opts.out.join("loss.png"), &rows, &title)?;
    let samples =
        crate::generate::Generator::from_store(opts.kind, net.clone(), svi.store().clone())
            .generate(16, None, crate::generate::Sampling::Prior, opts.seed)?;
    writers::write_grid(&opts.out.join("samples.png"), &samples, 4)?;
    Ok(rows)
}

fn record(row: &mut EpochMetrics, m: RamisMeasure) {
    row.ramis = Some(m.ramis);
    if let Some((fri, frii)) = m.class_percent {
        row.fri_percent = Some(fri);
        row.frii_percent = Some(frii);
    }
}

/// Removes all but the newest `keep` `epoch_NNNN.safetensors` files of `dir` (`keep` = 0: none
/// removed). Other files are left alone.
fn prune_checkpoints(dir: &Path, keep: usize) -> Result<(), ModelError> {
    if keep == 0 {
        return Ok(());
    }
    let mut epochs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| data::DataError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("epoch_"))
                .and_then(|n| n.strip_suffix(".safetensors"))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    // Zero-padded epoch numbers sort in epoch order.
    epochs.sort();
    let old = epochs.len().saturating_sub(keep);
    for p in &epochs[..old] {
        std::fs::remove_file(p).map_err(|e| data::DataError::io(p, e))?;
    }
    Ok(())
}
