//! The relaxed distributions (Pyro's `RelaxedBernoulli`, `RelaxedOneHotCategorical` and their
//! straight-through versions) against the Concrete densities of Maddison et al. (2017),
//! computed here in f64, and `TraceGraphElbo` against the exact ELBO gradient of a discrete
//! model (Pyro's `tests/distributions/test_relaxed_straight_through.py` and
//! `tests/infer/test_gradient.py` in spirit).

use lobes_ppl::infer::{Elbo, TraceGraphElbo};
use lobes_ppl::prelude::*;
use lobes_ppl::rng::set_rng_seed;
use lobes_ppl::{InferConfig, sample_with, with_active_store};
use std::collections::BTreeMap;
use std::sync::Arc;

fn dev() -> Device {
    Device::flex()
}
fn t(v: &[f32]) -> DTensor {
    DTensor::from_floats(v.to_vec(), &[v.len()], &dev()).unwrap()
}
fn close(got: f64, want: f64, tol: f64) -> bool {
    (got - want).abs() <= tol * want.abs().max(1.0)
}
fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    (
        m,
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0),
    )
}

// ------------------------------------------------------------------ densities

/// The binary Concrete density (Maddison et al. 2017), `α = p / (1 - p)`:
/// `p(x) = t α x^(-t-1) (1-x)^(-t-1) / (α x^(-t) + (1-x)^(-t))²`.
fn binary_concrete_ln_pdf(x: f64, temp: f64, p: f64) -> f64 {
    let a = p / (1.0 - p);
    temp.ln() + a.ln()
        - (temp + 1.0) * (x.ln() + (1.0 - x).ln())
        - 2.0 * (a * x.powf(-temp) + (1.0 - x).powf(-temp)).ln()
}

/// The Concrete density on the simplex (Maddison et al. 2017), `α` the normalised `weights`:
/// `p(x) = (K-1)! t^(K-1) Π_k α_k x_k^(-t-1) / (Σ_k α_k x_k^(-t))^K`.
fn concrete_ln_pdf(x: &[f64], temp: f64, weights: &[f64]) -> f64 {
    let k = x.len() as f64;
    let total: f64 = weights.iter().sum();
    let ln_fact: f64 = (1..x.len()).map(|i| (i as f64).ln()).sum();
    let (mut prod, mut denom) = (0.0, 0.0);
    for (&xi, &wi) in x.iter().zip(weights) {
        let a = wi / total;
        prod += a.ln() - (temp + 1.0) * xi.ln();
        denom += a * xi.powf(-temp);
    }
    ln_fact + (k - 1.0) * temp.ln() + prod - k * denom.ln()
}

#[test]
fn relaxed_bernoulli_log_prob_is_the_binary_concrete_density() {
    let xs = [0.02f32, 0.3, 0.5, 0.77, 0.985];
    for temp in [0.1f64, 0.5, 1.0, 2.5] {
        for p in [0.2f64, 0.7] {
            let logit = (p / (1.0 - p)).ln();
            let by_probs = RelaxedBernoulli::from_probs(temp, p).unwrap();
            let by_logits = RelaxedBernoulli::from_logits(temp, logit).unwrap();
            for d in [&by_probs, &by_logits] {
                let lp = d.log_prob(&t(&xs)).unwrap();
                assert_eq!(lp.shape(), &[5]);
                for (&got, &x) in lp.to_vec().iter().zip(&xs) {
                    let want = binary_concrete_ln_pdf(x as f64, temp, p);
                    assert!(
                        close(got as f64, want, 2e-4),
                        "RelaxedBernoulli(t={temp}, p={p}).log_prob({x}) = {got}, want {want}"
                    );
                }
            }
        }
    }
    // The straight-through version scores a value it did not draw as given.
    let st = RelaxedBernoulliStraightThrough::from_probs(0.5, 0.2).unwrap();
    let want = binary_concrete_ln_pdf(0.3, 0.5, 0.2);
    assert!(close(
        st.log_prob(&t(&[0.3])).unwrap().item() as f64,
        want,
        2e-4
    ));
}

