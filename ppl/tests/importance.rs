//! Importance sampling against closed forms on a linear-Gaussian model:
//! z ~ N(0, 1), x | z ~ N(z, σ²), so p(x) = N(x; 0, √(1 + σ²)).

use lobes_ppl::infer::importance::{log_marginal, log_mean_exp, log_weights_along};
use lobes_ppl::prelude::*;
use lobes_ppl::rng::set_rng_seed;

const SIGMA: f32 = 0.5;

fn s(v: f32) -> DTensor {
    DTensor::scalar(v, &Device::flex())
}

fn log_px(x: f64) -> f64 {
    let v = 1.0 + (SIGMA as f64).powi(2);
    -x * x / (2.0 * v) - 0.5 * (2.0 * std::f64::consts::PI * v).ln()
}

/// The model over a batch of data points `x` in the plate "data".
fn model(x: &DTensor) -> Result<()> {
    plate("data", x.numel()).run(|_| {
        let z: DTensor = sample("z", Normal::new(s(0.0).expand(x.shape())?, s(1.0))?)?;
        observe("x", Normal::new(z, s(SIGMA))?, x.clone())?;
        Ok(())
    })
}

/// A guide N(a·x, scale) per data point; `a = 1/(1+σ²)` and `scale = √(σ²/(1+σ²))` is the
/// exact posterior.
fn guide(x: &DTensor, a: f32, scale: f32) -> Result<()> {
    plate("data", x.numel()).run(|_| {
        sample::<DTensor>("z", Normal::new(x.mul_scalar(a as f64), s(scale))?)?;
        Ok(())
    })
}

fn exact() -> (f32, f32) {
    let v = SIGMA * SIGMA;
    (1.0 / (1.0 + v), (v / (1.0 + v)).sqrt())
}

#[test]
fn with_the_exact_posterior_every_weight_is_log_p_x() {
    let x = DTensor::from_floats(vec![0.3, -1.2, 2.0], &[3], &Device::flex()).unwrap();
    let (a, sc) = exact();
    let w = log_weights_along(&model, &|x: &DTensor| guide(x, a, sc), &x, "data").unwrap();
    for (wi, xi) in w.iter().zip([0.3, -1.2, 2.0]) {
        assert!((wi - log_px(xi)).abs() < 1e-4, "{wi} vs {}", log_px(xi));
    }
    let total = log_marginal(&model, &|x: &DTensor| guide(x, a, sc), &x, 3).unwrap();
    let sum: f64 = [0.3, -1.2, 2.0].iter().map(|&v| log_px(v)).sum();
    assert!((total - sum).abs() < 1e-3, "{total} vs {sum}");
    let e = log_weights_along(&model, &|x: &DTensor| guide(x, a, sc), &x, "nope").unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
}

#[test]
fn the_importance_weighted_bound_rises_with_k_towards_log_p_x() {
    // A poor guide (too wide, off-centre). K copies of one data point along the plate give K
    // weights per run; the bound E[log mean_K exp w] is averaged over 200 repetitions.
    let x0 = 1.5f32;
    let bad = |x: &DTensor| guide(x, 0.5, 0.9);
    set_rng_seed(11);
    let bound = |k: usize| {
        let reps = 200;
        let x = DTensor::from_floats(vec![x0; k * reps], &[k * reps], &Device::flex()).unwrap();
        let w = log_weights_along(&model, &bad, &x, "data").unwrap();
        w.chunks(k).map(log_mean_exp).sum::<f64>() / reps as f64
    };
    let b: Vec<f64> = [1, 5, 50, 500].iter().map(|&k| bound(k)).collect();
    let truth = log_px(x0 as f64);
    // Rises with K (within the Monte Carlo error of 200 repetitions once it has converged).
    assert!(b[0] < b[1] && b[1] < b[2] && b[2] < b[3] + 0.01, "{b:?}");
    assert!(
        b.iter().all(|&v| v < truth + 0.01),
        "a lower bound: {b:?} vs {truth}"
    );
    assert!(
        truth - b[0] > 1.0,
        "the ELBO is loose with this guide: {b:?} vs {truth}"
    );
    assert!(
        (truth - b[3]).abs() < 0.02,
        "K = 500 is log p(x): {b:?} vs {truth}"
    );
}

#[test]
fn log_mean_exp_is_stable() {
    assert!((log_mean_exp(&[1000.0, 1000.0]) - 1000.0).abs() < 1e-12);
    assert!((log_mean_exp(&[0.0, (3.0f64).ln()]) - (2.0f64).ln()).abs() < 1e-12);
    assert_eq!(log_mean_exp(&[]), f64::NEG_INFINITY);
}
