//! Hamiltonian dynamics: the leapfrog integrator, the step-size search of Stan's
//! `init_stepsize`, and the HMC transition with a fixed trajectory length (Pyro's `HMC`).

use super::adapt::{Metric, dot};
use crate::error::Result;
use rand::Rng;

/// `U(z)` and `∇U(z)`: the potential energy and its gradient.
pub type PotentialFn<'a> = dyn FnMut(&[f64]) -> Result<(f64, Vec<f64>)> + 'a;

/// A point of phase space: position, momentum, potential and its gradient.
#[derive(Clone, Debug)]
pub struct Phase {
    /// Position (unconstrained).
    pub z: Vec<f64>,
    /// Momentum.
    pub p: Vec<f64>,
    /// `U(z)`.
    pub potential: f64,
    /// `∇U(z)`.
    pub grad: Vec<f64>,
}

impl Phase {
    /// This point with a fresh momentum `p ~ N(0, M)`, and its energy: where every transition
    /// (and each step-size trial) starts.
    pub fn refreshed(&self, metric: &Metric, rng: &mut impl Rng) -> (Phase, f64) {
        let mut start = self.clone();
        start.p = metric.sample_momentum(rng);
        let h0 = start.energy(metric);
        (start, h0)
    }

    /// `H = U(z) + K(p)`, `+∞` where it is NaN.
    pub fn energy(&self, metric: &Metric) -> f64 {
        let h = self.potential + metric.kinetic(&self.p);
        if h.is_nan() { f64::INFINITY } else { h }
    }
}

/// One leapfrog step of size `eps` (negative to go backwards in time):
/// `p ← p − ε/2 ∇U(z)`, `z ← z + ε M⁻¹p`, `p ← p − ε/2 ∇U(z)`.
pub fn leapfrog(
    s: &Phase,
    eps: f64,
    metric: &Metric,
    potential: &mut PotentialFn,
) -> Result<Phase> {
    let mut p: Vec<f64> =
        s.p.iter()
            .zip(&s.grad)
            .map(|(p, g)| p - 0.5 * eps * g)
            .collect();
    let v = metric.velocity(&p);
    let z: Vec<f64> = s.z.iter().zip(&v).map(|(z, v)| z + eps * v).collect();
    let (u, grad) = potential(&z)?;
    for (p, g) in p.iter_mut().zip(&grad) {
        *p -= 0.5 * eps * g;
    }
    Ok(Phase {
        z,
        p,
        potential: u,
        grad,
    })
}

/// Stan's `init_stepsize`: doubles or halves `eps` until one leapfrog step from `s` with a
/// fresh momentum crosses an acceptance probability of 0.8.
pub fn find_step_size(
    s: &Phase,
    mut eps: f64,
    metric: &Metric,
    potential: &mut PotentialFn,
    rng: &mut impl Rng,
) -> Result<f64> {
    let threshold = 0.8f64.ln();
    let mut trial = |eps: f64| -> Result<f64> {
        let (start, h0) = s.refreshed(metric, rng);
        let end = leapfrog(&start, eps, metric, potential)?;
        Ok(h0 - end.energy(metric))
    };
    let direction = if trial(eps)? > threshold { 1.0 } else { -1.0 };
    for _ in 0..100 {
        let delta = trial(eps)?;
        // A NaN energy error ends the search too (Stan compares the same way).
        let crossed = if direction > 0.0 {
            delta.is_nan() || delta <= threshold
        } else {
            delta.is_nan() || delta >= threshold
        };
        if crossed {
            break;
        }
        eps = if direction > 0.0 {
            2.0 * eps
        } else {
            0.5 * eps
        };
        if !(1e-12..=1e7).contains(&eps) {
            break;
        }
    }
    Ok(eps.clamp(1e-12, 1e7))
}

/// What one transition did.
#[derive(Clone, Copy, Debug, Default)]
pub struct TransitionStats {
    /// The acceptance statistic dual averaging adapts to (Metropolis probability for HMC,
    /// the mean over the tree for NUTS).
    pub accept_prob: f64,
    /// Leapfrog steps taken.
    pub num_steps: usize,
    /// Whether the energy error exceeded the divergence threshold (1000).
    pub diverging: bool,
    /// The NUTS tree depth (0 for HMC).
    pub tree_depth: usize,
    /// The energy at the new point.
    pub energy: f64,
}

/// The energy error beyond which a trajectory is divergent (Stan's and NumPyro's 1000).
pub const MAX_DELTA_ENERGY: f64 = 1000.0;

/// HMC with `num_steps` leapfrog steps and a Metropolis correction (Pyro's `HMC`).
pub fn hmc_transition(
    s: &Phase,
    eps: f64,
    num_steps: usize,
    metric: &Metric,
    potential: &mut PotentialFn,
    rng: &mut impl Rng,
) -> Result<(Phase, TransitionStats)> {
    let (start, h0) = s.refreshed(metric, rng);
    let mut end = start.clone();
    let mut diverging = false;
    let mut steps = 0;
    for _ in 0..num_steps.max(1) {
        end = leapfrog(&end, eps, metric, potential)?;
        steps += 1;
        if end.energy(metric) - h0 > MAX_DELTA_ENERGY {
            diverging = true;
            break;
        }
    }
    let h1 = end.energy(metric);
    let accept_prob = if diverging {
        0.0
    } else {
        (h0 - h1).exp().min(1.0)
    };
    let stats = |energy| TransitionStats {
        accept_prob,
        num_steps: steps,
        diverging,
        tree_depth: 0,
        energy,
    };
    if rng.random::<f64>() < accept_prob {
        Ok((end, stats(h1)))
    } else {
        Ok((start, stats(h0)))
    }
}

/// Stan's generalised no-U-turn criterion: both ends' velocities point along the summed
/// momentum `ρ`.
pub fn no_u_turn(v_minus: &[f64], v_plus: &[f64], rho: &[f64]) -> bool {
    dot(v_plus, rho) > 0.0 && dot(v_minus, rho) > 0.0
}
