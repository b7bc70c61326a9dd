//! The field's image, band by band: which sources each band needs, their patches rendered
//! once, the noise of each row, and the catalogue rows of the sources a range of bands owns.
//!
//! A source is *owned* by the first band its patch may touch (clamped to the image), and is
//! rendered when that band begins; it is dropped after the last band it touches. A range of
//! bands that does not start at the bottom (one MPI rank's share, [`super::ranked`]) also
//! renders the sources owned by earlier bands that reach into it, in the same order, so every
//! pixel receives the same additions in the same order as in one pass over the whole image:
//! the bytes are the same however the bands are shared out.

use super::catalogue::Row;
use super::patch::{Patch, Placement, render, row_span};
use super::population::{Planned, Population};
use super::{FieldConfig, stamp_size};
use crate::error::ModelError;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use std::ops::Range;

/// Rows per band.
pub const BAND_ROWS: usize = 128;

/// The number of bands of a field `height` rows high.
pub fn bands(height: usize) -> usize {
    height.div_ceil(BAND_ROWS)
}

/// A per-row noise seed: SplitMix64 of the field's seed and the row.
fn row_seed(seed: u64, y: usize) -> u64 {
    let mut z = seed
        .wrapping_add(0x9E37_79B9_7F4A_7C15u64.wrapping_mul(y as u64 + 1))
        .wrapping_add(0x006e_6f69_7365);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Renders bands `range` of the field (band `b` holds rows `b·BAND_ROWS ..`), calling
/// `emit(y0, pixels)` for each band in order (`pixels`: its rows from `y0` up, `width` wide),
/// and returns the catalogue rows of the sources these bands own (indexed by source id; `None`
/// for the others). `tick` is called after each band.
pub fn render_bands(
    cfg: &FieldConfig,
    pop: &mut Population,
    plan: &[Planned],
    range: Range<usize>,
    mut emit: impl FnMut(usize, &[f32]) -> Result<(), ModelError>,
    mut tick: impl FnMut(usize),
) -> Result<Vec<Option<Row>>, ModelError> {
    let (w, h) = (cfg.width, cfg.height);
    let last = bands(h).saturating_sub(1);
    let tan = cfg.tan();
    let pl = Placement {
        pixel_arcsec: cfg.pixel_arcsec,
        stamp_pixel_arcsec: cfg.stamp_pixel_arcsec,
        extra_sigma: cfg.extra_sigma_pixels(),
        beam_pixels: cfg.beam().area_pixels(cfg.pixel_arcsec),
    };
    let n_stamp = stamp_size(pop);
    // Sources in the order their patches begin (ties by id), with the last row they may touch.
    let mut order: Vec<(i64, usize, i64)> = plan
        .iter()
        .map(|p| {
            let (lo, hi) = row_span(p, n_stamp, &pl);
            (lo, p.id, hi)
        })
        .collect();
    order.sort_unstable();
    let owner = |lo: i64| (lo.max(0) as usize / BAND_ROWS).min(last);
    let first_row = range.start * BAND_ROWS;
    let mut next = 0;
    let mut active: Vec<Patch> = vec![];
    let mut rows: Vec<Option<Row>> = vec![None; plan.len()];
    let mut band = vec![0.0f32; w * BAND_ROWS];
    for b in range.clone() {
        let (y0, y1) = (b * BAND_ROWS, ((b + 1) * BAND_ROWS).min(h));
        // Sources that may touch this band and are not yet rendered: those this range owns,
        // and those owned by earlier bands that reach into the range.
        let mut entering: Vec<&Planned> = vec![];
        while next < order.len() && order[next].0 < y1 as i64 {
            let (lo, id, hi) = order[next];
            if owner(lo) >= range.start || hi >= first_row as i64 {
                entering.push(&plan[id]);
            }
            next += 1;
        }
        let stamps = pop.stamps(&entering)?;
        let patches: Vec<Patch> = entering
            .par_iter()
            .zip(stamps.par_iter())
            .map(|(p, img)| render(p, img, &pl))
            .collect();
        for (p, patch) in entering.iter().zip(&patches) {
            if owner(row_span(p, n_stamp, &pl).0) < range.start {
                continue;
            }
            let (ra_peak, dec_peak) =
                tan.pixel_to_world(patch.peak_at.0 as f64, patch.peak_at.1 as f64);
            let (ra, dec) = tan.pixel_to_world(p.x, p.y);
            rows[p.id] = Some(Row {
                id: p.id as u64,
                ra,
                dec,
                flux_int: patch.flux,
                flux_peak: patch.peak,
                class: p.class.map(|c| c.name()).unwrap_or("none").into(),
                size: patch.size_arcsec,
                pa: patch.pa_deg,
                x: p.x + 1.0,
                y: p.y + 1.0,
                ra_peak,
                dec_peak,
            });
        }
        active.extend(patches);
        let band = &mut band[..w * (y1 - y0)];
        band.par_chunks_mut(w).enumerate().for_each(|(j, row)| {
            if cfg.rms > 0.0 {
                let mut rng = ChaCha8Rng::seed_from_u64(row_seed(cfg.seed, y0 + j));
                for v in row.iter_mut() {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    *v = (z * cfg.rms) as f32;
                }
            } else {
                row.fill(0.0);
            }
        });
        for patch in &active {
            add(band, w, y0, y1, patch);
        }
        emit(y0, band)?;
        active.retain(|p| p.y0 + p.height as i64 > y1 as i64);
        tick(active.len());
    }
    Ok(rows)
}

/// Adds the rows of `patch` within field rows `[y0, y1)` to `band` (rows `y0..y1`, `w` wide).
fn add(band: &mut [f32], w: usize, y0: usize, y1: usize, patch: &Patch) {
    let (py0, py1) = (
        patch.y0.max(y0 as i64),
        (patch.y0 + patch.height as i64).min(y1 as i64),
    );
    let (px0, px1) = (
        patch.x0.max(0),
        (patch.x0 + patch.width as i64).min(w as i64),
    );
    if py0 >= py1 || px0 >= px1 {
        return;
    }
    for y in py0..py1 {
        let src = (y - patch.y0) as usize * patch.width;
        let dst = (y as usize - y0) * w;
        for x in px0..px1 {
            band[dst + x as usize] += patch.pixels[src + (x - patch.x0) as usize];
        }
    }
}

/// Big-endian IEEE floats, FITS's `BITPIX = -32`, into `bytes` (resized to fit).
pub fn to_fits_bytes(pixels: &[f32], bytes: &mut Vec<u8>) {
    bytes.resize(pixels.len() * 4, 0);
    for (dst, v) in bytes.chunks_exact_mut(4).zip(pixels) {
        dst.copy_from_slice(&v.to_be_bytes());
    }
}
