//! `lobes compare-paper` and `lobes plot`: a run beside the paper's log, and a chart redrawn
//! from its CSV.

use lobes::models::ModelError;
use lobes::models::analysis::compare::{Run, comparison_figure, comparison_table, read_paper_log};
use lobes::models::figures::{PlotKind, plot_csv};
use lobes::models::train;
use std::path::PathBuf;

// `lobes compare-paper`; its help is the doc comment of `Command::ComparePaper`.
#[derive(clap::Args, Debug)]
pub(crate) struct ComparePaperArgs {
    /// Our run's `metrics.csv`; repeat for several runs (each gets a column and a curve).
    #[arg(long, required = true)]
    metrics: Vec<PathBuf>,
    /// A label for each `--metrics`, in order (default: `ours` for one run, the file's folder
    /// or name for several).
    #[arg(long)]
    label: Vec<String>,
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
}

// `lobes plot`; its help is the doc comment of `Command::Plot`.
#[derive(clap::Args, Debug)]
pub(crate) struct PlotArgs {
    /// loss (a run's metrics.csv), accuracy (the classifier's metrics.csv),
    /// ramis-experiments (the folder of blur.csv, noise.csv, blank.csv), lr-search
    /// (lr_search.csv), class-balance (`lobes class-balance --out`), profiles (profiles.csv
    /// of `lobes pairs`), grid (tables-3-4.csv of `lobes grid`: test loss and RAMIS against d
    /// beside the paper's Tables 3 and 4).
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
}

pub(crate) fn run_compare(args: ComparePaperArgs) -> Result<(), ModelError> {
    let ComparePaperArgs {
        metrics,
        label,
        paper_log,
        out,
        table,
        title,
    } = args;
    if !label.is_empty() && label.len() != metrics.len() {
        return Err(ModelError::conflicting_options(
            &["--label", "--metrics"],
            format!(
                "{} --label for {} --metrics: give one per run, or none",
                label.len(),
                metrics.len()
            ),
        ));
    }
    let mut rows = vec![];
    for m in &metrics {
        let r = train::read_metrics(m, usize::MAX)?;
        if r.is_empty() {
            return Err(ModelError::CsvContent {
                path: m.clone(),
                line: None,
                problem: "no rows (missing or empty)".into(),
            });
        }
        rows.push(r);
    }
    let labels: Vec<String> = if !label.is_empty() {
        label
    } else if metrics.len() == 1 {
        vec!["ours".into()]
    } else {
        metrics.iter().map(|m| default_label(m)).collect()
    };
    let runs: Vec<Run> = labels
        .iter()
        .zip(&rows)
        .map(|(l, r)| Run { label: l, rows: r })
        .collect();
    let paper = read_paper_log(&paper_log)?;
    let t = comparison_table(&runs, &paper);
    print!("{t}");
    if let Some(p) = table {
        lobes::ppl::io::write_atomic(&p, t.as_bytes())?;
    }
    comparison_figure(&out, &runs, &paper, &title)?;
    println!("wrote {}", out.display());
    Ok(())
}

/// A run's name from its metrics file: the folder of `R/metrics.csv`, else the file's stem.
fn default_label(m: &std::path::Path) -> String {
    let named = |p: Option<&std::ffi::OsStr>| p.map(|s| s.to_string_lossy().into_owned());
    if m.file_name().is_some_and(|n| n == "metrics.csv")
        && let Some(n) = named(m.parent().and_then(|p| p.file_name()))
    {
        return n;
    }
    named(m.file_stem()).unwrap_or_else(|| m.display().to_string())
}

pub(crate) fn run_plot(args: PlotArgs) -> Result<(), ModelError> {
    let PlotArgs {
        kind,
        csv,
        out,
        title,
    } = args;
    let k = PlotKind::parse(&kind).ok_or_else(|| {
        let names: Vec<&str> = PlotKind::ALL.iter().map(|(n, _)| *n).collect();
        ModelError::unknown_name("--kind", &kind, names.join(", "))
    })?;
    plot_csv(k, &csv, &out, title.as_deref())?;
    println!("wrote {}", out.display());
    Ok(())
}
