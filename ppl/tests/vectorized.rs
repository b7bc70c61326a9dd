//! Vectorised particles and parallel `Predictive` (Pyro's `vectorize_particles=True` and
//! `Predictive(parallel=True)`; `tests/infer/test_gradient.py` compares the two modes the
//! same way): one run inside a particle plate gives the estimate and gradient that k runs
//! one after another give with the same random draws, and the same answers as closed forms.

use lobes_ppl::infer::particles::PARTICLE_PLATE;
use lobes_ppl::infer::{
    Elbo, ElboEstimate, Predictive, RenyiElbo, TraceElbo, TraceEnumElbo, TraceMeanFieldElbo,
};
use lobes_ppl::prelude::*;
use lobes_ppl::rng::set_rng_seed;
use lobes_ppl::{ParamStore, with_active_store, with_param_store};
use std::collections::BTreeMap;

fn dev() -> Device {
    Device::flex()
}
fn s(v: f32) -> DTensor {
    DTensor::scalar(v, &dev())
}
fn t(v: &[f32]) -> DTensor {
    DTensor::from_floats(v.to_vec(), &[v.len()], &dev()).unwrap()
}

const X: [f32; 3] = [0.3, -1.2, 2.0];

/// z_n ~ N(0, 1), x_n ~ N(z_n, 0.5) in plate "data".
fn model(x: &DTensor) -> Result<()> {
    plate("data", x.numel()).run(|_| {
        let z: DTensor = sample("z", Normal::new(s(0.0).expand(x.shape())?, s(1.0))?)?;
        observe("x", Normal::new(z, s(0.5))?, x.clone())?;
        Ok(())
    })
}

/// q(z_n) = N(a x_n + b, exp(log_s)), one latent site: k particles draw the same normals in
/// one run as in k runs (the generator's stream, row-major).
fn guide(x: &DTensor) -> Result<()> {
    let a: DTensor = param("a", s(0.3))?;
    let b: DTensor = param("b", s(-0.2))?;
    let log_s: DTensor = param("log_s", s(-0.5))?;
    plate("data", x.numel()).run(|_| {
        let loc = x.mul(&a).add(&b);
        sample::<DTensor>("z", Normal::new(loc, log_s.exp())?)?;
        Ok(())
    })
}

/// The estimate and the gradient of the surrogate for each parameter, in a fresh store.
fn estimate(elbo: &impl Elbo, seed: u64) -> (f64, BTreeMap<String, Vec<f32>>, ElboEstimate) {
    let x = t(&X);
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        set_rng_seed(seed);
        let est = elbo.estimate(&model, &guide, &x).unwrap();
        let g = est.surrogate.backward();
        let grads = with_active_store(|st| {
            st.leaves()
                .iter()
                .map(|(k, v)| (k.clone(), v.grad(&g).unwrap().to_vec()))
                .collect()
        });
        (est.loss(), grads, est)
    })
}

fn assert_close(a: &(f64, BTreeMap<String, Vec<f32>>), b: &(f64, BTreeMap<String, Vec<f32>>)) {
    assert!(
        (a.0 - b.0).abs() < 1e-4 * a.0.abs().max(1.0),
        "loss {} vs {}",
        a.0,
        b.0
    );
    assert_eq!(
        a.1.keys().collect::<Vec<_>>(),
        b.1.keys().collect::<Vec<_>>()
    );
    for (name, ga) in &a.1 {
        for (x, y) in ga.iter().zip(&b.1[name]) {
            assert!(
                (x - y).abs() < 1e-4 * x.abs().max(1.0),
                "d/d{name}: {x} vs {y}"
            );
        }
    }
}

#[test]
fn vectorised_particles_give_the_sequential_estimate_and_gradient() {
    let k = 8;
    let seq = estimate(&TraceElbo::new(k), 5);
    let vec = estimate(
        &TraceElbo::default()
            .num_particles(k)
            .vectorize_particles(true),
        5,
    );
    assert_close(&(seq.0, seq.1.clone()), &(vec.0, vec.1.clone()));
    // The particle plate is the leftmost batch dim, named as Pyro names it.
    let z = vec.2.guide_trace.get("z").unwrap();
    assert_eq!(z.value.as_ref().unwrap().shape(), vec![k, 3]);
    assert_eq!(
        z.plates.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        [PARTICLE_PLATE, "data"]
    );
    // Given or guessed, the nesting is the same.
    let given = estimate(
        &TraceElbo::new(k)
            .vectorize_particles(true)
            .max_plate_nesting(1),
        5,
    );
    assert_close(&(seq.0, seq.1), &(given.0, given.1));
}

