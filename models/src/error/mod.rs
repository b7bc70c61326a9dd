//! Errors of the models crate.

mod field;

pub use field::FieldError;

use crate::data::DataError;
use lobes_ppl::PplError;

/// Anything that can go wrong training or using a model.
///
/// There is no catch-all variant: each failure has one a caller can match, with the file,
/// option, sizes or rank as fields. Options go to [`ModelError::InvalidOption`] (one value) or
/// [`ModelError::ConflictingOptions`] (several), names from a fixed set to
/// [`ModelError::UnknownName`]; a new kind of failure gets a variant of its own.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Reading or writing data.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Inside the PPL (a site, a checkpoint).
    #[error(transparent)]
    Ppl(#[from] PplError),
    /// An option (a command-line flag, or the field of an options struct it sets) whose value
    /// cannot work by itself: out of range, not finite, zero where at least one is needed.
    #[error("{message}")]
    InvalidOption {
        /// The option as the command line writes it (`--kl-scale`), or the field's name where
        /// no flag sets it (`pixels`, `sampling`).
        option: &'static str,
        /// The value given.
        value: String,
        /// The message shown: it names the option and the value, and says what would work.
        message: String,
    },
    /// Options that cannot work together (one needs another, or excludes it), or an option that
    /// contradicts a resumed run's settings.
    #[error("{message}")]
    ConflictingOptions {
        /// The options involved, as the command line writes them.
        options: Vec<&'static str>,
        /// The message shown, naming them and what to give instead.
        message: String,
    },
    /// A name that is not one of a fixed set (a model, prior, likelihood, guide scale,
    /// optimiser, class or plot kind).
    #[error("unknown {what} '{name}' ({known})")]
    UnknownName {
        /// What the name names, e.g. `prior` or `--kind`.
        what: &'static str,
        /// The name given.
        name: String,
        /// The names known, comma-separated.
        known: String,
    },
    /// A CSV file that cannot be read, parsed or written (a metrics file, a plot's table).
    #[error(
        "{}{}: {source}",
        path.display(),
        line.map_or(String::new(), |l| format!(" line {l}"))
    )]
    Csv {
        /// The file.
        path: std::path::PathBuf,
        /// The line of the record that failed (the header is line 1), where known.
        line: Option<usize>,
        /// The csv crate's error.
        source: csv::Error,
    },
    /// A CSV file that parsed but lacks what is needed: the file itself, rows, a column, or a
    /// value of the expected kind.
    #[error(
        "{}: {}{problem}",
        path.display(),
        line.map_or(String::new(), |l| format!("line {l}: "))
    )]
    CsvContent {
        /// The file.
        path: std::path::PathBuf,
        /// The line of the offending value (the header is line 1), where there is one.
        line: Option<usize>,
        /// What is missing or wrong, naming the column and the value.
        problem: String,
    },
    /// An image smaller than a VAE's square input (larger ones are centre-cropped).
    #[error(
        "{image} is {side}x{side}, smaller than the {input}x{input} input{}",
        model.as_ref().map_or(String::new(), |m| format!(" of {m}"))
    )]
    ImageTooSmall {
        /// The image: its name, and the data set, split or batch it is in.
        image: String,
        /// Its side, in pixels.
        side: usize,
        /// The side of the network's input.
        input: usize,
        /// The model (a checkpoint's path), where one is loaded.
        model: Option<String>,
    },
    /// An image the RAMIS classifier cannot take: it reads 150x150 images. Named images come
    /// from a set whose smaller images are zero-padded (so `side` is larger); an unnamed one
    /// reached the network itself, which takes 150x150 only.
    #[error("{}", classifier_image_message(image.as_deref(), *side))]
    ClassifierImageSize {
        /// The image, where named.
        image: Option<String>,
        /// Its side, in pixels.
        side: usize,
    },
    /// The RAMIS classifier's training loss became NaN or infinite.
    #[error("classifier loss became {loss} at epoch {epoch}; try a smaller --lr")]
    ClassifierDiverged {
        /// The epoch (1-based).
        epoch: usize,
        /// The loss.
        loss: f64,
    },
    /// A data set, split or list without the images a step needs (none at all, none left after
    /// a validation split, none of one class).
    #[error("{message}")]
    NoImages {
        /// The data set's name or spec, where there is one.
        data: Option<String>,
        /// The message shown, naming the data set and the split.
        message: String,
    },
    /// A checkpoint (or a file about to be overwritten as one) whose contents do not fit: a
    /// network that does not validate, parameters its metadata does not describe, parameters
    /// only where a training checkpoint is needed.
    #[error("{}: {problem}", path.display())]
    Checkpoint {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A checkpoint of another model than the command or the options need (a VAE for a CVAE,
    /// another latent dimension or network).
    #[error("{}: {problem}", checkpoint.display())]
    WrongModel {
        /// The checkpoint.
        checkpoint: std::path::PathBuf,
        /// What it is, and what is needed.
        problem: String,
    },
    /// The CVAE asked to decode latent points without a class for each.
    #[error("the CVAE needs a class for each of the {points} latent points, got {classes}")]
    ClassCount {
        /// Latent points.
        points: usize,
        /// Classes given.
        classes: usize,
    },
    /// Data-parallel replicas or MPI ranks that cannot run as asked: too few images for the
    /// replicas, MPI missing or already initialised, a replica that could not start or
    /// panicked, or another rank that failed (whose own message names the cause).
    #[error("{message}")]
    DataParallel {
        /// This process's rank, where the error is about another rank's failure.
        rank: Option<usize>,
        /// The message shown.
        message: String,
    },
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

/// The message of [`ModelError::ClassifierImageSize`].
fn classifier_image_message(image: Option<&str>, side: usize) -> String {
    match image {
        Some(i) => format!(
            "{i} is {side}x{side}; the classifier takes 150x150 (smaller images are zero-padded)"
        ),
        None => format!("the classifier takes 150x150 images, got {side}x{side}"),
    }
}

/// A learning rate (`--lr`) must be positive and finite: a [`ModelError::InvalidOption`]
/// otherwise.
pub(crate) fn check_learning_rate(lr: f64) -> Result<(), ModelError> {
    if lr.is_finite() && lr > 0.0 {
        Ok(())
    } else {
        Err(ModelError::invalid_option(
            "--lr",
            lr,
            format!("the learning rate must be positive and finite, got {lr}"),
        ))
    }
}

impl ModelError {
    /// A [`ModelError::InvalidOption`]: `option` holding `value`, and the message shown.
    pub fn invalid_option(
        option: &'static str,
        value: impl std::fmt::Display,
        message: impl Into<String>,
    ) -> Self {
        ModelError::InvalidOption {
            option,
            value: value.to_string(),
            message: message.into(),
        }
    }

    /// A [`ModelError::ConflictingOptions`] between `options`, and the message shown.
    pub fn conflicting_options(options: &[&'static str], message: impl Into<String>) -> Self {
        ModelError::ConflictingOptions {
            options: options.to_vec(),
            message: message.into(),
        }
    }

    /// A [`ModelError::UnknownName`]: `name` is not a `what` (`known` lists those that are).
    pub fn unknown_name(
        what: &'static str,
        name: impl Into<String>,
        known: impl Into<String>,
    ) -> Self {
        ModelError::UnknownName {
            what,
            name: name.into(),
            known: known.into(),
        }
    }

    /// A [`ModelError::Csv`] of `path` (at `line`, where known).
    pub(crate) fn csv(path: &std::path::Path, line: Option<usize>, source: csv::Error) -> Self {
        ModelError::Csv {
            path: path.to_path_buf(),
            line,
            source,
        }
    }

    /// A [`ModelError::CsvContent`] of `path` (at `line`, where there is one).
    pub(crate) fn csv_content(
        path: &std::path::Path,
        line: Option<usize>,
        problem: impl Into<String>,
    ) -> Self {
        ModelError::CsvContent {
            path: path.to_path_buf(),
            line,
            problem: problem.into(),
        }
    }

    /// A [`ModelError::Checkpoint`] of `path`.
    pub(crate) fn checkpoint(path: &std::path::Path, problem: impl Into<String>) -> Self {
        ModelError::Checkpoint {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }

    /// A [`ModelError::WrongModel`]: `checkpoint` is not the model needed.
    pub fn wrong_model(checkpoint: &std::path::Path, problem: impl Into<String>) -> Self {
        ModelError::WrongModel {
            checkpoint: checkpoint.to_path_buf(),
            problem: problem.into(),
        }
    }

    /// A [`ModelError::NoImages`] of `data` (where named).
    pub fn no_images(data: Option<&str>, message: impl Into<String>) -> Self {
        ModelError::NoImages {
            data: data.map(str::to_string),
            message: message.into(),
        }
    }

    /// A [`ModelError::DataParallel`] (on `rank`, for another rank's failure).
    pub fn data_parallel(rank: Option<usize>, message: impl Into<String>) -> Self {
        ModelError::DataParallel {
            rank,
            message: message.into(),
        }
    }

    /// A [`ModelError::TensorRead`] of `what` from burn's error.
    pub(crate) fn tensor_read(what: &'static str, e: impl std::fmt::Display) -> Self {
        ModelError::TensorRead {
            what,
            reason: e.to_string(),
        }
    }
}
