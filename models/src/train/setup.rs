//! Set-up pieces of a run: the per-epoch seed, the input side checked against the data, and
//! the settings recorded in every checkpoint.

use super::validation::ValidationPlan;
use super::{TrainOptions, anneal, schedule};
use crate::data::DataSet;
use crate::error::ModelError;
use crate::vae::VaeConfig;

pub(super) fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(0x2545_F491_4F6C_DD1D)
        .wrapping_add(epoch as u64)
}

/// The side of the square input `net` takes, checked against the data: a training set that
/// is not empty, every image at least that large.
pub(super) fn input_side(net: &VaeConfig, ds: &DataSet) -> Result<usize, ModelError> {
    let crop = (net.pixels as f64).sqrt().round() as usize;
    if crop * crop != net.pixels {
        return Err(ModelError::invalid_option(
            "pixels",
            net.pixels,
            format!("{} pixels is not a square image", net.pixels),
        ));
    }
    for (split, set) in [("training", &ds.train), ("test", &ds.test)] {
        if let Some(s) = set.iter().find(|s| s.image.size < crop) {
            return Err(ModelError::ImageTooSmall {
                image: format!("{split} image '{}' of '{}'", s.name, ds.name),
                side: s.image.size,
                input: crop,
                model: None,
            });
        }
    }
    if ds.train.is_empty() {
        return Err(ModelError::no_images(
            Some(&ds.name),
            format!("data set '{}' has no training images", ds.name),
        ));
    }
    Ok(crop)
}

/// The run's settings recorded in every checkpoint (`lobes.*` keys): what a resume and a
/// reader of the file need beyond the network.
pub(super) fn run_settings(
    opts: &TrainOptions,
    decay: &schedule::MultiStep,
    schedule: &anneal::KlSchedule,
    plan: &ValidationPlan,
    (free_bits, reflect): (f64, bool),
) -> Vec<(&'static str, String)> {
    let mut settings = vec![
        ("data", opts.data.clone()),
        ("seed", opts.seed.to_string()),
        ("lr", opts.lr.to_string()),
        ("optim", opts.optim.clone()),
        ("batch", opts.batch.to_string()),
        ("augment_step", opts.augment_step.to_string()),
    ];
    if let Some(c) = opts.clip_norm {
        settings.push(("clip_norm", c.to_string()));
    }
    if free_bits > 0.0 {
        settings.push(("free_bits", free_bits.to_string()));
    }
    if reflect {
        settings.push(("reflect", "true".to_string()));
    }
    if opts.kl_scale != 1.0 {
        settings.push(("kl_scale", opts.kl_scale.to_string()));
    }
    // What the products ran in, when not f32 (`--precision bf16` on a CPU with AMX).
    if crate::kernels::precision::matmul_precision().runs_bf16() {
        settings.push(("precision", "bf16".to_string()));
    }
    settings.extend(decay.metadata());
    settings.extend(plan.metadata());
    if plan.plateau.is_some() && decay.milestones.is_empty() {
        settings.push(("lr_gamma", decay.gamma.to_string()));
    }
    if schedule.warmup_epochs > 0 {
        settings.push(("kl_warmup", schedule.warmup_epochs.to_string()));
        settings.push(("kl_warmup_from", schedule.from.to_string()));
    }
    settings
}
