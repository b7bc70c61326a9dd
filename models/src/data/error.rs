//! Data errors: every one names the file (or URL) it is about.

use lobes_ppl::PplError;

/// Errors reading, preparing, fetching or writing data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The operating system refused a read or write ([`PplError::Io`]), or a file's contents
    /// are not what was expected ([`PplError::Format`]): the PPL's own two file errors, so that
    /// one pattern, `PplError::Io { path, source }`, matches a file error of either crate. Built
    /// by [`DataError::io`] and [`DataError::format`]; it holds no other `PplError`. Boxed: a
    /// `PplError` inline would make every `Result<_, ModelError>` larger.
    #[error(transparent)]
    File(Box<PplError>),
    /// A class label other than 0 (FRI) or 1 (FRII).
    #[error("{path}: label {label} at position {index} is neither 0 (FRI) nor 1 (FRII)")]
    Label {
        /// The file.
        path: String,
        /// Position of the label in the file.
        index: usize,
        /// The label found.
        label: i64,
    },
    /// An image of the wrong shape.
    #[error("{path}: image {index} has {got} pixels, expected {expected}")]
    Shape {
        /// The file.
        path: String,
        /// Position of the image in the file.
        index: usize,
        /// Pixels expected.
        expected: String,
        /// Pixels found.
        got: String,
    },
    /// A download whose MD5 does not match.
    #[error(
        "{path}: MD5 {got} does not match the published {expected}; the download was discarded"
    )]
    Checksum {
        /// The file (or URL).
        path: String,
        /// Published checksum.
        expected: String,
        /// Checksum of what arrived.
        got: String,
    },
    /// An HTTP failure.
    #[error("{url}: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

impl DataError {
    /// A format error for `path`: a [`DataError::File`] holding [`PplError::Format`].
    pub fn format(path: &std::path::Path, reason: impl Into<String>) -> Self {
        DataError::File(Box::new(PplError::format(path, reason)))
    }
    /// An I/O error for `path`: a [`DataError::File`] holding [`PplError::Io`].
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        DataError::File(Box::new(PplError::io(path, source)))
    }
}
