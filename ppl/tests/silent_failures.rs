//! Failures that used to be silent, each now an error or a warning a program can see
//! (`lobes_ppl::warnings`).
//!
//! 1. Pyro's `examples/cvae/cvae.py` registers the whole network in the model
//!    (`pyro.module("generation_net", self)`) and its guide calls `self.recognition_net`
//!    directly. In Pyro that trains, because a torch module holds its own parameters; a burn
//!    struct given to `module` is only a template, so the same guide computed with the
//!    template's fixed weights and the recognition network never trained, without a word.
//! 2. A latent site of the model that the guide never samples (Pyro's "Found vars in model
//!    but not guide", which Pyro's own suite turns into an error in
//!    `test_nonempty_model_empty_guide_error`, tests/infer/test_valid_models.py).

use burn::nn::{Linear, LinearConfig};
use lobes_ppl::prelude::*;
use lobes_ppl::warnings::{PplWarning, catch_warnings};
use std::sync::Mutex;

/// Validation is process-wide: the tests that switch it run one at a time.
static VALIDATION: Mutex<()> = Mutex::new(());

fn dev() -> Device {
    Device::flex()
}

#[derive(Module, Debug)]
struct Cvae {
    generation: Linear,
    recognition: Linear,
}

struct Args {
    net: Cvae,
    x: Tensor<2>,
}

fn args() -> Args {
    let d = dev();
    let x: Vec<f32> = (0..12).map(|i| ((i as f32) * 0.7).sin()).collect();
    Args {
        net: Cvae {
            generation: LinearConfig::new(2, 3).init(&d),
            recognition: LinearConfig::new(3, 2).init(&d),
        },
        x: Tensor::<1>::from_floats(x.as_slice(), &d).reshape([4, 3]),
    }
}

fn t(v: Tensor<2>) -> DTensor {
    DTensor::try_from_tensor(v).unwrap()
}

/// p(z) p(x | z): `module("generation_net", whole network)`, as Pyro's example.
fn model(a: &Args) -> Result<()> {
    let net = module("generation_net", &a.net)?;
    plate("data", 4).run(|_| {
        let z: DTensor = sample(
            "z",
            Normal::new(
                t(Tensor::zeros([4, 2], &dev())),
                t(Tensor::ones([4, 2], &dev())),
            )?
            .to_event(1),
        )?;
        let loc = net.generation.forward(z.to_tensor::<2>()?);
        observe(
            "x",
            Normal::new(t(loc), t(Tensor::ones([4, 3], &dev())))?.to_event(1),
            t(a.x.clone()),
        )?;
        Ok(())
    })
}

/// The guide of Pyro's example: the template's recognition network, called directly.
fn guide_on_template(a: &Args) -> Result<()> {
    let loc = a.net.recognition.forward(a.x.clone());
    plate("data", 4).run(|_| {
        sample::<DTensor>(
            "z",
            Normal::new(t(loc), t(Tensor::ones([4, 2], &dev()) * 0.5))?.to_event(1),
        )?;
        Ok(())
    })
}

/// The lobes way: the recognition network of the module `module` returns.
fn guide_on_module(a: &Args) -> Result<()> {
    let net = module("generation_net", &a.net)?;
    let loc = net.recognition.forward(a.x.clone());
    plate("data", 4).run(|_| {
        sample::<DTensor>(
            "z",
            Normal::new(t(loc), t(Tensor::ones([4, 2], &dev()) * 0.5))?.to_event(1),
        )?;
        Ok(())
    })
}

type Program = fn(&Args) -> Result<()>;

fn svi(guide: Program) -> Svi<Args, Program, Program, Adam, TraceElbo> {
    Svi::new(
        model as Program,
        guide,
        Adam::new(0.05),
        TraceElbo::default(),
    )
    .with_seed(3, None)
}

fn recognition(svi: &Svi<Args, Program, Program, Adam, TraceElbo>) -> Vec<f32> {
    svi.store()
        .get("generation_net.recognition.weight")
        .unwrap()
        .to_vec()
}

#[test]
fn a_guide_calling_the_template_is_an_error_under_validation_and_a_warning_without() {
    let _v = VALIDATION.lock().unwrap_or_else(|e| e.into_inner());
    let a = args();
    let mut s = svi(guide_on_template);
    let e = s.step(&a).unwrap_err();
    assert!(
        matches!(&e, PplError::UntrainedParameters { module, params }
            if module == "generation_net"
                && params == &["generation_net.recognition.bias", "generation_net.recognition.weight"]),
        "{e:?}"
    );
    assert!(e.to_string().contains("never train"), "{e}");
    assert_eq!(s.steps(), 0, "the step is not taken");

    lobes_ppl::enable_validation(false);
    let mut s = svi(guide_on_template);
    let (r, seen) = catch_warnings(|| s.step(&a));
    lobes_ppl::enable_validation(true);
    assert!(r.is_ok(), "{r:?}");
    assert!(
        matches!(&seen[..], [PplWarning::UntrainedParameters { module, .. }] if module == "generation_net"),
        "{seen:?}"
    );
}

#[test]
fn the_guide_calling_the_module_trains_both_networks_without_a_warning() {
    let _v = VALIDATION.lock().unwrap_or_else(|e| e.into_inner());
    let a = args();
    let mut s = svi(guide_on_module);
    s.step(&a).unwrap();
    let before = recognition(&s);
    let (r, seen) = catch_warnings(|| (0..5).try_for_each(|_| s.step(&a).map(|_| ())));
    r.unwrap();
    assert!(seen.is_empty(), "{seen:?}");
    assert_ne!(recognition(&s), before, "the recognition network trains");
}

fn z_model(_: &()) -> Result<()> {
    sample::<DTensor>(
        "z",
        Normal::new(DTensor::scalar(0.0, &dev()), DTensor::scalar(1.0, &dev()))?,
    )?;
    sample::<DTensor>(
        "w",
        Normal::new(DTensor::scalar(0.0, &dev()), DTensor::scalar(1.0, &dev()))?,
    )?;
    Ok(())
}

fn w_guide(_: &()) -> Result<()> {
    sample::<DTensor>(
        "w",
        Normal::new(DTensor::scalar(0.5, &dev()), DTensor::scalar(1.0, &dev()))?,
    )?;
    Ok(())
}

#[test]
fn a_model_latent_the_guide_does_not_sample_is_a_warning_naming_it() {
    let (loss, seen) = catch_warnings(|| TraceElbo::default().loss(&z_model, &w_guide, &()));
    assert!(loss.unwrap().is_finite());
    assert_eq!(
        seen,
        [PplWarning::ModelOnlySites {
            sites: vec!["z".into()]
        }]
    );
    assert_eq!(
        seen[0].to_string(),
        "Found vars in model but not guide: {z} (sampled from the model's prior)"
    );
    // The reverse is an error, as in Pyro.
    let e = TraceElbo::default()
        .loss(&w_guide, &z_model, &())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "latent site 'z' is sampled in the guide but not in the model"
    );
}
