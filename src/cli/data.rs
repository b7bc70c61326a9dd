//! `lobes data`: download, prepare, inspect, synthesise.

use super::{Format, at_least_one};
use clap::Subcommand;
use lobes::models::ModelError;
use lobes::models::data::stamps::{percent_zero, write_stamps};
use lobes::models::data::{
    self, DataError, Image, Sample, fetch, inspect, prepare, synthetic::Synthetic, writers,
};
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub(crate) enum DataCmd {
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

pub(crate) fn run(cmd: DataCmd) -> Result<(), ModelError> {
    match cmd {
        DataCmd::Fetch {
            name,
            dir,
            base_url,
        } => {
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
        DataCmd::Prepare {
            input,
            out,
            format,
            crop,
        } => {
            let (samples, skipped) = prepare::prepare_dir(&input, crop)?;
            let rows: Vec<(&str, &Sample)> = samples.iter().map(|s| ("all", s)).collect();
            write_stamps(&out, &rows, format.into())?;
            println!(
                "prepared {} cut-outs into {} ({crop}x{crop}, {:.2}% zero pixels)",
                samples.len(),
                out.display(),
                percent_zero(&samples)
            );
            for s in skipped {
                println!("skipped {s}");
            }
        }
        DataCmd::Inspect { spec } => {
            print!("{}", inspect::inspect(&data::load_spec(&spec)?));
        }
        DataCmd::Synthetic {
            out,
            n,
            seed,
            format,
        } => {
            let samples = Synthetic::default().samples(n, seed, 0);
            let rows: Vec<(&str, &Sample)> = samples.iter().map(|s| ("train", s)).collect();
            write_stamps(&out, &rows, format.into())?;
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
    }
    Ok(())
}
