//! `lobes ramis`, `lobes ramis-experiments`, `lobes class-balance` and `lobes select`.

use super::{at_least_one, split_of};
use lobes::models::ModelError;
use lobes::models::analysis::{experiments, select};
use lobes::models::data::{self, Class, Image};
use lobes::models::generate::{Generator, Sampling};
use lobes::models::output::OutputFolder;
use lobes::models::ramis::balance::{balance_csv, balance_rows};
use lobes::models::ramis::bootstrap::ramis_interval;
use lobes::models::ramis::classifier::{Classifier, SIDE, correct, ramis};
use lobes::models::ramis::degrade::degrade;
use lobes::models::ramis::frechet::{Gaussian, frechet_distance};
use lobes::models::vae::ModelKind;
use std::path::PathBuf;

// `lobes ramis`; its help is the doc comment of `Command::Ramis`.
#[derive(clap::Args, Debug)]
pub(crate) struct RamisArgs {
    /// The classifier weights (`hmt-frdeepf.safetensors`).
    #[arg(long)]
    classifier: PathBuf,
    /// A data spec (labelled images).
    #[arg(long)]
    data: Option<String>,
    /// Split of `--data`: train, test, val:N[:SEED] (the images a run with `--validation N
    /// --split-seed SEED` held out) or fit:N[:SEED] (the rest of train).
    #[arg(long, default_value = "train")]
    split: String,
    /// A folder of unlabelled PNG/FITS stamps instead (e.g. written by `lobes generate`);
    /// smaller stamps are zero-padded to 150x150.
    #[arg(long)]
    images: Option<PathBuf>,
    /// Images generated from this checkpoint instead (100x100, zero-padded to 150x150).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Number of generated images.
    #[arg(long, default_value_t = 1000, value_parser = at_least_one())]
    n: usize,
    /// Latents of the generated images: `prior` or `uniform:LO,HI` (the paper: uniform:-4,4).
    #[arg(long, default_value = "prior")]
    sampling: String,
    /// Seed of the generated images' latents.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Bootstrap resamples for RAMIS's 95% interval (0: none).
    #[arg(long, default_value_t = 1000)]
    bootstrap: usize,
    /// Also the Fréchet distance, in the classifier's penultimate-layer features, between the
    /// images scored and the real images of this data spec (e.g. frdeep-f:DIR).
    #[arg(long, value_name = "SPEC")]
    frechet_data: Option<String>,
    /// The split of --frechet-data.
    #[arg(long, default_value = "train", value_name = "SPLIT")]
    frechet_split: String,
    /// Blank an edge strip of this many pixels first.
    #[arg(long, default_value_t = 0)]
    blank: usize,
    /// Gaussian blur with this (odd) kernel size first.
    #[arg(long, default_value_t = 1)]
    blur: usize,
    /// Add Gaussian noise of this amplitude first.
    #[arg(long, default_value_t = 0.0)]
    noise: f64,
}

// `lobes ramis-experiments`; its help is the doc comment of `Command::RamisExperiments`.
#[derive(clap::Args, Debug)]
pub(crate) struct RamisExperimentsArgs {
    /// The classifier weights (`hmt-frdeepf.safetensors`).
    #[arg(long)]
    classifier: PathBuf,
    /// A data spec of real images.
    #[arg(long)]
    data: String,
    /// Split of `--data`: train, test, val:N[:SEED] (the images a run with `--validation N
    /// --split-seed SEED` held out) or fit:N[:SEED] (the rest of train).
    #[arg(long, default_value = "train")]
    split: String,
    /// Output folder: blur.csv, noise.csv, blank.csv, ramis_experiments.png.
    #[arg(long)]
    out: PathBuf,
    /// Replace an earlier output of lobes in `--out` (the files its manifest lists are removed
    /// first); without it `--out` must be new or empty.
    #[arg(long)]
    overwrite: bool,
}

