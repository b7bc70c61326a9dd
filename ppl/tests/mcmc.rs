//! NUTS and HMC (`lobes_ppl::infer::mcmc`) against known answers: ArviZ's diagnostics on fixed
//! chains, exact Gaussian moments, NumPyro's eight-schools posterior, a logistic regression
//! and a mixture with an enumerated discrete site against quadrature; errors that name the
//! site, plate or kernel. Reference numbers: `scripts/mcmc_reference.py`.

use lobes_ppl::handlers::config_enumerate;
use lobes_ppl::infer::Predictive;
use lobes_ppl::infer::autoguide::InitLoc;
use lobes_ppl::infer::mcmc::diagnostics::{ess_bulk, ess_tail, r_hat};
use lobes_ppl::infer::mcmc::{Hmc, Mcmc, Nuts, Summary};
use lobes_ppl::prelude::*;
use std::collections::HashMap;

use crate::support::*;

fn vec1(v: &[f32]) -> DTensor {
    DTensor::from_floats(v.to_vec(), &[v.len()], &dev()).unwrap()
}

/// `|mean - want| < k` Monte Carlo standard errors (sd / sqrt(bulk ESS)) plus `slack`.
fn close_mean(s: &Summary, name: &str, want: f64, k: f64, slack: f64) {
    let r = s.row(name).unwrap_or_else(|| panic!("no row {name}\n{s}"));
    let mcse = r.sd / r.ess_bulk.sqrt();
    assert!(
        (r.mean - want).abs() < k * mcse + slack,
        "{name}: mean {} vs {want} (mcse {mcse})\n{s}",
        r.mean
    );
}

#[test]
fn diagnostics_match_arviz() {
    // scripts/mcmc_reference.py diagnostics (ArviZ 0.23.4).
    let chains: Vec<Vec<f64>> = (0..4)
        .map(|c| {
            let mut x = 0.0;
            (0..200)
                .map(|i| {
                    let u = ((i * 7919 + c * 104729) % 1000) as f64 / 1000.0 - 0.5;
                    x = 0.7 * x + u;
                    x + 0.05 * c as f64
                })
                .collect()
        })
        .collect();
    for (got, want, what) in [
        (r_hat(&chains), 1.0115075067531734, "rhat"),
        (ess_bulk(&chains), 226.7136899745428, "ess_bulk"),
        (ess_tail(&chains), 408.1223252084319, "ess_tail"),
    ] {
        assert!(
            (got - want).abs() < 1e-6 * want,
            "{what}: {got} vs ArviZ {want}"
        );
    }
}

#[test]
fn nuts_recovers_a_correlated_gaussian() {
    // x ~ MVN(m, Σ), sd (1, 2), correlation 0.9: exact moments, dense and diagonal mass.
    let m = [1.0f32, -2.0];
    let (s1, s2, rho) = (1.0f32, 2.0f32, 0.9f32);
    let tril = DTensor::from_floats(
        vec![s1, 0.0, rho * s2, s2 * (1.0 - rho * rho).sqrt()],
        &[2, 2],
        &dev(),
    )
    .unwrap();
    let model = |_: &()| -> Result<()> {
        sample::<DTensor>("x", MultivariateNormal::new(vec1(&m), tril.clone())?)?;
        Ok(())
    };
    for dense in [false, true] {
        let mut mcmc = Mcmc::new(Nuts::new(model).dense_mass(dense))
            .num_warmup(400)
            .num_samples(1000)
            .num_chains(2)
            .seed(3);
        mcmc.run(&()).unwrap();
        let sm = mcmc.summary().unwrap();
        close_mean(&sm, "x[0]", 1.0, 4.0, 0.0);
        close_mean(&sm, "x[1]", -2.0, 4.0, 0.0);
        let x = mcmc.get_samples().unwrap().get("x").unwrap().to_vec();
        let n = x.len() / 2;
        let (a, b): (Vec<f64>, Vec<f64>) = (0..n)
            .map(|i| (x[2 * i] as f64 - 1.0, x[2 * i + 1] as f64 + 2.0))
            .unzip();
        let cov = a.iter().zip(&b).map(|(a, b)| a * b).sum::<f64>() / n as f64;
        let va = a.iter().map(|a| a * a).sum::<f64>() / n as f64;
        let vb = b.iter().map(|b| b * b).sum::<f64>() / n as f64;
        let corr = cov / (va * vb).sqrt();
        assert!(
            (va.sqrt() - 1.0).abs() < 0.12 && (vb.sqrt() - 2.0).abs() < 0.25,
            "dense {dense}: sds {} {}",
            va.sqrt(),
            vb.sqrt()
        );
        assert!(
            (corr - 0.9).abs() < 0.04,
            "dense {dense}: correlation {corr}"
        );
        assert_eq!(sm.divergences(), 0, "{sm}");
        assert!(sm.rows.iter().all(|r| r.r_hat < 1.05), "{sm}");
    }
}

