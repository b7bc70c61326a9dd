//! The distribution families of issue #30 against statrs or closed forms (log-densities at
//! several points, moments of seeded draws), and a user-defined support
//! (`Constraint::custom`) sampled by NUTS.

use lobes_ppl::constraints::Bijection;
use lobes_ppl::dist::{
    DistError, Gumbel, InverseGamma, LkjCholesky, Logistic, LowRankMultivariateNormal, Multinomial,
    NegativeBinomial, Pareto, VonMises, Weibull, ZeroInflated,
};
use lobes_ppl::infer::mcmc::{Mcmc, Nuts};
use lobes_ppl::prelude::*;
use statrs::distribution::{Continuous, Discrete};
use std::any::Any;
use std::f64::consts::PI;
use std::sync::Arc;

fn dev() -> Device {
    Device::flex()
}

fn t(v: &[f64]) -> DTensor {
    DTensor::from_floats(v.iter().map(|&x| x as f32).collect(), &[v.len()], &dev()).unwrap()
}

fn s(v: f64) -> DTensor {
    DTensor::scalar(v as f32, &dev())
}

fn close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (*g as f64 - w).abs() <= tol * w.abs().max(1.0),
            "{what}: {got:?} vs {want:?}"
        );
    }
}

fn mean(v: &[f32]) -> f64 {
    v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64
}

fn draws(d: &dyn Distribution, n: usize) -> Vec<f32> {
    lobes_ppl::rng::set_rng_seed(7);
    d.expand_batch(&[n]).unwrap().sample().to_vec()
}

#[test]
fn continuous_families_match_statrs() {
    let x = [0.3, 1.0, 2.5, 7.0];
    let lp = |d: &dyn Distribution| d.log_prob(&t(&x)).unwrap().to_vec();
    let want = |f: &dyn Fn(f64) -> f64| x.iter().map(|&v| f(v)).collect::<Vec<_>>();

    let g = statrs::distribution::Gumbel::new(1.0, 2.0).unwrap();
    close(
        &lp(&Gumbel::new(s(1.0), s(2.0)).unwrap()),
        &want(&|v| g.ln_pdf(v)),
        1e-5,
        "Gumbel",
    );
    let w = statrs::distribution::Weibull::new(1.5, 2.0).unwrap(); // (shape k, scale λ)
    close(
        &lp(&Weibull::new(s(2.0), s(1.5)).unwrap()),
        &want(&|v| w.ln_pdf(v)),
        1e-5,
        "Weibull",
    );
    let p = statrs::distribution::Pareto::new(0.2, 3.0).unwrap(); // (scale, shape)
    close(
        &lp(&Pareto::new(s(0.2), s(3.0)).unwrap()),
        &want(&|v| p.ln_pdf(v)),
        1e-5,
        "Pareto",
    );
    let ig = statrs::distribution::InverseGamma::new(2.5, 1.5).unwrap(); // (shape, rate)
    close(
        &lp(&InverseGamma::new(s(2.5), s(1.5)).unwrap()),
        &want(&|v| ig.ln_pdf(v)),
        1e-5,
        "InverseGamma",
    );
    // Logistic: e^(-z) / (s (1 + e^(-z))²).
    let logistic = |v: f64| {
        let z = (v - 1.0) / 0.5;
        -z - 2.0 * (1.0 + (-z).exp()).ln() - 0.5f64.ln()
    };
    close(
        &lp(&Logistic::new(s(1.0), s(0.5)).unwrap()),
        &want(&logistic),
        1e-5,
        "Logistic",
    );
    // VonMises with I0 by its series Σ (κ/2)^(2m) / (m!)².
    for kappa in [0.5, 2.0, 6.0] {
        let i0: f64 = (0..60)
            .scan(1.0, |term, m| {
                let out = *term;
                *term *= (kappa / 2.0) * (kappa / 2.0) / ((m + 1) as f64).powi(2);
                Some(out)
            })
            .sum();
        let vm = |v: f64| kappa * (v - 0.4).cos() - (2.0 * PI * i0).ln();
        close(
            &lp(&VonMises::new(s(0.4), s(kappa)).unwrap()),
            &want(&vm),
            2e-6,
            "VonMises",
        );
    }
}

