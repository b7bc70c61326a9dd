//! The classifier's chart, `accuracy.png` (beside its records, so `ramis` does not call back
//! into `figures`).

use super::records::ClassifierEpoch;
use crate::error::ModelError;
use crate::plot::{Panel, Series, Style, write_png};
use std::path::Path;

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
