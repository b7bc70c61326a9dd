//! Eight schools (Rubin 1981) by SVI, as Pyro's `examples/eight_schools`: the model is
//! written centred, run non-centred through `reparam(LocScaleReparam(0))`, and fitted with
//! `AutoNormal`.
//!
//! mu ~ N(0, 5), tau ~ HalfCauchy(5); in plate("schools", 8): theta ~ N(mu, tau),
//! y ~ N(theta, sigma) observed. Stan's and Pyro's NUTS posterior means: mu ≈ 4.4,
//! tau ≈ 3.6 (mean-field VI gives a similar mu and a smaller tau).
//!
//! Run: `cargo run --release --example eight_schools [steps]`

use lobes::ppl::infer::Predictive;
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

fn main() -> Result<()> {
    let steps: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(4000);
    let d = Device::flex();
    let data = Schools {
        y: DTensor::from_floats(vec![28., 8., -3., 7., -1., 1., 18., 12.], &[8], &d)?,
        sigma: DTensor::from_floats(vec![15., 10., 16., 11., 9., 11., 10., 18.], &[8], &d)?,
    };
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
