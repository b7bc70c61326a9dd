//! Vectorised particles: every particle in one run of model and guide, inside an outermost
//! plate (Pyro's `vectorize_particles=True` with `max_plate_nesting`).
//!
//! Pyro's `ELBO._vectorized_num_particles` wraps model and guide in
//! `pyro.plate("num_particles_vectorized", num_particles, dim=-max_plate_nesting)`, with
//! `max_plate_nesting` one more than the model's own plates; each site then carries the
//! particles along that dim, the ELBO sums over them and divides by their number. The
//! model must broadcast: a network applied to a latent must accept the extra leading dim.
//!
//! ```
//! use lobes_ppl::prelude::*;
//! use lobes_ppl::infer::{Elbo, TraceElbo};
//! let s = |v: f32| DTensor::scalar(v, &Device::flex());
//! let x = DTensor::from_floats(vec![0.5, -1.0, 2.0], &[3], &Device::flex()).unwrap();
//! let model = |x: &DTensor| -> Result<()> {
//!     let z: DTensor = sample("z", Normal::new(s(0.0), s(1.0))?)?;
//!     plate("data", 3).run(|_| observe("x", Normal::new(z.clone(), s(1.0))?, x.clone()))?;
//!     Ok(())
//! };
//! let guide = |_: &DTensor| -> Result<()> {
//!     let loc: DTensor = param("loc", s(0.0))?;
//!     sample::<DTensor>("z", Normal::new(loc, s(1.0))?)?;
//!     Ok(())
//! };
//! // Eight particles in one run: `z` gets shape [8, 1] (the particle dim left of the data
//! // plate's), the observations' log-densities [8, 3].
//! let elbo = TraceElbo::default().num_particles(8).vectorize_particles(true);
//! let est = elbo.estimate(&model, &guide, &x).unwrap();
//! assert_eq!(est.guide_trace.get("z").unwrap().value.as_ref().unwrap().shape(), vec![8, 1]);
//! ```

/// The builder methods an ELBO with fields `num_particles`, `vectorize_particles` and
/// `particle_plate` shares: `num_particles(n)`, `vectorize_particles(on)`,
/// `max_plate_nesting(n)` (Pyro's keyword arguments).
macro_rules! particle_builders {
    () => {
        /// Averages `n` particles per estimate.
        pub fn num_particles(mut self, n: usize) -> Self {
            self.num_particles = n;
            self
        }
        /// Runs the particles in one vectorised run of model and guide (Pyro's
        /// `vectorize_particles`); see [`particles`](crate::infer::particles).
        pub fn vectorize_particles(mut self, on: bool) -> Self {
            self.vectorize_particles = on;
            self
        }
        /// The number of plate dims model and guide nest, at most; without it the first
        /// vectorised estimate traces model and guide once to find it.
        pub fn max_plate_nesting(mut self, n: usize) -> Self {
            self.particle_plate = crate::infer::particles::ParticlePlate::new(Some(n));
            self
        }
    };
}
pub(crate) use particle_builders;

use super::checks::max_plate_nesting;
use crate::error::{PplError, Result};
use crate::handlers::block;
use crate::plate::plate;
use std::sync::OnceLock;

/// The name of the particle plate, as in Pyro.
pub const PARTICLE_PLATE: &str = "num_particles_vectorized";

/// How an ELBO runs its particles when they are vectorised: the plate nesting of the model
/// (given, or guessed once from a first trace of guide and model, as Pyro's
/// `_guess_max_plate_nesting` does).
#[derive(Clone, Debug, Default)]
pub struct ParticlePlate {
    max_plate_nesting: Option<usize>,
    guessed: OnceLock<usize>,
}

impl ParticlePlate {
    /// A particle plate left of `max_plate_nesting` plate dims, or of as many as a first trace
    /// shows when `None`.
    pub fn new(max_plate_nesting: Option<usize>) -> Self {
        ParticlePlate {
            max_plate_nesting,
            guessed: OnceLock::new(),
        }
    }

    /// The plate nesting given, if any.
    pub fn max_plate_nesting(&self) -> Option<usize> {
        self.max_plate_nesting
    }

    /// The model's plate nesting: the one given, else one traced run of guide and model
    /// (without gradients, hidden from enclosing handlers, the random stream restored after
    /// it so that a guessed nesting draws what a given one does), remembered for later steps.
    pub fn nesting<A: ?Sized, RM, RG>(
        &self,
        model: &impl Fn(&A) -> Result<RM>,
        guide: &impl Fn(&A) -> Result<RG>,
        args: &A,
    ) -> Result<usize> {
        if let Some(n) = self
            .max_plate_nesting
            .or_else(|| self.guessed.get().copied())
        {
            return Ok(n);
        }
        let n = guess_max_plate_nesting(model, guide, args)?;
        Ok(*self.guessed.get_or_init(|| n))
    }
}

/// The deepest plate nesting of one run of guide and model (the model replaying the guide),
/// without gradients, hidden from enclosing handlers, the random stream restored afterwards
/// so that a guessed nesting draws what a given one does (Pyro's `_guess_max_plate_nesting`).
pub(crate) fn guess_max_plate_nesting<A: ?Sized, RM, RG>(
    model: &impl Fn(&A) -> Result<RM>,
    guide: &impl Fn(&A) -> Result<RG>,
    args: &A,
) -> Result<usize> {
    let rng = crate::rng::get_rng_state();
    let n = crate::grad::no_grad(|| {
        block(|| {
            let (_, g) = crate::handlers::trace(|| guide(args))?;
            let (_, m) = crate::handlers::trace(|| crate::handlers::replay(&g, || model(args)))?;
            Ok(max_plate_nesting(&m, &g))
        })
    });
    crate::rng::set_rng_state(&rng);
    n
}

/// Runs `f` inside the particle plate of `n` particles at `dim` (counted from the right). A
/// site whose batch shape reaches the particle plate's dim is an error saying so: the
/// `max_plate_nesting` given is smaller than the model's.
pub fn in_particle_plate<A: ?Sized, R>(
    n: usize,
    dim: isize,
    f: &impl Fn(&A) -> Result<R>,
    args: &A,
) -> Result<R> {
    plate(PARTICLE_PLATE, n)
        .dim(dim)
        .run(|_| f(args))
        .map_err(|e| match e {
            PplError::PlateShape { ref plate, .. } if plate == PARTICLE_PLATE => {
                PplError::InvalidInference {
                    algorithm: "vectorize_particles",
                    reason: format!(
                        "{e}; the particle plate takes dim {dim}, left of max_plate_nesting = {} \
                         plate dims, but the model's batch shapes reach it: give \
                         max_plate_nesting at least the number of batch dims the model uses",
                        -dim - 1
                    ),
                }
            }
            e => e,
        })
}

/// The particle plate's dim for a model nesting `nesting` plates: the next one to the left.
pub fn particle_dim(nesting: usize) -> isize {
    -(nesting as isize) - 1
}
