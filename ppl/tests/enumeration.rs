//! Parallel enumeration against closed forms: `TraceEnumElbo` with sites enumerated in the
//! model (summed out exactly) and in the guide (averaged exactly), and `infer_discrete`
//! against brute force (Pyro's `tests/infer/test_enum.py` and `test_discrete.py` in spirit).

use lobes_ppl::handlers::{config_enumerate_sequential, markov, markov_with};
use lobes_ppl::infer::{TraceEnumElbo, infer_discrete};
use lobes_ppl::prelude::*;
use lobes_ppl::{InferConfig, ParamStore, sample_with, with_active_store, with_param_store};
use std::sync::Arc;

use crate::support::*;

const X: [f32; 4] = [-0.7, 0.2, 2.4, 3.1];
const W: [f64; 2] = [0.3, 0.7];

/// A mixture with learnable locations: in plate("data"), a ~ Categorical(W),
/// x ~ N(locs[a], 1).
fn mixture(x: &DTensor) -> Result<()> {
    let locs: DTensor = param("locs", t(&[-1.0, 2.0]))?;
    config_enumerate(|| {
        plate("data", x.numel()).run(|_| {
            let a: DTensor = sample("a", Categorical::from_probs(t(&[0.3, 0.7]))?)?;
            observe("x", Normal::new(locs.gather_last(&a)?, 1.0)?, x.clone())?;
            Ok(())
        })
    })
}
fn empty(_: &DTensor) -> Result<()> {
    Ok(())
}

fn mixture_loss(locs: [f64; 2]) -> f64 {
    -X.iter()
        .map(|&x| {
            lse(&[
                W[0].ln() + ln_n(x as f64, locs[0], 1.0),
                W[1].ln() + ln_n(x as f64, locs[1], 1.0),
            ])
        })
        .sum::<f64>()
}

#[test]
fn model_enumeration_gives_the_exact_marginal_likelihood_and_its_gradient() {
    let x = t(&X);
    let mut store = ParamStore::new();
    let (loss, grad) = with_param_store(&mut store, || {
        let est = TraceEnumElbo::new(1)
            .estimate(&mixture, &empty, &x)
            .unwrap();
        let g = est.surrogate.backward();
        let leaf = with_active_store(|s| s.leaves()["locs"].clone());
        (est.loss(), leaf.grad(&g).unwrap().to_vec())
    });
    let want = mixture_loss([-1.0, 2.0]);
    assert!((loss - want).abs() < 1e-4, "loss {loss} vs {want}");
    // d(-ELBO)/d locs by central differences of the closed form; the surrogate is the ELBO.
    for k in 0..2 {
        let h = 1e-5;
        let mut up = [-1.0, 2.0];
        let mut down = up;
        up[k] += h;
        down[k] -= h;
        let fd = -(mixture_loss(up) - mixture_loss(down)) / (2.0 * h);
        assert!(
            (grad[k] as f64 - fd).abs() < 1e-3,
            "d/dlocs[{k}]: {} vs {fd}",
            grad[k]
        );
    }
}

/// A global switch z ~ Bernoulli(0.4) shared by a plate of observations x_n ~ N(2 z - 1, 1):
/// the plate's product must be taken before z is summed out.
fn switch(x: &DTensor) -> Result<()> {
    config_enumerate(|| {
        let z: DTensor = sample("z", Bernoulli::from_probs(0.4)?)?;
        plate("data", x.numel()).run(|_| {
            observe(
                "x",
                Normal::new(z.mul_scalar(2.0).add_scalar(-1.0), 1.0)?,
                x.clone(),
            )?;
            Ok(())
        })
    })
}

#[test]
fn a_global_enumerated_site_is_summed_out_after_the_plate_product() {
    let x = t(&X);
    let loss = TraceEnumElbo::new(1).loss(&switch, &empty, &x).unwrap();
    let lik = |m: f64| X.iter().map(|&v| ln_n(v as f64, m, 1.0)).sum::<f64>();
    let want = -lse(&[0.6f64.ln() + lik(-1.0), 0.4f64.ln() + lik(1.0)]);
    assert!((loss - want).abs() < 1e-4, "loss {loss} vs {want}");
    // Trace_ELBO's estimate with z drawn from the prior is a different (noisier) number.
    assert!((TraceElbo::default().loss(&switch, &empty, &x).unwrap() - want).abs() > 1e-3);
}

