//! `lobes simulate-field`: a survey-like FITS field with its truth catalogue.

use lobes::models::ModelError;
use lobes::models::data::synthetic::Synthetic;
use lobes::models::field::{BandWritten, FieldConfig, Population, simulate, simulate_on_ranks};
use lobes::models::generate::{Generator, Sampling};
use lobes::models::output::OutputFolder;
use lobes::models::train::Replicas;
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
    /// Render the field across the ranks of an MPI job: run under `mpirun -np N` (or `srun`);
    /// each rank renders a share of the image's bands into the one file rank 0 writes (the
    /// folder must be on a file system every rank sees). The field is byte-identical to a
    /// one-process run's. Needs a build with `--features mpi` (docs/user-guide.md).
    #[arg(long)]
    data_parallel: bool,
    /// With --data-parallel: the seconds a rank waits in one collective for the others before
    /// the job is aborted, naming the operation (a rank died or is stuck).
    #[arg(long, default_value_t = 300.0, value_name = "SECONDS")]
    collective_timeout: f64,
    /// Testing: --data-parallel's rule with N threads of this one process as the ranks.
    #[arg(long, hide = true, value_name = "N")]
    ranks_in_process: Option<usize>,
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
        data_parallel,
        collective_timeout,
        ranks_in_process,
    } = args;
    if !data_parallel {
        super::ranks::refuse_unasked_ranks("simulate-field")?;
    }
    // Options first: a bad one is refused before anything is read or written.
    let sampling = Sampling::from_option("--sampling", &sampling)?;
    let timeout = super::ranks::timeout(collective_timeout)?;
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
    let population = || -> Result<Population, ModelError> {
        let pop = match &checkpoint {
            None => Population::Synthetic(Synthetic::default()),
            Some(c) => Population::Model {
                generator: Box::new(Generator::load(c)?),
                sampling,
            },
        };
        pop.check(&cfg)?;
        Ok(pop)
    };
    // On ranks: rank 0 claims the folder, then every rank renders its share.
    // Each rank's failure to start is agreed on, so that none waits for another.
    let on_ranks = |ranks: &mut dyn Replicas| {
        let claimed = (ranks.rank() == 0)
            .then(|| OutputFolder::claim(&out, "lobes simulate-field", overwrite));
        let pop = population();
        let failed = matches!(claimed, Some(Err(_))) || pop.is_err();
        let any = ranks.max("start of simulate-field", u64::from(failed))?;
        let (folder, mut pop) = (claimed.transpose()?, pop?);
        if any > 0 {
            return Err(ModelError::data_parallel(
                Some(ranks.rank()),
                format!(
                    "simulate-field: another rank could not start (its message names the \
                     cause); rank {} stops",
                    ranks.rank()
                ),
            ));
        }
        // Rank 0 shows its share's bar.
        let mut bar = BandBar::new(!no_progress && ranks.rank() == 0, " (rank 0's bands)");
        let s = simulate_on_ranks(&cfg, &mut pop, &out, &mut |b| bar.show(b), ranks)?;
        bar.finish();
        Ok((s, folder))
    };
    let (s, folder) = match ranks_in_process {
        _ if data_parallel => super::ranks::on_mpi(timeout, on_ranks)?,
        Some(n) => super::ranks::on_threads(n, on_ranks)?,
        None => {
            let folder = OutputFolder::claim(&out, "lobes simulate-field", overwrite)?;
            let mut bar = BandBar::new(!no_progress, "");
            let s = simulate(&cfg, &mut population()?, &out, &mut |b| bar.show(b))?;
            bar.finish();
            (s, Some(folder))
        }
    };
    let Some(folder) = folder else {
        // Another rank than 0: rank 0 reports.
        return Ok(());
    };
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

/// The field's progress bar, drawn from the library's band events (hidden when `show` is
/// false, and by indicatif when stderr is not a terminal).
struct BandBar {
    bar: Option<indicatif::ProgressBar>,
    suffix: &'static str,
}

impl BandBar {
    fn new(show: bool, suffix: &'static str) -> Self {
        let bar = show.then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("field {bar:30} {pos}/{len} bands {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        BandBar { bar, suffix }
    }

    fn show(&mut self, b: BandWritten) {
        if let Some(bar) = &self.bar {
            bar.set_length(b.total as u64);
            bar.set_position(b.done as u64);
            bar.set_message(format!("{} sources held{}", b.sources_held, self.suffix));
        }
    }

    fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
