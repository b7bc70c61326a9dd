//! Convergence diagnostics as ArviZ computes them (Vehtari et al. 2021, "Rank-normalization,
//! folding, and localization: an improved R̂"): rank-normalised split R̂, bulk and tail
//! effective sample sizes, and quantiles by numpy's linear interpolation.
//!
//! Every function takes `chains[c][i]`, the draws of one scalar, chains of equal length.
//!
//! ```
//! use lobes_ppl::infer::mcmc::diagnostics::{ess_bulk, r_hat};
//! // Two chains stuck in different places: R̂ far above 1 (ArviZ: 1.8220, and a bulk ESS of
//! // 22.00 for the first chain alone).
//! let a: Vec<f64> = (0..100).map(|i| (i as f64 * 0.37).sin()).collect();
//! let b: Vec<f64> = a.iter().map(|x| x + 5.0).collect();
//! assert!((r_hat(&[a.clone(), b]) - 1.8220).abs() < 1e-4);
//! assert!((ess_bulk(&[a]) - 22.00).abs() < 0.01);
//! ```

/// The standard normal quantile function `Φ⁻¹(p)` (Acklam's rational approximation,
/// relative error below 1.2 × 10⁻⁹).
pub fn probit(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p <= 0.0 {
        f64::NEG_INFINITY
    } else if p >= 1.0 {
        f64::INFINITY
    } else if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample variance with `n - ddof` in the denominator.
fn var(x: &[f64], ddof: f64) -> f64 {
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - ddof)
}

/// The `q`-quantile of `x` by linear interpolation between order statistics (numpy's default);
/// NaN for no values.
pub fn quantile(x: &[f64], q: f64) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    let pos = q * (s.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    s[lo] + (pos - lo as f64) * (s[hi] - s[lo])
}

/// Each chain cut into its first and last halves (the middle draw dropped when odd).
fn split(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    chains
        .iter()
        .flat_map(|c| {
            let h = c.len() / 2;
            [c[..h].to_vec(), c[c.len() - h..].to_vec()]
        })
        .collect()
}

