//! Redrawing a chart from the CSV that the command which drew it wrote beside it (`lobes
//! plot`), so a figure can be regenerated without the run, checkpoint or classifier behind it.

use super::{
    accuracy_figure, class_balance_figure, loss_figure, lr_search_figure, profiles_figure,
    ramis_experiments_figure,
};
use crate::analysis::experiments::{Curve, settings};
use crate::data::Class;
use crate::error::ModelError;
use crate::ramis::balance::{BalanceRow, ClassBalance};
use crate::ramis::hmt::{Accuracy, ClassifierEpoch};
use std::path::Path;

/// Which chart to draw, and so which CSV to expect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlotKind {
    /// A training run's `metrics.csv` (`lobes train`): the loss curves.
    Loss,
    /// The classifier's `metrics.csv` (`lobes classifier train`): accuracy per epoch.
    Accuracy,
    /// The folder with `blur.csv`, `noise.csv` and `blank.csv` (`lobes ramis-experiments`).
    RamisExperiments,
    /// `lr_search.csv` (`lobes lr-search`).
    LrSearch,
    /// The class-balance table (`lobes class-balance --out`).
    ClassBalance,
    /// `profiles.csv` (`lobes pairs`): the pairs' brightness profiles.
    Profiles,
    /// `tables-3-4.csv` (`lobes grid`): test loss and RAMIS against d beside the paper's.
    Grid,
}

impl PlotKind {
    /// Every kind with its name on the command line.
    pub const ALL: [(&'static str, PlotKind); 7] = [
        ("loss", PlotKind::Loss),
        ("accuracy", PlotKind::Accuracy),
        ("ramis-experiments", PlotKind::RamisExperiments),
        ("lr-search", PlotKind::LrSearch),
        ("class-balance", PlotKind::ClassBalance),
        ("profiles", PlotKind::Profiles),
        ("grid", PlotKind::Grid),
    ];
    /// The kind called `name`, if any.
    pub fn parse(name: &str) -> Option<PlotKind> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
    }
}

/// A CSV read whole, with its columns found by name and errors that name the file, the line
/// and the column.
struct Table<'a> {
    path: &'a Path,
    header: csv::StringRecord,
    rows: Vec<csv::StringRecord>,
}

