//! The two Hamiltonian kernels and their settings: [`Nuts`] (Pyro's `NUTS`) and [`Hmc`]
//! (Pyro's `HMC`).

use super::adapt::Metric;
use super::hmc::{Phase, PotentialFn, TransitionStats, hmc_transition};
use super::nuts::nuts_transition;
use crate::error::Result;
use crate::infer::init::InitLoc;
use rand_chacha::ChaCha8Rng;

/// Settings both kernels share (Pyro's `HMC`/`NUTS` keyword arguments).
#[derive(Clone, Debug)]
pub struct KernelOptions {
    /// The initial step size (default 1; searched from there when adapted).
    pub step_size: f64,
    /// Adapt the step size in warm-up by dual averaging (default true).
    pub adapt_step_size: bool,
    /// Adapt the mass matrix in warm-up (default true).
    pub adapt_mass_matrix: bool,
    /// A dense mass matrix instead of a diagonal one (default false).
    pub dense_mass: bool,
    /// The mean acceptance probability dual averaging aims at (default 0.8).
    pub target_accept_prob: f64,
    /// How each chain's initial point is chosen (default `init_to_median`, as Pyro's and
    /// NumPyro's kernels).
    pub init_strategy: InitLoc,
}

impl Default for KernelOptions {
    fn default() -> Self {
        KernelOptions {
            step_size: 1.0,
            adapt_step_size: true,
            adapt_mass_matrix: true,
            dense_mass: false,
            target_accept_prob: 0.8,
            init_strategy: InitLoc::median(),
        }
    }
}

/// A Hamiltonian Monte Carlo kernel: a model and how to move through its unconstrained space.
pub trait Kernel {
    /// The model, `Fn(&A) -> Result<R>`.
    type Model;
    /// The kernel's name in errors and summaries (`"NUTS"`, `"HMC"`).
    const NAME: &'static str;
    /// The model.
    fn model(&self) -> &Self::Model;
    /// The shared settings.
    fn options(&self) -> &KernelOptions;
    /// One transition from `s`.
    fn transition(
        &self,
        s: &Phase,
        step_size: f64,
        metric: &Metric,
        potential: &mut PotentialFn,
        rng: &mut ChaCha8Rng,
    ) -> Result<(Phase, TransitionStats)>;
}

/// The `Model` type and the `model` and `options` methods of a kernel holding `model` and
/// `options` fields.
macro_rules! kernel_fields {
    () => {
        type Model = M;
        fn model(&self) -> &M {
            &self.model
        }
        fn options(&self) -> &KernelOptions {
            &self.options
        }
    };
}

macro_rules! option_setters {
    () => {
        /// The initial step size (Pyro's `step_size`, default 1).
        pub fn step_size(mut self, eps: f64) -> Self {
            self.options.step_size = eps;
            self
        }
        /// Whether warm-up adapts the step size (Pyro's `adapt_step_size`, default true).
        pub fn adapt_step_size(mut self, on: bool) -> Self {
            self.options.adapt_step_size = on;
            self
        }
        /// Whether warm-up adapts the mass matrix (Pyro's `adapt_mass_matrix`, default true).
        pub fn adapt_mass_matrix(mut self, on: bool) -> Self {
            self.options.adapt_mass_matrix = on;
            self
        }
        /// A dense mass matrix (Pyro's `full_mass=True`, NumPyro's `dense_mass=True`).
        pub fn dense_mass(mut self, on: bool) -> Self {
            self.options.dense_mass = on;
            self
        }
        /// The acceptance probability warm-up aims at (Pyro's `target_accept_prob`, 0.8).
        pub fn target_accept_prob(mut self, p: f64) -> Self {
            self.options.target_accept_prob = p;
            self
        }
        /// How chains start (Pyro's `init_strategy`: [`InitLoc::median`], `Sample`,
        /// [`InitLoc::value`], `Feasible`).
        pub fn init_strategy(mut self, init: InitLoc) -> Self {
            self.options.init_strategy = init;
            self
        }
    };
}

