//! Pyro's Gaussian-mixture tutorial (`tutorial/source/gmm.ipynb`, Pyro 1.9.1), line for line:
//! a two-component 1-D mixture on five points, its assignments summed out by
//! `TraceEnumElbo`, the globals fitted as MAP points by `AutoDelta`, then each point's
//! component read back with `infer_discrete`, and a second guide that enumerates the
//! assignments itself.
//!
//! The tutorial picks the best of 100 random initialisations (seed 13: `locs = [10, 1]`,
//! initial loss 25.665584564208984) and prints after 200 Adam steps
//! `weights = [0.625 0.375]`, `locs = [10.984464 0.49901518]`, `scale = 0.6514337062835693`,
//! and the MAP assignment `[1, 1, 0, 0, 0]`. `tests/pyro_tutorials.rs` checks these numbers.
//!
//! Run: `cargo run --release --example gmm`

use lobes::ppl::infer::{TraceEnumElbo, infer_discrete};
use lobes::ppl::prelude::*;
use lobes::ppl::{Constraint, ParamStore, SiteKind, with_param_store};
use std::collections::{HashMap, HashSet};

/// Fixed number of components.
pub const K: usize = 2;

/// The tutorial's five points.
pub fn data() -> DTensor {
    DTensor::from_floats(vec![0.0, 1.0, 10.0, 11.0, 12.0], &[5], &Device::default())
        .expect("five points")
}

/// `@config_enumerate def model(data)`.
pub fn model(data: &DTensor) -> Result<()> {
    config_enumerate(|| {
        // Global variables.
        let weights: DTensor = sample(
            "weights",
            Dirichlet::new(DTensor::full(&[K], 0.5, &data.device()))?,
        )?;
        let scale: DTensor = sample("scale", LogNormal::new(0.0, 2.0)?)?;
        let locs: DTensor =
            plate("components", K).run(|_| sample("locs", Normal::new(0.0, 10.0)?))?;
        plate("data", data.numel()).run(|_| {
            // Local variables.
            let assignment: DTensor = sample("assignment", Categorical::from_probs(weights)?)?;
            observe(
                "obs",
                Normal::new(locs.gather_last(&assignment)?, scale)?,
                data.clone(),
            )?;
            Ok(())
        })
    })
}

/// `poutine.block(model, expose=["weights", "locs", "scale"])`: the globals, for AutoDelta.
pub fn globals(data: &DTensor) -> Result<()> {
    let expose: HashSet<String> = ["weights", "locs", "scale"].map(String::from).into();
    block_with(BlockSpec::Expose(expose), || model(data))
}

/// The tutorial's `init_loc_fn` at seed 13: uniform weights, `scale = sqrt(var(data) / 2)`,
/// and `locs = data[[2, 1]]` (the subsample `torch.multinomial` drew).
pub fn init_loc(data: &DTensor) -> InitLoc {
    let d = data.device();
    let x = data.to_vec();
    let mean = x.iter().sum::<f32>() / x.len() as f32;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / (x.len() - 1) as f32;
    let values = HashMap::from([
        (
            "weights".to_string(),
            DTensor::full(&[K], 1.0 / K as f32, &d),
        ),
        ("scale".to_string(), DTensor::scalar((var / 2.0).sqrt(), &d)),
        (
            "locs".to_string(),
            DTensor::from_floats(vec![x[2], x[1]], &[K], &d).expect("two locs"),
        ),
    ]);
    InitLoc::value(values)
}

/// What the tutorial prints.
#[derive(Debug)]
pub struct Fit {
    /// `svi.loss` before training.
    pub initial_loss: f64,
    /// The losses of the 200 steps.
    pub losses: Vec<f64>,
    /// The MAP weights, locations and scale.
    pub weights: Vec<f32>,
    /// The MAP component locations.
    pub locs: Vec<f32>,
    /// The MAP shared scale.
    pub scale: f32,
    /// `classifier(data)`: each point's MAP component.
    pub map_assignment: Vec<f32>,
    /// `classifier(data, temperature=1)`: a posterior draw of each point's component.
    pub sampled_assignment: Vec<f32>,
    /// The parameter store after training.
    pub store: ParamStore,
}

