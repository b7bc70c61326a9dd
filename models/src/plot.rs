//! `loss.png`: the training and test loss per epoch, drawn with the `image` crate and a tiny
//! built-in digit font (no system fonts needed). Blue: training loss; orange: test loss.

use crate::error::ModelError;
use crate::train::EpochMetrics;
use image::{Rgb, RgbImage};

const W: u32 = 640;
const H: u32 = 400;
const L: u32 = 70;
const R: u32 = 20;
const T: u32 = 20;
const B: u32 = 40;

/// 3x5 glyphs for `0-9 . -`, one row per byte (bits 2..0 = columns left to right).
fn glyph(c: char) -> [u8; 5] {
    match c {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        '.' => [0, 0, 0, 0, 2],
        '-' => [0, 0, 7, 0, 0],
        _ => [0; 5],
    }
}

fn text(img: &mut RgbImage, x: u32, y: u32, s: &str) {
    let k = 2;
    for (i, c) in s.chars().enumerate() {
        for (row, bits) in glyph(c).iter().enumerate() {
            for col in 0..3 {
                if bits >> (2 - col) & 1 == 1 {
                    for dy in 0..k {
                        for dx in 0..k {
                            let px = x + (i as u32 * 4 + col) * k + dx;
                            let py = y + row as u32 * k + dy;
                            if px < W && py < H {
                                img.put_pixel(px, py, Rgb([0, 0, 0]));
                            }
                        }
                    }
                }
            }
        }
    }
}

fn line(img: &mut RgbImage, (x0, y0): (f64, f64), (x1, y1): (f64, f64), c: Rgb<u8>) {
    let n = ((x1 - x0).abs().max((y1 - y0).abs()) as usize).max(1);
    for i in 0..=n {
        let t = i as f64 / n as f64;
        let (x, y) = (x0 + t * (x1 - x0), y0 + t * (y1 - y0));
        for (dx, dy) in [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)] {
            let (px, py) = ((x + dx) as u32, (y + dy) as u32);
            if px < W && py < H {
                img.put_pixel(px, py, c);
            }
        }
    }
}

/// Draws the loss curves of `rows` to `path` (atomically).
pub fn loss_png(path: &std::path::Path, rows: &[EpochMetrics]) -> Result<(), ModelError> {
    let pts: Vec<(f64, Option<f64>, Option<f64>)> = rows
        .iter()
        .map(|r| (r.epoch as f64, r.train_loss, r.test_loss))
        .collect();
    curves_png(path, &pts)
}

/// Two curves over a common x: `(x, blue, orange)` points, either value may be missing.
/// Axis ends are labelled with their values.
pub fn curves_png(
    path: &std::path::Path,
    pts: &[(f64, Option<f64>, Option<f64>)],
) -> Result<(), ModelError> {
    save_rgb(path, &curves_image(pts))
}

/// Writes an RGB image as PNG (atomically).
pub fn save_rgb(path: &std::path::Path, img: &RgbImage) -> Result<(), ModelError> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| ModelError::Config(format!("{}: {e}", path.display())))?;
    lobes_ppl::io::write_atomic(path, &bytes.into_inner())?;
    Ok(())
}

/// [`curves_png`]'s picture (640x400), for composing figures.
pub fn curves_image(pts: &[(f64, Option<f64>, Option<f64>)]) -> RgbImage {
    let mut img = RgbImage::from_pixel(W, H, Rgb([255, 255, 255]));
    let vals: Vec<f64> = pts
        .iter()
        .flat_map(|p| p.1.into_iter().chain(p.2))
        .filter(|v| v.is_finite())
        .collect();
    if !vals.is_empty() {
        let (lo, hi) = vals
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            (lo - 1.0, hi + 1.0)
        };
        let e_min = pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
        let e_max = pts
            .iter()
            .map(|p| p.0)
            .fold(f64::NEG_INFINITY, f64::max)
            .max(e_min + 1e-12);
        let x = |e: f64| L as f64 + (e - e_min) / (e_max - e_min) * (W - L - R) as f64;
        let y = |v: f64| T as f64 + (hi - v) / (hi - lo) * (H - T - B) as f64;
        let black = Rgb([0, 0, 0]);
        line(
            &mut img,
            (L as f64, T as f64),
            (L as f64, (H - B) as f64),
            black,
        );
        line(
            &mut img,
            (L as f64, (H - B) as f64),
            ((W - R) as f64, (H - B) as f64),
            black,
        );
        text(&mut img, 4, T, &format!("{hi:.1}"));
        text(&mut img, 4, H - B - 10, &format!("{lo:.1}"));
        let label = |v: f64| {
            if v.fract() == 0.0 {
                format!("{v}")
            } else {
                format!("{v:.5}")
            }
        };
        text(&mut img, L, H - B + 8, &label(e_min));
        text(&mut img, W - R - 60, H - B + 8, &label(e_max));
        type Point = (f64, Option<f64>, Option<f64>);
        let series = |f: &dyn Fn(&Point) -> Option<f64>| -> Vec<(f64, f64)> {
            pts.iter()
                .filter_map(|p| f(p).filter(|v| v.is_finite()).map(|v| (x(p.0), y(v))))
                .collect()
        };
        for (pts, c) in [
            (series(&|p| p.1), Rgb([31, 119, 180])),
            (series(&|p| p.2), Rgb([255, 127, 14])),
        ] {
            for w in pts.windows(2) {
                line(&mut img, w[0], w[1], c);
            }
            for &(px, py) in &pts {
                line(&mut img, (px - 2.0, py), (px + 2.0, py), c);
                line(&mut img, (px, py - 2.0), (px, py + 2.0), c);
            }
        }
    }
    img
}
