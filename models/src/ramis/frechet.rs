//! The Fréchet distance between two sets of images in the RAMIS classifier's feature space
//! (its penultimate layer, 256 values per image): the distance of Heusel et al. (2017)'s FID
//! between the Gaussians fitted to the two sets' features,
//!
//! `d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁^½ Σ₂ Σ₁^½)^½)`,
//!
//! with radio galaxies' own classifier in place of Inception (as RAMIS puts it in place of the
//! Inception score). RAMIS asks whether generated images are confidently classified and
//! balanced; the Fréchet distance asks whether they are spread like real ones. Its floor is the
//! distance between two sets of real images (e.g. FRDEEP-F's train and test images), which
//! is not zero for finite sets.
//!
//! ```
//! use lobes_models::ramis::frechet::{Gaussian, frechet_distance};
//! // N(0, I) and N(m, I) in 2-D: the distance is ‖m‖².
//! let a = Gaussian { mean: vec![0.0, 0.0], cov: vec![1.0, 0.0, 0.0, 1.0] };
//! let b = Gaussian { mean: vec![3.0, 4.0], cov: vec![1.0, 0.0, 0.0, 1.0] };
//! assert!((frechet_distance(&a, &b) - 25.0).abs() < 1e-9);
//! ```

use nalgebra::{DMatrix, DVector};

/// A Gaussian: mean and covariance (row-major `d x d`).
#[derive(Clone, Debug, PartialEq)]
pub struct Gaussian {
    /// The mean.
    pub mean: Vec<f64>,
    /// The covariance, row-major.
    pub cov: Vec<f64>,
}

impl Gaussian {
    /// The sample mean and covariance (divided by `n − 1`, as numpy's `np.cov` and the FID
    /// reference code) of `rows`, each a feature vector of one image. No rows: an empty
    /// Gaussian.
    pub fn fit(rows: &[Vec<f64>]) -> Self {
        let n = rows.len();
        let d = rows.first().map_or(0, Vec::len);
        let mut mean = vec![0.0; d];
        for r in rows {
            for (m, v) in mean.iter_mut().zip(r) {
                *m += v / n as f64;
            }
        }
        let mut cov = vec![0.0; d * d];
        for r in rows {
            for i in 0..d {
                let di = r[i] - mean[i];
                for j in i..d {
                    cov[i * d + j] += di * (r[j] - mean[j]);
                }
            }
        }
        let denom = (n.max(2) - 1) as f64;
        for i in 0..d {
            for j in i..d {
                cov[i * d + j] /= denom;
                cov[j * d + i] = cov[i * d + j];
            }
        }
        Gaussian { mean, cov }
    }
}

/// The symmetric square root of a symmetric positive semi-definite matrix (negative
/// eigenvalues from rounding are taken as 0).
fn sqrt_psd(m: &DMatrix<f64>) -> DMatrix<f64> {
    let e = m.clone().symmetric_eigen();
    let s = e.eigenvalues.map(|l| l.max(0.0).sqrt());
    &e.eigenvectors * DMatrix::from_diagonal(&s) * e.eigenvectors.transpose()
}

/// The squared Fréchet distance between `a` and `b` (of the same dimension).
pub fn frechet_distance(a: &Gaussian, b: &Gaussian) -> f64 {
    let d = a.mean.len();
    assert_eq!(d, b.mean.len(), "Gaussians of different dimensions");
    let (ma, mb) = (
        DVector::from_vec(a.mean.clone()),
        DVector::from_vec(b.mean.clone()),
    );
    let (ca, cb) = (
        DMatrix::from_row_slice(d, d, &a.cov),
        DMatrix::from_row_slice(d, d, &b.cov),
    );
    // tr (Σa Σb)^½ = tr (Σa^½ Σb Σa^½)^½, the latter symmetric PSD (stable to compute).
    let ra = sqrt_psd(&ca);
    let inner = &ra * &cb * &ra;
    let inner = (&inner + inner.transpose()) * 0.5;
    let cross = sqrt_psd(&inner).trace();
    (ma - mb).norm_squared() + ca.trace() + cb.trace() - 2.0 * cross
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    #[test]
    fn the_distance_between_known_gaussians_is_the_closed_form() {
        // Diagonal covariances: d² = ‖Δμ‖² + Σ (√a_i − √b_i)².
        let a = Gaussian {
            mean: vec![1.0, -2.0, 0.5],
            cov: vec![4.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 9.0],
        };
        let b = Gaussian {
            mean: vec![0.0, 0.0, 0.5],
            cov: vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.25],
        };
        let want = 1.0 + 4.0 + (2.0f64 - 1.0).powi(2) + 0.0 + (3.0f64 - 0.5).powi(2);
        assert!((frechet_distance(&a, &b) - want).abs() < 1e-9);
        // Symmetric, zero for equal Gaussians, and for a correlated pair the closed form of
        // commuting covariances: Σ and 4Σ give tr Σ + 4 tr Σ − 2 · 2 tr Σ = tr Σ.
        assert!((frechet_distance(&b, &a) - want).abs() < 1e-9);
        let c = Gaussian {
            mean: vec![0.0, 0.0],
            cov: vec![2.0, 0.9, 0.9, 1.0],
        };
        assert!(frechet_distance(&c, &c).abs() < 1e-9);
        let c4 = Gaussian {
            mean: vec![0.0, 0.0],
            cov: c.cov.iter().map(|v| 4.0 * v).collect(),
        };
        assert!((frechet_distance(&c, &c4) - 3.0).abs() < 1e-9);
    }

    #[test]
    fn fitted_gaussians_of_samples_recover_the_distance() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let n = Normal::new(0.0, 1.0).unwrap();
        let mut draw = |shift: f64, scale: f64| -> Vec<Vec<f64>> {
            (0..20_000)
                .map(|_| (0..2).map(|_| shift + scale * n.sample(&mut rng)).collect())
                .collect()
        };
        let (a, b) = (
            Gaussian::fit(&draw(0.0, 1.0)),
            Gaussian::fit(&draw(1.0, 2.0)),
        );
        // ‖(1,1)‖² + 2 (2 − 1)² = 4.
        assert!(
            (frechet_distance(&a, &b) - 4.0).abs() < 0.1,
            "{}",
            frechet_distance(&a, &b)
        );
    }
}
