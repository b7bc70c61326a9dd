//! Errors of the models crate.

mod field;

pub use field::FieldError;

use crate::data::DataError;
use lobes_ppl::PplError;

/// Anything that can go wrong training or using a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Reading or writing data.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Inside the PPL (a site, a checkpoint).
    #[error(transparent)]
    Ppl(#[from] PplError),
    /// Options that cannot work together.
    #[error("{0}")]
    Config(String),
    /// A checkpoint's run metadata (`lobes.*` keys) lacks a key or holds an unreadable value.
    #[error("{}: {problem}", path.display())]
    Metadata {
        /// The checkpoint.
        path: std::path::PathBuf,
        /// The key, without its `lobes.` prefix (empty when the map itself is unreadable).
        key: String,
        /// What is wrong, with the value.
        problem: String,
    },
    /// A tensor's values could not be read back into host memory (a dtype or device failure).
    #[error("reading back {what}: {reason}")]
    TensorRead {
        /// Which tensor (e.g. "the decoded pixels").
        what: &'static str,
        /// burn's error.
        reason: String,
    },
    /// A run or output folder that cannot be written as asked (locked, holding a run or
    /// another output).
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
    /// A simulated field's options.
    #[error(transparent)]
    Field(#[from] FieldError),
    /// A chart that cannot be drawn (no point to draw, or a drawing failure).
    #[error("{}: cannot draw the chart: {reason}", path.display())]
    Chart {
        /// The picture being written.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// `--resume` where no checkpoint was written yet (a run stopped before its first one).
    #[error(
        "nothing to resume: {} does not exist (a run stopped before its first checkpoint, \
         written before epoch 1, has nothing to go on from); start it again without --resume",
        checkpoint.display()
    )]
    NothingToResume {
        /// The checkpoint looked for.
        checkpoint: std::path::PathBuf,
    },
    /// A request that needs more memory than this process can get ([`crate::memory`]).
    // What is available goes on a line of its own: the first line is the same on every machine.
    #[error(
        "{what} would need {need} of memory, more than this process can get\n\
         {available} available ({limit})"
    )]
    Memory {
        /// The request, with the option that sized it.
        what: String,
        /// What it needs, for people (e.g. `120 GB`).
        need: String,
        /// What is available.
        available: String,
        /// Which limit binds.
        limit: String,
    },
    /// A checkpoint holding NaN or infinite parameters (a run whose training blew up): every
    /// image or score made from it would be NaN.
    #[error(
        "{}: {problem}: the model is broken (its training diverged); use an earlier checkpoint",
        path.display()
    )]
    NonFinite {
        /// The checkpoint.
        path: std::path::PathBuf,
        /// The parameter and its first non-finite element.
        problem: String,
    },
    /// Training met too many bad steps (non-finite losses or gradients) in a row.
    #[error(
        "training stopped in epoch {epoch} after {bad} bad steps in a row; the last: {cause}\n\
         the last good checkpoint, {} (epoch {good_epoch}), is intact: resume from it with \
         --scale exp-clamp (a bounded guide scale), a lower --lr or --clip-norm",
        checkpoint.display()
    )]
    Diverged {
        /// Bad steps in a row.
        bad: usize,
        /// The epoch of the last one.
        epoch: usize,
        /// The last bad step's error.
        cause: Box<PplError>,
        /// The latest checkpoint, from before the bad steps.
        checkpoint: std::path::PathBuf,
        /// Its epoch.
        good_epoch: usize,
    },
}

/// A learning rate must be positive and finite: a [`ModelError::Config`] naming it otherwise.
pub(crate) fn check_learning_rate(lr: f64) -> Result<(), ModelError> {
    if lr.is_finite() && lr > 0.0 {
        Ok(())
    } else {
        Err(ModelError::Config(format!(
            "the learning rate must be positive and finite, got {lr}"
        )))
    }
}

impl ModelError {
    /// A [`ModelError::TensorRead`] of `what` from burn's error.
    pub(crate) fn tensor_read(what: &'static str, e: impl std::fmt::Display) -> Self {
        ModelError::TensorRead {
            what,
            reason: e.to_string(),
        }
    }
}
