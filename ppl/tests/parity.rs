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
    observe("x", Normal::new(mu.mul(&w), s(1.0))?, x.clone())?;
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

// ------------------------------------------- modules are shared by name, as Pyro's params
// Model and guide both register module "net" (Pyro's examples/cvae shares networks so); the
// gradient from both must reach the one set of stored parameters. The reference is the same
// model written with `param` sites of the same names.

#[derive(Module, Debug)]
struct Net {
    fc: burn::nn::Linear,
}

impl Net {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.fc.forward(x)
    }
}

fn net_template(d: &Device) -> Net {
    Net {
        fc: burn::nn::LinearConfig::new(1, 1).init(d),
    }
}

fn one() -> Tensor<2> {
    Tensor::<2>::ones([1, 1], &dev())
}

fn shared_model(net: &Net) -> Result<()> {
    let h = DTensor::from_tensor(module("net", net)?.forward(one().mul_scalar(2.0)));
    let z: DTensor = sample("z", Normal::new(s(0.0), s(1.0))?)?;
    observe(
        "x",
        Normal::new(z.add(&h), s(1.0))?,
        DTensor::full(&[1, 1], 1.5, &dev()),
    )?;
    Ok(())
}

fn shared_guide(net: &Net) -> Result<()> {
    let loc = DTensor::from_tensor(module("net", net)?.forward(one()));
    sample::<DTensor>("z", Normal::new(loc, s(1.0))?)?;
    Ok(())
}

/// `net.forward(x)` written with param sites named as `module` names them.
fn by_params(net: &Net, x: f32) -> Result<DTensor> {
    let w0 = DTensor::from_tensor(net.fc.weight.val());
    let b0 = DTensor::from_tensor(net.fc.bias.as_ref().unwrap().val());
    let w: DTensor = param("net.fc.weight", w0)?;
    let b: DTensor = param("net.fc.bias", b0)?;
    Ok(w.mul_scalar(x as f64).add(&b))
}

fn ref_model(net: &Net) -> Result<()> {
    let h = by_params(net, 2.0)?;
    let z: DTensor = sample("z", Normal::new(s(0.0), s(1.0))?)?;
    observe(
        "x",
        Normal::new(z.add(&h), s(1.0))?,
        DTensor::full(&[1, 1], 1.5, &dev()),
    )?;
    Ok(())
}

fn ref_guide(net: &Net) -> Result<()> {
    let loc = by_params(net, 1.0)?;
    sample::<DTensor>("z", Normal::new(loc, s(1.0))?)?;
    Ok(())
}

#[test]
fn a_module_shared_by_model_and_guide_trains_its_stored_parameters() {
    check_shared_module(&dev());
}

#[test]
fn a_module_shared_by_model_and_guide_trains_from_an_autodiff_template() {
    check_shared_module(&dev().autodiff());
}

fn check_shared_module(d: &Device) {
    let net = net_template(d);
    let mut svi = Svi::new(
        shared_model,
        shared_guide,
        Adam::new(0.05),
        TraceElbo::default(),
    )
    .with_seed(11, None);
    let mut reference =
        Svi::new(ref_model, ref_guide, Adam::new(0.05), TraceElbo::default()).with_seed(11, None);
    for _ in 0..3 {
        let a = svi.step(&net).unwrap();
        let b = reference.step(&net).unwrap();
        assert!((a - b).abs() < 1e-5, "losses {a} vs {b}");
    }
    for name in ["net.fc.weight", "net.fc.bias"] {
        let got = svi.store().get(name).unwrap().to_vec();
        let want = reference.store().get(name).unwrap().to_vec();
        let init = if name.ends_with("weight") {
            DTensor::from_tensor(net.fc.weight.val()).to_vec()
        } else {
            DTensor::from_tensor(net.fc.bias.as_ref().unwrap().val()).to_vec()
        };
        assert_ne!(got, init, "{name} must train");
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() < 1e-5,
                "{name}: {got:?} vs reference {want:?}"
            );
        }
    }
}

