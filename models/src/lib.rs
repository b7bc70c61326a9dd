//! lobes-models: radio-galaxy data sets and the models of Bastien et al. (2021), written as
//! model/guide pairs in `lobes-ppl`.

pub mod analysis;
pub mod bench;
pub mod chart;
pub mod classifier;
pub mod compare;
pub mod data;
pub mod dropout;
pub mod error;
pub mod experiments;
pub mod field;
pub mod figures;
pub mod generate;
pub mod hmt;
pub mod linear;
pub mod sparse;
pub mod sparse_op;
pub mod train;
pub mod vae;
pub mod wcs;

pub use error::ModelError;

pub use lobes_ppl as ppl;
