//! `lobes generate`, `lobes reconstruct`, `lobes latent-grid` and `lobes evolution`: images from
//! a trained model.

use super::{Format, at_least_one};
use lobes::models::ModelError;
use lobes::models::data::{self, Class};
use lobes::models::figures::model::{evolution, first_inputs, latent_grid, reconstructions};
use lobes::models::generate::write::write_generated;
use lobes::models::generate::{Generator, Sampling};
use lobes::models::output::OutputFolder;
use lobes::models::vae::ModelKind;
use std::path::PathBuf;

// `lobes generate`; its help is the doc comment of `Command::Generate`.
#[derive(clap::Args, Debug)]
pub(crate) struct GenerateArgs {
    /// A checkpoint written by `lobes train`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Number of stamps (written in chunks of 500 as they are decoded; refused when their
    /// latent points would not fit in memory).
    #[arg(long, default_value_t = 16, value_parser = at_least_one())]
    n: usize,
    /// Class, for the CVAE (FRI or FRII); alternating when absent. A VAE has no classes.
    #[arg(long)]
    class: Option<String>,
    /// `prior` or `uniform:LO,HI`.
    #[arg(long, default_value = "prior")]
    sampling: String,
    /// Stamp format.
    #[arg(long, value_enum, default_value = "png")]
    format: Format,
    /// Seed of the latent draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output folder: `grid.png` (of the first 256) and the stamps (a CVAE's in `FRI/` and
    /// `FRII/` with `labels.csv`; a VAE's, which have no class, in the folder itself).
    #[arg(long)]
    out: PathBuf,
    /// Replace an earlier output of lobes in `--out` (the files its manifest lists are removed
    /// first); without it `--out` must be new or empty.
    #[arg(long)]
    overwrite: bool,
}

// `lobes reconstruct`; its help is the doc comment of `Command::Reconstruct`.
#[derive(clap::Args, Debug)]
pub(crate) struct ReconstructArgs {
    /// A checkpoint written by `lobes train`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Data spec of the inputs (test split).
    #[arg(long, default_value = "synthetic")]
    data: String,
    /// Number of inputs.
    #[arg(long, default_value_t = 8, value_parser = at_least_one())]
    n: usize,
    /// Output PNG.
    #[arg(long)]
    out: PathBuf,
}

// `lobes latent-grid`; its help is the doc comment of `Command::LatentGrid`.
#[derive(clap::Args, Debug)]
pub(crate) struct LatentGridArgs {
    /// A checkpoint of a d = 2 model.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Class, for the CVAE.
    #[arg(long, default_value = "FRI")]
    class: String,
    /// Output PNG.
    #[arg(long)]
    out: PathBuf,
}

// `lobes evolution`; its help is the doc comment of `Command::Evolution`.
#[derive(clap::Args, Debug)]
pub(crate) struct EvolutionArgs {
    /// A run folder written by `lobes train`.
    #[arg(long)]
    run: PathBuf,
    /// Data spec of the inputs (test split).
    #[arg(long, default_value = "synthetic")]
    data: String,
    /// Number of inputs.
    #[arg(long, default_value_t = 6, value_parser = at_least_one())]
    n: usize,
    /// Output PNG.
    #[arg(long)]
    out: PathBuf,
}

// `lobes export`; its help is the doc comment of `Command::Export`.
#[derive(clap::Args, Debug)]
pub(crate) struct ExportArgs {
    /// A checkpoint written by `lobes train`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The model file to write (safetensors).
    #[arg(long)]
    out: PathBuf,
}

pub(crate) fn run_generate(args: GenerateArgs) -> Result<(), ModelError> {
    let GenerateArgs {
        checkpoint,
        n,
        class,
        sampling,
        format,
        seed,
        out,
        overwrite,
    } = args;
    // Options first: a bad one is refused before anything is read or written.
    let s = Sampling::from_option("--sampling", &sampling)?;
    let mut g = Generator::load(&checkpoint)?;
    let class = class
        .map(|c| Class::parse(&c).ok_or_else(|| ModelError::unknown_name("class", &c, "FRI, FRII")))
        .transpose()?;
    if g.kind == ModelKind::Vae && class.is_some() {
        return Err(ModelError::wrong_model(
            &checkpoint,
            "a VAE generates without classes; --class needs a CVAE checkpoint",
        ));
    }
    let folder = OutputFolder::claim(&out, "lobes generate", overwrite)?;
    // Stamps are written chunk by chunk as they are decoded (`--n` is bounded by memory only).
    write_generated(&mut g, n, class, s, seed, &out, format.into())?;
    println!("wrote {n} stamps and grid.png to {}", out.display());
    folder.finish()?;
    Ok(())
}

pub(crate) fn run_reconstruct(args: ReconstructArgs) -> Result<(), ModelError> {
    let mut g = Generator::load(&args.checkpoint)?;
    let inputs = first_inputs(&data::load_spec(&args.data)?, args.n);
    reconstructions(&mut g, &inputs, &args.out)?;
    println!(
        "wrote {} (inputs in the top row, reconstructions below)",
        args.out.display()
    );
    Ok(())
}

pub(crate) fn run_latent_grid(args: LatentGridArgs) -> Result<(), ModelError> {
    let mut g = Generator::load(&args.checkpoint)?;
    let class = args.class;
    // The model is checked before the class, as always.
    if g.net.latent == 2 {
        let c = Class::parse(&class)
            .ok_or_else(|| ModelError::unknown_name("class", &class, "FRI, FRII"))?;
        latent_grid(&mut g, c, &args.checkpoint, &args.out)?;
    } else {
        latent_grid(&mut g, Class::FRI, &args.checkpoint, &args.out)?;
    }
    println!(
        "wrote {} (z1 left to right, z2 bottom to top, -4..4 in 0.4 steps)",
        args.out.display()
    );
    Ok(())
}

pub(crate) fn run_evolution(args: EvolutionArgs) -> Result<(), ModelError> {
    let inputs = first_inputs(&data::load_spec(&args.data)?, args.n);
    let columns = evolution(&args.run, &inputs, &args.out)?;
    println!(
        "wrote {}: one row per input, the input then one column per checkpoint ({columns})",
        args.out.display()
    );
    Ok(())
}

pub(crate) fn run_export(args: ExportArgs) -> Result<(), ModelError> {
    let e = lobes::models::export::export(&args.checkpoint, &args.out)?;
    println!(
        "wrote {} (epoch {}, {} parameters, {:.1} MB; no optimiser state: train --resume cannot \
         continue from it)",
        args.out.display(),
        e.epoch,
        e.parameters,
        e.bytes as f64 / 1e6
    );
    Ok(())
}
