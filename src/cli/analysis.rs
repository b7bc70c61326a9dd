//! `lobes noise` and `lobes pairs`: the paper's analyses of generated images (§6.2, §6.5);
//! `lobes latents`: the latent dimensions a model uses.

use super::{at_least_one, split_of};
use lobes::models::ModelError;
use lobes::models::analysis::grid::mean_sd;
use lobes::models::analysis::latents::{latent_activity, write_activity_csv};
use lobes::models::analysis::{noise::noise_table, pairs};
use lobes::models::data::{self, DataError, Image};
use lobes::models::generate::{Generator, Sampling};
use lobes::models::output::OutputFolder;
use lobes::models::vae::{ModelKind, Prior};
use std::path::PathBuf;

// `lobes noise`; its help is the doc comment of `Command::Noise`.
#[derive(clap::Args, Debug)]
pub(crate) struct NoiseArgs {
    /// Images generated from this checkpoint.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Or real images from a data spec.
    #[arg(long)]
    data: Option<String>,
    /// Split of `--data`: train, test, val:N[:SEED] (the images a run with `--validation N
    /// --split-seed SEED` held out) or fit:N[:SEED] (the rest of train).
    #[arg(long, default_value = "test")]
    split: String,
    /// Or a folder of PNG/FITS stamps.
    #[arg(long)]
    images: Option<PathBuf>,
    /// Images (generated, or the first N).
    #[arg(long, default_value_t = 8, value_parser = at_least_one())]
    n: usize,
    /// Output folder: noise.csv and noise.png (top row as is, bottom row log-saturated).
    #[arg(long)]
    out: PathBuf,
    /// Replace an earlier output of lobes in `--out` (the files its manifest lists are removed
    /// first); without it `--out` must be new or empty.
    #[arg(long)]
    overwrite: bool,
}

/// A checkpoint and the images it is measured on (`lobes latents`, `lobes evaluate`).
#[derive(clap::Args, Debug)]
pub(crate) struct CheckpointImages {
    /// A checkpoint written by `lobes train`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The images (a data spec).
    #[arg(long)]
    data: String,
    /// Split of `--data`: train, test, val:N[:SEED] (the images a run with `--validation N
    /// --split-seed SEED` held out) or fit:N[:SEED] (the rest of train).
    #[arg(long, default_value = "test")]
    split: String,
}