#[test]
fn relaxed_one_hot_log_prob_is_the_concrete_density() {
    let xs: [[f32; 3]; 4] = [
        [0.2, 0.3, 0.5],
        [0.9, 0.05, 0.05],
        [0.01, 0.98, 0.01],
        [0.25, 0.25, 0.5],
    ];
    let value = DTensor::from_floats(xs.concat(), &[4, 3], &dev()).unwrap();
    let weights = [1.0f64, 2.0, 1.5];
    let w32: Vec<f32> = weights.iter().map(|&w| w as f32).collect();
    let ln_w: Vec<f32> = weights.iter().map(|&w| w.ln() as f32 - 0.7).collect();
    for temp in [0.2f64, 0.7, 1.0, 3.0] {
        let by_probs = RelaxedOneHotCategorical::from_probs(temp, t(&w32)).unwrap();
        let by_logits = RelaxedOneHotCategorical::from_logits(temp, t(&ln_w)).unwrap();
        for d in [&by_probs, &by_logits] {
            let lp = d.log_prob(&value).unwrap();
            assert_eq!(lp.shape(), &[4]);
            for (got, x) in lp.to_vec().iter().zip(&xs) {
                let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
                let want = concrete_ln_pdf(&x64, temp, &weights);
                assert!(
                    close(*got as f64, want, 2e-4),
                    "RelaxedOneHotCategorical(t={temp}).log_prob({x:?}) = {got}, want {want}"
                );
            }
        }
    }
    // A batch of temperatures: batch shape [2], one temperature per row.
    let d = RelaxedOneHotCategorical::from_probs(t(&[0.5, 2.0]), t(&w32)).unwrap();
    assert_eq!(d.batch_shape(), vec![2]);
    assert_eq!(d.event_shape(), vec![3]);
    let rows = DTensor::from_floats([xs[0], xs[1]].concat(), &[2, 3], &dev()).unwrap();
    let lp = d.log_prob(&rows).unwrap().to_vec();
    for (i, temp) in [0.5, 2.0].into_iter().enumerate() {
        let x64: Vec<f64> = xs[i].iter().map(|&v| v as f64).collect();
        let want = concrete_ln_pdf(&x64, temp, &weights);
        assert!(
            close(lp[i] as f64, want, 2e-4),
            "row {i}: {} vs {want}",
            lp[i]
        );
    }
    // Invalid parameters are errors naming them.
    let e = RelaxedOneHotCategorical::from_probs(-1.0, t(&w32))
        .unwrap()
        .validate()
        .unwrap_err();
    assert!(e.to_string().contains("temperature"), "{e}");
    let e = RelaxedOneHotCategorical::from_probs(1.0, 0.5).unwrap_err();
    assert!(e.to_string().contains("RelaxedOneHotCategorical"), "{e}");
}

// ------------------------------------------------------------------ draws

#[test]
fn relaxed_bernoulli_draws_exceed_one_half_with_probability_probs() {
    set_rng_seed(3);
    let n = 20000;
    for temp in [0.05f64, 0.5, 2.0] {
        let d = RelaxedBernoulli::from_probs(temp, DTensor::full(&[n], 0.3, &dev())).unwrap();
        let x = d.rsample().unwrap();
        assert_eq!(x.shape(), &[n]);
        assert!(x.all_gt(0.0) && x.lt_scalar(1.0).all_eq(1.0));
        let v = x.to_vec();
        let above = v.iter().filter(|&&x| x > 0.5).count() as f64 / n as f64;
        assert!(
            (above - 0.3).abs() < 0.015,
            "t={temp}: P(x > 1/2) = {above}"
        );
        if temp < 0.1 {
            let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
            assert!((mean - 0.3).abs() < 0.015, "t={temp}: mean {mean}");
        }
    }
}