// In plate("n", 3): z ~ Bernoulli(0.3), x ~ N(2 z, 1) at x = 1.5; the guide's q(z = 1) =
// sigmoid(phi), enumerated: the ELBO is the exact sum over z, so its gradient is exact.
const PHI: f32 = 0.4;
fn coin_model(x: &DTensor) -> Result<()> {
    plate("n", x.numel()).run(|_| {
        let z: DTensor = sample("z", Bernoulli::from_probs(0.3)?)?;
        observe("x", Normal::new(z.mul_scalar(2.0), 1.0)?, x.clone())?;
        Ok(())
    })
}
fn coin_guide(x: &DTensor) -> Result<()> {
    let phi: DTensor = param("phi", DTensor::scalar(PHI, &dev()))?;
    config_enumerate(|| {
        plate("n", x.numel()).run(|_| sample::<DTensor>("z", Bernoulli::from_logits(phi)?))
    })?;
    Ok(())
}

#[test]
fn guide_enumeration_gives_the_exact_elbo_and_gradient() {
    let (a1, a0) = (
        0.3f64.ln() + ln_n(1.5, 2.0, 1.0),
        0.7f64.ln() + ln_n(1.5, 0.0, 1.0),
    );
    let sig = 1.0 / (1.0 + (-(PHI as f64)).exp());
    let elbo = sig * (a1 - sig.ln()) + (1.0 - sig) * (a0 - (1.0 - sig).ln());
    let dphi = sig * (1.0 - sig) * (a1 - a0 - PHI as f64);
    let x = DTensor::full(&[3], 1.5, &dev());
    let mut store = ParamStore::new();
    let (loss, grad) = with_param_store(&mut store, || {
        let est = TraceEnumElbo::new(1)
            .estimate(&coin_model, &coin_guide, &x)
            .unwrap();
        let g = est.surrogate.backward();
        let leaf = with_active_store(|s| s.leaves()["phi"].clone());
        (est.loss(), leaf.grad(&g).unwrap().item() as f64)
    });
    assert!(
        (loss + 3.0 * elbo).abs() < 1e-4,
        "loss {loss} vs {}",
        -3.0 * elbo
    );
    assert!(
        (grad - 3.0 * dphi).abs() < 1e-4,
        "gradient {grad} vs {}",
        3.0 * dphi
    );
}

/// x ~ Bernoulli(0.4) global; in plate("data"): y ~ Bernoulli(0.2 + 0.6 x),
/// obs ~ N(3 y - 1, 1).
fn chain(d: &DTensor) -> Result<()> {
    config_enumerate(|| {
        let x: DTensor = sample("x", Bernoulli::from_probs(0.4)?)?;
        plate("data", d.numel()).run(|_| {
            let y: DTensor = sample(
                "y",
                Bernoulli::from_probs(x.mul_scalar(0.6).add_scalar(0.2))?,
            )?;
            observe(
                "obs",
                Normal::new(y.mul_scalar(3.0).add_scalar(-1.0), 1.0)?,
                d.clone(),
            )?;
            Ok(())
        })
    })
}

/// log p(x, y, obs) for the chain.
fn chain_joint(x: usize, y: &[usize], d: &[f32]) -> f64 {
    let px = if x == 1 { 0.4f64 } else { 0.6 };
    let py1 = 0.2 + 0.6 * x as f64;
    px.ln()
        + y.iter()
            .zip(d)
            .map(|(&yi, &di)| {
                let p = if yi == 1 { py1 } else { 1.0 - py1 };
                p.ln() + ln_n(di as f64, 3.0 * yi as f64 - 1.0, 1.0)
            })
            .sum::<f64>()
}

#[test]
fn infer_discrete_finds_the_joint_map_and_draws_from_the_posterior() {
    let d = [0.4f32, 1.3, -0.9];
    let data = t(&d);
    // Brute force over x and y in {0,1}^3.
    let mut best = (f64::NEG_INFINITY, 0, vec![]);
    let mut post_x1 = [0.0f64; 2];
    for (x, mass) in post_x1.iter_mut().enumerate() {
        for bits in 0..8usize {
            let y: Vec<usize> = (0..3).map(|i| (bits >> i) & 1).collect();
            let lp = chain_joint(x, &y, &d);
            *mass += lp.exp();
            if lp > best.0 {
                best = (lp, x, y);
            }
        }
    }
    let (_, tr) = trace(|| infer_discrete(-2, 0.0, || chain(&data))).unwrap();
    assert_eq!(tr.value("x").unwrap().to_vec(), vec![best.1 as f32]);
    let y: Vec<f32> = best.2.iter().map(|&v| v as f32).collect();
    assert_eq!(tr.value("y").unwrap().to_vec(), y);
    assert_eq!(tr.value("y").unwrap().shape(), &[3]);
    assert_eq!(tr.value("x").unwrap().shape(), &[] as &[usize]);
    // Posterior draws of x: frequency within 4 standard errors of P(x = 1 | obs).
    let p1 = post_x1[1] / (post_x1[0] + post_x1[1]);
    lobes_ppl::rng::set_rng_seed(3);
    let n = 2000;
    let mut ones = 0.0;
    for _ in 0..n {
        let (_, tr) = trace(|| infer_discrete(-2, 1.0, || chain(&data))).unwrap();
        ones += tr.value("x").unwrap().item() as f64;
    }
    let se = (p1 * (1.0 - p1) / n as f64).sqrt();
    assert!(
        (ones / n as f64 - p1).abs() < 4.0 * se,
        "P(x=1) {} vs {p1}",
        ones / n as f64
    );
}

