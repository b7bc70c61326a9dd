//! Survey-like fields: a FITS image of sources drawn from the synthetic generator or a trained
//! VAE/CVAE, placed uniformly on a TAN-projected patch of sky with power-law fluxes and random
//! position angles, at the field's beam, with Gaussian noise; and the truth catalogue.
//!
//! The image is streamed: it is made in bands of [`BAND_ROWS`] rows from the bottom (FITS
//! order), each source rendered when the first band it may touch begins and dropped after the
//! last, and every band written as soon as it is done. Memory is one band plus the sources
//! that overlap it, whatever the image's size. Every random draw comes from the seed (the plan
//! of sources from one stream, each stamp from its own seed, each row's noise from its own),
//! so the same options write byte-identical files.

pub mod catalogue;
pub mod config;
pub mod counts;
pub mod patch;
pub mod population;

pub use config::{FieldConfig, FieldError};
pub use population::Population;

use crate::data::DataError;
use crate::data::fits::{card, image_header, real};
use crate::error::ModelError;
use catalogue::Row;
use patch::{Patch, Placement, render, row_span};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Rows per band.
pub const BAND_ROWS: usize = 128;

/// The file names written into the output folder.
pub const IMAGE_FILE: &str = "field.fits";
/// The truth catalogue as CSV.
pub const CSV_FILE: &str = "truth.csv";
/// The truth catalogue as a FITS binary table.
pub const TABLE_FILE: &str = "truth.fits";

/// What a simulation wrote.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The image.
    pub image: PathBuf,
    /// The catalogue, CSV.
    pub csv: PathBuf,
    /// The catalogue, FITS binary table.
    pub table: PathBuf,
    /// The catalogue's rows.
    pub rows: Vec<Row>,
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

/// The side of a population's stamps.
fn stamp_size(pop: &Population) -> usize {
    match pop {
        Population::Synthetic(s) => s.size,
        Population::Model { generator, .. } => {
            (generator.net.pixels as f64).sqrt().round() as usize
        }
    }
}

/// Simulates the field `cfg` with sources from `pop` into folder `out`: [`IMAGE_FILE`],
/// [`CSV_FILE`] and [`TABLE_FILE`]. Options are checked before anything is written; the image
/// goes to a temporary file renamed when complete, the catalogues after it, so no file is ever
/// half-written. `progress` shows a bar (hidden anyway when stderr is not a terminal).
pub fn simulate(
    cfg: &FieldConfig,
    pop: &mut Population,
    out: &Path,
    progress: bool,
) -> Result<Summary, ModelError> {
    cfg.validate()?;
    pop.check(cfg)?;
    let plan = population::plan(cfg, pop.has_classes())?;
    std::fs::create_dir_all(out).map_err(|e| DataError::io(out, e))?;
    // An earlier run killed mid-write (SIGKILL) left its temporary image, gigabytes for a
    // large field.
    lobes_ppl::io::remove_stale_temporaries(out)?;
    let image = out.join(IMAGE_FILE);
    // Removed if the stream fails, and by the binary's SIGINT/SIGTERM handler.
    let tmp = lobes_ppl::io::Temporary::beside(&image)?;
    let rows = stream(cfg, pop, &plan, tmp.path(), progress)?;
    tmp.persist()?;
    let (csv, table) = (out.join(CSV_FILE), out.join(TABLE_FILE));
    catalogue::write(&rows, &csv, &table, &provenance(cfg))?;
    Ok(Summary {
        image,
        csv,
        table,
        rows,
    })
}

