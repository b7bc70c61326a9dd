//! Training the VAE/CVAE with SVI: rotation-augmented epochs, per-image test loss (-ELBO) in
//! evaluation mode, RAMIS while training, `metrics.csv`, checkpoints that resume exactly, bad
//! steps survived by rolling back, a sample grid.

pub mod anneal;
mod checkpoints;
mod events;
pub mod figure;
mod lr_search;
mod metrics;
mod monitor;
pub mod objective;
mod options;
mod recovery;
pub mod replicas;
mod resume;
mod rows;
mod run;
pub mod schedule;
mod setup;
pub mod validation;

pub use events::TrainEvent;
pub use lr_search::{LrPoint, best_rate, lr_search, rates, write_lr_search};
pub use metrics::{EpochMetrics, read_metrics, write_metrics};
pub use monitor::{Monitor, RamisMeasure, RamisOptions};
pub use options::TrainOptions;
pub use recovery::{LR_BACKOFF, Recovery, recovery};
pub use replicas::{REPLICA_SEED_RULE, Replicas, ThreadReplicas, Traffic, replica_seed};

use run::run;

use crate::data::{self, DataSet, Sample};
use crate::error::ModelError;
use crate::vae::{Batch, batch_of};
use burn::prelude::*;
use lobes_ppl::optim::Optimizer;
use lobes_ppl::prelude::Svi;

/// The files of a run folder (besides `checkpoints/*.safetensors`): what shows that a folder
/// holds a run, and what `--overwrite` removes.
pub const RUN_FILES: &[&str] = &[
    "checkpoint.safetensors",
    "best.safetensors",
    "metrics.csv",
    "loss.png",
    "samples.png",
];

/// Per-image test loss over `samples` in evaluation mode.
pub fn test_loss<M, G, O, L>(
    svi: &mut Svi<Batch, M, G, O, L>,
    samples: &[Sample],
    batch: usize,
    crop: usize,
    device: &Device,
) -> Result<f64, ModelError>
where
    M: Fn(&Batch) -> lobes_ppl::Result<()>,
    G: Fn(&Batch) -> lobes_ppl::Result<()>,
    O: Optimizer,
    L: lobes_ppl::infer::Elbo,
{
    // The guide's draws come from the PPL's generator: seed it so the evaluation is
    // reproducible (SVI reseeds it before every training step, so this shifts nothing).
    lobes_ppl::rng::set_rng_seed(0x7e57_1055);
    let mut total = 0.0;
    for chunk in samples.chunks(batch.max(1)) {
        let refs: Vec<&Sample> = chunk.iter().collect();
        total += svi.evaluate_loss_with(
            &objective::Objective::evaluation(),
            &batch_of(&refs, crop, device),
        )?;
    }
    Ok(total / samples.len().max(1) as f64)
}

/// Trains as `opts` says; returns every epoch's metrics (those before a resume included).
/// Reports nothing: [`train_with`] tells an observer what happens.
pub fn train(opts: &TrainOptions) -> Result<Vec<EpochMetrics>, ModelError> {
    train_with(opts, &mut |_| {})
}

/// [`train`], telling `observe` what happens ([`TrainEvent`]).
pub fn train_with(
    opts: &TrainOptions,
    observe: &mut dyn FnMut(TrainEvent<'_>),
) -> Result<Vec<EpochMetrics>, ModelError> {
    // Before the data is loaded (or downloaded); `run` checks again for the other callers.
    opts.validate()?;
    let ds: DataSet = data::load_spec(&opts.data)?;
    run(opts, &ds, None, observe)
}

/// [`train`] on an already loaded data set.
///
/// Bad steps (see [`recovery`]) are skipped or rolled back to the latest checkpoint
/// (`out/checkpoint.safetensors`, written before the first epoch too) with the learning rate
/// multiplied by [`LR_BACKOFF`]; [`TrainOptions::max_bad_steps`] in a row stop the run with
/// [`ModelError::Diverged`].
pub fn train_on(opts: &TrainOptions, ds: &DataSet) -> Result<Vec<EpochMetrics>, ModelError> {
    run(opts, ds, None, &mut |_| {})
}

/// [`train_on`], telling `observe` what happens ([`TrainEvent`]).
pub fn train_on_with(
    opts: &TrainOptions,
    ds: &DataSet,
    observe: &mut dyn FnMut(TrainEvent<'_>),
) -> Result<Vec<EpochMetrics>, ModelError> {
    run(opts, ds, None, observe)
}

/// [`train_on`] as one replica of a data-parallel run (see [`replicas`] for the rule): every
/// replica calls it with the same options and data. Rank 0 writes the run folder and returns
/// the metrics it wrote; the others return the same rows (their own timings) and write
/// nothing. Only rank 0 tells `observe` what happens.
pub fn train_replica(
    opts: &TrainOptions,
    ds: &DataSet,
    replicas: &mut dyn Replicas,
    observe: &mut dyn FnMut(TrainEvent<'_>),
) -> Result<Vec<EpochMetrics>, ModelError> {
    run(opts, ds, Some(replicas), observe)
}

/// Test hook of data-parallel runs: when set to a folder, every replica writes its parameters
/// there at the end of training (`rank-R.safetensors`), to be compared across replicas.
pub const REPLICA_PARAMS_ENV: &str = "LOBES_TEST_REPLICA_PARAMS";
