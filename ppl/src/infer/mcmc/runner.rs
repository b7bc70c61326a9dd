//! [`Mcmc`]: warm-up with adaptation, then sampling, for one or more chains (Pyro's
//! `MCMC(kernel, num_samples, warmup_steps, num_chains)`, NumPyro's `MCMC`).

use super::adapt::{DualAveraging, Metric, Windows};
use super::hmc::{Phase, find_step_size};
use super::kernel::Kernel;
use super::potential::{McmcSite, Potential};
use super::summary::{ChainStats, Summary};
use crate::error::{PplError, Result};
use crate::handlers::{block, condition, trace};
use crate::infer::Samples;
use crate::tensor::DTensor;
use burn::prelude::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::time::Instant;

/// One chain's draws, unconstrained, and what its transitions did.
struct Chain {
    draws: Vec<Vec<f64>>,
    stats: ChainStats,
}

/// Runs a [`Kernel`] (Pyro's `MCMC`).
///
/// ```
/// use lobes_ppl::prelude::*;
/// use lobes_ppl::infer::mcmc::{Mcmc, Nuts};
/// let d = Device::flex();
/// let data = DTensor::from_floats(vec![1.2, 0.8, 1.1, 0.9], &[4], &d)?;
/// let model = |x: &DTensor| -> Result<()> {
///     let mu: DTensor = sample("mu", Normal::new(DTensor::scalar(0.0, &d), DTensor::scalar(10.0, &d))?)?;
///     plate("data", 4).run(|_| {
///         observe("x", Normal::new(mu.clone(), DTensor::scalar(0.5, &d))?, x.clone())?;
///         Ok(())
///     })
/// };
/// let mut mcmc = Mcmc::new(Nuts::new(model)).num_warmup(300).num_samples(500).num_chains(2);
/// mcmc.run(&data)?;
/// let s = mcmc.summary()?;
/// assert!((s.row("mu").unwrap().mean - 1.0).abs() < 0.15);
/// assert!(s.row("mu").unwrap().r_hat < 1.05);
/// # Ok::<(), PplError>(())
/// ```
pub struct Mcmc<K> {
    kernel: K,
    num_samples: usize,
    num_warmup: usize,
    num_chains: usize,
    seed: u64,
    sites: Vec<McmcSite>,
    device: Option<Device>,
    chains: Vec<Chain>,
}

impl<K: Kernel> Mcmc<K> {
    /// MCMC with `kernel`: 1000 samples after 1000 warm-up steps, one chain, seed 0.
    pub fn new(kernel: K) -> Self {
        Mcmc {
            kernel,
            num_samples: 1000,
            num_warmup: 1000,
            num_chains: 1,
            seed: 0,
            sites: vec![],
            device: None,
            chains: vec![],
        }
    }
    /// Draws kept per chain (Pyro's `num_samples`).
    pub fn num_samples(mut self, n: usize) -> Self {
        self.num_samples = n;
        self
    }
    /// Warm-up (adaptation) steps per chain, discarded (Pyro's `warmup_steps`, NumPyro's
    /// `num_warmup`).
    pub fn num_warmup(mut self, n: usize) -> Self {
        self.num_warmup = n;
        self
    }
    /// Independent chains, each started by the kernel's `init_strategy` (Pyro's
    /// `num_chains`); [`Mcmc::run`] runs them in turn, [`Mcmc::run_parallel`] at once.
    pub fn num_chains(mut self, n: usize) -> Self {
        self.num_chains = n.max(1);
        self
    }
    /// The seed; chain `c` uses stream `c` of it, so results do not depend on how the chains
    /// are scheduled.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Runs every chain, one after another, on this thread.
    pub fn run<A: ?Sized, R>(&mut self, args: &A) -> Result<()>
    where
        K::Model: Fn(&A) -> Result<R>,
    {
        self.check_sizes()?;
        let mut chains = vec![];
        for c in 0..self.num_chains {
            let (sites, device, chain) = self.chain(c, args)?;
            self.sites = sites;
            self.device = Some(device);
            chains.push(chain);
        }
        self.chains = chains;
        Ok(())
    }

