//! One field, rendered by the ranks of a job (`mpirun -np N lobes simulate-field
//! --data-parallel`): rank `r` of `N` renders a contiguous share of the bands and writes them
//! at their byte offsets into one temporary FITS file that rank 0 created; the catalogue rows
//! are gathered to every rank; rank 0 renames the image into place and writes the catalogues.
//! Memory per rank is one band plus the sources that overlap it, and the catalogue. The file is
//! byte-identical to [`super::simulate`]'s with the same options (see [`super::bands`]).
//!
//! Every rank must see the output folder (a shared file system on a cluster). A failure on
//! any rank is agreed on at the next collective, so every rank returns an error and rank 0
//! removes the temporary file; over MPI a rank that dies or hangs makes the others' collectives
//! time out ([`crate::train::Replicas`]).

use super::catalogue::{self, Row};
use super::population::{self, Population};
use super::{BandWritten, FieldConfig, IMAGE_FILE, Summary, bands, header, padding};
use crate::data::DataError;
use crate::error::ModelError;
use crate::train::Replicas;
use lobes_ppl::PplError;
use lobes_ppl::io::Temporary;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The bands rank `rank` of `ranks` renders: a contiguous share of `0..n`, sizes differing by
/// at most one.
pub fn share(n: usize, rank: usize, ranks: usize) -> std::ops::Range<usize> {
    let ranks = ranks.max(1);
    (rank * n / ranks)..((rank + 1) * n / ranks)
}

/// [`super::simulate`] shared out over the ranks of `ranks`: every rank calls it with the same
/// options (and a population made from the same checkpoint) and gets the same [`Summary`];
/// rank 0 alone writes the folder's files. The caller claims the output folder on rank 0
/// before (see `lobes simulate-field`).
pub fn simulate_on_ranks(
    cfg: &FieldConfig,
    pop: &mut Population,
    out: &Path,
    progress: &mut dyn FnMut(BandWritten),
    ranks: &mut dyn Replicas,
) -> Result<Summary, ModelError> {
    let (rank, n) = (ranks.rank(), ranks.replicas());
    let checked = (|| {
        cfg.validate()?;
        pop.check(cfg)?;
        Ok::<_, ModelError>(population::plan(cfg, pop.has_classes())?)
    })();
    agree(ranks, "options", checked.is_err())?;
    let plan = checked?;
    let image = out.join(IMAGE_FILE);
    let head = header(cfg);
    let total = head.len() + cfg.width * cfg.height * 4 + padding(cfg.width, cfg.height);

    // Rank 0 makes the temporary image at its full length (header, then zeros) and tells the
    // others its process id, which names the file.
    let made = if rank == 0 {
        Some(prepare(out, &image, &head, total))
    } else {
        None
    };
    let mut shared = [0.0, 0.0];
    if let Some(Ok(_)) = &made {
        shared = [1.0, f64::from(std::process::id())];
    }
    ranks.broadcast("temporary image", &mut shared)?;
    let tmp = match made {
        Some(m) => Some(m?),
        None if shared[0] == 0.0 => return Err(other_failed(rank, n, "creating the image")),
        None => None,
    };
    let path = Temporary::of_process(&image, shared[1] as u32)
        .ok_or_else(|| DataError::io(&image, std::io::ErrorKind::InvalidInput.into()))?;

    let mine = share(bands::bands(cfg.height), rank, n);
    let rendered = (|| {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| DataError::io(&path, e))?;
        let (total, mut done) = (mine.len(), 0);
        let mut bytes = vec![];
        let rows = bands::render_bands(
            cfg,
            pop,
            &plan,
            mine.clone(),
            |y0, band| {
                bands::to_fits_bytes(band, &mut bytes);
                let at = (head.len() + y0 * cfg.width * 4) as u64;
                file.write_all_at(&bytes, at)
                    .map_err(|e| DataError::io(&path, e).into())
            },
            |held| {
                done += 1;
                progress(BandWritten {
                    done,
                    total,
                    sources_held: held,
                });
            },
        )?;
        file.sync_all().map_err(|e| DataError::io(&path, e))?;
        Ok::<_, ModelError>(rows)
    })();
    agree(ranks, "rendering", rendered.is_err())?;
    let rows = gather(ranks, rendered?)?;

    let written = match tmp {
        Some(tmp) => (|| {
            tmp.persist()?;
            let (csv, table) = (out.join(super::CSV_FILE), out.join(super::TABLE_FILE));
            catalogue::write(&rows, &csv, &table, &super::provenance(cfg))?;
            Ok::<_, ModelError>(())
        })(),
        None => Ok(()),
    };
    agree(ranks, "writing the catalogue", written.is_err())?;
    written?;
    Ok(Summary {
        image,
        csv: out.join(super::CSV_FILE),
        table: out.join(super::TABLE_FILE),
        rows,
    })
}

