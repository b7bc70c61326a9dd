//! Training that survives a bad step. A step whose loss is NaN or infinite leaves the
//! parameters unchanged: it is skipped. A step whose gradient held NaN or infinite values (the
//! optimiser finds it in its fused pass, at no extra cost), or a site given a non-finite
//! distribution parameter (the network's outputs already broke), has made the parameters
//! non-finite: the run rolls back to its last checkpoint. Either way the learning rate is multiplied by [`LR_BACKOFF`], the event is printed and
//! counted in `metrics.csv`, and only `max_bad_steps` bad steps in a row (with no good step
//! past the latest of them) stop the run, with an error naming the last good checkpoint, which
//! is left intact.

use crate::vae::Batch;
use burn::prelude::Device;
use lobes_ppl::PplError;
use lobes_ppl::dist::DistError;
use lobes_ppl::infer::{Elbo, Svi};
use lobes_ppl::optim::Optimizer;
use std::path::Path;

/// The factor applied to the learning rate after each bad step.
pub const LR_BACKOFF: f64 = 0.5;

/// What a failed step asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// The parameters are unchanged: skip the batch.
    Skip,
    /// The parameters are no longer finite: reload the last checkpoint.
    RollBack,
}

/// Whether `e`, from `Svi::step`, is a bad step (a numerical failure) and what it asks for;
/// `None` for every other error (a shape or a file error), which stops the run at once.
pub fn recovery(e: &PplError) -> Option<Recovery> {
    match e {
        PplError::NonFiniteLoss { .. } => Some(Recovery::Skip),
        PplError::NonFiniteGradient { .. } => Some(Recovery::RollBack),
        PplError::Distribution {
            source: DistError::InvalidParameter { .. },
            ..
        } => Some(Recovery::RollBack),
        _ => None,
    }
}

/// The bad steps of a run: those since the last row of `metrics.csv`, and those in a row.
///
/// Bad steps count as "in a row" until a good step gets past the latest of them. The good
/// steps a rollback replays do not count: the replay is deterministic, so a batch whose
/// gradient is not finite at the checkpoint's state fails again at the same step, and the run
/// must stop rather than halve the rate for ever.
#[derive(Debug, Default)]
pub(super) struct BadSteps {
    pending: usize,
    in_a_row: usize,
    /// The step count at the latest bad step.
    furthest: u64,
}

impl BadSteps {
    /// A good step; `step` is the step count after it.
    pub(super) fn good(&mut self, step: u64) {
        if step > self.furthest {
            self.in_a_row = 0;
        }
    }
    /// A bad step at step count `step`; returns how many bad steps are now in a row.
    pub(super) fn bad(&mut self, step: u64) -> usize {
        self.pending += 1;
        self.in_a_row += 1;
        self.furthest = self.furthest.max(step);
        self.in_a_row
    }
    /// The bad steps since the last call (for the epoch's row of `metrics.csv`).
    pub(super) fn take_pending(&mut self) -> usize {
        std::mem::take(&mut self.pending)
    }
}

/// Carries out `action` on `svi` (the learning rate times [`LR_BACKOFF`] either way; a roll
/// back reloads `latest`, the checkpoint of `good_epoch`, first); returns what was done, for
/// the run's report.
pub(super) fn apply<M, G, O, L>(
    svi: &mut Svi<Batch, M, G, O, L>,
    action: Recovery,
    latest: &Path,
    device: &Device,
    good_epoch: usize,
) -> Result<String, PplError>
where
    M: Fn(&Batch) -> lobes_ppl::Result<()>,
    G: Fn(&Batch) -> lobes_ppl::Result<()>,
    O: Optimizer,
    L: Elbo,
{
    let lr = svi.optim.lr();
    Ok(match action {
        Recovery::Skip => {
            svi.optim.set_lr(lr * LR_BACKOFF);
            "skipped the batch".to_string()
        }
        Recovery::RollBack => {
            svi.load_checkpoint(latest, device)?;
            // The checkpoint may hold a higher rate than the one just used.
            svi.optim.set_lr(svi.optim.lr().min(lr) * LR_BACKOFF);
            format!("rolled back to {} (epoch {good_epoch})", latest.display())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_steps_count_in_a_row_until_a_good_step_passes_the_latest() {
        let mut b = BadSteps::default();
        assert_eq!(b.bad(10), 1);
        // A rollback replays steps 1..=9: good, but not past step 10.
        b.good(9);
        assert_eq!(b.bad(10), 2);
        b.good(11);
        assert_eq!(b.bad(20), 1);
        assert_eq!(b.take_pending(), 3);
        assert_eq!(b.take_pending(), 0);
    }

    #[test]
    fn numerical_failures_are_bad_steps_and_others_are_not() {
        let loss = PplError::NonFiniteLoss {
            loss: f64::NAN,
            site: "'obs'".into(),
            table: String::new(),
        };
        assert_eq!(recovery(&loss), Some(Recovery::Skip));
        let grad = PplError::NonFiniteGradient {
            step: 3,
            loss: 1.0,
            params: vec!["encoder.scale.weight".into()],
        };
        assert_eq!(recovery(&grad), Some(Recovery::RollBack));
        let scale = PplError::at_site(
            "latent",
            DistError::InvalidParameter {
                dist: "Normal",
                param: "scale",
                constraint: "positive",
                found: "values in [NaN, NaN]".into(),
            },
        );
        assert_eq!(recovery(&scale), Some(Recovery::RollBack));
        assert_eq!(recovery(&PplError::ModelGuideMismatch("x".into())), None);
    }
}
