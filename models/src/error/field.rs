//! Errors of a simulated field's options.

/// What can go wrong before or while a field is written.
#[derive(Debug, thiserror::Error)]
pub enum FieldError {
    /// An option that cannot work, named as on the command line.
    #[error("{option}: {reason}")]
    Option {
        /// The option, e.g. `--rms`.
        option: &'static str,
        /// What is wrong, with the value.
        reason: String,
    },
}

impl FieldError {
    /// An error about `option`.
    pub fn option(option: &'static str, reason: impl Into<String>) -> Self {
        FieldError::Option {
            option,
            reason: reason.into(),
        }
    }
}
