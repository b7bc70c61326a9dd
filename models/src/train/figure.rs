//! A training run's charts: `loss.png` and the learning-rate search's `lr_search.png` (beside
//! the records they draw, so `train` does not call back into `figures`).

use super::EpochMetrics;
use crate::error::ModelError;
use crate::plot::{Marker, Panel, Series, write_png};
use plotters::style::RGBColor;
use std::path::Path;

const LOSS: &str = "-ELBO per image (nats)";
const BAD: RGBColor = RGBColor(200, 0, 0);

/// The loss curves of a training run (`loss.png`): training and test loss against epoch on
/// a logarithmic y axis (epoch 0, the untrained network, sits decades above the rest), and
/// beside it the epochs from 1, on a linear axis unless they too span decades. Epochs with bad steps (non-finite losses or
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
        let mut s = vec![Series::new(
            "training (dropout on)",
            pick(|r| r.train_loss),
            0,
        )];
        // A run with a validation split evaluates it instead of the test set.
        if rows.iter().any(|r| r.val_loss.is_some()) {
            s.push(Series::new("validation", pick(|r| r.val_loss), 1).with_markers());
        } else {
            s.push(Series::new("test", pick(|r| r.test_loss), 1).with_markers());
        }
        let bad: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.epoch >= from && r.bad_steps > 0)
            .filter_map(|r| Some((r.epoch as f64, r.val_loss.or(r.test_loss).or(r.train_loss)?)))
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
            // Logarithmic too when a spike (an epoch of huge but finite losses) spans decades.
            log_y: Panel::spans(&later, 3.0),
            series: later,
            ..Default::default()
        });
    }
    write_png(path, &panels, 640, 440)
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

/// The loss curve and a grid of 16 prior samples, written when a run ends.
pub(super) fn run_figures(
    opts: &super::TrainOptions,
    net: &crate::vae::VaeConfig,
    rows: &[EpochMetrics],
    store: &lobes_ppl::ParamStore,
) -> Result<(), ModelError> {
    let title = format!("{}, d = {}", opts.kind.name().to_uppercase(), net.latent);
    loss_figure(&opts.out.join("loss.png"), rows, &title)?;
    let samples = crate::generate::Generator::from_store(opts.kind, net.clone(), store.clone())
        .generate(16, None, crate::generate::Sampling::Prior, opts.seed)?;
    Ok(crate::data::writers::write_grid(
        &opts.out.join("samples.png"),
        &samples,
        4,
    )?)
}
