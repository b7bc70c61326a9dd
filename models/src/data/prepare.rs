//! FIRST cut-outs to training images, the MiraBest recipe (Porter & Scaife): NaN -> 0,
//! background rms by iterative 3σ clipping, pixels <= 3 rms -> 0, min-max to [0, 1], central
//! 150x150 crop. Labels come from the file name's class code.

use super::{Class, DataError, Image, Sample, fits};
use std::collections::BTreeMap;
use std::path::Path;

/// Standard deviation of `v` after iterative `k`-sigma clipping about the median (as
/// `astropy.stats.sigma_clipped_stats`), at most 20 rounds.
pub fn sigma_clipped_rms(v: &[f32], k: f64) -> f64 {
    let mut kept: Vec<f64> = v
        .iter()
        .map(|&x| x as f64)
        .filter(|x| x.is_finite())
        .collect();
    for _ in 0..20 {
        if kept.len() < 2 {
            break;
        }
        let mut sorted = kept.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        let med = sorted[sorted.len() / 2];
        let mean = kept.iter().sum::<f64>() / kept.len() as f64;
        let sd = (kept.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / kept.len() as f64).sqrt();
        let next: Vec<f64> = kept
            .iter()
            .copied()
            .filter(|x| (x - med).abs() <= k * sd)
            .collect();
        if next.len() == kept.len() {
            break;
        }
        kept = next;
    }
    let mean = kept.iter().sum::<f64>() / kept.len().max(1) as f64;
    (kept.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / kept.len().max(1) as f64).sqrt()
}

/// The MiraBest recipe on raw values (top row first): returns the `crop x crop` image in
/// `[0, 1]`. A cut-out with no finite value, or with nothing above the threshold, is an error.
pub fn mirabest_recipe(
    raw: &[f32],
    size: usize,
    crop: usize,
    path: &Path,
) -> Result<Image, DataError> {
    if raw.iter().all(|v| !v.is_finite()) {
        return Err(DataError::format(path, "every pixel is NaN or infinite"));
    }
    let data: Vec<f32> = raw
        .iter()
        .map(|&v| if v.is_finite() { v } else { 0.0 })
        .collect();
    let rms = sigma_clipped_rms(&data, 3.0) as f32;
    let thr = 3.0 * rms;
    let clipped: Vec<f32> = data
        .iter()
        .map(|&v| if v <= thr { 0.0 } else { v })
        .collect();
    let (lo, hi) = clipped
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if hi <= lo {
        return Err(DataError::format(
            path,
            format!("no emission above 3 rms ({thr:.3e}): a blank image"),
        ));
    }
    // In f64: `hi - lo` of two large f32 values of opposite sign overflows f32 to infinity
    // and would turn the brightest pixel into NaN.
    let (lo, span) = (lo as f64, hi as f64 - lo as f64);
    let scaled: Vec<f32> = clipped
        .iter()
        .map(|&v| ((v as f64 - lo) / span) as f32)
        .collect();
    Ok(Image::new(size, scaled).centre_crop(crop))
}

/// Class and metadata from a MiraBest file name `<code>_<RA><Dec>_<z>_<size>.fits`: digits of
/// the code are class (1 FRI, 2 FRII, 3 hybrid), confidence (0 confident, 1 uncertain) and
/// morphology (0 standard, 1 double-double, 2 wide-angle tail, 4 head-tail). Hybrids have no
/// FR class and are an error.
pub fn parse_name(path: &Path) -> Result<(Class, BTreeMap<String, String>), DataError> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parts: Vec<&str> = stem.split('_').collect();
    let bad = |why: &str| {
        DataError::format(
            path,
            format!("file name is not <class code>_<RA><Dec>_<z>_<size>: {why}"),
        )
    };
    if parts.len() != 4 {
        return Err(bad("expected four '_'-separated fields"));
    }
    let code: Vec<u32> = parts[0]
        .chars()
        .map(|c| c.to_digit(10))
        .collect::<Option<_>>()
        .ok_or_else(|| bad("class code is not digits"))?;
    if code.len() != 3 {
        return Err(bad("class code must have three digits"));
    }
    let class = match code[0] {
        1 => Class::FRI,
        2 => Class::FRII,
        3 => {
            return Err(DataError::format(
                path,
                "class code 3 is a hybrid source: neither FRI nor FRII",
            ));
        }
        d => return Err(bad(&format!("unknown class digit {d}"))),
    };
    let confidence = match code[1] {
        0 => "confident",
        1 => "uncertain",
        d => return Err(bad(&format!("unknown confidence digit {d}"))),
    };
    let morphology = match code[2] {
        0 => "standard",
        1 => "double-double",
        2 => "wide-angle tail",
        4 => "head-tail",
        d => return Err(bad(&format!("unknown morphology digit {d}"))),
    };
    let (radec, z, size) = (parts[1], parts[2], parts[3]);
    let split = radec
        .find(['+', '-'])
        .ok_or_else(|| bad("no sign between RA and Dec"))?;
    let mut meta = BTreeMap::new();
    meta.insert("code".into(), parts[0].into());
    meta.insert("confidence".into(), confidence.into());
    meta.insert("morphology".into(), morphology.into());
    meta.insert("ra".into(), radec[..split].into());
    meta.insert("dec".into(), radec[split..].into());
    meta.insert("redshift".into(), z.into());
    meta.insert("size_arcsec".into(), size.into());
    Ok((class, meta))
}

/// Prepares one cut-out: read, recipe, label.
pub fn prepare_file(path: &Path, crop: usize) -> Result<Sample, DataError> {
    let (label, mut meta) = parse_name(path)?;
    let f = fits::read(path)?;
    if f.width != f.height {
        return Err(DataError::format(
            path,
            format!("image is {}x{}, expected square", f.width, f.height),
        ));
    }
    if f.width < crop {
        return Err(DataError::format(
            path,
            format!(
                "image is {}x{}, smaller than the {crop}x{crop} crop",
                f.width, f.height
            ),
        ));
    }
    let image = mirabest_recipe(&fits::flip_rows(&f), f.width, crop, path)?;
    meta.insert("source".into(), path.display().to_string());
    Ok(Sample {
        image,
        label,
        name: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        meta,
    })
}

/// Prepares every `.fits` file of a folder, in name order. Hybrids (class code 3) are skipped
/// and reported; any other bad file is an error naming it.
pub fn prepare_dir(dir: &Path, crop: usize) -> Result<(Vec<Sample>, Vec<String>), DataError> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| DataError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("fits"))
        })
        .collect();
    files.sort();
    let (mut out, mut skipped) = (vec![], vec![]);
    for f in files {
        let stem = f
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if stem.starts_with('3') {
            skipped.push(format!("{stem}: hybrid (class code 3)"));
            continue;
        }
        out.push(prepare_file(&f, crop)?);
    }
    Ok((out, skipped))
}
