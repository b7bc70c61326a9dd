//! Typed errors. Every error raised at a site names the site, and where shapes are involved,
//! the plate and both shapes, as Pyro's messages do.

use crate::dist::DistError;
use crate::shape::{Dims, ShapeError};

/// Everything that can go wrong while running a model or guide under the PPL.
#[derive(Debug, thiserror::Error)]
pub enum PplError {
    /// Two sites with the same name ran in one trace.
    #[error("Multiple sites named '{name}' in one run: site names must be unique")]
    DuplicateSite {
        /// The repeated name.
        name: String,
    },
    /// A subsampled plate built afresh a second time in one run.
    #[error(
        "plate('{name}') draws a second subsample in one run: draw it once with \
         `plate(..).subsample_size(k).subsampled()?` and run that plate each time (as Pyro \
         reuses one plate object)"
    )]
    DuplicatePlate {
        /// The plate's name.
        name: String,
    },
    /// An observed value whose shape does not fit the distribution.
    #[error(
        "site '{site}': observed value shape {value} does not match the distribution's shape, batch {batch} + event {event}"
    )]
    ObservedShape {
        /// The site.
        site: String,
        /// The observed value's shape.
        value: Dims,
        /// The distribution's batch shape.
        batch: Dims,
        /// The distribution's event shape.
        event: Dims,
    },
    /// A distribution whose batch shape does not broadcast with an enclosing plate.
    #[error(
        "Shape mismatch inside plate('{plate}') at site '{site}' dim {dim}: plate size {size} vs batch shape {batch}"
    )]
    PlateShape {
        /// The site.
        site: String,
        /// The plate.
        plate: String,
        /// The plate's (negative) dim.
        dim: isize,
        /// The plate's size (its subsample size when subsampled).
        size: usize,
        /// The distribution's batch shape.
        batch: Dims,
    },
    /// A log-prob with batch dims its plates do not declare (Pyro's `check_site_shape`).
    #[error(
        "at site '{site}', invalid log_prob shape. Expected {expected}, actual {actual}: {reason}"
    )]
    LogProbShape {
        /// The site.
        site: String,
        /// The shape its plates declare, `-1` where any size is allowed.
        expected: String,
        /// The log-prob's shape.
        actual: Dims,
        /// Which dim is wrong, naming its plate where it has one.
        reason: String,
    },
    /// An observed value whose size at a plate's dim is neither 1 nor the plate's size.
    #[error(
        "Shape mismatch inside plate('{plate}') at site '{site}' dim {dim}: plate size {size} vs observed value shape {value}"
    )]
    ObservedPlateShape {
        /// The site.
        site: String,
        /// The plate.
        plate: String,
        /// The plate's (negative) dim.
        dim: isize,
        /// The plate's size (its subsample size when subsampled).
        size: usize,
        /// The observed value's shape.
        value: Dims,
    },
    /// A plate asked for a dim an enclosing plate already holds.
    #[error("plate('{plate}') asks for dim {dim}, already used by the enclosing plate('{other}')")]
    PlateDimCollision {
        /// The new plate.
        plate: String,
        /// The dim asked for.
        dim: isize,
        /// The enclosing plate holding that dim.
        other: String,
    },
    /// A plate with invalid arguments (size 0, subsample larger than size, a positive dim, ...).
    #[error("plate('{plate}'): {reason}")]
    InvalidPlate {
        /// The plate.
        plate: String,
        /// What is wrong.
        reason: String,
    },
    /// A distribution that is invalid at a site (bad parameters, bad value, bad shapes).
    #[error("site '{site}': {source}")]
    Distribution {
        /// The site.
        site: String,
        /// The distribution's own error.
        #[source]
        source: DistError,
    },
    /// A log-probability that is NaN or infinite.
    #[error("site '{site}': log_prob of {dist} is not finite (NaN or inf); value shape {shape}")]
    NonFiniteLogProb {
        /// The site.
        site: String,
        /// The distribution.
        dist: String,
        /// The value's shape.
        shape: Dims,
    },
    /// A site's value asked for at a rank it does not have.
    #[error("site '{site}': {source}")]
    SiteShape {
        /// The site.
        site: String,
        /// The shape problem.
        #[source]
        source: ShapeError,
    },
    /// A parameter that is neither in the store nor given an initial value.
    #[error("param '{name}' is not in the parameter store and no initial value was given")]
    MissingParam {
        /// The parameter.
        name: String,
    },
    /// A parameter whose value or constraint is invalid.
    #[error("param '{name}': {reason}")]
    InvalidParam {
        /// The parameter.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// An optimiser state (from a checkpoint) without a value the optimiser needs.
    #[error("{optimizer} state has no '{missing}'")]
    OptimizerState {
        /// The optimiser.
        optimizer: String,
        /// The missing scalar or tensor.
        missing: String,
    },
    /// A handler (`scale`, `scale_by`, `enumerate`, the handler stack itself) given arguments
    /// it cannot use.
    #[error("{handler}: {reason}")]
    InvalidHandler {
        /// The handler.
        handler: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A site that lacks its distribution or its value where one is needed: a handler removed
    /// it, or the site was built by hand without it.
    #[error("{stage}: site '{site}' has no {missing}")]
    IncompleteSite {
        /// Where it was needed: `sample` (the end of the handler stack), `apply_stack` (after
        /// it), `init_loc_fn` (an autoguide's initial value).
        stage: &'static str,
        /// The site.
        site: String,
        /// What it lacks: `distribution` or `value`.
        missing: &'static str,
    },
    /// A `factor` in the guide that does not say whether it is reparameterised.
    #[error(
        "At guide site pyro.factor(\"{site}\",...), missing specification of has_rsample. Please either set has_rsample=True if the factor statement arises from reparametrized sampling or has_rsample=False otherwise (lobes: factor_with(\"{site}\", log_factor, has_rsample))"
    )]
    GuideFactorRsample {
        /// The factor site.
        site: String,
    },
    /// An autoguide that cannot handle a latent site of its model (a discrete or unsupported
    /// distribution, a subsampled plate).
    #[error("{guide}: cannot guide site '{site}': {reason}")]
    Autoguide {
        /// The autoguide (`AutoNormal`, `AutoDiagonalNormal`, `AutoMultivariateNormal`,
        /// `AutoDelta`).
        guide: &'static str,
        /// The site.
        site: String,
        /// What is wrong.
        reason: String,
    },
    /// A reparameterisation that cannot be applied at a site.
    #[error("{reparam} cannot reparameterise site '{site}': {reason}")]
    Reparam {
        /// The reparameteriser (`LocScaleReparam`).
        reparam: &'static str,
        /// The site.
        site: String,
        /// What is wrong.
        reason: String,
    },
    /// A site marked for enumeration that cannot be enumerated here: its support is not
    /// finite, its batch dims reach the dim enumeration would use, or the enumerated value
    /// would exceed the rank a `DTensor` holds.
    #[error("cannot enumerate site '{site}': {reason}")]
    Enumeration {
        /// The site.
        site: String,
        /// What is wrong.
        reason: String,
    },
    /// Enumerated sites whose factors cannot be summed out plate by plate (Pyro's
    /// non-tree-structured plates, or model enumeration more global than guide enumeration).
    #[error("cannot sum out the enumerated sites {sites:?} inside plates {plates:?}: {reason}")]
    EnumerationStructure {
        /// The enumerated sites of the factor.
        sites: Vec<String>,
        /// The plates the factor sits in.
        plates: Vec<String>,
        /// What is wrong.
        reason: String,
    },
    /// Parameters of a module that got no gradient while others of the same module did (see
    /// [`crate::warnings::PplWarning::UntrainedParameters`], its form with validation off).
    #[error("{}", crate::warnings::untrained_message(.module, .params))]
    UntrainedParameters {
        /// The module: the names' first component.
        module: String,
        /// The parameters without a gradient.
        params: Vec<String>,
    },
    /// An inference algorithm given settings it cannot work with (`RenyiElbo` with α = 1, or a
    /// guide site it cannot differentiate).
    #[error("{algorithm}: {reason}")]
    InvalidInference {
        /// The algorithm, e.g. `RenyiElbo`.
        algorithm: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Model and guide disagree (a missing site, or different shapes at one site).
    #[error("{0}")]
    ModelGuideMismatch(String),
    /// A shape error outside any site.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// A distribution error outside any site (for example while constructing one).
    #[error(transparent)]
    Dist(#[from] DistError),
    /// A loss that is NaN or infinite, with the trace's shape table.
    #[error("loss is not finite ({loss}); first site with a non-finite log_prob: {site}\n{table}")]
    NonFiniteLoss {
        /// The loss value.
        loss: f64,
        /// The first offending site, or a note that none was found.
        site: String,
        /// The shape table of the traces.
        table: String,
    },
    /// A gradient holding NaN or infinite values, found by the optimiser while it applied the
    /// step (the loss itself was finite). The parameters and optimiser state named then hold
    /// non-finite values: restore a checkpoint before stepping again.
    #[error(
        "step {step}: the gradient of {} held NaN or infinite values (the loss was finite, {loss}); \
         the update has made these parameters non-finite: restore a checkpoint",
        params.join(", ")
    )]
    NonFiniteGradient {
        /// The step (the number of steps completed before it).
        step: u64,
        /// The loss of that step.
        loss: f64,
        /// The parameters whose gradient was not finite.
        params: Vec<String>,
    },
    /// Data-parallel replicas that do not agree (another model, parameter set or shape).
    #[error("data-parallel replicas disagree on '{param}': {reason}")]
    ReplicaMismatch {
        /// The parameter.
        param: String,
        /// What differs.
        reason: String,
    },
    /// A collective operation between data-parallel replicas (an MPI all-reduce, say) that
    /// failed or did not complete in time: a replica died, is stuck, or is at another
    /// collective.
    #[error("data-parallel {op}: {reason}")]
    Collective {
        /// The operation, e.g. `all-reduce of the gradients (bucket 3 of 17, 25.0 MB)`.
        op: String,
        /// What happened, naming the ranks involved.
        reason: String,
    },
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file whose contents are not what was expected.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl PplError {
    /// A [`PplError::Io`] of `path` (lobes-models' `DataError` wraps it too).
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        PplError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// A [`PplError::Format`] of `path` (lobes-models' `DataError` wraps it too).
    pub fn format(path: &std::path::Path, reason: impl Into<String>) -> Self {
        PplError::Format {
            path: path.display().to_string(),
            reason: reason.into(),
        }
    }

    /// Attaches a site name to a distribution error.
    pub fn at_site(site: &str, source: DistError) -> Self {
        PplError::Distribution {
            site: site.to_string(),
            source,
        }
    }
}

/// The result type of the PPL.
pub type Result<T, E = PplError> = std::result::Result<T, E>;