const Y: [f32; 8] = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0];
const SIGMA: [f32; 8] = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0];

/// NumPyro's eight schools, non-centred (`theta = mu + tau * theta_base`).
fn eight_schools(y: &DTensor) -> Result<()> {
    let mu: DTensor = sample("mu", Normal::new(s(0.0), s(5.0))?)?;
    let tau: DTensor = sample("tau", HalfCauchy::new(s(5.0))?)?;
    plate("J", 8).run(|_| {
        let theta_base: DTensor = sample("theta_base", Normal::new(s(0.0), s(1.0))?)?;
        let theta = &mu + &tau * &theta_base;
        deterministic::<DTensor>("theta", theta.clone(), 0)?;
        observe("obs", Normal::new(theta, vec1(&SIGMA))?, y.clone())?;
        Ok(())
    })
}

#[test]
fn nuts_matches_numpyro_on_eight_schools() {
    // NumPyro 0.22 NUTS, 4 × 50,000 draws (scripts/mcmc_reference.py eight_schools).
    let y = vec1(&Y);
    let mut mcmc = Mcmc::new(Nuts::new(eight_schools))
        .num_warmup(300)
        .num_samples(600)
        .num_chains(2)
        .seed(0);
    mcmc.run_parallel(&y).unwrap();
    let sm = mcmc.summary().unwrap();
    close_mean(&sm, "mu", 4.3847, 4.0, 0.0);
    close_mean(&sm, "tau", 3.6104, 4.0, 0.0);
    for (name, sd, tol) in [("mu", 3.3259, 0.4), ("tau", 3.2317, 0.6)] {
        let r = sm.row(name).unwrap();
        assert!(
            (r.sd - sd).abs() < tol,
            "{name}: sd {} vs NumPyro {sd}\n{sm}",
            r.sd
        );
    }
    assert!(
        sm.rows.iter().all(|r| r.r_hat < 1.05 && r.ess_bulk > 200.0),
        "{sm}"
    );
    assert_eq!(sm.divergences(), 0, "{sm}");
    // Predictive from the posterior: the deterministic theta, per draw.
    let post = mcmc.get_samples().unwrap();
    let pred = Predictive::new(1200)
        .return_sites(["theta"])
        .from_samples(&eight_schools, &post, &y)
        .unwrap();
    let theta = pred.get("theta").unwrap();
    assert_eq!(theta.shape(), &[1200, 8]);
    let t0: f64 = theta
        .to_vec()
        .iter()
        .step_by(8)
        .map(|&v| v as f64)
        .sum::<f64>()
        / 1200.0;
    assert!(
        (t0 - 6.22).abs() < 0.8,
        "theta[0] mean {t0} vs NumPyro 6.22"
    );
}

/// Bernoulli logistic regression, `a, b ~ N(0, 2)`, 40 points.
fn logistic_data() -> (Vec<f32>, Vec<f32>) {
    let x: Vec<f32> = (0..40).map(|i| -2.0 + 4.0 * i as f32 / 39.0).collect();
    let y = x
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let u = (i as f32 * 0.618_034).fract();
            f32::from(u < 1.0 / (1.0 + (-(0.5 + 1.5 * x)).exp()))
        })
        .collect();
    (x, y)
}

fn logistic(data: &(DTensor, DTensor)) -> Result<()> {
    let a: DTensor = sample("a", Normal::new(s(0.0), s(2.0))?)?;
    let b: DTensor = sample("b", Normal::new(s(0.0), s(2.0))?)?;
    plate("N", 40).run(|_| {
        observe(
            "y",
            Bernoulli::from_logits(&a + &b * &data.0)?,
            data.1.clone(),
        )?;
        Ok(())
    })
}