/// Header cards recording how a field was made.
fn provenance(cfg: &FieldConfig) -> Vec<String> {
    let mut v = vec![
        card(
            "RMSNOISE",
            &real(cfg.rms),
            "Gaussian noise rms added (Jy/beam)",
        ),
        card(
            "NSOURCES",
            &cfg.sources.to_string(),
            "sources in the truth catalogue",
        ),
        card("SLOPE", &real(cfg.slope), "dN/dS ~ S^-SLOPE"),
        card("SMIN", &real(cfg.s_min), "faintest integrated flux (Jy)"),
    ];
    if cfg.s_max.is_finite() {
        v.push(card(
            "SMAX",
            &real(cfg.s_max),
            "brightest integrated flux (Jy)",
        ));
    }
    v.push(card(
        "STAMPPIX",
        &real(cfg.stamp_pixel_arcsec),
        "a stamp pixel on the sky (arcsec)",
    ));
    v.push(card(
        "SEED",
        &cfg.seed.to_string(),
        "seed of lobes simulate-field",
    ));
    v
}

/// Writes the image to `path` band by band; returns the catalogue.
fn stream(
    cfg: &FieldConfig,
    pop: &mut Population,
    plan: &[population::Planned],
    path: &Path,
    progress: bool,
) -> Result<Vec<Row>, ModelError> {
    let (w, h) = (cfg.width, cfg.height);
    let tan = cfg.tan();
    let beam = cfg.beam();
    let pl = Placement {
        pixel_arcsec: cfg.pixel_arcsec,
        stamp_pixel_arcsec: cfg.stamp_pixel_arcsec,
        extra_sigma: cfg.extra_sigma_pixels(),
        beam_pixels: beam.area_pixels(cfg.pixel_arcsec),
    };
    let n_stamp = stamp_size(pop);
    // Sources in the order their patches begin (ties by id).
    let mut order: Vec<(i64, usize)> = plan
        .iter()
        .map(|p| (row_span(p, n_stamp, &pl).0, p.id))
        .collect();
    order.sort_unstable();
    let mut next = 0;
    let mut active: Vec<Patch> = vec![];
    let mut rows: Vec<Option<Row>> = vec![None; plan.len()];

    let file = std::fs::File::create(path).map_err(|e| DataError::io(path, e))?;
    let mut f = std::io::BufWriter::with_capacity(1 << 20, file);
    let io = |e| DataError::io(path, e);
    f.write_all(&image_header(
        w,
        h,
        &tan,
        Some(&beam),
        "Jy/beam",
        &provenance(cfg),
    ))
    .map_err(io)?;
    let bands = h.div_ceil(BAND_ROWS);
    let bar = if progress {
        indicatif::ProgressBar::new(bands as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("field {bar:30} {pos}/{len} bands {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut band = vec![0.0f32; w * BAND_ROWS];
    let mut bytes = vec![0u8; w * BAND_ROWS * 4];
    for b in 0..bands {
        let (y0, y1) = (b * BAND_ROWS, ((b + 1) * BAND_ROWS).min(h));
        // Sources that may touch this band and are not yet rendered. The first band also
        // takes those whose patches begin below the image.
        let start = next;
        while next < order.len() && order[next].0 < y1 as i64 {
            next += 1;
        }
        let entering: Vec<&population::Planned> = order[start..next]
            .iter()
            .map(|&(_, id)| &plan[id])
            .collect();
        let stamps = pop.stamps(&entering)?;
        let patches: Vec<Patch> = entering
            .par_iter()
            .zip(stamps.par_iter())
            .map(|(p, img)| render(p, img, &pl))
            .collect();
        for (p, patch) in entering.iter().zip(&patches) {
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
        let rows_here = y1 - y0;
        let band = &mut band[..w * rows_here];
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
        let bytes = &mut bytes[..band.len() * 4];
        for (dst, v) in bytes.chunks_exact_mut(4).zip(band.iter()) {
            dst.copy_from_slice(&v.to_be_bytes());
        }
        f.write_all(bytes).map_err(io)?;
        active.retain(|p| p.y0 + p.height as i64 > y1 as i64);
        bar.set_message(format!("{} sources held", active.len()));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let data = w * h * 4;
    let pad = data.div_ceil(2880) * 2880 - data;
    f.write_all(&vec![0u8; pad]).map_err(io)?;
    let file = f.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok(rows
        .into_iter()
        .map(|r| r.expect("every planned source starts in some band"))
        .collect())
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
