//! The compute kernels of the VAE's networks: dense layers with a faster backward pass
//! ([`linear`]), the first layer on mostly-zero images ([`sparse`], through the custom
//! autodiff operation of [`sparse_op`]), dropout drawn in parallel ([`dropout`]), the decoder's
//! sigmoid in parallel ([`sigmoid`]), and the bf16
//! matrix products of `--precision bf16` ([`precision`], on Intel's AMX tiles: [`amx`]), over
//! the strided views and f32 product of [`matrix`].

pub mod amx;
pub mod dropout;
pub mod linear;
pub mod matrix;
pub mod precision;
pub mod sigmoid;
pub mod sparse;
pub mod sparse_op;
mod tracked;
