//! Image grids with a title and row and column labels (the paper's Figures 7 to 10:
//! reconstructions, their evolution over training, the latent grid, the noise analysis),
//! drawn with `plotters` in the embedded font. Stamps are shown in greyscale (0 black, 1
//! white), resampled to the cell size (box average when shrinking, nearest when growing).

use super::{Area, chart_err, render};
use crate::data::Image;
use crate::error::ModelError;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// A grid of stamps, `cols` per row (row-major), with optional labels.
#[derive(Clone, Debug, Default)]
pub struct Grid<'a> {
    /// Title above the grid (none when empty).
    pub title: String,
    /// The stamps, row by row.
    pub images: &'a [Image],
    /// Stamps per row.
    pub cols: usize,
    /// Side of each cell in pixels.
    pub cell: u32,
    /// One label per column, or none.
    pub col_labels: Vec<String>,
    /// One label per row, or none.
    pub row_labels: Vec<String>,
    /// Column labels below the grid instead of above (an x axis).
    pub col_labels_below: bool,
    /// A title for the columns (e.g. the axis name), beside the column labels.
    pub x_title: String,
    /// A title for the rows, rotated, left of the row labels.
    pub y_title: String,
}

const LABEL: u32 = 16;
const GAP: u32 = 2;

/// The width in pixels of `s` in the label font (DejaVu Sans averages 0.6 em a character).
fn text_width(s: &str, size: u32) -> u32 {
    (s.chars().count() as f64 * size as f64 * 0.6).ceil() as u32
}

/// `img` as RGB bytes at `side` x `side`.
pub(crate) fn stamp_rgb(img: &Image, side: u32) -> Vec<u8> {
    let n = img.size as u32;
    let mut out = Vec::with_capacity((side * side * 3) as usize);
    for oy in 0..side {
        let (y0, y1) = (oy * n / side, ((oy + 1) * n / side).max(oy * n / side + 1));
        for ox in 0..side {
            let (x0, x1) = (ox * n / side, ((ox + 1) * n / side).max(ox * n / side + 1));
            let mut sum = 0.0f32;
            for y in y0..y1.min(n) {
                for x in x0..x1.min(n) {
                    sum += img.at(y as usize, x as usize).clamp(0.0, 1.0);
                }
            }
            let v = sum / ((y1.min(n) - y0) * (x1.min(n) - x0)).max(1) as f32;
            let b = (v * 255.0).round() as u8;
            out.extend([b, b, b]);
        }
    }
    out
}

/// Draws `img` on `area` with its top-left corner at `at`, `side` pixels wide.
pub(crate) fn draw_stamp(
    area: &Area,
    img: &Image,
    at: (i32, i32),
    side: u32,
) -> Result<(), String> {
    let el = BitMapElement::<(i32, i32)>::with_owned_buffer(at, (side, side), stamp_rgb(img, side))
        .ok_or("stamp buffer of the wrong size")?;
    area.draw(&el).map_err(|e| e.to_string())
}

/// Draws `s` centred at `at` in `size`-pixel type, rotated a quarter turn if `vertical`.
pub(crate) fn label(
    area: &Area,
    s: &str,
    at: (i32, i32),
    size: u32,
    vertical: bool,
) -> Result<(), String> {
    let font = ("sans-serif", size).into_font();
    let font = if vertical {
        font.transform(FontTransform::Rotate270)
    } else {
        font
    };
    let style = TextStyle::from(font).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new(s.to_string(), at, style))
        .map_err(|e| e.to_string())
}

