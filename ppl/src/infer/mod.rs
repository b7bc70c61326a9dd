//! Inference: ELBO estimators, stochastic variational inference and predictive sampling.

pub mod autoguide;
mod chain;
mod checks;
mod contract;
mod discrete;
mod elbo;
mod enum_elbo;
mod free_bits;
pub mod importance;
pub mod init;
pub mod mcmc;
mod mean_field;
pub mod particles;
mod predictive;
pub mod reduce;
mod renyi;
pub mod support;
mod svi;
mod svi_checkpoint;
mod tracegraph;

pub use checks::{check_model_guide_match, check_site_shape, max_plate_nesting};
pub use discrete::infer_discrete;
pub use elbo::{Elbo, ElboEstimate, TraceElbo, get_traces};
pub use enum_elbo::{TraceEnumElbo, get_enum_traces};
pub use free_bits::FreeBits;
pub use mean_field::TraceMeanFieldElbo;
pub use predictive::{Predictive, Samples};
pub use renyi::RenyiElbo;
pub use svi::Svi;
pub use tracegraph::TraceGraphElbo;
