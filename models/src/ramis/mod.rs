//! RAMIS, the radio morphology inception score: the HMT classifier of Tang et al. (2019) that
//! defines it ([`classifier`] for inference with the published weights, [`hmt`] for training
//! it), the score itself and the image degradations of the paper's experiments, and the CVAE
//! class balance ([`balance`]).

pub mod balance;
pub mod bootstrap;
pub mod classifier;
pub mod degrade;
pub mod figure;
pub mod frechet;
pub mod hmt;
pub mod network;
pub mod records;