/// Writes `grid` as PNG at `path` (atomically).
///
/// # Errors
/// [`ModelError::Chart`] naming the file for no images, a cell of 0 pixels, or label counts
/// that do not match the rows and columns; an I/O error writing the file.
pub fn write_grid(path: &Path, grid: &Grid) -> Result<(), ModelError> {
    if grid.images.is_empty() {
        return Err(chart_err(path, "no images for the grid"));
    }
    if grid.cell == 0 {
        return Err(chart_err(path, "a grid cell of 0 pixels"));
    }
    let cols = grid.cols.clamp(1, grid.images.len());
    let rows = grid.images.len().div_ceil(cols);
    for (what, labels, n) in [
        ("column", &grid.col_labels, cols),
        ("row", &grid.row_labels, rows),
    ] {
        if !labels.is_empty() && labels.len() != n {
            return Err(chart_err(
                path,
                format!("{} {what} labels for {n} {what}s", labels.len()),
            ));
        }
    }
    let line = LABEL + 10;
    let title_h = if grid.title.is_empty() { 0 } else { 36 };
    let col_h = if grid.col_labels.is_empty() { 0 } else { line };
    let xt_h = if grid.x_title.is_empty() { 0 } else { line };
    let (top, bottom) = if grid.col_labels_below {
        (title_h + 6, col_h + xt_h + 6)
    } else {
        (title_h + col_h + xt_h + 6, 6)
    };
    let row_w = grid
        .row_labels
        .iter()
        .map(|s| text_width(s, LABEL) + 12)
        .max()
        .unwrap_or(0);
    let yt_w = if grid.y_title.is_empty() { 0 } else { line };
    let left = yt_w + row_w + 6;
    let (cell, pitch) = (grid.cell, grid.cell + GAP);
    let grid_w = cols as u32 * pitch - GAP;
    let grid_h = rows as u32 * pitch - GAP;
    let title_w = text_width(&grid.title, 20) + 20;
    let width = (left + grid_w + 6).max(title_w);
    let height = top + grid_h + bottom;
    let gx = left as i32;
    let gy = top as i32;
    let mid_x = gx + grid_w as i32 / 2;
    render(path, width, height, |root| {
        if !grid.title.is_empty() {
            label(root, &grid.title, (width as i32 / 2, 20), 20, false)?;
        }
        for (k, img) in grid.images.iter().enumerate() {
            let (r, c) = ((k / cols) as i32, (k % cols) as i32);
            draw_stamp(
                root,
                img,
                (gx + c * pitch as i32, gy + r * pitch as i32),
                cell,
            )?;
        }
        let (col_y, xt_y) = if grid.col_labels_below {
            let y = gy + grid_h as i32 + line as i32 / 2 + 2;
            (y, y + line as i32)
        } else {
            let y = gy - line as i32 / 2 - 2;
            (y, y - col_h as i32)
        };
        for (c, s) in grid.col_labels.iter().enumerate() {
            let x = gx + c as i32 * pitch as i32 + cell as i32 / 2;
            label(root, s, (x, col_y), LABEL, false)?;
        }
        if !grid.x_title.is_empty() {
            let y = if grid.col_labels.is_empty() {
                col_y
            } else {
                xt_y
            };
            label(root, &grid.x_title, (mid_x, y), LABEL + 2, false)?;
        }
        for (r, s) in grid.row_labels.iter().enumerate() {
            let y = gy + r as i32 * pitch as i32 + cell as i32 / 2;
            label(root, s, (yt_w as i32 + row_w as i32 / 2, y), LABEL, false)?;
        }
        if !grid.y_title.is_empty() {
            let y = gy + grid_h as i32 / 2;
            label(root, &grid.y_title, (line as i32 / 2, y), LABEL + 2, true)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(size: usize) -> Image {
        Image::new(
            size,
            (0..size * size)
                .map(|i| (i % size) as f32 / size as f32)
                .collect(),
        )
    }

    #[test]
    fn a_labelled_grid_has_the_expected_size_and_bad_grids_are_errors() {
        let dir = std::env::temp_dir().join(format!("lobes-grid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let imgs = vec![ramp(100); 6];
        let p = dir.join("g.png");
        let g = Grid {
            title: "reconstructions".into(),
            images: &imgs,
            cols: 3,
            cell: 80,
            row_labels: vec!["input".into(), "reconstruction".into()],
            col_labels: vec!["a".into(), "b".into(), "c".into()],
            ..Default::default()
        };
        write_grid(&p, &g).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        // left: the longest row label (14 characters at 16 px, 0.6 em each) + 12 + 6; top:
        // title 36, column labels 26, 6; bottom 6.
        let left = 135 + 12 + 6;
        assert_eq!(
            img.dimensions(),
            (left + 3 * 82 - 2 + 6, 36 + 26 + 6 + 2 * 82 - 2 + 6)
        );
        // The first stamp's ramp: dark at its left edge, bright at its right.
        let (x, y) = (left, 36 + 26 + 6 + 40);
        assert!(img.get_pixel(x, y).0[0] < 10);
        assert!(img.get_pixel(x + 79, y).0[0] > 240);
        // Text was drawn left of the grid (row labels).
        let ink = (0..left - 6)
            .flat_map(|x| (0..img.height()).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0 != [255, 255, 255])
            .count();
        assert!(ink > 200, "{ink}");

        let bad = Grid {
            row_labels: vec!["only one".into()],
            ..g.clone()
        };
        let e = write_grid(&dir.join("b.png"), &bad)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("b.png") && e.contains("1 row labels for 2 rows"),
            "{e}"
        );
        let none = Grid {
            images: &[],
            ..g.clone()
        };
        let e = write_grid(&dir.join("n.png"), &none)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no images"), "{e}");
        let e = write_grid(&dir.join("no-dir").join("g.png"), &g)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no-dir"), "{e}");
        assert!(!dir.join("b.png").exists() && !dir.join("n.png").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn shrinking_a_stamp_averages_its_pixels() {
        let img = Image::new(2, vec![0.0, 1.0, 1.0, 0.0]);
        assert_eq!(stamp_rgb(&img, 1), vec![128, 128, 128]);
        assert_eq!(stamp_rgb(&img, 4)[..6], [0, 0, 0, 0, 0, 0]);
    }
}
