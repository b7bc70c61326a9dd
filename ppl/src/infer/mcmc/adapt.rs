//! Warm-up adaptation, as Stan does it (and NumPyro follows): the step size by Nesterov dual
//! averaging towards a target acceptance probability, and the mass matrix from the variance
//! (or covariance) of the draws in windows that double in length (Stan's
//! `windowed_adaptation`: a 75-iteration initial buffer, windows from 25, a 50-iteration
//! terminal buffer; shrunk to 15 % / 75 % / 10 % when warm-up is shorter than 150).

use rand::Rng;
use rand_distr::StandardNormal;

/// The kinetic energy's metric: `K(p) = pᵀ M⁻¹ p / 2` with `M⁻¹` diagonal or dense.
#[derive(Clone, Debug)]
pub enum Metric {
    /// `M⁻¹ = diag(v)`.
    Diagonal(Vec<f64>),
    /// `M⁻¹ = Σ` (row-major `d × d`) and its lower Cholesky factor `L` (`Σ = L Lᵀ`).
    Dense {
        /// The inverse mass matrix.
        inv_mass: Vec<f64>,
        /// Its Cholesky factor.
        chol: Vec<f64>,
    },
}

impl Metric {
    /// The unit metric of dimension `d`, diagonal or dense.
    pub fn identity(d: usize, dense: bool) -> Self {
        if dense {
            let eye: Vec<f64> = (0..d * d)
                .map(|i| if i % (d + 1) == 0 { 1.0 } else { 0.0 })
                .collect();
            Metric::Dense {
                inv_mass: eye.clone(),
                chol: eye,
            }
        } else {
            Metric::Diagonal(vec![1.0; d])
        }
    }

    /// `p ~ N(0, M)`.
    pub fn sample_momentum(&self, rng: &mut impl Rng) -> Vec<f64> {
        match self {
            Metric::Diagonal(v) => v
                .iter()
                .map(|&v| rng.sample::<f64, _>(StandardNormal) / v.sqrt())
                .collect(),
            Metric::Dense { chol, .. } => {
                // M = Σ⁻¹ = L⁻ᵀ L⁻¹, so p = L⁻ᵀ n has covariance M.
                let d = (chol.len() as f64).sqrt() as usize;
                let mut p: Vec<f64> = (0..d).map(|_| rng.sample(StandardNormal)).collect();
                for i in (0..d).rev() {
                    let s: f64 = (i + 1..d).map(|k| chol[k * d + i] * p[k]).sum();
                    p[i] = (p[i] - s) / chol[i * d + i];
                }
                p
            }
        }
    }

    /// `M⁻¹ p`, the velocity `dz/dt`.
    pub fn velocity(&self, p: &[f64]) -> Vec<f64> {
        match self {
            Metric::Diagonal(v) => v.iter().zip(p).map(|(v, p)| v * p).collect(),
            Metric::Dense { inv_mass, .. } => {
                let d = p.len();
                (0..d)
                    .map(|i| (0..d).map(|j| inv_mass[i * d + j] * p[j]).sum())
                    .collect()
            }
        }
    }

    /// `K(p) = pᵀ M⁻¹ p / 2`.
    pub fn kinetic(&self, p: &[f64]) -> f64 {
        0.5 * dot(p, &self.velocity(p))
    }
}

/// `a · b`.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// The lower Cholesky factor of the symmetric positive-definite row-major `d × d` matrix `a`,
/// or `None` if it is not positive definite.
pub fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * d + k] * l[j * d + k]).sum();
            if i == j {
                let v = a[i * d + i] - s;
                if v.is_nan() || v <= 0.0 {
                    return None;
                }
                l[i * d + i] = v.sqrt();
            } else {
                l[i * d + j] = (a[i * d + j] - s) / l[j * d + j];
            }
        }
    }
    Some(l)
}

/// Nesterov dual averaging of `log ε` (Hoffman & Gelman 2014, §3.2; Stan's
/// `stepsize_adaptation` with γ = 0.05, t₀ = 10, κ = 0.75).
#[derive(Clone, Debug)]
pub struct DualAveraging {
    target: f64,
    mu: f64,
    counter: f64,
    s_bar: f64,
    x_bar: f64,
}

impl DualAveraging {
    /// Dual averaging towards mean acceptance `target`, shrinking towards `10 ε₀`.
    pub fn new(target: f64, step_size: f64) -> Self {
        DualAveraging {
            target,
            mu: (10.0 * step_size).ln(),
            counter: 0.0,
            s_bar: 0.0,
            x_bar: 0.0,
        }
    }

    /// One update from a transition's acceptance statistic; returns the next step size.
    pub fn update(&mut self, accept_prob: f64) -> f64 {
        const GAMMA: f64 = 0.05;
        const T0: f64 = 10.0;
        const KAPPA: f64 = 0.75;
        self.counter += 1.0;
        let a = if accept_prob.is_nan() {
            0.0
        } else {
            accept_prob.min(1.0)
        };
        let eta = 1.0 / (self.counter + T0);
        self.s_bar = (1.0 - eta) * self.s_bar + eta * (self.target - a);
        let x = self.mu - self.s_bar * self.counter.sqrt() / GAMMA;
        let x_eta = self.counter.powf(-KAPPA);
        self.x_bar = (1.0 - x_eta) * self.x_bar + x_eta * x;
        x.exp()
    }

    /// The step size warm-up ends with: `exp(x̄)`.
    pub fn final_step_size(&self) -> f64 {
        self.x_bar.exp()
    }
}

