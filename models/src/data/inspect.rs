//! `lobes data inspect`: counts per class and split, zero-pixel fraction, blank and duplicate
//! images.

use super::{Class, DataSet, Sample};
use std::collections::HashMap;
use std::fmt;

/// What `inspect` found.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The data set's name.
    pub name: String,
    /// `(split, class, count)`.
    pub counts: Vec<(String, Class, usize)>,
    /// Image size (the first image's).
    pub size: usize,
    /// Fraction of pixels exactly zero, over both splits.
    pub zero_fraction: f64,
    /// Blank (all-zero) images, described by split, name and position.
    pub blank: Vec<String>,
    /// Groups of identical images, each described as above.
    pub duplicates: Vec<Vec<String>>,
}

fn describe(split: &str, s: &Sample) -> String {
    let mut d = format!("{split} '{}' ({})", s.name, s.label.name());
    if let (Some(b), Some(i)) = (s.meta.get("batch"), s.meta.get("index")) {
        d.push_str(&format!(" {b} index {i}"));
    }
    d
}

/// Inspects a data set.
pub fn inspect(ds: &DataSet) -> Report {
    let mut r = Report {
        name: ds.name.clone(),
        size: ds
            .train
            .first()
            .or(ds.test.first())
            .map(|s| s.image.size)
            .unwrap_or(0),
        ..Default::default()
    };
    let (mut zeros, mut total) = (0usize, 0usize);
    let mut seen: HashMap<Vec<u8>, Vec<String>> = HashMap::new();
    for (split, samples) in [("train", &ds.train), ("test", &ds.test)] {
        for c in Class::ALL {
            r.counts.push((
                split.into(),
                c,
                samples.iter().filter(|s| s.label == c).count(),
            ));
        }
        for s in samples.iter() {
            zeros += s.image.pixels.iter().filter(|&&v| v == 0.0).count();
            total += s.image.pixels.len();
            if s.image.is_blank() {
                r.blank.push(describe(split, s));
            } else {
                seen.entry(s.image.to_u8())
                    .or_default()
                    .push(describe(split, s));
            }
        }
    }
    r.zero_fraction = if total == 0 {
        0.0
    } else {
        zeros as f64 / total as f64
    };
    r.duplicates = seen.into_values().filter(|v| v.len() > 1).collect();
    r.duplicates.sort();
    r
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "data set {}: {}x{} images",
            self.name, self.size, self.size
        )?;
        writeln!(
            f,
            "{:<6} {:>6} {:>6} {:>6}",
            "split", "FRI", "FRII", "total"
        )?;
        for split in ["train", "test"] {
            let n = |c: Class| {
                self.counts
                    .iter()
                    .find(|(s, k, _)| s == split && *k == c)
                    .map(|x| x.2)
                    .unwrap_or(0)
            };
            writeln!(
                f,
                "{split:<6} {:>6} {:>6} {:>6}",
                n(Class::FRI),
                n(Class::FRII),
                n(Class::FRI) + n(Class::FRII)
            )?;
        }
        writeln!(f, "zero pixels: {:.2}%", 100.0 * self.zero_fraction)?;
        writeln!(f, "blank images: {}", self.blank.len())?;
        for b in &self.blank {
            writeln!(f, "  {b}")?;
        }
        writeln!(f, "duplicate groups: {}", self.duplicates.len())?;
        for d in &self.duplicates {
            writeln!(f, "  {}", d.join(" == "))?;
        }
        Ok(())
    }
}
