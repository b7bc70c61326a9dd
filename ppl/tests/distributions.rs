//! Every distribution's `log_prob` against `statrs` or a closed form on random inputs
//! (relative error <= 1e-5 in f32 where the math allows), plus shapes, sampling moments and
//! the KL registry.

use lobes_ppl::dist::kl_divergence;
use lobes_ppl::prelude::*;
use rand::{Rng, SeedableRng};
use statrs::distribution::{Continuous, Discrete};

fn dev() -> Device {
    Device::flex()
}

fn t(v: &[f64]) -> DTensor {
    DTensor::from_floats(v.iter().map(|&x| x as f32).collect(), &[v.len()], &dev()).unwrap()
}

fn rng() -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(2021)
}

/// |got - want| <= 1e-5 * max(|want|, 1): relative where the value is not small.
fn assert_close(got: &[f32], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let tol = 1e-5 * w.abs().max(1.0);
        assert!(
            ((*g as f64) - w).abs() <= tol,
            "{what}[{i}]: got {g}, want {w}"
        );
    }
}

const N: usize = 50;

#[test]
fn normal_log_prob_matches_statrs() {
    let mut r = rng();
    let (mut loc, mut scale, mut x, mut want) = (vec![], vec![], vec![], vec![]);
    for _ in 0..N {
        let (m, s): (f64, f64) = (r.random_range(-3.0..3.0), r.random_range(0.2..3.0));
        let v = m + s * r.random_range(-3.0..3.0);
        want.push(
            statrs::distribution::Normal::new(m, s)
                .unwrap()
                .ln_pdf(v as f32 as f64),
        );
        loc.push(m as f32 as f64);
        scale.push(s as f32 as f64);
        x.push(v as f32 as f64);
    }
    let d = Normal::new(t(&loc), t(&scale)).unwrap();
    let want: Vec<f64> = (0..N)
        .map(|i| {
            statrs::distribution::Normal::new(loc[i], scale[i])
                .unwrap()
                .ln_pdf(x[i])
        })
        .collect();
    assert_close(&d.log_prob(&t(&x)).unwrap().to_vec(), &want, "Normal");
}

#[test]
fn lognormal_laplace_uniform_match_statrs() {
    let mut r = rng();
    let (mut a, mut b, mut x) = (vec![], vec![], vec![]);
    for _ in 0..N {
        a.push(r.random_range(-1.0..1.0f32) as f64);
        b.push(r.random_range(0.3..2.0f32) as f64);
        x.push(r.random_range(0.05..5.0f32) as f64);
    }
    let want: Vec<f64> = (0..N)
        .map(|i| {
            statrs::distribution::LogNormal::new(a[i], b[i])
                .unwrap()
                .ln_pdf(x[i])
        })
        .collect();
    let got = LogNormal::new(t(&a), t(&b))
        .unwrap()
        .log_prob(&t(&x))
        .unwrap()
        .to_vec();
    assert_close(&got, &want, "LogNormal");

    let want: Vec<f64> = (0..N)
        .map(|i| {
            statrs::distribution::Laplace::new(a[i], b[i])
                .unwrap()
                .ln_pdf(x[i])
        })
        .collect();
    let got = Laplace::new(t(&a), t(&b))
        .unwrap()
        .log_prob(&t(&x))
        .unwrap()
        .to_vec();
    assert_close(&got, &want, "Laplace");

    // Uniform(a, a + 6): x in (0.05, 5) lies inside when a < 0.05, outside otherwise at times.
    let hi: Vec<f64> = a.iter().map(|v| (v + 6.0) as f32 as f64).collect();
    let got = Uniform::new(t(&a), t(&hi))
        .unwrap()
        .log_prob(&t(&x))
        .unwrap()
        .to_vec();
    for i in 0..N {
        let want = statrs::distribution::Uniform::new(a[i], hi[i])
            .unwrap()
            .ln_pdf(x[i]);
        if want.is_finite() {
            assert_close(&got[i..=i], &[want], "Uniform");
        } else {
            assert_eq!(got[i], f32::NEG_INFINITY);
        }
    }
    let outside = Uniform::new(t(&[0.0]), t(&[1.0]))
        .unwrap()
        .log_prob(&t(&[1.5]))
        .unwrap()
        .to_vec();
    assert_eq!(outside, vec![f32::NEG_INFINITY]);
}

