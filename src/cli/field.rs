//! `lobes simulate-field`: a survey-like FITS field with its truth catalogue.

use lobes::models::ModelError;
use lobes::models::data::synthetic::Synthetic;
use lobes::models::field::{FieldConfig, Population, simulate};
use lobes::models::generate::{Generator, Sampling};
use lobes::models::output::OutputFolder;
use std::path::PathBuf;

// `lobes simulate-field`; its help is the doc comment of `Command::SimulateField`.
#[derive(clap::Args, Debug)]
pub(crate) struct SimulateFieldArgs {
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
    /// Replace an earlier output of lobes in `--out` (the files its manifest lists are removed
    /// first); without it `--out` must be new or empty.
    #[arg(long)]
    overwrite: bool,
}

pub(crate) fn run(args: SimulateFieldArgs) -> Result<(), ModelError> {
    let SimulateFieldArgs {
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
        overwrite,
    } = args;
    // Options first: a bad one is refused before anything is read or written.
    let sampling = Sampling::from_option("--sampling", &sampling)?;
    let folder = OutputFolder::claim(&out, "lobes simulate-field", overwrite)?;
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
    folder.finish()?;
    Ok(())
}
