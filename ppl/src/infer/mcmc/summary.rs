//! [`Summary`]: the posterior table Pyro's `mcmc.summary()` prints, with ArviZ's diagnostics,
//! and [`ChainStats`], what each chain's transitions did.

use super::diagnostics::{ess_bulk, ess_tail, quantile, r_hat};
use super::hmc::TransitionStats;
use crate::infer::Samples;
use std::fmt;

/// What one chain did.
#[derive(Clone, Debug, Default)]
pub struct ChainStats {
    /// The step size warm-up ended with.
    pub step_size: f64,
    /// The diagonal of the adapted inverse mass matrix.
    pub inverse_mass_diagonal: Vec<f64>,
    /// Divergent transitions after warm-up.
    pub divergences: usize,
    /// Divergent transitions during warm-up (expected while the step size adapts).
    pub warmup_divergences: usize,
    /// Mean acceptance statistic after warm-up.
    pub mean_accept_prob: f64,
    /// Leapfrog steps after warm-up, in all.
    pub num_steps: usize,
    /// The deepest NUTS tree after warm-up.
    pub max_tree_depth: usize,
    /// Wall-clock seconds of warm-up and of sampling.
    pub warmup_seconds: f64,
    /// See `warmup_seconds`.
    pub sampling_seconds: f64,
    draws: usize,
}

impl ChainStats {
    pub(crate) fn record(&mut self, st: &TransitionStats) {
        self.draws += 1;
        self.divergences += usize::from(st.diverging);
        self.num_steps += st.num_steps;
        self.max_tree_depth = self.max_tree_depth.max(st.tree_depth);
        self.mean_accept_prob += (st.accept_prob - self.mean_accept_prob) / self.draws as f64;
    }
}

/// One scalar's row of the summary.
#[derive(Clone, Debug)]
pub struct SummaryRow {
    /// `site` or `site[i, j]`.
    pub name: String,
    /// Posterior mean.
    pub mean: f64,
    /// Posterior standard deviation.
    pub sd: f64,
    /// Median.
    pub median: f64,
    /// 5 % quantile.
    pub q5: f64,
    /// 95 % quantile.
    pub q95: f64,
    /// Bulk effective sample size.
    pub ess_bulk: f64,
    /// Tail effective sample size.
    pub ess_tail: f64,
    /// Rank-normalised split R̂.
    pub r_hat: f64,
}

/// The posterior summary of an [`Mcmc`](super::Mcmc) run; `Display` prints Pyro's table.
#[derive(Clone, Debug)]
pub struct Summary {
    /// One row per scalar, sites in name order, elements in row-major order.
    pub rows: Vec<SummaryRow>,
    /// Each chain's statistics.
    pub chains: Vec<ChainStats>,
}

impl Summary {
    /// Summarises draws shaped `[chain, draw, ...]`.
    pub fn new(by_chain: &Samples, chains: Vec<ChainStats>) -> Self {
        let mut rows = vec![];
        for (name, v) in &by_chain.sites {
            let (nc, nd) = (v.shape()[0], v.shape()[1]);
            let event = &v.shape()[2..];
            let n: usize = event.iter().product();
            let values = v.to_vec();
            for k in 0..n {
                let per_chain: Vec<Vec<f64>> = (0..nc)
                    .map(|c| {
                        (0..nd)
                            .map(|i| f64::from(values[(c * nd + i) * n + k]))
                            .collect()
                    })
                    .collect();
                let all: Vec<f64> = per_chain.iter().flatten().copied().collect();
                let mean = all.iter().sum::<f64>() / all.len() as f64;
                let sd = (all.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>()
                    / all.len() as f64)
                    .sqrt();
                let label = if event.is_empty() {
                    name.clone()
                } else {
                    let mut idx = vec![];
                    let mut rem = k;
                    for d in event.iter().rev() {
                        idx.push(rem % d);
                        rem /= d;
                    }
                    idx.reverse();
                    format!(
                        "{name}[{}]",
                        idx.iter()
                            .map(usize::to_string)
                            .collect::<Vec<_>>()
                            .join(",")
                    )
                };
                rows.push(SummaryRow {
                    name: label,
                    mean,
                    sd,
                    median: quantile(&all, 0.5),
                    q5: quantile(&all, 0.05),
                    q95: quantile(&all, 0.95),
                    ess_bulk: ess_bulk(&per_chain),
                    ess_tail: ess_tail(&per_chain),
                    r_hat: r_hat(&per_chain),
                });
            }
        }
        Summary { rows, chains }
    }

    /// The row named `name` (`"mu"`, `"theta[3]"`).
    pub fn row(&self, name: &str) -> Option<&SummaryRow> {
        self.rows.iter().find(|r| r.name == name)
    }

    /// Divergent transitions after warm-up, all chains together.
    pub fn divergences(&self) -> usize {
        self.chains.iter().map(|c| c.divergences).sum()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self
            .rows
            .iter()
            .map(|r| r.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        writeln!(
            f,
            "{:>w$} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
            "", "mean", "std", "median", "5.0%", "95.0%", "ess_bulk", "ess_tail", "r_hat"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:>w$} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.1} {:>9.1} {:>7.3}",
                r.name, r.mean, r.sd, r.median, r.q5, r.q95, r.ess_bulk, r.ess_tail, r.r_hat
            )?;
        }
        writeln!(f)?;
        write!(f, "Number of divergences: {}", self.divergences())
    }
}