impl<'a> Table<'a> {
    fn read(path: &'a Path) -> Result<Self, ModelError> {
        let bad = |e: csv::Error| ModelError::csv(path, None, e);
        let mut r = csv::Reader::from_path(path).map_err(bad)?;
        let header = r.headers().map_err(bad)?.clone();
        let rows = r.records().collect::<Result<Vec<_>, _>>().map_err(bad)?;
        if rows.is_empty() {
            return Err(ModelError::csv_content(path, None, "no rows to plot"));
        }
        Ok(Table { path, header, rows })
    }
    fn col(&self, name: &str) -> Result<usize, ModelError> {
        self.header.iter().position(|h| h == name).ok_or_else(|| {
            ModelError::csv_content(
                self.path,
                None,
                format!(
                    "no column '{name}' (columns: {})",
                    self.header.iter().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }
    fn text(&self, row: usize, col: usize) -> &str {
        self.rows[row].get(col).unwrap_or("").trim()
    }
    fn num(&self, row: usize, col: usize) -> Result<f64, ModelError> {
        let v = self.text(row, col);
        v.parse::<f64>().map_err(|_| {
            ModelError::csv_content(
                self.path,
                Some(row + 2),
                format!("column '{}' is not a number: '{v}'", &self.header[col]),
            )
        })
    }
}

/// Draws the `kind` chart of `input` (a CSV, or for [`PlotKind::RamisExperiments`] the folder
/// of the three CSVs) into `out`; `title` replaces the default title where the chart has one.
///
/// # Errors
/// A missing or malformed CSV (naming the file, line and column), or the chart's errors.
pub fn plot_csv(
    kind: PlotKind,
    input: &Path,
    out: &Path,
    title: Option<&str>,
) -> Result<(), ModelError> {
    match kind {
        PlotKind::Grid => {
            let points = crate::analysis::grid_figure::read_points(input)?;
            crate::analysis::grid_figure::grid_figure(out, &points)
        }
        PlotKind::Loss => {
            if !input.is_file() {
                return Err(ModelError::csv_content(input, None, "no such metrics file"));
            }
            let rows = crate::train::read_metrics(input, usize::MAX)?;
            if rows.is_empty() {
                return Err(ModelError::csv_content(input, None, "no rows to plot"));
            }
            loss_figure(out, &rows, title.unwrap_or("Training run"))
        }
        PlotKind::Accuracy => {
            let t = Table::read(input)?;
            let c: Vec<usize> = [
                "epoch",
                "train_loss",
                "train_accuracy",
                "val_loss",
                "val_accuracy",
                "val_accuracy_FRI",
                "val_accuracy_FRII",
            ]
            .iter()
            .map(|n| t.col(n))
            .collect::<Result<_, _>>()?;
            let rows = (0..t.rows.len())
                .map(|i| {
                    Ok(ClassifierEpoch {
                        epoch: t.num(i, c[0])? as usize,
                        train_loss: t.num(i, c[1])?,
                        train_accuracy: t.num(i, c[2])?,
                        val_loss: t.num(i, c[3])?,
                        val: Accuracy {
                            overall: t.num(i, c[4])?,
                            per_class: [t.num(i, c[5])?, t.num(i, c[6])?],
                            counts: [0, 0],
                        },
                    })
                })
                .collect::<Result<Vec<_>, ModelError>>()?;
            accuracy_figure(out, &rows, title.unwrap_or("HMT classifier"))
        }
        PlotKind::RamisExperiments => {
            let mut curves = vec![];
            for (name, _) in settings() {
                let path = input.join(format!("{name}.csv"));
                let t = Table::read(&path)?;
                let (x, r) = (t.col(name)?, t.col("ramis")?);
                let points = (0..t.rows.len())
                    .map(|i| Ok((t.num(i, x)?, t.num(i, r)?)))
                    .collect::<Result<_, ModelError>>()?;
                curves.push(Curve { name, points });
            }
            ramis_experiments_figure(out, &curves, title.unwrap_or("real images"))
        }
        PlotKind::LrSearch => {
            let t = Table::read(input)?;
            let (lr, tr, te) = (
                t.col("lr")?,
                t.col("final_train_loss")?,
                t.col("final_test_loss")?,
            );
            let pts = (0..t.rows.len())
                .map(|i| Ok((t.num(i, lr)?, t.num(i, tr)?, t.num(i, te)?)))
                .collect::<Result<Vec<_>, ModelError>>()?;
            lr_search_figure(out, &pts, title.unwrap_or("Learning-rate search"))
        }
        PlotKind::ClassBalance => {
            let t = Table::read(input)?;
            let (lat, req, n, fri, frii) = (
                t.col("latents")?,
                t.col("requested")?,
                t.col("n")?,
                t.col("scored_FRI")?,
                t.col("scored_FRII")?,
            );
            let rows = (0..t.rows.len())
                .map(|i| {
                    let class = Class::parse(t.text(i, req)).ok_or_else(|| {
                        ModelError::csv_content(
                            input,
                            Some(i + 2),
                            format!("requested class '{}' is not FRI or FRII", t.text(i, req)),
                        )
                    })?;
                    Ok(BalanceRow {
                        latents: t.text(i, lat).to_string(),
                        balance: ClassBalance {
                            requested: class,
                            n: t.num(i, n)? as usize,
                            scored: [t.num(i, fri)? as usize, t.num(i, frii)? as usize],
                        },
                    })
                })
                .collect::<Result<Vec<_>, ModelError>>()?;
            class_balance_figure(out, &rows)
        }
        PlotKind::Profiles => {
            let t = Table::read(input)?;
            let (pair, off, a, b) = (
                t.col("pair")?,
                t.col("offset")?,
                t.col("FRI")?,
                t.col("FRII")?,
            );
            let mut profiles: Vec<Vec<(f64, f64, f64)>> = vec![];
            for i in 0..t.rows.len() {
                let k = t.num(i, pair)? as usize;
                if k >= profiles.len() {
                    profiles.resize(k + 1, vec![]);
                }
                profiles[k].push((t.num(i, off)?, t.num(i, a)?, t.num(i, b)?));
            }
            profiles_figure(out, &profiles)
        }
    }
}
