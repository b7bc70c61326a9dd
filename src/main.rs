//! The `lobes` command-line tool. It only wires the library crates together.

use clap::{Parser, Subcommand, ValueEnum};
use lobes::models::ModelError;
use lobes::models::data::{
    self, Class, DataError, Image, Sample, fetch, fits::Wcs, inspect, prepare,
    synthetic::Synthetic, writers,
};
use lobes::models::generate::{Generator, Sampling};
use lobes::models::ramis::classifier::SIDE as CLASSIFIER_SIDE;
use lobes::models::train::{self, TrainOptions};
use lobes::models::vae::ModelKind;
use lobes::models::vae::{GuideScale, Likelihood, Prior, VaeConfig};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Simulating populations of radio galaxies with structured variational inference.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Data sets: download, prepare, inspect, synthesise.
    #[command(subcommand)]
    Data(DataCmd),
    /// Train the VAE or CVAE with SVI.
    Train(TrainArgs),
    /// The RAMIS classifier (the HMT network of Tang et al. 2019).
    #[command(subcommand)]
    Classifier(ClassifierCmd),
    /// RAMIS of a set of images, with the classifier's accuracy when labels exist.
    Ramis {
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
    },
    /// The RAMIS metric experiments (paper §4.1, Figure 1): blur, noise and edge blanking.
    RamisExperiments {
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
    },
    /// CVAE class balance (Table 4): generate N of each class, classify them, report the
    /// percentage scored as the requested class, for uniform(-4, 4) and prior latents.
    ClassBalance {
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
    },
    /// A run's curve beside the paper's own log (test loss and RAMIS against epoch): a figure
    /// and a Markdown table at matching epochs.
    ComparePaper {
        /// Our run's `metrics.csv`.
        #[arg(long)]
        metrics: PathBuf,
        /// Your copy of the paper's log (joshen1307/RAGA, e.g.
        /// `PYTHON/OUTPUT_LOGS/data_unsupervised_d32.csv`).
        #[arg(long)]
        paper_log: PathBuf,
        /// The figure (PNG).
        #[arg(long)]
        out: PathBuf,
        /// Also write the table here (Markdown); it is printed either way.
        #[arg(long)]
        table: Option<PathBuf>,
        /// Title of the panels.
        #[arg(long, default_value = "VAE, d = 32, FRDEEP-F")]
        title: String,
    },
    /// Model selection (§5.3): RAMIS and final test loss of each run; keeps the runs above the
    /// mean RAMIS and below the mean test loss.
    Select {
        /// The classifier weights.
        #[arg(long)]
        classifier: PathBuf,
        /// Generated images per run for RAMIS.
        #[arg(long, default_value_t = 1000, value_parser = at_least_one())]
        n: usize,
        /// Also write the table as CSV here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Run folders written by `lobes train`.
        #[arg(required = true)]
        runs: Vec<PathBuf>,
    },
    /// Noise analysis (§6.2, Figure 9): percentage of pixels below 5e-5, and the images
    /// saturated at their 95th percentile on a log scale.
    Noise {
        /// Images generated from this checkpoint.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Or real images from a data spec.
        #[arg(long)]
        data: Option<String>,
        /// Split of `--data`.
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
    },
    /// FRI/FRII pairs from the same latent points with brightness profiles along the source's
    /// principal axis (§6.5, Figure 11).
    Pairs {
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
    },
    /// Images per second of `SVI.step` on the paper's VAE beside a hand-written burn loop on
    /// the same network and loss, with the PPL's Adam and with burn's (docs/performance.md).
    Bench {
        /// Encoder hidden widths.
        #[arg(long, value_delimiter = ',', default_value = "4096,2048,1024,512,256")]
        hidden: Vec<usize>,
        /// Latent dimension.
        #[arg(long, default_value_t = 32)]
        latent: usize,
        /// Images per step.
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// Timed steps per round.
        #[arg(long, default_value_t = 6)]
        steps: usize,
        /// Rounds; the best of each variant is reported.
        #[arg(long, default_value_t = 2)]
        rounds: usize,
    },
    /// Learning-rate search: train briefly at each rate, report the test losses (paper §5.2).
    LrSearch {
        /// Smallest rate.
        #[arg(long, default_value_t = 0.0005)]
        from: f64,
        /// Largest rate.
        #[arg(long, default_value_t = 0.0015)]
        to: f64,
        /// Step between rates.
        #[arg(long, default_value_t = 0.0001)]
        step: f64,
        #[command(flatten)]
        train: TrainArgs,
    },
    /// Redraw a chart from the CSV its command wrote (no run, checkpoint or classifier needed).
    Plot {
        /// loss (a run's metrics.csv), accuracy (the classifier's metrics.csv),
        /// ramis-experiments (the folder of blur.csv, noise.csv, blank.csv), lr-search
        /// (lr_search.csv), class-balance (`lobes class-balance --out`), profiles (profiles.csv
        /// of `lobes pairs`).
        #[arg(long)]
        kind: String,
        /// The CSV (a folder for ramis-experiments).
        #[arg(long)]
        csv: PathBuf,
        /// The figure (PNG).
        #[arg(long)]
        out: PathBuf,
        /// Title (loss, accuracy, lr-search) or legend entry (ramis-experiments) instead of the
        /// default.
        #[arg(long)]
        title: Option<String>,
    },
    /// Generate stamps from a trained model.
    Generate {
        /// A checkpoint written by `lobes train`.
        #[arg(long)]
        checkpoint: PathBuf,
        /// Number of stamps.
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
        /// Output folder: `grid.png` and the stamps (a CVAE's in `FRI/` and `FRII/` with
        /// `labels.csv`; a VAE's, which have no class, in the folder itself).
        #[arg(long)]
        out: PathBuf,
    },
    /// A survey-like field: a FITS image (TAN WCS, Jy/beam, beam keywords) of N sources from a
    /// checkpoint or the synthetic generator, with its truth catalogue (CSV and FITS table).
    /// Defaults are FIRST's: 1.8" pixels, 5.4" beam, 0.15 mJy/beam rms.
    SimulateField {
        /// Width, pixels.
        #[arg(long, default_value_t = 2048)]
        width: usize,
        /// Height, pixels.
        #[arg(long, default_value_t = 2048)]
        height: usize,
        /// Pixel size, arcsec.
        #[arg(long, default_value_t = 1.8, allow_negative_numbers = true)]
        pixel_scale: f64,
        /// Right ascension of the centre, degrees.
        #[arg(long, default_value_t = 180.0, allow_negative_numbers = true)]
        ra: f64,
        /// Declination of the centre, degrees.
        #[arg(long, default_value_t = 30.0, allow_negative_numbers = true)]
        dec: f64,
        /// Beam FWHM, arcsec (circular; at least the stamps' own, 3 stamp pixels).
        #[arg(long, default_value_t = 5.4, allow_negative_numbers = true)]
        beam: f64,
        /// Gaussian noise rms, Jy/beam (0: noiseless).
        #[arg(long, default_value_t = 1.5e-4, allow_negative_numbers = true)]
        rms: f64,
        /// Number of sources.
        #[arg(long, default_value_t = 1000)]
        n: usize,
        /// Slope of the source counts, dN/dS ∝ S^-slope.
        #[arg(long, default_value_t = 1.7, allow_negative_numbers = true)]
        slope: f64,
        /// Faintest integrated flux, Jy.
        #[arg(long, default_value_t = 1e-3, allow_negative_numbers = true)]
        smin: f64,
        /// Brightest integrated flux, Jy (`inf` allowed when the slope is above 1).
        #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
        smax: f64,
        /// Fraction of FRI sources (CVAE or synthetic generator; 0.5 when absent).
        #[arg(long, allow_negative_numbers = true)]
        fri_fraction: Option<f64>,
        /// A stamp pixel on the sky, arcsec (FIRST's 1.8": sources as large as in the
        /// training stamps; smaller shrinks them).
        #[arg(long, default_value_t = 1.8, allow_negative_numbers = true)]
        stamp_pixel: f64,
        /// A VAE or CVAE checkpoint; the built-in synthetic generator when absent.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Latents of the checkpoint's sources: `prior` or `uniform:LO,HI`.
        #[arg(long, default_value = "prior")]
        sampling: String,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// No progress bar (it is hidden anyway when stderr is not a terminal).
        #[arg(long)]
        no_progress: bool,
        /// Output folder: field.fits, truth.csv, truth.fits.
        #[arg(long)]
        out: PathBuf,
    },
    /// Inputs beside their reconstructions (the paper's Figure 7).
    Reconstruct {
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
    },
    /// Decoded images over a 2-D latent grid, -4..4 in 0.4 steps (the paper's Figure 10).
    LatentGrid {
        /// A checkpoint of a d = 2 model.
        #[arg(long)]
        checkpoint: PathBuf,
        /// Class, for the CVAE.
        #[arg(long, default_value = "FRI")]
        class: String,
        /// Output PNG.
        #[arg(long)]
        out: PathBuf,
    },
    /// Reconstructions of fixed inputs at every saved checkpoint of a run (the paper's Figure 8).
    Evolution {
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
    },
}

