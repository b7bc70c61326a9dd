//! lobes-models: radio-galaxy data sets and the models of Bastien et al. (2021), written as
//! model/guide pairs in `lobes-ppl`.

pub mod analysis;
pub mod bench;
pub mod data;
pub mod error;
pub mod export;
pub mod field;
pub mod figures;
pub mod generate;
pub mod init;
pub mod kernels;
pub mod memory;
pub mod output;
pub mod plot;
pub mod ramis;
pub mod train;
pub mod vae;

pub use error::ModelError;

pub use lobes_ppl as ppl;