/// Rank 0: the folder, stale temporaries removed, the temporary image at its full length.
fn prepare(out: &Path, image: &Path, head: &[u8], total: usize) -> Result<Temporary, ModelError> {
    std::fs::create_dir_all(out).map_err(|e| DataError::io(out, e))?;
    lobes_ppl::io::remove_stale_temporaries(out)?;
    let tmp = Temporary::beside(image)?;
    let p = tmp.path().to_path_buf();
    let file = std::fs::File::create(&p).map_err(|e| DataError::io(&p, e))?;
    file.write_all_at(head, 0)
        .and_then(|_| file.set_len(total as u64))
        .map_err(|e| DataError::io(&p, e))?;
    Ok(tmp)
}

/// Whether any rank failed at `stage`: an error on every rank but the failing ones (which
/// return their own).
fn agree(ranks: &mut dyn Replicas, stage: &str, failed: bool) -> Result<(), ModelError> {
    let any = ranks.max(&format!("field: {stage}"), u64::from(failed))?;
    if any > 0 && !failed {
        return Err(other_failed(ranks.rank(), ranks.replicas(), stage));
    }
    Ok(())
}

fn other_failed(rank: usize, n: usize, stage: &str) -> ModelError {
    PplError::Collective {
        op: format!("field: {stage}"),
        reason: format!(
            "another rank failed (its message names the cause); rank {rank} of {n} stops"
        ),
    }
    .into()
}

/// The classes a catalogue row can name, coded for [`gather`].
const CLASSES: [&str; 3] = ["none", "FRI", "FRII"];

/// Every rank's catalogue rows on every rank: each row as 12 words, non-zero on its owner only
/// (a word is the value's bits, plus one in the first word to mark the row present), summed.
fn gather(ranks: &mut dyn Replicas, rows: Vec<Option<Row>>) -> Result<Vec<Row>, ModelError> {
    let mut words = vec![0u64; rows.len() * 12];
    for (r, w) in rows.iter().zip(words.chunks_exact_mut(12)) {
        if let Some(r) = r {
            let class = CLASSES.iter().position(|c| *c == r.class).unwrap_or(0) as u64;
            let v = [
                r.ra,
                r.dec,
                r.flux_int,
                r.flux_peak,
                r.size,
                r.pa,
                r.x,
                r.y,
                r.ra_peak,
                r.dec_peak,
            ];
            w[0] = 1 + class;
            w[1] = r.id;
            for (d, x) in w[2..].iter_mut().zip(v) {
                *d = x.to_bits();
            }
        }
    }
    ranks.sum("catalogue rows", &mut words)?;
    words
        .chunks_exact(12)
        .enumerate()
        .map(|(id, w)| {
            if w[0] == 0 || w[0] > CLASSES.len() as u64 {
                return Err(PplError::Collective {
                    op: "field: catalogue rows".into(),
                    reason: format!("source {id} has no row or two ranks rendered it"),
                }
                .into());
            }
            let f = |k: usize| f64::from_bits(w[k]);
            Ok(Row {
                id: w[1],
                ra: f(2),
                dec: f(3),
                flux_int: f(4),
                flux_peak: f(5),
                class: CLASSES[(w[0] - 1) as usize].into(),
                size: f(6),
                pa: f(7),
                x: f(8),
                y: f(9),
                ra_peak: f(10),
                dec_peak: f(11),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_every_band_once_in_order() {
        for n in [0, 1, 5, 16, 17] {
            for ranks in 1..6 {
                let all: Vec<usize> = (0..ranks).flat_map(|r| share(n, r, ranks)).collect();
                assert_eq!(all, (0..n).collect::<Vec<_>>(), "n {n}, ranks {ranks}");
            }
        }
    }
}
