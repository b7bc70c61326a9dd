//! Pyro's "Normalizing Flows - Introduction (Part 1)" tutorial
//! (`tutorial/source/normalizing_flows_i.ipynb`): a flow fitted by maximum likelihood to the
//! tutorial's 2-D data, 1000 points of sklearn's `make_circles(factor=0.5, noise=0.05)`
//! standardised by `StandardScaler` (drawn here with the PPL's generator), then the
//! tutorial's second part, the factorisation `p(x1) p(x2 | x1)` with a conditional flow.
//!
//! The tutorial's spline flows are not in lobes: the joint density is a RealNVP stack (four
//! `AffineCoupling`s with a `Permute` between each two), and `p(x2 | x1)` a stack of two
//! `ConditionalAffineAutoregressive` flows given `x1` (a Normal whose mean and scale are
//! networks of `x1`), over `p(x1) = N(0, 1)`. Both are fitted through `Svi` with an empty
//! guide, so the loss is `-ln p(data)`. The example prints the mean log-likelihood per point
//! against the best Gaussian's, `-ln(2π) - 1 = -2.838` on standardised data, and the radii of
//! draws from the fitted flow against the data's (the two rings).
//!
//! Run: `cargo run --release --example flows [steps]` (default 2000).

use lobes::ppl::flows::ConditionalAffineAutoregressive;
use lobes::ppl::flows::{
    AffineCoupling, Permute, affine_coupling, conditional_affine_autoregressive,
};
use lobes::ppl::prelude::*;
use lobes::ppl::rng::{normals, set_rng_seed};
use std::sync::Arc;

const N: usize = 1000;

/// `make_circles(N, factor=0.5, noise=0.05)`, each column standardised: `[N, 2]`.
fn circles(device: &Device) -> DTensor {
    let mut v = vec![];
    for (count, radius) in [(N / 2, 1.0f32), (N - N / 2, 0.5)] {
        for k in 0..count {
            let a = 2.0 * std::f32::consts::PI * k as f32 / count as f32;
            v.extend([radius * a.cos(), radius * a.sin()]);
        }
    }
    for (x, e) in v.iter_mut().zip(normals(2 * N)) {
        *x += 0.05 * e;
    }
    for c in 0..2 {
        let col: Vec<f32> = v.iter().skip(c).step_by(2).copied().collect();
        let mean = col.iter().sum::<f32>() / N as f32;
        let sd = (col.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / N as f32).sqrt();
        for x in v.iter_mut().skip(c).step_by(2) {
            *x = (*x - mean) / sd;
        }
    }
    DTensor::from_floats(v, &[N, 2], device).expect("N rows of 2")
}

fn std_normal(shape: &[usize], d: &Device) -> Result<Normal> {
    Ok(Normal::new(
        DTensor::zeros(shape, d),
        DTensor::ones(shape, d),
    )?)
}

/// The joint flow: the couplings (registered as `coupling.{i}`), a `Permute` between each two.
fn joint(couplings: &[AffineCoupling], d: &Device) -> Result<TransformedDistribution> {
    let mut ts: Vec<Arc<dyn Transform>> = vec![];
    for (i, c) in couplings.iter().enumerate() {
        if i > 0 {
            ts.push(Arc::new(Permute::new(vec![1, 0])?));
        }
        ts.push(Arc::new(module(&format!("coupling.{i}"), c)?));
    }
    Ok(TransformedDistribution::new(
        Arc::new(std_normal(&[2], d)?),
        ts,
    )?)
}

/// `p(x2 | x1)` at the rows of `x1` (`[N, 1]`): batch `[N]`, event `[1]`.
fn conditional(
    flows: &[ConditionalAffineAutoregressive],
    x1: &DTensor,
) -> Result<TransformedDistribution> {
    let mut ts: Vec<Arc<dyn Transform>> = vec![];
    for (i, f) in flows.iter().enumerate() {
        ts.push(Arc::new(
            module(&format!("x2_given_x1.{i}"), f)?.condition(x1)?,
        ));
    }
    Ok(TransformedDistribution::new(
        Arc::new(std_normal(&[1], &x1.device())?),
        ts,
    )?)
}

/// Radii of the rows of `x` (`[n, 2]`) as a text histogram over `[0, 2.5)`.
fn radii(x: &DTensor) -> String {
    let v = x.to_vec();
    let mut bins = [0usize; 10];
    for p in v.chunks(2) {
        let r = (p[0] * p[0] + p[1] * p[1]).sqrt();
        bins[((r / 0.25) as usize).min(9)] += 1;
    }
    bins.iter()
        .map(|b| format!("{b:4}"))
        .collect::<Vec<_>>()
        .join("")
}

fn main() -> Result<()> {
    lobes::tune_allocator();
    let steps: usize = match std::env::args().nth(1) {
        Some(s) => s.parse().map_err(|_| PplError::InvalidParam {
            name: "steps".into(),
            reason: format!("not a count: {s}"),
        })?,
        None => 2000,
    };
    let d = Device::default();
    set_rng_seed(0);
    let data = circles(&d);
    let gaussian = -(2.0 * std::f64::consts::PI).ln() - 1.0;
    println!("best Gaussian: mean log-likelihood {gaussian:.4}");

    // Part 1: the joint density.
    let couplings = (0..4)
        .map(|_| affine_coupling(2, Some(&[32, 32][..]), None, &d))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let model = |x: &DTensor| -> Result<()> {
        let p = joint(&couplings, &d)?;
        plate("data", N).run(|_| observe("x", p.clone(), x.clone()))?;
        Ok(())
    };
    let mut svi = Svi::new(
        model,
        |_: &DTensor| -> Result<()> { Ok(()) },
        Adam::new(5e-3),
        TraceElbo::new(1),
    );
    for step in 0..=steps {
        let loss = svi.step(&data)?;
        if step % 250 == 0 {
            println!(
                "joint flow, step {step:5}: mean log-likelihood {:.4}",
                -loss / N as f64
            );
        }
    }
    let draws = with_param_store(svi.store_mut(), || {
        no_grad(|| -> Result<DTensor> { Ok(joint(&couplings, &d)?.expand(&[N])?.sample()) })
    })?;
    println!("radius histogram, bins of 0.25 from 0 (data, then flow draws):");
    println!("  data {}", radii(&data));
    println!("  flow {}", radii(&draws));

    // Part 2: p(x1) p(x2 | x1), x1 standard Normal (the data are standardised).
    let x1 = data.index_select(-1, &[0])?;
    let x2 = data.index_select(-1, &[1])?;
    let flows = (0..2)
        .map(|_| conditional_affine_autoregressive(1, 1, Some(&[32, 32][..]), &d))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let model = |x2: &DTensor| -> Result<()> {
        let p = conditional(&flows, &x1)?;
        plate("data", N).run(|_| observe("x2", p.clone(), x2.clone()))?;
        Ok(())
    };
    let ln_p_x1 = std_normal(&[], &d)?.log_prob(&x1)?.sum().item() as f64 / N as f64;
    let mut svi = Svi::new(
        model,
        |_: &DTensor| -> Result<()> { Ok(()) },
        Adam::new(5e-3),
        TraceElbo::new(1),
    );
    for step in 0..=steps {
        let loss = svi.step(&x2)?;
        if step % 500 == 0 {
            println!(
                "p(x1) p(x2 | x1), step {step:5}: mean log-likelihood {:.4}",
                ln_p_x1 - loss / N as f64
            );
        }
    }
    Ok(())
}
