//! Writing samples as stamp files: `name.png` or `name.fits` (with the sample's RA/Dec), and
//! labelled sets as `FRI/` and `FRII/` folders with `labels.csv`.

use super::fits::Wcs;
use super::{DataError, Sample, writers};
use std::path::{Path, PathBuf};

/// The file format of a stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StampFormat {
    /// 8-bit greyscale PNG.
    Png,
    /// float32 FITS with a TAN WCS and FIRST's beam.
    Fits,
}

/// Writes one stamp as `dir/name.png` or `dir/name.fits` (with the sample's `ra`/`dec`
/// metadata, 0 when absent) and returns its path.
pub fn write_stamp(dir: &Path, s: &Sample, format: StampFormat) -> Result<PathBuf, DataError> {
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    Ok(match format {
        StampFormat::Png => {
            let f = dir.join(format!("{}.png", s.name));
            writers::write_png(&f, &s.image)?;
            f
        }
        StampFormat::Fits => {
            let f = dir.join(format!("{}.fits", s.name));
            let deg = |k: &str| s.meta.get(k).and_then(|v| v.parse().ok()).unwrap_or(0.0);
            let wcs = Wcs {
                ra: deg("ra"),
                dec: deg("dec"),
                ..Wcs::default()
            };
            writers::write_fits(&f, &s.image, &wcs, "normalised")?;
            f
        }
    })
}

/// Writes labelled stamps (`(split, sample)`) into `out/FRI/` and `out/FRII/`, and
/// `out/labels.csv` with their paths relative to `out`.
pub fn write_stamps(
    out: &Path,
    rows: &[(&str, &Sample)],
    format: StampFormat,
) -> Result<(), DataError> {
    let mut csv = vec![];
    for (split, s) in rows {
        let file = write_stamp(&out.join(s.label.name()), s, format)?;
        let rel = file
            .strip_prefix(out)
            .unwrap_or(&file)
            .display()
            .to_string();
        csv.push((rel, split.to_string(), *s));
    }
    writers::write_labels_csv(&out.join("labels.csv"), &csv)
}

/// The percentage of exactly-zero pixels over `samples` (0 for none).
pub fn percent_zero(samples: &[Sample]) -> f64 {
    let total: usize = samples.iter().map(|s| s.image.pixels.len()).sum();
    let zeros = samples
        .iter()
        .flat_map(|s| &s.image.pixels)
        .filter(|&&v| v == 0.0)
        .count();
    100.0 * zeros as f64 / total.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Class, Image};

    #[test]
    fn labelled_stamps_go_to_class_folders_with_a_labels_csv() {
        let dir = std::env::temp_dir().join(format!("lobes-stamps-{}", std::process::id()));
        let s = |name: &str, label, v| Sample {
            image: Image::new(4, vec![v; 16]),
            label,
            name: name.into(),
            meta: Default::default(),
        };
        let (a, b) = (s("a", Class::FRI, 0.0), s("b", Class::FRII, 0.5));
        write_stamps(&dir, &[("train", &a), ("test", &b)], StampFormat::Png).unwrap();
        assert!(dir.join("FRI/a.png").exists() && dir.join("FRII/b.png").exists());
        let csv = std::fs::read_to_string(dir.join("labels.csv")).unwrap();
        assert!(
            csv.contains("FRI/a.png") && csv.contains("FRII/b.png"),
            "{csv}"
        );
        assert_eq!(percent_zero(&[a, b]), 50.0);
        let f = write_stamp(&dir, &s("c", Class::FRI, 1.0), StampFormat::Fits).unwrap();
        assert_eq!(f, dir.join("c.fits"));
        assert!(crate::data::fits::read(&f).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
