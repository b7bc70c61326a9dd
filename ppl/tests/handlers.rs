//! Semantics of every effect handler.

use lobes_ppl::handlers::{BlockSpec, block_with};
use lobes_ppl::prelude::*;
use lobes_ppl::runtime::stack_depth;
use lobes_ppl::{ParamStore, SiteKind, with_param_store};
use std::collections::HashMap;

fn dev() -> Device {
    Device::flex()
}

fn std_normal(shape: &[usize]) -> Normal {
    Normal::new(DTensor::zeros(shape, &dev()), DTensor::ones(shape, &dev())).unwrap()
}

/// z ~ N(0, 1); x ~ N(z, 1) observed at 0.5.
fn model() -> Result<DTensor> {
    let z: DTensor = sample("z", std_normal(&[2]))?;
    let one = DTensor::ones(&[2], &dev());
    observe(
        "x",
        Normal::new(z.clone(), one)?,
        DTensor::full(&[2], 0.5, &dev()),
    )?;
    Ok(z)
}

#[test]
fn trace_records_sites_in_order() {
    let (z, tr) = trace(model).unwrap();
    let names: Vec<&str> = tr.sites().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["z", "x"]);
    assert!(!tr.get("z").unwrap().is_observed);
    assert!(tr.get("x").unwrap().is_observed);
    assert_eq!(tr.value("z").unwrap().to_vec(), z.to_vec());
}

#[test]
fn block_hides_sites_from_outer_handlers() {
    let (_, tr) = trace(|| block(model)).unwrap();
    assert!(tr.is_empty());
    let (_, tr) = trace(|| block_with(BlockSpec::hide(["z"]), model)).unwrap();
    assert!(!tr.contains("z") && tr.contains("x"));
    let (_, tr) = trace(|| block_with(BlockSpec::expose(["z"]), model)).unwrap();
    assert!(tr.contains("z") && !tr.contains("x"));
    let (_, tr) = trace(|| block_with(BlockSpec::hide_fn(|s| s.is_observed), model)).unwrap();
    assert!(tr.contains("z") && !tr.contains("x"));
    let (_, tr) =
        trace(|| block_with(BlockSpec::HideKinds(vec![SiteKind::Sample]), model)).unwrap();
    assert!(tr.is_empty());
}

#[test]
fn replay_reuses_recorded_values() {
    let (_, guide_tr) = trace(|| sample::<DTensor>("z", std_normal(&[2]))).unwrap();
    let (z, tr) = trace(|| replay(&guide_tr, model)).unwrap();
    assert_eq!(z.to_vec(), guide_tr.value("z").unwrap().to_vec());
    assert_eq!(
        tr.value("z").unwrap().to_vec(),
        guide_tr.value("z").unwrap().to_vec()
    );
    // Observed sites are never replayed.
    assert_eq!(tr.value("x").unwrap().to_vec(), vec![0.5, 0.5]);
}

#[test]
fn condition_marks_sites_observed() {
    let v = DTensor::full(&[2], 1.25, &dev());
    let data = HashMap::from([("z".to_string(), v.clone())]);
    let (z, tr) = trace(|| condition(data, model)).unwrap();
    assert_eq!(z.to_vec(), vec![1.25, 1.25]);
    assert!(tr.get("z").unwrap().is_observed);
}

#[test]
fn uncondition_samples_observed_sites() {
    lobes_ppl::rng::set_rng_seed(3);
    let (_, tr) = trace(|| uncondition(model)).unwrap();
    let x = tr.get("x").unwrap();
    assert!(!x.is_observed);
    assert_eq!(x.infer.obs.as_ref().unwrap().to_vec(), vec![0.5, 0.5]);
    assert_ne!(x.value.as_ref().unwrap().to_vec(), vec![0.5, 0.5]);
}