#[derive(clap::Args, Debug, Clone)]
struct TrainArgs {
    /// `vae` or `cvae`.
    #[arg(long, default_value = "vae")]
    model: String,
    /// Latent dimension d.
    #[arg(long, default_value_t = 32)]
    latent: usize,
    /// Hidden widths, encoder order (Table 2: 4096,2048,1024,512,256).
    #[arg(long, value_delimiter = ',', default_value = "4096,2048,1024,512,256")]
    hidden: Vec<usize>,
    /// Dropout after each hidden layer.
    #[arg(long, default_value_t = 0.2)]
    dropout: f64,
    /// Leaky-ReLU slope.
    #[arg(long, default_value_t = 0.001)]
    slope: f64,
    /// Data spec: `synthetic[:N]`, `frdeep-f:DIR`, `png:DIR`, ...
    #[arg(long, default_value = "synthetic")]
    data: String,
    /// Epochs.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.001)]
    lr: f64,
    /// `adam` or `adagrad` (the paper's code uses Adagrad).
    #[arg(long, default_value = "adam")]
    optim: String,
    /// Clamp each gradient element to [-C, C] (Pyro's ClippedAdam; with `--optim adam`).
    #[arg(long, value_name = "C")]
    clip_norm: Option<f64>,
    /// Stop after this many bad steps (non-finite loss or gradient) in a row; each bad step is
    /// skipped or rolled back to the last checkpoint, halving the learning rate.
    #[arg(long, default_value_t = 5)]
    max_bad_steps: usize,
    /// The guide's scale: `exp` (the paper; the default for a new run), `softplus` (grows
    /// linearly above 0) or `exp-clamp` (`exp` of the head clamped to [-15, 10]). On --resume
    /// the checkpoint's unless given; a different one takes over from the next step.
    #[arg(long)]
    scale: Option<String>,
    /// The pixel likelihood p(x | z): bernoulli (the paper), continuous-bernoulli, normal
    /// (σ = 0.1), normal-learned, laplace or beta (docs/user-guide.md).
    #[arg(long, default_value = "bernoulli")]
    likelihood: String,
    /// The latent prior p(z): normal (the paper), laplace, student-t or mixture (a learnable
    /// mixture of 10 Gaussians).
    #[arg(long, default_value = "normal")]
    prior: String,
    /// The RAMIS classifier (`hmt-frdeepf.safetensors`): measure RAMIS while training.
    #[arg(long)]
    classifier: Option<PathBuf>,
    /// Measure RAMIS every K epochs (and at epoch 0 and the last; default 10); needs
    /// `--classifier`.
    #[arg(long, value_parser = at_least_one())]
    ramis_every: Option<usize>,
    /// Images generated per RAMIS measurement (the paper: 100).
    #[arg(long, default_value_t = 100, value_parser = at_least_one())]
    ramis_n: usize,
    /// Latents for RAMIS: `uniform:LO,HI` (the paper: uniform:-4,4) or `prior`.
    #[arg(long, default_value = "uniform:-4,4")]
    ramis_sampling: String,
    /// Images per step.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Rotation augmentation step in degrees (0: none).
    #[arg(long, default_value_t = 1.0)]
    augment_step: f64,
    /// Evaluate the test loss every K epochs.
    #[arg(long, default_value_t = 1)]
    eval_every: usize,
    /// Checkpoint every K epochs.
    #[arg(long, default_value_t = 1)]
    checkpoint_every: usize,
    /// Keep only the newest N epoch checkpoints in `checkpoints/` (0: all; a Table-2
    /// checkpoint is 1.25 GB). The latest, `checkpoint.safetensors`, is always kept.
    #[arg(long, default_value_t = 0)]
    keep_checkpoints: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Run folder.
    #[arg(long, default_value = "runs/vae")]
    out: PathBuf,
    /// Continue the run in `--out` from its last checkpoint.
    #[arg(long)]
    resume: bool,
}

