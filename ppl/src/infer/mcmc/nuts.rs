//! The No-U-Turn Sampler's transition: multinomial sampling over a trajectory doubled in a
//! random direction until the generalised no-U-turn criterion fails (Hoffman & Gelman 2014;
//! Betancourt 2017, appendix A), as Stan's `base_nuts` builds it, with the extra U-turn checks
//! across merged subtrees that Stan added in 2.23.

use super::adapt::Metric;
use super::hmc::{MAX_DELTA_ENERGY, Phase, PotentialFn, TransitionStats, leapfrog, no_u_turn};
use crate::error::Result;
use rand::Rng;

/// `ln(eᵃ + eᵇ)`.
fn log_add(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    if m == f64::NEG_INFINITY {
        m
    } else {
        m + ((a - m).exp() + (b - m).exp()).ln()
    }
}

fn sum(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(a, b)| a + b).collect()
}

/// The state a trajectory carries while it grows.
struct Tree<'a, 'p, R> {
    metric: &'a Metric,
    potential: &'a mut PotentialFn<'p>,
    rng: &'a mut R,
    eps: f64,
    h0: f64,
    num_steps: usize,
    sum_accept: f64,
    diverging: bool,
}

/// One subtree's ends: the first and last momenta and velocities, and its summed momentum.
struct Ends {
    p_beg: Vec<f64>,
    v_beg: Vec<f64>,
    p_end: Vec<f64>,
    v_end: Vec<f64>,
    rho: Vec<f64>,
}

impl<R: Rng> Tree<'_, '_, R> {
    /// Builds a subtree of `2^depth` leapfrog steps from `edge` (updated to the subtree's far
    /// end); returns its ends, its multinomial proposal and log weight, or `None` when it
    /// diverged or turned back on itself.
    fn build(
        &mut self,
        edge: &mut Phase,
        depth: usize,
        dir: f64,
    ) -> Result<Option<(Ends, Phase, f64)>> {
        if depth == 0 {
            let next = leapfrog(edge, dir * self.eps, self.metric, self.potential)?;
            self.num_steps += 1;
            let h = next.energy(self.metric);
            let delta = self.h0 - h;
            self.sum_accept += if delta > 0.0 { 1.0 } else { delta.exp() };
            if h - self.h0 > MAX_DELTA_ENERGY {
                self.diverging = true;
                return Ok(None);
            }
            let v = self.metric.velocity(&next.p);
            let ends = Ends {
                p_beg: next.p.clone(),
                v_beg: v.clone(),
                p_end: next.p.clone(),
                v_end: v,
                rho: next.p.clone(),
            };
            *edge = next.clone();
            return Ok(Some((ends, next, delta)));
        }
        let Some((init, mut propose, w_init)) = self.build(edge, depth - 1, dir)? else {
            return Ok(None);
        };
        let Some((last, propose_last, w_last)) = self.build(edge, depth - 1, dir)? else {
            return Ok(None);
        };
        let w = log_add(w_init, w_last);
        // Uniform (not biased) multinomial choice inside a subtree.
        if self.rng.random::<f64>() < (w_last - w).exp() {
            propose = propose_last;
        }
        let rho = sum(&init.rho, &last.rho);
        let turned = !no_u_turn(&init.v_beg, &last.v_end, &rho)
            || !no_u_turn(&init.v_beg, &last.v_beg, &sum(&init.rho, &last.p_beg))
            || !no_u_turn(&init.v_end, &last.v_end, &sum(&last.rho, &init.p_end));
        if turned {
            return Ok(None);
        }
        let ends = Ends {
            p_beg: init.p_beg,
            v_beg: init.v_beg,
            p_end: last.p_end,
            v_end: last.v_end,
            rho,
        };
        Ok(Some((ends, propose, w)))
    }
}

/// One NUTS transition from `s` with step size `eps` and trees at most `max_tree_depth`
/// doublings deep.
pub fn nuts_transition(
    s: &Phase,
    eps: f64,
    max_tree_depth: usize,
    metric: &Metric,
    potential: &mut PotentialFn,
    rng: &mut impl Rng,
) -> Result<(Phase, TransitionStats)> {
    let (start, h0) = s.refreshed(metric, rng);
    let v0 = metric.velocity(&start.p);
    let (mut fwd, mut bck) = (start.clone(), start.clone());
    // The trajectory's two outermost momenta and velocities, and its summed momentum.
    let (mut p_fwd, mut v_fwd, mut p_bck, mut v_bck) =
        (start.p.clone(), v0.clone(), start.p.clone(), v0);
    let mut rho = start.p.clone();
    let mut log_w = 0.0;
    let mut sample = start.clone();
    let mut depth = 0;
    let mut tree = Tree {
        metric,
        potential,
        rng,
        eps,
        h0,
        num_steps: 0,
        sum_accept: 0.0,
        diverging: false,
    };
    while depth < max_tree_depth {
        let forward = tree.rng.random::<f64>() > 0.5;
        let (edge, dir) = if forward {
            (&mut fwd, 1.0)
        } else {
            (&mut bck, -1.0)
        };
        let Some((new, propose, w_new)) = tree.build(edge, depth, dir)? else {
            break;
        };
        depth += 1;
        // Biased progressive sampling: the new subtree is preferred when heavier.
        if w_new > log_w || tree.rng.random::<f64>() < (w_new - log_w).exp() {
            sample = propose;
        }
        log_w = log_add(log_w, w_new);
        // The old trajectory's end the new subtree grew from, and its far end.
        let (near, far) = if forward {
            ((&mut p_fwd, &mut v_fwd), &v_bck)
        } else {
            ((&mut p_bck, &mut v_bck), &v_fwd)
        };
        let total = sum(&rho, &new.rho);
        let go_on = no_u_turn(far, &new.v_end, &total)
            && no_u_turn(far, &new.v_beg, &sum(&rho, &new.p_beg))
            && no_u_turn(near.1, &new.v_end, &sum(&new.rho, near.0));
        (*near.0, *near.1) = (new.p_end, new.v_end);
        rho = total;
        if !go_on {
            break;
        }
    }
    let stats = TransitionStats {
        accept_prob: tree.sum_accept / tree.num_steps.max(1) as f64,
        num_steps: tree.num_steps,
        diverging: tree.diverging,
        tree_depth: depth,
        energy: sample.energy(metric),
    };
    Ok((sample, stats))
}
