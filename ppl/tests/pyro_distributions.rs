//! The distributions added for Pyro parity (issue #12): `log_prob` against `statrs` or a
//! closed form at random points and broadcast batch shapes, moments of 20k seeded draws,
//! support checks and parameter validation naming the parameter.

use lobes_ppl::dist::kl_divergence;
use lobes_ppl::infer::autoguide::log_abs_det_jacobian;
use lobes_ppl::prelude::*;
use lobes_ppl::{ParamStore, with_param_store};
use rand::{Rng, SeedableRng};
use statrs::distribution::{Continuous, Discrete};
use std::f64::consts::LN_2;

fn dev() -> Device {
    Device::flex()
}

fn t(v: &[f64]) -> DTensor {
    DTensor::from_floats(v.iter().map(|&x| x as f32).collect(), &[v.len()], &dev()).unwrap()
}

fn ts(v: &[f64], shape: &[usize]) -> DTensor {
    DTensor::from_floats(v.iter().map(|&x| x as f32).collect(), shape, &dev()).unwrap()
}

fn full(shape: &[usize], v: f64) -> DTensor {
    DTensor::full(shape, v as f32, &dev())
}

fn rng() -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(1212)
}

/// A value rounded to f32 and back, so tensors and the reference see the same input.
fn f(x: f64) -> f64 {
    x as f32 as f64
}

/// |got - want| <= tol * max(|want|, 1).
fn assert_close_tol(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            ((*g as f64) - w).abs() <= tol * w.abs().max(1.0),
            "{what}[{i}]: got {g}, want {w}"
        );
    }
}

fn assert_close(got: &[f32], want: &[f64], what: &str) {
    assert_close_tol(got, want, 1e-5, what);
}

fn mean_var(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / n;
    (m, var)
}

fn median(v: &[f32]) -> f64 {
    let mut s: Vec<f32> = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    s[s.len() / 2] as f64
}

/// The message of a validation error at a sample site.
fn param_error(d: impl Distribution) -> String {
    sample::<DTensor>("z", d).unwrap_err().to_string()
}

/// The message of a support error at an observed site.
fn support_error(d: impl Distribution, x: DTensor) -> String {
    observe("x", d, x).unwrap_err().to_string()
}

const N: usize = 40;
const DRAWS: usize = 20000;

// ---------------------------------------------------------------------------------------
// HalfNormal, Cauchy, HalfCauchy, Exponential, StudentT
// ---------------------------------------------------------------------------------------

#[test]
fn half_normal_matches_statrs_and_is_minus_inf_below_zero() {
    let mut r = rng();
    let (mut s, mut x) = (vec![], vec![]);
    for _ in 0..N {
        s.push(f(r.random_range(0.2..3.0)));
        x.push(f(r.random_range(0.0..6.0)));
    }
    let want: Vec<f64> = (0..N)
        .map(|i| {
            statrs::distribution::Normal::new(0.0, s[i])
                .unwrap()
                .ln_pdf(x[i])
                + LN_2
        })
        .collect();
    let d = HalfNormal::new(t(&s)).unwrap();
    assert_eq!(d.batch_shape(), vec![N]);
    assert_close(&d.log_prob(&t(&x)).unwrap().to_vec(), &want, "HalfNormal");
    // Broadcasting: scale [2, 1] against values [3] gives a [2, 3] log_prob.
    let d = HalfNormal::new(ts(&[0.5, 2.0], &[2, 1])).unwrap();
    let lp = d.log_prob(&t(&[0.1, 1.0, 3.0])).unwrap();
    assert_eq!(lp.shape(), &[2, 3]);
    let want: Vec<f64> = [0.5, 2.0]
        .iter()
        .flat_map(|&s| {
            [0.1, 1.0, 3.0].map(|x| {
                statrs::distribution::Normal::new(0.0, s)
                    .unwrap()
                    .ln_pdf(f(x))
                    + LN_2
            })
        })
        .collect();
    assert_close(&lp.to_vec(), &want, "HalfNormal broadcast");
    let below = HalfNormal::new(t(&[1.0])).unwrap().log_prob(&t(&[-0.5]));
    assert_eq!(below.unwrap().to_vec(), vec![f32::NEG_INFINITY]);
    assert!(HalfNormal::new(t(&[1.0])).unwrap().has_rsample());
}

#[test]
fn cauchy_and_half_cauchy_match_statrs() {
    let mut r = rng();
    let (mut loc, mut s, mut x) = (vec![], vec![], vec![]);
    for _ in 0..N {
        loc.push(f(r.random_range(-3.0..3.0)));
        s.push(f(r.random_range(0.2..3.0)));
        x.push(f(r.random_range(0.0..10.0)));
    }
    let want: Vec<f64> = (0..N)
        .map(|i| {
            statrs::distribution::Cauchy::new(loc[i], s[i])
                .unwrap()
                .ln_pdf(x[i])
        })
        .collect();
    let d = Cauchy::new(t(&loc), t(&s)).unwrap();
    assert_close(&d.log_prob(&t(&x)).unwrap().to_vec(), &want, "Cauchy");
    let want: Vec<f64> = (0..N)
        .map(|i| {
            statrs::distribution::Cauchy::new(0.0, s[i])
                .unwrap()
                .ln_pdf(x[i])
                + LN_2
        })
        .collect();
    let d = HalfCauchy::new(t(&s)).unwrap();
    assert_close(&d.log_prob(&t(&x)).unwrap().to_vec(), &want, "HalfCauchy");
    let below = d.log_prob(&full(&[N], -1.0)).unwrap().to_vec();
    assert!(below.iter().all(|&v| v == f32::NEG_INFINITY));
    // A scalar Cauchy against a [2, 3] value.
    let d = Cauchy::new(DTensor::scalar(1.0, &dev()), DTensor::scalar(2.0, &dev())).unwrap();
    let lp = d.log_prob(&full(&[2, 3], 0.0)).unwrap();
    assert_eq!(lp.shape(), &[2, 3]);
    let w = statrs::distribution::Cauchy::new(1.0, 2.0)
        .unwrap()
        .ln_pdf(0.0);
    assert_close(&lp.to_vec(), &[w; 6], "Cauchy broadcast");
    // Entropy: ln(4π s) and ln(2π s).
    let e = Cauchy::new(t(&[0.0]), t(&[1.5]))
        .unwrap()
        .entropy()
        .unwrap();
    assert_close(
        &e.to_vec(),
        &[(4.0 * std::f64::consts::PI * 1.5).ln()],
        "Cauchy entropy",
    );
    let e = HalfCauchy::new(t(&[1.5])).unwrap().entropy().unwrap();
    assert_close(
        &e.to_vec(),
        &[(2.0 * std::f64::consts::PI * 1.5).ln()],
        "HalfCauchy entropy",
    );
}

#[test]
fn exponential_matches_statrs() {
    let mut r = rng();
    let (mut rate, mut x) = (vec![], vec![]);
    for _ in 0..N {
        rate.push(f(r.random_range(0.1..5.0)));
        x.push(f(r.random_range(0.0..8.0)));
    }
    let want: Vec<f64> = (0..N)
        .map(|i| {
            statrs::distribution::Exp::new(rate[i])
                .unwrap()
                .ln_pdf(x[i])
        })
        .collect();
    let d = Exponential::new(t(&rate)).unwrap();
    assert_close(&d.log_prob(&t(&x)).unwrap().to_vec(), &want, "Exponential");
    assert_close(
        &d.mean().to_vec(),
        &rate.iter().map(|r| 1.0 / r).collect::<Vec<_>>(),
        "Exponential mean",
    );
    let e = Exponential::new(t(&[2.0])).unwrap().entropy().unwrap();
    assert_close(&e.to_vec(), &[1.0 - 2f64.ln()], "Exponential entropy");
}