/// Welford's running mean and (co)variance of the draws in one adaptation window.
#[derive(Clone, Debug)]
struct Welford {
    n: f64,
    mean: Vec<f64>,
    /// Sums of squared deviations: `d` entries (diagonal) or `d × d` (dense).
    m2: Vec<f64>,
    dense: bool,
}

impl Welford {
    fn new(d: usize, dense: bool) -> Self {
        Welford {
            n: 0.0,
            mean: vec![0.0; d],
            m2: vec![0.0; if dense { d * d } else { d }],
            dense,
        }
    }

    fn add(&mut self, z: &[f64]) {
        self.n += 1.0;
        let before: Vec<f64> = z.iter().zip(&self.mean).map(|(z, m)| z - m).collect();
        for (m, d) in self.mean.iter_mut().zip(&before) {
            *m += d / self.n;
        }
        let after: Vec<f64> = z.iter().zip(&self.mean).map(|(z, m)| z - m).collect();
        let d = z.len();
        if self.dense {
            for (row, b) in self.m2.chunks_mut(d).zip(&before) {
                for (m, a) in row.iter_mut().zip(&after) {
                    *m += b * a;
                }
            }
        } else {
            for ((m, b), a) in self.m2.iter_mut().zip(&before).zip(&after) {
                *m += b * a;
            }
        }
    }

    /// Stan's regularised estimate: `n/(n+5) Σ̂ + 10⁻³ · 5/(n+5) I`.
    fn metric(&self) -> Metric {
        let n = self.n;
        let d = self.mean.len();
        let w = n / (n + 5.0);
        let shrink = 1e-3 * 5.0 / (n + 5.0);
        let var = |m2: f64| w * m2 / (n - 1.0).max(1.0);
        if self.dense {
            let mut s: Vec<f64> = self.m2.iter().map(|&m| var(m)).collect();
            for i in 0..d {
                s[i * d + i] += shrink;
            }
            match cholesky(&s, d) {
                Some(chol) => Metric::Dense { inv_mass: s, chol },
                None => Metric::identity(d, true),
            }
        } else {
            Metric::Diagonal(self.m2.iter().map(|&m| var(m) + shrink).collect())
        }
    }
}

/// Stan's warm-up schedule: which iterations feed the mass-matrix estimate, and when a window
/// closes.
#[derive(Clone, Debug)]
pub struct Windows {
    num_warmup: usize,
    init_buffer: usize,
    term_buffer: usize,
    window: usize,
    next_end: usize,
    counter: usize,
    estimator: Welford,
}

impl Windows {
    /// The schedule for `num_warmup` iterations in `d` dimensions.
    pub fn new(num_warmup: usize, d: usize, dense: bool) -> Self {
        let (mut init_buffer, mut term_buffer, mut window) = (75, 50, 25);
        if num_warmup < 20 {
            // Too short to adapt the metric: the step size alone is adapted.
            (init_buffer, term_buffer, window) = (num_warmup, 0, 0);
        } else if init_buffer + term_buffer + window > num_warmup {
            init_buffer = (0.15 * num_warmup as f64) as usize;
            term_buffer = (0.1 * num_warmup as f64) as usize;
            window = num_warmup - init_buffer - term_buffer;
        }
        Windows {
            num_warmup,
            init_buffer,
            term_buffer,
            window,
            next_end: (init_buffer + window).saturating_sub(1),
            counter: 0,
            estimator: Welford::new(d, dense),
        }
    }

    /// Feeds warm-up draw `z`; returns the new metric when a window closes (the step size
    /// is then searched again and its dual averaging restarted, as Stan does).
    pub fn add(&mut self, z: &[f64]) -> Option<Metric> {
        let n = self.num_warmup;
        let last = n.saturating_sub(self.term_buffer + 1);
        let in_window = self.window > 0
            && self.counter >= self.init_buffer
            && self.counter < n - self.term_buffer;
        if in_window {
            self.estimator.add(z);
        }
        let closes = self.window > 0 && self.counter == self.next_end && self.counter != n;
        let mut out = None;
        if closes {
            if self.next_end != last {
                self.window *= 2;
                self.next_end = self.counter + self.window;
                if self.next_end != last && self.next_end + 2 * self.window >= n - self.term_buffer
                {
                    self.next_end = last;
                }
            }
            out = Some(self.estimator.metric());
            self.estimator = Welford::new(self.estimator.mean.len(), self.estimator.dense);
        }
        self.counter += 1;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_close_where_stan_closes_them() {
        // Stan, 1000 warm-up iterations: windows end at 99, 149, 249, 449, 949 (0-based).
        let mut w = Windows::new(1000, 1, false);
        let ends: Vec<usize> = (0..1000)
            .filter(|i| w.add(&[*i as f64]).is_some())
            .collect();
        assert_eq!(ends, vec![99, 149, 249, 449, 949]);
    }

    #[test]
    fn dense_momentum_has_the_mass_matrix_as_covariance() {
        use rand::SeedableRng;
        let s = vec![2.0, 0.6, 0.6, 0.5];
        let chol = cholesky(&s, 2).unwrap();
        let m = Metric::Dense {
            inv_mass: s.clone(),
            chol,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let n = 200_000;
        let mut c = [0.0; 3];
        for _ in 0..n {
            let p = m.sample_momentum(&mut rng);
            c[0] += p[0] * p[0];
            c[1] += p[0] * p[1];
            c[2] += p[1] * p[1];
        }
        // Σ⁻¹ = [[0.5, -0.6], [-0.6, 2.0]] / 0.64.
        let want = [0.5 / 0.64, -0.6 / 0.64, 2.0 / 0.64];
        for (c, w) in c.iter().zip(want) {
            assert!((c / n as f64 - w).abs() < 0.03, "{c} vs {w}");
        }
    }
}
