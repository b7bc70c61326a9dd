//! The README's snippets compile from the prelude alone (`use lobes_ppl::prelude::*`) and run.

use lobes_ppl::prelude::*;

fn model(y: &DTensor) -> Result<()> {
    let mu: DTensor = sample("mu", Normal::new(0.0, 5.0)?)?;
    plate("data", y.numel()).run(|_| observe("obs", Normal::new(mu.clone(), 1.0)?, y.clone()))?;
    Ok(())
}

fn guide(_y: &DTensor) -> Result<()> {
    let loc: DTensor = param("loc", 0.0)?;
    let scale: DTensor = param_constrained("scale", 1.0, Constraint::Positive)?;
    sample::<DTensor>("mu", Normal::new(loc, scale)?)?;
    Ok(())
}

/// README "Inference": SVI with a seed, a checkpoint, and posterior draws from `Predictive`
/// run inside `with_param_store(svi.store_mut(), ..)`.
#[test]
fn the_readme_inference_snippet_runs_from_the_prelude() {
    let data = DTensor::from_floats(vec![2.0, 2.5, 3.0, 3.5], &[4], &Device::default()).unwrap();
    let mut svi = Svi::new(model, guide, Adam::new(0.05), TraceElbo::default()).with_seed(0, None);
    for _ in 0..600 {
        svi.step(&data).unwrap();
    }
    let dir = std::env::temp_dir().join(format!("lobes-prelude-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    svi.save_checkpoint(dir.join("checkpoint.safetensors"))
        .unwrap();
    let draws = with_param_store(svi.store_mut(), || {
        Predictive::new(100).posterior(&model, &guide, &data)
    })
    .unwrap();
    let mu = draws.get("mu").expect("mu is drawn");
    assert_eq!(mu.shape(), [100]);
    // The exact posterior mean: sum(y) / (n + 1/25) = 11 / 4.04.
    let mean = mu.to_vec().iter().sum::<f32>() / 100.0;
    assert!((mean - 11.0 / 4.04).abs() < 0.3, "{mean}");
    std::fs::remove_dir_all(&dir).unwrap();
}