#[test]
fn student_t_matches_statrs() {
    let mut r = rng();
    let (mut df, mut loc, mut s, mut x) = (vec![], vec![], vec![], vec![]);
    for _ in 0..N {
        df.push(f(r.random_range(0.5..30.0)));
        loc.push(f(r.random_range(-2.0..2.0)));
        s.push(f(r.random_range(0.3..3.0)));
        x.push(f(r.random_range(-6.0..6.0)));
    }
    let want: Vec<f64> = (0..N)
        .map(|i| {
            statrs::distribution::StudentsT::new(loc[i], s[i], df[i])
                .unwrap()
                .ln_pdf(x[i])
        })
        .collect();
    let d = StudentT::new(t(&df), t(&loc), t(&s)).unwrap();
    assert_eq!(d.batch_shape(), vec![N]);
    assert_close(&d.log_prob(&t(&x)).unwrap().to_vec(), &want, "StudentT");
    // df [2, 1] with a scalar loc and scale against values [3].
    let d = StudentT::standard(ts(&[1.0, 4.0], &[2, 1])).unwrap();
    let lp = d.log_prob(&t(&[-1.0, 0.0, 2.5])).unwrap();
    assert_eq!(lp.shape(), &[2, 3]);
    let want: Vec<f64> = [1.0, 4.0]
        .iter()
        .flat_map(|&nu| {
            [-1.0, 0.0, 2.5].map(|x| {
                statrs::distribution::StudentsT::new(0.0, 1.0, nu)
                    .unwrap()
                    .ln_pdf(x)
            })
        })
        .collect();
    assert_close(&lp.to_vec(), &want, "StudentT broadcast");
    // Moments as torch: NaN mean for df <= 1, infinite variance for 1 < df <= 2.
    let d = StudentT::new(t(&[0.5, 1.5, 5.0]), t(&[1.0]), t(&[2.0])).unwrap();
    let m = d.mean().to_vec();
    assert!(m[0].is_nan() && m[1] == 1.0 && m[2] == 1.0, "{m:?}");
    let v = d.variance().to_vec();
    assert!(v[0].is_nan() && v[1] == f32::INFINITY, "{v:?}");
    assert_close(&v[2..], &[4.0 * 5.0 / 3.0], "StudentT variance");
}

#[test]
fn continuous_draws_have_the_right_moments() {
    lobes_ppl::rng::set_rng_seed(12);
    let n = [DRAWS];
    let v = HalfNormal::new(full(&n, 2.0)).unwrap().sample().to_vec();
    let (m, var) = mean_var(&v);
    let pi = std::f64::consts::PI;
    assert!(
        (m - 2.0 * (2.0 / pi).sqrt()).abs() < 0.03,
        "HalfNormal mean {m}"
    );
    assert!(
        (var - 4.0 * (1.0 - 2.0 / pi)).abs() < 0.05,
        "HalfNormal var {var}"
    );
    assert!(v.iter().all(|&x| x >= 0.0));

    let v = Exponential::new(full(&n, 0.5)).unwrap().sample().to_vec();
    let (m, var) = mean_var(&v);
    assert!((m - 2.0).abs() < 0.05, "Exponential mean {m}");
    assert!((var - 4.0).abs() < 0.25, "Exponential var {var}");
    assert!(v.iter().all(|&x| x >= 0.0 && x.is_finite()));

    let v = StudentT::new(full(&n, 6.0), full(&[], 1.0), full(&[], 2.0))
        .unwrap()
        .sample()
        .to_vec();
    let (m, var) = mean_var(&v);
    assert!((m - 1.0).abs() < 0.05, "StudentT mean {m}");
    assert!(
        (var - 4.0 * 6.0 / 4.0).abs() < 0.4,
        "StudentT var {var} vs 6"
    );

    // No moments for the Cauchys: their median and quartiles instead.
    let v = Cauchy::new(full(&n, 1.0), full(&n, 2.0))
        .unwrap()
        .sample()
        .to_vec();
    assert!((median(&v) - 1.0).abs() < 0.08, "Cauchy median");
    let in_iqr = v.iter().filter(|&&x| (x - 1.0).abs() < 2.0).count() as f64 / DRAWS as f64;
    assert!((in_iqr - 0.5).abs() < 0.015, "Cauchy IQR {in_iqr}");
    let v = HalfCauchy::new(full(&n, 2.0)).unwrap().sample().to_vec();
    assert!(v.iter().all(|&x| x >= 0.0));
    assert!((median(&v) - 2.0).abs() < 0.1, "HalfCauchy median");
}

#[test]
fn rsample_gradients_reach_the_parameters() {
    let d = Device::flex().autodiff();
    let leaf = |v: f32| DTensor::full(&[3], v, &d).require_grad();
    // d/dscale |scale ε| = |ε| = x / scale.
    let s = leaf(2.0);
    let x = HalfNormal::new(s.clone()).unwrap().rsample().unwrap();
    let g = s.grad(&x.sum().backward()).unwrap().to_vec();
    let want: Vec<f64> = x.to_vec().iter().map(|&x| x as f64 / 2.0).collect();
    assert_close(&g, &want, "HalfNormal d/dscale");
    // d/drate (ε / rate) = -x / rate.
    let r = leaf(0.5);
    let x = Exponential::new(r.clone()).unwrap().rsample().unwrap();
    let g = r.grad(&x.sum().backward()).unwrap().to_vec();
    let want: Vec<f64> = x.to_vec().iter().map(|&x| -(x as f64) / 0.5).collect();
    assert_close(&g, &want, "Exponential d/drate");
    // StudentT: d/dloc = 1, d/dscale = (x - loc) / scale.
    let (loc, sc) = (leaf(1.0), leaf(2.0));
    let x = StudentT::new(DTensor::full(&[3], 5.0, &d), loc.clone(), sc.clone())
        .unwrap()
        .rsample()
        .unwrap();
    let grads = x.sum().backward();
    assert_eq!(loc.grad(&grads).unwrap().to_vec(), vec![1.0; 3]);
    let want: Vec<f64> = x.to_vec().iter().map(|&x| (x as f64 - 1.0) / 2.0).collect();
    assert_close(
        &sc.grad(&grads).unwrap().to_vec(),
        &want,
        "StudentT d/dscale",
    );
    let (loc, sc) = (leaf(0.0), leaf(1.0));
    let x = Cauchy::new(loc.clone(), sc.clone())
        .unwrap()
        .rsample()
        .unwrap();
    let grads = x.sum().backward();
    assert_eq!(loc.grad(&grads).unwrap().to_vec(), vec![1.0; 3]);
    let s = leaf(1.0);
    let x = HalfCauchy::new(s.clone()).unwrap().rsample().unwrap();
    let g = s.grad(&x.sum().backward()).unwrap().to_vec();
    assert_close(
        &g,
        &x.to_vec().iter().map(|&x| x as f64).collect::<Vec<_>>(),
        "HalfCauchy d/dscale",
    );
}

#[test]
fn continuous_parameters_and_supports_are_validated() {
    let neg = || t(&[1.0, -0.5]);
    let e = param_error(HalfNormal::new(neg()).unwrap());
    assert_eq!(
        e,
        "site 'z': invalid HalfNormal parameter 'scale': must be positive, found values in [-0.5, 1]"
    );
    assert!(param_error(Cauchy::new(t(&[0.0, 0.0]), neg()).unwrap()).contains("'scale'"));
    assert!(param_error(HalfCauchy::new(neg()).unwrap()).contains("HalfCauchy parameter 'scale'"));
    assert!(param_error(Exponential::new(neg()).unwrap()).contains("Exponential parameter 'rate'"));
    let e = param_error(StudentT::new(neg(), t(&[0.0]), t(&[1.0])).unwrap());
    assert!(e.contains("StudentT parameter 'df'"), "{e}");
    let e = param_error(StudentT::new(t(&[3.0]), t(&[0.0]), neg()).unwrap());
    assert!(e.contains("StudentT parameter 'scale'"), "{e}");

    let x = t(&[0.5, -1.0]);
    let e = support_error(HalfNormal::new(t(&[1.0, 1.0])).unwrap(), x.clone());
    assert_eq!(
        e,
        "site 'x': HalfNormal: value outside the support (non-negative reals); values range over [-1, 0.5]"
    );
    assert!(
        support_error(HalfCauchy::new(t(&[1.0, 1.0])).unwrap(), x.clone()).contains("HalfCauchy")
    );
    assert!(
        support_error(Exponential::new(t(&[1.0, 1.0])).unwrap(), x.clone()).contains("Exponential")
    );
    // Zero is in the support of all three, as torch's `nonnegative`; reals for the others.
    let zero = t(&[0.0, 0.0]);
    assert!(observe("a", HalfNormal::new(t(&[1.0, 1.0])).unwrap(), zero.clone()).is_ok());
    assert!(observe("b", Exponential::new(t(&[1.0, 1.0])).unwrap(), zero).is_ok());
    assert!(observe("c", StudentT::standard(t(&[2.0, 2.0])).unwrap(), x.clone()).is_ok());
    assert!(observe("d", Cauchy::new(t(&[0.0]), t(&[1.0])).unwrap(), x).is_ok());
}

