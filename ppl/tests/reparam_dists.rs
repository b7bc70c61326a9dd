//! Reparameterised Gamma, Beta and Dirichlet (implicit reparameterisation gradients, as
//! torch's `_standard_gamma`), the digamma function, the Gamma/Beta/Dirichlet KL pairs, and
//! Pyro's coin-fairness tutorial (issue #12, "Pyro parity").

use lobes_ppl::dist::{digamma, kl_divergence};
use lobes_ppl::infer::{Elbo, Svi, TraceElbo, TraceMeanFieldElbo};
use lobes_ppl::optim::Adam;
use lobes_ppl::prelude::*;
use lobes_ppl::{ParamStore, with_param_store};
use statrs::distribution::Continuous;
use statrs::function::gamma::{digamma as digamma_ref, gamma_lr, ln_gamma};

fn dev() -> Device {
    Device::flex()
}

fn ad() -> Device {
    Device::flex().autodiff()
}

fn s(v: f64) -> DTensor {
    DTensor::scalar(v as f32, &dev())
}

fn t(v: &[f64]) -> DTensor {
    DTensor::from_floats(v.iter().map(|&x| x as f32).collect(), &[v.len()], &dev()).unwrap()
}

/// A value rounded to f32 and back, so tensors and the reference see the same input.
fn f(x: f64) -> f64 {
    x as f32 as f64
}

/// A scalar leaf on the autodiff device whose gradient is retained.
fn leaf(v: f64) -> DTensor {
    DTensor::scalar(v as f32, &ad()).require_grad()
}

// ---------------------------------------------------------------- implicit Gamma gradients

/// `dx/dα` at a fixed quantile of Gamma(α, 1), from the CDF: `-(∂P/∂α)(α, x) / pdf(x; α)`,
/// with `∂P/∂α` a central difference of statrs's regularised incomplete gamma in f64.
fn quantile_derivative(alpha: f64, x: f64) -> f64 {
    let h = 1e-5 * alpha.max(1.0);
    let dp = (gamma_lr(alpha + h, x) - gamma_lr(alpha - h, x)) / (2.0 * h);
    let pdf = statrs::distribution::Gamma::new(alpha, 1.0).unwrap().pdf(x);
    -dp / pdf
}

#[test]
fn gamma_rsample_gradient_is_the_fixed_quantile_derivative() {
    // Every regime of torch's approximation: small x (Taylor series), large α (Rice's
    // saddle point, near and away from the mode) and the rational approximation between.
    lobes_ppl::rng::set_rng_seed(121);
    let alphas = [0.05, 0.3, 1.0, 2.5, 7.5, 9.0, 30.0, 200.0];
    let per = 200;
    let mut worst = 0.0f64;
    for &a in &alphas {
        let alpha = leaf(a);
        let g = Gamma::new(alpha.clone(), DTensor::ones(&[per], &ad())).unwrap();
        assert!(g.has_rsample());
        let x = g.rsample().unwrap();
        assert_eq!(x.shape(), &[per]);
        // All draws share the leaf, so its gradient is Σᵢ dxᵢ/dα; single draws are below.
        let grads = x.sum().backward();
        let got = alpha.grad(&grads).unwrap().item() as f64;
        let xs = x.to_vec();
        let want: f64 = xs
            .iter()
            .map(|&xi| quantile_derivative(f(a), xi as f64))
            .sum();
        let rel = (got - want).abs() / want.abs();
        worst = worst.max(rel);
        assert!(
            rel < 2e-3,
            "α = {a}: Σ dx/dα {got} vs {want} (rel {rel:.2e})"
        );
    }
    // Draw by draw, for a few (α, x) pairs.
    for &a in &[0.3, 4.0, 20.0] {
        for _ in 0..20 {
            let alpha = leaf(a);
            let x = Gamma::new(alpha.clone(), s(1.0).autodiff())
                .unwrap()
                .rsample()
                .unwrap();
            let got = alpha.grad(&x.backward()).unwrap().item() as f64;
            let want = quantile_derivative(f(a), x.item() as f64);
            assert!(
                (got - want).abs() <= 5e-3 * want.abs() + 1e-6,
                "α = {a}, x = {}: dx/dα {got} vs {want}",
                x.item()
            );
        }
    }
    eprintln!("worst relative error of Σ dx/dα: {worst:.2e}");
}

