//! `lobes generate`'s stamps: written chunk by chunk as they are decoded, so any number of
//! stamps needs the memory of one chunk (and of the latent points and `labels.csv` rows), and
//! the first stamps are on disk within seconds.

use super::{Generator, Sampling};
use crate::data::stamps::{StampFormat, StampStream};
use crate::data::{Class, Image, writers};
use crate::error::ModelError;
use crate::vae::ModelKind;
use std::path::Path;

/// Images decoded at once: up to this many, the stamps are bit for bit those of one decode.
pub const CHUNK: usize = 500;

/// `grid.png` shows at most this many stamps (the first; 16 x 16).
pub const GRID_MAX: usize = 256;

/// Bytes kept per stamp until the end: its latent point and its `labels.csv` row.
fn kept_per_stamp(latent: usize) -> u128 {
    4 * latent as u128 + 96
}

/// Writes `n` stamps from `g` into `out` (a CVAE's in `FRI/` and `FRII/` with `labels.csv`, a
/// VAE's in `out` itself) and `grid.png` of the first [`GRID_MAX`]; returns the number
/// written. Refused before anything is decoded: `n` whose latent points and rows would not fit
/// in memory ([`crate::memory`]), named as `generate --n N`. Each chunk is checked for
/// non-finite pixels before any of it is written, so a model that decodes NaN writes nothing.
pub fn write_generated(
    g: &mut Generator,
    n: usize,
    class: Option<Class>,
    sampling: Sampling,
    seed: u64,
    out: &Path,
    format: StampFormat,
) -> Result<usize, ModelError> {
    crate::memory::check(
        &format!("generate --n {n} ({n} latent points and labels kept until the end)"),
        crate::memory::total(n, kept_per_stamp(g.net.latent), 0),
    )?;
    let mut stream = StampStream::new(out, format, g.kind == ModelKind::Cvae, "generated");
    let mut grid: Vec<Image> = vec![];
    g.generate_chunks(n, class, sampling, seed, CHUNK, |chunk| {
        stream.write(&chunk)?;
        let room = GRID_MAX.saturating_sub(grid.len());
        grid.extend(chunk.into_iter().take(room).map(|s| s.image));
        Ok(())
    })?;
    let written = stream.finish()?;
    let cols = (grid.len() as f64).sqrt().ceil() as usize;
    writers::write_grid(&out.join("grid.png"), &grid, cols)?;
    Ok(written)
}
