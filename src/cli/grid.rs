//! `lobes grid`: one row of Tables 3 and 4 per finished run (issue 26's protocol), measured on
//! the test set and written into a CSV (`docs/figures/tables-3-4.csv`).

use super::split_of;
use lobes::models::ModelError;
use lobes::models::analysis::grid::{GridSettings, measure, upsert};
use lobes::models::bench::cpu_model;
use lobes::models::ramis::classifier::Classifier;
use std::path::PathBuf;

// `lobes grid`; its help is the doc comment of `Command::Grid`.
#[derive(clap::Args, Debug)]
pub(crate) struct GridArgs {
    /// The RAMIS classifier's weights (`hmt-frdeepf.safetensors`).
    #[arg(long)]
    classifier: PathBuf,
    /// The data the runs trained on: its test split is measured, its train split is the
    /// Fréchet distance's reference (e.g. frdeep-f:DIR).
    #[arg(long)]
    data: String,
    /// The CSV to write: each run's row replaces the row of the same run folder name, or is
    /// appended; a new file gets the header.
    #[arg(long)]
    csv: PathBuf,
    /// Test −ELBO estimates averaged, each mode.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Guide samples per image for the importance-sampled −log p(x) (0: not measured).
    #[arg(long, default_value_t = 5000, value_name = "K")]
    iw: usize,
    /// Generated images per sampling for RAMIS, and per class for Table 4.
    #[arg(long, default_value_t = 1000)]
    n: usize,
    /// Bootstrap resamples of RAMIS's 95% interval.
    #[arg(long, default_value_t = 1000)]
    bootstrap: usize,
    /// Seed of every draw.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Run folders written by `lobes train` (each measured at its `best.safetensors` when it
    /// has one, else at its last checkpoint).
    #[arg(required = true)]
    runs: Vec<PathBuf>,
}

/// Today's date (UTC) as YYYY-MM-DD, from the days since 1970-01-01 (Hinnant's civil_from_days).
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

pub(crate) fn run_grid(args: GridArgs) -> Result<(), ModelError> {
    if args.n < 2 || args.repeats == 0 {
        let (option, value) = if args.n < 2 {
            ("--n", args.n)
        } else {
            ("--repeats", args.repeats)
        };
        return Err(ModelError::invalid_option(
            option,
            value,
            "--n needs at least 2 images and --repeats at least 1 estimate",
        ));
    }
    let clf = Classifier::load(&args.classifier)?;
    let test = split_of(&args.data, "test")?;
    let train = split_of(&args.data, "train")?;
    let settings = GridSettings {
        repeats: args.repeats,
        iw: args.iw,
        n: args.n,
        bootstrap: args.bootstrap,
        seed: args.seed,
    };
    let cpu = cpu_model();
    for run in &args.runs {
        let row = measure(run, &test, &train, &clf, &settings, &mut |step| {
            eprintln!("{step}")
        })?;
        upsert(&args.csv, &row.fields(&cpu, &today()))?;
        let t4 = row
            .table4
            .map(|t| {
                format!(
                    ", Table 4 {:.1}% / {:.1}% uniform, {:.1}% / {:.1}% prior",
                    t[0], t[1], t[2], t[3]
                )
            })
            .unwrap_or_default();
        println!(
            "{}: epoch {} of {}, test −ELBO {:.2} off / {:.2} on, −log p(x) {}, RAMIS {:.4} \
             ({:.4}–{:.4}) uniform, {:.4} prior{t4}, {} active units, {:.2}% background; row \
             written to {}",
            row.run,
            row.epoch,
            row.epochs,
            row.test_off.0,
            row.test_on.0,
            row.nll
                .map_or("not measured".into(), |n| format!("{:.2}", n.0)),
            row.uniform.ramis.value,
            row.uniform.ramis.lo,
            row.uniform.ramis.hi,
            row.prior.ramis.value,
            row.active,
            row.background,
            args.csv.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn today_is_a_calendar_date() {
        let t = super::today();
        assert_eq!(t.len(), 10, "{t}");
        let (y, m, d): (i32, u32, u32) = (
            t[..4].parse().unwrap(),
            t[5..7].parse().unwrap(),
            t[8..].parse().unwrap(),
        );
        assert!(
            y >= 2024 && (1..=12).contains(&m) && (1..=31).contains(&d),
            "{t}"
        );
    }
}