#[test]
fn relaxed_one_hot_draws_lie_on_the_simplex_and_pick_each_class_with_its_probability() {
    set_rng_seed(4);
    let (n, probs) = (20000, [0.2f64, 0.3, 0.5]);
    let p = DTensor::from_floats([0.2f32, 0.3, 0.5].repeat(n), &[n, 3], &dev()).unwrap();
    for temp in [0.05f64, 1.0, 3.0] {
        let d = RelaxedOneHotCategorical::from_probs(temp, p.clone()).unwrap();
        let x = d.rsample().unwrap();
        assert_eq!(x.shape(), &[n, 3]);
        assert!(x.all_ge(0.0));
        let v = x.to_vec();
        let (mut wins, mut means) = ([0usize; 3], [0.0f64; 3]);
        for row in v.chunks(3) {
            let s: f32 = row.iter().sum();
            assert!((s - 1.0).abs() < 1e-5, "t={temp}: a draw sums to {s}");
            let top = (0..3).fold(0, |b, k| if row[k] > row[b] { k } else { b });
            wins[top] += 1;
            for (m, &x) in means.iter_mut().zip(row) {
                *m += x as f64 / n as f64;
            }
        }
        for (k, &pk) in probs.iter().enumerate() {
            let freq = wins[k] as f64 / n as f64;
            assert!((freq - pk).abs() < 0.015, "t={temp}: class {k} wins {freq}");
            if temp < 0.1 {
                assert!((means[k] - pk).abs() < 0.015, "t={temp}: mean {means:?}");
            }
        }
    }
}