// ---------------------------------------------------------------------------------------
// Poisson, Binomial
// ---------------------------------------------------------------------------------------

#[test]
fn poisson_matches_statrs() {
    let mut r = rng();
    let (mut rate, mut k) = (vec![], vec![]);
    for _ in 0..N {
        rate.push(f(r.random_range(0.1..20.0)));
        k.push(r.random_range(0..30u64) as f64);
    }
    let want: Vec<f64> = (0..N)
        .map(|i| {
            statrs::distribution::Poisson::new(rate[i])
                .unwrap()
                .ln_pmf(k[i] as u64)
        })
        .collect();
    let d = Poisson::new(t(&rate)).unwrap();
    assert_close(&d.log_prob(&t(&k)).unwrap().to_vec(), &want, "Poisson");
    // Rate [2, 1] against counts [3]; and 0 ln 0 = 0 at rate zero.
    let d = Poisson::new(ts(&[0.5, 4.0], &[2, 1])).unwrap();
    let lp = d.log_prob(&t(&[0.0, 1.0, 7.0])).unwrap();
    assert_eq!(lp.shape(), &[2, 3]);
    let want: Vec<f64> = [0.5, 4.0]
        .iter()
        .flat_map(|&l| {
            [0u64, 1, 7].map(|k| statrs::distribution::Poisson::new(l).unwrap().ln_pmf(k))
        })
        .collect();
    assert_close(&lp.to_vec(), &want, "Poisson broadcast");
    let at_zero = Poisson::new(t(&[0.0])).unwrap().log_prob(&t(&[0.0]));
    assert_close(&at_zero.unwrap().to_vec(), &[0.0], "Poisson(0) at 0");
    assert!(!Poisson::new(t(&[1.0])).unwrap().has_rsample());
    assert!(Poisson::new(t(&[1.0])).unwrap().rsample().is_err());
}

#[test]
fn binomial_matches_statrs_from_probs_and_logits() {
    let mut r = rng();
    let (mut n, mut p, mut k) = (vec![], vec![], vec![]);
    for _ in 0..N {
        let nn = r.random_range(0..40u64);
        n.push(nn as f64);
        p.push(f(r.random_range(0.02..0.98)));
        k.push(r.random_range(0..=nn) as f64);
    }
    let want: Vec<f64> = (0..N)
        .map(|i| {
            statrs::distribution::Binomial::new(p[i], n[i] as u64)
                .unwrap()
                .ln_pmf(k[i] as u64)
        })
        .collect();
    let d = Binomial::from_probs(t(&n), t(&p)).unwrap();
    assert_close_tol(
        &d.log_prob(&t(&k)).unwrap().to_vec(),
        &want,
        2e-5,
        "Binomial(probs)",
    );
    let logits: Vec<f64> = p.iter().map(|p| (p / (1.0 - p)).ln()).collect();
    let d = Binomial::from_logits(t(&n), t(&logits)).unwrap();
    assert_close_tol(
        &d.log_prob(&t(&k)).unwrap().to_vec(),
        &want,
        2e-5,
        "Binomial(logits)",
    );
    // A scalar total_count with probs [2, 1] against counts [3].
    let d = Binomial::from_probs(DTensor::scalar(10.0, &dev()), ts(&[0.2, 0.6], &[2, 1])).unwrap();
    assert_eq!(d.batch_shape(), vec![2, 1]);
    let lp = d.log_prob(&t(&[0.0, 3.0, 10.0])).unwrap();
    assert_eq!(lp.shape(), &[2, 3]);
    let want: Vec<f64> = [0.2, 0.6]
        .iter()
        .flat_map(|&p| {
            [0u64, 3, 10].map(|k| {
                statrs::distribution::Binomial::new(f(p), 10)
                    .unwrap()
                    .ln_pmf(k)
            })
        })
        .collect();
    assert_close_tol(&lp.to_vec(), &want, 2e-5, "Binomial broadcast");
    assert_close(&d.mean().to_vec(), &[2.0, 6.0], "Binomial mean");
}

#[test]
fn discrete_draws_have_the_right_moments() {
    lobes_ppl::rng::set_rng_seed(13);
    let v = Poisson::new(full(&[DRAWS], 3.5)).unwrap().sample().to_vec();
    let (m, var) = mean_var(&v);
    assert!((m - 3.5).abs() < 0.05, "Poisson mean {m}");
    assert!((var - 3.5).abs() < 0.15, "Poisson var {var}");
    assert!(v.iter().all(|x| x.fract() == 0.0 && *x >= 0.0));
    let v = Poisson::new(full(&[DRAWS], 0.0)).unwrap().sample().to_vec();
    assert!(v.iter().all(|&x| x == 0.0));
    let d = Binomial::from_probs(full(&[], 10.0), full(&[DRAWS], 0.3)).unwrap();
    let v = d.sample().to_vec();
    let (m, var) = mean_var(&v);
    assert!((m - 3.0).abs() < 0.05, "Binomial mean {m}");
    assert!((var - 2.1).abs() < 0.1, "Binomial var {var}");
    assert!(
        v.iter()
            .all(|x| x.fract() == 0.0 && (0.0..=10.0).contains(x))
    );
    let d = Binomial::from_logits(full(&[DRAWS], 4.0), full(&[], 0.0)).unwrap();
    let (m, _) = mean_var(&d.sample().to_vec());
    assert!((m - 2.0).abs() < 0.05, "Binomial(logits) mean {m}");
}

#[test]
fn discrete_parameters_and_supports_are_validated() {
    let e = param_error(Poisson::new(t(&[1.0, -2.0])).unwrap());
    assert_eq!(
        e,
        "site 'z': invalid Poisson parameter 'rate': must be non-negative, found values in [-2, 1]"
    );
    let e = param_error(Binomial::from_probs(t(&[2.5]), t(&[0.5])).unwrap());
    assert!(
        e.contains("invalid Binomial parameter 'total_count': must be a non-negative integer"),
        "{e}"
    );
    let e = param_error(Binomial::from_probs(t(&[-1.0]), t(&[0.5])).unwrap());
    assert!(e.contains("'total_count'"), "{e}");
    let e = param_error(Binomial::from_probs(t(&[3.0]), t(&[1.5])).unwrap());
    assert!(e.contains("invalid Binomial parameter 'probs'"), "{e}");
    assert!(Binomial::from_probs(t(&[1.0, 2.0]), t(&[0.1, 0.2, 0.3])).is_err());

    let e = support_error(Poisson::new(t(&[1.0, 1.0])).unwrap(), t(&[2.0, 1.5]));
    assert_eq!(
        e,
        "site 'x': Poisson: value outside the support (non-negative integers); values range over [1.5, 2]"
    );
    assert!(support_error(Poisson::new(t(&[1.0])).unwrap(), t(&[-1.0])).contains("Poisson"));
    let b = || Binomial::from_probs(t(&[5.0, 5.0]), t(&[0.5, 0.5])).unwrap();
    let e = support_error(b(), t(&[6.0, 0.0]));
    assert!(e.contains("integers 0..=total_count"), "{e}");
    assert!(support_error(b(), t(&[0.5, 0.0])).contains("Binomial"));
    assert!(observe("ok", b(), t(&[5.0, 0.0])).is_ok());
    assert!(observe("ok2", Poisson::new(t(&[0.0])).unwrap(), t(&[0.0])).is_ok());
}

// ---------------------------------------------------------------------------------------
// Constraints: interval, greater_than, simplex
// ---------------------------------------------------------------------------------------

