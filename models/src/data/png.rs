//! A folder of PNG stamps as a data set. The class comes from a sub-folder (`FRI/`, `FRII/`,
//! or `0/`, `1/`) or from the file-name prefix (`FRI_...png`, `FRII_...png`); optional
//! `train/` and `test/` sub-folders give the split.

use super::{Class, DataError, DataSet, Image, Sample};
use std::collections::BTreeMap;
use std::path::Path;

/// The largest stamp side read from a PNG: a few bytes of deflate can declare a
/// 100000x100000 image, refused before it is decoded.
pub const MAX_PNG_SIDE: u32 = 4096;

fn read_png(path: &Path) -> Result<Image, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    decode_png(&bytes, path)
}

/// Decodes one PNG stamp from `bytes` (`path` names it in errors). The size is checked from
/// the header before decoding (square, at most [`MAX_PNG_SIDE`] pixels a side); colour or
/// 16-bit images are converted to 8-bit grey (luma), alpha is dropped.
pub fn decode_png(bytes: &[u8], path: &Path) -> Result<Image, DataError> {
    let bad = |e: image::ImageError| DataError::format(path, format!("not a readable PNG: {e}"));
    let reader =
        || image::ImageReader::with_format(std::io::Cursor::new(bytes), image::ImageFormat::Png);
    let (w, h) = reader().into_dimensions().map_err(bad)?;
    if w > MAX_PNG_SIDE || h > MAX_PNG_SIDE {
        return Err(DataError::format(
            path,
            format!("image is {w}x{h}, larger than the {MAX_PNG_SIDE}x{MAX_PNG_SIDE} stamps read"),
        ));
    }
    if w != h {
        return Err(DataError::format(
            path,
            format!("image is {w}x{h}, expected a square stamp"),
        ));
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_PNG_SIDE);
    limits.max_image_height = Some(MAX_PNG_SIDE);
    // RGBA16 at the largest side, the most a PNG of that size decodes to.
    limits.max_alloc = Some(MAX_PNG_SIDE as u64 * MAX_PNG_SIDE as u64 * 8 + (1 << 20));
    let mut r = reader();
    r.limits(limits);
    let img = r.decode().map_err(bad)?;
    let g = img.to_luma8();
    let (w, h) = g.dimensions();
    if w != h {
        return Err(DataError::format(
            path,
            format!("image is {w}x{h}, expected a square stamp"),
        ));
    }
    Ok(Image::new(
        w as usize,
        g.into_raw().iter().map(|&b| b as f32 / 255.0).collect(),
    ))
}

fn class_from_prefix(name: &str) -> Option<Class> {
    let up = name.to_ascii_uppercase();
    if up.starts_with("FRII") || up.starts_with("FR2") {
        Some(Class::FRII)
    } else if up.starts_with("FRI") || up.starts_with("FR1") {
        Some(Class::FRI)
    } else {
        None
    }
}

fn load_split(dir: &Path, out: &mut Vec<Sample>) -> Result<(), DataError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| DataError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    // With class folders present, loose images (a grid, a preview) are not samples.
    let folders = entries.iter().any(|p| {
        p.is_dir()
            && p.file_name()
                .and_then(|n| n.to_str())
                .and_then(Class::parse)
                .is_some()
    });
    for p in entries {
        let name = p
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if p.is_dir() {
            let Some(class) = Class::parse(&name) else {
                continue;
            };
            let mut files: Vec<_> = std::fs::read_dir(&p)
                .map_err(|e| DataError::io(&p, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")))
                .collect();
            files.sort();
            for f in files {
                let fname = f
                    .file_name()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.push(Sample {
                    image: read_png(&f)?,
                    label: class,
                    name: fname,
                    meta: BTreeMap::new(),
                });
            }
        } else if !folders && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")) {
            let class = class_from_prefix(&name).ok_or_else(|| {
                DataError::format(&p, "cannot tell the class: put it in an FRI/ or FRII/ folder or start its name with FRI_ or FRII_")
            })?;
            out.push(Sample {
                image: read_png(&p)?,
                label: class,
                name,
                meta: BTreeMap::new(),
            });
        }
    }
    Ok(())
}

/// Loads a PNG folder; without `train/`/`test/` sub-folders everything is training data.
pub fn load_dir(dir: &Path) -> Result<DataSet, DataError> {
    let mut ds = DataSet {
        name: dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        ..Default::default()
    };
    if dir.join("train").is_dir() {
        load_split(&dir.join("train"), &mut ds.train)?;
        if dir.join("test").is_dir() {
            load_split(&dir.join("test"), &mut ds.test)?;
        }
    } else {
        load_split(dir, &mut ds.train)?;
    }
    if ds.train.is_empty() {
        return Err(DataError::format(dir, "no labelled PNG images found"));
    }
    let n = ds.train[0].image.size;
    if let Some(s) = ds.train.iter().chain(&ds.test).find(|s| s.image.size != n) {
        return Err(DataError::format(
            dir,
            format!("'{}' is {1}x{1}, the others {n}x{n}", s.name, s.image.size),
        ));
    }
    Ok(ds)
}

fn read_fits_stamp(path: &Path) -> Result<Image, DataError> {
    let f = super::fits::read(path)?;
    if f.width != f.height {
        return Err(DataError::format(
            path,
            format!("image is {}x{}, expected a square stamp", f.width, f.height),
        ));
    }
    let px = super::fits::flip_rows(&f);
    if let Some(i) = px.iter().position(|v| !v.is_finite()) {
        return Err(DataError::format(
            path,
            format!("pixel {i} is {}: stamps must be finite", px[i]),
        ));
    }
    Ok(Image::new(f.width, px))
}

/// Unlabelled stamps: every `.png` and `.fits` in `dir` and its immediate sub-folders (as
/// `lobes generate` writes them), sorted by path, `grid.png` excepted. All must be square and
/// of one size.
pub fn load_images(dir: &Path) -> Result<Vec<(String, Image)>, DataError> {
    let list = |d: &Path| -> Result<Vec<std::path::PathBuf>, DataError> {
        let mut v: Vec<_> = std::fs::read_dir(d)
            .map_err(|e| DataError::io(d, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        v.sort();
        Ok(v)
    };
    let mut files = vec![];
    for p in list(dir)? {
        if p.is_dir() {
            files.extend(list(&p)?.into_iter().filter(|f| f.is_file()));
        } else {
            files.push(p);
        }
    }
    let mut out: Vec<(String, Image)> = vec![];
    for f in files {
        let ext = f
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let img = match ext.as_str() {
            "png" if f.file_name().is_some_and(|n| n != "grid.png") => read_png(&f)?,
            "fits" | "fit" => read_fits_stamp(&f)?,
            _ => continue,
        };
        if let Some((name, first)) = out.first()
            && first.size != img.size
        {
            return Err(DataError::format(
                &f,
                format!(
                    "image is {0}x{0}, '{name}' is {1}x{1}",
                    img.size, first.size
                ),
            ));
        }
        out.push((f.display().to_string(), img));
    }
    if out.is_empty() {
        return Err(DataError::format(dir, "no PNG or FITS stamps found"));
    }
    Ok(out)
}
