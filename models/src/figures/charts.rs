//! The line and bar charts lobes writes: training loss, classifier accuracy, the RAMIS
//! experiments, the learning-rate search, the CVAE's class balance and brightness profiles.
//! Each has a title, labelled axes with units and a legend (see [`crate::chart`]).

use crate::analysis::experiments::Curve;
use crate::chart::{Legend, Marker, Panel, Series, Style, write_grid_png, write_png};
use crate::error::ModelError;
use crate::ramis::balance::BalanceRow;
use crate::ramis::hmt::ClassifierEpoch;
use crate::train::EpochMetrics;
use plotters::style::RGBColor;
use std::path::Path;

const LOSS: &str = "-ELBO per image (nats)";
const BAD: RGBColor = RGBColor(200, 0, 0);

/// The loss curves of a training run (`loss.png`): training and test loss against epoch on
/// a logarithmic y axis (epoch 0, the untrained network, sits decades above the rest), and
/// beside it the epochs from 1 on a linear axis. Epochs with bad steps (non-finite losses or
/// gradients, skipped or rolled back) are marked with a red cross.
///
/// # Errors
/// [`ModelError::Chart`] naming the file when no epoch has a loss; an I/O error writing it.
pub fn loss_figure(path: &Path, rows: &[EpochMetrics], title: &str) -> Result<(), ModelError> {
    let series = |from: usize| {
        let pick = |f: fn(&EpochMetrics) -> Option<f64>| -> Vec<(f64, f64)> {
            rows.iter()
                .filter(|r| r.epoch >= from)
                .filter_map(|r| Some((r.epoch as f64, f(r)?)))
                .collect()
        };
        let mut s = vec![
            Series::new("training (dropout on)", pick(|r| r.train_loss), 0),
            Series::new("test", pick(|r| r.test_loss), 1).with_markers(),
        ];
        let bad: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.epoch >= from && r.bad_steps > 0)
            .filter_map(|r| Some((r.epoch as f64, r.test_loss.or(r.train_loss)?)))
            .collect();
        if !bad.is_empty() {
            let total: usize = rows.iter().map(|r| r.bad_steps).sum();
            s.push(
                Series::new(format!("epoch with bad steps ({total} in all)"), bad, 2)
                    .points_only(Marker::Cross)
                    .colored(BAD),
            );
        }
        s
    };
    let all = series(0);
    let mut panels = vec![Panel {
        title: format!("{title}: loss per epoch"),
        x_label: "epoch".into(),
        y_label: LOSS.into(),
        log_y: Panel::spans(&all, 3.0),
        series: all,
        ..Default::default()
    }];
    let later = series(1);
    let later_points = later.iter().map(|s| s.points.len()).sum::<usize>();
    if rows.iter().any(|r| r.epoch == 0) && later_points > 0 {
        panels.push(Panel {
            title: format!("{title}: from epoch 1"),
            x_label: "epoch".into(),
            y_label: LOSS.into(),
            series: later,
            ..Default::default()
        });
    }
    write_png(path, &panels, 640, 440)
}

/// The classifier's accuracy per epoch (`accuracy.png`): training (augmented) and validation,
/// overall and per class.
///
/// # Errors
/// [`ModelError::Chart`] naming the file for no epochs; an I/O error writing it.
pub fn accuracy_figure(
    path: &Path,
    rows: &[ClassifierEpoch],
    title: &str,
) -> Result<(), ModelError> {
    let pick = |f: fn(&ClassifierEpoch) -> f64| -> Vec<(f64, f64)> {
        rows.iter().map(|r| (r.epoch as f64, f(r))).collect()
    };
    let panel = |name: &str, series| Panel {
        title: format!("{title}: {name}"),
        x_label: "epoch".into(),
        y_label: "accuracy (fraction correct)".into(),
        // Room above 1 for the legend.
        y_range: Some((0.0, 1.3)),
        y_ticks_up_to: Some(1.0),
        series,
        ..Default::default()
    };
    let overall = panel(
        "overall",
        vec![
            Series::new("training", pick(|r| r.train_accuracy), 0).with_markers(),
            Series::new("validation", pick(|r| r.val.overall), 1).with_markers(),
        ],
    );
    let per_class = panel(
        "validation per class",
        vec![
            Series::new("FRI", pick(|r| r.val.per_class[0]), 2).with_markers(),
            Series::new("FRII", pick(|r| r.val.per_class[1]), 3)
                .styled(Style::Dashed)
                .with_markers(),
        ],
    );
    write_png(path, &[overall, per_class], 640, 440)
}