#[test]
fn hmc_and_nuts_match_quadrature_on_a_logistic_regression() {
    let (x, y) = logistic_data();
    // The exact posterior moments by quadrature on a 400 × 400 grid over [-6, 6]².
    let (mut z, mut ma, mut mb, mut va, mut vb) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let grid: Vec<f64> = (0..400)
        .map(|i| -6.0 + 12.0 * (i as f64 + 0.5) / 400.0)
        .collect();
    let mut logp = vec![];
    for &a in &grid {
        for &b in &grid {
            let mut l = -(a * a + b * b) / 8.0;
            for (&xi, &yi) in x.iter().zip(&y) {
                let eta = a + b * xi as f64;
                l += if yi > 0.5 {
                    -(1.0 + (-eta).exp()).ln()
                } else {
                    -(1.0 + eta.exp()).ln()
                };
            }
            logp.push((a, b, l));
        }
    }
    let lmax = logp.iter().map(|t| t.2).fold(f64::NEG_INFINITY, f64::max);
    for &(a, b, l) in &logp {
        let w = (l - lmax).exp();
        z += w;
        ma += w * a;
        mb += w * b;
        va += w * a * a;
        vb += w * b * b;
    }
    let (ma, mb) = (ma / z, mb / z);
    let (sa, sb) = ((va / z - ma * ma).sqrt(), (vb / z - mb * mb).sqrt());
    let data = (vec1(&x), vec1(&y));
    let check = |sm: &Summary, kernel: &str| {
        close_mean(sm, "a", ma, 4.0, 0.0);
        close_mean(sm, "b", mb, 4.0, 0.0);
        for (name, sd) in [("a", sa), ("b", sb)] {
            let r = sm.row(name).unwrap();
            assert!(
                (r.sd / sd - 1.0).abs() < 0.15,
                "{kernel} {name}: sd {} vs quadrature {sd}\n{sm}",
                r.sd
            );
        }
    };
    let mut nuts = Mcmc::new(Nuts::new(logistic))
        .num_warmup(300)
        .num_samples(800)
        .seed(5);
    nuts.run(&data).unwrap();
    check(&nuts.summary().unwrap(), "NUTS");
    let mut hmc = Mcmc::new(Hmc::new(logistic).trajectory_length(1.5))
        .num_warmup(300)
        .num_samples(800)
        .seed(5);
    hmc.run(&data).unwrap();
    let sm = hmc.summary().unwrap();
    check(&sm, "HMC");
    assert!(sm.chains[0].mean_accept_prob > 0.6, "{:?}", sm.chains[0]);
}

/// `mu ~ N(0, 5)`; `z_i ~ Bernoulli(0.3)` (enumerated); `x_i ~ N(mu + 3 z_i, 1)`.
fn mixture(x: &DTensor) -> Result<()> {
    let mu: DTensor = sample("mu", Normal::new(s(0.0), s(5.0))?)?;
    plate("N", x.numel()).run(|_| {
        let z: DTensor = config_enumerate(|| sample("z", Bernoulli::from_probs(s(0.3))?))?;
        observe("x", Normal::new(&mu + &z * 3.0, s(1.0))?, x.clone())?;
        Ok(())
    })
}

#[test]
fn nuts_sums_out_enumerated_discrete_sites() {
    let xs: Vec<f32> = (0..12)
        .map(|i| 1.0 + 3.0 * f32::from(i % 3 == 0) + 0.5 * ((i as f32) * 1.3).sin())
        .collect();
    // p(mu | x) ∝ N(mu; 0, 5) Π_i [0.7 N(x_i; mu, 1) + 0.3 N(x_i; mu + 3, 1)], by quadrature.
    let (mut z, mut m1, mut m2) = (0.0, 0.0, 0.0);
    for k in 0..20_000 {
        let mu = -10.0 + 20.0 * (k as f64 + 0.5) / 20_000.0;
        let mut l = -mu * mu / 50.0;
        for &x in &xs {
            let n = |m: f64| (-(x as f64 - m).powi(2) / 2.0).exp();
            l += (0.7 * n(mu) + 0.3 * n(mu + 3.0)).ln();
        }
        let w = l.exp();
        z += w;
        m1 += w * mu;
        m2 += w * mu * mu;
    }
    let (mean, sd) = (m1 / z, (m2 / z - (m1 / z).powi(2)).sqrt());
    let mut mcmc = Mcmc::new(Nuts::new(mixture))
        .num_warmup(300)
        .num_samples(800)
        .seed(2);
    mcmc.run(&vec1(&xs)).unwrap();
    let sm = mcmc.summary().unwrap();
    close_mean(&sm, "mu", mean, 4.0, 0.0);
    assert!(
        (sm.row("mu").unwrap().sd / sd - 1.0).abs() < 0.15,
        "sd vs {sd}\n{sm}"
    );
    // The discrete site is summed out, not sampled.
    assert!(mcmc.get_samples().unwrap().get("z").is_none());
}