// `lobes latents`; its help is the doc comment of `Command::Latents`.
#[derive(clap::Args, Debug)]
pub(crate) struct LatentsArgs {
    #[command(flatten)]
    on: CheckpointImages,
    /// Also write the table here as CSV (dim, activity, mean_scale, kl, active).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub(crate) fn run_latents(args: LatentsArgs) -> Result<(), ModelError> {
    let mut g = Generator::load(&args.on.checkpoint)?;
    let samples = split_of(&args.on.data, &args.on.split)?;
    let dims = latent_activity(&mut g, &samples)?;
    println!("dim  activity   mean scale  KL (nats)  active");
    for d in &dims {
        println!(
            "{:3}  {:9.2e}  {:10.4}  {:9.3}  {}",
            d.dim,
            d.activity,
            d.mean_scale,
            d.kl,
            if d.is_active() { "yes" } else { "" }
        );
    }
    let active = dims.iter().filter(|d| d.is_active()).count();
    println!(
        "{active} of {} dimensions active over {} images ({} split)",
        dims.len(),
        samples.len(),
        args.on.split
    );
    if g.net.prior != Prior::Normal {
        println!(
            "(KL is from N(0, 1), not the model's {} prior)",
            g.net.prior.name()
        );
    }
    if let Some(out) = &args.out {
        write_activity_csv(out, &dims)?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

// `lobes evaluate`; its help is the doc comment of `Command::Evaluate`.
#[derive(clap::Args, Debug)]
pub(crate) struct EvaluateArgs {
    #[command(flatten)]
    on: CheckpointImages,
    /// Images per batch.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Estimates averaged, each with its own guide draws (and dropout masks).
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Also the importance-sampled log-likelihood -log p(x) per image from K guide samples
    /// (Burda et al. 2015; 5000 is usual), dropout off.
    #[arg(long, value_name = "K")]
    iw: Option<usize>,
    /// Guide samples per batch for --iw (copies of one image).
    #[arg(long, default_value_t = 500, value_name = "N")]
    iw_batch: usize,
}

pub(crate) fn run_evaluate(args: EvaluateArgs) -> Result<(), ModelError> {
    if args.repeats == 0 || args.batch == 0 {
        let (option, value) = if args.repeats == 0 {
            ("--repeats", args.repeats)
        } else {
            ("--batch", args.batch)
        };
        return Err(ModelError::invalid_option(
            option,
            value,
            "--repeats and --batch must be at least 1",
        ));
    }
    let mut g = Generator::load(&args.on.checkpoint)?;
    let samples = split_of(&args.on.data, &args.on.split)?;
    println!(
        "{} images ({} split), {} estimates each",
        samples.len(),
        args.on.split,
        args.repeats
    );
    for (dropout, what) in [
        (false, "dropout off (lobes train's test_loss)"),
        (
            true,
            "dropout on (the paper's script: Pyro's evaluate_loss in training mode)",
        ),
    ] {
        let losses = (0..args.repeats as u64)
            .map(|r| g.test_loss(&samples, args.batch, dropout, 0x7e57_1055 + r))
            .collect::<Result<Vec<_>, _>>()?;
        let (mean, sd) = mean_sd(&losses);
        println!(
            "-ELBO per image, {what}: {mean:.2} (sd {sd:.2} over {} estimates)",
            losses.len()
        );
    }
    if let Some(k) = args.iw {
        if k == 0 || args.iw_batch == 0 {
            let (option, value) = if k == 0 {
                ("--iw", k)
            } else {
                ("--iw-batch", args.iw_batch)
            };
            return Err(ModelError::invalid_option(
                option,
                value,
                "--iw and --iw-batch must be at least 1",
            ));
        }
        let lp = g.log_likelihood(&samples, k, args.iw_batch, 0x1a7e_5a3e)?;
        let n = lp.len() as f64;
        let (mean, sd) = mean_sd(&lp.iter().map(|l| -l).collect::<Vec<_>>());
        println!(
            "-log p(x) per image, importance-sampled with {k} guide samples, dropout off: \
             {mean:.2} (standard error {:.2} over {} images)",
            sd / n.sqrt(),
            lp.len()
        );
    }
    Ok(())
}

// `lobes pairs`; its help is the doc comment of `Command::Pairs`.
#[derive(clap::Args, Debug)]
pub(crate) struct PairsArgs {
    /// A CVAE checkpoint.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Number of pairs.
    #[arg(long, default_value_t = 4, value_parser = at_least_one())]
    n: usize,
    /// `prior` or `uniform:LO,HI`.
    #[arg(long, default_value = "prior")]
    sampling: String,
    /// Seed of the latent draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output folder: pairs.png and profiles.csv.
    #[arg(long)]
    out: PathBuf,
    /// Replace an earlier output of lobes in `--out` (the files its manifest lists are removed
    /// first); without it `--out` must be new or empty.
    #[arg(long)]
    overwrite: bool,
}

pub(crate) fn run_noise(args: NoiseArgs) -> Result<(), ModelError> {
    let NoiseArgs {
        checkpoint,
        data: spec,
        split,
        images: image_dir,
        n,
        out,
        overwrite,
    } = args;
    let folder = OutputFolder::claim(&out, "lobes noise", overwrite)?;
    let named: Vec<(String, Image)> = match (&checkpoint, &spec, &image_dir) {
        (Some(c), None, None) => Generator::load(c)?
            .generate(n, None, Sampling::Prior, 0)?
            .into_iter()
            .enumerate()
            .map(|(i, img)| (format!("generated_{i}"), img))
            .collect(),
        (None, Some(spec), None) => split_of(spec, &split)?
            .into_iter()
            .take(n)
            .map(|s| (s.name, s.image))
            .collect(),
        (None, None, Some(dir)) => data::png::load_images(dir)?.into_iter().take(n).collect(),
        _ => {
            return Err(ModelError::conflicting_options(
                &["--checkpoint", "--data", "--images"],
                "give exactly one of --checkpoint, --data or --images",
            ));
        }
    };
    std::fs::create_dir_all(&out).map_err(|e| DataError::io(&out, e))?;
    let (csv, mean) = noise_table(&named);
    lobes::ppl::io::write_atomic(&out.join("noise.csv"), csv.as_bytes())?;
    let images: Vec<Image> = named.iter().map(|(_, i)| i.clone()).collect();
    let source = match (&checkpoint, &spec) {
        (Some(_), _) => "images generated from the checkpoint".to_string(),
        (None, Some(spec)) => format!("{}, {split} split", spec.split(':').next().unwrap_or(spec)),
        _ => "images from the folder".to_string(),
    };
    lobes::models::figures::noise_figure(&out.join("noise.png"), &images, &source)?;
    println!(
        "{mean:.2}% of pixels below 5e-5 (mean over {} images); noise.csv and noise.png in {}",
        named.len(),
        out.display()
    );
    folder.finish()?;
    Ok(())
}

pub(crate) fn run_pairs(args: PairsArgs) -> Result<(), ModelError> {
    let PairsArgs {
        checkpoint,
        n,
        sampling,
        seed,
        out,
        overwrite,
    } = args;
    // Options first: a bad one is refused before anything is read or written.
    let sampling = Sampling::from_option("--sampling", &sampling)?;
    let folder = OutputFolder::claim(&out, "lobes pairs", overwrite)?;
    let mut g = Generator::load(&checkpoint)?;
    if g.kind != ModelKind::Cvae {
        return Err(ModelError::wrong_model(
            &checkpoint,
            format!("pairs need a CVAE checkpoint, this is a {}", g.kind.name()),
        ));
    }
    // The figure draws every pair: refused when it would not fit in memory.
    pairs::check_memory(n, g.net.pixels)?;
    let pairs = pairs::decode_pairs(&mut g, n, sampling, seed)?;
    std::fs::create_dir_all(&out).map_err(|e| DataError::io(&out, e))?;
    lobes::ppl::io::write_atomic(
        &out.join("profiles.csv"),
        pairs::profiles_csv(&pairs).as_bytes(),
    )?;
    lobes::models::figures::pairs_figure(&out.join("pairs.png"), &pairs)?;
    println!(
        "{n} FRI/FRII pairs: pairs.png and profiles.csv in {}",
        out.display()
    );
    folder.finish()?;
    Ok(())
}
