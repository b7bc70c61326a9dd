//! `lobes data`: download, prepare, inspect, synthesise.

use super::{Format, at_least_one};
use clap::Subcommand;
use lobes::models::ModelError;
use lobes::models::data::stamps::{percent_zero, write_stamps};
use lobes::models::data::{self, DataError, Sample, fetch, inspect, prepare, synthetic::Synthetic};
use lobes::models::output::OutputFolder;
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
        /// Seconds without data (headers or body) before an attempt is given up.
        #[arg(
            long,
            env = "LOBES_FETCH_TIMEOUT",
            default_value_t = 60.0,
            value_name = "SECS"
        )]
        timeout: f64,
        /// Seconds to open the connection.
        #[arg(
            long,
            env = "LOBES_FETCH_CONNECT_TIMEOUT",
            default_value_t = 30.0,
            value_name = "SECS"
        )]
        connect_timeout: f64,
        /// Attempts after the first when the connection fails, times out or is cut.
        #[arg(long, env = "LOBES_FETCH_RETRIES", default_value_t = 2)]
        retries: u32,
    },
    /// Turn raw FIRST FITS cut-outs into training stamps (the MiraBest recipe).
    Prepare {
        /// Folder of `<code>_<RA><Dec>_<z>_<size>.fits` cut-outs.
        #[arg(long)]
        input: PathBuf,
        /// Output folder: `<class>/<name>.<format>` and `labels.csv`.
        #[arg(long)]
        out: PathBuf,
        /// Replace an earlier output of lobes in `--out` (the files its manifest lists are
        /// removed first); without it `--out` must be new or empty.
        #[arg(long)]
        overwrite: bool,
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
        /// Replace an earlier output of lobes in `--out` (the files its manifest lists are
        /// removed first); without it `--out` must be new or empty.
        #[arg(long)]
        overwrite: bool,
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

/// A time-out in seconds: positive and finite (a day at most), named by its option otherwise.
fn seconds(option: &'static str, s: f64) -> Result<std::time::Duration, ModelError> {
    if s.is_finite() && s > 0.0 && s <= 86_400.0 {
        Ok(std::time::Duration::from_secs_f64(s))
    } else {
        Err(ModelError::invalid_option(
            option,
            s,
            format!(
                "{option}: a time-out must be a positive number of seconds, at most 86400, got {s}"
            ),
        ))
    }
}

pub(crate) fn run(cmd: DataCmd) -> Result<(), ModelError> {
    match cmd {
        DataCmd::Fetch {
            name,
            dir,
            base_url,
            timeout,
            connect_timeout,
            retries,
        } => {
            let a = fetch::archive(&name).ok_or_else(|| {
                DataError::format(Path::new(&name), "unknown data set (frdeep-f, frdeep-n)")
            })?;
            let opts = fetch::FetchOptions {
                connect_timeout: seconds("--connect-timeout", connect_timeout)?,
                read_timeout: seconds("--timeout", timeout)?,
                retries,
            };
            let got = fetch::fetch_reporting(&a, &dir, base_url.as_deref(), &opts, &mut |line| {
                eprintln!("{line}")
            })?;
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
            overwrite,
            format,
            crop,
        } => {
            let folder = OutputFolder::claim(&out, "lobes data prepare", overwrite)?;
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
            folder.finish()?;
        }
        DataCmd::Inspect { spec } => {
            print!("{}", inspect::inspect(&data::load_spec(&spec)?));
        }
        DataCmd::Synthetic {
            out,
            overwrite,
            n,
            seed,
            format,
        } => {
            // The labels.csv rows are kept until the end (about 128 bytes a source).
            lobes::models::memory::check(
                &format!("data synthetic --n {n} (the labels.csv rows of 2 x {n} sources)"),
                lobes::models::memory::total(n, 2 * 128, 0),
            )?;
            let folder = OutputFolder::claim(&out, "lobes data synthetic", overwrite)?;
            // Written a chunk at a time as they are made; only the labels.csv rows are kept.
            let written = Synthetic::default().write_stamps(&out, n, seed, format.into())?;
            folder.finish()?;
            println!("wrote {written} synthetic sources to {}", out.display());
        }
    }
    Ok(())
}
