//! lobes: simulating populations of radio galaxies with structured variational inference.
//!
//! A facade over the two crates: [`ppl`] (the probabilistic programming language) and
//! [`models`] (radio data, the paper's VAE/CVAE, RAMIS).

pub use lobes_models as models;
pub use lobes_ppl as ppl;