/// The No-U-Turn Sampler (Pyro's `NUTS(model)`, NumPyro's `NUTS`): HMC whose trajectory
/// doubles until it turns back on itself, with multinomial sampling along it.
///
/// ```
/// use lobes_ppl::prelude::*;
/// use lobes_ppl::infer::mcmc::{Mcmc, Nuts};
/// let d = Device::flex();
/// let model = |_: &()| -> Result<()> {
///     sample::<DTensor>("x", Normal::new(DTensor::scalar(0.0, &d), DTensor::scalar(1.0, &d))?)?;
///     Ok(())
/// };
/// let mut mcmc = Mcmc::new(Nuts::new(model)).num_warmup(200).num_samples(400).seed(1);
/// mcmc.run(&())?;
/// let x = mcmc.get_samples()?.get("x").unwrap().to_vec();
/// let mean = x.iter().sum::<f32>() / x.len() as f32;
/// assert!(mean.abs() < 0.3, "{mean}");
/// # Ok::<(), PplError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Nuts<M> {
    model: M,
    options: KernelOptions,
    max_tree_depth: usize,
}

impl<M> Nuts<M> {
    /// NUTS on `model` with Pyro's defaults (adapted step size and diagonal mass matrix,
    /// target acceptance 0.8, tree depth at most 10).
    pub fn new(model: M) -> Self {
        Nuts {
            model,
            options: KernelOptions::default(),
            max_tree_depth: 10,
        }
    }
    /// The most doublings of a trajectory (Pyro's `max_tree_depth`, default 10).
    pub fn max_tree_depth(mut self, depth: usize) -> Self {
        self.max_tree_depth = depth.max(1);
        self
    }
    option_setters!();
}

impl<M> Kernel for Nuts<M> {
    kernel_fields!();
    const NAME: &'static str = "NUTS";
    fn transition(
        &self,
        s: &Phase,
        step_size: f64,
        metric: &Metric,
        potential: &mut PotentialFn,
        rng: &mut ChaCha8Rng,
    ) -> Result<(Phase, TransitionStats)> {
        nuts_transition(s, step_size, self.max_tree_depth, metric, potential, rng)
    }
}

/// Hamiltonian Monte Carlo with a fixed trajectory length (Pyro's `HMC(model,
/// trajectory_length=...)` or `num_steps=...`).
///
/// ```
/// use lobes_ppl::prelude::*;
/// use lobes_ppl::infer::mcmc::{Hmc, Mcmc};
/// let d = Device::flex();
/// let model = |_: &()| -> Result<()> {
///     sample::<DTensor>("s", LogNormal::new(DTensor::scalar(0.0, &d), DTensor::scalar(1.0, &d))?)?;
///     Ok(())
/// };
/// let mut mcmc = Mcmc::new(Hmc::new(model).num_steps(10)).num_warmup(200).num_samples(300);
/// mcmc.run(&())?;
/// // The positive site is sampled in log space and returned in its support.
/// assert!(mcmc.get_samples()?.get("s").unwrap().to_vec().iter().all(|&s| s > 0.0));
/// # Ok::<(), PplError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Hmc<M> {
    model: M,
    options: KernelOptions,
    trajectory_length: f64,
    num_steps: Option<usize>,
}

impl<M> Hmc<M> {
    /// HMC on `model`, trajectories of length 2π (Pyro's default).
    pub fn new(model: M) -> Self {
        Hmc {
            model,
            options: KernelOptions::default(),
            trajectory_length: 2.0 * std::f64::consts::PI,
            num_steps: None,
        }
    }
    /// The trajectory length `L`; each transition takes `max(1, round(L / ε))` steps.
    pub fn trajectory_length(mut self, length: f64) -> Self {
        self.trajectory_length = length;
        self.num_steps = None;
        self
    }
    /// A fixed number of leapfrog steps per transition, whatever the step size.
    pub fn num_steps(mut self, n: usize) -> Self {
        self.num_steps = Some(n.max(1));
        self
    }
    option_setters!();
}

impl<M> Kernel for Hmc<M> {
    kernel_fields!();
    const NAME: &'static str = "HMC";
    fn transition(
        &self,
        s: &Phase,
        step_size: f64,
        metric: &Metric,
        potential: &mut PotentialFn,
        rng: &mut ChaCha8Rng,
    ) -> Result<(Phase, TransitionStats)> {
        let n = self.num_steps.unwrap_or_else(|| {
            ((self.trajectory_length / step_size).round() as usize).clamp(1, 1 << 16)
        });
        hmc_transition(s, step_size, n, metric, potential, rng)
    }
}
