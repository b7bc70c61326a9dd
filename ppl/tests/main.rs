//! lobes-ppl's integration tests as one binary, each file a module: one binary links and
//! instantiates the library's generics once instead of once per file (twenty binaries took
//! 412 CPU-seconds of a cold test build). `cargo test -p lobes-ppl --test ppl autoguides::`
//! runs one file's tests.
//! `silent_failures.rs` stays its own binary: it turns validation off process-wide for a
//! moment, which would race the other files' tests here.

mod support;

mod autoguides;
mod data_parallel;
mod distributions;
mod do_reparam;
mod enumeration;
mod errors;
mod families;
mod flows;
mod handlers;
mod importance;
mod inference;
mod mcmc;
mod module;
mod parity;
mod plates;
mod prelude;
mod pyro_distributions;
mod relaxed;
mod reparam_dists;
mod vectorized;
