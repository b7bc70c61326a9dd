//! Importance sampling against closed forms on a linear-Gaussian model:
//! z ~ N(0, 1), x | z ~ N(z, σ²), so p(x) = N(x; 0, √(1 + σ²)).

use lobes_ppl::infer::importance::{log_marginal, log_mean_exp, log_weights_along};
use lobes_ppl::infer::{Elbo, RenyiElbo};
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

// ---------------------------------------------------------------- RenyiElbo

/// One data point; the guide's location and scale are parameters.
fn one_point_guide(x: &DTensor) -> Result<()> {
    let loc: DTensor = param("loc", s(0.0))?;
    let scale: DTensor = param_constrained("scale", s(1.5), Constraint::Positive)?;
    plate("data", x.numel()).run(|_| {
        sample::<DTensor>("z", Normal::new(loc.expand(x.shape())?, scale)?)?;
        Ok(())
    })
}

/// Pyro's `RenyiELBO`: α = 0 with K particles is the IWAE bound, which with a poor guide lies
/// between the ELBO (K = 1) and log p(x) and nears log p(x) as K grows; α between 0 and 1
/// lies between; one particle is `Trace_ELBO` exactly (same draws, same surrogate).
#[test]
fn renyi_bounds_lie_between_the_elbo_and_log_p_x() {
    let x = DTensor::from_floats(vec![1.5], &[1], &Device::flex()).unwrap();
    let truth = log_px(1.5);
    let mut store = lobes_ppl::ParamStore::new();
    let mean_bound = |elbo: &RenyiElbo, store: &mut lobes_ppl::ParamStore| {
        set_rng_seed(5);
        let reps = 100;
        let total: f64 = (0..reps)
            .map(|_| {
                lobes_ppl::with_param_store(store, || elbo.loss(&model, &one_point_guide, &x))
                    .unwrap()
            })
            .sum();
        -total / reps as f64
    };
    let mut iwae = |k| mean_bound(&RenyiElbo::new(0.0, k).unwrap(), &mut store);
    let (b1, b10, b1000) = (iwae(1), iwae(10), iwae(1000));
    let half = mean_bound(&RenyiElbo::new(0.5, 10).unwrap(), &mut store);
    assert!(b1 < b10 && b10 < b1000, "{b1} {b10} {b1000}");
    assert!(
        (b1000 - truth).abs() < 0.02,
        "{b1000} vs log p(x) = {truth}"
    );
    assert!(
        truth - b1 > 0.2,
        "the ELBO is loose with this guide: {b1} vs {truth}"
    );
    assert!(
        b1 < half && half < b10 + 0.02,
        "α = 0.5: {half}, between {b1} and {b10}"
    );

    // One particle: Trace_ELBO's estimate and surrogate, draw for draw.
    let est = |e: &dyn Fn() -> Result<lobes_ppl::infer::ElboEstimate>| {
        set_rng_seed(9);
        let r = e().unwrap();
        (r.elbo.item(), r.surrogate.item())
    };
    let mut st = lobes_ppl::ParamStore::new();
    let a = lobes_ppl::with_param_store(&mut st, || {
        est(&|| {
            RenyiElbo::new(0.0, 1)
                .unwrap()
                .estimate(&model, &one_point_guide, &x)
        })
    });
    let b = lobes_ppl::with_param_store(&mut st, || {
        est(&|| TraceElbo::default().estimate(&model, &one_point_guide, &x))
    });
    assert!(
        (a.0 - b.0).abs() < 1e-5 && (a.1 - b.1).abs() < 1e-5,
        "{a:?} vs {b:?}"
    );
}

/// SVI with the IWAE bound (α = 0, K = 10) approaches the exact posterior of the conjugate
/// model, where every importance weight equals log p(x).
#[test]
fn svi_with_renyi_finds_the_exact_posterior() {
    let x = DTensor::from_floats(vec![1.5], &[1], &Device::flex()).unwrap();
    let mut svi = Svi::new(
        model,
        one_point_guide,
        Adam::new(0.02),
        RenyiElbo::new(0.0, 10).unwrap(),
    )
    .with_seed(2, None);
    for i in 0..2000 {
        if i == 1000 {
            svi.optim.set_lr(0.005);
        }
        svi.step(&x).unwrap();
    }
    let (a, sc) = exact();
    let loc = svi.store().get("loc").unwrap().item();
    let scale = svi.store().get("scale").unwrap().item();
    // The bound is flat near its maximum (a guide a little off loses little with 10
    // particles), so the last iterate wanders: what it maximises is checked closely, the
    // parameters loosely.
    assert!((loc - a * 1.5).abs() < 0.1, "loc {loc} vs {}", a * 1.5);
    assert!((scale - sc).abs() < 0.1, "scale {scale} vs {sc}");
    let bound = -lobes_ppl::with_param_store(svi.store_mut(), || {
        RenyiElbo::new(0.0, 2000)
            .unwrap()
            .loss(&model, &one_point_guide, &x)
    })
    .unwrap();
    assert!(
        (bound - log_px(1.5)).abs() < 0.01,
        "{bound} vs {}",
        log_px(1.5)
    );
    assert!(
        RenyiElbo::new(1.0, 2)
            .unwrap_err()
            .to_string()
            .contains("TraceElbo")
    );
}

/// Pyro's rule for a plate every site sits in: one weight per data point, so the bound is the
/// sum of the points' bounds and nears Σ log p(x_i) with K particles per point. (One weight for
/// the whole batch, the product of eight points' weights, would stay far below it.)
#[test]
fn renyi_weighs_each_data_point_of_a_shared_plate() {
    let xs = [1.5f32, -0.5, 0.8, 2.2, -1.1, 0.1, 1.0, -2.0];
    let x = DTensor::from_floats(xs.to_vec(), &[8], &Device::flex()).unwrap();
    let truth: f64 = xs.iter().map(|&v| log_px(v as f64)).sum();
    let poor = |x: &DTensor| guide(x, 0.3, 1.2);
    set_rng_seed(3);
    let reps = 20;
    let bound = |k: usize| {
        (0..reps)
            .map(|_| {
                -RenyiElbo::new(0.0, k)
                    .unwrap()
                    .loss(&model, &poor, &x)
                    .unwrap()
            })
            .sum::<f64>()
            / reps as f64
    };
    let (b1, b500) = (bound(1), bound(500));
    assert!(truth - b1 > 2.0, "the ELBO is loose: {b1} vs {truth}");
    assert!(
        (b500 - truth).abs() < 0.05,
        "{b500} vs Σ log p(x_i) = {truth}"
    );
}