#[test]
fn gamma_rsample_values_follow_the_distribution_and_the_rate_scales_them() {
    lobes_ppl::rng::set_rng_seed(122);
    let n = 40_000;
    let g = Gamma::new(DTensor::full(&[n], 3.0, &dev()), s(2.0)).unwrap();
    let v = g.rsample().unwrap().to_vec();
    let m = v.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
    let var = v.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / n as f64;
    assert!((m - 1.5).abs() < 0.02, "mean {m}");
    assert!((var - 0.75).abs() < 0.03, "variance {var}");
    assert!(v.iter().all(|&x| x > 0.0));
    // A tiny concentration underflows f32; the draw is floored at the smallest normal float.
    let tiny = Gamma::new(DTensor::full(&[1000], 0.01, &dev()), s(1.0))
        .unwrap()
        .rsample()
        .unwrap();
    assert!(tiny.all_gt(0.0) && tiny.all_finite());
}

#[test]
fn gamma_rsample_mean_gradients_match_the_mean_s_derivatives() {
    // E[x] = α/β: d/dα = 1/β, d/dβ = -α/β².
    lobes_ppl::rng::set_rng_seed(123);
    let n = 40_000;
    let (a, b) = (2.5, 2.0);
    let (alpha, rate) = (leaf(a), leaf(b));
    let x = Gamma::new(alpha.clone(), rate.clone())
        .unwrap()
        .expand(&[n])
        .unwrap()
        .rsample()
        .unwrap();
    let grads = x.mean().backward();
    let da = alpha.grad(&grads).unwrap().item() as f64;
    let db = rate.grad(&grads).unwrap().item() as f64;
    assert!((da - 1.0 / b).abs() < 0.02 / b, "dE/dα {da} vs {}", 1.0 / b);
    let want = -a / (b * b);
    assert!(
        (db - want).abs() < 0.02 * want.abs(),
        "dE/dβ {db} vs {want}"
    );
}

#[test]
fn beta_rsample_mean_gradients_match_the_mean_s_derivatives() {
    // E[x] = a/(a+b): d/da = b/(a+b)², d/db = -a/(a+b)².
    lobes_ppl::rng::set_rng_seed(124);
    let n = 40_000;
    for (a, b) in [(2.0, 3.0), (0.5, 0.7), (15.0, 15.0)] {
        let (c1, c0) = (leaf(a), leaf(b));
        let d = Beta::new(c1.clone(), c0.clone()).unwrap();
        assert!(d.has_rsample());
        let x = d.expand(&[n]).unwrap().rsample().unwrap();
        let v = x.to_vec();
        assert!(v.iter().all(|&x| x > 0.0 && x < 1.0));
        let m = v.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
        assert!((m - a / (a + b)).abs() < 0.01, "Beta({a}, {b}) mean {m}");
        let grads = x.mean().backward();
        let da = c1.grad(&grads).unwrap().item() as f64;
        let db = c0.grad(&grads).unwrap().item() as f64;
        let s2 = (a + b) * (a + b);
        let (wa, wb) = (b / s2, -a / s2);
        assert!(
            (da - wa).abs() < 0.03 * wa.abs(),
            "Beta({a}, {b}) dE/da {da} vs {wa}"
        );
        assert!(
            (db - wb).abs() < 0.03 * wb.abs(),
            "Beta({a}, {b}) dE/db {db} vs {wb}"
        );
    }
}

