//! `lobes ramis`, `lobes ramis-experiments`, `lobes class-balance` and `lobes select`.

use super::{at_least_one, split_of};
use lobes::models::ModelError;
use lobes::models::analysis::{experiments, select};
use lobes::models::data::{self, Class, Image};
use lobes::models::generate::{Generator, Sampling};
use lobes::models::ramis::balance::{balance_csv, balance_rows};
use lobes::models::ramis::classifier::{Classifier, SIDE, correct, ramis};
use lobes::models::ramis::degrade::degrade;
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
    /// Split of `--data`.
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
    /// Split of `--data`.
    #[arg(long, default_value = "train")]
    split: String,
    /// Output folder: blur.csv, noise.csv, blank.csv, ramis_experiments.png.
    #[arg(long)]
    out: PathBuf,
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
                return Err(ModelError::Config(format!(
                    "{name} is {0}x{0}; the classifier takes 150x150",
                    i.size
                )));
            }
            Ok((imgs.iter().map(|(_, i)| i.pad_to(SIDE)).collect(), None))
        }
        (None, None, Some(c)) => {
            let imgs = Generator::load(c)?.generate(args.n, None, Sampling::Prior, 0)?;
            Ok((imgs.iter().map(|i| i.pad_to(SIDE)).collect(), None))
        }
        _ => Err(ModelError::Config(
            "give exactly one of --data, --images or --checkpoint".into(),
        )),
    }
}

pub(crate) fn run_ramis(args: RamisArgs) -> Result<(), ModelError> {
    let clf = Classifier::load(&args.classifier)?;
    let (images, labels) = ramis_images(&args)?;
    let images = degrade(&images, args.blank, args.blur, args.noise)?;
    let p = clf.probs(&images)?;
    println!("RAMIS {:.4}", ramis(&p, 1e-12));
    if let Some(labels) = labels {
        let ok = correct(&p, &labels);
        println!(
            "accuracy {:.4} ({ok}/{})",
            ok as f64 / labels.len() as f64,
            labels.len()
        );
    }
    Ok(())
}

pub(crate) fn run_experiments(args: RamisExperimentsArgs) -> Result<(), ModelError> {
    let RamisExperimentsArgs {
        classifier,
        data: spec,
        split,
        out,
    } = args;
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
        return Err(ModelError::Config(format!(
            "{}: class balance needs a CVAE checkpoint, this is a {}",
            checkpoint.display(),
            g.kind.name()
        )));
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
    let sampling = Sampling::parse(&args.sampling).ok_or_else(|| {
        ModelError::Config(format!(
            "--sampling '{}': expected prior or uniform:LO,HI with LO < HI",
            args.sampling
        ))
    })?;
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
