//! The commands of `lobes`, one module per family: each holds its clap arguments and a short
//! `run` that calls the library (`lobes-models`).

pub(crate) mod analysis;
pub(crate) mod bench;
pub(crate) mod classifier;
pub(crate) mod compare;
pub(crate) mod data;
pub(crate) mod field;
pub(crate) mod generate;
pub(crate) mod grid;
pub(crate) mod lr_search;
pub(crate) mod ramis;
pub(crate) mod ranks;
pub(crate) mod train;

use clap::ValueEnum;
use lobes::models::ModelError;
use lobes::models::data::{Sample, load_spec, stamps::StampFormat};

/// A count that must be at least 1 (`--n`): clap refuses 0 with the option's name.
pub(crate) fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
}

/// `--format`: the stamp format.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Format {
    Png,
    Fits,
}

impl From<Format> for StampFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Png => StampFormat::Png,
            Format::Fits => StampFormat::Fits,
        }
    }
}

/// The samples of `split` of the data set `spec` (`--data` and `--split`: `train`, `test`,
/// `val:N[:SEED]` or `fit:N[:SEED]`).
pub(crate) fn split_of(spec: &str, split: &str) -> Result<Vec<Sample>, ModelError> {
    let samples = load_spec(spec)?.samples(split)?;
    if samples.is_empty() {
        // An empty split is not a result (it printed "0 images ... -ELBO 0.00").
        return Err(ModelError::no_images(
            Some(spec),
            format!("{spec}: the {split} split holds no images"),
        ));
    }
    Ok(samples)
}

/// `--precision`: sets the process's product precision; under bf16 prints which kernel runs
/// (AMX, or f32 where the CPU has none).
pub(crate) fn set_precision(name: &str) -> Result<(), ModelError> {
    use lobes::models::kernels::precision::{Precision, set_matmul_precision};
    let p = Precision::parse(name)?;
    set_matmul_precision(p);
    if p == Precision::Bf16 {
        eprintln!("--precision bf16: {}", p.kernel());
    }
    Ok(())
}
