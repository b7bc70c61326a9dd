//! A model with a discrete latent per data point, fitted with score-function gradients.
//!
//! Two coins, P(heads) = 0.3 and 0.8. Each of N sequences of 10 flips was made with one of
//! them, chosen at random: z_i ~ Bernoulli(1/2), flips_ij ~ Bernoulli(p[z_i]). The guide gives
//! each sequence its own Bernoulli over z_i. Bernoulli latents are not reparameterisable, so
//! Trace_ELBO uses score-function terms, Rao-Blackwellised along the plate; the learned
//! probabilities approach the exact posteriors P(z_i = 1 | flips_i).
//!
//! Run: `cargo run --release --example discrete_latent`

use lobes::ppl::prelude::*;

const P: [f32; 2] = [0.3, 0.8];
const FLIPS: usize = 10;

fn model(flips: &Tensor<2>) -> Result<()> {
    let dev = flips.device();
    let n = flips.dims()[0];
    plate("sequences", n).run(|_| {
        let z: Tensor<1> = sample("z", Bernoulli::from_probs(DTensor::scalar(0.5, &dev))?)?;
        // P(heads) of each sequence's coin: p0 + z (p1 - p0), one per flip.
        let p = z
            .mul_scalar(P[1] - P[0])
            .add_scalar(P[0])
            .reshape([n, 1])
            .expand([n, FLIPS]);
        observe(
            "flips",
            Bernoulli::from_probs(p)?.to_event(1),
            flips.clone(),
        )?;
        Ok(())
    })
}

fn guide(flips: &Tensor<2>) -> Result<()> {
    let dev = flips.device();
    let n = flips.dims()[0];
    let logits: DTensor = param("assignment_logits", DTensor::zeros(&[n], &dev))?;
    plate("sequences", n)
        .run(|_| sample::<DTensor>("z", Bernoulli::from_logits(logits.clone())?))?;
    Ok(())
}

fn main() -> Result<()> {
    let dev = Device::flex();
    let n = 12;
    lobes::ppl::rng::set_rng_seed(1);
    let coins: Vec<usize> = lobes::ppl::rng::uniforms(n)
        .iter()
        .map(|&u| (u < 0.5) as usize)
        .collect();
    let u = lobes::ppl::rng::uniforms(n * FLIPS);
    let flips: Vec<f32> = (0..n * FLIPS)
        .map(|i| (u[i] < P[coins[i / FLIPS]]) as u8 as f32)
        .collect();
    let data = Tensor::<1>::from_floats(flips.as_slice(), &dev).reshape([n, FLIPS]);

    let mut svi = Svi::new(
        model,
        guide,
        ClippedAdam::new(0.05).with_lrd(0.998),
        TraceElbo::new(16),
    )
    .with_seed(2, None);
    for step in 0..1500 {
        let loss = svi.step(&data)?;
        if step % 300 == 0 {
            println!("step {step:4}  loss {loss:8.3}");
        }
    }
    let learned = svi
        .store()
        .get("assignment_logits")
        .expect("trained")
        .sigmoid()
        .to_vec();
    println!(
        "{:>4} {:>6} {:>6} {:>12} {:>9}",
        "seq", "coin", "heads", "exact P(z=1)", "learned"
    );
    for i in 0..n {
        let h = flips[i * FLIPS..(i + 1) * FLIPS].iter().sum::<f32>() as i32;
        let like = |p: f32| p.powi(h) * (1.0 - p).powi(FLIPS as i32 - h);
        let exact = like(P[1]) / (like(P[0]) + like(P[1]));
        println!(
            "{i:>4} {:>6} {h:>6} {exact:>12.3} {:>9.3}",
            coins[i], learned[i]
        );
    }
    Ok(())
}
