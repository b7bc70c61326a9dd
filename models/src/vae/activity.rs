//! Which latent dimensions a trained encoder uses: Burda et al.'s (2016) active units, with
//! each dimension's mean posterior scale and KL from the standard-Normal prior.
//!
//! A dimension the encoder ignores has q(z_u | x) ≈ N(0, 1) for every x: its posterior mean
//! does not vary over the data and it costs no KL. "Posterior collapse" is most dimensions
//! inactive; the decoder then draws on the few that are left.

/// One latent dimension over a set of images.
#[derive(Clone, Debug, PartialEq)]
pub struct DimActivity {
    /// The dimension, from 0.
    pub dim: usize,
    /// `Cov_x(E_q[z_u | x])`: the variance over the images of the posterior mean.
    pub activity: f64,
    /// Mean over the images of the posterior scale.
    pub mean_scale: f64,
    /// Mean over the images of KL(q(z_u | x) ‖ N(0, 1)), nats: the KL from the paper's prior
    /// (for another prior, a distance from N(0, 1) only).
    pub kl: f64,
}

impl DimActivity {
    /// Burda et al.'s threshold: a unit is active when its activity exceeds 0.01.
    pub const THRESHOLD: f64 = 0.01;

    /// Whether the dimension is active.
    pub fn is_active(&self) -> bool {
        self.activity > Self::THRESHOLD
    }
}

/// The activity of each of `d` dimensions, from the posterior means `loc` and scales `scale`
/// of `n` images (`n * d` values each, image by image, as `Generator::posterior` gives).
/// Empty when there are no images.
pub fn activity(loc: &[f32], scale: &[f32], d: usize) -> Vec<DimActivity> {
    let n = loc.len().min(scale.len()).checked_div(d).unwrap_or(0);
    if n == 0 {
        return vec![];
    }
    (0..d)
        .map(|u| {
            let col = |v: &[f32]| (0..n).map(|i| v[i * d + u] as f64).collect::<Vec<f64>>();
            let (mu, s) = (col(loc), col(scale));
            let mean = mu.iter().sum::<f64>() / n as f64;
            let var = mu.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / n as f64;
            let kl = mu
                .iter()
                .zip(&s)
                .map(|(m, s)| 0.5 * (m * m + s * s - 1.0) - s.ln())
                .sum::<f64>()
                / n as f64;
            DimActivity {
                dim: u,
                activity: var,
                mean_scale: s.iter().sum::<f64>() / n as f64,
                kl,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dimension_whose_mean_varies_is_active_and_one_at_the_prior_is_not() {
        // Two dimensions over four images: the first carries information (means ±1, scale
        // 0.1), the second sits at the prior (mean 0, scale 1).
        let loc = [1.0, 0.0, -1.0, 0.0, 1.0, 0.0, -1.0, 0.0];
        let scale = [0.1, 1.0, 0.1, 1.0, 0.1, 1.0, 0.1, 1.0];
        let a = activity(&loc, &scale, 2);
        assert_eq!(a.len(), 2);
        assert!((a[0].activity - 1.0).abs() < 1e-9 && a[0].is_active());
        assert!(a[1].activity.abs() < 1e-12 && !a[1].is_active());
        // KL(N(±1, 0.1²) ‖ N(0, 1)) = (1 + 0.01 - 1) / 2 - ln 0.1; zero at the prior.
        assert!((a[0].kl - (0.005 + 10f64.ln())).abs() < 1e-6, "{}", a[0].kl);
        assert!(a[1].kl.abs() < 1e-12);
        assert!((a[0].mean_scale - 0.1).abs() < 1e-6);
        assert!(activity(&[], &[], 2).is_empty());
    }
}
