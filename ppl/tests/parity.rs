//! Pyro parity (issue #12): behaviours where the PPL must do what Pyro does, each checked
//! against a closed form or a reference written without the feature under test.

use lobes_ppl::infer::{Elbo, Svi, TraceElbo};
use lobes_ppl::optim::Adam;
use lobes_ppl::prelude::*;
use lobes_ppl::{ParamStore, SiteKind, with_active_store, with_param_store};

fn dev() -> Device {
    Device::flex()
}

fn s(v: f32) -> DTensor {
    DTensor::scalar(v, &dev())
}

/// The gradient of the surrogate ELBO with respect to parameter `name`, from one estimate.
fn surrogate_grad<A: ?Sized, RM, RG>(
    model: &impl Fn(&A) -> Result<RM>,
    guide: &impl Fn(&A) -> Result<RG>,
    args: &A,
    name: &str,
) -> f64 {
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        let est = TraceElbo::default().estimate(model, guide, args).unwrap();
        let g = est.surrogate.backward();
        let leaf = with_active_store(|s| s.leaves()[name].clone());
        leaf.grad(&g).unwrap().item() as f64
    })
}

// ------------------------------------------- score-function terms are not scaled twice
// Per copy: z ~ Bernoulli(P0) in the model, z ~ Bernoulli(logits φ) in the guide; the plate
// has N copies of which M are seen (scale N / M), all under scale(c). The full-data ELBO is
// c N Σ_z q(z) [ln p(z) - ln q(z)], so dELBO/dφ = c N σ(1-σ) (logit P0 - φ). Pyro scales the
// downstream cost, not the score ln q (ScoreParts.scale_and_mask).

const SF_M: usize = 20_000;
const SF_N: usize = 2 * SF_M;
const SF_PHI: f32 = -1.0;
const SF_P0: f32 = 0.6;

fn sf_model(c: &f64) -> Result<()> {
    scale(*c, || {
        plate("n", SF_N)
            .subsample_size(SF_M)
            .run(|_| sample::<DTensor>("z", Bernoulli::from_probs(s(SF_P0))?))
    })?;
    Ok(())
}

fn sf_guide(c: &f64) -> Result<()> {
    scale(*c, || {
        let phi: DTensor = param("phi", s(SF_PHI))?;
        plate("n", SF_N)
            .subsample_size(SF_M)
            .run(|_| sample::<DTensor>("z", Bernoulli::from_logits(phi.clone())?))
    })?;
    Ok(())
}

#[test]
fn score_function_gradient_is_unbiased_under_subsampling_and_scale() {
    let (phi, p0) = (SF_PHI as f64, SF_P0 as f64);
    let sig = 1.0 / (1.0 + (-phi).exp());
    let per_copy = sig * (1.0 - sig) * ((p0 / (1.0 - p0)).ln() - phi);
    for c in [1.0, 2.0] {
        lobes_ppl::rng::set_rng_seed(23);
        let got = surrogate_grad(&sf_model, &sf_guide, &c, "phi");
        let want = c * SF_N as f64 * per_copy;
        assert!(
            (got - want).abs() < 0.05 * want.abs(),
            "scale {c}, subsample {SF_M} of {SF_N}: gradient {got} vs closed form {want} (ratio {})",
            got / want
        );
    }
}

// ------------------------------------------- block(hide_types=["param"]) freezes params
// Pyro's SVI optimises the params its trace records; a param hidden by `block` is read from
// the store but not trained (the GMM tutorial's `poutine.block(model, hide_types=["param"])`).

fn blk_model(x: &DTensor) -> Result<()> {
    let w: DTensor = param("w", s(0.5))?;
    let mu: DTensor = sample("mu", Normal::new(s(0.0), s(1.0))?)?;
    observe::<DTensor>("x", Normal::new(mu.mul(&w), s(1.0))?, x.clone())?;
    Ok(())
}

fn blk_guide(_: &DTensor) -> Result<()> {
    let loc: DTensor = param("loc", s(0.0))?;
    sample::<DTensor>("mu", Normal::new(loc, s(1.0))?)?;
    Ok(())
}