#[test]
fn chains_are_reproducible_and_parallel_chains_equal_sequential_ones() {
    let model = |_: &()| -> Result<()> {
        sample::<DTensor>("x", Normal::new(s(0.0), s(1.0))?)?;
        Ok(())
    };
    let draws = |parallel: bool| {
        let mut m = Mcmc::new(Nuts::new(model))
            .num_warmup(50)
            .num_samples(50)
            .num_chains(2)
            .seed(9);
        if parallel {
            m.run_parallel(&()).unwrap()
        } else {
            m.run(&()).unwrap()
        }
        m.get_samples_by_chain().unwrap().get("x").unwrap().to_vec()
    };
    let a = draws(false);
    assert_eq!(a, draws(false));
    assert_eq!(a, draws(true));
    assert_ne!(a[..50], a[50..], "the two chains must differ");
}

#[test]
fn init_to_value_and_constrained_sites() {
    // Gamma(3, 2) posterior sampled in log space, started where the user says.
    let model = |_: &()| -> Result<()> {
        sample::<DTensor>("rate", Gamma::new(s(3.0), s(2.0))?)?;
        Ok(())
    };
    let init = InitLoc::value(HashMap::from([("rate".to_string(), s(0.1))]));
    let mut mcmc = Mcmc::new(Nuts::new(model).init_strategy(init))
        .num_warmup(300)
        .num_samples(1500)
        .seed(4);
    mcmc.run(&()).unwrap();
    let sm = mcmc.summary().unwrap();
    close_mean(&sm, "rate", 1.5, 4.0, 0.0);
    assert!(sm.row("rate").unwrap().q5 > 0.0);
}

type Model = fn(&()) -> Result<()>;

#[test]
fn errors_name_the_site_the_plate_or_the_kernel() {
    let run = |m: Mcmc<Nuts<Model>>| {
        m.num_warmup(5)
            .num_samples(5)
            .run(&())
            .unwrap_err()
            .to_string()
    };
    fn no_latent(_: &()) -> Result<()> {
        observe("x", Normal::new(s(0.0), s(1.0))?, s(0.5))?;
        Ok(())
    }
    let e = run(Mcmc::new(Nuts::new(no_latent as Model)));
    assert!(
        e.contains("NUTS") && e.contains("no continuous latent"),
        "{e}"
    );
    fn subsampled(_: &()) -> Result<()> {
        plate("data", 100).subsample_size(10).run(|_| {
            sample::<DTensor>("z", Normal::new(s(0.0), s(1.0))?)?;
            Ok(())
        })
    }
    let e = run(Mcmc::new(Nuts::new(subsampled as Model)));
    assert!(
        e.contains("'z'") && e.contains("'data'") && e.contains("subsamples 10 of 100"),
        "{e}"
    );
    fn zero_density(_: &()) -> Result<()> {
        let x: DTensor = sample("x", Normal::new(s(0.0), s(1.0))?)?;
        factor("impossible", x.zeros_like() - f64::INFINITY)?;
        Ok(())
    }
    let e = run(Mcmc::new(Nuts::new(zero_density as Model)));
    assert!(
        e.contains("not finite at the initial point") && e.contains("impossible"),
        "{e}"
    );
    let e = Mcmc::new(Nuts::new(zero_density as Model))
        .summary()
        .unwrap_err()
        .to_string();
    assert!(e.contains("run() first"), "{e}");
    let e = Mcmc::new(Nuts::new(no_latent as Model))
        .num_samples(0)
        .run(&())
        .unwrap_err()
        .to_string();
    assert!(e.contains("num_samples"), "{e}");
}