/// "Training a MAP estimator" and "Predicting membership using discrete inference".
pub fn fit(steps: usize) -> Result<Fit> {
    let data = data();
    let global_guide = AutoDelta::new(globals).init_loc_fn(init_loc(&data));
    let optim = Adam::new(0.1).with_betas(0.8, 0.99);
    let elbo = TraceEnumElbo::new(1);
    let mut svi =
        Svi::new(model, |d: &DTensor| global_guide.call(d), optim, elbo).with_seed(0, None);
    let initial_loss = svi.evaluate_loss(&data)?;
    let losses = (0..steps)
        .map(|_| svi.step(&data))
        .collect::<Result<Vec<_>>>()?;
    let mut store = std::mem::take(svi.store_mut());
    let (map, map_assignment, sampled_assignment) = with_param_store(&mut store, || {
        let map = global_guide.median()?;
        // Record the globals, replay them, and infer the assignments.
        let (_, guide_trace) = trace(|| global_guide.call(&data))?;
        let classifier = |temperature: f64| -> Result<Vec<f32>> {
            let trained_model = || replay(&guide_trace, || model(&data));
            let (_, tr) = trace(|| infer_discrete(-2, temperature, trained_model))?;
            Ok(tr.value("assignment").expect("an assignment site").to_vec())
        };
        Ok::<_, PplError>((map, classifier(0.0)?, classifier(1.0)?))
    })?;
    Ok(Fit {
        initial_loss,
        losses,
        weights: map["weights"].to_vec(),
        locs: map["locs"].to_vec(),
        scale: map["scale"].item(),
        map_assignment,
        sampled_assignment,
        store,
    })
}

/// "Predicting membership by enumerating in the guide": the globals kept, and a learned
/// simplex of assignment probabilities per point, enumerated in the guide.
pub fn full_guide(
    global_guide: &AutoDelta<fn(&DTensor) -> Result<()>>,
    data: &DTensor,
) -> Result<()> {
    config_enumerate(|| {
        // Keep our learned values of global parameters.
        block_with(BlockSpec::HideKinds(vec![SiteKind::Param]), || {
            global_guide.call(data)
        })?;
        // Local variables.
        plate("data", data.numel()).run(|_| {
            let init = DTensor::full(&[data.numel(), K], 1.0 / K as f32, &data.device());
            let assignment_probs: DTensor =
                param_constrained("assignment_probs", init, Constraint::Simplex)?;
            sample::<DTensor>("assignment", Categorical::from_probs(assignment_probs)?)?;
            Ok(())
        })
    })
}

/// Trains [`full_guide`] for `steps` steps from the MAP globals in `store`, returning the
/// learned assignment probabilities (`[5, K]`, row-major).
pub fn fit_full_guide(store: ParamStore, steps: usize) -> Result<Vec<f32>> {
    let data = data();
    let global_guide: AutoDelta<fn(&DTensor) -> Result<()>> =
        AutoDelta::new(globals as fn(&DTensor) -> Result<()>).init_loc_fn(init_loc(&data));
    let optim = Adam::new(0.2).with_betas(0.8, 0.99);
    let mut svi = Svi::new(
        model,
        |d: &DTensor| full_guide(&global_guide, d),
        optim,
        TraceEnumElbo::new(1),
    )
    .with_seed(0, None);
    *svi.store_mut() = store;
    for _ in 0..steps {
        svi.step(&data)?;
    }
    Ok(svi
        .store()
        .get("assignment_probs")
        .expect("trained")
        .to_vec())
}

#[allow(dead_code)]
fn main() -> Result<()> {
    lobes::tune_allocator();
    let f = fit(200)?;
    println!("initial_loss = {}", f.initial_loss);
    println!(
        "final loss = {}",
        f.losses.last().copied().unwrap_or(f.initial_loss)
    );
    println!("weights = {:?}", f.weights);
    println!("locs = {:?}", f.locs);
    println!("scale = {}", f.scale);
    println!("MAP assignment = {:?}", f.map_assignment);
    println!("posterior draw = {:?}", f.sampled_assignment);
    let probs = fit_full_guide(f.store, 200)?;
    println!("assignment_probs (component 0, 1) per point:");
    for (x, p) in data().to_vec().iter().zip(probs.chunks(K)) {
        println!("  {x:5.1}: {:.4} {:.4}", p[0], p[1]);
    }
    Ok(())
}
