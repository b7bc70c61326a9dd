//! The image figures: reconstructions (the paper's Figure 7), their evolution over training
//! (Figure 8), the noise analysis (Figure 9), the latent grid (Figure 10) and FRI/FRII pairs
//! with their profiles (Figure 11), with the row and column labels those figures carry.

use super::line_charts::profile_panel;
use crate::analysis::{NOISE_THRESHOLD, Pair, log_saturated, percent_below};
use crate::data::Image;
use crate::error::ModelError;
use crate::plot::image_grid::{Grid, draw_stamp, label, write_grid};
use crate::plot::{chart_err, draw_panel, render};
use std::path::Path;

/// Inputs (top row) above their reconstructions (bottom row).
///
/// # Errors
/// [`ModelError::Chart`] naming the file for no inputs or a count mismatch; an I/O error.
pub fn reconstructions_figure(
    path: &Path,
    inputs: &[Image],
    reconstructions: &[Image],
    title: &str,
) -> Result<(), ModelError> {
    if inputs.len() != reconstructions.len() {
        return Err(chart_err(
            path,
            format!(
                "{} inputs but {} reconstructions",
                inputs.len(),
                reconstructions.len()
            ),
        ));
    }
    let images: Vec<Image> = inputs.iter().chain(reconstructions).cloned().collect();
    write_grid(
        path,
        &Grid {
            title: title.into(),
            images: &images,
            cols: inputs.len(),
            cell: 100,
            row_labels: vec!["input".into(), "reconstruction".into()],
            ..Default::default()
        },
    )
}

/// One row per input: the input, then its reconstruction by each checkpoint, a column per
/// checkpoint labelled with `labels` (e.g. `epoch 5`).
///
/// # Errors
/// [`ModelError::Chart`] naming the file for no inputs, or a checkpoint with a different
/// number of reconstructions; an I/O error.
pub fn evolution_figure(
    path: &Path,
    inputs: &[Image],
    per_checkpoint: &[(String, Vec<Image>)],
) -> Result<(), ModelError> {
    if let Some((name, r)) = per_checkpoint.iter().find(|(_, r)| r.len() != inputs.len()) {
        return Err(chart_err(
            path,
            format!(
                "{name}: {} reconstructions of {} inputs",
                r.len(),
                inputs.len()
            ),
        ));
    }
    let mut images = vec![];
    for (i, input) in inputs.iter().enumerate() {
        images.push(input.clone());
        images.extend(per_checkpoint.iter().map(|(_, r)| r[i].clone()));
    }
    let mut col_labels = vec!["input".to_string()];
    col_labels.extend(per_checkpoint.iter().map(|(n, _)| n.clone()));
    let rows = (1..=inputs.len()).map(|i| format!("{i}")).collect();
    write_grid(
        path,
        &Grid {
            title: "Reconstructions over training".into(),
            images: &images,
            cols: per_checkpoint.len() + 1,
            cell: 100,
            col_labels,
            row_labels: rows,
            y_title: "test input".into(),
            ..Default::default()
        },
    )
}

/// Decoded images over a 2-D latent grid: `images` row by row, z2 from `ticks`' last value at
/// the top to its first at the bottom, z1 left to right.
///
/// # Errors
/// [`ModelError::Chart`] naming the file when the images are not `ticks.len()` squared; an
/// I/O error.
pub fn latent_grid_figure(
    path: &Path,
    images: &[Image],
    ticks: &[f32],
    title: &str,
) -> Result<(), ModelError> {
    if images.len() != ticks.len() * ticks.len() {
        return Err(chart_err(
            path,
            format!(
                "{} images for a {n}x{n} latent grid",
                images.len(),
                n = ticks.len()
            ),
        ));
    }
    let fmt = |v: &f32| format!("{v:.1}");
    write_grid(
        path,
        &Grid {
            title: title.into(),
            images,
            cols: ticks.len(),
            cell: 56,
            col_labels: ticks.iter().map(fmt).collect(),
            row_labels: ticks.iter().rev().map(fmt).collect(),
            col_labels_below: true,
            x_title: "z1".into(),
            y_title: "z2".into(),
        },
    )
}

/// The noise analysis (the paper's Figure 9): each image as is (top row) and saturated at
/// its 95th percentile on a logarithmic scale (bottom row), each column labelled with the
/// percentage of the image's pixels below 5e-5.
///
/// # Errors
/// [`ModelError::Chart`] naming the file for no images; an I/O error.
pub fn noise_figure(path: &Path, images: &[Image], source: &str) -> Result<(), ModelError> {
    let mut grid: Vec<Image> = images.to_vec();
    grid.extend(images.iter().map(|i| log_saturated(i, 0.95)));
    let col_labels = images
        .iter()
        .map(|i| format!("{:.1}%", percent_below(i, NOISE_THRESHOLD)))
        .collect();
    write_grid(
        path,
        &Grid {
            title: format!("Noise: {source}"),
            images: &grid,
            cols: images.len(),
            cell: 120,
            col_labels,
            x_title: "pixels below 5e-5".into(),
            row_labels: vec!["as is".into(), "log, saturated at p95".into()],
            ..Default::default()
        },
    )
}

/// FRI/FRII pairs decoded from the same latent points (the paper's Figure 11): one row per
/// pair, the FRI stamp, the FRII stamp and their profiles along the pair's principal axis.
///
/// # Errors
/// [`ModelError::Chart`] naming the file for no pairs; an I/O error.
pub fn pairs_figure(path: &Path, pairs: &[Pair]) -> Result<(), ModelError> {
    if pairs.is_empty() {
        return Err(chart_err(path, "no pairs to draw"));
    }
    let (side, gap, chart_w, head) = (300u32, 8u32, 620u32, 64u32);
    let width = 2 * side + 3 * gap + chart_w;
    let height = head + pairs.len() as u32 * (side + gap);
    render(path, width, height, |root| {
        label(
            root,
            "FRI/FRII pairs decoded from the same latent points",
            (width as i32 / 2, 18),
            20,
            false,
        )?;
        for (c, name) in ["FRI", "FRII"].iter().enumerate() {
            let x = (gap + c as u32 * (side + gap) + side / 2) as i32;
            label(root, name, (x, head as i32 - 14), 18, false)?;
        }
        for (k, p) in pairs.iter().enumerate() {
            let y = (head + k as u32 * (side + gap)) as i32;
            draw_stamp(root, &p.fri, (gap as i32, y), side)?;
            draw_stamp(root, &p.frii, ((2 * gap + side) as i32, y), side)?;
            let area = root
                .clone()
                .shrink(((2 * side + 3 * gap) as i32, y - 8), (chart_w, side + gap));
            draw_panel(
                &area,
                &profile_panel(&format!("Pair {k}: profiles"), &p.profile),
            )?;
        }
        Ok(())
    })
}