#[test]
fn enumeration_errors_name_the_site_and_the_plate() {
    let x = t(&X);
    // A continuous site marked for enumeration.
    let bad = |_: &DTensor| -> Result<()> {
        let infer = InferConfig {
            enumerate: true,
            ..Default::default()
        };
        let n = Normal::new(0.0, 1.0)?;
        sample_with::<DTensor>("mu", Arc::new(n), None, infer)?;
        Ok(())
    };
    let err = TraceEnumElbo::new(0)
        .loss(&bad, &empty, &x)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'mu'") && err.contains("no finite support"),
        "{err}"
    );
    // A plate deeper than max_plate_nesting.
    let err = TraceEnumElbo::new(0)
        .loss(&mixture, &empty, &x)
        .unwrap_err()
        .to_string();
    assert!(err.contains("'a'") || err.contains("data"), "{err}");
    assert!(err.contains("max_plate_nesting"), "{err}");
    // A temperature other than 0 or 1.
    let err = infer_discrete(-2, 0.5, || chain(&x))
        .unwrap_err()
        .to_string();
    assert!(err.contains("temperature"), "{err}");
}

/// In plate("b", 3) (dim -2): x ~ Bernoulli(0.3); in plate("a", 2) (dim -1) inside it:
/// y ~ Bernoulli(0.25 + 0.5 x), obs ~ N(2 y, 1). The marginal is
/// sum_b log sum_x p(x) prod_a sum_y p(y | x) N(obs_ab | 2 y, 1).
const OBS: [[f32; 2]; 3] = [[0.3, 1.9], [-0.4, 0.1], [2.2, 1.7]];
fn nested(d: &DTensor) -> Result<()> {
    config_enumerate(|| {
        plate("b", 3).dim(-2).run(|_| {
            let x: DTensor = sample("x", Bernoulli::from_probs(0.3)?)?;
            plate("a", 2).dim(-1).run(|_| {
                let y: DTensor = sample(
                    "y",
                    Bernoulli::from_probs(x.mul_scalar(0.5).add_scalar(0.25))?,
                )?;
                observe("obs", Normal::new(y.mul_scalar(2.0), 1.0)?, d.clone())?;
                Ok(())
            })
        })
    })
}

#[test]
fn enumerated_sites_in_nested_plates_are_summed_out_plate_by_plate() {
    let d = DTensor::from_floats(OBS.concat(), &[3, 2], &dev()).unwrap();
    let loss = TraceEnumElbo::new(2).loss(&nested, &empty, &d).unwrap();
    let mut want = 0.0;
    for row in OBS {
        let per_x: Vec<f64> = (0..2)
            .map(|x| {
                let px: f64 = if x == 1 { 0.3 } else { 0.7 };
                let py1 = 0.25 + 0.5 * x as f64;
                let inner: f64 = row
                    .iter()
                    .map(|&o| {
                        lse(&[
                            (1.0 - py1).ln() + ln_n(o as f64, 0.0, 1.0),
                            py1.ln() + ln_n(o as f64, 2.0, 1.0),
                        ])
                    })
                    .sum();
                px.ln() + inner
            })
            .collect();
        want += lse(&per_x);
    }
    assert!((loss + want).abs() < 1e-4, "loss {loss} vs {}", -want);
    // The joint MAP of x and y, by brute force over the 2 x 2^2 assignments of each row.
    let (_, tr) = trace(|| infer_discrete(-3, 0.0, || nested(&d))).unwrap();
    let (xs, ys) = (tr.value("x").unwrap(), tr.value("y").unwrap());
    assert_eq!(xs.shape(), &[3, 1]);
    assert_eq!(ys.shape(), &[3, 2]);
    for (b, row) in OBS.iter().enumerate() {
        let mut best = (f64::NEG_INFINITY, 0, [0usize; 2]);
        for x in 0..2 {
            for bits in 0..4usize {
                let y = [bits & 1, bits >> 1];
                let px: f64 = if x == 1 { 0.3 } else { 0.7 };
                let py1 = 0.25 + 0.5 * x as f64;
                let lp = px.ln()
                    + (0..2)
                        .map(|a| {
                            let p = if y[a] == 1 { py1 } else { 1.0 - py1 };
                            p.ln() + ln_n(row[a] as f64, 2.0 * y[a] as f64, 1.0)
                        })
                        .sum::<f64>();
                if lp > best.0 {
                    best = (lp, x, y);
                }
            }
        }
        assert_eq!(xs.to_vec()[b], best.1 as f32, "x of row {b}");
        assert_eq!(
            &ys.to_vec()[2 * b..2 * b + 2],
            &[best.2[0] as f32, best.2[1] as f32]
        );
    }
}

