//! `lobes classifier train`: the RAMIS classifier from scratch.

use clap::Subcommand;
use lobes::models::ModelError;
use lobes::models::ramis::hmt::{ClassifierEvent, ClassifierOptions, train_classifier_with};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub(crate) enum ClassifierCmd {
    /// Train it from scratch: Adagrad, random rotations, a validation split; keeps the weights
    /// with the best validation accuracy and reports test accuracy per class.
    Train {
        /// Labelled data spec (150x150, or smaller and zero-padded).
        #[arg(long)]
        data: String,
        /// Epochs.
        #[arg(long, default_value_t = 30)]
        epochs: usize,
        /// Images per step.
        #[arg(long, default_value_t = 32)]
        batch: usize,
        /// Adagrad learning rate.
        #[arg(long, default_value_t = 0.01)]
        lr: f64,
        /// Fraction of the training split held out for validation.
        #[arg(long, default_value_t = 0.1)]
        val_fraction: f64,
        /// Weight the classes by n / (2 n_class) in the loss.
        #[arg(long)]
        class_weights: bool,
        /// Train on unrotated images.
        #[arg(long)]
        no_rotate: bool,
        /// Dropout after the fully-connected hidden layers: a probability in [0, 1).
        #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
        dropout: f64,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output folder: classifier.safetensors, metrics.csv, accuracy.png, test.csv.
        #[arg(long, default_value = "runs/classifier")]
        out: PathBuf,
        /// Replace the classifier run `--out` holds (its files are removed first).
        #[arg(long)]
        overwrite: bool,
    },
}

pub(crate) fn run(cmd: ClassifierCmd) -> Result<(), ModelError> {
    let ClassifierCmd::Train {
        data,
        epochs,
        batch,
        lr,
        val_fraction,
        class_weights,
        no_rotate,
        dropout,
        seed,
        out,
        overwrite,
    } = cmd;
    // A bar over the whole run's steps, and each epoch's line as it ends.
    let mut bar: Option<indicatif::ProgressBar> = None;
    let mut observe = |e: ClassifierEvent<'_>| match e {
        ClassifierEvent::Step { done, total } => {
            bar.get_or_insert_with(|| indicatif::ProgressBar::new(total as u64))
                .set_position(done as u64);
        }
        ClassifierEvent::Epoch(row) => {
            let line = format!(
                "epoch {}: train loss {:.4}, accuracy {:.3}; validation loss {:.4}, accuracy {:.3} (FRI {:.3}, FRII {:.3})",
                row.epoch,
                row.train_loss,
                row.train_accuracy,
                row.val_loss,
                row.val.overall,
                row.val.per_class[0],
                row.val.per_class[1]
            );
            match &bar {
                Some(b) => b.suspend(|| eprintln!("{line}")),
                None => eprintln!("{line}"),
            }
        }
    };
    let r = train_classifier_with(
        &ClassifierOptions {
            data,
            epochs,
            batch,
            lr,
            val_fraction,
            class_weights,
            rotate: !no_rotate,
            dropout,
            seed,
            out,
            overwrite,
        },
        &mut observe,
    )?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let t = r.test;
    println!(
        "kept epoch {} -> {}\ntest accuracy {:.4} (FRI {:.4} of {}, FRII {:.4} of {})",
        r.best_epoch,
        r.checkpoint.display(),
        t.overall,
        t.per_class[0],
        t.counts[0],
        t.per_class[1],
        t.counts[1]
    );
    Ok(())
}
