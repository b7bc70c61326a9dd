//! The message that travels through the handler stack at every primitive call, and that a
//! trace keeps: Pyro's `msg` dict as a struct.

use crate::constraints::Constraint;
use crate::dist::Distribution;
use crate::tensor::DTensor;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What kind of primitive produced a site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SiteKind {
    /// `sample` (latent or observed), `deterministic` and `factor`.
    Sample,
    /// `param`, and each parameter registered by `module`.
    Param,
    /// The subsample indices of a `plate`.
    Plate,
}

impl SiteKind {
    /// Lower-case name, as the shape table prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            SiteKind::Sample => "sample",
            SiteKind::Param => "param",
            SiteKind::Plate => "plate",
        }
    }
}

/// One enclosing plate, as recorded on a site (Pyro's `CondIndepStackFrame`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlateFrame {
    /// The plate's name.
    pub name: String,
    /// The batch dim it occupies, counted from the right (-1 is the rightmost batch dim).
    pub dim: isize,
    /// The full size of the plate.
    pub size: usize,
    /// How many of the `size` elements this run sees (`size` when not subsampled).
    pub subsample_size: usize,
}

/// Inference hints carried by a site (Pyro's `infer` dict).
#[derive(Clone, Debug, Default)]
pub struct InferConfig {
    /// An auxiliary site, ignored by model/guide agreement checks.
    pub is_auxiliary: bool,
    /// Set by `deterministic`: the site records a value but contributes no log-density.
    pub deterministic: bool,
    /// Set by `uncondition`: the observation this site had before it was unconditioned.
    pub obs: Option<DTensor>,
    /// Free-form flags for user handlers and inference algorithms.
    pub flags: BTreeMap<String, String>,
    /// Set by [`config_enumerate`](crate::handlers::config_enumerate) (Pyro's
    /// `infer={"enumerate": "parallel"}`): under `TraceEnumElbo` and `infer_discrete` the
    /// site takes every value of its support at once, along a dim of its own.
    pub enumerate: bool,
    /// With `enumerate`: enumerate by running the guide once per value (Pyro's
    /// `infer={"enumerate": "sequential"}`, set by
    /// [`config_enumerate_sequential`](crate::handlers::config_enumerate_sequential)) rather
    /// than along a dim; `TraceEnumElbo` sums the runs weighted by their probabilities.
    pub sequential: bool,
    /// With `enumerate`: the enumerated values fill the batch dims too (Pyro's
    /// `infer={"expand": True}`), as a network fed with them may need.
    pub expand: bool,
    /// Set by the enumeration handler: the dim (negative, from the right) along which the
    /// site's value enumerates its support (Pyro's `_enumerate_dim`).
    pub enum_dim: Option<isize>,
    /// Set by [`markov`](crate::handlers::markov): the sample sites this site may depend on
    /// in the markov window (itself, its step's and the `history` steps before it); an
    /// enumerated site may reuse the dim of an enumerated site outside it.
    pub markov_visible: Option<std::sync::Arc<std::collections::BTreeSet<String>>>,
    /// Set by the enumeration handler once dims have been reused (markov): which enumerated
    /// site holds each enumeration dim when this site runs, `(dim, site)`, so variable
    /// elimination knows which variable a dim of this site's log-density is.
    pub enum_owners: Option<std::sync::Arc<Vec<(isize, String)>>>,
}

/// A primitive call in flight (a message) or recorded (a trace node).
#[derive(Clone, Debug)]
pub struct Site {
    /// The site's name, unique within one run.
    pub name: String,
    /// The primitive that made it.
    pub kind: SiteKind,
    /// The distribution (sample sites).
    pub dist: Option<Arc<dyn Distribution>>,
    /// The value: drawn, observed, replayed, or the parameter's constrained value.
    pub value: Option<DTensor>,
    /// Whether the value is data rather than a draw.
    pub is_observed: bool,
    /// Multiplies the log-density (subsampling, `scale` handler).
    pub scale: f64,
    /// Per-element factors of the log-density, broadcast with its batch shape, on top of
    /// `scale` (the [`crate::handlers::scale_by`] handler: Pyro's `poutine.scale` with a
    /// tensor).
    pub weights: Option<DTensor>,
    /// Zero masks out elements of the log-density (`mask` handler).
    pub mask: Option<DTensor>,
    /// Enclosing plates, outermost first.
    pub plates: Vec<PlateFrame>,
    /// Inference hints.
    pub infer: InferConfig,
    /// Parameter sites: the constraint of the value.
    pub constraint: Constraint,
    /// Parameter sites: the initial (constrained) value used if the store lacks this name.
    pub init: Option<DTensor>,
    /// Parameter sites: the unconstrained tensor the value was computed from (the leaf whose
    /// gradient an optimiser reads).
    pub unconstrained: Option<DTensor>,
    /// Plate sites: the subsample indices.
    pub indices: Option<Arc<Vec<usize>>>,
    /// `log_prob(value)` before scale and mask, of the batch shape.
    pub unscaled_log_prob: Option<DTensor>,
    /// The scaled and masked log-density, of the batch shape.
    pub log_prob: Option<DTensor>,
    /// Sum of `log_prob` (a scalar).
    pub log_prob_sum: Option<DTensor>,
    /// Set by a handler to hide the message from the handlers outside it.
    pub stop: bool,
    /// Set by a handler that has provided the value itself.
    pub done: bool,
}

impl Site {
    /// A fresh message of the given kind.
    pub fn new(name: &str, kind: SiteKind) -> Self {
        Site {
            name: name.to_string(),
            kind,
            dist: None,
            value: None,
            is_observed: false,
            scale: 1.0,
            weights: None,
            mask: None,
            plates: vec![],
            infer: InferConfig::default(),
            constraint: Constraint::Real,
            init: None,
            unconstrained: None,
            indices: None,
            unscaled_log_prob: None,
            log_prob: None,
            log_prob_sum: None,
            stop: false,
            done: false,
        }
    }

    /// A sample site not observed and not deterministic: a latent variable.
    pub fn is_latent(&self) -> bool {
        self.kind == SiteKind::Sample && !self.is_observed
    }

    /// How many batch dims, from the right, the site's plates span (the deepest plate's dim).
    pub fn plate_width(&self) -> usize {
        self.plates
            .iter()
            .map(|f| (-f.dim) as usize)
            .max()
            .unwrap_or(0)
    }

    /// The value, or an empty shape.
    pub fn value_shape(&self) -> Vec<usize> {
        self.value
            .as_ref()
            .map(|v| v.shape().to_vec())
            .unwrap_or_default()
    }
}
