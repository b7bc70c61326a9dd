//! The `lobes` command-line tool. It only wires the library crates together.

use clap::{Parser, Subcommand, ValueEnum};
use lobes::models::data::{
    self, DataError, DataSet, Sample, fetch, fits::Wcs, frdeep, inspect, png, prepare,
    synthetic::Synthetic, writers,
};
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
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Png,
    Fits,
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
        #[arg(long, default_value_t = 50)]
        n: usize,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Stamp format.
        #[arg(long, value_enum, default_value = "png")]
        format: Format,
    },
}

/// Loads a data spec: `synthetic[:N]`, `frdeep:DIR` / `frdeep-f:DIR` / `frdeep-n:DIR` /
/// `mirabest:DIR`, `png:DIR`, or a bare folder (pickle batches or PNGs, detected).
fn load_spec(spec: &str) -> Result<DataSet, DataError> {
    let (kind, path) = spec.split_once(':').unwrap_or(("", spec));
    match kind {
        "synthetic" | "" if path == "synthetic" || kind == "synthetic" => {
            let n = if kind == "synthetic" {
                path.parse().unwrap_or(300)
            } else {
                300
            };
            Ok(Synthetic::default().dataset(n, n / 10, 0))
        }
        "frdeep" | "frdeep-f" | "frdeep-n" | "mirabest" => frdeep::load_dir(Path::new(path)),
        "png" => png::load_dir(Path::new(path)),
        "" => {
            let p = Path::new(path);
            if frdeep::load_dir(p).is_ok() {
                frdeep::load_dir(p)
            } else {
                png::load_dir(p)
            }
        }
        other => Err(DataError::format(
            Path::new(spec),
            format!("unknown data kind '{other}' (synthetic, frdeep, mirabest, png)"),
        )),
    }
}

fn write_stamps(out: &Path, rows: &[(&str, &Sample)], format: Format) -> Result<(), DataError> {
    let mut csv = vec![];
    for (split, s) in rows {
        let sub = out.join(s.label.name());
        std::fs::create_dir_all(&sub).map_err(|e| DataError::io(&sub, e))?;
        let file = match format {
            Format::Png => {
                let f = sub.join(format!("{}.png", s.name));
                writers::write_png(&f, &s.image)?;
                f
            }
            Format::Fits => {
                let f = sub.join(format!("{}.fits", s.name));
                let deg = |k: &str| s.meta.get(k).and_then(|v| v.parse().ok()).unwrap_or(0.0);
                let wcs = Wcs {
                    ra: deg("ra"),
                    dec: deg("dec"),
                    ..Wcs::default()
                };
                writers::write_fits(&f, &s.image, &wcs, "normalised")?;
                f
            }
        };
        let rel = file
            .strip_prefix(out)
            .unwrap_or(&file)
            .display()
            .to_string();
        csv.push((rel, split.to_string(), *s));
    }
    writers::write_labels_csv(&out.join("labels.csv"), &csv)
}

fn run(cli: Cli) -> Result<(), DataError> {
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
            print!("{}", inspect::inspect(&load_spec(&spec)?));
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
            let grid: Vec<data::Image> = samples
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
