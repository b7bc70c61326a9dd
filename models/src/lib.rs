//! lobes-models: radio-galaxy data sets and the models of Bastien et al. (2021), written as
//! model/guide pairs in `lobes-ppl`.

pub mod data;

pub use lobes_ppl as ppl;