#[test]
fn new_constraints_check_transform_and_round_trip() {
    let iv = Constraint::interval(-1.0, 3.0);
    assert!(iv.check(&t(&[-1.0, 0.0, 3.0])));
    assert!(!iv.check(&t(&[0.0, 3.5])));
    assert!(!iv.check(&t(&[-1.5])));
    let u = t(&[-30.0, -1.0, 0.0, 2.0, 30.0]);
    let x = iv.transform(&u);
    assert!(iv.check(&x));
    assert_close(&x.to_vec()[2..3], &[1.0], "interval midpoint");
    let back = iv.inverse(&iv.transform(&t(&[-1.0, 0.5, 2.0])));
    assert_close_tol(&back.to_vec(), &[-1.0, 0.5, 2.0], 1e-4, "interval inverse");
    // End points map to finite unconstrained values, as torch's clamped sigmoid inverse.
    assert!(iv.inverse(&t(&[-1.0, 3.0])).all_finite());

    let gt = Constraint::greater_than(2.0);
    assert!(gt.check(&t(&[2.5, 100.0])));
    assert!(!gt.check(&t(&[2.0])));
    let x = gt.transform(&t(&[-5.0, 0.0, 3.0]));
    assert!(gt.check(&x));
    assert_close(
        &x.to_vec(),
        &[2.0 + (-5f64).exp(), 3.0, 2.0 + 3f64.exp()],
        "greater_than",
    );
    assert_close(
        &gt.inverse(&t(&[3.0, 7.0])).to_vec(),
        &[0.0, 5f64.ln()],
        "greater_than inverse",
    );

    let s = Constraint::Simplex;
    assert!(s.check(&ts(&[0.2, 0.3, 0.5, 1.0, 0.0, 0.0], &[2, 3])));
    assert!(!s.check(&t(&[0.2, 0.3, 0.6])));
    assert!(!s.check(&t(&[-0.2, 0.7, 0.5])));
    assert!(!s.check(&DTensor::scalar(1.0, &dev())));
    let x = s.transform(&ts(&[0.0, 1.0, 2.0, -5.0, 0.0, 5.0], &[2, 3]));
    assert!(s.check(&x));
    let e: Vec<f64> = [0.0f64, 1.0, 2.0].iter().map(|v| v.exp()).collect();
    let z: f64 = e.iter().sum();
    assert_close(&x.to_vec()[..3], &[e[0] / z, e[1] / z, e[2] / z], "softmax");
    // softmax(ln x) = x.
    let p = ts(&[0.1, 0.6, 0.3], &[3]);
    assert_close(
        &s.transform(&s.inverse(&p)).to_vec(),
        &[0.1, 0.6, 0.3],
        "simplex",
    );

    // softplus_positive: ln(1 + e^u), and back (torch's SoftplusTransform).
    let sp = Constraint::SoftplusPositive;
    let u = t(&[-3.0, 0.0, 2.0, 30.0]);
    let x = sp.transform(&u);
    let want: Vec<f64> = [-3.0f64, 0.0, 2.0, 30.0]
        .iter()
        .map(|v| v.exp().ln_1p())
        .collect();
    assert_close(&x.to_vec(), &want, "softplus");
    assert!(sp.check(&x) && !sp.check(&t(&[0.5, 0.0])));
    let small = [1e-7f64, 1e-4, 0.1, 1.0, 25.0];
    let want: Vec<f64> = small.iter().map(|&y| y + (-(-y).exp_m1()).ln()).collect();
    assert_close(&sp.inverse(&t(&small)).to_vec(), &want, "softplus inverse");
    // Its log-Jacobian, ln sigmoid(u), against a central difference of the transform.
    let u0 = [-4.0f64, -0.5, 0.0, 1.5, 6.0];
    let ladj = log_abs_det_jacobian(sp, &t(&u0)).unwrap().to_vec();
    for (&u, l) in u0.iter().zip(ladj) {
        let h = 1e-4;
        let d = ((u + h).exp().ln_1p() - (u - h).exp().ln_1p()) / (2.0 * h);
        assert!(
            (l as f64 - d.ln()).abs() < 1e-4,
            "ln |softplus'({u})| {l} vs {}",
            d.ln()
        );
    }

    // unit_lower_cholesky: tril(u, -1) + I; the inverse is the identity (Pyro's).
    let ul = Constraint::UnitLowerCholesky;
    let m = ul.transform(&ts(&[5.0, 6.0, 7.0, 8.0, 9.0, 4.0, 1.0, 2.0, 3.0], &[3, 3]));
    assert_close(
        &m.to_vec(),
        &[1.0, 0.0, 0.0, 8.0, 1.0, 0.0, 1.0, 2.0, 1.0],
        "unit lower cholesky",
    );
    assert!(ul.check(&m));
    assert!(!ul.check(&ts(&[1.0, 0.5, 0.0, 1.0], &[2, 2])), "upper part");
    assert!(!ul.check(&ts(&[2.0, 0.0, 0.3, 1.0], &[2, 2])), "diagonal");
    assert!(!ul.check(&t(&[1.0])), "rank 1");
    assert_eq!(ul.inverse(&m).to_vec(), m.to_vec());

    for c in [
        Constraint::Real,
        Constraint::Positive,
        Constraint::UnitInterval,
        Constraint::Simplex,
        sp,
        ul,
        iv,
        gt,
        Constraint::interval(0.1, 1e-3),
        Constraint::greater_than(-0.3),
    ] {
        assert_eq!(Constraint::parse(c.as_str()), Some(c), "{}", c.as_str());
    }
    assert_eq!(iv.as_str(), "interval(-1, 3)");
    assert_eq!(gt.as_str(), "greater_than(2)");
    assert_eq!(Constraint::parse("simplex"), Some(Constraint::Simplex));
    assert_eq!(Constraint::parse("interval(1)"), None);
    assert_eq!(Constraint::parse("greater_than(x)"), None);
    assert_ne!(iv, Constraint::interval(-1.0, 4.0));
}

#[test]
fn params_with_the_new_constraints_stay_in_their_support() {
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        let a: DTensor =
            param_constrained("a", t(&[0.5, 2.5]), Constraint::interval(0.0, 3.0)).unwrap();
        assert_close_tol(&a.to_vec(), &[0.5, 2.5], 1e-5, "interval param");
        let b: DTensor = param_constrained("b", t(&[1.5]), Constraint::greater_than(1.0)).unwrap();
        assert_close(&b.to_vec(), &[1.5], "greater_than param");
        let p: DTensor = param_constrained("p", t(&[0.2, 0.8]), Constraint::Simplex).unwrap();
        assert_close(&p.to_vec(), &[0.2, 0.8], "simplex param");
        let e = param_constrained::<DTensor>("bad", t(&[0.5]), Constraint::greater_than(1.0));
        let e = e.unwrap_err().to_string();
        assert!(
            e.contains("param 'bad'") && e.contains("greater_than(1)"),
            "{e}"
        );
    });
    // Any unconstrained value maps into the support.
    store.set_unconstrained("a", t(&[-80.0, 80.0]), Constraint::interval(0.0, 3.0));
    assert!(Constraint::interval(0.0, 3.0).check(&store.get("a").unwrap()));
    store.set_unconstrained("p", t(&[40.0, -40.0]), Constraint::Simplex);
    assert!(Constraint::Simplex.check(&store.get("p").unwrap()));
}

// ---------------------------------------------------------------------------------------
// Dirichlet, MultivariateNormal
// ---------------------------------------------------------------------------------------

fn ln_gamma(x: f64) -> f64 {
    statrs::function::gamma::ln_gamma(x)
}

fn dirichlet_ln_pdf(a: &[f64], x: &[f64]) -> f64 {
    let a0: f64 = a.iter().sum();
    ln_gamma(a0) - a.iter().map(|&a| ln_gamma(a)).sum::<f64>()
        + a.iter()
            .zip(x)
            .map(|(a, x)| (a - 1.0) * x.ln())
            .sum::<f64>()
}