#[test]
fn mean_field_and_renyi_vectorise_too() {
    let k = 6;
    let a = estimate(&TraceMeanFieldElbo::new(k), 9);
    let b = estimate(&TraceMeanFieldElbo::new(k).vectorize_particles(true), 9);
    assert_close(&(a.0, a.1), &(b.0, b.1));
    for alpha in [0.0, 0.5] {
        let a = estimate(&RenyiElbo::new(alpha, k).unwrap(), 3);
        let b = estimate(
            &RenyiElbo::new(alpha, k).unwrap().vectorize_particles(true),
            3,
        );
        assert_close(&(a.0, a.1), &(b.0, b.1));
    }
}

#[test]
fn a_nesting_that_leaves_no_room_is_an_error_naming_the_site_and_the_option() {
    let x = t(&X);
    let mut store = ParamStore::new();
    let e = with_param_store(&mut store, || {
        TraceElbo::new(2)
            .vectorize_particles(true)
            .max_plate_nesting(0)
            .estimate(&model, &guide, &x)
            .map(|_| ())
            .unwrap_err()
    });
    let msg = e.to_string();
    for part in [PARTICLE_PLATE, "'z'", "max_plate_nesting = 0"] {
        assert!(msg.contains(part), "{part} missing: {msg}");
    }
}

/// z ~ Bernoulli(0.3) in the model, Bernoulli(sigmoid(θ)) in the guide: the ELBO is −KL(q‖p),
/// its gradient comes only from the score-function term, which the particle plate must keep
/// particle by particle (each particle's score times its own cost).
fn coin_model(_: &()) -> Result<()> {
    sample::<DTensor>("z", Bernoulli::from_probs(0.3)?)?;
    Ok(())
}
fn coin_guide(_: &()) -> Result<()> {
    let theta: DTensor = param("theta", s(0.4))?;
    sample::<DTensor>("z", Bernoulli::from_logits(theta)?)?;
    Ok(())
}

#[test]
fn score_function_gradients_are_kept_per_particle() {
    let q = 1.0 / (1.0 + (-0.4f64).exp());
    // d/dθ of −KL(q‖p) = −q(1 − q) [ln(q/p) − ln((1 − q)/(1 − p))].
    let want = -q * (1.0 - q) * ((q / 0.3).ln() - ((1.0 - q) / 0.7).ln());
    let mut store = ParamStore::new();
    let got = with_param_store(&mut store, || {
        set_rng_seed(2);
        let est = TraceElbo::new(20_000)
            .vectorize_particles(true)
            .estimate(&coin_model, &coin_guide, &())
            .unwrap();
        assert_eq!(
            est.guide_trace
                .get("z")
                .unwrap()
                .value
                .as_ref()
                .unwrap()
                .shape(),
            vec![20_000]
        );
        let g = est.surrogate.backward();
        with_active_store(|st| st.leaves()["theta"].grad(&g).unwrap().to_vec()[0] as f64)
    });
    // The score-function estimator's sd is about 0.3 per particle: 0.002 for 20,000.
    assert!((got - want).abs() < 0.01, "{got} vs {want}");
}

/// A two-component mixture, the assignment enumerated in the model and the locations'
/// shared offset `m` sampled from a guide.
fn mixture(x: &DTensor) -> Result<()> {
    let m: DTensor = sample("m", Normal::new(0.0, 1.0)?)?;
    config_enumerate(|| {
        plate("data", x.numel()).run(|_| {
            let a: DTensor = sample("a", Categorical::from_probs(t(&[0.3, 0.7]))?)?;
            let loc = t(&[-1.0, 2.0]).gather_last(&a)?.add(&m);
            observe("x", Normal::new(loc, 1.0)?, x.clone())?;
            Ok(())
        })
    })
}
fn mixture_guide(_: &DTensor) -> Result<()> {
    let loc: DTensor = param("m_loc", s(0.1))?;
    sample::<DTensor>("m", Normal::new(loc, 0.3)?)?;
    Ok(())
}