#[test]
fn gamma_and_beta_match_statrs() {
    let mut r = rng();
    let (mut a, mut b, mut x, mut u) = (vec![], vec![], vec![], vec![]);
    for _ in 0..N {
        a.push(r.random_range(0.5..8.0f32) as f64);
        b.push(r.random_range(0.5..8.0f32) as f64);
        x.push(r.random_range(0.1..6.0f32) as f64);
        u.push(r.random_range(0.02..0.98f32) as f64);
    }
    let want: Vec<f64> = (0..N)
        .map(|i| {
            statrs::distribution::Gamma::new(a[i], b[i])
                .unwrap()
                .ln_pdf(x[i])
        })
        .collect();
    let got = Gamma::new(t(&a), t(&b))
        .unwrap()
        .log_prob(&t(&x))
        .unwrap()
        .to_vec();
    assert_close(&got, &want, "Gamma");
    let want: Vec<f64> = (0..N)
        .map(|i| {
            statrs::distribution::Beta::new(a[i], b[i])
                .unwrap()
                .ln_pdf(u[i])
        })
        .collect();
    let got = Beta::new(t(&a), t(&b))
        .unwrap()
        .log_prob(&t(&u))
        .unwrap()
        .to_vec();
    assert_close(&got, &want, "Beta");
}

#[test]
fn bernoulli_from_probs_and_logits_including_continuous_targets() {
    let mut r = rng();
    let (mut p, mut k, mut x) = (vec![], vec![], vec![]);
    for _ in 0..N {
        p.push(r.random_range(0.01..0.99f32) as f64);
        k.push(if r.random_bool(0.5) { 1.0 } else { 0.0 });
        x.push(r.random_range(0.0..1.0f32) as f64);
    }
    let want: Vec<f64> = (0..N)
        .map(|i| {
            statrs::distribution::Bernoulli::new(p[i])
                .unwrap()
                .ln_pmf(k[i] as u64)
        })
        .collect();
    let by_probs = Bernoulli::from_probs(t(&p)).unwrap();
    assert_close(
        &by_probs.log_prob(&t(&k)).unwrap().to_vec(),
        &want,
        "Bernoulli(probs)",
    );
    let logits: Vec<f64> = p.iter().map(|p| (p / (1.0 - p)).ln()).collect();
    let by_logits = Bernoulli::from_logits(t(&logits)).unwrap();
    assert_close(
        &by_logits.log_prob(&t(&k)).unwrap().to_vec(),
        &want,
        "Bernoulli(logits)",
    );
    // Continuous targets: x ln p + (1 - x) ln(1 - p), the binary cross-entropy.
    let want: Vec<f64> = (0..N)
        .map(|i| x[i] * p[i].ln() + (1.0 - x[i]) * (1.0 - p[i]).ln())
        .collect();
    assert_close(
        &by_probs.log_prob(&t(&x)).unwrap().to_vec(),
        &want,
        "Bernoulli(continuous)",
    );
    // Probabilities of exactly 0 and 1 stay finite (clamped as torch does).
    let edge = Bernoulli::from_probs(t(&[0.0, 1.0]))
        .unwrap()
        .log_prob(&t(&[1.0, 0.0]))
        .unwrap();
    assert!(edge.all_finite());
}

#[test]
fn continuous_bernoulli_matches_its_closed_form() {
    let mut r = rng();
    let (mut p, mut x) = (vec![0.5, 0.4995, 0.5004], vec![0.3, 0.7, 0.1]);
    for _ in 0..N {
        p.push(r.random_range(0.02..0.98f32) as f64);
        x.push(r.random_range(0.0..1.0f32) as f64);
    }
    let log_c = |p: f64| {
        if (p - 0.5).abs() < 1e-3 {
            let d = p - 0.5;
            2f64.ln() + 4.0 / 3.0 * d * d + 104.0 / 45.0 * d.powi(4)
        } else {
            (2.0 * (1.0 - 2.0 * p).atanh() / (1.0 - 2.0 * p)).ln()
        }
    };
    let want: Vec<f64> = p
        .iter()
        .zip(&x)
        .map(|(&p, &x)| x * p.ln() + (1.0 - x) * (1.0 - p).ln() + log_c(p))
        .collect();
    let got = ContinuousBernoulli::from_probs(t(&p))
        .unwrap()
        .log_prob(&t(&x))
        .unwrap()
        .to_vec();
    assert_close(&got, &want, "ContinuousBernoulli");
    // The density integrates to one (midpoint rule).
    let grid: Vec<f64> = (0..1000).map(|i| (i as f64 + 0.5) / 1000.0).collect();
    let d = ContinuousBernoulli::from_probs(DTensor::full(&[1000], 0.8, &dev())).unwrap();
    let dens: f64 = d
        .log_prob(&t(&grid))
        .unwrap()
        .to_vec()
        .iter()
        .map(|l| (*l as f64).exp())
        .sum::<f64>()
        / 1000.0;
    assert!((dens - 1.0).abs() < 1e-3, "{dens}");
}

