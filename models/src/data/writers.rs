//! Writers: PNG stamps and grids, FITS stamps, a CSV of labels and metadata. Every file is
//! written to a temporary sibling and renamed, so none is ever half-written.

use super::fits::{Wcs, encode};
use super::{DataError, Image, Sample};
use lobes_ppl::io::write_atomic;
use std::path::Path;

fn atomic(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    write_atomic(path, bytes).map_err(|e| DataError::format(path, e.to_string()))
}

fn png_bytes(w: u32, h: u32, px: Vec<u8>, path: &Path) -> Result<Vec<u8>, DataError> {
    let img = image::GrayImage::from_raw(w, h, px)
        .ok_or_else(|| DataError::format(path, "pixel buffer size mismatch"))?;
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| DataError::format(path, e.to_string()))?;
    Ok(out.into_inner())
}

/// An 8-bit greyscale PNG of `img` (0 -> black, 1 -> white).
pub fn write_png(path: &Path, img: &Image) -> Result<(), DataError> {
    let n = img.size as u32;
    atomic(path, &png_bytes(n, n, img.to_u8(), path)?)
}

/// A grid of images, `cols` per row, separated by 2-pixel grey lines.
pub fn write_grid(path: &Path, images: &[Image], cols: usize) -> Result<(), DataError> {
    let Some(first) = images.first() else {
        return Err(DataError::format(path, "no images for the grid"));
    };
    let n = first.size;
    let cols = cols.clamp(1, images.len());
    let rows = images.len().div_ceil(cols);
    let gap = 2;
    let (w, h) = (cols * n + (cols - 1) * gap, rows * n + (rows - 1) * gap);
    let mut px = vec![96u8; w * h];
    for (k, img) in images.iter().enumerate() {
        if img.size != n {
            return Err(DataError::format(
                path,
                format!("grid image {k} is {0}x{0}, not {n}x{n}", img.size),
            ));
        }
        let (r, c) = (k / cols, k % cols);
        let bytes = img.to_u8();
        for y in 0..n {
            let row = (r * (n + gap) + y) * w + c * (n + gap);
            px[row..row + n].copy_from_slice(&bytes[y * n..(y + 1) * n]);
        }
    }
    atomic(path, &png_bytes(w as u32, h as u32, px, path)?)
}

/// A FITS stamp (float32) with a TAN WCS and `BUNIT`.
pub fn write_fits(path: &Path, img: &Image, wcs: &Wcs, bunit: &str) -> Result<(), DataError> {
    atomic(path, &encode(img, wcs, bunit))
}

/// `s` as a CSV field: quoted when it holds a comma, a quote or a newline.
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A CSV with one row per sample: file, split, label (0/1), class, name and every metadata key
/// that any sample has.
pub fn write_labels_csv(path: &Path, rows: &[(String, String, &Sample)]) -> Result<(), DataError> {
    let mut keys: Vec<String> = rows
        .iter()
        .flat_map(|(_, _, s)| s.meta.keys().cloned())
        .collect();
    keys.sort();
    keys.dedup();
    let mut out = String::from("file,split,label,class,name");
    for k in &keys {
        out.push(',');
        out.push_str(&csv_field(k));
    }
    out.push('\n');
    for (file, split, s) in rows {
        let mut line = vec![
            csv_field(file),
            csv_field(split),
            s.label.label().to_string(),
            s.label.name().into(),
            csv_field(&s.name),
        ];
        line.extend(
            keys.iter()
                .map(|k| csv_field(s.meta.get(k).map(String::as_str).unwrap_or(""))),
        );
        out.push_str(&line.join(","));
        out.push('\n');
    }
    atomic(path, out.as_bytes())
}
