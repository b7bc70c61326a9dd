//! Bayesian linear regression with a mean-field Normal guide, checked against the closed form.
//!
//! y = X w + ε, ε ~ N(0, σ²), prior w ~ N(0, τ² I). The exact posterior mean is
//! (XᵀX/σ² + I/τ²)⁻¹ Xᵀy/σ²; a mean-field Normal guide recovers it exactly.
//!
//! Run: `cargo run --release --example bayesian_regression`

use lobes::ppl::prelude::*;

const SIGMA: f32 = 0.5;
const TAU: f32 = 10.0;

struct Data {
    x: Tensor<2>,
    y: Tensor<1>,
}

fn model(d: &Data) -> Result<()> {
    let dev = d.y.device();
    let k = d.x.dims()[1];
    let w: Tensor<1> = sample(
        "w",
        Normal::new(DTensor::zeros(&[k], &dev), DTensor::full(&[k], TAU, &dev))?.to_event(1),
    )?;
    let mean =
        d.x.clone()
            .matmul(w.reshape([k, 1]))
            .reshape([d.y.dims()[0]]);
    plate("data", d.y.dims()[0]).run(|_| {
        observe(
            "y",
            Normal::new(mean.clone(), DTensor::scalar(SIGMA, &dev))?,
            d.y.clone(),
        )?;
        Ok(())
    })
}

fn guide(d: &Data) -> Result<()> {
    let dev = d.y.device();
    let k = d.x.dims()[1];
    let loc: DTensor = param("w_loc", DTensor::zeros(&[k], &dev))?;
    let scale: DTensor = param_constrained(
        "w_scale",
        DTensor::full(&[k], 0.1, &dev),
        Constraint::Positive,
    )?;
    sample::<DTensor>("w", Normal::new(loc, scale)?.to_event(1))?;
    Ok(())
}

/// Solves the 3x3 normal equations of the exact posterior mean (Gaussian elimination).
fn exact_mean(x: &[f32], y: &[f32], k: usize) -> Vec<f64> {
    let (s2, t2) = ((SIGMA as f64).powi(2), (TAU as f64).powi(2));
    let mut a = vec![vec![0.0; k + 1]; k];
    for (row, &yi) in x.chunks(k).zip(y) {
        for i in 0..k {
            a[i][k] += row[i] as f64 * yi as f64 / s2;
            for j in 0..k {
                a[i][j] += row[i] as f64 * row[j] as f64 / s2;
            }
        }
    }
    for (i, r) in a.iter_mut().enumerate() {
        r[i] += 1.0 / t2;
    }
    for c in 0..k {
        let pivot = a[c].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != c {
                let f = row[c] / pivot[c];
                for (v, p) in row.iter_mut().zip(&pivot) {
                    *v -= f * p;
                }
            }
        }
    }
    (0..k).map(|i| a[i][k] / a[i][i]).collect()
}

fn main() -> Result<()> {
    let dev = Device::flex();
    let (n, k) = (100, 3);
    let w_true = [1.5f32, -2.0, 0.5];
    lobes::ppl::rng::set_rng_seed(0);
    let xs = lobes::ppl::rng::normals(n * k);
    let noise = lobes::ppl::rng::normals(n);
    let ys: Vec<f32> = xs
        .chunks(k)
        .zip(&noise)
        .map(|(r, e)| r.iter().zip(&w_true).map(|(a, b)| a * b).sum::<f32>() + SIGMA * e)
        .collect();
    let data = Data {
        x: Tensor::<1>::from_floats(xs.as_slice(), &dev).reshape([n, k]),
        y: Tensor::<1>::from_floats(ys.as_slice(), &dev),
    };

    let mut svi = Svi::new(
        model,
        guide,
        ClippedAdam::new(0.05).with_lrd(0.998),
        TraceMeanFieldElbo::default(),
    )
    .with_seed(0, None);
    for step in 0..2000 {
        let loss = svi.step(&data)?;
        if step % 500 == 0 {
            println!("step {step:4}  loss {loss:10.3}");
        }
    }
    let got = svi.store().get("w_loc").expect("trained").to_vec();
    let sd = svi.store().get("w_scale").expect("trained").to_vec();
    let want = exact_mean(&xs, &ys, k);
    println!("{:>6} {:>10} {:>10} {:>10}", "", "exact", "SVI", "SVI sd");
    for i in 0..k {
        println!(
            "{:>6} {:10.4} {:10.4} {:10.4}",
            format!("w[{i}]"),
            want[i],
            got[i],
            sd[i]
        );
    }
    Ok(())
}
