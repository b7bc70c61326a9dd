//! Sampling from a hierarchical prior and printing its trace's shape table.
//!
//! The eight-schools model (Rubin 1981), Pyro's classic:
//! mu ~ N(0, 5), tau ~ LogNormal(0, 1); in plate("schools", 8): theta ~ N(mu, tau),
//! obs ~ N(theta, sigma) observed at the schools' measured effects.
//!
//! Run: `cargo run --release --example hierarchical`

use lobes::ppl::prelude::*;

fn model(sigma: &Tensor<1>, y: &Tensor<1>) -> Result<Tensor<1>> {
    let d = y.device();
    let scalar = |v: f32| DTensor::scalar(v, &d);
    let mu: DTensor = sample("mu", Normal::new(scalar(0.0), scalar(5.0))?)?;
    let tau: DTensor = sample("tau", LogNormal::new(scalar(0.0), scalar(1.0))?)?;
    plate("schools", y.dims()[0]).run(|_| {
        let theta: Tensor<1> = sample("theta", Normal::new(mu.clone(), tau.clone())?)?;
        observe("obs", Normal::new(theta.clone(), sigma.clone())?, y.clone())?;
        Ok(theta)
    })
}

fn main() -> Result<()> {
    let d = Device::flex();
    let y = Tensor::<1>::from_floats([28., 8., -3., 7., -1., 1., 18., 12.], &d);
    let sigma = Tensor::<1>::from_floats([15., 10., 16., 11., 9., 11., 10., 18.], &d);

    // One draw from the prior, recorded.
    let (theta, mut tr) = seed(0, || trace(|| model(&sigma, &y)))?;
    tr.compute_log_prob()?;
    println!("{}", tr.format_shapes());
    println!("theta = {:?}", DTensor::from_tensor(theta).to_vec());
    println!("log p(draw, data) = {:.3}", tr.log_prob_sum_checked()?);

    // The same model with the data unobserved: a prior predictive draw of the effects.
    let (_, prior) = seed(1, || trace(|| uncondition(|| model(&sigma, &y))))?;
    println!(
        "prior predictive obs = {:?}",
        prior.value("obs").map(|v| v.to_vec())
    );
    Ok(())
}