// `lobes class-balance`; its help is the doc comment of `Command::ClassBalance`.
#[derive(clap::Args, Debug)]
pub(crate) struct ClassBalanceArgs {
    /// A CVAE checkpoint written by `lobes train --model cvae`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The classifier weights.
    #[arg(long)]
    classifier: PathBuf,
    /// Images per class.
    #[arg(long, default_value_t = 1000, value_parser = at_least_one())]
    n: usize,
    /// Seed of the latent draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also write the table as CSV here.
    #[arg(long)]
    out: Option<PathBuf>,
}

// `lobes select`; its help is the doc comment of `Command::Select`.
#[derive(clap::Args, Debug)]
pub(crate) struct SelectArgs {
    /// The classifier weights.
    #[arg(long)]
    classifier: PathBuf,
    /// Generated images per run for RAMIS.
    #[arg(long, default_value_t = 1000, value_parser = at_least_one())]
    n: usize,
    /// Latents for RAMIS: `uniform:LO,HI` (the paper's protocol: uniform:-4,4) or `prior`.
    #[arg(long, default_value = "uniform:-4,4")]
    sampling: String,
    /// Also write the table as CSV here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run folders written by `lobes train`.
    #[arg(required = true)]
    runs: Vec<PathBuf>,
}

/// The images of exactly one of `--data`, `--images` and `--checkpoint`, padded to the
/// classifier's side, and their labels when they have some.
fn ramis_images(args: &RamisArgs) -> Result<(Vec<Image>, Option<Vec<Class>>), ModelError> {
    match (&args.data, &args.images, &args.checkpoint) {
        (Some(spec), None, None) => {
            let set = split_of(spec, &args.split)?;
            Ok((
                set.iter().map(|s| s.image.pad_to(SIDE)).collect(),
                Some(set.iter().map(|s| s.label).collect()),
            ))
        }
        (None, Some(dir), None) => {
            let imgs = data::png::load_images(dir)?;
            if let Some((name, i)) = imgs.iter().find(|(_, i)| i.size > SIDE) {
                return Err(ModelError::ClassifierImageSize {
                    image: Some(name.clone()),
                    side: i.size,
                });
            }
            Ok((imgs.iter().map(|(_, i)| i.pad_to(SIDE)).collect(), None))
        }
        (None, None, Some(c)) => {
            let sampling = Sampling::parse(&args.sampling).ok_or_else(|| {
                ModelError::invalid_option(
                    "--sampling",
                    &args.sampling,
                    format!(
                        "--sampling '{}': expected prior or uniform:LO,HI with LO < HI",
                        args.sampling
                    ),
                )
            })?;
            let imgs = Generator::load(c)?.generate(args.n, None, sampling, args.seed)?;
            Ok((imgs.iter().map(|i| i.pad_to(SIDE)).collect(), None))
        }
        _ => Err(ModelError::conflicting_options(
            &["--data", "--images", "--checkpoint"],
            "give exactly one of --data, --images or --checkpoint",
        )),
    }
}

pub(crate) fn run_ramis(args: RamisArgs) -> Result<(), ModelError> {
    let clf = Classifier::load(&args.classifier)?;
    let (images, labels) = ramis_images(&args)?;
    let images = degrade(&images, args.blank, args.blur, args.noise)?;
    if let Some(spec) = &args.frechet_data {
        let real: Vec<Image> = split_of(spec, &args.frechet_split)?
            .iter()
            .map(|s| s.image.pad_to(SIDE))
            .collect();
        let d = frechet_distance(
            &Gaussian::fit(&clf.features(&images)?),
            &Gaussian::fit(&clf.features(&real)?),
        );
        println!(
            "Frechet distance to {spec} ({}, {} images) in the classifier's features: {d:.4}",
            args.frechet_split,
            real.len()
        );
    }
    let p = clf.probs(&images)?;
    let r = ramis(&p, 1e-12);
    if args.bootstrap > 0 {
        let (lo, hi) = ramis_interval(&p, 1e-12, args.bootstrap, 0.95, args.seed);
        println!(
            "RAMIS {r:.4} (95% bootstrap interval {lo:.4}-{hi:.4}, {} images, {} resamples)",
            p.len(),
            args.bootstrap
        );
    } else {
        println!("RAMIS {r:.4}");
    }
    if let Some(labels) = labels {
        let ok = correct(&p, &labels);
        println!(
            "accuracy {:.4} ({ok}/{})",
            ok as f64 / labels.len() as f64,
            labels.len()
        );
        // Per class: the ceiling of Table 4's columns (how often the classifier calls a real
        // FRI an FRI).
        for c in Class::ALL {
            let (pc, lc): (Vec<[f64; 2]>, Vec<Class>) = p
                .iter()
                .zip(&labels)
                .filter(|(_, l)| **l == c)
                .map(|(p, l)| (*p, *l))
                .unzip();
            if !lc.is_empty() {
                let ok = correct(&pc, &lc);
                println!(
                    "{} classified {}: {:.1}% ({ok}/{})",
                    c.name(),
                    c.name(),
                    100.0 * ok as f64 / lc.len() as f64,
                    lc.len()
                );
            }
        }
    }
    Ok(())
}

