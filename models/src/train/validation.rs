//! Choices taken on the validation split: the best epoch (kept as `best.safetensors`), a decay
//! of the learning rate when the validation loss stops improving (Pyro's `ReduceLROnPlateau`,
//! PyTorch's defaults: relative threshold 1e-4, no cool-down), and early stopping.
//!
//! Every decision is a function of the `val_loss` column of `metrics.csv`, so a resumed run
//! takes the same decisions as an uninterrupted one: the state is replayed from the rows.

use super::{EpochMetrics, TrainOptions};
use crate::data::split::Holdout;
use crate::error::ModelError;
use std::collections::BTreeMap;

/// PyTorch's `ReduceLROnPlateau` default: an improvement is a loss below `best · (1 − 1e-4)`.
pub const THRESHOLD: f64 = 1e-4;

/// The validation settings of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ValidationPlan {
    /// The held-out split.
    pub holdout: Holdout,
    /// Epochs without improvement after which the rate decays (`None`: never).
    pub plateau: Option<usize>,
    /// Epochs without improvement after which the run stops (`None`: never).
    pub early_stop: Option<usize>,
    /// The plateau counts only epochs after this one: the end of the KL warm-up, while which
    /// the ELBO's weights still move (PyTorch users create the scheduler after a warm-up).
    pub plateau_from: usize,
}

impl ValidationPlan {
    /// From the options; what they leave out comes from the checkpoint's settings `saved` on
    /// resume. A resumed run must keep its split (another split would validate on images it
    /// trained on); the patiences may change.
    ///
    /// # Errors
    /// A split other than the checkpoint's; a patience of 0; a patience without a split or
    /// with `--eval-every` other than 1.
    pub fn resolve(
        opts: &TrainOptions,
        saved: Option<&BTreeMap<String, String>>,
    ) -> Result<Self, ModelError> {
        let recorded = |key: &str| saved.and_then(|m| m.get(key)).and_then(|v| v.parse().ok());
        let saved_split = Holdout {
            n: recorded("validation").unwrap_or(0),
            seed: saved
                .and_then(|m| m.get("split_seed"))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        };
        let holdout = Holdout {
            n: opts.validation.unwrap_or(saved_split.n),
            seed: opts.split_seed.unwrap_or(saved_split.seed),
        };
        if saved.is_some() && holdout != saved_split {
            return Err(ModelError::conflicting_options(
                &["--validation", "--split-seed", "--resume"],
                format!(
                    "--validation {} --split-seed {}: the run was started with --validation {} \
                     --split-seed {}, and its split cannot change on --resume",
                    holdout.n, holdout.seed, saved_split.n, saved_split.seed
                ),
            ));
        }
        let plan = ValidationPlan {
            holdout,
            plateau: opts.lr_plateau.or_else(|| recorded("lr_plateau")),
            early_stop: opts.early_stop.or_else(|| recorded("early_stop")),
            plateau_from: 0,
        };
        for (flag, p) in [
            ("--lr-plateau", plan.plateau),
            ("--early-stop", plan.early_stop),
        ] {
            let Some(p) = p else { continue };
            if p == 0 {
                return Err(ModelError::invalid_option(
                    flag,
                    p,
                    format!("{flag} needs a patience of at least one epoch"),
                ));
            }
            if holdout.n == 0 {
                return Err(ModelError::conflicting_options(
                    &[flag, "--validation"],
                    format!("{flag} watches the validation loss: give --validation N too"),
                ));
            }
            if opts.eval_every != 1 {
                return Err(ModelError::conflicting_options(
                    &[flag, "--eval-every"],
                    format!(
                        "{flag} counts epochs of validation loss: it needs --eval-every 1, got {}",
                        opts.eval_every
                    ),
                ));
            }
        }
        Ok(plan)
    }