    /// Runs the chains on threads of their own (NumPyro's `chain_method="parallel"`), each
    /// with its own handler stack, random stream and parameter store. The draws are the ones
    /// [`Mcmc::run`] gives.
    pub fn run_parallel<A: ?Sized + Sync, R>(&mut self, args: &A) -> Result<()>
    where
        K: Sync,
        K::Model: Fn(&A) -> Result<R>,
    {
        self.check_sizes()?;
        let this = &*self;
        let results: Vec<Result<(Vec<McmcSite>, Device, Chain)>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..this.num_chains)
                .map(|c| s.spawn(move || this.chain(c, args)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(PplError::InvalidInference {
                            algorithm: K::NAME,
                            reason: "a chain's thread panicked".into(),
                        })
                    })
                })
                .collect()
        });
        let mut chains = vec![];
        for r in results {
            let (sites, device, chain) = r?;
            self.sites = sites;
            self.device = Some(device);
            chains.push(chain);
        }
        self.chains = chains;
        Ok(())
    }

    fn check_sizes(&self) -> Result<()> {
        if self.num_samples == 0 {
            return Err(PplError::InvalidInference {
                algorithm: K::NAME,
                reason: "num_samples must be at least 1".into(),
            });
        }
        Ok(())
    }

    fn chain<A: ?Sized, R>(&self, c: usize, args: &A) -> Result<(Vec<McmcSite>, Device, Chain)>
    where
        K::Model: Fn(&A) -> Result<R>,
    {
        let opts = self.kernel.options();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(c as u64);
        // The model's own draws (the initial point) come from the PPL's generator.
        crate::rng::set_rng_seed(
            self.seed
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .wrapping_add(c as u64),
        );
        let model = self.kernel.model();
        let (pot, z0) = Potential::new(model, args, &opts.init_strategy)?;
        let d = pot.dim();
        if d == 0 {
            return Err(PplError::InvalidInference {
                algorithm: K::NAME,
                reason: "the model has no continuous latent sample site to sample".into(),
            });
        }
        let mut u = |z: &[f64]| pot.value_and_grad(z);
        let (u0, g0) = u(&z0)?;
        if !u0.is_finite() {
            return Err(self.bad_start(&pot, &z0, model, args, c));
        }
        let mut phase = Phase {
            z: z0,
            p: vec![0.0; d],
            potential: u0,
            grad: g0,
        };
        let mut metric = Metric::identity(d, opts.dense_mass);
        let mut eps = opts.step_size;
        if opts.adapt_step_size {
            eps = find_step_size(&phase, eps, &metric, &mut u, &mut rng)?;
        }
        let mut averaging = DualAveraging::new(opts.target_accept_prob, eps);
        let mut windows = Windows::new(self.num_warmup, d, opts.dense_mass);
        let mut stats = ChainStats::default();
        let started = Instant::now();
        for _ in 0..self.num_warmup {
            let (next, st) = self
                .kernel
                .transition(&phase, eps, &metric, &mut u, &mut rng)?;
            phase = next;
            stats.warmup_divergences += usize::from(st.diverging);
            if opts.adapt_step_size {
                eps = averaging.update(st.accept_prob);
            }
            if opts.adapt_mass_matrix
                && let Some(m) = windows.add(&phase.z)
            {
                metric = m;
                if opts.adapt_step_size {
                    eps = find_step_size(&phase, eps, &metric, &mut u, &mut rng)?;
                    averaging = DualAveraging::new(opts.target_accept_prob, eps);
                }
            }
        }
        if opts.adapt_step_size && self.num_warmup > 0 {
            eps = averaging.final_step_size();
        }
        stats.warmup_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let mut draws = Vec::with_capacity(self.num_samples);
        for _ in 0..self.num_samples {
            let (next, st) = self
                .kernel
                .transition(&phase, eps, &metric, &mut u, &mut rng)?;
            phase = next;
            stats.record(&st);
            draws.push(phase.z.clone());
        }
        stats.sampling_seconds = started.elapsed().as_secs_f64();
        stats.step_size = eps;
        stats.inverse_mass_diagonal = match &metric {
            Metric::Diagonal(v) => v.clone(),
            Metric::Dense { inv_mass, .. } => (0..d).map(|i| inv_mass[i * d + i]).collect(),
        };
        let sites = pot.sites.clone();
        let device = pot.device();
        Ok((sites, device, Chain { draws, stats }))
    }

    /// The error for a chain whose initial point has zero density, naming the first site whose
    /// log-density is not finite there.
    fn bad_start<A: ?Sized, R>(
        &self,
        pot: &Potential<'_, A, K::Model>,
        z0: &[f64],
        model: &K::Model,
        args: &A,
        chain: usize,
    ) -> PplError
    where
        K::Model: Fn(&A) -> Result<R>,
    {
        let site = pot
            .constrain(z0)
            .and_then(|values| {
                let (_, mut tr) =
                    block(|| trace(|| condition(values.into_iter().collect(), || model(args))))?;
                Ok(tr.first_nonfinite_site()?.map(|s| s.name.clone()))
            })
            .ok()
            .flatten()
            .unwrap_or_else(|| "none found (a gradient is not finite)".into());
        PplError::InvalidInference {
            algorithm: K::NAME,
            reason: format!(
                "chain {chain}: the potential energy is not finite at the initial point given by \
                 {:?}; first site with a non-finite log-density: {site}",
                self.kernel.options().init_strategy
            ),
        }
    }

    fn require_run(&self) -> Result<()> {
        if self.chains.is_empty() {
            return Err(PplError::InvalidInference {
                algorithm: K::NAME,
                reason: "no samples yet: call run() first".into(),
            });
        }
        Ok(())
    }

    /// Each site's draws in its support, `[chain, draw, ...site shape]` (Pyro's
    /// `get_samples(group_by_chain=True)`).
    pub fn get_samples_by_chain(&self) -> Result<Samples> {
        self.require_run()?;
        let device = self.device.clone().unwrap_or_default();
        let (nc, nd) = (self.chains.len(), self.num_samples);
        let mut sites = BTreeMap::new();
        for s in &self.sites {
            let n = s.numel();
            let mut values = Vec::with_capacity(nc * nd * n);
            for ch in &self.chains {
                for z in &ch.draws {
                    values.extend(z[s.offset..s.offset + n].iter().map(|&v| v as f32));
                }
            }
            let shape = [&[nc, nd][..], &s.shape].concat();
            let u = DTensor::from_floats(values, &shape, &device)?;
            sites.insert(s.name.clone(), s.support.transform(&u));
        }
        Ok(Samples { sites })
    }

    /// Each site's draws in its support, chains concatenated: `[chains × draws, ...site
    /// shape]` (Pyro's `get_samples()`), ready for [`Predictive::from_samples`].
    ///
    /// [`Predictive::from_samples`]: crate::infer::Predictive::from_samples
    pub fn get_samples(&self) -> Result<Samples> {
        let by_chain = self.get_samples_by_chain()?;
        let mut sites = BTreeMap::new();
        for (name, v) in by_chain.sites {
            let shape = [&[v.shape()[0] * v.shape()[1]][..], &v.shape()[2..]].concat();
            sites.insert(name, v.reshape(&shape)?);
        }
        Ok(Samples { sites })
    }

    /// Each chain's adaptation and transition statistics.
    pub fn chain_stats(&self) -> Vec<&ChainStats> {
        self.chains.iter().map(|c| &c.stats).collect()
    }

    /// Divergent transitions after warm-up, per chain.
    pub fn divergences(&self) -> Vec<usize> {
        self.chains.iter().map(|c| c.stats.divergences).collect()
    }

    /// Posterior summary per scalar: mean, sd, median, 5 % and 95 % quantiles, bulk and tail
    /// effective sample sizes, rank-normalised split R̂ (Pyro's `mcmc.summary()`; print it).
    pub fn summary(&self) -> Result<Summary> {
        let by_chain = self.get_samples_by_chain()?;
        let stats: Vec<ChainStats> = self.chains.iter().map(|c| c.stats.clone()).collect();
        Ok(Summary::new(&by_chain, stats))
    }
}