/// A continuous global guided by a reparameterised Normal beside a model-enumerated local:
/// the ELBO of one particle is log p(mu) + sum_n log sum_k p(k) N(x_n | mu + k, 1) - log q(mu)
/// at the guide's draw.
fn shift_model(x: &DTensor) -> Result<()> {
    let mu: DTensor = sample("mu", Normal::new(0.0, 2.0)?)?;
    config_enumerate(|| {
        plate("data", x.numel()).run(|_| {
            let k: DTensor = sample("k", Bernoulli::from_probs(0.4)?)?;
            observe("x", Normal::new(mu.add(&k), 1.0)?, x.clone())?;
            Ok(())
        })
    })
}
fn shift_guide(_: &DTensor) -> Result<()> {
    sample::<DTensor>("mu", Normal::new(0.5, 0.3)?)?;
    Ok(())
}

#[test]
fn model_enumeration_beside_a_sampled_guide_site_scores_the_guide_draw() {
    let x = t(&X);
    let est = TraceEnumElbo::new(1)
        .estimate(&shift_model, &shift_guide, &x)
        .unwrap();
    let mu = est.guide_trace.value("mu").unwrap().item() as f64;
    let want = ln_n(mu, 0.0, 2.0) - ln_n(mu, 0.5, 0.3)
        + X.iter()
            .map(|&v| {
                lse(&[
                    0.6f64.ln() + ln_n(v as f64, mu, 1.0),
                    0.4f64.ln() + ln_n(v as f64, mu + 1.0, 1.0),
                ])
            })
            .sum::<f64>();
    assert!(
        (est.loss() + want).abs() < 1e-4,
        "loss {} vs {}",
        est.loss(),
        -want
    );
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// A continuous latent that depends on a model-enumerated site: its model batch shape carries
/// the enumeration dim, the guide's does not (Pyro compares only the plate dims).
fn depends_model(_: &DTensor) -> Result<()> {
    config_enumerate(|| {
        let c: DTensor = sample("c", Bernoulli::from_probs(0.3)?)?;
        let z: DTensor = sample("z", Normal::new(c.mul_scalar(2.0), 1.0)?)?;
        observe("x", Normal::new(z, 1.0)?, DTensor::scalar(1.0, &dev()))?;
        Ok(())
    })
}
fn depends_guide(_: &DTensor) -> Result<()> {
    sample::<DTensor>("z", Normal::new(0.8, 1.0)?)?;
    Ok(())
}

#[test]
fn a_latent_downstream_of_model_enumeration_is_summed_with_it() {
    let x = t(&[0.0]);
    let est = TraceEnumElbo::new(0)
        .estimate(&depends_model, &depends_guide, &x)
        .unwrap();
    let z = est.guide_trace.value("z").unwrap().item() as f64;
    let want = lse(&[
        0.7f64.ln() + ln_n(z, 0.0, 1.0),
        0.3f64.ln() + ln_n(z, 2.0, 1.0),
    ]) + ln_n(1.0, z, 1.0)
        - ln_n(z, 0.8, 1.0);
    assert!(
        (est.loss() + want).abs() < 1e-4,
        "loss {} vs {}",
        est.loss(),
        -want
    );
}

/// A global z and, in plate("data"), a local w, both enumerated in the model, and y
/// enumerated in the guide: the factors of w and of z are separate components, so w's stays
/// in the plate, weighted by q(y), while z's is reduced to the global level.
const PHI_Y: f64 = 0.7;
fn components_model(_: &DTensor) -> Result<()> {
    config_enumerate(|| {
        let z: DTensor = sample("z", Bernoulli::from_probs(0.5)?)?;
        plate("data", 2).run(|_| {
            let w: DTensor = sample("w", Bernoulli::from_probs(0.5)?)?;
            let y: DTensor = sample("y", Bernoulli::from_probs(0.5)?)?;
            observe(
                "x",
                Normal::new(w.add(&y.mul_scalar(3.0)), 1.0)?,
                t(&[3.0, 0.5]),
            )?;
            observe("u", Normal::new(z.clone(), 1.0)?, t(&[0.0, 0.2]))?;
            Ok(())
        })
    })
}
fn components_guide(_: &DTensor) -> Result<()> {
    config_enumerate(|| {
        plate("data", 2).run(|_| {
            sample::<DTensor>("y", Bernoulli::from_logits(PHI_Y as f32)?)?;
            Ok(())
        })
    })
}

#[test]
fn separate_components_of_one_plate_are_contracted_separately() {
    let loss = TraceEnumElbo::new(1)
        .loss(&components_model, &components_guide, &t(&[0.0]))
        .unwrap();
    let (xs, us) = ([3.0, 0.5], [0.0, 0.2]);
    let global = lse(&[
        0.5f64.ln() + us.iter().map(|&u| ln_n(u, 0.0, 1.0)).sum::<f64>(),
        0.5f64.ln() + us.iter().map(|&u| ln_n(u, 1.0, 1.0)).sum::<f64>(),
    ]);
    let q1 = sigmoid(PHI_Y);
    let local: f64 = xs
        .iter()
        .map(|&x| {
            [(0.0, 1.0 - q1), (1.0, q1)]
                .iter()
                .map(|&(y, q)| {
                    let lw = lse(&[
                        0.5f64.ln() + ln_n(x, 3.0 * y, 1.0),
                        0.5f64.ln() + ln_n(x, 1.0 + 3.0 * y, 1.0),
                    ]);
                    q * (0.5f64.ln() + lw - q.ln())
                })
                .sum::<f64>()
        })
        .sum();
    let want = global + local;
    assert!((loss + want).abs() < 1e-4, "loss {loss} vs {}", -want);
}

#[test]
fn guide_probabilities_weigh_unmasked_and_zero_probabilities_drop_out() {
    // The mask handler hides log q from the ELBO but not from the weights (Pyro's
    // ScoreParts): ELBO = log 0.5 + 0.3 log N(0 | 1, 1) + 0.7 log N(0 | 0, 1).
    let model = |_: &DTensor| -> Result<()> {
        let z: DTensor = sample("z", Bernoulli::from_probs(0.5)?)?;
        observe("x", Normal::new(z, 1.0)?, DTensor::scalar(0.0, &dev()))?;
        Ok(())
    };
    let guide = |_: &DTensor| -> Result<()> {
        let off = DTensor::scalar(0.0, &dev());
        config_enumerate(|| mask(off, || sample::<DTensor>("z", Bernoulli::from_probs(0.3)?)))?;
        Ok(())
    };
    let loss = TraceEnumElbo::new(0)
        .loss(&model, &guide, &t(&[0.0]))
        .unwrap();
    let want = 0.5f64.ln() + 0.3 * ln_n(0.0, 1.0, 1.0) + 0.7 * ln_n(0.0, 0.0, 1.0);
    assert!((loss + want).abs() < 1e-4, "loss {loss} vs {}", -want);
    // A value of guide probability zero: ELBO = log(1/3) - log(1/2), not NaN.
    let model = |_: &DTensor| -> Result<()> {
        sample::<DTensor>("z", Categorical::from_probs(t(&[1.0, 1.0, 1.0]))?)?;
        Ok(())
    };
    let guide = |_: &DTensor| -> Result<()> {
        let logits = t(&[0.0, 0.0, f32::NEG_INFINITY]);
        config_enumerate(|| sample::<DTensor>("z", Categorical::from_logits(logits)?))?;
        Ok(())
    };
    let loss = TraceEnumElbo::new(0)
        .loss(&model, &guide, &t(&[0.0]))
        .unwrap();
    assert!(
        (loss + (1.0f64 / 3.0).ln() - 0.5f64.ln()).abs() < 1e-5,
        "loss {loss}"
    );
}

#[test]
fn a_binomial_is_enumerated_over_its_counts() {
    let model = |_: &DTensor| -> Result<()> {
        config_enumerate(|| {
            let k: DTensor = sample("k", Binomial::from_probs(3.0, 0.4)?)?;
            observe("x", Normal::new(k, 1.0)?, DTensor::scalar(2.5, &dev()))?;
            Ok(())
        })
    };
    let loss = TraceEnumElbo::new(0)
        .loss(&model, &empty, &t(&[0.0]))
        .unwrap();
    let binom = |k: i32| {
        let c = [1.0, 3.0, 3.0, 1.0][k as usize];
        c * 0.4f64.powi(k) * 0.6f64.powi(3 - k)
    };
    let want = lse(&(0..4)
        .map(|k| binom(k).ln() + ln_n(2.5, k as f64, 1.0))
        .collect::<Vec<_>>());
    assert!((loss + want).abs() < 1e-4, "loss {loss} vs {}", -want);
}

#[test]
fn infer_discrete_draws_the_other_latents_again_and_keeps_their_shapes() {
    let model = || -> Result<(DTensor, DTensor)> {
        config_enumerate(|| {
            let c: DTensor = sample("c", Bernoulli::from_probs(0.5)?)?;
            let s: DTensor = sample("s", Normal::new(DTensor::zeros(&[1], &dev()), 1.0)?)?;
            observe(
                "x",
                Normal::new(c.mul_scalar(4.0), 1.0)?,
                DTensor::scalar(4.0, &dev()),
            )?;
            Ok((c, s))
        })
    };
    let ((c, s), _) = trace(|| infer_discrete(-1, 0.0, model)).unwrap();
    assert_eq!(c.to_vec(), vec![1.0]);
    assert_eq!(s.shape(), &[1]);
}

// A hidden Markov model under `markov`: three states, Normal emissions, 12 steps (12
// enumerated sites in two reused dims; without markov they would need 12 dims).
const K: usize = 3;
const LOCS: [f32; 3] = [-2.0, 0.0, 2.5];
const INIT: [f32; 3] = [0.5, 0.3, 0.2];
const TRANS: [[f32; 3]; 3] = [[0.8, 0.15, 0.05], [0.1, 0.7, 0.2], [0.2, 0.2, 0.6]];

fn hmm_y(t: usize, seq: usize) -> f32 {
    LOCS[(t / 3 + seq) % 3] + 0.6 * ((t * 7 + seq * 3) as f32).sin()
}

fn trans() -> DTensor {
    DTensor::from_floats(TRANS.concat(), &[K, K], &dev()).unwrap()
}

/// `y[t, s]` for `s` in a plate of sequences (`lengths[s]` steps observed, the rest masked).
fn hmm(data: &(DTensor, Vec<usize>)) -> Result<()> {
    let (y, lengths) = data;
    let (steps, seqs) = (y.shape()[0], y.shape()[1]);
    let observed: Vec<f32> = (0..steps)
        .flat_map(|t| lengths.iter().map(move |&l| f32::from(t < l)))
        .collect();
    let observed = DTensor::from_floats(observed, &[steps, seqs], &dev())?;
    plate("sequences", seqs).run(|_| {
        let mut x: Option<DTensor> = None;
        markov(0..steps, |t| {
            let probs = match &x {
                None => t_f(&INIT),
                Some(prev) => trans().index_rows(prev)?,
            };
            let row = |v: &DTensor| v.index_select(-2, &[t]).and_then(|r| r.reshape(&[seqs]));
            mask(row(&observed)?, || {
                let xt: DTensor = config_enumerate(|| {
                    sample(&format!("x_{t}"), Categorical::from_probs(probs)?)
                })?;
                observe(
                    &format!("y_{t}"),
                    Normal::new(t_f(&LOCS).gather_last(&xt)?, 1.0)?,
                    row(y)?,
                )?;
                x = Some(xt);
                Ok(())
            })
        })
    })
}

fn t_f(v: &[f32]) -> DTensor {
    t(v)
}

/// log p(y) by the forward algorithm in f64.
fn forward(y: &[f64]) -> f64 {
    let mut alpha: Vec<f64> = (0..K)
        .map(|k| (INIT[k] as f64).ln() + ln_n(y[0], LOCS[k] as f64, 1.0))
        .collect();
    for &yt in &y[1..] {
        alpha = (0..K)
            .map(|j| {
                let terms: Vec<f64> = (0..K)
                    .map(|i| alpha[i] + (TRANS[i][j] as f64).ln())
                    .collect();
                lse(&terms) + ln_n(yt, LOCS[j] as f64, 1.0)
            })
            .collect();
    }
    lse(&alpha)
}

#[test]
fn markov_reuses_two_dims_and_gives_the_forward_algorithms_likelihood() {
    let (steps, lengths) = (12, vec![12, 7, 10]);
    let y: Vec<f32> = (0..steps)
        .flat_map(|t| (0..3).map(move |s| hmm_y(t, s)))
        .collect();
    let data = (
        DTensor::from_floats(y, &[steps, 3], &dev()).unwrap(),
        lengths.clone(),
    );
    let est = TraceEnumElbo::new(1)
        .estimate(&hmm, &empty_hmm, &data)
        .unwrap();
    let want: f64 = (0..3)
        .map(|s| {
            forward(
                &(0..lengths[s])
                    .map(|t| hmm_y(t, s) as f64)
                    .collect::<Vec<_>>(),
            )
        })
        .sum();
    assert!(
        (-est.loss() - want).abs() < 1e-3 * want.abs(),
        "log p(y) {} vs forward {want}",
        -est.loss()
    );
    let dims: Vec<isize> = est
        .model_trace
        .sample_sites()
        .filter_map(|s| s.infer.enum_dim)
        .collect();
    assert_eq!(dims.len(), 12);
    assert!(dims.iter().all(|&d| d == -2 || d == -3), "{dims:?}");
}

fn empty_hmm(_: &(DTensor, Vec<usize>)) -> Result<()> {
    Ok(())
}

/// A second-order chain: `x_t ~ Categorical(P[2 x_{t-2} + x_{t-1}])` over two states.
fn second_order(history: usize) -> impl Fn(&DTensor) -> Result<()> {
    move |y: &DTensor| {
        let p2 = DTensor::from_floats(
            vec![0.9, 0.1, 0.4, 0.6, 0.3, 0.7, 0.15, 0.85],
            &[4, 2],
            &dev(),
        )?;
        let (mut a, mut b): (Option<DTensor>, Option<DTensor>) = (None, None);
        markov_with(history, 0..y.numel(), |t| {
            let probs = match (&a, &b) {
                (Some(a), Some(b)) => p2.index_rows(&(a * 2.0 + b))?,
                _ => t_f(&[0.5, 0.5]),
            };
            let x: DTensor =
                config_enumerate(|| sample(&format!("x_{t}"), Categorical::from_probs(probs)?))?;
            let loc = &x * 3.0 - 1.5;
            observe(
                &format!("y_{t}"),
                Normal::new(loc, 1.0)?,
                y.index_select(-1, &[t])?.reshape(&[])?,
            )?;
            (a, b) = (b.take(), Some(x));
            Ok(())
        })
    }
}

#[test]
fn a_second_order_chain_needs_history_two() {
    let ys: Vec<f32> = (0..9)
        .map(|t| if (t / 2) % 2 == 0 { 1.3 } else { -1.1 } + 0.2 * (t as f32).cos())
        .collect();
    // Brute force over all 2^9 paths.
    let p2: [[f64; 2]; 4] = [[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.15, 0.85]];
    let mut paths = vec![];
    for bits in 0..(1usize << 9) {
        let x: Vec<usize> = (0..9).map(|t| (bits >> t) & 1).collect();
        let mut l = 0.0;
        for tt in 0..9 {
            l += if tt < 2 {
                0.5f64.ln()
            } else {
                p2[2 * x[tt - 2] + x[tt - 1]][x[tt]].ln()
            };
            l += ln_n(ys[tt] as f64, 3.0 * x[tt] as f64 - 1.5, 1.0);
        }
        paths.push(l);
    }
    let want = lse(&paths);
    let y = t(&ys);
    let est = TraceEnumElbo::new(0)
        .estimate(&second_order(2), &|_: &DTensor| Ok(()), &y)
        .unwrap();
    assert!(
        (-est.loss() - want).abs() < 1e-3,
        "{} vs brute force {want}",
        -est.loss()
    );
    // With a window of one step, x_t would take the dim of x_{t-2} it depends on: a clear
    // error, not a wrong sum.
    let Err(e) = TraceEnumElbo::new(0).estimate(&second_order(1), &|_: &DTensor| Ok(()), &y) else {
        panic!("history 1 for a second-order chain must fail");
    };
    let e = e.to_string();
    assert!(
        e.contains("'x_2'") && e.contains("older than the markov window") && e.contains("history"),
        "{e}"
    );
}

// Sequential enumeration in the guide: a global c ~ Categorical(3) and b ~ Bernoulli, the
// model observing x ~ N(c + 2 b, 1); one run per (c, b) must give the parallel ELBO and its
// gradient.
fn seq_model(x: &DTensor) -> Result<()> {
    let c: DTensor = sample("c", Categorical::from_probs(t(&[0.2, 0.5, 0.3]))?)?;
    let b: DTensor = sample("b", Bernoulli::from_probs(0.6)?)?;
    plate("n", x.numel()).run(|_| observe("x", Normal::new(&c + &b * 2.0, 1.0)?, x.clone()))?;
    Ok(())
}
fn seq_guide(sequential: bool) -> impl Fn(&DTensor) -> Result<()> {
    move |_: &DTensor| {
        let logits: DTensor = param("logits", t(&[0.1, -0.3, 0.5]))?;
        let phi: DTensor = param("phi", DTensor::scalar(-0.2, &dev()))?;
        let draw = || -> Result<()> {
            sample::<DTensor>("c", Categorical::from_logits(logits.clone())?)?;
            sample::<DTensor>("b", Bernoulli::from_logits(phi.clone())?)?;
            Ok(())
        };
        if sequential {
            config_enumerate_sequential(draw)
        } else {
            config_enumerate(draw)
        }
    }
}

#[test]
fn sequential_guide_enumeration_equals_parallel() {
    let x = t(&[0.5, 2.6, 1.9]);
    let run = |sequential: bool| {
        let mut store = ParamStore::new();
        with_param_store(&mut store, || {
            let est = TraceEnumElbo::new(1)
                .estimate(&seq_model, &seq_guide(sequential), &x)
                .unwrap();
            let g = est.surrogate.backward();
            let leaves = with_active_store(|s| s.leaves().clone());
            let grads: Vec<f32> = ["logits", "phi"]
                .iter()
                .flat_map(|n| leaves[*n].grad(&g).unwrap().to_vec())
                .collect();
            let enumerated = est
                .guide_trace
                .sample_sites()
                .filter(|s| s.infer.enum_dim.is_some())
                .count();
            (est.loss(), grads, enumerated)
        })
    };
    let (lp, gp, np) = run(false);
    let (ls, gs, ns) = run(true);
    assert_eq!((np, ns), (2, 0), "parallel uses dims, sequential none");
    assert!(
        (lp - ls).abs() < 1e-4,
        "loss: parallel {lp}, sequential {ls}"
    );
    for (a, b) in gp.iter().zip(&gs) {
        assert!(
            (a - b).abs() < 1e-4,
            "gradients: parallel {gp:?}, sequential {gs:?}"
        );
    }
    // In the model, sequential enumeration is refused with the site's name.
    let model = |x: &DTensor| config_enumerate_sequential(|| seq_model(x));
    let Err(e) = TraceEnumElbo::new(1).estimate(&model, &|_: &DTensor| Ok(()), &x) else {
        panic!("a sequential model site must be refused");
    };
    assert!(
        e.to_string().contains("'c'") && e.to_string().contains("sequential"),
        "{e}"
    );
}

#[test]
fn trace_enum_elbo_without_max_plate_nesting_finds_it() {
    // Pyro's TraceEnum_ELBO() guesses the nesting from a first run: the mixture's one plate.
    let x = t(&X);
    let loss = |elbo: TraceEnumElbo| {
        let mut store = ParamStore::new();
        with_param_store(&mut store, || {
            elbo.estimate(&mixture, &empty, &x).unwrap().loss()
        })
    };
    let (guessed, given) = (loss(TraceEnumElbo::default()), loss(TraceEnumElbo::new(1)));
    assert_eq!(guessed, given);
    assert!((given - mixture_loss([-1.0, 2.0])).abs() < 1e-4);
}

#[test]
fn infer_discrete_decodes_a_markov_chain() {
    // One sequence of 6 steps: the Viterbi path (temperature 0) against all 3^6 paths, and the
    // posterior of x_2 (temperature 1) against the exact marginal.
    let steps = 6;
    let ys: Vec<f32> = (0..steps).map(|t| hmm_y(t, 1)).collect();
    let data = (
        DTensor::from_floats(ys.clone(), &[steps, 1], &dev()).unwrap(),
        vec![steps],
    );
    let mut best = (f64::NEG_INFINITY, vec![]);
    let mut marginal = [0.0f64; K];
    let mut paths = vec![];
    for code in 0..K.pow(steps as u32) {
        let x: Vec<usize> = (0..steps).map(|t| (code / K.pow(t as u32)) % K).collect();
        let mut l = (INIT[x[0]] as f64).ln();
        for t in 0..steps {
            if t > 0 {
                l += (TRANS[x[t - 1]][x[t]] as f64).ln();
            }
            l += ln_n(ys[t] as f64, LOCS[x[t]] as f64, 1.0);
        }
        paths.push((l, x[2]));
        if l > best.0 {
            best = (l, x);
        }
    }
    let z = lse(&paths.iter().map(|p| p.0).collect::<Vec<_>>());
    for (l, x2) in &paths {
        marginal[*x2] += (l - z).exp();
    }
    let decode = |temperature: f64| -> Vec<usize> {
        let (_, tr) = trace(|| infer_discrete(-2, temperature, || hmm(&data))).unwrap();
        (0..steps)
            .map(|t| tr.value(&format!("x_{t}")).unwrap().item() as usize)
            .collect()
    };
    assert_eq!(decode(0.0), best.1, "Viterbi path");
    let n = 300;
    let mut count = [0usize; K];
    lobes_ppl::rng::set_rng_seed(11);
    for _ in 0..n {
        count[decode(1.0)[2]] += 1;
    }
    for k in 0..K {
        let p = count[k] as f64 / n as f64;
        let sd = (marginal[k] * (1.0 - marginal[k]) / n as f64).sqrt();
        assert!(
            (p - marginal[k]).abs() < 4.0 * sd + 0.01,
            "x_2 = {k}: {p} vs exact {}",
            marginal[k]
        );
    }
}