#[test]
fn enumeration_starts_left_of_the_particle_plate() {
    let x = t(&X);
    let run = |elbo: TraceEnumElbo| {
        let mut store = ParamStore::new();
        with_param_store(&mut store, || {
            set_rng_seed(4);
            let est = elbo.estimate(&mixture, &mixture_guide, &x).unwrap();
            let g = est.surrogate.backward();
            let grad = with_active_store(|st| st.leaves()["m_loc"].grad(&g).unwrap().to_vec());
            (est.loss(), grad[0])
        })
    };
    let seq = run(TraceEnumElbo::new(1).num_particles(5));
    let vec = run(TraceEnumElbo::new(1)
        .num_particles(5)
        .vectorize_particles(true));
    assert!((seq.0 - vec.0).abs() < 1e-4, "{seq:?} vs {vec:?}");
    assert!((seq.1 - vec.1).abs() < 1e-4, "{seq:?} vs {vec:?}");
}

/// mu ~ N(1, 2); x_n ~ N(mu, 0.5) in plate "data" of 3.
fn prior_model(_: &()) -> Result<()> {
    let mu: DTensor = sample("mu", Normal::new(1.0, 2.0)?)?;
    plate("data", 3).run(|_| sample::<DTensor>("x", Normal::new(mu.clone(), 0.5)?))?;
    Ok(())
}

fn moments(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, var.sqrt())
}

#[test]
fn parallel_predictive_has_the_sequential_shapes_and_the_prior_moments() {
    set_rng_seed(8);
    let n = 4000;
    let par = Predictive::new(n)
        .parallel(true)
        .prior(&prior_model, &())
        .unwrap();
    let seq = Predictive::new(5).prior(&prior_model, &()).unwrap();
    for site in ["mu", "x"] {
        let (p, q) = (
            par.get(site).unwrap().shape(),
            seq.get(site).unwrap().shape(),
        );
        assert_eq!(p[0], n);
        assert_eq!(p[1..], q[1..], "{site}");
    }
    let (m, sd) = moments(&par.get("mu").unwrap().to_vec());
    // Standard errors: 2/√4000 = 0.032 for the mean, about 0.022 for the sd.
    assert!(
        (m - 1.0).abs() < 0.13 && (sd - 2.0).abs() < 0.1,
        "mu: {m} ± {sd}"
    );
    // x_n − mu ~ N(0, 0.5), row by row: each draw's observations follow its own mu.
    let (mu, x) = (
        par.get("mu").unwrap().to_vec(),
        par.get("x").unwrap().to_vec(),
    );
    let resid: Vec<f32> = x.iter().enumerate().map(|(i, v)| v - mu[i / 3]).collect();
    let (rm, rsd) = moments(&resid);
    assert!(
        rm.abs() < 0.03 && (rsd - 0.5).abs() < 0.02,
        "x − mu: {rm} ± {rsd}"
    );
}

#[test]
fn parallel_posterior_predictive_uses_the_guide_per_draw() {
    let x = t(&X);
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        set_rng_seed(1);
        let out = Predictive::new(3000)
            .parallel(true)
            .return_sites(["z", "x"])
            .posterior(&model, &guide, &x)
            .unwrap();
        let (z, xs) = (out.get("z").unwrap(), out.get("x").unwrap());
        assert_eq!(z.shape(), [3000, 3]);
        assert_eq!(xs.shape(), [3000, 3]);
        // z_n ~ N(0.3 x_n − 0.2, e^−0.5) from the guide's initial values.
        let zv = z.to_vec();
        for (i, xi) in X.iter().enumerate() {
            let col: Vec<f32> = zv.iter().skip(i).step_by(3).copied().collect();
            let (m, sd) = moments(&col);
            let want = 0.3 * *xi as f64 - 0.2;
            assert!((m - want).abs() < 0.05, "z[{i}]: {m} vs {want}");
            assert!((sd - (-0.5f64).exp()).abs() < 0.03, "z[{i}] sd {sd}");
        }
    });
}