#[test]
fn dirichlet_matches_its_closed_form() {
    let mut r = rng();
    let (b, k) = (6, 4);
    let (mut a, mut x) = (vec![], vec![]);
    for _ in 0..b {
        let row: Vec<f64> = (0..k).map(|_| f(r.random_range(0.3..6.0))).collect();
        let raw: Vec<f64> = (0..k).map(|_| r.random_range(0.05..1.0)).collect();
        let s: f64 = raw.iter().sum();
        a.extend(row);
        x.extend(raw.iter().map(|v| f(v / s)));
    }
    let d = Dirichlet::new(ts(&a, &[2, 3, k])).unwrap();
    assert_eq!((d.batch_shape(), d.event_shape()), (vec![2, 3], vec![k]));
    let lp = d.log_prob(&ts(&x, &[2, 3, k])).unwrap();
    assert_eq!(lp.shape(), &[2, 3]);
    let want: Vec<f64> = (0..b)
        .map(|i| dirichlet_ln_pdf(&a[i * k..(i + 1) * k], &x[i * k..(i + 1) * k]))
        .collect();
    assert_close_tol(&lp.to_vec(), &want, 2e-5, "Dirichlet");
    // One value against the whole batch broadcasts.
    let lp = d.log_prob(&ts(&x[..k], &[k])).unwrap();
    assert_eq!(lp.shape(), &[2, 3]);
    // Two categories: a Beta.
    let d2 = Dirichlet::new(t(&[2.5, 4.0])).unwrap();
    let beta = statrs::distribution::Beta::new(2.5, 4.0)
        .unwrap()
        .ln_pdf(f(0.3));
    let v = t(&[0.3, 1.0 - f(0.3)]);
    assert_close(
        &d2.log_prob(&v).unwrap().to_vec(),
        &[beta],
        "Dirichlet as Beta",
    );
    // Concentration one on a corner: xlogy(0, 0) = 0, as torch.
    let flat = Dirichlet::new(t(&[1.0, 1.0, 1.0])).unwrap();
    let lp = flat.log_prob(&t(&[1.0, 0.0, 0.0])).unwrap().to_vec();
    assert_close(&lp, &[2f64.ln()], "flat Dirichlet at a corner");
}

#[test]
fn dirichlet_draws_have_the_right_moments() {
    lobes_ppl::rng::set_rng_seed(14);
    let a = [2.0, 3.0, 5.0];
    let d = Dirichlet::new(t(&a)).unwrap().expand(&[DRAWS]).unwrap();
    let s = d.sample();
    assert_eq!(s.shape(), &[DRAWS, 3]);
    assert!(Constraint::Simplex.check(&s));
    let v = s.to_vec();
    let a0: f64 = a.iter().sum();
    for (j, &aj) in a.iter().enumerate() {
        let col: Vec<f32> = v.iter().skip(j).step_by(3).copied().collect();
        let (m, var) = mean_var(&col);
        let (wm, wv) = (aj / a0, aj * (a0 - aj) / (a0 * a0 * (a0 + 1.0)));
        assert!((m - wm).abs() < 0.005, "Dirichlet mean[{j}] {m} vs {wm}");
        assert!(
            (var - wv).abs() < 0.1 * wv,
            "Dirichlet var[{j}] {var} vs {wv}"
        );
    }
    let dd = Dirichlet::new(t(&a)).unwrap();
    assert_close(&dd.mean().to_vec(), &[0.2, 0.3, 0.5], "Dirichlet mean()");
}

#[test]
fn dirichlet_parameters_and_support_are_validated() {
    let e = param_error(Dirichlet::new(t(&[1.0, -1.0, 2.0])).unwrap());
    assert_eq!(
        e,
        "site 'z': invalid Dirichlet parameter 'concentration': must be positive, found values in [-1, 2]"
    );
    assert!(Dirichlet::new(DTensor::scalar(1.0, &dev())).is_err());
    let d = || Dirichlet::new(t(&[1.0, 1.0, 1.0])).unwrap();
    let e = support_error(d(), t(&[0.5, 0.5, 0.5]));
    assert!(
        e.contains("Dirichlet: value outside the support (the simplex"),
        "{e}"
    );
    assert!(support_error(d(), t(&[1.2, -0.2, 0.0])).contains("simplex"));
    assert!(observe("ok", d(), t(&[0.2, 0.3, 0.5])).is_ok());
}

/// ln N(x; μ, Σ) for a 2-D Gaussian, from Σ's closed-form inverse and determinant.
fn mvn2_ln_pdf(mu: [f64; 2], l: [f64; 4], x: [f64; 2]) -> f64 {
    // Σ = L Lᵀ for L = [[a, 0], [b, c]]
    let (a, b, c) = (l[0], l[2], l[3]);
    let (s11, s12, s22) = (a * a, a * b, b * b + c * c);
    let det = s11 * s22 - s12 * s12;
    let (d0, d1) = (x[0] - mu[0], x[1] - mu[1]);
    let q = (s22 * d0 * d0 - 2.0 * s12 * d0 * d1 + s11 * d1 * d1) / det;
    -0.5 * q - 0.5 * det.ln() - (2.0 * std::f64::consts::PI).ln()
}

#[test]
fn multivariate_normal_matches_closed_forms() {
    let mut r = rng();
    let (mut mu, mut l, mut x, mut want) = (vec![], vec![], vec![], vec![]);
    for _ in 0..N {
        let m = [f(r.random_range(-2.0..2.0)), f(r.random_range(-2.0..2.0))];
        let ll = [
            f(r.random_range(0.3..2.0)),
            0.0,
            f(r.random_range(-1.5..1.5)),
            f(r.random_range(0.3..2.0)),
        ];
        let xx = [f(r.random_range(-4.0..4.0)), f(r.random_range(-4.0..4.0))];
        want.push(mvn2_ln_pdf(m, ll, xx));
        mu.extend(m);
        l.extend(ll);
        x.extend(xx);
    }
    let d = MultivariateNormal::new(ts(&mu, &[N, 2]), ts(&l, &[N, 2, 2])).unwrap();
    assert_eq!((d.batch_shape(), d.event_shape()), (vec![N], vec![2]));
    let lp = d.log_prob(&ts(&x, &[N, 2])).unwrap();
    assert_eq!(lp.shape(), &[N]);
    assert_close(&lp.to_vec(), &want, "MultivariateNormal 2-D");

    // A diagonal scale_tril is a product of Normals, in 4-D.
    let (m4, s4, x4) = (
        [0.5, -1.0, 2.0, 0.0],
        [0.5, 1.0, 2.0, 3.0],
        [1.0, 0.0, -1.0, 2.0],
    );
    let mut diag = vec![0.0; 16];
    for i in 0..4 {
        diag[i * 5] = s4[i];
    }
    let d = MultivariateNormal::new(t(&m4), ts(&diag, &[4, 4])).unwrap();
    let want: f64 = (0..4)
        .map(|i| {
            statrs::distribution::Normal::new(m4[i], s4[i])
                .unwrap()
                .ln_pdf(x4[i])
        })
        .sum();
    assert_close(
        &d.log_prob(&t(&x4)).unwrap().to_vec(),
        &[want],
        "MVN diagonal",
    );
    let ent: f64 = (0..4)
        .map(|i| 0.5 + 0.5 * (2.0 * std::f64::consts::PI).ln() + s4[i].ln())
        .sum();
    assert_close(&d.entropy().unwrap().to_vec(), &[ent], "MVN entropy");

    // Batch shapes broadcast: loc [3, 2] with one scale_tril [2, 2], values [4, 1, 2].
    let l1 = [1.0, 0.0, 0.5, 0.8];
    let locs = [0.0, 0.0, 1.0, -1.0, -2.0, 0.5];
    let d = MultivariateNormal::new(ts(&locs, &[3, 2]), ts(&l1, &[2, 2])).unwrap();
    assert_eq!(d.batch_shape(), vec![3]);
    let xs = [0.1, 0.2, -1.0, 1.0, 2.0, 0.0, 0.3, -0.7];
    let lp = d.log_prob(&ts(&xs, &[4, 1, 2])).unwrap();
    assert_eq!(lp.shape(), &[4, 3]);
    let want: Vec<f64> = (0..4)
        .flat_map(|i| {
            (0..3).map(move |j| {
                mvn2_ln_pdf(
                    [locs[2 * j], locs[2 * j + 1]],
                    l1,
                    [f(xs[2 * i]), f(xs[2 * i + 1])],
                )
            })
        })
        .collect();
    assert_close(&lp.to_vec(), &want, "MVN broadcast");
    let cov = d.covariance_matrix().unwrap();
    assert_eq!(cov.shape(), &[3, 2, 2]);
    assert_close(
        &cov.to_vec()[..4],
        &[1.0, 0.5, 0.5, 0.25 + f(0.8) * f(0.8)],
        "covariance",
    );
}

