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
/// metadata, 0 when absent) and returns its path; an image that is not finite
/// ([`check_finite`]) is an error, and nothing is written.
pub fn write_stamp(dir: &Path, s: &Sample, format: StampFormat) -> Result<PathBuf, DataError> {
    check_finite(&stamp_path(dir, s, format), s)?;
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
/// `out/labels.csv` with their paths relative to `out`. Every image is checked
/// ([`check_finite`]) before any is written.
pub fn write_stamps(
    out: &Path,
    rows: &[(&str, &Sample)],
    format: StampFormat,
) -> Result<(), DataError> {
    for (_, s) in rows {
        check_finite(&stamp_path(&out.join(s.label.name()), s, format), s)?;
    }
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

/// Refuses an image with a NaN or infinite pixel (a model whose parameters blew up decodes
/// to NaN): the error names the stamp file it would have been written to, the pixel and the
/// value.
pub fn check_finite(file: &Path, s: &Sample) -> Result<(), DataError> {
    match s.image.pixels.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(DataError::format(
            file,
            format!(
                "pixel {i} of the image is {}: a stamp must be finite; not written",
                s.image.pixels[i]
            ),
        )),
    }
}

/// The file [`write_stamp`] writes `s` to in `dir`.
pub fn stamp_path(dir: &Path, s: &Sample, format: StampFormat) -> PathBuf {
    let ext = match format {
        StampFormat::Png => "png",
        StampFormat::Fits => "fits",
    };
    dir.join(format!("{}.{ext}", s.name))
}

/// Labelled or plain stamps written chunk by chunk as they are made, so that a large set
/// needs the memory of one chunk, not of every image: each chunk is checked
/// ([`check_finite`]) before any of its stamps is written, and `labels.csv` (for class
/// folders) is written by [`StampStream::finish`] from rows kept as text. Its columns are
/// those of [`write_stamps`] with the first sample's metadata keys.
pub struct StampStream {
    out: PathBuf,
    format: StampFormat,
    /// `FRI/` and `FRII/` folders with `labels.csv` (else the stamps in `out` itself).
    by_class: bool,
    split: String,
    keys: Option<Vec<String>>,
    rows: String,
    written: usize,
}

impl StampStream {
    /// Stamps into `out` (`by_class`: into `out/FRI/` and `out/FRII/`, listed in
    /// `out/labels.csv` with `split`).
    pub fn new(out: &Path, format: StampFormat, by_class: bool, split: &str) -> Self {
        StampStream {
            out: out.to_path_buf(),
            format,
            by_class,
            split: split.to_string(),
            keys: None,
            rows: String::new(),
            written: 0,
        }
    }

    /// Checks every sample of `chunk`, then writes them.
    pub fn write(&mut self, chunk: &[Sample]) -> Result<(), DataError> {
        let (out, by_class) = (self.out.clone(), self.by_class);
        let dir = |s: &Sample| {
            if by_class {
                out.join(s.label.name())
            } else {
                out.clone()
            }
        };
        for s in chunk {
            check_finite(&stamp_path(&dir(s), s, self.format), s)?;
        }
        for s in chunk {
            let file = write_stamp(&dir(s), s, self.format)?;
            self.written += 1;
            if !self.by_class {
                continue;
            }
            let keys = self
                .keys
                .get_or_insert_with(|| s.meta.keys().cloned().collect());
            let rel = file
                .strip_prefix(&self.out)
                .unwrap_or(&file)
                .display()
                .to_string();
            let mut line = vec![
                writers::csv_field(&rel),
                writers::csv_field(&self.split),
                s.label.label().to_string(),
                s.label.name().into(),
                writers::csv_field(&s.name),
            ];
            line.extend(
                keys.iter()
                    .map(|k| writers::csv_field(s.meta.get(k).map(String::as_str).unwrap_or(""))),
            );
            self.rows.push_str(&line.join(","));
            self.rows.push('\n');
        }
        Ok(())
    }

    /// Writes `labels.csv` (for class folders); returns the number of stamps written.
    pub fn finish(self) -> Result<usize, DataError> {
        if self.by_class {
            let mut csv = String::from("file,split,label,class,name");
            for k in self.keys.iter().flatten() {
                csv.push(',');
                csv.push_str(&writers::csv_field(k));
            }
            csv.push('\n');
            csv.push_str(&self.rows);
            let path = self.out.join("labels.csv");
            lobes_ppl::io::write_atomic(&path, csv.as_bytes())
                .map_err(|e| DataError::format(&path, e.to_string()))?;
        }
        Ok(self.written)
    }
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

    #[test]
    fn a_stream_writes_chunks_as_they_come_and_the_labels_of_write_stamps() {
        let dir = lobes_ppl::io::scratch_dir("lobes-stamps", "stream").unwrap();
        let s = |name: &str, label, v| Sample {
            image: Image::new(4, vec![v; 16]),
            label,
            name: name.into(),
            meta: [("seed".to_string(), name.to_string())].into(),
        };
        let all = [
            s("a", Class::FRI, 0.0),
            s("b", Class::FRII, 0.5),
            s("c", Class::FRI, 1.0),
        ];
        let mut stream = StampStream::new(&dir.join("stream"), StampFormat::Png, true, "train");
        stream.write(&all[..2]).unwrap();
        assert!(
            dir.join("stream/FRII/b.png").exists(),
            "written before the end"
        );
        stream.write(&all[2..]).unwrap();
        assert_eq!(stream.finish().unwrap(), 3);
        let rows: Vec<(&str, &Sample)> = all.iter().map(|s| ("train", s)).collect();
        write_stamps(&dir.join("at-once"), &rows, StampFormat::Png).unwrap();
        let csv = |d: &str| std::fs::read_to_string(dir.join(d).join("labels.csv")).unwrap();
        assert_eq!(csv("stream"), csv("at-once"));
    }

    #[test]
    fn a_non_finite_image_is_refused_and_nothing_of_its_chunk_is_written() {
        let dir = lobes_ppl::io::scratch_dir("lobes-stamps", "nan").unwrap();
        let mut bad = Sample {
            image: Image::new(2, vec![0.5; 4]),
            label: Class::FRII,
            name: "generated_00001".into(),
            meta: Default::default(),
        };
        let good = Sample {
            name: "generated_00000".into(),
            ..bad.clone()
        };
        bad.image.pixels[3] = f32::NAN;
        let mut stream = StampStream::new(&dir, StampFormat::Fits, false, "generated");
        let e = stream
            .write(&[good.clone(), bad.clone()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("generated_00001.fits") && e.contains("pixel 3") && e.contains("NaN"),
            "{e}"
        );
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "nothing written"
        );
        let rows = [("x", &good), ("x", &bad)];
        assert!(write_stamps(&dir, &rows, StampFormat::Png).is_err());
        assert!(write_stamp(&dir, &bad, StampFormat::Png).is_err());
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "nothing written"
        );
    }
}