#[test]
fn draws_have_the_right_moments() {
    let n = 20_000;
    let m = mean(&draws(&Gumbel::new(s(1.0), s(2.0)).unwrap(), n));
    assert!(
        (m - (1.0 + 2.0 * 0.577_215_66)).abs() < 0.06,
        "Gumbel mean {m}"
    );
    let m = mean(&draws(&Logistic::new(s(-1.0), s(0.5)).unwrap(), n));
    assert!((m + 1.0).abs() < 0.03, "Logistic mean {m}");
    // Weibull mean λ Γ(1 + 1/k): λ = 2, k = 1.5 gives 2 · 0.902745.
    let m = mean(&draws(&Weibull::new(s(2.0), s(1.5)).unwrap(), n));
    assert!((m - 1.805_49).abs() < 0.03, "Weibull mean {m}");
    // Pareto mean α s / (α - 1); InverseGamma mean β / (α - 1).
    let m = mean(&draws(&Pareto::new(s(0.2), s(4.0)).unwrap(), n));
    assert!((m - 0.8 / 3.0).abs() < 0.005, "Pareto mean {m}");
    let m = mean(&draws(&InverseGamma::new(s(4.0), s(3.0)).unwrap(), n));
    assert!((m - 1.0).abs() < 0.03, "InverseGamma mean {m}");
    // VonMises: the circular mean is loc, the mean resultant length I1(κ)/I0(κ) (0.6978 at κ = 2).
    let v = draws(&VonMises::new(s(2.5), s(2.0)).unwrap(), n);
    let (c, sn) = v.iter().fold((0.0, 0.0), |(c, sn), &x| {
        (c + (x as f64).cos(), sn + (x as f64).sin())
    });
    let (c, sn) = (c / n as f64, sn / n as f64);
    assert!((sn.atan2(c) - 2.5).abs() < 0.03 && ((c * c + sn * sn).sqrt() - 0.6978).abs() < 0.01);
    assert!(v.iter().all(|x| (-PI as f32..PI as f32).contains(x)));
}

