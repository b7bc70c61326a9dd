//! The line and bar charts lobes writes: training loss, classifier accuracy, the RAMIS
//! experiments, the learning-rate search, the CVAE's class balance and brightness profiles.
//! Each has a title, labelled axes with units and a legend (see [`crate::plot`]).

use crate::error::ModelError;
use crate::plot::{Panel, Series, Style, write_grid_png, write_png};
use crate::ramis::balance::BalanceRow;
use std::path::Path;

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
