//! Eight schools (Rubin 1981), by SVI as Pyro's `examples/eight_schools` and by NUTS as
//! NumPyro's getting-started tutorial: the model is written centred, run non-centred through
//! `reparam(LocScaleReparam(0))` (NumPyro's `TransformReparam`).
//!
//! mu ~ N(0, 5), tau ~ HalfCauchy(5); in plate("schools", 8): theta ~ N(mu, tau),
//! y ~ N(theta, sigma) observed. NumPyro's NUTS posterior (scripts/mcmc_reference.py, 200,000
//! draws): mu 4.38 ± 3.33, tau 3.61 ± 3.23 (mean-field VI gives a similar mu, a smaller tau).
//!
//! Run: `cargo run --release --example eight_schools [steps]` (SVI with AutoNormal), or
//! `cargo run --release --example eight_schools nuts [draws]`: NUTS, 4 chains of `draws`
//! (default 1000) after as many warm-up steps, on the non-centred model, then the centred one,
//! whose funnel shows as divergences, as in NumPyro's tutorial.

use lobes::ppl::infer::Predictive;
use lobes::ppl::infer::mcmc::{Mcmc, Nuts};
use lobes::ppl::optim::ClippedAdam;
use lobes::ppl::prelude::*;
use lobes::ppl::with_param_store;
use std::collections::HashMap;

/// The schools' measured effects and their standard errors.
struct Schools {
    y: DTensor,
    sigma: DTensor,
}

/// The centred model.
fn model(data: &Schools) -> Result<DTensor> {
    let d = data.y.device();
    let scalar = |v: f32| DTensor::scalar(v, &d);
    let mu: DTensor = sample("mu", Normal::new(scalar(0.0), scalar(5.0))?)?;
    let tau: DTensor = sample("tau", HalfCauchy::new(scalar(5.0))?)?;
    plate("schools", data.y.numel()).run(|_| {
        let theta: DTensor = sample("theta", Normal::new(mu.clone(), tau.clone())?)?;
        observe(
            "obs",
            Normal::new(theta.clone(), data.sigma.clone())?,
            data.y.clone(),
        )?;
        Ok(theta)
    })
}

/// The same model, non-centred: theta = mu + tau * theta_decentered.
fn non_centred(data: &Schools) -> Result<DTensor> {
    let config = HashMap::from([("theta".to_string(), LocScaleReparam::new(0.0))]);
    reparam(config, || model(data))
}

fn mean_along_draws(v: &DTensor) -> Vec<f64> {
    let n = v.shape()[0];
    let per = v.numel() / n;
    let x = v.to_vec();
    (0..per)
        .map(|j| (0..n).map(|i| x[i * per + j] as f64).sum::<f64>() / n as f64)
        .collect()
}

/// NUTS (NumPyro's `MCMC(NUTS(model), num_warmup, num_samples, num_chains=4)`), printing
/// the summary, ESS per second and divergences.
fn nuts(
    name: &str,
    model: impl Fn(&Schools) -> Result<DTensor> + Sync,
    data: &Schools,
    draws: usize,
) -> Result<()> {
    let mut mcmc = Mcmc::new(Nuts::new(model))
        .num_warmup(draws)
        .num_samples(draws)
        .num_chains(4)
        .seed(0);
    let started = std::time::Instant::now();
    mcmc.run_parallel(data)?;
    let wall = started.elapsed().as_secs_f64();
    let summary = mcmc.summary()?;
    println!("\n{name} model, 4 chains x {draws} draws after {draws} warm-up steps:\n{summary}");
    let min_ess = summary
        .rows
        .iter()
        .map(|r| r.ess_bulk)
        .fold(f64::INFINITY, f64::min);
    println!(
        "wall {wall:.1} s (warm-up and sampling, chains on threads); lowest bulk ESS {min_ess:.0}, \
         {:.0} per second; step sizes {:?}",
        min_ess / wall,
        summary
            .chains
            .iter()
            .map(|c| format!("{:.3}", c.step_size))
            .collect::<Vec<_>>()
    );
    Ok(())
}

fn main() -> Result<()> {
    let d = Device::flex();
    let data = Schools {
        y: DTensor::from_floats(vec![28., 8., -3., 7., -1., 1., 18., 12.], &[8], &d)?,
        sigma: DTensor::from_floats(vec![15., 10., 16., 11., 9., 11., 10., 18.], &[8], &d)?,
    };
    let mut args = std::env::args().skip(1);
    let first = args.next();
    if first.as_deref() == Some("nuts") {
        let draws = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
        nuts("non-centred", non_centred, &data, draws)?;
        return nuts("centred", model, &data, draws);
    }
    let steps: usize = first.and_then(|a| a.parse().ok()).unwrap_or(4000);
    let guide = AutoNormal::new(non_centred);
    let optim = ClippedAdam::new(0.02).with_lrd(0.9995);
    let mut svi =
        Svi::new(non_centred, |x| guide.call(x), optim, TraceElbo::new(4)).with_seed(0, None);
    for t in 0..steps {
        let loss = svi.step(&data)?;
        if t % 500 == 0 || t + 1 == steps {
            println!("step {t:5}  loss {loss:9.3}");
        }
    }
    let post = with_param_store(svi.store_mut(), || {
        Predictive::new(2000)
            .return_sites(["mu", "tau", "theta"])
            .posterior(&non_centred, &|x: &Schools| guide.call(x), &data)
    })?;
    let mean = |name: &str| post.get(name).map(mean_along_draws).unwrap_or_default();
    println!("posterior mean mu  = {:.2}   (NUTS: 4.4)", mean("mu")[0]);
    println!("posterior mean tau = {:.2}   (NUTS: 3.6)", mean("tau")[0]);
    let theta: Vec<String> = mean("theta").iter().map(|t| format!("{t:.2}")).collect();
    println!("posterior mean theta = [{}]", theta.join(", "));
    Ok(())
}
