//! Reparameterised Gamma, Beta and Dirichlet (implicit reparameterisation gradients, as
//! torch's `_standard_gamma`), issue #12, "Pyro parity".

use lobes_ppl::prelude::*;
use statrs::distribution::Continuous;
use statrs::function::gamma::gamma_lr;

fn dev() -> Device {
    Device::flex()
}

fn ad() -> Device {
    Device::flex().autodiff()
}

fn s(v: f64) -> DTensor {
    DTensor::scalar(v as f32, &dev())
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