#[test]
fn scale_multiplies_the_log_prob() {
    let (_, guide) = trace(|| sample::<DTensor>("z", std_normal(&[2]))).unwrap();
    let (_, mut plain) = trace(|| replay(&guide, model)).unwrap();
    let (_, mut scaled) = trace(|| scale(3.0, || replay(&guide, model))).unwrap();
    let a = plain.log_prob_sum().unwrap().item();
    let b = scaled.log_prob_sum().unwrap().item();
    assert!((b - 3.0 * a).abs() < 1e-4 * a.abs(), "{b} vs 3 * {a}");
    // The unscaled log-prob is kept beside the scaled one.
    let z = scaled.get("z").unwrap();
    assert_eq!(z.scale, 3.0);
    let u = z.unscaled_log_prob.as_ref().unwrap().sum().item();
    let s = z.log_prob_sum.as_ref().unwrap().item();
    assert!((s - 3.0 * u).abs() < 1e-5);
    assert!(scale(0.0, model).is_err());
    assert!(scale(f64::NAN, model).is_err());
}

/// Pyro's `poutine.scale(fn, scale=tensor)`: per-element weights, broadcast with each site's
/// batch shape, on top of a number's scale; the gradient of the weighted ELBO.
#[test]
fn scale_by_weights_each_element_of_the_log_prob() {
    let (_, guide) = trace(|| sample::<DTensor>("z", std_normal(&[2]))).unwrap();
    let (_, mut plain) = trace(|| replay(&guide, model)).unwrap();
    let w = DTensor::from_floats(vec![0.5, 4.0], &[2], &dev()).unwrap();
    let (_, mut weighted) =
        trace(|| scale(3.0, || scale_by(w.clone(), || replay(&guide, model)))).unwrap();
    plain.compute_log_prob().unwrap();
    weighted.log_prob_sum().unwrap();
    for site in ["z", "x"] {
        let a = plain.get(site).unwrap().log_prob.as_ref().unwrap().to_vec();
        let b = weighted
            .get(site)
            .unwrap()
            .log_prob
            .as_ref()
            .unwrap()
            .to_vec();
        for (k, (a, b)) in a.iter().zip(&b).enumerate() {
            let want = 3.0 * [0.5, 4.0][k] * a;
            assert!(
                (b - want).abs() < 1e-5 * want.abs().max(1.0),
                "{site}[{k}]: {b} vs {want}"
            );
        }
    }
    // Nested weights multiply; all-equal weights are a number's scale.
    let (_, mut twice) =
        trace(|| scale_by(w.clone(), || scale_by(w.clone(), || replay(&guide, model)))).unwrap();
    let (_, mut even) =
        trace(|| scale_by(DTensor::full(&[2], 3.0, &dev()), || replay(&guide, model))).unwrap();
    let (_, mut three) = trace(|| scale(3.0, || replay(&guide, model))).unwrap();
    assert!(
        (even.log_prob_sum().unwrap().item() - three.log_prob_sum().unwrap().item()).abs() < 1e-4
    );
    let x = twice.log_prob_sum().unwrap();
    assert!(x.item().is_finite());
    assert_eq!(
        twice.get("x").unwrap().weights.as_ref().unwrap().to_vec(),
        [0.25, 16.0]
    );
    // Weights that do not broadcast: an error naming the site and both shapes.
    let bad = DTensor::ones(&[3], &dev());
    let e = trace(|| scale_by(bad.clone(), model))
        .and_then(|(_, mut t)| t.log_prob_sum())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("'z'") && e.contains("[2]") && e.contains("[3]"),
        "{e}"
    );
    // Negative or non-finite weights are refused under validation.
    let neg = DTensor::from_floats(vec![1.0, -1.0], &[2], &dev()).unwrap();
    let e = scale_by(neg, model).unwrap_err().to_string();
    assert!(e.contains("element 1") && e.contains("-1"), "{e}");
}