#[test]
fn count_families_match_statrs_and_closed_forms() {
    let k = [0.0, 1.0, 3.0, 8.0];
    // torch counts successes before r failures (success probability p); statrs counts
    // failures before r successes: statrs(r, 1 - p).
    let nb = NegativeBinomial::from_probs(s(2.5), s(0.3)).unwrap();
    let sr = statrs::distribution::NegativeBinomial::new(2.5, 0.7).unwrap();
    let want: Vec<f64> = k.iter().map(|&v| sr.ln_pmf(v as u64)).collect();
    close(
        &nb.log_prob(&t(&k)).unwrap().to_vec(),
        &want,
        1e-5,
        "NegativeBinomial",
    );
    let m = mean(&draws(&nb, 20_000));
    assert!(
        (m - 2.5 * 0.3 / 0.7).abs() < 0.04,
        "NegativeBinomial mean {m}"
    );

    // Zero-inflated Poisson: P(0) = g + (1 - g) e^-λ, P(k) = (1 - g) Poisson(k).
    let (rate, gate) = (2.0, 0.25);
    let zip = ZeroInflated::poisson(s(rate), s(gate)).unwrap();
    let po = statrs::distribution::Poisson::new(rate).unwrap();
    let want: Vec<f64> = k
        .iter()
        .map(|&v| {
            if v == 0.0 {
                (gate + (1.0 - gate) * po.pmf(0)).ln()
            } else {
                (1.0 - gate).ln() + po.ln_pmf(v as u64)
            }
        })
        .collect();
    close(
        &zip.log_prob(&t(&k)).unwrap().to_vec(),
        &want,
        1e-5,
        "ZeroInflatedPoisson",
    );
    let d = draws(&zip, 20_000);
    let zeros = d.iter().filter(|&&x| x == 0.0).count() as f64 / 20_000.0;
    assert!(
        (zeros - (gate + (1.0 - gate) * (-rate).exp())).abs() < 0.01,
        "zeros {zeros}"
    );

    // Over a continuous base (a Beta, no mass at a point): ln p(0) = ln g, ln p(x) =
    // ln(1 - g) + ln Beta(x) elsewhere, finite even where the Beta has no density at 0; a
    // fraction g of the draws are zeros.
    let (a, b, g) = (2.0, 3.0, 0.6);
    let zb = ZeroInflated::new(Beta::new(s(a), s(b)).unwrap().boxed(), s(g)).unwrap();
    let be = statrs::distribution::Beta::new(a, b).unwrap();
    let xs = [0.0, 0.3, 0.8];
    let want: Vec<f64> = xs
        .iter()
        .map(|&x| {
            if x == 0.0 {
                g.ln()
            } else {
                (1.0 - g).ln() + be.ln_pdf(x)
            }
        })
        .collect();
    close(
        &zb.log_prob(&t(&xs)).unwrap().to_vec(),
        &want,
        1e-5,
        "ZeroInflated(Beta)",
    );
    let d = draws(&zb, 20_000);
    let zeros = d.iter().filter(|&&x| x == 0.0).count() as f64 / 20_000.0;
    assert!((zeros - g).abs() < 0.015, "zeros {zeros}");
    assert!(d.iter().all(|&x| (0.0..1.0).contains(&x)));
    let zinb = ZeroInflated::negative_binomial(s(2.5), s(0.3), s(0.1)).unwrap();
    let lp0 = zinb.log_prob(&s(0.0)).unwrap().item() as f64;
    assert!((lp0 - (0.1 + 0.9 * sr.pmf(0)).ln()).abs() < 1e-5);
    assert_eq!(zinb.name(), "ZeroInflatedNegativeBinomial");

    // Multinomial: n! / Π x_i! Π p_i^x_i, probs normalised.
    let mn = Multinomial::from_probs(6, t(&[2.0, 1.0, 1.0])).unwrap();
    let x = t(&[3.0, 0.0, 3.0]);
    let want = (720.0f64 / (6.0 * 1.0 * 6.0)).ln() + 3.0 * 0.5f64.ln() + 3.0 * 0.25f64.ln();
    let lp = mn.log_prob(&x).unwrap();
    assert_eq!(lp.shape(), &[] as &[usize], "one log-probability per event");
    close(&lp.to_vec(), &[want], 1e-5, "Multinomial");
    let d = draws(&mn, 5_000);
    assert!(d.chunks(3).all(|c| c.iter().sum::<f32>() == 6.0));
    let first = d.chunks(3).map(|c| c[0] as f64).sum::<f64>() / 5_000.0;
    assert!(
        (first - 3.0).abs() < 0.06,
        "Multinomial first-category mean {first}"
    );
    let e = mn.check_support(&t(&[3.0, 0.0, 2.0])).unwrap_err();
    assert!(matches!(e, DistError::Support { .. }), "{e}");
}

#[test]
fn low_rank_multivariate_normal_is_its_full_covariance() {
    // W = [[1, 0.5], [0, 1], [2, -1]] (D = 3, R = 2), d = (0.5, 1, 2).
    let w = DTensor::from_floats(vec![1.0, 0.5, 0.0, 1.0, 2.0, -1.0], &[3, 2], &dev()).unwrap();
    let d = LowRankMultivariateNormal::new(t(&[0.0, 1.0, -1.0]), w, t(&[0.5, 1.0, 2.0])).unwrap();
    let cov = [[1.75, 0.5, 1.5], [0.5, 2.0, -1.0], [1.5, -1.0, 7.0]];
    close(
        &d.covariance_matrix().unwrap().to_vec(),
        &cov.concat(),
        1e-6,
        "covariance",
    );
    // log N(x; m, Σ) by the explicit inverse and determinant of the 3 × 3 covariance.
    let x = [0.5, 0.2, 1.0];
    let r = [x[0] - 0.0, x[1] - 1.0, x[2] + 1.0];
    let det = cov[0][0] * (cov[1][1] * cov[2][2] - cov[1][2] * cov[2][1])
        - cov[0][1] * (cov[1][0] * cov[2][2] - cov[1][2] * cov[2][0])
        + cov[0][2] * (cov[1][0] * cov[2][1] - cov[1][1] * cov[2][0]);
    let cof = |i: usize, j: usize| {
        let (a, b) = (
            [0, 1, 2]
                .iter()
                .copied()
                .filter(|&k| k != i)
                .collect::<Vec<_>>(),
            [0, 1, 2]
                .iter()
                .copied()
                .filter(|&k| k != j)
                .collect::<Vec<_>>(),
        );
        let m = cov[a[0]][b[0]] * cov[a[1]][b[1]] - cov[a[0]][b[1]] * cov[a[1]][b[0]];
        if (i + j).is_multiple_of(2) { m } else { -m }
    };
    let quad: f64 = (0..3)
        .flat_map(|i| (0..3).map(move |j| (i, j)))
        .map(|(i, j)| r[i] * cof(j, i) / det * r[j])
        .sum();
    let want = -0.5 * quad - 0.5 * det.ln() - 1.5 * (2.0 * PI).ln();
    close(
        &d.log_prob(&t(&x)).unwrap().to_vec(),
        &[want],
        1e-5,
        "LowRankMultivariateNormal",
    );
    // Draws: covariance of 40k rsamples.
    let v = draws(&d, 40_000);
    let m2 = |i: usize, j: usize, mi: f64, mj: f64| {
        v.chunks(3)
            .map(|c| (c[i] as f64 - mi) * (c[j] as f64 - mj))
            .sum::<f64>()
            / 40_000.0
    };
    assert!((m2(0, 2, 0.0, -1.0) - 1.5).abs() < 0.08 && (m2(2, 2, -1.0, -1.0) - 7.0).abs() < 0.25);
}

