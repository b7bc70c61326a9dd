//! Intervals for RAMIS: the percentile bootstrap over images (Efron 1979). RAMIS of 100
//! generated images wanders by several hundredths between draws (the paper's own per-epoch
//! RAMIS ranges 1.14–1.23 late in training), so a RAMIS is reported with its interval.
//!
//! ```
//! use lobes_models::ramis::bootstrap::ramis_interval;
//! use lobes_models::ramis::classifier::ramis;
//! // Half confident FRI, half confident FRII: RAMIS near 2, the interval around it.
//! let p: Vec<[f64; 2]> = (0..200).map(|i| if i % 2 == 0 { [0.99, 0.01] } else { [0.02, 0.98] }).collect();
//! let (lo, hi) = ramis_interval(&p, 1e-12, 1000, 0.95, 0);
//! let r = ramis(&p, 1e-12);
//! assert!(lo <= r && r <= hi && hi - lo < 0.1, "{lo} {r} {hi}");
//! ```

use super::classifier::ramis;
use rand::{Rng, SeedableRng};

/// The `level` (e.g. 0.95) percentile-bootstrap interval of RAMIS over `probs` (p(y | x) per
/// image), from `resamples` resamplings of the images with replacement, seeded by `seed`.
/// One image or none: the point itself.
pub fn ramis_interval(
    probs: &[[f64; 2]],
    eps: f64,
    resamples: usize,
    level: f64,
    seed: u64,
) -> (f64, f64) {
    let point = ramis(probs, eps);
    if probs.len() < 2 || resamples == 0 {
        return (point, point);
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut draw = vec![[0.0; 2]; probs.len()];
    let mut stats: Vec<f64> = (0..resamples)
        .map(|_| {
            for d in draw.iter_mut() {
                *d = probs[rng.random_range(0..probs.len())];
            }
            ramis(&draw, eps)
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    let tail = (1.0 - level.clamp(0.0, 1.0)) / 2.0;
    let at = |q: f64| stats[((q * (resamples - 1) as f64).round() as usize).min(resamples - 1)];
    (at(tail), at(1.0 - tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_covers_the_population_value_about_95_times_in_100() {
        // Images whose p(FRI) is uniform on [0, 1]: the population RAMIS is computed from a
        // large sample; intervals from samples of 100 should cover it ~95% of the time.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut draw = |n: usize| -> Vec<[f64; 2]> {
            (0..n)
                .map(|_| {
                    let p: f64 = rng.random();
                    [p, 1.0 - p]
                })
                .collect()
        };
        let truth = ramis(&draw(200_000), 1e-12);
        let covered = (0..100)
            .filter(|&i| {
                let (lo, hi) = ramis_interval(&draw(100), 1e-12, 400, 0.95, i);
                lo <= truth && truth <= hi
            })
            .count();
        assert!((88..=99).contains(&covered), "{covered} of 100");
    }
}