/// The ELBO under `scale_by` is the weighted sum of the per-point terms: x_i ~ N(mu, 1), a
/// point-mass guide at `loc`.
#[test]
fn scale_by_weights_the_elbo() {
    let x = DTensor::from_floats(vec![1.0, 2.0, 4.0], &[3], &dev()).unwrap();
    let w = DTensor::from_floats(vec![2.0, 0.5, 1.0], &[3], &dev()).unwrap();
    let model = |_: &()| -> Result<()> {
        let mu: DTensor = sample(
            "mu",
            Normal::new(DTensor::scalar(0.0, &dev()), DTensor::scalar(10.0, &dev()))?,
        )?;
        scale_by(w.clone(), || {
            plate("data", 3).run(|_| {
                observe(
                    "x",
                    Normal::new(mu.clone(), DTensor::scalar(1.0, &dev()))?,
                    x.clone(),
                )
            })
        })?;
        Ok(())
    };
    let guide = |_: &()| -> Result<()> {
        let loc: DTensor = param("loc", DTensor::scalar(0.5, &dev()))?;
        sample::<DTensor>("mu", Delta::new(loc, 0)?)?;
        Ok(())
    };
    let mut store = ParamStore::new();
    let loss = with_param_store(&mut store, || {
        TraceElbo::default().loss(&model, &guide, &())
    })
    .unwrap();
    // -[ln N(0.5 | 0, 10) + sum_i w_i ln N(x_i | 0.5, 1)]
    let ln_n = |v: f64, m: f64, s: f64| {
        -0.5 * ((v - m) / s).powi(2) - s.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
    };
    let want = -(ln_n(0.5, 0.0, 10.0)
        + 2.0 * ln_n(1.0, 0.5, 1.0)
        + 0.5 * ln_n(2.0, 0.5, 1.0)
        + ln_n(4.0, 0.5, 1.0));
    assert!((loss - want).abs() < 1e-4 * want.abs(), "{loss} vs {want}");
}

#[test]
fn mask_zeroes_the_log_prob() {
    let (_, mut all_masked) = trace(|| mask(DTensor::zeros(&[2], &dev()), model)).unwrap();
    assert_eq!(all_masked.log_prob_sum().unwrap().item(), 0.0);
    let (_, guide) = trace(|| sample::<DTensor>("z", std_normal(&[2]))).unwrap();
    let m = DTensor::from_floats(vec![1.0, 0.0], &[2], &dev()).unwrap();
    let (_, mut half) = trace(|| mask(m.clone(), || replay(&guide, model))).unwrap();
    let (_, mut full) = trace(|| replay(&guide, model)).unwrap();
    half.compute_log_prob().unwrap();
    full.compute_log_prob().unwrap();
    for name in ["z", "x"] {
        let h = half.get(name).unwrap().log_prob.as_ref().unwrap().to_vec();
        let f = full.get(name).unwrap().log_prob.as_ref().unwrap().to_vec();
        assert_eq!(h[0], f[0]);
        assert_eq!(h[1], 0.0);
    }
}

#[test]
fn mask_combines_with_distribution_mask() {
    let d = std_normal(&[2]).mask(DTensor::from_floats(vec![1.0, 1.0], &[2], &dev()).unwrap());
    let m = DTensor::from_floats(vec![0.0, 1.0], &[2], &dev()).unwrap();
    let (_, mut tr) = trace(|| mask(m, || sample::<DTensor>("z", d))).unwrap();
    tr.compute_log_prob().unwrap();
    assert_eq!(
        tr.get("z").unwrap().log_prob.as_ref().unwrap().to_vec()[0],
        0.0
    );
}

#[test]
fn seed_makes_sampling_reproducible_and_restores_the_generator() {
    let a = seed(42, model).unwrap().to_vec();
    let b = seed(42, model).unwrap().to_vec();
    let c = seed(43, model).unwrap().to_vec();
    assert_eq!(a, b);
    assert_ne!(a, c);
    lobes_ppl::rng::set_rng_seed(1);
    let before = lobes_ppl::rng::get_rng_state();
    seed(7, model).unwrap();
    assert_eq!(lobes_ppl::rng::get_rng_state(), before);
}

#[test]
fn substitute_sets_params_without_touching_the_store() {
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        let data = HashMap::from([("w".to_string(), DTensor::full(&[3], 7.0, &dev()))]);
        let w: DTensor = substitute(data, || param("w", DTensor::zeros(&[3], &dev()))).unwrap();
        assert_eq!(w.to_vec(), vec![7.0; 3]);
    });
    assert!(store.is_empty());
    with_param_store(&mut store, || {
        let w: DTensor = param("w", DTensor::zeros(&[3], &dev())).unwrap();
        assert_eq!(w.to_vec(), vec![0.0; 3]);
    });
    assert_eq!(store.names(), ["w"]);
}