#[test]
fn lkj_cholesky_normalises_and_draws_correlation_factors() {
    // D = 2: L = [[1, 0], [ρ, √(1 - ρ²)]], density in ρ ∝ (1 - ρ²)^(η - 1): integrates to 1.
    for eta in [0.7, 1.0, 3.0] {
        let n = 4000;
        let rho: Vec<f64> = (0..n)
            .map(|i| -1.0 + 2.0 * (i as f64 + 0.5) / n as f64)
            .collect();
        let l: Vec<f32> = rho
            .iter()
            .flat_map(|&r| [1.0, 0.0, r as f32, (1.0 - r * r).sqrt() as f32])
            .collect();
        let lp = LkjCholesky::new(2, s(eta))
            .unwrap()
            .log_prob(&DTensor::from_floats(l, &[n, 2, 2], &dev()).unwrap())
            .unwrap();
        assert_eq!(lp.shape(), &[n]);
        let mass: f64 = lp
            .to_vec()
            .iter()
            .map(|&v| (v as f64).exp() * 2.0 / n as f64)
            .sum();
        assert!((mass - 1.0).abs() < 0.02, "η = {eta}: mass {mass}");
    }
    // D = 3, η = 2: L Lᵀ has a unit diagonal; ρ_ij ~ 2 Beta(β, β) - 1 with β = η - 1 + D/2,
    // variance 1 / (2β + 1) = 1/6.
    let v = draws(&LkjCholesky::new(3, s(2.0)).unwrap(), 20_000);
    let (mut var, mut diag_err) = ([0.0; 3], 0.0f64);
    for l in v.chunks(9) {
        let row = |i: usize| [l[3 * i] as f64, l[3 * i + 1] as f64, l[3 * i + 2] as f64];
        let dot = |a: [f64; 3], b: [f64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
        for (k, (i, j)) in [(0, 1), (0, 2), (1, 2)].into_iter().enumerate() {
            var[k] += dot(row(i), row(j)).powi(2) / 20_000.0;
        }
        diag_err = diag_err.max((dot(row(2), row(2)) - 1.0).abs());
    }
    // (With Beta(offset + 1/2, ..) over offsets [0, 0, 1, ...], as torch's source reads, row 2
    // would come from Beta(1.5, β - 1/2) and ρ02's variance be 0.214.)
    for v in var {
        assert!(
            (v - 1.0 / 6.0).abs() < 0.01 && diag_err < 1e-5,
            "variances {var:?}, diag {diag_err}"
        );
    }
}

/// `(-1, 1)` through tanh: a user-defined support.
#[derive(Debug)]
struct OpenUnitInterval;

impl Bijection for OpenUnitInterval {
    fn name(&self) -> &'static str {
        "open_interval(-1, 1)"
    }
    fn transform(&self, u: &DTensor) -> DTensor {
        (u * 2.0).sigmoid() * 2.0 - 1.0
    }
    fn inverse(&self, x: &DTensor) -> DTensor {
        x.clamp(-1.0 + 1e-6, 1.0 - 1e-6).atanh()
    }
    fn log_abs_det_jacobian(&self, u: &DTensor) -> DTensor {
        (1.0 - self.transform(u).square()).log()
    }
    fn check(&self, x: &DTensor) -> bool {
        x.gt_scalar(-1.0).all_eq(1.0) && x.lt_scalar(1.0).all_eq(1.0)
    }
}

