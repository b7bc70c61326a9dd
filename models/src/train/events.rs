//! What [`super::train_with`] reports while it runs. The library prints nothing: the caller
//! (the CLI's bar and lines, a sweep, a notebook-like driver, an MPI job's rank 0) decides
//! what to show. Only rank 0 of a data-parallel run reports.
//!
//! ```
//! use lobes_models::train::TrainEvent;
//! let mut notes = vec![];
//! let mut observe = |e: TrainEvent<'_>| {
//!     if let TrainEvent::Note(s) = e {
//!         notes.push(s.to_string());
//!     }
//! };
//! observe(TrainEvent::Note("epoch 3: learning rate 1e-3 -> 1e-4"));
//! assert_eq!(notes.len(), 1);
//! ```

use super::EpochMetrics;

/// One thing that happened during training.
#[derive(Clone, Copy, Debug)]
pub enum TrainEvent<'a> {
    /// A line for the user: a schedule's note, a learning-rate change, a bad step and what was
    /// done about it, the data-parallel traffic.
    Note(&'a str),
    /// An epoch's steps begin.
    EpochStart {
        /// The epoch, from 1.
        epoch: usize,
        /// The run's last epoch.
        epochs: usize,
        /// Images this epoch steps over.
        images: usize,
    },
    /// After each step: images done this epoch, the running mean loss per image, and the speed.
    Progress {
        /// Images done this epoch.
        images: usize,
        /// Mean loss (−ELBO per image) so far this epoch.
        loss: f64,
        /// Images per second so far this epoch.
        images_per_s: f64,
    },
    /// The epoch's steps ended (or were abandoned for a rollback).
    EpochEnd,
    /// An epoch's row, as `metrics.csv` gets it (epoch 0: the untrained model).
    Epoch(&'a EpochMetrics),
}