// ------------------------------------------- a factor in the guide is a term of log q
// Pyro: ELBO = E_q[log p - log q]; a guide `factor("f", f)` adds f to log q, so it adds -f to
// the ELBO and +f to the loss. With has_rsample=true its gradient is pathwise (-df/dθ); with
// has_rsample=false it is a score term, log_r · df/dθ, where log_r is the model's log p minus
// the guide's latent log q (Pyro's _compute_log_r); without has_rsample, validation refuses.

const X_OBS: f32 = 0.5;

fn fac_model(_: &bool) -> Result<()> {
    observe("x", Normal::new(s(0.0), s(1.0))?, s(X_OBS))?;
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

// ------------------------------------------- a batch dim no plate declares is an error
// Pyro's check_site_shape (under validation): a log-prob with more dims than the traces' plate
// nesting, or the wrong size at a plate's dim, is refused, naming the site (and the plate).

fn batched_model(in_plate: &bool) -> Result<()> {
    let d = dev();
    let prior = || Normal::new(DTensor::zeros(&[2, 3], &d), DTensor::ones(&[2, 3], &d));
    if *in_plate {
        plate("p", 3).run(|_| sample::<DTensor>("z", prior()?))?;
    } else {
        sample::<DTensor>("z", prior()?)?;
    }
    Ok(())
}

fn batched_guide(in_plate: &bool) -> Result<()> {
    let loc: DTensor = param("loc", DTensor::zeros(&[2, 3], &dev()))?;
    let guide = || Normal::new(loc.clone(), DTensor::ones(&[2, 3], &dev()));
    if *in_plate {
        plate("p", 3).run(|_| sample::<DTensor>("z", guide()?))?;
    } else {
        sample::<DTensor>("z", guide()?)?;
    }
    Ok(())
}

#[test]
fn a_log_prob_batch_dim_no_plate_declares_is_an_error() {
    for in_plate in [false, true] {
        let mut store = ParamStore::new();
        let err = with_param_store(&mut store, || {
            TraceElbo::default().loss(&batched_model, &batched_guide, &in_plate)
        })
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, PplError::LogProbShape { .. })
                && msg.contains("site 'z'")
                && msg.contains("invalid log_prob shape")
                && msg.contains("[2, 3]"),
            "{msg}"
        );
    }
    // Declared as an event, or by two plates, the same site is fine.
    let ok = |_: &()| {
        let d = dev();
        plate("a", 2).dim(-2).run(|_| {
            plate("b", 3).run(|_| {
                sample::<DTensor>(
                    "z",
                    Normal::new(DTensor::zeros(&[2, 3], &d), DTensor::ones(&[2, 3], &d))?,
                )
            })
        })?;
        Ok(())
    };
    let mut store = ParamStore::new();
    with_param_store(&mut store, || TraceElbo::default().loss(&ok, &ok, &())).unwrap();
}

// ------------------------------------------- plate-shape errors name the plate
// Pyro: "Shape mismatch inside plate('data') at site x dim -1, 3 vs 4".

#[test]
fn an_observed_value_that_does_not_fit_its_plate_names_the_plate() {
    let e = plate("data", 3)
        .run(|_| {
            observe(
                "x",
                Normal::new(s(0.0), s(1.0))?,
                DTensor::zeros(&[4], &dev()),
            )
        })
        .unwrap_err();
    assert!(matches!(e, PplError::ObservedPlateShape { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "Shape mismatch inside plate('data') at site 'x' dim -1: plate size 3 vs observed value shape [4]"
    );
    // Nested: the inner plate at dim -1 is fine, the outer one at dim -2 is not.
    let e = plate("outer", 2)
        .dim(-2)
        .run(|_| {
            plate("inner", 3).run(|_| {
                observe(
                    "y",
                    Normal::new(s(0.0), s(1.0))?,
                    DTensor::zeros(&[5, 3], &dev()),
                )
            })
        })
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("plate('outer')") && e.contains("dim -2") && e.contains("[5, 3]"),
        "{e}"
    );
}
