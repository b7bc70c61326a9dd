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

pub mod bands;
pub mod catalogue;
pub mod config;
pub mod counts;
pub mod patch;
pub mod population;
pub mod ranked;

pub use bands::BAND_ROWS;
pub use config::{FieldConfig, FieldError};
pub use population::Population;
pub use ranked::simulate_on_ranks;

use crate::data::DataError;
use crate::data::fits::{card, image_header, real};
use crate::error::ModelError;
use catalogue::Row;
use std::io::Write;
use std::path::{Path, PathBuf};

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
/// half-written. `progress` is told of every band written (the CLI draws a bar from it; pass
/// `&mut |_| {}` for nothing): the library prints nothing.
pub fn simulate(
    cfg: &FieldConfig,
    pop: &mut Population,
    out: &Path,
    progress: &mut dyn FnMut(BandWritten),
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

/// One band of the image written, for a progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BandWritten {
    /// Bands written so far by this process (this rank).
    pub done: usize,
    /// Bands this process (rank) writes in all.
    pub total: usize,
    /// Sources whose stamps reach bands not yet written (held in memory).
    pub sources_held: usize,
}

/// Writes the image to `path` band by band; returns the catalogue.
fn stream(
    cfg: &FieldConfig,
    pop: &mut Population,
    plan: &[population::Planned],
    path: &Path,
    progress: &mut dyn FnMut(BandWritten),
) -> Result<Vec<Row>, ModelError> {
    let (w, h) = (cfg.width, cfg.height);
    let file = std::fs::File::create(path).map_err(|e| DataError::io(path, e))?;
    let mut f = std::io::BufWriter::with_capacity(1 << 20, file);
    let io = |e| DataError::io(path, e);
    f.write_all(&header(cfg)).map_err(io)?;
    let n = bands::bands(h);
    let mut done = 0;
    let mut bytes = vec![];
    let rows = bands::render_bands(
        cfg,
        pop,
        plan,
        0..n,
        |_, band| {
            bands::to_fits_bytes(band, &mut bytes);
            f.write_all(&bytes)
                .map_err(|e| DataError::io(path, e).into())
        },
        |held| {
            done += 1;
            progress(BandWritten {
                done,
                total: n,
                sources_held: held,
            });
        },
    )?;
    f.write_all(&vec![0u8; padding(w, h)]).map_err(io)?;
    let file = f.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok(rows
        .into_iter()
        .map(|r| r.expect("every planned source starts in some band"))
        .collect())
}

/// The image's FITS header: TAN WCS, beam, units and provenance.
fn header(cfg: &FieldConfig) -> Vec<u8> {
    let beam = cfg.beam();
    image_header(
        cfg.width,
        cfg.height,
        &cfg.tan(),
        Some(&beam),
        "Jy/beam",
        &provenance(cfg),
    )
}

/// Zero bytes after the pixels, to the FITS block (2,880 bytes).
fn padding(w: usize, h: usize) -> usize {
    let data = w * h * 4;
    data.div_ceil(2880) * 2880 - data
}