#[test]
fn params_hidden_by_block_are_not_updated_by_svi() {
    let hidden =
        |x: &DTensor| block_with(BlockSpec::HideKinds(vec![SiteKind::Param]), || blk_model(x));
    let mut svi =
        Svi::new(hidden, blk_guide, Adam::new(0.1), TraceElbo::default()).with_seed(3, None);
    let x = s(2.0);
    for _ in 0..3 {
        svi.step(&x).unwrap();
    }
    let w = svi.store().get("w").unwrap().item();
    let loc = svi.store().get("loc").unwrap().item();
    assert_eq!(w, 0.5, "the blocked param 'w' must stay frozen");
    assert!(
        (loc - 0.0).abs() > 0.1,
        "the guide's visible param 'loc' must train ({loc})"
    );

    // The same model unblocked trains 'w'.
    let mut svi =
        Svi::new(blk_model, blk_guide, Adam::new(0.1), TraceElbo::default()).with_seed(3, None);
    svi.step(&x).unwrap();
    assert_ne!(svi.store().get("w").unwrap().item(), 0.5);
}

#[test]
fn a_param_hidden_by_name_is_frozen_and_the_others_train() {
    let model = |x: &DTensor| block_with(BlockSpec::hide(["w"]), || blk_model(x));
    let mut svi =
        Svi::new(model, blk_guide, Adam::new(0.1), TraceElbo::default()).with_seed(4, None);
    svi.step(&s(2.0)).unwrap();
    assert_eq!(svi.store().get("w").unwrap().item(), 0.5);
    assert_ne!(svi.store().get("loc").unwrap().item(), 0.0);
}

// ------------------------------------------- a factor in the guide is a term of log q
// Pyro: ELBO = E_q[log p - log q]; a guide `factor("f", f)` adds f to log q, so it adds -f to
// the ELBO and +f to the loss. With has_rsample=true its gradient is pathwise (-df/dθ); with
// has_rsample=false it is a score term, log_r · df/dθ, where log_r is the model's log p minus
// the guide's latent log q (Pyro's _compute_log_r); without has_rsample, validation refuses.

const X_OBS: f32 = 0.5;

fn fac_model(_: &bool) -> Result<()> {
    observe::<DTensor>("x", Normal::new(s(0.0), s(1.0))?, s(X_OBS))?;
    Ok(())
}

fn fac_guide(rsample: &bool) -> Result<()> {
    let t: DTensor = param("t", s(0.3))?;
    factor_with("f", t.square(), *rsample)
}

fn ln_n(x: f64) -> f64 {
    -0.5 * x * x - 0.5 * (2.0 * std::f64::consts::PI).ln()
}

#[test]
fn a_guide_factor_adds_its_value_to_the_loss() {
    let mut store = ParamStore::new();
    let loss = with_param_store(&mut store, || {
        TraceElbo::default().loss(
            &|_: &()| Ok(()),
            &|_: &()| factor_with("f", s(-1.0), true),
            &(),
        )
    })
    .unwrap();
    assert!(
        (loss - (-1.0)).abs() < 1e-6,
        "loss {loss}, Pyro gives -1 for a guide factor of -1"
    );
    for rsample in [true, false] {
        let loss = with_param_store(&mut store, || {
            TraceElbo::default().loss(&fac_model, &fac_guide, &rsample)
        })
        .unwrap();
        let want = -(ln_n(X_OBS as f64) - 0.09);
        assert!((loss - want).abs() < 1e-5, "loss {loss} vs {want}");
    }
}

#[test]
fn a_guide_factor_gradient_is_pathwise_or_score_function_as_declared() {
    let g = surrogate_grad(&fac_model, &fac_guide, &true, "t");
    assert!(
        (g - (-0.6)).abs() < 1e-5,
        "pathwise: d(-t²)/dt = -0.6, got {g}"
    );
    let g = surrogate_grad(&fac_model, &fac_guide, &false, "t");
    let want = ln_n(X_OBS as f64) * 0.6;
    assert!(
        (g - want).abs() < 1e-5,
        "score function: log_r · 2t = {want}, got {g}"
    );
}

#[test]
fn a_guide_factor_without_has_rsample_is_refused_under_validation() {
    let mut store = ParamStore::new();
    let err = with_param_store(&mut store, || {
        TraceElbo::default().loss(&fac_model, &|_: &bool| factor("g", s(1.0)), &true)
    })
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("factor(\"g\"") && msg.contains("has_rsample"),
        "{msg}"
    );
}