#[test]
fn straight_through_draws_are_hard_and_carry_the_soft_draws_gradient() {
    let d = Device::flex().autodiff();
    let w = DTensor::from_floats(vec![1.0, -2.0, 3.0], &[3], &d).unwrap();
    let logits = vec![0.3f32, -1.0, 1.2, 0.0, 0.5, 0.5];
    for temp in [0.3f32, 1.0] {
        let leaf = || {
            DTensor::from_floats(logits.clone(), &[2, 3], &d)
                .unwrap()
                .require_grad()
        };
        let (l_st, l_soft) = (leaf(), leaf());
        set_rng_seed(7);
        let temp_d = DTensor::scalar(temp, &d);
        let st = RelaxedOneHotCategoricalStraightThrough::from_logits(temp_d.clone(), l_st.clone())
            .unwrap();
        let hard = st.rsample().unwrap();
        let lp_st = st.log_prob(&hard).unwrap();
        set_rng_seed(7);
        let relaxed = RelaxedOneHotCategorical::from_logits(temp_d, l_soft.clone()).unwrap();
        let soft = relaxed.rsample().unwrap();
        let lp_soft = relaxed.log_prob(&soft).unwrap();

        // Exactly one-hot: the soft draw's largest component.
        let (h, s) = (hard.to_vec(), soft.to_vec());
        for (hr, sr) in h.chunks(3).zip(s.chunks(3)) {
            let top = (0..3).fold(0, |b, k| if sr[k] > sr[b] { k } else { b });
            let want: Vec<f32> = (0..3).map(|k| (k == top) as u8 as f32).collect();
            assert_eq!(hr, &want[..], "hard {hr:?} for soft {sr:?}");
        }
        // log_prob of its own draw is the relaxed density of the soft draw behind it.
        for (a, b) in lp_st.to_vec().iter().zip(lp_soft.to_vec()) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        // The gradient is the soft draw's, and it is not zero.
        let g_st = hard.mul(&w).sum().add(&lp_st.sum()).backward();
        let g_soft = soft.mul(&w).sum().add(&lp_soft.sum()).backward();
        let (a, b) = (
            l_st.grad(&g_st).unwrap().to_vec(),
            l_soft.grad(&g_soft).unwrap().to_vec(),
        );
        assert!(a.iter().all(|v| v.is_finite()) && a.iter().any(|v| v.abs() > 1e-3));
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x - y).abs() < 1e-5,
                "t={temp}: gradient {a:?} vs soft {b:?}"
            );
        }
        // A value it did not draw is scored as given.
        let other = DTensor::from_floats(vec![0.2, 0.3, 0.5, 0.6, 0.2, 0.2], &[2, 3], &d).unwrap();
        let (x, y) = (
            st.log_prob(&other).unwrap().to_vec(),
            relaxed.log_prob(&other).unwrap().to_vec(),
        );
        assert_eq!(x, y);
    }

    // The Bernoulli version: 0 or 1, the soft draw rounded, with the soft draw's gradient.
    let ls = vec![-1.5f32, -0.2, 0.4, 2.0];
    let leaf = || {
        DTensor::from_floats(ls.clone(), &[4], &d)
            .unwrap()
            .require_grad()
    };
    let (l_st, l_soft) = (leaf(), leaf());
    set_rng_seed(8);
    let st = RelaxedBernoulliStraightThrough::from_logits(DTensor::scalar(0.5, &d), l_st.clone())
        .unwrap();
    let hard = st.rsample().unwrap();
    let lp_st = st.log_prob(&hard).unwrap();
    set_rng_seed(8);
    let relaxed = RelaxedBernoulli::from_logits(DTensor::scalar(0.5, &d), l_soft.clone()).unwrap();
    let soft = relaxed.rsample().unwrap();
    let lp_soft = relaxed.log_prob(&soft).unwrap();
    for (h, s) in hard.to_vec().iter().zip(soft.to_vec()) {
        assert_eq!(*h, if s > 0.5 { 1.0 } else { 0.0 }, "hard {h} for soft {s}");
    }
    assert_eq!(lp_st.to_vec(), lp_soft.to_vec());
    let w4 = DTensor::from_floats(vec![1.0, 2.0, -1.0, 0.5], &[4], &d).unwrap();
    let g_st = hard.mul(&w4).sum().add(&lp_st.sum()).backward();
    let g_soft = soft.mul(&w4).sum().add(&lp_soft.sum()).backward();
    let (a, b) = (
        l_st.grad(&g_st).unwrap().to_vec(),
        l_soft.grad(&g_soft).unwrap().to_vec(),
    );
    assert!(a.iter().all(|v| v.is_finite()) && a.iter().any(|v| v.abs() > 1e-3));
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-5, "gradient {a:?} vs soft {b:?}");
    }
}

// ------------------------------------------------------------------ SVI

const LOCS: [f32; 3] = [-3.0, 0.0, 3.0];
const XS: [f32; 6] = [-3.1, -2.7, 0.2, -0.3, 2.8, 3.3];

/// A mixture with a relaxed one-hot assignment per point: z_i ~ RelaxedOneHotCategorical(0.5,
/// uniform), x_i ~ N(z_i · locs, 0.5).
fn mixture(x: &DTensor) -> Result<()> {
    let d = x.device();
    let locs = DTensor::from_floats(LOCS.to_vec(), &[3], &d)?;
    plate("data", x.numel()).run(|_| {
        let prior = RelaxedOneHotCategorical::from_probs(
            DTensor::scalar(0.5, &d),
            DTensor::full(&[3], 1.0 / 3.0, &d),
        )?;
        let z: DTensor = sample("z", prior)?;
        let mean = z.mul(&locs).sum_rightmost(1);
        observe("x", Normal::new(mean, DTensor::scalar(0.5, &d))?, x.clone())?;
        Ok(())
    })
}
fn mixture_guide(x: &DTensor) -> Result<()> {
    let d = x.device();
    let logits: DTensor = param("logits", DTensor::zeros(&[x.numel(), 3], &d))?;
    plate("data", x.numel()).run(|_| {
        let q = RelaxedOneHotCategorical::from_logits(DTensor::scalar(0.5, &d), logits.clone())?;
        sample::<DTensor>("z", q)?;
        Ok(())
    })
}