#[test]
fn categorical_and_one_hot_match_statrs() {
    let w = [0.2, 0.5, 0.3, 1.0, 1.0, 2.0];
    let probs =
        DTensor::from_floats(w.iter().map(|&v| v as f32).collect(), &[2, 3], &dev()).unwrap();
    let c = Categorical::from_probs(probs.clone()).unwrap();
    assert_eq!(c.batch_shape(), vec![2]);
    assert_eq!(c.event_shape(), Vec::<usize>::new());
    let got = c.log_prob(&t(&[1.0, 2.0])).unwrap().to_vec();
    let want = [
        statrs::distribution::Categorical::new(&w[..3])
            .unwrap()
            .ln_pmf(1),
        statrs::distribution::Categorical::new(&w[3..])
            .unwrap()
            .ln_pmf(2),
    ];
    assert_close(&got, &want, "Categorical");
    let logits = probs.log();
    let got = Categorical::from_logits(logits)
        .unwrap()
        .log_prob(&t(&[1.0, 2.0]))
        .unwrap()
        .to_vec();
    assert_close(&got, &want, "Categorical(logits)");
    let oh = OneHotCategorical::from_probs(probs).unwrap();
    assert_eq!(oh.event_shape(), vec![3]);
    let v = DTensor::from_floats(vec![0., 1., 0., 0., 0., 1.], &[2, 3], &dev()).unwrap();
    assert_close(
        &oh.log_prob(&v).unwrap().to_vec(),
        &want,
        "OneHotCategorical",
    );
}

#[test]
fn delta_puts_all_mass_on_its_point() {
    let d = Delta::new(t(&[1.0, 2.0]), 0).unwrap();
    assert_eq!(
        d.log_prob(&t(&[1.0, 3.0])).unwrap().to_vec(),
        vec![0.0, f32::NEG_INFINITY]
    );
    let d1 = Delta::new(t(&[1.0, 2.0]), 1).unwrap();
    assert_eq!(d1.batch_shape(), Vec::<usize>::new());
    assert_eq!(d1.event_shape(), vec![2]);
    assert_eq!(d1.log_prob(&t(&[1.0, 2.0])).unwrap().to_vec(), vec![0.0]);
    assert_eq!(
        d1.log_prob(&t(&[1.0, 2.5])).unwrap().to_vec(),
        vec![f32::NEG_INFINITY]
    );
}

#[test]
fn to_event_expand_and_mask_reshape_batch_and_event() {
    let base = Normal::new(
        DTensor::zeros(&[4, 3], &dev()),
        DTensor::ones(&[4, 3], &dev()),
    )
    .unwrap();
    let ind = base.clone().to_event(1);
    assert_eq!((ind.batch_shape(), ind.event_shape()), (vec![4], vec![3]));
    let x = DTensor::zeros(&[4, 3], &dev());
    let per = base.log_prob(&x).unwrap().sum_rightmost(1).to_vec();
    assert_eq!(ind.log_prob(&x).unwrap().to_vec(), per);
    let both = base.clone().to_event(2);
    assert_eq!(
        (both.batch_shape(), both.event_shape()),
        (vec![], vec![4, 3])
    );

    let scalar = Normal::new(DTensor::scalar(0.0, &dev()), DTensor::scalar(1.0, &dev())).unwrap();
    let e = scalar.expand(&[5, 2]).unwrap();
    assert_eq!(e.batch_shape(), vec![5, 2]);
    assert_eq!(e.sample().shape(), &[5, 2]);
    assert!(base.clone().expand(&[4, 2]).is_err());
    let ei = ind.expand(&[7, 4]).unwrap();
    assert_eq!((ei.batch_shape(), ei.event_shape()), (vec![7, 4], vec![3]));

    let m = base.mask(DTensor::from_floats(vec![1.0, 0.0, 1.0], &[3], &dev()).unwrap());
    let lp = m.log_prob(&x).unwrap().to_vec();
    assert_eq!(lp[1], 0.0);
    assert!(lp[0] < 0.0);
}