#[test]
fn multivariate_normal_draws_have_the_right_moments_and_gradients() {
    lobes_ppl::rng::set_rng_seed(15);
    let l = [2.0, 0.0, 0.0, -1.0, 0.5, 0.0, 0.5, 0.3, 1.0];
    let mu = [1.0, -1.0, 0.5];
    let d = MultivariateNormal::new(t(&mu), ts(&l, &[3, 3]))
        .unwrap()
        .expand(&[DRAWS])
        .unwrap();
    let s = d.sample();
    assert_eq!(s.shape(), &[DRAWS, 3]);
    let v = s.to_vec();
    let col = |j: usize| -> Vec<f64> { v.iter().skip(j).step_by(3).map(|&x| x as f64).collect() };
    let cols: Vec<Vec<f64>> = (0..3).map(col).collect();
    let means: Vec<f64> = cols
        .iter()
        .map(|c| c.iter().sum::<f64>() / DRAWS as f64)
        .collect();
    for j in 0..3 {
        assert!(
            (means[j] - mu[j]).abs() < 0.05,
            "MVN mean[{j}] {}",
            means[j]
        );
    }
    for i in 0..3 {
        for j in 0..3 {
            let c = (0..DRAWS)
                .map(|n| (cols[i][n] - means[i]) * (cols[j][n] - means[j]))
                .sum::<f64>()
                / DRAWS as f64;
            let w: f64 = (0..3).map(|k| l[3 * i + k] * l[3 * j + k]).sum();
            assert!(
                (c - w).abs() < 0.05 * w.abs().max(1.0),
                "MVN cov[{i}{j}] {c} vs {w}"
            );
        }
    }

    let dev = Device::flex().autodiff();
    let loc = DTensor::from_floats(vec![0.0, 0.0], &[2], &dev)
        .unwrap()
        .require_grad();
    let lt = DTensor::from_floats(vec![1.0, 0.0, 0.5, 2.0], &[2, 2], &dev)
        .unwrap()
        .require_grad();
    let m = MultivariateNormal::new(loc.clone(), lt.clone()).unwrap();
    assert!(m.has_rsample());
    let x = m.rsample().unwrap();
    let g = x.sum().backward();
    assert_eq!(loc.grad(&g).unwrap().to_vec(), vec![1.0, 1.0]);
    // log_prob's gradient in loc is Σ⁻¹ (x - μ); at x = μ + L e₁ it is L⁻ᵀ e₁.
    let lp = m
        .log_prob(&DTensor::from_floats(vec![1.0, 0.5], &[2], &dev).unwrap())
        .unwrap();
    let g = lp.sum().backward();
    // L⁻ᵀ e₁ for L = [[1, 0], [0.5, 2]]: L⁻¹ = [[1, 0], [-0.25, 0.5]], so L⁻ᵀ e₁ = (1, 0).
    assert_close(&loc.grad(&g).unwrap().to_vec(), &[1.0, 0.0], "MVN d/dloc");
    assert!(lt.grad(&g).is_some());
}