#[test]
fn svi_with_a_relaxed_one_hot_latent_learns_the_assignments() {
    let x = t(&XS);
    let mut svi =
        Svi::new(mixture, mixture_guide, Adam::new(0.05), TraceElbo::new(4)).with_seed(3, None);
    let losses: Vec<f64> = (0..300).map(|_| svi.step(&x).unwrap()).collect();
    let first = losses[..30].iter().sum::<f64>() / 30.0;
    let last = losses[270..].iter().sum::<f64>() / 30.0;
    assert!(
        last < 0.5 * first,
        "the loss falls: first 30 steps {first:.2}, last 30 {last:.2}"
    );
    let logits = svi.store().get("logits").unwrap();
    let classes: Vec<f32> = logits.argmax_last().to_vec();
    assert_eq!(
        classes,
        vec![0.0, 0.0, 1.0, 1.0, 2.0, 2.0],
        "logits {logits:?}"
    );
}

// ------------------------------------------------------------------ TraceGraphElbo

const THETA: f32 = 0.4;
const OBS: [f32; 5] = [0.5, 1.5, -0.3, 2.0, 1.0];

/// z ~ Bernoulli(0.3); x_i ~ N(2 z - 1, 1) for the five points.
fn coin(x: &DTensor) -> Result<()> {
    let z: DTensor = sample("z", Bernoulli::from_probs(0.3)?)?;
    plate("data", x.numel()).run(|_| {
        observe(
            "x",
            Normal::new(z.mul_scalar(2.0).add_scalar(-1.0), 1.0)?,
            x.clone(),
        )?;
        Ok(())
    })
}
/// q(z = 1) = sigmoid(theta).
fn coin_guide(_: &DTensor) -> Result<()> {
    let theta: DTensor = param("theta", DTensor::scalar(THETA, &dev()))?;
    sample::<DTensor>("z", Bernoulli::from_logits(theta)?)?;
    Ok(())
}

fn ln_n(x: f64, m: f64) -> f64 {
    -0.5 * (x - m).powi(2) - 0.5 * (2.0 * std::f64::consts::PI).ln()
}
/// ln p(z) + Σ ln p(x_i | z).
fn joint(z: f64) -> f64 {
    let prior = if z == 1.0 { 0.3f64 } else { 0.7 };
    prior.ln()
        + OBS
            .iter()
            .map(|&x| ln_n(x as f64, 2.0 * z - 1.0))
            .sum::<f64>()
}

/// `n` gradient estimates of d ELBO / d theta, one estimate per call, at a fixed theta.
fn gradients(elbo: &impl Elbo, n: usize) -> Vec<f64> {
    let x = t(&OBS);
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        (0..n)
            .map(|_| {
                with_active_store(|s| s.clear_leaves());
                let est = elbo.estimate(&coin, &coin_guide, &x).unwrap();
                let g = est.surrogate.backward();
                let leaf = with_active_store(|s| s.leaves()["theta"].clone());
                leaf.grad(&g).unwrap().item() as f64
            })
            .collect()
    })
}

