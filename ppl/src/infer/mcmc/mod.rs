//! Markov chain Monte Carlo: the No-U-Turn Sampler and HMC on a model's unconstrained space
//! (Pyro's `pyro.infer.mcmc`, NumPyro's `numpyro.infer.mcmc`).
//!
//! ```text
//! Pyro                                          lobes
//! mcmc = MCMC(NUTS(model), num_samples=1000,    let mut mcmc = Mcmc::new(Nuts::new(model))
//!             warmup_steps=1000, num_chains=2)      .num_samples(1000).num_warmup(1000).num_chains(2);
//! mcmc.run(data)                                mcmc.run(&data)?;
//! mcmc.get_samples()                            mcmc.get_samples()?
//! mcmc.summary()                                println!("{}", mcmc.summary()?);
//! Predictive(model, mcmc.get_samples())(data)   Predictive::new(n).from_samples(&model, &mcmc.get_samples()?, &data)?
//! ```
//!
//! - [`potential`]: `U(z) = -log p(x, T(z)) - log|det J_T(z)|` and its gradient by autodiff,
//!   every continuous latent mapped to ℝⁿ by its support's bijection; enumerated discrete
//!   sites summed out exactly.
//! - [`hmc`]: the leapfrog integrator, the step-size search, the HMC transition.
//! - [`nuts`]: the NUTS transition (multinomial, generalised U-turn criterion, as Stan).
//! - [`adapt`]: dual averaging of the step size and windowed mass-matrix estimation (Stan's).
//! - [`kernel`]: [`Nuts`] and [`Hmc`] and their settings.
//! - [`runner`]: [`Mcmc`], chains in turn or on threads.
//! - [`diagnostics`] and [`summary`]: R̂ and effective sample sizes as ArviZ computes them.
//!
//! The sampler's arithmetic is `f64`; the model runs in the tensors' `f32` (as NumPyro runs
//! in JAX's default `float32`). Why not the `nuts-rs` crate: docs/user-guide.md ("MCMC").

pub mod adapt;
pub mod diagnostics;
pub mod hmc;
pub mod kernel;
pub mod nuts;
pub mod potential;
pub mod runner;
pub mod summary;

pub use kernel::{Hmc, Kernel, KernelOptions, Nuts};
pub use runner::Mcmc;
pub use summary::{ChainStats, Summary, SummaryRow};