/// The RAMIS experiments (the paper's Figure 1, `ramis_experiments.png`): RAMIS of a real
/// image set against the blur kernel, the noise level (logarithmic; the undegraded set as a
/// dashed line) and the blanked edge strip, three panels. `label` names the image set.
///
/// # Errors
/// [`ModelError::Chart`] naming the file for no curve or a curve with no point; an I/O error.
pub fn ramis_experiments_figure(
    path: &Path,
    curves: &[Curve],
    label: &str,
) -> Result<(), ModelError> {
    let mut panels = vec![];
    for c in curves {
        let (title, x_label) = match c.name {
            "blur" => ("Gaussian blur", "kernel size (pixels)"),
            "noise" => (
                "Added Gaussian noise",
                "noise standard deviation (pixel values in [0, 1])",
            ),
            "blank" => ("Edge blanking", "blanked edge strip (pixels)"),
            other => (other, other),
        };
        let log_x = c.name == "noise";
        // The noise curve falls to the bottom right and its baseline runs along the top.
        let legend = if log_x {
            Legend::MiddleRight
        } else {
            Legend::UpperRight
        };
        let mut series = vec![Series::new(label, c.points.clone(), 0).with_markers()];
        if log_x && let Some(&(_, r0)) = c.points.iter().find(|p| p.0 == 0.0) {
            let xs = c.points.iter().map(|p| p.0).filter(|x| *x > 0.0);
            let (lo, hi) = xs.fold((f64::INFINITY, 0.0f64), |(a, b), x| (a.min(x), b.max(x)));
            if lo <= hi {
                series.push(
                    Series::new("no noise", vec![(lo, r0), (hi, r0)], 1).styled(Style::Dashed),
                );
            }
        }
        panels.push(Panel {
            title: format!("RAMIS: {title}"),
            x_label: x_label.into(),
            y_label: "RAMIS".into(),
            log_x,
            legend,
            series,
            ..Default::default()
        });
    }
    write_png(path, &panels, 560, 420)
}

/// The learning-rate search (`lr_search.png`): the final training and test losses against
/// the learning rate, under `title`. `points` are `(rate, train, test)`; a non-finite loss
/// is left out.
///
/// # Errors
/// [`ModelError::Chart`] naming the file when no loss is finite; an I/O error writing it.
pub fn lr_search_figure(
    path: &Path,
    points: &[(f64, f64, f64)],
    title: &str,
) -> Result<(), ModelError> {
    let series = vec![
        Series::new("training", points.iter().map(|p| (p.0, p.1)).collect(), 0).with_markers(),
        Series::new("test", points.iter().map(|p| (p.0, p.2)).collect(), 1).with_markers(),
    ];
    let panel = Panel {
        title: title.into(),
        x_label: "learning rate".into(),
        y_label: LOSS.into(),
        log_y: Panel::spans(&series, 10.0),
        series,
        ..Default::default()
    };
    write_png(path, &[panel], 760, 480)
}

/// The CVAE's class balance (Table 4 as bars): for each way of drawing latents, the
/// percentage of images generated as FRI (and as FRII) that the classifier scores as the
/// class requested, with ±1 binomial standard error.
///
/// # Errors
/// [`ModelError::Chart`] naming the file for no rows; an I/O error writing it.
pub fn class_balance_figure(path: &Path, rows: &[BalanceRow]) -> Result<(), ModelError> {
    let mut categories: Vec<String> = vec![];
    for r in rows {
        if !categories.contains(&r.latents) {
            categories.push(r.latents.clone());
        }
    }
    let mut series = vec![];
    for (i, class) in crate::data::Class::ALL.iter().enumerate() {
        let mine: Vec<&BalanceRow> = rows
            .iter()
            .filter(|r| r.balance.requested == *class)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let at = |r: &BalanceRow| categories.iter().position(|c| *c == r.latents).unwrap_or(0);
        let points = mine
            .iter()
            .map(|r| (at(r) as f64, r.balance.percent_correct()))
            .collect();
        let errors = mine
            .iter()
            .map(|r| {
                let p = r.balance.percent_correct() / 100.0;
                100.0 * (p * (1.0 - p) / r.balance.n.max(1) as f64).sqrt()
            })
            .collect();
        series.push(
            Series::new(format!("requested {}", class.name()), points, i)
                .styled(Style::Bars)
                .with_errors(errors),
        );
    }
    let n = rows.first().map(|r| r.balance.n).unwrap_or(0);
    let panel = Panel {
        title: format!("CVAE class balance ({n} images per bar, ±1 s.e.)"),
        x_label: "latents".into(),
        y_label: "scored as the requested class (%)".into(),
        categories,
        y_range: Some((0.0, 118.0)),
        y_ticks_up_to: Some(100.0),
        series,
        ..Default::default()
    };
    write_png(path, &[panel], 680, 460)
}

/// Brightness profiles of FRI/FRII pairs along each pair's principal axis, one panel per
/// pair, up to three a row. Each profile is `(offset in pixels, FRI, FRII)`.
///
/// # Errors
/// [`ModelError::Chart`] naming the file for no pairs or an empty profile; an I/O error.
pub fn profiles_figure(path: &Path, profiles: &[Vec<(f64, f64, f64)>]) -> Result<(), ModelError> {
    let panels: Vec<Panel> = profiles
        .iter()
        .enumerate()
        .map(|(k, p)| profile_panel(&format!("Pair {k}: profile along the principal axis"), p))
        .collect();
    write_grid_png(path, &panels, 3, 560, 400)
}

/// The panel of one pair's profiles.
pub(crate) fn profile_panel(title: &str, p: &[(f64, f64, f64)]) -> Panel {
    Panel {
        title: title.into(),
        x_label: "offset along the principal axis (pixels)".into(),
        y_label: "pixel value (0 to 1)".into(),
        series: vec![
            Series::new("FRI", p.iter().map(|q| (q.0, q.1)).collect(), 0),
            Series::new("FRII", p.iter().map(|q| (q.0, q.2)).collect(), 1),
        ],
        ..Default::default()
    }
}
