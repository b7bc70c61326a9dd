//! Warnings: what Pyro reports with Python's `warnings.warn` (a model latent the guide never
//! samples, say), as values a program can see.
//!
//! [`warn`] hands a [`PplWarning`] to the process's handler: by default it is printed to
//! stderr once per distinct message (Python's default filter), and a program sets its own
//! with [`set_warning_handler`] (to log it, count it, or stop). [`catch_warnings`] collects the
//! warnings a closure raises on this thread instead, as Python's
//! `warnings.catch_warnings(record=True)` does, for tests.
//!
//! ```
//! use lobes_ppl::warnings::{PplWarning, catch_warnings, warn};
//! let ((), seen) = catch_warnings(|| warn(PplWarning::ModelOnlySites { sites: vec!["z".into()] }));
//! assert_eq!(seen.len(), 1);
//! assert!(seen[0].to_string().contains("Found vars in model but not guide: {z}"));
//! ```

use std::cell::RefCell;
use std::sync::{Mutex, RwLock};

/// What the PPL warns about.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PplWarning {
    /// Latent sites of the model that the guide does not sample: they are drawn from the
    /// model's prior (Pyro's "Found vars in model but not guide").
    #[error("Found vars in model but not guide: {{{}}} (sampled from the model's prior)", .sites.join(", "))]
    ModelOnlySites {
        /// The sites.
        sites: Vec<String>,
    },
    /// Parameters registered in a step (by [`crate::module`] or [`crate::param`]) that got no
    /// gradient although other parameters of the same module did: the loss does not depend on
    /// them, so they never train. The usual cause is a guide (or model) that calls a field of
    /// the template struct given to `module` instead of the module `module` returns (Pyro's
    /// `examples/cvae` pattern: torch modules hold their own parameters, burn templates do
    /// not). With validation on this is an error ([`crate::PplError::UntrainedParameters`]).
    #[error("{}", untrained_message(.module, .params))]
    UntrainedParameters {
        /// The module: the names' first component.
        module: String,
        /// The parameters without a gradient.
        params: Vec<String>,
    },
    /// [`crate::infer::Predictive::from_samples`] given draws whose leading dim differs from
    /// its `num_samples`: the leading dim is used (Pyro's warning and rule).
    #[error(
        "Sample's leading dimension size {leading} is different from the provided {num_samples} num_samples argument. Defaulting to {leading}."
    )]
    PredictiveSamples {
        /// What `Predictive::new` was given.
        num_samples: usize,
        /// The samples' leading dim, used.
        leading: usize,
    },
}

/// The message of [`PplWarning::UntrainedParameters`] and its error form.
pub(crate) fn untrained_message(module: &str, params: &[String]) -> String {
    format!(
        "parameters of module '{module}' got no gradient while others of it did: {} (the loss \
         does not depend on them, so they never train; call the module that \
         `module(\"{module}\", ..)` returns, not the template's field)",
        params.join(", ")
    )
}

type Handler = Box<dyn Fn(&PplWarning) + Send + Sync>;

static HANDLER: RwLock<Option<Handler>> = RwLock::new(None);
static PRINTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

thread_local! {
    static CAUGHT: RefCell<Option<Vec<PplWarning>>> = const { RefCell::new(None) };
}

/// Replaces the process's warning handler (`None`: the default, which prints each distinct
/// message to stderr once, prefixed `warning: `).
pub fn set_warning_handler(handler: Option<Handler>) {
    *HANDLER.write().unwrap_or_else(|e| e.into_inner()) = handler;
}

/// Raises `w`: collected if this thread is inside [`catch_warnings`], else handed to the
/// handler.
pub fn warn(w: PplWarning) {
    let caught = CAUGHT.with(|c| match c.borrow_mut().as_mut() {
        Some(v) => {
            v.push(w.clone());
            true
        }
        None => false,
    });
    if caught {
        return;
    }
    if let Some(h) = HANDLER.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        return h(&w);
    }
    let msg = w.to_string();
    let mut printed = PRINTED.lock().unwrap_or_else(|e| e.into_inner());
    if !printed.contains(&msg) {
        eprintln!("warning: {msg}");
        printed.push(msg);
    }
}

/// Runs `f` and returns what it returned with the warnings it raised on this thread (none of
/// them reaches the handler). Nested calls each see their own.
pub fn catch_warnings<R>(f: impl FnOnce() -> R) -> (R, Vec<PplWarning>) {
    let outer = CAUGHT.with(|c| c.borrow_mut().replace(Vec::new()));
    struct Restore(Option<Option<Vec<PplWarning>>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(outer) = self.0.take() {
                CAUGHT.with(|c| *c.borrow_mut() = outer);
            }
        }
    }
    let mut restore = Restore(Some(outer));
    let r = f();
    let mine = CAUGHT.with(|c| c.borrow_mut().take()).unwrap_or_default();
    if let Some(outer) = restore.0.take() {
        CAUGHT.with(|c| *c.borrow_mut() = outer);
    }
    (r, mine)
}
