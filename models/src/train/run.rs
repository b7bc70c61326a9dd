//! The training loop behind every `train*` entry point: set-up, resume, epochs, evaluations,
//! checkpoints and the final sample grid.

use super::objective::Objective;
use super::recovery::BadSteps;
use super::rows::{Reporter, record, set_loss, share_evaluation};
use super::setup::{epoch_seed, input_side, run_settings};
use super::validation::ValidationPlan;
use super::{
    EpochMetrics, Monitor, REPLICA_PARAMS_ENV, REPLICA_SEED_RULE, RUN_FILES, Recovery, Replicas,
    TrainEvent, TrainOptions, anneal, checkpoints, figure, read_metrics, recovery, replica_seed,
    replicas, resume, schedule, test_loss, validation, write_metrics,
};
use crate::data::augment::{Augmented, Interp};
use crate::data::{self, DataSet};
use crate::error::ModelError;
use crate::output::{RunFolder, RunMode};
use crate::vae::{Batch, RunMetadata, Shard, batch_from, guide, model};
use burn::prelude::*;
use lobes_ppl::prelude::Svi;
use std::time::Instant;

pub(super) fn run(
    opts: &TrainOptions,
    ds: &DataSet,
    mut replicas: Option<&mut dyn Replicas>,
    observe: &mut dyn FnMut(TrainEvent<'_>),
) -> Result<Vec<EpochMetrics>, ModelError> {
    opts.validate()?;
    let (rank, ranks) = replicas
        .as_ref()
        .map_or((0, 1), |r| (r.rank(), r.replicas()));
    if ranks > opts.batch {
        // The same on every replica: no collective needed to agree.
        return Err(ModelError::data_parallel(
            None,
            format!(
                "--batch {} is smaller than the {ranks} data-parallel replicas: every replica \
                 needs at least one image of each batch",
                opts.batch
            ),
        ));
    }
    // Rank 0 alone writes the run folder and reports.
    let lead = rank == 0;
    let mut report = Reporter { lead, observe };
    let mut net = opts.net.clone();
    net.classes = opts.kind.classes();
    net.scale = opts.scale.unwrap_or_default();
    let crop = input_side(&net, ds)?;
    // The classifier is read before anything is written: a bad path fails early.
    let monitor = match &opts.ramis {
        Some(r) => Some(Monitor::new(r.clone(), opts.seed, opts.kind, &net)?),
        None => None,
    };
    let latest = opts.out.join("checkpoint.safetensors");
    let resumed = resume::resumable(opts, &mut net, &latest)?;
    if let Some(line) = resumed.as_ref().and_then(|r| r.note.clone()) {
        report.note(line);
    }
    let metrics_path = opts.out.join("metrics.csv");
    // Read before the folder is locked: a bad file is refused with the folder untouched.
    let resumed_rows = match &resumed {
        Some(r) => Some(read_metrics(&metrics_path, r.epoch)?),
        None => None,
    };
    let saved = resumed.as_ref().map(|r| &r.settings);
    let schedule = opts.kl_schedule(saved)?;
    let (free_bits, reflect) = (opts.free_bits(saved), opts.reflects(saved));
    let iwae = opts.iwae(saved);
    if iwae.is_some() && free_bits > 0.0 {
        // One of them came from the checkpoint being resumed.
        return Err(ModelError::conflicting_options(
            &["--iwae", "--free-bits"],
            format!(
                "{}: this run would train on the IWAE bound with a free-bits floor of {free_bits} \
                 nats; the floor applies to the ELBO only (the checkpoint records one of them)",
                latest.display()
            ),
        ));
    }
    let decay = schedule::MultiStep::resolve(
        opts.lr_milestones.as_deref(),
        opts.lr_gamma,
        saved.map(|s| (s, latest.as_path())),
    )?;
    let plan = ValidationPlan {
        plateau_from: schedule.warmup_epochs,
        ..ValidationPlan::resolve(opts, saved)?
    };
    let (fit, val) = plan.holdout.apply(&ds.train, &ds.name)?;
    // What the epochs evaluate: the validation split when there is one, else the test set.
    let (watched, on_val) = if val.is_empty() {
        (&ds.test, false)
    } else {
        (&val, true)
    };
    if let Some(r) = &resumed
        && replicas.is_some()
        && lead
    {
        let before: usize = r
            .settings
            .get("ranks")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        if before != ranks {
            report.note(format!(
                "note: resuming a run of {before} replica(s) on {ranks}: the same parameters and \
                 optimiser state, other batches' shards and draws than {before} would take"
            ));
        }
    }
    if schedule.warmup_epochs > opts.epochs {
        report.note(format!(
            "note: the KL warm-up of {} epochs ends after this run's {} epochs: β reaches {:.3}, not {}",
            schedule.warmup_epochs,
            opts.epochs,
            schedule.beta(opts.epochs, 0, 1),
            schedule.to
        ));
    }
    // Locked until the run ends; a folder holding another run is refused (or emptied of it
    // with --overwrite); temporaries a killed run left are removed.
    // Data-parallel: rank 0 alone; the other replicas never write the folder, and learn
    // whether rank 0 could open it.
    let opened = lead.then(|| {
        let folder = RunFolder::open(
            &opts.out,
            RunMode::from_flags(&opts.out, opts.resume, opts.overwrite)?,
            RUN_FILES,
            &["checkpoints"],
        )?;
        std::fs::create_dir_all(opts.out.join("checkpoints"))
            .map_err(|e| data::DataError::io(&opts.out, e))?;
        Ok::<_, ModelError>(folder)
    });
    if let Some(r) = replicas.as_deref_mut() {
        let failed = u64::from(matches!(opened, Some(Err(_))));
        if r.max("opening of the run folder", failed)? > 0 && !lead {
            return Err(ModelError::data_parallel(
                Some(rank),
                format!(
                    "{}: rank 0 could not open the run folder (its message names the cause)",
                    opts.out.display()
                ),
            ));
        }
    }
    let _folder = opened.transpose()?;
    let device = Device::default().autodiff();
    let plain = Device::default();
    // The initial weights are drawn on the host from the seed (crate::init), the same on every
    // device; the VAE's dropout masks come from the PPL's generator (crate::kernels::dropout),
    // which `with_seed` reseeds every step. burn's own generator (seeded through the plain
    // device: seeding the autodiff wrapper does not reach it) is left for anything else.
    plain.seed(opts.seed);
    let template = net.init_seeded(opts.seed, &device);
    let beta = anneal::KlScale::new(opts.kl_scale);
    let mut svi = Svi::new(
        |b: &Batch| anneal::anneal(beta.get(), || model(&template, b)),
        |b: &Batch| anneal::anneal(beta.get(), || guide(&template, b)),
        opts.optimizer()?,
        Objective::new(free_bits, iwae)?,
    )
    .with_seed(replica_seed(opts.seed, rank), Some(device.clone()));
    if let Some(r) = replicas.as_deref_mut() {
        svi = svi.with_reducer(replicas::Boxed(r.reducer()?));
    }

    let mut settings = run_settings(opts, &decay, &schedule, &plan, (free_bits, reflect));
    if let Some(k) = iwae {
        settings.push(("iwae", k.to_string()));
    }
    if replicas.is_some() {
        settings.push(("ranks", ranks.to_string()));
        settings.push(("replica_seeds", REPLICA_SEED_RULE.to_string()));
    }
    let mut start = 0;
    let mut rows = vec![];
    if let Some(r) = resumed {
        svi.load_checkpoint(&latest, &plain)?;
        // The checkpoint holds the rate in use (lowered after bad steps); a --lr other than
        // the one the run was started or last resumed with replaces it.
        let configured: Option<f64> = r.meta.get("lobes.lr").and_then(|v| v.parse().ok());
        if configured != Some(opts.lr) {
            svi.optim.set_lr(opts.lr);
        }
        start = r.epoch;
        rows = resumed_rows.unwrap_or_default();
    } else {
        let mut row = EpochMetrics {
            epoch: 0,
            lr: Some(opts.lr),
            ..Default::default()
        };
        if opts.eval_every > 0 && !watched.is_empty() {
            let loss =
                beta.unannealed(|| test_loss(&mut svi, watched, opts.batch, crop, &plain))?;
            set_loss(&mut row, loss, on_val);
        }
        if let Some(m) = &monitor {
            record(&mut row, m.measure(svi.store().clone())?);
        }
        if let Some(r) = replicas.as_deref_mut() {
            share_evaluation(r, &mut row)?;
        }
        rows.push(row);
        report.say(TrainEvent::Epoch(rows.last().expect("just pushed")));
        if lead {
            write_metrics(&metrics_path, &rows)?;
            // The state a bad step in the first epoch rolls back to.
            svi.save_checkpoint_with(
                &latest,
                &RunMetadata::new(opts.kind, &net, 0, &settings).to_map(),
            )?;
        }
    }
    let mut bad = BadSteps::default();
    // Whether the data-parallel traffic has been printed.
    let mut reported = false;
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
            report.note(format!(
                "epoch {epoch}: learning rate {lr:e} -> {:e} (--lr-milestones)",
                svi.optim.lr()
            ));
        }
        if plan.stops_after(&rows) {
            break;
        }
        let mut aug = Augmented::new(
            &fit,
            opts.augment_step,
            crop,
            Interp::Bilinear,
            epoch_seed(opts.seed, epoch),
        )
        .with_reflections(reflect);
        if aug.len() < ranks {
            return Err(ModelError::data_parallel(
                None,
                format!(
                    "{} augmented images an epoch, fewer than the {ranks} data-parallel \
                     replicas: every replica needs at least one image of each batch",
                    aug.len()
                ),
            ));
        }
        report.say(TrainEvent::EpochStart {
            epoch,
            epochs: opts.epochs,
            images: aug.len(),
        });
        let t0 = Instant::now();
        let (mut sum, mut n) = (0.0, 0usize);
        let mut max_step = f64::NEG_INFINITY;
        let steps = aug.len().div_ceil(opts.batch);
        for (i, b) in aug.epoch_shard(opts.batch, rank, ranks).enumerate() {
            beta.set(schedule.beta(epoch, i, steps));
            // The whole batch's images: the replicas' mean loss is the whole batch's.
            let k = b.whole;
            let mut batch = batch_from(&b.pixels, &b.labels, net.pixels, &plain);
            if ranks > 1 {
                batch.shard = Some(Shard {
                    size: b.whole,
                    indices: b.rows.clone(),
                    replicas: ranks,
                });
            }
            let e = match svi.step(&batch) {
                Ok(loss) => {
                    bad.good(svi.steps());
                    sum += loss;
                    n += k;
                    max_step = max_step.max(loss / k.max(1) as f64);
                    report.say(TrainEvent::Progress {
                        images: n,
                        loss: sum / n.max(1) as f64,
                        images_per_s: n as f64 / t0.elapsed().as_secs_f64(),
                    });
                    continue;
                }
                Err(e) => e,
            };
            if matches!(e, lobes_ppl::PplError::Collective { .. }) {
                // The replicas no longer talk: nothing more to agree on.
                report.say(TrainEvent::EpochEnd);
                return Err(e.into());
            }
            let mut action = recovery(&e);
            if let Some(r) = replicas.as_deref_mut() {
                action = replicas::agree(r, action, svi.steps())?;
            }
            let Some(action) = action else {
                return Err(e.into());
            };
            let in_a_row = bad.bad(svi.steps());
            if in_a_row >= opts.max_bad_steps {
                report.say(TrainEvent::EpochEnd);
                return Err(ModelError::Diverged {
                    bad: in_a_row,
                    epoch,
                    cause: Box::new(e),
                    checkpoint: latest,
                    good_epoch,
                });
            }
            let lr = svi.optim.lr();
            let msg = super::recovery::apply(&mut svi, action, &latest, &plain, good_epoch)?;
            report.note(format!(
                "epoch {epoch}: bad step ({e}); {msg}; learning rate {lr:e} -> {:e} ({in_a_row} in a row, {} allowed)",
                svi.optim.lr(),
                opts.max_bad_steps - 1
            ));
            if action == Recovery::RollBack {
                report.say(TrainEvent::EpochEnd);
                rows.retain(|r| r.epoch <= good_epoch);
                epoch = good_epoch + 1;
                continue 'epochs;
            }
        }
        report.say(TrainEvent::EpochEnd);
        let seconds = t0.elapsed().as_secs_f64();
        if let Some(r) = replicas.as_deref()
            && let Some(t) = r.traffic().filter(|t| lead && !reported && t.steps > 0)
        {
            reported = true;
            report.note(replicas::traffic_note(r, &t, epoch, seconds));
        }
        let evaluate =
            opts.eval_every > 0 && (epoch % opts.eval_every == 0 || epoch == opts.epochs);
        let mut row = EpochMetrics {
            epoch,
            train_loss: Some(sum / n.max(1) as f64),
            test_loss: None,
            seconds,
            images_per_s: n as f64 / seconds,
            bad_steps: bad.take_pending(),
            lr: Some(svi.optim.lr()),
            kl_scale: (!schedule.is_plain()).then(|| beta.get()),
            max_step_loss: (n > 0).then_some(max_step),
            ..Default::default()
        };
        if evaluate && !watched.is_empty() {
            let loss =
                beta.unannealed(|| test_loss(&mut svi, watched, opts.batch, crop, &plain))?;
            set_loss(&mut row, loss, on_val);
        }
        if let Some(m) = monitor.as_ref().filter(|m| m.due(epoch, opts.epochs)) {
            record(&mut row, m.measure(svi.store().clone())?);
        }
        if let Some(r) = replicas.as_deref_mut() {
            share_evaluation(r, &mut row)?;
        }
        let new_best = row.val_loss.is_some()
            && validation::best(&rows)
                .is_none_or(|(_, b)| row.val_loss.is_some_and(|v| validation::improves(v, b)));
        rows.push(row);
        report.say(TrainEvent::Epoch(rows.last().expect("just pushed")));
        if new_best && lead {
            let meta = RunMetadata::new(opts.kind, &net, epoch, &settings).to_map();
            svi.store()
                .save_with(opts.out.join("best.safetensors"), &meta)?;
        }
        if plan.decays_after(&rows) {
            let lr = svi.optim.lr();
            svi.optim.set_lr(lr * decay.gamma);
            report.note(format!(
                "epoch {epoch}: learning rate {lr:e} -> {:e} (--lr-plateau: {} epochs without a better validation loss)",
                svi.optim.lr(),
                plan.plateau.unwrap_or_default() + 1
            ));
        }
        if lead {
            write_metrics(&metrics_path, &rows)?;
        }
        let stop = plan.stops_after(&rows);
        if epoch % opts.checkpoint_every.max(1) == 0 || epoch == opts.epochs || stop {
            if let Some(r) = replicas.as_deref_mut() {
                replicas::check_params(r, svi.store(), epoch)?;
            }
            if lead {
                let meta = RunMetadata::new(opts.kind, &net, epoch, &settings).to_map();
                checkpoints::save(&svi, &opts.out, epoch, &meta, opts.keep_checkpoints)?;
            }
            good_epoch = epoch;
        }
        epoch += 1;
    }
    if let Some(dir) = std::env::var_os(REPLICA_PARAMS_ENV).filter(|_| replicas.is_some()) {
        // Test hook: every replica's parameters, to compare across replicas.
        let dir = std::path::PathBuf::from(dir);
        svi.store()
            .save(dir.join(format!("rank-{rank}.safetensors")))?;
    }
    if !lead {
        return Ok(rows);
    }
    figure::run_figures(opts, &net, &rows, svi.store())?;
    Ok(rows)
}