#[test]
fn tracegraph_baseline_keeps_the_gradient_unbiased_and_lowers_its_variance() {
    let sig = 1.0 / (1.0 + (-(THETA as f64)).exp());
    // d/dθ Σ_z q(z) (ln p(x, z) - ln q(z)) = σ (1 - σ) (a_1 - a_0 - θ), enumerating z.
    let exact = sig * (1.0 - sig) * (joint(1.0) - joint(0.0) - THETA as f64);
    let (warm, n) = (50, 2000);
    let graph = TraceGraphElbo::new(1).use_decaying_avg_baseline(true);
    set_rng_seed(21);
    let g = gradients(&graph, warm + n);
    set_rng_seed(21);
    let p = gradients(&TraceElbo::new(1), warm + n);
    let ((mg, vg), (mp, vp)) = (mean_var(&g[warm..]), mean_var(&p[warm..]));
    let msg = format!(
        "TraceGraphElbo: mean {mg:.4}, variance {vg:.4}; TraceElbo: mean {mp:.4}, variance \
         {vp:.4}; exact gradient {exact:.4} ({n} estimates each)"
    );
    println!("{msg}");
    assert!(
        (mg - exact).abs() < 4.0 * (vg / n as f64).sqrt() + 1e-3,
        "{msg}"
    );
    assert!(
        (mp - exact).abs() < 4.0 * (vp / n as f64).sqrt() + 1e-3,
        "{msg}"
    );
    assert!(vg < 0.2 * vp, "{msg}");
    // The baseline is a decayed average of the costs seen: between the two possible costs.
    let cost = |z: f64| joint(z) - if z == 1.0 { sig.ln() } else { (1.0 - sig).ln() };
    let avg = graph.baseline_average("z").unwrap();
    let (lo, hi) = (cost(0.0).min(cost(1.0)), cost(0.0).max(cost(1.0)));
    assert!(
        avg.len() == 1 && avg[0] > lo - 1e-3 && avg[0] < hi + 1e-3,
        "{avg:?} not in [{lo}, {hi}]"
    );
}

/// z1 ~ Bernoulli(0.3), x1 ~ N(2 z1 - 1, 1) at 0.5, then z2 ~ Bernoulli(0.6),
/// x2 ~ N(2 z2 - 1, 1) at -0.4; the guide draws z1, then z2.
fn chain(_: &DTensor) -> Result<()> {
    let z1: DTensor = sample("z1", Bernoulli::from_probs(0.3)?)?;
    let x1 = DTensor::scalar(0.5, &dev());
    observe(
        "x1",
        Normal::new(z1.mul_scalar(2.0).add_scalar(-1.0), 1.0)?,
        x1,
    )?;
    let z2: DTensor = sample("z2", Bernoulli::from_probs(0.6)?)?;
    let x2 = DTensor::scalar(-0.4, &dev());
    observe(
        "x2",
        Normal::new(z2.mul_scalar(2.0).add_scalar(-1.0), 1.0)?,
        x2,
    )?;
    Ok(())
}
fn chain_guide(_: &DTensor) -> Result<()> {
    let t1: DTensor = param("t1", DTensor::scalar(0.2, &dev()))?;
    let t2: DTensor = param("t2", DTensor::scalar(-0.3, &dev()))?;
    sample::<DTensor>("z1", Bernoulli::from_logits(t1)?)?;
    sample::<DTensor>("z2", Bernoulli::from_logits(t2)?)?;
    Ok(())
}

#[test]
fn tracegraph_score_terms_see_only_the_downstream_cost() {
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    let (s1, s2) = (sig(0.2), sig(-0.3));
    let bern = |z: f64, p: f64| if z == 1.0 { p.ln() } else { (1.0 - p).ln() };
    // Per draw: the cost of z1 is everything; the cost of z2 leaves out z1 and x1.
    let costs = |z1: f64, z2: f64| {
        let first = bern(z1, 0.3) + ln_n(0.5, 2.0 * z1 - 1.0) - bern(z1, s1);
        let second = bern(z2, 0.6) + ln_n(-0.4, 2.0 * z2 - 1.0) - bern(z2, s2);
        (first + second, second)
    };
    let x = DTensor::scalar(0.0, &dev());
    set_rng_seed(5);
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        for _ in 0..6 {
            for graph in [true, false] {
                with_active_store(|s| s.clear_leaves());
                let est = if graph {
                    TraceGraphElbo::new(1).estimate(&chain, &chain_guide, &x)
                } else {
                    TraceElbo::new(1).estimate(&chain, &chain_guide, &x)
                }
                .unwrap();
                let z = |n: &str| est.guide_trace.value(n).unwrap().item() as f64;
                let (z1, z2) = (z("z1"), z("z2"));
                let (all, downstream) = costs(z1, z2);
                let g = est.surrogate.backward();
                let grad = |n: &str| {
                    let leaf = with_active_store(|s| s.leaves()[n].clone());
                    leaf.grad(&g).unwrap().item() as f64
                };
                // d ln q(z) / d logit = z - sigmoid(logit).
                let want2 = if graph { downstream } else { all } * (z2 - s2);
                let want1 = all * (z1 - s1);
                assert!(
                    (grad("t1") - want1).abs() < 1e-4,
                    "t1: {} vs {want1}",
                    grad("t1")
                );
                assert!(
                    (grad("t2") - want2).abs() < 1e-4,
                    "graph={graph}, z=({z1}, {z2}): t2: {} vs {want2}",
                    grad("t2")
                );
            }
        }
    });
}