#[test]
fn handlers_compose_innermost_first() {
    // condition inside block: the condition applies, then block hides it from trace.
    let data = HashMap::from([("z".to_string(), DTensor::full(&[2], 2.0, &dev()))]);
    let (z, tr) = trace(|| block_with(BlockSpec::hide(["z"]), || condition(data, model))).unwrap();
    assert_eq!(z.to_vec(), vec![2.0, 2.0]);
    assert!(!tr.contains("z"));
    // Nested scales multiply.
    let (_, tr) = trace(|| scale(2.0, || scale(5.0, model))).unwrap();
    assert_eq!(tr.get("z").unwrap().scale, 10.0);
}

#[test]
fn the_stack_is_clean_after_errors_and_panics() {
    assert_eq!(stack_depth(), 0);
    let r = trace(|| {
        scale(2.0, || {
            sample::<DTensor>("a", std_normal(&[1]))?;
            sample::<DTensor>("a", std_normal(&[1]))
        })
    });
    assert!(r.is_err());
    assert_eq!(stack_depth(), 0);
    let p = std::panic::catch_unwind(|| {
        let _ = trace(|| -> Result<()> { scale(2.0, || panic!("boom")) });
    });
    assert!(p.is_err());
    assert_eq!(stack_depth(), 0);
    // A handler after the panic works normally.
    let (_, tr) = trace(model).unwrap();
    assert_eq!(tr.len(), 2);
}

#[test]
fn deterministic_and_factor_sites() {
    let (_, mut tr) = trace(|| {
        let z: DTensor = sample("z", std_normal(&[2]))?;
        deterministic::<DTensor>("z2", z.mul(&z), 1)?;
        factor("penalty", DTensor::scalar(-3.5, &dev()))?;
        Ok(())
    })
    .unwrap();
    let z = tr.value("z").unwrap().clone();
    assert_eq!(tr.value("z2").unwrap().to_vec(), z.mul(&z).to_vec());
    tr.compute_log_prob().unwrap();
    assert_eq!(
        tr.get("z2").unwrap().log_prob_sum.as_ref().unwrap().item(),
        0.0
    );
    assert_eq!(
        tr.get("penalty")
            .unwrap()
            .log_prob_sum
            .as_ref()
            .unwrap()
            .item(),
        -3.5
    );
    let zlp = tr.get("z").unwrap().log_prob_sum.as_ref().unwrap().item();
    assert!((tr.log_prob_sum().unwrap().item() - (zlp - 3.5)).abs() < 1e-5);
}

#[test]
fn constrained_params_stay_in_their_support() {
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        let s: DTensor =
            param_constrained("s", DTensor::full(&[2], 0.5, &dev()), Constraint::Positive).unwrap();
        assert!((s.to_vec()[0] - 0.5).abs() < 1e-6);
        let p: DTensor = param_constrained(
            "p",
            DTensor::full(&[1], 0.25, &dev()),
            Constraint::UnitInterval,
        )
        .unwrap();
        assert!((p.to_vec()[0] - 0.25).abs() < 1e-6);
        // Second call ignores the new initial value.
        let s2: DTensor =
            param_constrained("s", DTensor::full(&[2], 9.0, &dev()), Constraint::Positive).unwrap();
        assert!((s2.to_vec()[0] - 0.5).abs() < 1e-6);
        let e = param_constrained::<DTensor>(
            "bad",
            DTensor::full(&[1], -1.0, &dev()),
            Constraint::Positive,
        );
        assert!(e.unwrap_err().to_string().contains("param 'bad'"));
        assert!(
            get_param::<DTensor>("nope")
                .unwrap_err()
                .to_string()
                .contains("'nope'")
        );
    });
    let u = store.entry("s").unwrap().unconstrained.to_vec();
    assert!(
        (u[0] - 0.5f32.ln()).abs() < 1e-6,
        "stored unconstrained: {u:?}"
    );
    // Setting a very negative unconstrained value still maps to a positive value.
    store.set_unconstrained(
        "s",
        DTensor::full(&[2], -50.0, &dev()),
        Constraint::Positive,
    );
    assert!(store.get("s").unwrap().all_gt(0.0));
}