/// Pooled ranks (ties averaged) mapped through `Φ⁻¹((r - 3/8) / (S + 1/4))`.
fn z_scale(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let all: Vec<f64> = chains.iter().flatten().copied().collect();
    let s = all.len();
    let mut order: Vec<usize> = (0..s).collect();
    order.sort_by(|&a, &b| all[a].total_cmp(&all[b]));
    let mut rank = vec![0.0; s];
    let mut i = 0;
    while i < s {
        let mut j = i;
        while j + 1 < s && all[order[j + 1]] == all[order[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            rank[order[k]] = r;
        }
        i = j + 1;
    }
    let z: Vec<f64> = rank
        .iter()
        .map(|r| probit((r - 0.375) / (s as f64 + 0.25)))
        .collect();
    let n = chains[0].len();
    z.chunks(n).map(<[f64]>::to_vec).collect()
}

/// Gelman-Rubin's R̂ of chains as given.
fn rhat_basic(chains: &[Vec<f64>]) -> f64 {
    let n = chains[0].len() as f64;
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let b = n * var(&means, 1.0);
    let w = mean(&chains.iter().map(|c| var(c, 1.0)).collect::<Vec<_>>());
    (((n - 1.0) / n * w + b / n) / w).sqrt()
}

/// Whether the chains are long enough for the split diagnostics (ArviZ asks for 4 draws).
fn too_short(chains: &[Vec<f64>]) -> bool {
    chains.is_empty()
        || chains
            .iter()
            .any(|c| c.len() < 4 || c.len() != chains[0].len())
}

/// Rank-normalised split R̂: the larger of the bulk R̂ and the R̂ of the draws folded about
/// their median (ArviZ's `rhat(method="rank")`). Near 1 when the chains agree; NaN for
/// chains shorter than 4 draws or of unequal lengths.
pub fn r_hat(chains: &[Vec<f64>]) -> f64 {
    if too_short(chains) {
        return f64::NAN;
    }
    let bulk = rhat_basic(&z_scale(&split(chains)));
    let all: Vec<f64> = chains.iter().flatten().copied().collect();
    let med = quantile(&all, 0.5);
    let folded: Vec<Vec<f64>> = chains
        .iter()
        .map(|c| c.iter().map(|x| (x - med).abs()).collect())
        .collect();
    let tail = rhat_basic(&z_scale(&split(&folded)));
    bulk.max(tail)
}

/// The effective sample size of chains as given, by Geyer's initial monotone sequence over
/// the chains' averaged autocorrelations (ArviZ's `_ess`).
fn ess_basic(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len() as f64;
    let n = chains[0].len();
    let all = chains.iter().flatten();
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
        (lo.min(x), hi.max(x))
    });
    if hi - lo < 1e-15 {
        // Constant draws: ArviZ reports their number.
        return m * n as f64;
    }
    let nf = n as f64;
    let centred: Vec<Vec<f64>> = chains
        .iter()
        .map(|c| {
            let mu = mean(c);
            c.iter().map(|x| x - mu).collect()
        })
        .collect();
    // Autocovariance at `lag`, averaged over chains (biased: divided by n).
    let acov = |lag: usize| -> f64 {
        centred
            .iter()
            .map(|c| {
                c[..n - lag]
                    .iter()
                    .zip(&c[lag..])
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
                    / nf
            })
            .sum::<f64>()
            / m
    };
    let mean_var = acov(0) * nf / (nf - 1.0);
    let mut var_plus = mean_var * (nf - 1.0) / nf;
    if chains.len() > 1 {
        var_plus += var(&chains.iter().map(|c| mean(c)).collect::<Vec<_>>(), 1.0);
    }
    if var_plus.is_nan() || var_plus <= 0.0 {
        return f64::NAN;
    }
    let rho = |lag: usize| 1.0 - (mean_var - acov(lag)) / var_plus;
    let mut rho_t = vec![0.0; n];
    rho_t[0] = 1.0;
    let (mut even, mut odd) = (1.0, rho(1));
    rho_t[1] = odd;
    // Geyer's initial positive sequence.
    let mut t = 1;
    while t + 3 < n && even + odd > 0.0 {
        even = rho(t + 1);
        odd = rho(t + 2);
        if even + odd >= 0.0 {
            rho_t[t + 1] = even;
            rho_t[t + 2] = odd;
        }
        t += 2;
    }
    // `t - 2` is -1 when no pair was added: the sums below then start at lag 0.
    let max_t = t as isize - 2;
    let next = (max_t + 1) as usize;
    if even > 0.0 && next < n {
        rho_t[next] = even;
    }
    // Geyer's initial monotone sequence.
    let mut t = 1;
    while t as isize + 2 <= max_t {
        if rho_t[t + 1] + rho_t[t + 2] > rho_t[t - 1] + rho_t[t] {
            rho_t[t + 1] = (rho_t[t - 1] + rho_t[t]) / 2.0;
            rho_t[t + 2] = rho_t[t + 1];
        }
        t += 2;
    }
    let total = m * nf;
    let tau =
        -1.0 + 2.0 * rho_t[..next].iter().sum::<f64>() + rho_t.get(next).copied().unwrap_or(0.0);
    total / tau.max(1.0 / total.log10())
}

/// Bulk effective sample size: of the rank-normalised split chains (ArviZ's
/// `ess(method="bulk")`); NaN for chains shorter than 4 draws.
pub fn ess_bulk(chains: &[Vec<f64>]) -> f64 {
    if too_short(chains) {
        return f64::NAN;
    }
    ess_basic(&z_scale(&split(chains)))
}

/// Tail effective sample size: the smaller of the ESS of the indicators `x ≤ q₀.₀₅` and
/// `x ≤ q₀.₉₅` on the split chains (ArviZ's `ess(method="tail")`); NaN for chains shorter
/// than 4 draws.
pub fn ess_tail(chains: &[Vec<f64>]) -> f64 {
    if too_short(chains) {
        return f64::NAN;
    }
    let all: Vec<f64> = chains.iter().flatten().copied().collect();
    [0.05, 0.95]
        .iter()
        .map(|&p| {
            let q = quantile(&all, p);
            let ind: Vec<Vec<f64>> = chains
                .iter()
                .map(|c| c.iter().map(|&x| if x <= q { 1.0 } else { 0.0 }).collect())
                .collect();
            ess_basic(&split(&ind))
        })
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_chains_give_nan_not_a_panic() {
        let c = vec![vec![1.0, 2.0, 3.0]];
        assert!(r_hat(&c).is_nan() && ess_bulk(&c).is_nan() && ess_tail(&c).is_nan());
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn probit_matches_known_quantiles() {
        for (p, z) in [
            (0.975, 1.959963984540054),
            (0.001, -3.090232306167814),
            (0.5, 0.0),
            (0.3, -0.5244005127080407),
        ] {
            assert!((probit(p) - z).abs() < 1e-8, "{p}: {} vs {z}", probit(p));
        }
    }
}
