//! Our training curve beside the paper's own (Bastien et al. 2021, per-epoch logs in the
//! authors' repository, `PYTHON/OUTPUT_LOGS/data_unsupervised_d32.csv` and
//! `data_supervised_d32.csv` of joshen1307/RAGA): a table at matching epochs, the epochs each
//! run took to reach given test losses, and a two-panel figure (test loss and RAMIS against a
//! logarithmic epoch axis). The paper's file is the user's copy; it is never shipped.

use crate::error::ModelError;
use crate::plot::{Panel, Series, write_png};
use crate::train::EpochMetrics;
use std::path::Path;

/// One epoch of the paper's log.
#[derive(Clone, Debug, PartialEq)]
pub struct PaperEpoch {
    /// Epoch (from 0).
    pub epoch: usize,
    /// Training loss per image.
    pub train_loss: f64,
    /// Test loss per image.
    pub test_loss: f64,
    /// RAMIS (the log's `Inception_score`).
    pub ramis: f64,
    /// CVAE logs: of the 100 images scored, how many the classifier put in FRI and in FRII.
    pub fr_counts: Option<(f64, f64)>,
}

/// Reads the paper's log: a CSV with columns `Epoch`, `Train_Loss`, `Test_Loss`,
/// `Inception_score` and, for the CVAE, `number_FR1` and `number_FR2`, found by name.
///
/// # Errors
/// The file missing, a missing column, or a value that is not a number: naming the file, the
/// column and the line.
pub fn read_paper_log(path: &Path) -> Result<Vec<PaperEpoch>, ModelError> {
    let csv_err = |e: csv::Error| ModelError::csv(path, None, e);
    let mut r = csv::Reader::from_path(path).map_err(csv_err)?;
    let header = r.headers().map_err(csv_err)?.clone();
    let col = |name: &str| header.iter().position(|h| h == name);
    let need = |name: &str| {
        col(name).ok_or_else(|| ModelError::csv_content(path, None, format!("no column '{name}'")))
    };
    let (ep, tr, te, ra) = (
        need("Epoch")?,
        need("Train_Loss")?,
        need("Test_Loss")?,
        need("Inception_score")?,
    );
    let counts = col("number_FR1").zip(col("number_FR2"));
    let mut out = vec![];
    // The authors' script pre-allocates every row of its data frame; epochs it never reached
    // stay all zeros, and are left out.
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(csv_err)?;
        let num = |c: usize| -> Result<f64, ModelError> {
            rec.get(c)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .ok_or_else(|| {
                    ModelError::csv_content(
                        path,
                        Some(i + 2),
                        format!("column '{}' is not a number", &header[c]),
                    )
                })
        };
        if num(tr)? == 0.0 && num(te)? == 0.0 {
            continue;
        }
        out.push(PaperEpoch {
            epoch: num(ep)? as usize,
            train_loss: num(tr)?,
            test_loss: num(te)?,
            ramis: num(ra)?,
            fr_counts: match counts {
                Some((a, b)) => Some((num(a)?, num(b)?)),
                None => None,
            },
        });
    }
    Ok(out)
}

/// The first epoch whose test loss is at or below `target`.
pub fn epochs_to(points: impl IntoIterator<Item = (usize, f64)>, target: f64) -> Option<usize> {
    points.into_iter().find(|p| p.1 <= target).map(|p| p.0)
}

/// One of our runs in a comparison: its label and its `metrics.csv` rows.
#[derive(Clone, Copy, Debug)]
pub struct Run<'a> {
    /// The legend entry and column name (`ours` for a lone run).
    pub label: &'a str,
    /// The run's epochs.
    pub rows: &'a [EpochMetrics],
}

/// The epochs a comparison table shows: those with a RAMIS value in any run among 0, 1, 2, 5,
/// 10, 20, 30, 50, 75, 100, 150, 200, 300, 400, and each run's last measured epoch.
fn table_epochs(runs: &[Run]) -> Vec<usize> {
    const SHOW: [usize; 14] = [0, 1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 400];
    let mut e = vec![];
    for run in runs {
        let measured: Vec<usize> = run
            .rows
            .iter()
            .filter(|r| r.ramis.is_some() && r.test_loss.is_some())
            .map(|r| r.epoch)
            .collect();
        e.extend(measured.iter().copied().filter(|x| SHOW.contains(x)));
        e.extend(measured.last());
    }
    e.sort_unstable();
    e.dedup();
    e
}