#[test]
fn params_are_autodiff_leaves_unless_no_grad() {
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        let w: DTensor = param("w", DTensor::ones(&[2], &dev())).unwrap();
        assert!(w.is_require_grad());
        let loss = w.mul(&w).sum();
        let g = loss.backward();
        let leaf = lobes_ppl::with_active_store(|s| s.leaves()["w"].clone());
        assert_eq!(leaf.grad(&g).unwrap().to_vec(), vec![2.0, 2.0]);
        let w2: DTensor = no_grad(|| param("w", DTensor::ones(&[2], &dev()))).unwrap();
        assert!(!w2.is_autodiff());
    });
}

/// z ~ N(0, 1), x ~ N(z, 1): the model of the wrapped-handler tests.
fn zx(_: &()) -> Result<DTensor> {
    let d = Device::flex();
    let z: DTensor = sample(
        "z",
        Normal::new(DTensor::scalar(0.0, &d), DTensor::scalar(1.0, &d))?,
    )?;
    sample("x", Normal::new(z, DTensor::scalar(1.0, &d))?)
}

#[test]
fn wrapped_models_serve_mcmc_predictive_and_svi() {
    use lobes_ppl::handlers::wrap;
    use lobes_ppl::infer::Predictive;
    use lobes_ppl::infer::mcmc::{Mcmc, Nuts};
    let d = Device::flex();
    let data = HashMap::from([("x".to_string(), DTensor::scalar(2.0, &d))]);
    // poutine.condition(model, data) as a model for NUTS: z | x = 2 ~ N(1, 1/2).
    let conditioned = wrap::condition(zx, data.clone());
    let mut mcmc = Mcmc::new(Nuts::new(&conditioned))
        .num_warmup(200)
        .num_samples(800)
        .num_chains(2)
        .seed(1);
    mcmc.run_parallel(&()).unwrap();
    let sm = mcmc.summary().unwrap();
    let r = sm.row("z").unwrap();
    assert!(
        (r.mean - 1.0).abs() < 4.0 * r.sd / r.ess_bulk.sqrt()
            && (r.sd - 0.5f64.sqrt()).abs() < 0.08,
        "{sm}"
    );
    // poutine.do(model, data): x is fixed for what follows but z is still drawn from its prior.
    let intervened = wrap::do_(zx, data);
    let prior = Predictive::new(500).prior(&intervened, &()).unwrap();
    let z = prior.get("z").unwrap().to_vec();
    assert!(z.iter().map(|&v| v as f64).sum::<f64>().abs() / 500.0 < 0.15);
    // poutine.block(model, hide=["x"]): the trace no longer shows x.
    let blocked = wrap::block(zx, BlockSpec::hide(["x"]));
    let (_, tr) = trace(|| blocked(&())).unwrap();
    assert!(tr.contains("z") && !tr.contains("x"));
}

#[test]
fn lift_turns_a_parameter_into_a_latent_that_nuts_samples() {
    use lobes_ppl::handlers::wrap;
    use lobes_ppl::infer::mcmc::{Mcmc, Nuts};
    use std::sync::Arc;
    let d = Device::flex();
    let y = DTensor::from_floats(vec![1.0, 2.0, 1.5, 0.5], &[4], &d).unwrap();
    let regression = |y: &DTensor| -> Result<()> {
        let w: DTensor = param("w", DTensor::scalar(0.0, &y.device()))?;
        plate("data", 4).run(|_| {
            observe(
                "y",
                Normal::new(w, DTensor::scalar(1.0, &y.device()))?,
                y.clone(),
            )
        })?;
        Ok(())
    };
    let prior: Arc<dyn Distribution> =
        Arc::new(Normal::new(DTensor::scalar(0.0, &d), DTensor::scalar(1.0, &d)).unwrap());
    let bayesian = wrap::lift(regression, HashMap::from([("w".to_string(), prior)]));
    let mut mcmc = Mcmc::new(Nuts::new(&bayesian))
        .num_warmup(200)
        .num_samples(800)
        .seed(2);
    mcmc.run(&y).unwrap();
    let sm = mcmc.summary().unwrap();
    // w | y ~ N(Σy / 5, 1 / 5).
    let r = sm.row("w").unwrap();
    assert!(
        (r.mean - 1.0).abs() < 4.0 * r.sd / r.ess_bulk.sqrt()
            && (r.sd - 0.2f64.sqrt()).abs() < 0.06,
        "{sm}"
    );
}