#[test]
fn samples_have_the_right_shape_and_moments() {
    lobes_ppl::rng::set_rng_seed(5);
    let n = 20000;
    let mean_sd = |v: Vec<f32>| {
        let m = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
        let s = (v.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
        (m, s)
    };
    let full = |v: f64| DTensor::full(&[n], v as f32, &dev());
    let (m, s) = mean_sd(Normal::new(full(2.0), full(3.0)).unwrap().sample().to_vec());
    assert!(
        (m - 2.0).abs() < 0.1 && (s - 3.0).abs() < 0.1,
        "Normal {m} {s}"
    );
    let (m, _) = mean_sd(Bernoulli::from_probs(full(0.3)).unwrap().sample().to_vec());
    assert!((m - 0.3).abs() < 0.02, "Bernoulli {m}");
    let (m, s) = mean_sd(
        Laplace::new(full(1.0), full(2.0))
            .unwrap()
            .sample()
            .to_vec(),
    );
    assert!(
        (m - 1.0).abs() < 0.1 && (s - 2.0 * 2f64.sqrt()).abs() < 0.15,
        "Laplace {m} {s}"
    );
    let (m, _) = mean_sd(Gamma::new(full(3.0), full(2.0)).unwrap().sample().to_vec());
    assert!((m - 1.5).abs() < 0.05, "Gamma {m}");
    let (m, _) = mean_sd(Beta::new(full(2.0), full(6.0)).unwrap().sample().to_vec());
    assert!((m - 0.25).abs() < 0.01, "Beta {m}");
    let (m, _) = mean_sd(
        Uniform::new(full(-1.0), full(3.0))
            .unwrap()
            .sample()
            .to_vec(),
    );
    assert!((m - 1.0).abs() < 0.05, "Uniform {m}");
    let (m, _) = mean_sd(
        LogNormal::new(full(0.0), full(0.5))
            .unwrap()
            .sample()
            .to_vec(),
    );
    assert!((m - (0.125f64).exp()).abs() < 0.03, "LogNormal {m}");
    // ContinuousBernoulli(0.8) has mean p/(2p-1) + 1/(2 atanh(1-2p)).
    let p: f64 = 0.8;
    let want = p / (2.0 * p - 1.0) + 1.0 / (2.0 * (1.0 - 2.0 * p).atanh());
    let (m, _) = mean_sd(
        ContinuousBernoulli::from_probs(full(0.8))
            .unwrap()
            .sample()
            .to_vec(),
    );
    assert!((m - want).abs() < 0.01, "ContinuousBernoulli {m} vs {want}");
    let c =
        Categorical::from_probs(DTensor::from_floats(vec![0.1, 0.6, 0.3], &[3], &dev()).unwrap())
            .unwrap()
            .expand(&[n])
            .unwrap();
    let v = c.sample().to_vec();
    let frac1 = v.iter().filter(|&&x| x == 1.0).count() as f64 / n as f64;
    assert!((frac1 - 0.6).abs() < 0.02, "Categorical {frac1}");
    let oh =
        OneHotCategorical::from_probs(DTensor::from_floats(vec![0.5, 0.5], &[2], &dev()).unwrap())
            .unwrap();
    let s = oh.sample();
    assert_eq!(s.shape(), &[2]);
    assert_eq!(s.sum().item(), 1.0);
}

#[test]
fn rsample_carries_gradients_and_sample_does_not() {
    let d = Device::flex().autodiff();
    let loc = DTensor::from_floats(vec![0.5], &[1], &d)
        .unwrap()
        .require_grad();
    let n = Normal::new(loc.clone(), DTensor::ones(&[1], &d)).unwrap();
    assert!(n.has_rsample());
    let g = n.rsample().unwrap().sum().backward();
    assert_eq!(loc.grad(&g).unwrap().to_vec(), vec![1.0]);
    assert!(
        !Bernoulli::from_probs(DTensor::full(&[1], 0.5, &d))
            .unwrap()
            .has_rsample()
    );
    assert!(
        Bernoulli::from_probs(DTensor::full(&[1], 0.5, &d))
            .unwrap()
            .rsample()
            .is_err()
    );
}

#[test]
fn kl_registry_closed_forms() {
    let p = Normal::new(t(&[0.3, -1.0]), t(&[0.7, 2.0])).unwrap();
    let q = Normal::new(t(&[0.0, 0.5]), t(&[1.0, 1.5])).unwrap();
    let got = kl_divergence(&p, &q).unwrap().unwrap().to_vec();
    let want: Vec<f64> = [(0.3, 0.7, 0.0, 1.0), (-1.0, 2.0, 0.5, 1.5)]
        .iter()
        .map(|&(m1, s1, m2, s2): &(f64, f64, f64, f64)| {
            (s2 / s1).ln() + (s1 * s1 + (m1 - m2).powi(2)) / (2.0 * s2 * s2) - 0.5
        })
        .collect();
    assert_close(&got, &want, "KL Normal");
    let ind = kl_divergence(&p.clone().to_event(1), &q.clone().to_event(1))
        .unwrap()
        .unwrap();
    assert_close(&ind.to_vec(), &[want[0] + want[1]], "KL Independent");

    let pc = Categorical::from_probs(t(&[0.2, 0.8])).unwrap();
    let qc = Categorical::from_probs(t(&[0.5, 0.5])).unwrap();
    let want = 0.2 * (0.2f64 / 0.5).ln() + 0.8 * (0.8f64 / 0.5).ln();
    assert_close(
        &kl_divergence(&pc, &qc).unwrap().unwrap().to_vec(),
        &[want],
        "KL Categorical",
    );
    let po = OneHotCategorical::from_probs(t(&[0.2, 0.8])).unwrap();
    let qo = OneHotCategorical::from_probs(t(&[0.5, 0.5])).unwrap();
    assert_close(
        &kl_divergence(&po, &qo).unwrap().unwrap().to_vec(),
        &[want],
        "KL OneHot",
    );
    assert!(kl_divergence(&p, &pc).is_none());
}

/// Pyro's `dist.Normal(0., 5.)`: distributions take plain numbers (rank-0 tensors on the
/// default device), f64 or f32, mixed with tensors.
#[test]
fn distributions_are_built_from_plain_numbers() {
    let d = Normal::new(0.0, 5.0).unwrap();
    let x = DTensor::scalar(1.0, &Device::default());
    let expected =
        -0.5 * (1.0f64 / 5.0).powi(2) - (5.0f64).ln() - 0.5 * (2.0 * std::f64::consts::PI).ln();
    assert!((d.log_prob(&x).unwrap().item() as f64 - expected).abs() < 1e-5);
    let g = Gamma::new(2.0f32, 3.0f32).unwrap();
    assert!(g.log_prob(&x).unwrap().item().is_finite());
    let loc = DTensor::from_floats(vec![0.0, 1.0], &[2], &Device::default()).unwrap();
    let n = Normal::new(loc, 1.0).unwrap();
    assert_eq!(n.batch_shape(), [2]);
}

/// `observe` returns the observation's own type, with no annotation (Pyro's
/// `pyro.sample(name, d, obs=x)` returns `x`); under `uncondition` it returns a draw of the
/// same type and shape.
#[test]
fn observe_returns_the_observations_type() {
    let dev = Device::default();
    let x = Tensor::<2>::zeros([3, 2], &dev);
    let d = || Normal::new(Tensor::<2>::zeros([3, 2], &dev), 1.0).unwrap();
    let (y, _) = trace(|| observe("x", d(), x.clone())).unwrap();
    let y: Tensor<2> = y;
    assert_eq!(y.dims(), [3, 2]);
    let (u, _) = trace(|| uncondition(|| observe("x", d(), x.clone()))).unwrap();
    assert_eq!(u.dims(), [3, 2]);
    assert!(
        u.abs().sum().into_scalar::<f32>() > 0.0,
        "a draw, not the observation"
    );
}
