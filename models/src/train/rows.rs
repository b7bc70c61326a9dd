//! Filling an epoch's metrics row (losses, RAMIS, sharing across replicas) and reporting
//! events from rank 0.

use super::{EpochMetrics, RamisMeasure, Replicas, TrainEvent, replicas};
use crate::error::ModelError;

/// Puts an evaluation's loss in its column: `val_loss` when it is of the validation split.
pub(super) fn set_loss(row: &mut EpochMetrics, loss: f64, on_val: bool) {
    if on_val {
        row.val_loss = Some(loss);
    } else {
        row.test_loss = Some(loss);
    }
}

/// Makes an epoch's evaluations (computed by every replica) rank 0's on every replica, so that
/// every decision taken from them (best epoch, plateau, early stop) is the same everywhere.
pub(super) fn share_evaluation(
    r: &mut dyn Replicas,
    row: &mut EpochMetrics,
) -> Result<(), ModelError> {
    let mut v = replicas::pack(&[
        row.test_loss,
        row.val_loss,
        row.ramis,
        row.fri_percent,
        row.frii_percent,
    ]);
    r.broadcast("evaluation", &mut v)?;
    let u = replicas::unpack(&v);
    (
        row.test_loss,
        row.val_loss,
        row.ramis,
        row.fri_percent,
        row.frii_percent,
    ) = (u[0], u[1], u[2], u[3], u[4]);
    Ok(())
}

pub(super) fn record(row: &mut EpochMetrics, m: RamisMeasure) {
    row.ramis = Some(m.ramis);
    if let Some((fri, frii)) = m.class_percent {
        row.fri_percent = Some(fri);
        row.frii_percent = Some(frii);
    }
}

/// Hands events to the observer on rank 0 only.
pub(super) struct Reporter<'o> {
    pub(super) lead: bool,
    pub(super) observe: &'o mut dyn FnMut(TrainEvent<'_>),
}

impl Reporter<'_> {
    pub(super) fn say(&mut self, e: TrainEvent<'_>) {
        if self.lead {
            (self.observe)(e)
        }
    }
    pub(super) fn note(&mut self, line: String) {
        self.say(TrainEvent::Note(&line))
    }
}