static OPEN: OpenUnitInterval = OpenUnitInterval;

/// A user's distribution on (-1, 1): `2 Beta(a, b) - 1`.
#[derive(Clone, Debug)]
struct SignedBeta {
    beta: Beta,
}

impl Distribution for SignedBeta {
    fn name(&self) -> String {
        "SignedBeta".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.beta.batch_shape()
    }
    fn sample(&self) -> DTensor {
        self.beta.sample() * 2.0 - 1.0
    }
    fn log_prob(&self, value: &DTensor) -> std::result::Result<DTensor, DistError> {
        Ok(self.beta.log_prob(&((value + 1.0) * 0.5))? - 2f64.ln())
    }
    fn expand_batch(
        &self,
        batch: &[usize],
    ) -> std::result::Result<Arc<dyn Distribution>, DistError> {
        let b = self.beta.expand_batch(batch)?;
        let beta = b.as_any().downcast_ref::<Beta>().unwrap().clone();
        Ok(Arc::new(SignedBeta { beta }))
    }
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::custom(&OPEN))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[test]
fn a_user_defined_support_is_sampled_through_its_bijection() {
    let model = |_: &()| -> Result<()> {
        let beta = Beta::new(s(2.0), s(5.0))?;
        sample::<DTensor>("r", SignedBeta { beta })?;
        Ok(())
    };
    let mut mcmc = Mcmc::new(Nuts::new(model))
        .num_warmup(300)
        .num_samples(1500)
        .seed(1);
    mcmc.run(&()).unwrap();
    let sm = mcmc.summary().unwrap();
    let r = sm.row("r").unwrap();
    // 2 E[Beta(2, 5)] - 1 = 2 · 2/7 - 1.
    let want = 4.0 / 7.0 - 1.0;
    assert!(
        (r.mean - want).abs() < 4.0 * r.sd / r.ess_bulk.sqrt(),
        "{sm}"
    );
    assert!(r.q5 > -1.0 && r.q95 < 1.0);
    assert_eq!(
        Constraint::parse("open_interval(-1, 1)"),
        Some(Constraint::custom(&OPEN))
    );
}

#[test]
fn nuts_samples_an_lkj_cholesky_latent_through_corr_cholesky() {
    // L ~ LKJCholesky(3, 2) alone: each correlation (L Lᵀ)_ij is 2 Beta(2.5, 2.5) - 1, variance
    // 1/6. The sampler moves in unconstrained space through Constraint::CorrCholesky.
    let model = |_: &()| -> Result<()> {
        sample::<DTensor>("L", LkjCholesky::new(3, s(2.0))?)?;
        Ok(())
    };
    let mut mcmc = Mcmc::new(Nuts::new(model))
        .num_warmup(200)
        .num_samples(400)
        .num_chains(2)
        .seed(4);
    mcmc.run_parallel(&()).unwrap();
    let l = mcmc.get_samples().unwrap();
    let v = l.get("L").unwrap().to_vec();
    let n = v.len() / 9;
    for (i, j) in [(1, 0), (2, 0), (2, 1)] {
        let rho: Vec<f64> = v
            .chunks(9)
            .map(|m| {
                (0..3)
                    .map(|k| m[3 * i + k] as f64 * m[3 * j + k] as f64)
                    .sum()
            })
            .collect();
        let var = rho.iter().map(|r| r * r).sum::<f64>() / n as f64;
        assert!(
            (var - 1.0 / 6.0).abs() < 0.035,
            "var ρ{i}{j} = {var}, exact 1/6"
        );
    }
    assert!(mcmc.summary().unwrap().divergences() == 0);
    assert_eq!(
        Constraint::parse("corr_cholesky"),
        Some(Constraint::CorrCholesky)
    );
}