#[test]
fn dirichlet_rsample_mean_gradients_match_the_mean_s_derivatives() {
    // E[x₀] = α₀/Σα: d/dαⱼ = (δ₀ⱼ Σα - α₀) / (Σα)².
    lobes_ppl::rng::set_rng_seed(125);
    let n = 40_000;
    let alpha = [1.0, 2.0, 3.0];
    let conc = DTensor::from_floats(vec![1.0, 2.0, 3.0], &[3], &ad())
        .unwrap()
        .require_grad();
    let d = Dirichlet::new(conc.clone()).unwrap();
    assert!(d.has_rsample());
    let x = d.expand(&[n]).unwrap().rsample().unwrap();
    assert_eq!(x.shape(), &[n, 3]);
    let rows: Vec<f32> = x.sum_rightmost(1).to_vec();
    assert!(
        rows.iter().all(|&r| (r - 1.0).abs() < 1e-5),
        "rows sum to one"
    );
    let first = DTensor::from_floats(vec![1.0, 0.0, 0.0], &[3], &ad()).unwrap();
    let grads = x.mul(&first).sum().mul_scalar(1.0 / n as f64).backward();
    let got = conc.grad(&grads).unwrap().to_vec();
    let total: f64 = alpha.iter().sum();
    for (j, &g) in got.iter().enumerate() {
        let want = (if j == 0 { total } else { 0.0 } - alpha[0]) / (total * total);
        assert!(
            (g as f64 - want).abs() < 0.03 * want.abs(),
            "dE[x0]/dα{j}: {g} vs {want}"
        );
    }
}

#[test]
fn sample_stays_cut_from_the_graph() {
    let alpha = leaf(2.0);
    let g = Gamma::new(alpha.clone(), s(1.0).autodiff()).unwrap();
    assert!(!g.sample().is_tracked());
    let b = Beta::new(alpha.clone(), alpha.clone()).unwrap();
    assert!(!b.sample().is_tracked());
    assert!(b.rsample().unwrap().is_tracked());
}

// ---------------------------------------------------------------- digamma

#[test]
fn digamma_matches_statrs() {
    let xs: Vec<f64> = [
        1e-3, 0.01, 0.1, 0.25, 0.5, 0.9, 1.0, 1.5, 2.0, 3.7, 5.9, 6.0, 10.0, 42.0, 1e3, 1e5,
    ]
    .iter()
    .map(|&x| f(x))
    .collect();
    let got = digamma(&t(&xs)).to_vec();
    for (x, g) in xs.iter().zip(&got) {
        let want = digamma_ref(*x);
        // f32 arithmetic: relative error near 1e-6, absolute near the root ψ(1.4616) = 0.
        assert!(
            (*g as f64 - want).abs() <= 2e-6 * want.abs().max(1.0),
            "ψ({x}) = {g}, want {want}"
        );
    }
    // ψ(1) = -γ.
    assert!((digamma(&s(1.0)).item() as f64 + 0.577_215_664_9).abs() < 1e-6);
}

#[test]
fn digamma_is_the_derivative_of_lgamma_and_differentiable() {
    let x = DTensor::from_floats(vec![0.3, 1.7, 8.0], &[3], &ad())
        .unwrap()
        .require_grad();
    let g = x.grad(&x.lgamma().sum().backward()).unwrap().to_vec();
    let psi = digamma(&x).to_vec();
    for i in 0..3 {
        assert!((g[i] - psi[i]).abs() < 1e-4, "{} vs {}", g[i], psi[i]);
    }
    // Its gradient is the trigamma function: ψ'(1) = π²/6.
    let one = leaf(1.0);
    let tri = one.grad(&digamma(&one).backward()).unwrap().item() as f64;
    assert!(
        (tri - std::f64::consts::PI.powi(2) / 6.0).abs() < 1e-4,
        "{tri}"
    );
}

// ---------------------------------------------------------------- KL divergences

