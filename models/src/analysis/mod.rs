//! The paper's analyses of trained models and generated populations: model selection (§5.3,
//! [`select`]), the noise analysis (§6.2, [`noise`]), FRI/FRII pairs (§6.5, [`pairs`]), the
//! RAMIS experiments (§4.1, [`experiments`]), a run beside the paper's own log
//! ([`compare`]), the latent dimensions a model uses ([`latents`]) and one run's row of
//! Tables 3 and 4 ([`grid`]).

pub mod compare;
pub mod experiments;
pub mod grid;
pub mod grid_figure;
pub mod latents;
pub mod noise;
pub mod pairs;
pub mod select;

pub use noise::{LOG_FLOOR, NOISE_THRESHOLD, log_saturated, percent_below, quantile};
pub use pairs::{Pair, pair, principal_axis, profile};
pub use select::{RunScore, select};
