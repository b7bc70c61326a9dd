//! The compute kernels of the VAE's networks: dense layers with a faster backward pass
//! ([`linear`]), the first layer on mostly-zero images ([`sparse`], through the custom
//! autodiff operation of [`sparse_op`]) and dropout drawn in parallel ([`dropout`]).

pub mod dropout;
pub mod linear;
pub mod sparse;
pub mod sparse_op;