pub(crate) fn run_experiments(args: RamisExperimentsArgs) -> Result<(), ModelError> {
    let RamisExperimentsArgs {
        classifier,
        data: spec,
        split,
        out,
        overwrite,
    } = args;
    let folder = OutputFolder::claim(&out, "lobes ramis-experiments", overwrite)?;
    let clf = Classifier::load(&classifier)?;
    let set = split_of(&spec, &split)?;
    let images: Vec<Image> = set.iter().map(|s| s.image.pad_to(SIDE)).collect();
    let curves = experiments::run(&clf, &images)?;
    let name = spec.split(':').next().unwrap_or(&spec);
    experiments::write(&out, &curves, &format!("{name}, {split} split"))?;
    for c in &curves {
        let pts: Vec<String> = c
            .points
            .iter()
            .map(|(v, r)| format!("{v}:{r:.3}"))
            .collect();
        println!("{:5} {}", c.name, pts.join(" "));
    }
    println!("wrote {}", out.join("ramis_experiments.png").display());
    folder.finish()?;
    Ok(())
}

pub(crate) fn run_class_balance(args: ClassBalanceArgs) -> Result<(), ModelError> {
    let ClassBalanceArgs {
        checkpoint,
        classifier,
        n,
        seed,
        out,
    } = args;
    let clf = Classifier::load(&classifier)?;
    let mut g = Generator::load(&checkpoint)?;
    if g.kind != ModelKind::Cvae {
        return Err(ModelError::wrong_model(
            &checkpoint,
            format!(
                "class balance needs a CVAE checkpoint, this is a {}",
                g.kind.name()
            ),
        ));
    }
    println!("latents          requested     n  scored FRI  scored FRII  correct");
    let rows = balance_rows(&mut g, &clf, n, seed)?;
    for row in &rows {
        let r = &row.balance;
        println!(
            "{:16} {:9} {:5} {:11} {:12} {:6.1}%",
            row.latents,
            r.requested.name(),
            r.n,
            r.scored[0],
            r.scored[1],
            r.percent_correct()
        );
    }
    if let Some(out) = out {
        lobes::ppl::io::write_atomic(&out, balance_csv(&rows).as_bytes())?;
        let png = out.with_extension("png");
        lobes::models::figures::class_balance_figure(&png, &rows)?;
        println!("wrote {} and {}", out.display(), png.display());
    }
    Ok(())
}

pub(crate) fn run_select(args: SelectArgs) -> Result<(), ModelError> {
    let clf = Classifier::load(&args.classifier)?;
    let sampling = Sampling::from_option("--sampling", &args.sampling)?;
    let scores = select::score_runs(&clf, &args.runs, args.n, sampling)?;
    let keep = select::select(&scores);
    for (r, k) in scores.iter().zip(&keep) {
        println!(
            "{:40} RAMIS {:.4}  test loss {:10.3}  {}",
            r.name,
            r.ramis,
            r.test_loss,
            if *k { "selected" } else { "" }
        );
    }
    if let Some(out) = &args.out {
        lobes::ppl::io::write_atomic(out, select::selection_csv(&scores, &keep).as_bytes())?;
    }
    Ok(())
}