    /// The settings as the checkpoint records them.
    pub fn metadata(&self) -> Vec<(&'static str, String)> {
        let mut m = self.holdout.metadata();
        if let Some(p) = self.plateau {
            m.push(("lr_plateau", p.to_string()));
        }
        if let Some(p) = self.early_stop {
            m.push(("early_stop", p.to_string()));
        }
        m
    }

    /// Whether the rate decays after the last row: `ReduceLROnPlateau` stepped with the
    /// validation loss of each row after `plateau_from` in turn.
    pub fn decays_after(&self, rows: &[EpochMetrics]) -> bool {
        let Some(patience) = self.plateau else {
            return false;
        };
        let (mut best, mut bad, mut decays) = (f64::INFINITY, 0, false);
        let after = rows.iter().filter(|r| r.epoch > self.plateau_from);
        for v in after.filter_map(|r| r.val_loss) {
            decays = false;
            if improves(v, best) {
                best = v;
                bad = 0;
            } else {
                bad += 1;
            }
            if bad > patience {
                decays = true;
                bad = 0;
            }
        }
        decays
    }

    /// Whether the run stops after the last row: `early_stop` epochs since the best.
    pub fn stops_after(&self, rows: &[EpochMetrics]) -> bool {
        match (self.early_stop, best(rows), rows.last()) {
            (Some(p), Some((best_epoch, _)), Some(last)) => last.epoch >= best_epoch + p,
            _ => false,
        }
    }
}

/// Whether `loss` improves on `best` by PyTorch's relative threshold.
pub fn improves(loss: f64, best: f64) -> bool {
    loss < best * (1.0 - THRESHOLD)
}

/// The epoch and loss of the best validation loss in `rows` (the first of equals, counting
/// only improvements by the threshold).
pub fn best(rows: &[EpochMetrics]) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for r in rows {
        if let Some(v) = r.val_loss
            && best.is_none_or(|(_, b)| improves(v, b))
        {
            best = Some((r.epoch, v));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(losses: &[f64]) -> Vec<EpochMetrics> {
        losses
            .iter()
            .enumerate()
            .map(|(e, &v)| EpochMetrics {
                epoch: e,
                val_loss: Some(v),
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn the_plateau_decays_as_pytorch_and_early_stopping_counts_from_the_best() {
        let plan = ValidationPlan {
            holdout: Holdout { n: 5, seed: 0 },
            plateau: Some(2),
            early_stop: Some(4),
            plateau_from: 0,
        };
        // PyTorch: patience 2 decays on the third epoch without improvement.
        let losses = [10.0, 9.0, 9.5, 9.0, 9.2, 9.1, 8.0, 8.5];
        let decays: Vec<bool> = (1..=losses.len())
            .map(|k| plan.decays_after(&rows(&losses[..k])))
            .collect();
        assert_eq!(
            decays,
            [false, false, false, false, true, false, false, false]
        );
        assert_eq!(best(&rows(&losses)), Some((6, 8.0)));
        // 9.0 at epoch 3 does not improve on 9.0 at 1: the best stays epoch 1.
        assert_eq!(best(&rows(&losses[..6])), Some((1, 9.0)));
        assert!(!plan.stops_after(&rows(&losses[..5])));
        assert!(plan.stops_after(&rows(&losses[..6])));
        assert!(!plan.stops_after(&rows(&losses)));
        // After a warm-up of 2 epochs the plateau counts from epoch 3 (9.0 its first best).
        let late = ValidationPlan {
            plateau_from: 2,
            ..plan
        };
        let decays: Vec<bool> = (1..=losses.len())
            .map(|k| late.decays_after(&rows(&losses[..k])))
            .collect();
        assert_eq!(
            decays,
            [false, false, false, false, false, false, false, false]
        );
        assert!(late.decays_after(&rows(&[10.0, 9.0, 9.5, 9.0, 9.2, 9.1, 9.6])));
        // A loss that improves by less than the relative threshold is no improvement.
        assert!(!improves(100.0 * (1.0 - 0.5e-4), 100.0));
        assert!(improves(100.0 * (1.0 - 2e-4), 100.0));
    }
}