/// `∫ p ln(p/q)` by the midpoint rule on `n` cells of `[lo, hi]` after the substitution
/// that `map` describes (`x = map(u)`, with `dx/du = jac(u)`).
fn quadrature(
    lo: f64,
    hi: f64,
    n: usize,
    map: impl Fn(f64) -> (f64, f64),
    lp: impl Fn(f64) -> f64,
    lq: impl Fn(f64) -> f64,
) -> f64 {
    let h = (hi - lo) / n as f64;
    (0..n)
        .map(|i| {
            let (x, jac) = map(lo + (i as f64 + 0.5) * h);
            let (a, b) = (lp(x), lq(x));
            a.exp() * (a - b) * jac * h
        })
        .sum()
}

fn beta_ln_pdf(a: f64, b: f64, x: f64) -> f64 {
    (a - 1.0) * x.ln() + (b - 1.0) * (1.0 - x).ln() - ln_gamma(a) - ln_gamma(b) + ln_gamma(a + b)
}

fn beta_kl_quadrature(a: f64, b: f64, c: f64, d: f64) -> f64 {
    // x = (1 - cos πu)/2 clusters the nodes at both ends, where a Beta with a concentration
    // below one is unbounded.
    let pi = std::f64::consts::PI;
    quadrature(
        0.0,
        1.0,
        200_000,
        |u| ((1.0 - (pi * u).cos()) / 2.0, pi * (pi * u).sin() / 2.0),
        |x| beta_ln_pdf(a, b, x),
        |x| beta_ln_pdf(c, d, x),
    )
}