#[test]
fn multivariate_normal_parameters_are_validated() {
    let loc = || t(&[0.0, 0.0]);
    let e =
        param_error(MultivariateNormal::new(loc(), ts(&[1.0, 0.3, 0.0, 1.0], &[2, 2])).unwrap());
    assert!(
        e.starts_with(
            "site 'z': invalid MultivariateNormal parameter 'scale_tril': must be lower triangular"
        ),
        "{e}"
    );
    let e =
        param_error(MultivariateNormal::new(loc(), ts(&[1.0, 0.0, 0.3, -1.0], &[2, 2])).unwrap());
    assert!(
        e.contains("'scale_tril': must be lower triangular with a positive diagonal"),
        "{e}"
    );
    let e = MultivariateNormal::new(t(&[0.0, 0.0, 0.0]), ts(&[1.0, 0.0, 0.0, 1.0], &[2, 2]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("'scale_tril'") && e.contains("[2, 2]"), "{e}");
    assert!(MultivariateNormal::new(DTensor::scalar(0.0, &dev()), ts(&[1.0], &[1, 1])).is_err());
    assert!(
        MultivariateNormal::new(
            DTensor::zeros(&[3, 2], &dev()),
            DTensor::zeros(&[4, 2, 2], &dev())
        )
        .is_err()
    );
    let d = MultivariateNormal::new(loc(), ts(&[1.0, 0.0, 0.0, 1.0], &[2, 2])).unwrap();
    assert!(observe("wrong", d, t(&[1.0, 2.0, 3.0])).is_err());
}

// ---------------------------------------------------------------------------------------
// MixtureSameFamily, TransformedDistribution
// ---------------------------------------------------------------------------------------

fn ln_normal(m: f64, s: f64, x: f64) -> f64 {
    statrs::distribution::Normal::new(m, s).unwrap().ln_pdf(x)
}

#[test]
fn mixture_same_family_matches_its_closed_form() {
    let (w, mu, sd) = ([0.3, 0.7], [-1.0, 2.0], [0.5, 1.5]);
    let mix = Categorical::from_probs(t(&w)).unwrap();
    let comp = Normal::new(t(&mu), t(&sd)).unwrap().boxed();
    let d = MixtureSameFamily::new(mix, comp).unwrap();
    assert_eq!((d.batch_shape(), d.event_shape()), (vec![], vec![]));
    let xs = [-3.0, -1.0, 0.4, 2.0, 6.0, -40.0];
    let lp = d.log_prob(&t(&xs)).unwrap();
    assert_eq!(lp.shape(), &[6]);
    // Reference by a stable logsumexp in f64: the far tail (-40) underflows every density.
    let want: Vec<f64> = xs
        .iter()
        .map(|&x| {
            let a: Vec<f64> = (0..2)
                .map(|k| w[k].ln() + ln_normal(mu[k], sd[k], x))
                .collect();
            let mx = a.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            mx + a.iter().map(|v| (v - mx).exp()).sum::<f64>().ln()
        })
        .collect();
    assert_close(&lp.to_vec(), &want, "mixture");
    assert!(lp.to_vec()[5].is_finite());

    // Batched: mixture weights [3, 2] and components [3, 2]; values [4, 1].
    let wb = [0.5, 0.5, 0.1, 0.9, 0.8, 0.2];
    let mb = [0.0, 1.0, -2.0, 2.0, 3.0, -3.0];
    let d = MixtureSameFamily::new(
        Categorical::from_probs(ts(&wb, &[3, 2])).unwrap(),
        Normal::new(ts(&mb, &[3, 2]), DTensor::scalar(1.0, &dev()))
            .unwrap()
            .boxed(),
    )
    .unwrap();
    assert_eq!(d.batch_shape(), vec![3]);
    let xv = [0.0, 1.0, -1.0, 2.5];
    let lp = d.log_prob(&ts(&xv, &[4, 1])).unwrap();
    assert_eq!(lp.shape(), &[4, 3]);
    let want: Vec<f64> = xv
        .iter()
        .flat_map(|&x| {
            (0..3).map(move |b| {
                (0..2)
                    .map(|k| wb[2 * b + k] * ln_normal(mb[2 * b + k], 1.0, x).exp())
                    .sum::<f64>()
                    .ln()
            })
        })
        .collect();
    assert_close(&lp.to_vec(), &want, "batched mixture");
}

#[test]
fn mixture_same_family_samples_and_multivariate_components() {
    lobes_ppl::rng::set_rng_seed(16);
    let d = MixtureSameFamily::new(
        Categorical::from_probs(t(&[0.25, 0.75])).unwrap(),
        Normal::new(t(&[-2.0, 2.0]), t(&[0.5, 1.0]))
            .unwrap()
            .boxed(),
    )
    .unwrap();
    assert!(!d.has_rsample());
    let v = d.expand(&[DRAWS]).unwrap().sample().to_vec();
    assert_eq!(v.len(), DRAWS);
    let (m, var) = mean_var(&v);
    // mean Σπμ = 1; variance Σπ(σ² + μ²) - mean² = 0.25 * 4.25 + 0.75 * 5 - 1 = 3.8125.
    assert!((m - 1.0).abs() < 0.05, "mixture mean {m}");
    assert!((var - 3.8125).abs() < 0.12, "mixture var {var}");

    // A mixture of two 2-D Gaussians (event shape [2]): log_prob is the log of the weighted
    // sum of the components' densities.
    let locs = [0.0, 0.0, 3.0, -1.0];
    let l = [1.0, 0.0, 0.5, 0.7, 2.0, 0.0, -0.4, 0.5];
    let comp = MultivariateNormal::new(ts(&locs, &[2, 2]), ts(&l, &[2, 2, 2])).unwrap();
    let d = MixtureSameFamily::new(
        Categorical::from_probs(t(&[0.4, 0.6])).unwrap(),
        comp.boxed(),
    )
    .unwrap();
    assert_eq!((d.batch_shape(), d.event_shape()), (vec![], vec![2]));
    let x = [[0.5, -0.5], [2.0, 0.0]];
    let lp = d.log_prob(&ts(&[0.5, -0.5, 2.0, 0.0], &[2, 2])).unwrap();
    assert_eq!(lp.shape(), &[2]);
    let want: Vec<f64> = x
        .iter()
        .map(|xx| {
            let c0 = mvn2_ln_pdf([0.0, 0.0], [1.0, 0.0, 0.5, f(0.7)], *xx);
            let c1 = mvn2_ln_pdf([3.0, -1.0], [2.0, 0.0, f(-0.4), 0.5], *xx);
            (0.4 * c0.exp() + 0.6 * c1.exp()).ln()
        })
        .collect();
    assert_close(&lp.to_vec(), &want, "MVN mixture");
    let s = d.expand(&[DRAWS]).unwrap().sample();
    assert_eq!(s.shape(), &[DRAWS, 2]);
    let v = s.to_vec();
    let m0 = v.iter().step_by(2).map(|&x| x as f64).sum::<f64>() / DRAWS as f64;
    assert!((m0 - 1.8).abs() < 0.05, "MVN mixture mean[0] {m0}");
}

#[test]
fn mixture_same_family_rejects_mismatched_components() {
    let e = MixtureSameFamily::new(
        Categorical::from_probs(t(&[0.5, 0.5])).unwrap(),
        Normal::new(t(&[0.0, 1.0, 2.0]), t(&[1.0])).unwrap().boxed(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("MixtureSameFamily parameter 'component_distribution'"),
        "{e}"
    );
    let e = MixtureSameFamily::new(
        Categorical::from_probs(ts(&[0.5; 8], &[4, 2])).unwrap(),
        Normal::new(DTensor::zeros(&[3, 2], &dev()), t(&[1.0]))
            .unwrap()
            .boxed(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("'mixture_distribution'"), "{e}");
    // Component parameters are validated at the site.
    let d = MixtureSameFamily::new(
        Categorical::from_probs(t(&[0.5, 0.5])).unwrap(),
        Normal::new(t(&[0.0, 1.0]), t(&[1.0, -1.0]))
            .unwrap()
            .boxed(),
    )
    .unwrap();
    assert!(param_error(d).contains("Normal parameter 'scale'"));
    let d = MixtureSameFamily::new(
        Categorical::from_probs(t(&[0.5, 0.5])).unwrap(),
        Exponential::new(t(&[1.0, 2.0])).unwrap().boxed(),
    )
    .unwrap();
    assert!(support_error(d, t(&[-1.0])).contains("Exponential"));
}

#[test]
fn transformed_distributions_match_closed_forms() {
    let normal = || {
        Normal::new(t(&[0.3, -0.5, 1.0]), t(&[0.8, 1.2, 0.5]))
            .unwrap()
            .boxed()
    };
    let (m, s) = ([0.3, -0.5, 1.0], [0.8, 1.2, 0.5].map(f));
    let m = m.map(f);
    // exp(Normal) is LogNormal.
    let d = TransformedDistribution::with(normal(), ExpTransform).unwrap();
    let y = [0.5, 1.0, 4.0];
    let want: Vec<f64> = (0..3)
        .map(|i| {
            statrs::distribution::LogNormal::new(m[i], s[i])
                .unwrap()
                .ln_pdf(y[i])
        })
        .collect();
    assert_close(&d.log_prob(&t(&y)).unwrap().to_vec(), &want, "Exp");
    assert!(support_error(d, t(&[1.0, -1.0, 2.0])).contains("positive"));

    // loc + scale Normal is a Normal; a negative scale too (|scale| in the Jacobian).
    let d = TransformedDistribution::with(normal(), AffineTransform::new(t(&[1.0]), t(&[-2.0])))
        .unwrap();
    let y = [0.0, 2.0, -3.0];
    let want: Vec<f64> = (0..3)
        .map(|i| ln_normal(1.0 - 2.0 * m[i], 2.0 * s[i], y[i]))
        .collect();
    assert_close(&d.log_prob(&t(&y)).unwrap().to_vec(), &want, "Affine");

    // sigmoid(Normal), the logit-normal: N(logit y) - ln(y (1 - y)).
    let d = TransformedDistribution::with(normal(), SigmoidTransform).unwrap();
    let y = [0.2, 0.5, 0.9];
    let want: Vec<f64> = (0..3)
        .map(|i| {
            let yi = f(y[i]);
            ln_normal(m[i], s[i], (yi / (1.0 - yi)).ln()) - (yi * (1.0 - yi)).ln()
        })
        .collect();
    assert_close_tol(
        &d.log_prob(&t(&y)).unwrap().to_vec(),
        &want,
        1e-4,
        "Sigmoid",
    );
    assert!(support_error(d, t(&[0.2, 1.5, 0.5])).contains("unit_interval"));

    // softplus(Normal): x = ln(e^y - 1), ln|dy/dx| = ln σ(x).
    let d = TransformedDistribution::with(normal(), SoftplusTransform).unwrap();
    let y = [0.05, 1.0, 3.0];
    let want: Vec<f64> = (0..3)
        .map(|i| {
            let x = (f(y[i]).exp() - 1.0).ln();
            ln_normal(m[i], s[i], x) - (1.0 / (1.0 + (-x).exp())).ln()
        })
        .collect();
    assert_close_tol(
        &d.log_prob(&t(&y)).unwrap().to_vec(),
        &want,
        1e-4,
        "Softplus",
    );

    // A chain, y = 2 + 3 exp(x): ln p(y) = N(ln((y - 2)/3)) - ln(y - 2).
    let d = TransformedDistribution::new(
        normal(),
        vec![
            std::sync::Arc::new(ExpTransform),
            std::sync::Arc::new(AffineTransform::new(t(&[2.0]), t(&[3.0]))),
        ],
    )
    .unwrap();
    let y: [f64; 3] = [2.5, 3.0, 10.0];
    let want: Vec<f64> = (0..3)
        .map(|i| ln_normal(m[i], s[i], ((y[i] - 2.0) / 3.0).ln()) - (y[i] - 2.0).ln())
        .collect();
    assert_close(
        &d.log_prob(&t(&y)).unwrap().to_vec(),
        &want,
        "Exp then Affine",
    );

    // Transform parameters broadcast the batch shape; event dims are summed over.
    let scalar = Normal::new(DTensor::scalar(0.0, &dev()), DTensor::scalar(1.0, &dev())).unwrap();
    let d = TransformedDistribution::with(
        scalar.boxed(),
        AffineTransform::new(t(&[0.0, 1.0, 2.0]), t(&[1.0])),
    )
    .unwrap();
    assert_eq!(d.batch_shape(), vec![3]);
    assert_eq!(d.sample().shape(), &[3]);
    let base = Normal::new(t(&[0.0, 0.0]), t(&[1.0, 1.0]))
        .unwrap()
        .to_event(1);
    let d = TransformedDistribution::with(base.boxed(), ExpTransform).unwrap();
    assert_eq!((d.batch_shape(), d.event_shape()), (vec![], vec![2]));
    let want = ln_normal(0.0, 1.0, 0.0) + ln_normal(0.0, 1.0, 2f64.ln()) - 2f64.ln();
    assert_close(
        &d.log_prob(&t(&[1.0, 2.0])).unwrap().to_vec(),
        &[want],
        "event Exp",
    );
}

#[test]
fn transformed_draws_and_gradients() {
    lobes_ppl::rng::set_rng_seed(17);
    let base = Normal::new(full(&[DRAWS], 0.2), full(&[DRAWS], 0.5)).unwrap();
    let d = TransformedDistribution::with(base.boxed(), ExpTransform).unwrap();
    assert!(d.has_rsample());
    let (m, _) = mean_var(&d.sample().to_vec());
    let want = (0.2f64 + 0.125).exp();
    assert!((m - want).abs() < 0.02, "exp(Normal) mean {m} vs {want}");
    let base = Normal::new(full(&[DRAWS], 0.0), full(&[DRAWS], 1.0)).unwrap();
    let d = TransformedDistribution::with(base.boxed(), SigmoidTransform).unwrap();
    let v = d.sample().to_vec();
    let (m, _) = mean_var(&v);
    assert!(
        (m - 0.5).abs() < 0.01 && v.iter().all(|&x| x > 0.0 && x < 1.0),
        "{m}"
    );
    // Poisson has no rsample, so neither does its transform.
    let d = TransformedDistribution::with(Poisson::new(t(&[1.0])).unwrap().boxed(), ExpTransform)
        .unwrap();
    assert!(!d.has_rsample() && d.rsample().is_err());

    let dev = Device::flex().autodiff();
    let loc = DTensor::full(&[2], 0.5, &dev).require_grad();
    let n = Normal::new(loc.clone(), DTensor::full(&[2], 1.0, &dev)).unwrap();
    let d = TransformedDistribution::with(n.boxed(), SoftplusTransform).unwrap();
    let y = d.rsample().unwrap();
    let g = y.sum().backward();
    // d softplus(x) / d loc = σ(x), x = softplus⁻¹(y).
    let want: Vec<f64> = y
        .to_vec()
        .iter()
        .map(|&y| 1.0 - (-(y as f64)).exp())
        .collect();
    assert_close_tol(
        &loc.grad(&g).unwrap().to_vec(),
        &want,
        1e-4,
        "Softplus d/dloc",
    );
}

#[test]
fn multivariate_normal_from_a_covariance_matrix() {
    // Σ = L Lᵀ for a known L, batched [2]; the factor comes back as L.
    let l = [2.0, 0.0, 0.0, -1.0, 0.5, 0.0, 0.5, 0.3, 1.0];
    let l2 = [1.0, 0.0, 0.0, 0.2, 1.5, 0.0, -0.7, 0.1, 0.4];
    let cov = |l: &[f64; 9]| -> Vec<f64> {
        (0..9)
            .map(|n| {
                (0..3)
                    .map(|k| l[3 * (n / 3) + k] * l[3 * (n % 3) + k])
                    .sum()
            })
            .collect()
    };
    let covs = [cov(&l), cov(&l2)].concat();
    let d = MultivariateNormal::from_covariance_matrix(t(&[0.0, 1.0, -1.0]), ts(&covs, &[2, 3, 3]))
        .unwrap();
    assert_eq!((d.batch_shape(), d.event_shape()), (vec![2], vec![3]));
    assert_close_tol(&d.scale_tril.to_vec(), &[l, l2].concat(), 1e-5, "cholesky");
    let back = d.covariance_matrix().unwrap();
    assert_close_tol(&back.to_vec(), &covs, 1e-5, "L Lᵀ");
    let by_tril =
        MultivariateNormal::new(t(&[0.0, 1.0, -1.0]), ts(&[l, l2].concat(), &[2, 3, 3])).unwrap();
    let x = t(&[0.3, 0.2, -0.5]);
    assert_close_tol(
        &d.log_prob(&x).unwrap().to_vec(),
        &by_tril
            .log_prob(&x)
            .unwrap()
            .to_vec()
            .iter()
            .map(|&v| v as f64)
            .collect::<Vec<_>>(),
        1e-5,
        "log_prob from covariance",
    );

    let e = MultivariateNormal::from_covariance_matrix(
        t(&[0.0, 0.0]),
        ts(&[1.0, 2.0, 2.0, 1.0], &[2, 2]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with(
            "invalid MultivariateNormal parameter 'covariance_matrix': must be positive definite"
        ),
        "{e}"
    );
    let e = MultivariateNormal::from_covariance_matrix(
        t(&[0.0, 0.0]),
        ts(&[1.0, 0.5, 0.0, 1.0], &[2, 2]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("'covariance_matrix': must be symmetric"), "{e}");

    // Gradients reach the covariance: at x = μ, log_prob = -½ ln det Σ + const, whose
    // derivative in a diagonal entry of a diagonal Σ is -1 / (2 Σ_ii).
    let dev = Device::flex().autodiff();
    let c = DTensor::from_floats(vec![4.0, 0.0, 0.0, 0.25], &[2, 2], &dev)
        .unwrap()
        .require_grad();
    let m =
        MultivariateNormal::from_covariance_matrix(DTensor::zeros(&[2], &dev), c.clone()).unwrap();
    let g = m
        .log_prob(&DTensor::zeros(&[2], &dev))
        .unwrap()
        .sum()
        .backward();
    let g = c.grad(&g).unwrap().to_vec();
    assert_close(&[g[0], g[3]], &[-0.125, -2.0], "d log_prob / d diag Σ");
}

#[test]
fn kl_registry_covers_the_new_pairs() {
    let kl = |p: &dyn Distribution, q: &dyn Distribution| -> Vec<f32> {
        kl_divergence(p, q).unwrap().unwrap().to_vec()
    };
    let (a, b) = (t(&[0.5, 2.0]), t(&[1.5, 1.0]));
    let want: Vec<f64> = [(0.5, 1.5), (2.0, 1.0)]
        .iter()
        .map(|&(p, q): &(f64, f64)| (p / q).ln() + q / p - 1.0)
        .collect();
    let got = kl(
        &Exponential::new(a.clone()).unwrap(),
        &Exponential::new(b.clone()).unwrap(),
    );
    assert_close(&got, &want, "KL Exponential");
    let want: Vec<f64> = [(0.5, 1.5), (2.0, 1.0)]
        .iter()
        .map(|&(p, q): &(f64, f64)| p * (p / q).ln() - p + q)
        .collect();
    let got = kl(
        &Poisson::new(a.clone()).unwrap(),
        &Poisson::new(b.clone()).unwrap(),
    );
    assert_close(&got, &want, "KL Poisson");
    let want: Vec<f64> = [(0.5, 1.5), (2.0, 1.0)]
        .iter()
        .map(|&(p, q): &(f64, f64)| (q / p).ln() + (p * p / (q * q) - 1.0) / 2.0)
        .collect();
    let got = kl(
        &HalfNormal::new(a.clone()).unwrap(),
        &HalfNormal::new(b.clone()).unwrap(),
    );
    assert_close(&got, &want, "KL HalfNormal");
    let got = kl(
        &Cauchy::new(t(&[0.0]), t(&[1.0])).unwrap(),
        &Cauchy::new(t(&[1.0]), t(&[2.0])).unwrap(),
    );
    assert_close(&got, &[(10f64).ln() - 8f64.ln()], "KL Cauchy");

    // MultivariateNormal against a Monte Carlo estimate and against the closed form for
    // diagonal factors (a sum of Normal KLs).
    lobes_ppl::rng::set_rng_seed(18);
    let p = MultivariateNormal::new(t(&[0.5, -0.5]), ts(&[1.0, 0.0, 0.6, 0.8], &[2, 2])).unwrap();
    let q = MultivariateNormal::new(t(&[0.0, 0.3]), ts(&[1.5, 0.0, -0.4, 0.7], &[2, 2])).unwrap();
    let got = kl(&p, &q)[0] as f64;
    let pe = p.clone().expand(&[DRAWS]).unwrap();
    let x = pe.sample();
    let mc = pe
        .log_prob(&x)
        .unwrap()
        .sub(&q.log_prob(&x).unwrap())
        .mean()
        .item() as f64;
    assert!((got - mc).abs() < 0.05, "KL MVN {got} vs Monte Carlo {mc}");
    assert!(kl(&p, &p)[0].abs() < 1e-5);
    let pd = MultivariateNormal::new(ts(&[0.3, -1.0], &[2]), ts(&[0.7, 0.0, 0.0, 2.0], &[2, 2]))
        .unwrap();
    let qd = MultivariateNormal::new(
        ts(&[0.0, 0.5, 1.0, 1.0], &[2, 2]),
        ts(&[1.0, 0.0, 0.0, 1.5], &[2, 2]),
    )
    .unwrap();
    let got = kl(&pd, &qd);
    assert_eq!(got.len(), 2, "batch shapes broadcast");
    let nk = |m1: f64, s1: f64, m2: f64, s2: f64| {
        (s2 / s1).ln() + (s1 * s1 + (m1 - m2).powi(2)) / (2.0 * s2 * s2) - 0.5
    };
    let want = [
        nk(f(0.3), f(0.7), 0.0, 1.0) + nk(-1.0, 2.0, 0.5, 1.5),
        nk(f(0.3), f(0.7), 1.0, 1.0) + nk(-1.0, 2.0, 1.0, 1.5),
    ];
    assert_close(&got, &want, "KL MVN diagonal");
}
