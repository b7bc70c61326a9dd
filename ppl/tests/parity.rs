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