#[test]
fn kl_beta_beta_matches_quadrature() {
    let pairs = [
        (15.0, 15.0, 10.0, 10.0),
        (2.0, 3.0, 1.0, 1.0),
        (0.7, 1.3, 2.5, 0.9),
        (16.0, 14.0, 10.0, 10.0),
    ];
    let col = |i: usize| {
        t(&pairs
            .iter()
            .map(|p| [p.0, p.1, p.2, p.3][i])
            .collect::<Vec<_>>())
    };
    let p = Beta::new(col(0), col(1)).unwrap();
    let q = Beta::new(col(2), col(3)).unwrap();
    let got = kl_divergence(&p, &q).unwrap().unwrap().to_vec();
    for (g, &(a, b, c, d)) in got.iter().zip(&pairs) {
        let want = beta_kl_quadrature(f(a), f(b), f(c), f(d));
        assert!(
            (*g as f64 - want).abs() < 2e-5 + 2e-4 * want,
            "KL(Beta({a}, {b}) ‖ Beta({c}, {d})) = {g}, want {want}"
        );
    }
    // Broadcasting: a scalar prior against a batch of guides.
    let k = kl_divergence(&p, &Beta::new(s(10.0), s(10.0)).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(k.shape(), &[4]);
    assert!(kl_divergence(&p, &p).unwrap().unwrap().all_le(1e-5));
}

#[test]
fn kl_gamma_gamma_matches_quadrature() {
    let pairs = [
        (2.0, 1.0, 3.0, 2.0),
        (0.8, 0.5, 1.2, 1.5),
        (10.0, 4.0, 9.0, 3.0),
    ];
    for (a, b, c, d) in pairs {
        let p = Gamma::new(s(a), s(b)).unwrap();
        let q = Gamma::new(s(c), s(d)).unwrap();
        let got = kl_divergence(&p, &q).unwrap().unwrap().item() as f64;
        let ln_pdf = |al: f64, be: f64| {
            move |x: f64| al * be.ln() + (al - 1.0) * x.ln() - be * x - ln_gamma(al)
        };
        // x = e^u on a wide log grid covers both tails.
        let want = quadrature(
            -40.0,
            6.0,
            200_000,
            |u| (u.exp(), u.exp()),
            ln_pdf(a, b),
            ln_pdf(c, d),
        );
        assert!(
            (got - want).abs() < 2e-5 + 2e-4 * want,
            "KL(Gamma({a}, {b}) ‖ Gamma({c}, {d})) = {got}, want {want}"
        );
    }
}

#[test]
fn kl_dirichlet_dirichlet_matches_the_closed_form_and_beta() {
    // Two categories: a Dirichlet is a Beta.
    let p = Dirichlet::new(t(&[2.0, 3.0])).unwrap();
    let q = Dirichlet::new(t(&[1.0, 1.0])).unwrap();
    let got = kl_divergence(&p, &q).unwrap().unwrap();
    assert_eq!(got.shape(), &[] as &[usize]);
    let want = beta_kl_quadrature(2.0, 3.0, 1.0, 1.0);
    assert!(
        (got.item() as f64 - want).abs() < 2e-5,
        "{} vs {want}",
        got.item()
    );

    // Three categories in a batch of two, against one prior, in f64 with statrs.
    let ap = [[1.0, 2.0, 3.0], [0.5, 0.5, 4.0]];
    let aq = [2.0, 2.0, 2.0];
    let p = Dirichlet::new(
        DTensor::from_floats(
            ap.iter().flatten().map(|&x| x as f32).collect(),
            &[2, 3],
            &dev(),
        )
        .unwrap(),
    )
    .unwrap();
    let q = Dirichlet::new(t(&aq)).unwrap();
    let got = kl_divergence(&p, &q).unwrap().unwrap().to_vec();
    assert_eq!(got.len(), 2);
    for (g, a) in got.iter().zip(&ap) {
        let (sp, sq) = (a.iter().sum::<f64>(), aq.iter().sum::<f64>());
        let mut want = ln_gamma(sp) - ln_gamma(sq);
        for k in 0..3 {
            want += ln_gamma(aq[k]) - ln_gamma(a[k])
                + (a[k] - aq[k]) * (digamma_ref(a[k]) - digamma_ref(sp));
        }
        assert!(
            (*g as f64 - want).abs() < 2e-5 + 2e-4 * want,
            "KL Dirichlet {g} vs {want}"
        );
    }
    // And a Monte Carlo check of the first: E_p[ln p - ln q] over 40k draws.
    lobes_ppl::rng::set_rng_seed(126);
    let p0 = Dirichlet::new(t(&ap[0])).unwrap();
    let draws = p0.clone().expand(&[40_000]).unwrap().sample();
    let lr = p0
        .log_prob(&draws)
        .unwrap()
        .sub(&q.log_prob(&draws).unwrap())
        .to_vec();
    let n = lr.len() as f64;
    let m = lr.iter().map(|&v| v as f64).sum::<f64>() / n;
    let sd = (lr.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / n).sqrt();
    assert!(
        (m - got[0] as f64).abs() < 4.0 * sd / n.sqrt(),
        "MC {m} vs {}",
        got[0]
    );
}

// A model whose only latent sites have Gamma, Beta and Dirichlet priors, and a guide of the
// same families with fixed parameters: with no observations, TraceMeanField_ELBO's ELBO is
// exactly -ΣKL, with no sampling noise, iff it found the closed forms.
fn kl_model(_: &()) -> Result<()> {
    sample::<DTensor>("f", Beta::new(s(10.0), s(10.0))?)?;
    sample::<DTensor>("g", Gamma::new(s(2.0), s(1.0))?)?;
    sample::<DTensor>("d", Dirichlet::new(t(&[1.0, 1.0, 1.0]))?)?;
    Ok(())
}

fn kl_guide(_: &()) -> Result<()> {
    sample::<DTensor>("f", Beta::new(s(15.0), s(15.0))?)?;
    sample::<DTensor>("g", Gamma::new(s(3.0), s(2.0))?)?;
    sample::<DTensor>("d", Dirichlet::new(t(&[2.0, 3.0, 4.0]))?)?;
    Ok(())
}

#[test]
fn trace_mean_field_elbo_uses_the_gamma_beta_and_dirichlet_kls() {
    let kl = |p: &dyn Distribution, q: &dyn Distribution| {
        kl_divergence(p, q).unwrap().unwrap().item() as f64
    };
    let want = kl(
        &Beta::new(s(15.0), s(15.0)).unwrap(),
        &Beta::new(s(10.0), s(10.0)).unwrap(),
    ) + kl(
        &Gamma::new(s(3.0), s(2.0)).unwrap(),
        &Gamma::new(s(2.0), s(1.0)).unwrap(),
    ) + kl(
        &Dirichlet::new(t(&[2.0, 3.0, 4.0])).unwrap(),
        &Dirichlet::new(t(&[1.0, 1.0, 1.0])).unwrap(),
    );
    let mut store = ParamStore::new();
    for seed in [1, 2] {
        lobes_ppl::rng::set_rng_seed(seed);
        let est = with_param_store(&mut store, || {
            TraceMeanFieldElbo::default()
                .estimate(&kl_model, &kl_guide, &())
                .unwrap()
        });
        let elbo = est.elbo.item() as f64;
        assert!((elbo + want).abs() < 1e-5, "ELBO {elbo} vs -ΣKL {}", -want);
    }
}

// ---------------------------------------------------------------- the coin tutorial

/// Ten flips: six heads, four tails.
fn coin_data() -> DTensor {
    t(&[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
}

fn coin_model(data: &DTensor) -> Result<()> {
    let fairness: DTensor = sample("latent_fairness", Beta::new(s(10.0), s(10.0))?)?;
    plate("data", data.numel()).run(|_| {
        observe(
            "obs",
            Bernoulli::from_probs(fairness.clone())?,
            data.clone(),
        )
    })?;
    Ok(())
}

fn coin_guide(_data: &DTensor) -> Result<()> {
    let alpha_q: DTensor = param_constrained("alpha_q", s(15.0), Constraint::Positive)?;
    let beta_q: DTensor = param_constrained("beta_q", s(15.0), Constraint::Positive)?;
    sample::<DTensor>("latent_fairness", Beta::new(alpha_q, beta_q)?)?;
    Ok(())
}

/// Pyro's SVI tutorial, Part I (`tutorial/source/svi_part_i.ipynb`, "A simple example": is
/// the coin fair?): prior Beta(10, 10) on the fairness, six heads and four tails, a Beta guide
/// with `alpha_q = beta_q = 15` (constrained positive), `Adam(lr=0.0005, betas=(0.90,
/// 0.999))`, `Trace_ELBO` and 2000 steps. The tutorial prints "the fairness of the coin is
/// 0.532 +- 0.090"; the exact posterior is Beta(16, 14), whose mean is 16/30 = 0.5333 and
/// standard deviation 0.0896. (The tutorial observes each flip at its own site; one plate of
/// ten is the same ELBO.)
///
/// The bound is tight against the single run's noise: with seeds 0 to 7 the final fairness
/// ranges over 0.529 to 0.538 (seed 0, used here, gives 0.534; seeds 5 and 7 give 0.538).
#[test]
fn the_coin_tutorial_infers_a_fairness_of_0_532() {
    let data = coin_data();
    let optim = Adam::new(0.0005).with_betas(0.90, 0.999);
    let mut svi = Svi::new(coin_model, coin_guide, optim, TraceElbo::default()).with_seed(0, None);
    for _ in 0..2000 {
        svi.step(&data).unwrap();
    }
    let a = svi.store().get("alpha_q").unwrap().item() as f64;
    let b = svi.store().get("beta_q").unwrap().item() as f64;
    let mean = a / (a + b);
    let sd = (a * b / ((a + b).powi(2) * (a + b + 1.0))).sqrt();
    eprintln!("alpha_q = {a:.3}, beta_q = {b:.3}: fairness {mean:.3} +- {sd:.3}");
    assert!(
        (mean - 0.532).abs() <= 0.005,
        "inferred fairness {mean:.4} (alpha_q {a:.3}, beta_q {b:.3}), tutorial 0.532"
    );
    assert!(
        (sd - 0.090).abs() < 0.01,
        "posterior sd {sd:.4}, tutorial 0.090"
    );
}