/// In plate("data"): z_i ~ Bernoulli(0.3), x_i ~ N(2 z_i - 1, 1); q(z_i = 1) = sigmoid(theta).
fn local(x: &DTensor) -> Result<()> {
    plate("data", x.numel()).run(|_| {
        let z: DTensor = sample("z", Bernoulli::from_probs(0.3)?)?;
        observe(
            "x",
            Normal::new(z.mul_scalar(2.0).add_scalar(-1.0), 1.0)?,
            x.clone(),
        )?;
        Ok(())
    })
}
fn local_guide(x: &DTensor) -> Result<()> {
    let theta: DTensor = param("theta", DTensor::scalar(THETA, &dev()))?;
    plate("data", x.numel()).run(|_| {
        sample::<DTensor>("z", Bernoulli::from_logits(theta.clone())?)?;
        Ok(())
    })
}

#[test]
fn tracegraph_baselines_follow_plates_and_site_flags() {
    let flagged = |key: &'static str, value: &'static str| {
        move |_: &DTensor| -> Result<()> {
            let theta: DTensor = param("theta", DTensor::scalar(THETA, &dev()))?;
            let infer = InferConfig {
                flags: BTreeMap::from([(key.to_string(), value.to_string())]),
                ..Default::default()
            };
            sample_with::<DTensor>("z", Arc::new(Bernoulli::from_logits(theta)?), None, infer)?;
            Ok(())
        }
    };
    let x = t(&OBS);
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        // One average per plate element; a plate of another size is an error naming both.
        let elbo = TraceGraphElbo::new(2).use_decaying_avg_baseline(true);
        elbo.estimate(&local, &local_guide, &x).unwrap();
        assert_eq!(elbo.baseline_average("z").unwrap().len(), 5);
        let three = t(&OBS[..3]);
        let e = elbo
            .estimate(&local, &local_guide, &three)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("'z'") && e.contains("[5]") && e.contains("[3]"),
            "{e}"
        );
        elbo.reset_baselines();
        elbo.estimate(&local, &local_guide, &three).unwrap();
        assert_eq!(elbo.baseline_average("z").unwrap().len(), 3);

        // Off by default, on at one site by its flag.
        let off = TraceGraphElbo::default();
        off.estimate(&coin, &coin_guide, &x).unwrap();
        assert!(off.baseline_average("z").is_none());
        off.estimate(&coin, &flagged(TraceGraphElbo::BASELINE_FLAG, "true"), &x)
            .unwrap();
        assert!(off.baseline_average("z").is_some());

        // Bad options are errors naming the site.
        let on = TraceGraphElbo::default().use_decaying_avg_baseline(true);
        for (key, value, says) in [
            ("baseline.nn_baseline", "net", "nn_baseline"),
            (TraceGraphElbo::BETA_FLAG, "1.5", "1.5"),
            (TraceGraphElbo::BASELINE_FLAG, "yes", "yes"),
        ] {
            let e = on
                .estimate(&coin, &flagged(key, value), &x)
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains("'z'") && e.contains(says), "{e}");
        }
    });
}