/// A Markdown table: epoch, each run's test loss and RAMIS (and, for CVAE runs, the Table-4
/// columns), the paper's at the same epoch; then the epochs each needed to reach test loss
/// 140, 130 and 125.
pub fn comparison_table(runs: &[Run], paper: &[PaperEpoch]) -> String {
    let f = |v: Option<f64>, d: usize| v.map_or("–".to_string(), |v| format!("{v:.d$}"));
    let cvae = runs
        .iter()
        .any(|r| r.rows.iter().any(|r| r.fri_percent.is_some()));
    let mut head = vec!["epoch".to_string()];
    for r in runs {
        head.push(format!("test loss, {}", r.label));
    }
    head.push("test loss, paper".into());
    for r in runs {
        head.push(format!("RAMIS, {}", r.label));
    }
    head.push("RAMIS, paper".into());
    if cvae {
        for r in runs {
            head.push(format!("FRI / FRII % correct, {}", r.label));
        }
        head.push("FRI / FRII of 100, paper".into());
    }
    let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
    let mut s = line(&head);
    s.push_str(&line(&vec!["---".to_string(); head.len()]));
    for e in table_epochs(runs) {
        let at = |r: &Run| r.rows.iter().find(|m| m.epoch == e).cloned();
        let p = paper.iter().find(|r| r.epoch == e);
        let mut cells = vec![e.to_string()];
        cells.extend(runs.iter().map(|r| f(at(r).and_then(|m| m.test_loss), 2)));
        cells.push(f(p.map(|r| r.test_loss), 2));
        cells.extend(runs.iter().map(|r| f(at(r).and_then(|m| m.ramis), 3)));
        cells.push(f(p.map(|r| r.ramis), 3));
        if cvae {
            for r in runs {
                cells.push(
                    match at(r).and_then(|m| m.fri_percent.zip(m.frii_percent)) {
                        Some((a, b)) => format!("{a:.0} / {b:.0}"),
                        None => "–".into(),
                    },
                );
            }
            cells.push(match p.and_then(|r| r.fr_counts) {
                Some((a, b)) => format!("{a:.0} / {b:.0}"),
                None => "–".into(),
            });
        }
        s.push_str(&line(&cells));
    }
    let mut head = vec!["test loss reached".to_string()];
    head.extend(runs.iter().map(|r| format!("{}, epoch", r.label)));
    head.push("paper, epoch".into());
    s.push('\n');
    s.push_str(&line(&head));
    s.push_str(&line(&vec!["---".to_string(); head.len()]));
    // Never reached: "not in N", N the last epoch with a test loss (a run may be stopped, or
    // still going).
    let reached = |pts: Vec<(usize, f64)>, t: f64| {
        let last = pts.iter().map(|p| p.0).max().unwrap_or(0);
        epochs_to(pts, t).map_or(format!("not in {last}"), |e| e.to_string())
    };
    for t in [140.0, 130.0, 125.0] {
        let mut cells = vec![format!("≤ {t}")];
        for r in runs {
            let pts = r.rows.iter().filter_map(|m| Some((m.epoch, m.test_loss?)));
            cells.push(reached(pts.collect(), t));
        }
        cells.push(reached(
            paper.iter().map(|r| (r.epoch, r.test_loss)).collect(),
            t,
        ));
        s.push_str(&line(&cells));
    }
    s
}