/// A count that must be at least 1 (`--n`): clap refuses 0 with the option's name.
fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
}

impl TrainArgs {
    fn options(&self) -> Result<TrainOptions, ModelError> {
        let kind = ModelKind::parse(&self.model).ok_or_else(|| {
            ModelError::Config(format!("unknown model '{}' (vae, cvae)", self.model))
        })?;
        Ok(TrainOptions {
            kind,
            net: VaeConfig {
                pixels: 10_000,
                latent: self.latent,
                hidden: self.hidden.clone(),
                dropout: self.dropout,
                slope: self.slope,
                classes: 0,
                scale: GuideScale::Exp,
                likelihood: Likelihood::parse(&self.likelihood)?,
                prior: Prior::parse(&self.prior)?,
            },
            scale: self.scale.as_deref().map(GuideScale::parse).transpose()?,
            data: self.data.clone(),
            epochs: self.epochs,
            lr: self.lr,
            optim: self.optim.clone(),
            clip_norm: self.clip_norm,
            max_bad_steps: self.max_bad_steps,
            ramis: match &self.classifier {
                None if self.ramis_every.is_some() => {
                    return Err(ModelError::Config(
                        "--ramis-every measures RAMIS with a classifier: give --classifier too"
                            .into(),
                    ));
                }
                Some(c) => Some(train::RamisOptions {
                    classifier: c.clone(),
                    every: self.ramis_every.unwrap_or(10),
                    n: self.ramis_n,
                    sampling: Sampling::parse(&self.ramis_sampling).ok_or_else(|| {
                        ModelError::Config(format!(
                            "--ramis-sampling '{}': expected prior or uniform:LO,HI with LO < HI",
                            self.ramis_sampling
                        ))
                    })?,
                }),
                None => None,
            },
            batch: self.batch,
            augment_step: self.augment_step,
            eval_every: self.eval_every,
            checkpoint_every: self.checkpoint_every,
            keep_checkpoints: self.keep_checkpoints,
            seed: self.seed,
            out: self.out.clone(),
            resume: self.resume,
            progress: true,
        })
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Png,
    Fits,
}

#[derive(Subcommand, Debug)]
enum ClassifierCmd {
    /// Train it from scratch: Adagrad, random rotations, a validation split; keeps the weights
    /// with the best validation accuracy and reports test accuracy per class.
    Train {
        /// Labelled data spec (150x150, or smaller and zero-padded).
        #[arg(long)]
        data: String,
        /// Epochs.
        #[arg(long, default_value_t = 30)]
        epochs: usize,
        /// Images per step.
        #[arg(long, default_value_t = 32)]
        batch: usize,
        /// Adagrad learning rate.
        #[arg(long, default_value_t = 0.01)]
        lr: f64,
        /// Fraction of the training split held out for validation.
        #[arg(long, default_value_t = 0.1)]
        val_fraction: f64,
        /// Weight the classes by n / (2 n_class) in the loss.
        #[arg(long)]
        class_weights: bool,
        /// Train on unrotated images.
        #[arg(long)]
        no_rotate: bool,
        /// Dropout after the fully-connected hidden layers.
        #[arg(long, default_value_t = 0.5)]
        dropout: f64,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output folder: classifier.safetensors, metrics.csv, accuracy.png, test.csv.
        #[arg(long, default_value = "runs/classifier")]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum DataCmd {
    /// Download a published data set, verify its MD5 and unpack it.
    Fetch {
        /// `frdeep-f` or `frdeep-n`.
        name: String,
        /// Folder to unpack into.
        #[arg(long, default_value = "data")]
        dir: PathBuf,
        /// A mirror to download from instead of the published URL (the file name is appended).
        #[arg(long, env = "LOBES_DATA_URL")]
        base_url: Option<String>,
    },
    /// Turn raw FIRST FITS cut-outs into training stamps (the MiraBest recipe).
    Prepare {
        /// Folder of `<code>_<RA><Dec>_<z>_<size>.fits` cut-outs.
        #[arg(long)]
        input: PathBuf,
        /// Output folder: `<class>/<name>.<format>` and `labels.csv`.
        #[arg(long)]
        out: PathBuf,
        /// Stamp format.
        #[arg(long, value_enum, default_value = "png")]
        format: Format,
        /// Central crop in pixels.
        #[arg(long, default_value_t = 150)]
        crop: usize,
    },
    /// Counts per class and split, zero-pixel fraction, blank and duplicate images.
    Inspect {
        /// A data spec: `synthetic`, `frdeep:DIR`, `png:DIR`, or a folder (detected).
        spec: String,
    },
    /// Write the built-in synthetic FRI/FRII population as stamps.
    Synthetic {
        /// Output folder: `<class>/<name>.<format>`, `labels.csv`, `grid.png`.
        #[arg(long)]
        out: PathBuf,
        /// Sources per class.
        #[arg(long, default_value_t = 50, value_parser = at_least_one())]
        n: usize,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Stamp format.
        #[arg(long, value_enum, default_value = "png")]
        format: Format,
    },
}

/// Writes one stamp as `dir/name.png` or `dir/name.fits` (with the sample's RA/Dec, if any).
fn write_stamp(dir: &Path, s: &Sample, format: Format) -> Result<PathBuf, DataError> {
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    Ok(match format {
        Format::Png => {
            let f = dir.join(format!("{}.png", s.name));
            writers::write_png(&f, &s.image)?;
            f
        }
        Format::Fits => {
            let f = dir.join(format!("{}.fits", s.name));
            let deg = |k: &str| s.meta.get(k).and_then(|v| v.parse().ok()).unwrap_or(0.0);
            let wcs = Wcs {
                ra: deg("ra"),
                dec: deg("dec"),
                ..Wcs::default()
            };
            writers::write_fits(&f, &s.image, &wcs, "normalised")?;
            f
        }
    })
}

/// Writes labelled stamps into `out/FRI/` and `out/FRII/`, and `out/labels.csv`.
fn write_stamps(out: &Path, rows: &[(&str, &Sample)], format: Format) -> Result<(), DataError> {
    let mut csv = vec![];
    for (split, s) in rows {
        let file = write_stamp(&out.join(s.label.name()), s, format)?;
        let rel = file
            .strip_prefix(out)
            .unwrap_or(&file)
            .display()
            .to_string();
        csv.push((rel, split.to_string(), *s));
    }
    writers::write_labels_csv(&out.join("labels.csv"), &csv)
}

fn run(cli: Cli) -> Result<(), ModelError> {
    match cli.command {
        Command::Data(DataCmd::Fetch {
            name,
            dir,
            base_url,
        }) => {
            let a = fetch::archive(&name).ok_or_else(|| {
                DataError::format(Path::new(&name), "unknown data set (frdeep-f, frdeep-n)")
            })?;
            let got = fetch::fetch(&a, &dir, base_url.as_deref())?;
            println!(
                "{} ready in {} (MD5 {} verified)",
                a.name,
                got.display(),
                a.md5
            );
        }
        Command::Data(DataCmd::Prepare {
            input,
            out,
            format,
            crop,
        }) => {
            let (samples, skipped) = prepare::prepare_dir(&input, crop)?;
            let rows: Vec<(&str, &Sample)> = samples.iter().map(|s| ("all", s)).collect();
            write_stamps(&out, &rows, format)?;
            let zeros = samples
                .iter()
                .flat_map(|s| &s.image.pixels)
                .filter(|&&v| v == 0.0)
                .count();
            let total = samples.len() * crop * crop;
            println!(
                "prepared {} cut-outs into {} ({crop}x{crop}, {:.2}% zero pixels)",
                samples.len(),
                out.display(),
                100.0 * zeros as f64 / total.max(1) as f64
            );
            for s in skipped {
                println!("skipped {s}");
            }
        }
        Command::Data(DataCmd::Inspect { spec }) => {
            print!("{}", inspect::inspect(&data::load_spec(&spec)?));
        }
        Command::Data(DataCmd::Synthetic {
            out,
            n,
            seed,
            format,
        }) => {
            let samples = Synthetic::default().samples(n, seed, 0);
            let rows: Vec<(&str, &Sample)> = samples.iter().map(|s| ("train", s)).collect();
            write_stamps(&out, &rows, format)?;
            let grid: Vec<Image> = samples
                .iter()
                .step_by((samples.len() / 16).max(1))
                .take(16)
                .map(|s| s.image.clone())
                .collect();
            writers::write_grid(&out.join("grid.png"), &grid, 4)?;
            println!(
                "wrote {} synthetic sources to {}",
                samples.len(),
                out.display()
            );
        }
        Command::Classifier(ClassifierCmd::Train {
            data,
            epochs,
            batch,
            lr,
            val_fraction,
            class_weights,
            no_rotate,
            dropout,
            seed,
            out,
        }) => {
            use lobes::models::ramis::hmt::{ClassifierOptions, train_classifier};
            let r = train_classifier(&ClassifierOptions {
                data,
                epochs,
                batch,
                lr,
                val_fraction,
                class_weights,
                rotate: !no_rotate,
                dropout,
                seed,
                out,
            })?;
            let t = r.test;
            println!(
                "kept epoch {} -> {}\ntest accuracy {:.4} (FRI {:.4} of {}, FRII {:.4} of {})",
                r.best_epoch,
                r.checkpoint.display(),
                t.overall,
                t.per_class[0],
                t.counts[0],
                t.per_class[1],
                t.counts[1]
            );
        }
        Command::Bench {
            hidden,
            latent,
            batch,
            steps,
            rounds,
        } => {
            use lobes::models::bench::{BenchConfig, describe, run, table};
            let cfg = BenchConfig {
                hidden,
                latent,
                batch,
                steps,
                rounds,
                ..Default::default()
            };
            cfg.validate()?;
            println!("{}", describe(&cfg));
            print!("{}", table(&run(&cfg)?));
        }
        Command::ClassBalance {
            checkpoint,
            classifier,
            n,
            seed,
            out,
        } => {
            use lobes::models::ramis::balance::class_balance;
            use lobes::models::ramis::classifier::Classifier;
            let clf = Classifier::load(&classifier)?;
            let mut g = Generator::load(&checkpoint)?;
            if g.kind != ModelKind::Cvae {
                return Err(ModelError::Config(format!(
                    "{}: class balance needs a CVAE checkpoint, this is a {}",
                    checkpoint.display(),
                    g.kind.name()
                )));
            }
            let mut csv =
                String::from("latents,requested,n,scored_FRI,scored_FRII,percent_correct\n");
            println!("latents          requested     n  scored FRI  scored FRII  correct");
            let mut figure_rows = vec![];
            for (label, sampling) in [
                ("uniform(-4,4)", Sampling::Uniform(-4.0, 4.0)),
                ("prior N(0,1)", Sampling::Prior),
            ] {
                let rows = class_balance(
                    n,
                    &mut |c, k| g.generate(k, Some(c), sampling, seed),
                    &|imgs| clf.probs(imgs),
                )?;
                for r in rows {
                    figure_rows.push(lobes::models::figures::BalanceRow {
                        latents: label.to_string(),
                        balance: r,
                    });
                    println!(
                        "{label:16} {:9} {:5} {:11} {:12} {:6.1}%",
                        r.requested.name(),
                        r.n,
                        r.scored[0],
                        r.scored[1],
                        r.percent_correct()
                    );
                    // The label has a comma (uniform(-4,4)): quoted, so CSV readers see 6 fields.
                    csv.push_str(&format!(
                        "\"{label}\",{},{},{},{},{:.2}\n",
                        r.requested.name(),
                        r.n,
                        r.scored[0],
                        r.scored[1],
                        r.percent_correct()
                    ));
                }
            }
            if let Some(out) = out {
                lobes::ppl::io::write_atomic(&out, csv.as_bytes())?;
                let png = out.with_extension("png");
                lobes::models::figures::class_balance_figure(&png, &figure_rows)?;
                println!("wrote {} and {}", out.display(), png.display());
            }
        }
        Command::Select {
            classifier,
            n,
            out,
            runs,
        } => {
            use lobes::models::analysis::{RunScore, select};
            use lobes::models::ramis::classifier::{Classifier, ramis};
            let clf = Classifier::load(&classifier)?;
            let mut scores = vec![];
            for run in &runs {
                let metrics = train::read_metrics(&run.join("metrics.csv"), usize::MAX)?;
                let test_loss =
                    metrics
                        .iter()
                        .rev()
                        .find_map(|m| m.test_loss)
                        .ok_or_else(|| {
                            ModelError::Config(format!(
                                "{}: no test loss in metrics.csv",
                                run.display()
                            ))
                        })?;
                let mut g = Generator::load(&run.join("checkpoint.safetensors"))?;
                let imgs: Vec<Image> = g
                    .generate(n, None, Sampling::Prior, 0)?
                    .iter()
                    .map(|i| i.pad_to(CLASSIFIER_SIDE))
                    .collect();
                scores.push(RunScore {
                    name: run.display().to_string(),
                    ramis: ramis(&clf.probs(&imgs)?, 1e-12),
                    test_loss,
                });
            }
            let keep = select(&scores);
            let mut csv = String::from("run,ramis,test_loss,selected\n");
            for (r, k) in scores.iter().zip(&keep) {
                println!(
                    "{:40} RAMIS {:.4}  test loss {:10.3}  {}",
                    r.name,
                    r.ramis,
                    r.test_loss,
                    if *k { "selected" } else { "" }
                );
                csv.push_str(&format!(
                    "{},{:.5},{:.4},{k}\n",
                    r.name, r.ramis, r.test_loss
                ));
            }
            if let Some(out) = out {
                lobes::ppl::io::write_atomic(&out, csv.as_bytes())?;
            }
        }
        Command::Noise {
            checkpoint,
            data: spec,
            split,
            images: image_dir,
            n,
            out,
        } => {
            use lobes::models::analysis::{NOISE_THRESHOLD, percent_below, quantile};
            let named: Vec<(String, Image)> = match (&checkpoint, &spec, &image_dir) {
                (Some(c), None, None) => Generator::load(c)?
                    .generate(n, None, Sampling::Prior, 0)?
                    .into_iter()
                    .enumerate()
                    .map(|(i, img)| (format!("generated_{i}"), img))
                    .collect(),
                (None, Some(spec), None) => {
                    let ds = data::load_spec(spec)?;
                    let set = ds.split(&split).ok_or_else(|| {
                        ModelError::Config(format!("unknown split '{split}' (train, test)"))
                    })?;
                    set.iter()
                        .take(n)
                        .map(|s| (s.name.clone(), s.image.clone()))
                        .collect()
                }
                (None, None, Some(dir)) => {
                    data::png::load_images(dir)?.into_iter().take(n).collect()
                }
                _ => {
                    return Err(ModelError::Config(
                        "give exactly one of --checkpoint, --data or --images".into(),
                    ));
                }
            };
            std::fs::create_dir_all(&out).map_err(|e| DataError::io(&out, e))?;
            let mut csv = String::from("image,percent_below_5e-5,p95,max\n");
            let mut total = 0.0;
            for (name, img) in &named {
                let pct = percent_below(img, NOISE_THRESHOLD);
                total += pct;
                let max = img.pixels.iter().cloned().fold(0.0f32, f32::max);
                csv.push_str(&format!(
                    "{name},{pct:.3},{:e},{max}\n",
                    quantile(img, 0.95)
                ));
            }
            lobes::ppl::io::write_atomic(&out.join("noise.csv"), csv.as_bytes())?;
            let images: Vec<Image> = named.iter().map(|(_, i)| i.clone()).collect();
            let source = match (&checkpoint, &spec) {
                (Some(_), _) => "images generated from the checkpoint".to_string(),
                (None, Some(spec)) => {
                    format!("{}, {split} split", spec.split(':').next().unwrap_or(spec))
                }
                _ => "images from the folder".to_string(),
            };
            lobes::models::figures::noise_figure(&out.join("noise.png"), &images, &source)?;
            println!(
                "{:.2}% of pixels below 5e-5 (mean over {} images); noise.csv and noise.png in {}",
                total / named.len().max(1) as f64,
                named.len(),
                out.display()
            );
        }
        Command::Pairs {
            checkpoint,
            n,
            sampling,
            seed,
            out,
        } => {
            use lobes::models::analysis::pair;
            let sampling = Sampling::parse(&sampling).ok_or_else(|| {
                ModelError::Config(format!(
                    "unknown sampling '{sampling}' (prior, uniform:LO,HI)"
                ))
            })?;
            let mut g = Generator::load(&checkpoint)?;
            if g.kind != ModelKind::Cvae {
                return Err(ModelError::Config(format!(
                    "{}: pairs need a CVAE checkpoint, this is a {}",
                    checkpoint.display(),
                    g.kind.name()
                )));
            }
            let z = g.latents(n, sampling, seed)?;
            let fri = g.decode(&z, &vec![Class::FRI; n])?;
            let frii = g.decode(&z, &vec![Class::FRII; n])?;
            let pairs: Vec<_> = fri.into_iter().zip(frii).map(|(a, b)| pair(a, b)).collect();
            std::fs::create_dir_all(&out).map_err(|e| DataError::io(&out, e))?;
            let mut csv = String::from("pair,offset,FRI,FRII\n");
            for (k, p) in pairs.iter().enumerate() {
                for (t, a, b) in &p.profile {
                    csv.push_str(&format!("{k},{t},{a:.6},{b:.6}\n"));
                }
            }
            lobes::ppl::io::write_atomic(&out.join("profiles.csv"), csv.as_bytes())?;
            lobes::models::figures::pairs_figure(&out.join("pairs.png"), &pairs)?;
            println!(
                "{n} FRI/FRII pairs: pairs.png and profiles.csv in {}",
                out.display()
            );
        }
        Command::Ramis {
            classifier,
            data: spec,
            split,
            images: image_dir,
            checkpoint,
            n,
            blank,
            blur,
            noise,
        } => {
            use lobes::models::ramis::classifier::{
                Classifier, add_noise, blank_edges, gaussian_blur, ramis,
            };
            let clf = Classifier::load(&classifier)?;
            let (images, labels): (Vec<Image>, Option<Vec<Class>>) =
                match (&spec, &image_dir, &checkpoint) {
                    (Some(spec), None, None) => {
                        let ds = data::load_spec(spec)?;
                        let set = ds.split(&split).ok_or_else(|| {
                            ModelError::Config(format!("unknown split '{split}' (train, test)"))
                        })?;
                        (
                            set.iter()
                                .map(|s| s.image.pad_to(CLASSIFIER_SIDE))
                                .collect(),
                            Some(set.iter().map(|s| s.label).collect()),
                        )
                    }
                    (None, Some(dir), None) => {
                        let imgs = data::png::load_images(dir)?;
                        if let Some((name, i)) = imgs.iter().find(|(_, i)| i.size > CLASSIFIER_SIDE)
                        {
                            return Err(ModelError::Config(format!(
                                "{name} is {0}x{0}; the classifier takes 150x150",
                                i.size
                            )));
                        }
                        (
                            imgs.iter()
                                .map(|(_, i)| i.pad_to(CLASSIFIER_SIDE))
                                .collect(),
                            None,
                        )
                    }
                    (None, None, Some(c)) => {
                        let mut g = Generator::load(c)?;
                        let imgs = g.generate(n, None, Sampling::Prior, 0)?;
                        (
                            imgs.iter().map(|i| i.pad_to(CLASSIFIER_SIDE)).collect(),
                            None,
                        )
                    }
                    _ => {
                        return Err(ModelError::Config(
                            "give exactly one of --data, --images or --checkpoint".into(),
                        ));
                    }
                };
            let images: Vec<Image> = images
                .iter()
                .enumerate()
                .map(|(i, img)| {
                    add_noise(
                        &gaussian_blur(&blank_edges(img, blank), blur)?,
                        noise,
                        i as u64,
                    )
                })
                .collect::<Result<_, _>>()?;
            let p = clf.probs(&images)?;
            println!("RAMIS {:.4}", ramis(&p, 1e-12));
            if let Some(labels) = labels {
                let ok = p
                    .iter()
                    .zip(&labels)
                    .filter(|(p, l)| (if p[1] > p[0] { Class::FRII } else { Class::FRI }) == **l)
                    .count();
                println!(
                    "accuracy {:.4} ({ok}/{})",
                    ok as f64 / labels.len() as f64,
                    labels.len()
                );
            }
        }
        Command::RamisExperiments {
            classifier,
            data: spec,
            split,
            out,
        } => {
            let clf = lobes::models::ramis::classifier::Classifier::load(&classifier)?;
            let ds = data::load_spec(&spec)?;
            let set = ds.split(&split).ok_or_else(|| {
                ModelError::Config(format!("unknown split '{split}' (train, test)"))
            })?;
            let images: Vec<Image> = set
                .iter()
                .map(|s| s.image.pad_to(CLASSIFIER_SIDE))
                .collect();
            let curves = lobes::models::analysis::experiments::run(&clf, &images)?;
            let name = spec.split(':').next().unwrap_or(&spec);
            lobes::models::analysis::experiments::write(
                &out,
                &curves,
                &format!("{name}, {split} split"),
            )?;
            for c in &curves {
                let pts: Vec<String> = c
                    .points
                    .iter()
                    .map(|(v, r)| format!("{v}:{r:.3}"))
                    .collect();
                println!("{:5} {}", c.name, pts.join(" "));
            }
            println!("wrote {}", out.join("ramis_experiments.png").display());
        }
        Command::ComparePaper {
            metrics,
            paper_log,
            out,
            table,
            title,
        } => {
            use lobes::models::analysis::compare::{
                comparison_figure, comparison_table, read_paper_log,
            };
            let ours = train::read_metrics(&metrics, usize::MAX)?;
            if ours.is_empty() {
                return Err(ModelError::Config(format!(
                    "{}: no rows (missing or empty)",
                    metrics.display()
                )));
            }
            let paper = read_paper_log(&paper_log)?;
            let t = comparison_table(&ours, &paper);
            print!("{t}");
            if let Some(p) = table {
                lobes::ppl::io::write_atomic(&p, t.as_bytes())?;
            }
            comparison_figure(&out, &ours, &paper, &title)?;
            println!("wrote {}", out.display());
        }
        Command::Train(args) => {
            let opts = args.options()?;
            let mut net = opts.net.clone();
            net.classes = if opts.kind == ModelKind::Cvae { 2 } else { 0 };
            println!(
                "training {} (d = {}, {} parameters) on {} for {} epochs",
                opts.kind.name(),
                net.latent,
                net.num_params(),
                opts.data,
                opts.epochs
            );
            let rows = train::train(&opts)?;
            for r in &rows {
                let f = |v: Option<f64>| {
                    v.map(|v| format!("{v:9.2}"))
                        .unwrap_or_else(|| "        -".into())
                };
                let ramis = match (r.ramis, r.fri_percent, r.frii_percent) {
                    (Some(v), Some(a), Some(b)) => {
                        format!("  RAMIS {v:.4}  FRI {a:5.1}%  FRII {b:5.1}%")
                    }
                    (Some(v), _, _) => format!("  RAMIS {v:.4}"),
                    _ => String::new(),
                };
                let bad = if r.bad_steps > 0 {
                    format!("  {} bad steps", r.bad_steps)
                } else {
                    String::new()
                };
                println!(
                    "epoch {:3}  train {}  test {}  {:6.1} images/s{ramis}{bad}",
                    r.epoch,
                    f(r.train_loss),
                    f(r.test_loss),
                    r.images_per_s
                );
            }
            println!(
                "run in {}: metrics.csv, loss.png, samples.png, checkpoint.safetensors",
                opts.out.display()
            );
        }
        Command::LrSearch {
            from,
            to,
            step,
            train: args,
        } => {
            let mut rows = String::from("lr,final_train_loss,final_test_loss\n");
            let mut best: Option<(f64, f64)> = None;
            let mut pts = vec![];
            let n = ((to - from) / step).round() as usize;
            for k in 0..=n {
                let lr = from + k as f64 * step;
                let mut opts = args.options()?;
                opts.lr = lr;
                opts.out = args.out.join(format!("lr_{lr:.6}"));
                opts.resume = false;
                let r = train::train(&opts)?;
                let last = r
                    .last()
                    .ok_or_else(|| ModelError::Config("no epochs trained".into()))?;
                let (tr, te) = (
                    last.train_loss.unwrap_or(f64::NAN),
                    last.test_loss.unwrap_or(f64::NAN),
                );
                println!("lr {lr:.6}: train {tr:.2}, test {te:.2}");
                rows.push_str(&format!("{lr},{tr},{te}\n"));
                pts.push((lr, tr, te));
                if te.is_finite() && best.is_none_or(|(_, b)| te < b) {
                    best = Some((lr, te));
                }
            }
            std::fs::create_dir_all(&args.out).map_err(|e| DataError::io(&args.out, e))?;
            lobes::ppl::io::write_atomic(&args.out.join("lr_search.csv"), rows.as_bytes())?;
            lobes::models::figures::lr_search_figure(
                &args.out.join("lr_search.png"),
                &pts,
                &format!("Learning-rate search: loss after {} epochs", args.epochs),
            )?;
            if let Some((lr, t)) = best {
                println!(
                    "best lr {lr:.6} (test loss {t:.2}); table in {}",
                    args.out.join("lr_search.csv").display()
                );
            }
        }
        Command::Plot {
            kind,
            csv,
            out,
            title,
        } => {
            use lobes::models::figures::{PlotKind, plot_csv};
            let k = PlotKind::parse(&kind).ok_or_else(|| {
                let names: Vec<&str> = PlotKind::ALL.iter().map(|(n, _)| *n).collect();
                ModelError::Config(format!("unknown --kind '{kind}' ({})", names.join(", ")))
            })?;
            plot_csv(k, &csv, &out, title.as_deref())?;
            println!("wrote {}", out.display());
        }
        Command::Generate {
            checkpoint,
            n,
            class,
            sampling,
            format,
            seed,
            out,
        } => {
            let mut g = Generator::load(&checkpoint)?;
            let class = class
                .map(|c| {
                    Class::parse(&c).ok_or_else(|| {
                        ModelError::Config(format!("unknown class '{c}' (FRI, FRII)"))
                    })
                })
                .transpose()?;
            if g.kind == ModelKind::Vae && class.is_some() {
                return Err(ModelError::Config(format!(
                    "{}: a VAE generates without classes; --class needs a CVAE checkpoint",
                    checkpoint.display()
                )));
            }
            let s = Sampling::parse(&sampling).ok_or_else(|| {
                ModelError::Config(format!(
                    "unknown sampling '{sampling}' (prior, uniform:LO,HI)"
                ))
            })?;
            let images = g.generate(n, class, s, seed)?;
            let samples: Vec<Sample> = images
                .iter()
                .enumerate()
                .map(|(i, img)| Sample {
                    image: img.clone(),
                    label: class.unwrap_or(Class::ALL[i % 2]),
                    name: format!("generated_{i:05}"),
                    meta: Default::default(),
                })
                .collect();
            if g.kind == ModelKind::Cvae {
                let rows: Vec<(&str, &Sample)> = samples.iter().map(|s| ("generated", s)).collect();
                write_stamps(&out, &rows, format)?;
            } else {
                for s in &samples {
                    write_stamp(&out, s, format)?;
                }
            }
            writers::write_grid(
                &out.join("grid.png"),
                &images,
                (n as f64).sqrt().ceil() as usize,
            )?;
            println!("wrote {n} stamps and grid.png to {}", out.display());
        }
        Command::SimulateField {
            width,
            height,
            pixel_scale,
            ra,
            dec,
            beam,
            rms,
            n,
            slope,
            smin,
            smax,
            fri_fraction,
            stamp_pixel,
            checkpoint,
            sampling,
            seed,
            no_progress,
            out,
        } => {
            use lobes::models::field::{FieldConfig, Population, simulate};
            let cfg = FieldConfig {
                width,
                height,
                pixel_arcsec: pixel_scale,
                ra,
                dec,
                beam_arcsec: beam,
                rms,
                sources: n,
                slope,
                s_min: smin,
                s_max: smax,
                fri_fraction,
                stamp_pixel_arcsec: stamp_pixel,
                seed,
            };
            cfg.validate()?;
            let sampling = Sampling::parse(&sampling).ok_or_else(|| {
                ModelError::Config(format!(
                    "--sampling '{sampling}': expected prior or uniform:LO,HI with LO < HI"
                ))
            })?;
            let mut pop = match &checkpoint {
                None => Population::Synthetic(Synthetic::default()),
                Some(c) => Population::Model {
                    generator: Box::new(Generator::load(c)?),
                    sampling,
                },
            };
            pop.check(&cfg)?;
            let s = simulate(&cfg, &mut pop, &out, !no_progress)?;
            let bright = s
                .rows
                .iter()
                .filter(|r| rms > 0.0 && r.flux_peak > 10.0 * rms)
                .count();
            println!(
                "{width}x{height} field of {n} sources ({bright} with peak S/N > 10): {}, {}, {}",
                s.image.display(),
                s.csv.display(),
                s.table.display()
            );
        }
        Command::Reconstruct {
            checkpoint,
            data: spec,
            n,
            out,
        } => {
            let mut g = Generator::load(&checkpoint)?;
            let ds = data::load_spec(&spec)?;
            let inputs: Vec<Sample> = ds.test.iter().chain(&ds.train).take(n).cloned().collect();
            let rec = g.reconstruct(&inputs)?;
            let side = (g.net.pixels as f64).sqrt().round() as usize;
            let shown: Vec<Image> = inputs.iter().map(|s| s.image.centre_crop(side)).collect();
            lobes::models::figures::reconstructions_figure(
                &out,
                &shown,
                &rec,
                &format!(
                    "{}, d = {}: test inputs and their reconstructions",
                    g.kind.name().to_uppercase(),
                    g.net.latent
                ),
            )?;
            println!(
                "wrote {} (inputs in the top row, reconstructions below)",
                out.display()
            );
        }
        Command::LatentGrid {
            checkpoint,
            class,
            out,
        } => {
            let mut g = Generator::load(&checkpoint)?;
            if g.net.latent != 2 {
                return Err(ModelError::Config(format!(
                    "{}: latent-grid needs a d = 2 model, this one has d = {}",
                    checkpoint.display(),
                    g.net.latent
                )));
            }
            let c = Class::parse(&class)
                .ok_or_else(|| ModelError::Config(format!("unknown class '{class}'")))?;
            let ticks: Vec<f32> = (0..=20).map(|i| -4.0 + 0.4 * i as f32).collect();
            let z: Vec<f32> = ticks
                .iter()
                .rev()
                .flat_map(|&y| ticks.iter().flat_map(move |&x| [x, y]))
                .collect();
            let images = g.decode(&z, &vec![c; ticks.len() * ticks.len()])?;
            let title = match g.kind {
                ModelKind::Cvae => {
                    format!("CVAE, d = 2, {}: decoded over the latent grid", c.name())
                }
                ModelKind::Vae => "VAE, d = 2: decoded over the latent grid".to_string(),
            };
            lobes::models::figures::latent_grid_figure(&out, &images, &ticks, &title)?;
            println!(
                "wrote {} (z1 left to right, z2 bottom to top, -4..4 in 0.4 steps)",
                out.display()
            );
        }
        Command::Evolution {
            run,
            data: spec,
            n,
            out,
        } => {
            let ds = data::load_spec(&spec)?;
            let inputs: Vec<Sample> = ds.test.iter().chain(&ds.train).take(n).cloned().collect();
            let dir = run.join("checkpoints");
            let mut ckpts: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map_err(|e| DataError::io(&dir, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
                .collect();
            ckpts.sort();
            let mut columns = vec![];
            let mut side = 100;
            for c in &ckpts {
                let mut g = Generator::load(c)?;
                side = (g.net.pixels as f64).sqrt().round() as usize;
                columns.push((checkpoint_label(c), g.reconstruct(&inputs)?));
            }
            let shown: Vec<Image> = inputs.iter().map(|s| s.image.centre_crop(side)).collect();
            lobes::models::figures::evolution_figure(&out, &shown, &columns)?;
            println!(
                "wrote {}: one row per input, the input then one column per checkpoint ({})",
                out.display(),
                ckpts.len()
            );
        }
    }
    Ok(())
}

/// A checkpoint's column label: `epoch N` for `epoch_000N.safetensors`, else its file name.
fn checkpoint_label(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    match stem
        .strip_prefix("epoch_")
        .and_then(|n| n.parse::<usize>().ok())
    {
        Some(n) => format!("epoch {n}"),
        None => stem,
    }
}

fn main() -> ExitCode {
    lobes::tune_allocator();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