/// The figure: test loss and RAMIS against epoch (logarithmic, so epoch 0 is left out), each
/// run and the paper's, `title` above each panel's name.
pub fn comparison_figure(
    path: &Path,
    runs: &[Run],
    paper: &[PaperEpoch],
    title: &str,
) -> Result<(), ModelError> {
    let ep = |e: usize| e as f64;
    let label = |r: &Run| {
        if runs.len() == 1 {
            "lobes".to_string()
        } else {
            format!("lobes, {}", r.label)
        }
    };
    let paper_series = |pick: fn(&PaperEpoch) -> f64| {
        Series::new(
            "paper (authors' log)",
            paper.iter().map(|r| (ep(r.epoch), pick(r))).collect(),
            runs.len(),
        )
    };
    // One curve per run of the value `ours` picks, then the paper's of the value `theirs` picks.
    let curves = |ours: fn(&EpochMetrics) -> Option<f64>, theirs: fn(&PaperEpoch) -> f64, marks| {
        let mut v: Vec<Series> = runs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let pts = r.rows.iter().filter_map(|m| Some((ep(m.epoch), ours(m)?)));
                let s = Series::new(label(r), pts.collect(), i);
                if marks { s.with_markers() } else { s }
            })
            .collect();
        v.push(paper_series(theirs));
        v
    };
    let loss = curves(|m| m.test_loss, |r| r.test_loss, false);
    let ramis = curves(|m| m.ramis, |r| r.ramis, true);
    let panel = |name: &str, y: &str, series| Panel {
        title: format!("{title}: {name}"),
        x_label: "epoch".into(),
        y_label: y.into(),
        log_x: true,
        log_y: false,
        series,
        ..Default::default()
    };
    write_png(
        path,
        &[
            panel("test loss", "test -ELBO per image (nats)", loss),
            panel("RAMIS", "RAMIS (100 images, uniform(-4, 4) latents)", ramis),
        ],
        640,
        440,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paper_log_is_read_by_column_name_and_compared() {
        let dir = std::env::temp_dir().join(format!("lobes-compare-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("log.csv");
        std::fs::write(
            &p,
            ",Epoch,Train_Loss,Test_Loss,Sigma_clipped,Inception_score\n\
             0,0.0,290.4,161.5,0.0,1.0038\n1,1.0,187.1,166.3,0.0,1.0031\n\
             5,5.0,170.0,139.0,0.0,1.01\n10,10.0,160.0,129.0,0.0,1.02\n\
             11,0.0,0.0,0.0,0.0,0.0\n",
        )
        .unwrap();
        let paper = read_paper_log(&p).unwrap();
        assert_eq!(paper.len(), 4);
        assert_eq!(
            (paper[2].epoch, paper[2].test_loss, paper[2].ramis),
            (5, 139.0, 1.01)
        );
        assert_eq!(paper[0].fr_counts, None);
        let row = |epoch, test: f64, ramis: Option<f64>| EpochMetrics {
            epoch,
            test_loss: Some(test),
            ramis,
            ..Default::default()
        };
        let ours = vec![
            row(0, 6932.3, Some(1.0)),
            row(1, 151.6, None),
            row(5, 135.0, Some(1.07)),
            row(7, 126.0, Some(1.1)),
        ];
        let lone = [Run {
            label: "ours",
            rows: &ours,
        }];
        let t = comparison_table(&lone, &paper);
        assert!(
            t.starts_with("| epoch | test loss, ours | test loss, paper | RAMIS, ours | RAMIS, paper |\n| --- |"),
            "{t}"
        );
        assert!(t.contains("| 5 | 135.00 | 139.00 | 1.070 | 1.010 |"), "{t}");
        assert!(t.contains("| 7 | 126.00 | – | 1.100 | – |"), "{t}");
        assert!(t.contains("| ≤ 130 | 7 | 10 |"), "{t}");
        assert!(t.contains("| ≤ 125 | not in 7 | not in 10 |"), "{t}");
        comparison_figure(&dir.join("f.png"), &lone, &paper, "VAE d = 32").unwrap();
        assert!(dir.join("f.png").exists());
        // Two runs: a column each, epochs from both, each run's own epochs to a loss.
        let other = vec![row(0, 6932.3, Some(1.0)), row(10, 124.0, Some(1.2))];
        let both = [
            lone[0],
            Run {
                label: "warm-up",
                rows: &other,
            },
        ];
        let t = comparison_table(&both, &paper);
        assert!(
            t.contains("| test loss, ours | test loss, warm-up | test loss, paper |"),
            "{t}"
        );
        assert!(
            t.contains("| 5 | 135.00 | – | 139.00 | 1.070 | – | 1.010 |"),
            "{t}"
        );
        assert!(
            t.contains("| 10 | – | 124.00 | 129.00 | – | 1.200 | 1.020 |"),
            "{t}"
        );
        assert!(t.contains("| ≤ 125 | not in 7 | 10 | not in 10 |"), "{t}");
        comparison_figure(&dir.join("g.png"), &both, &paper, "VAE d = 32").unwrap();

        std::fs::write(&p, ",Epoch,Train_Loss\n0,0,1\n").unwrap();
        let e = read_paper_log(&p).unwrap_err().to_string();
        assert!(e.contains("log.csv") && e.contains("'Test_Loss'"), "{e}");
        std::fs::write(&p, "Epoch,Train_Loss,Test_Loss,Inception_score\n0,1,x,1\n").unwrap();
        let e = read_paper_log(&p).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("'Test_Loss'"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
