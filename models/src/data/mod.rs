//! Radio-galaxy data: FRDEEP/MiraBest pickles, PNG folders, FIRST FITS cut-outs, the paper's
//! pre-processing and rotation augmentation, a synthetic FRI/FRII population, checksummed
//! downloads, writers (PNG, FITS, CSV) and data-set inspection.

pub mod augment;
pub mod error;
pub mod fetch;
pub mod fits;
pub mod frdeep;
pub mod inspect;
pub mod pickle;
pub mod png;
pub mod prepare;
pub mod split;
pub mod stamps;
pub mod synthetic;
pub mod wcs;
pub mod writers;

pub use error::DataError;

use std::collections::BTreeMap;
use std::path::Path;

/// Fanaroff–Riley class. Labels follow FRDEEP: 0 = FRI, 1 = FRII.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// Edge-darkened: brightest near the core.
    FRI,
    /// Edge-brightened: lobes with hotspots at their ends.
    FRII,
}

impl Class {
    /// Both classes, in label order.
    pub const ALL: [Class; 2] = [Class::FRI, Class::FRII];

    /// From a 0/1 label; anything else is an error naming `path` and the position.
    pub fn from_label(label: i64, path: &Path, index: usize) -> Result<Self, DataError> {
        match label {
            0 => Ok(Class::FRI),
            1 => Ok(Class::FRII),
            _ => Err(DataError::Label {
                path: path.display().to_string(),
                index,
                label,
            }),
        }
    }
    /// The 0/1 label.
    pub fn label(self) -> usize {
        self as usize
    }
    /// `FRI` or `FRII`.
    pub fn name(self) -> &'static str {
        match self {
            Class::FRI => "FRI",
            Class::FRII => "FRII",
        }
    }
    /// The one-hot row of the CVAE's class input: `[1, 0]` for FRI, `[0, 1]` for FRII.
    pub fn one_hot(self) -> [f32; 2] {
        match self {
            Class::FRI => [1.0, 0.0],
            Class::FRII => [0.0, 1.0],
        }
    }
    /// Parses `FRI`/`FRII` (any case) or `0`/`1`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "FRI" | "FR1" | "0" => Some(Class::FRI),
            "FRII" | "FR2" | "1" => Some(Class::FRII),
            _ => None,
        }
    }
}

/// A square single-channel image, row-major, values in `[0, 1]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// Width and height in pixels.
    pub size: usize,
    /// `size * size` values, row-major.
    pub pixels: Vec<f32>,
}

impl Image {
    /// An image from row-major pixels; the length must be a square.
    pub fn new(size: usize, pixels: Vec<f32>) -> Self {
        debug_assert_eq!(pixels.len(), size * size);
        Image { size, pixels }
    }
    /// An all-zero image.
    pub fn zeros(size: usize) -> Self {
        Image {
            size,
            pixels: vec![0.0; size * size],
        }
    }
    /// Pixel at row `y`, column `x`.
    pub fn at(&self, y: usize, x: usize) -> f32 {
        self.pixels[y * self.size + x]
    }
    /// The pixels as bytes, `round(255 v)` (exactly the original values of 8-bit data sets).
    pub fn to_u8(&self) -> Vec<u8> {
        self.pixels
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect()
    }
    /// The central `n x n` crop.
    pub fn centre_crop(&self, n: usize) -> Image {
        let off = (self.size - n.min(self.size)) / 2;
        let n = n.min(self.size);
        let mut out = Vec::with_capacity(n * n);
        for y in 0..n {
            out.extend_from_slice(
                &self.pixels[(y + off) * self.size + off..(y + off) * self.size + off + n],
            );
        }
        Image::new(n, out)
    }
    /// Zero-pads to `n x n`, centred.
    pub fn pad_to(&self, n: usize) -> Image {
        if n <= self.size {
            return self.clone();
        }
        let off = (n - self.size) / 2;
        let mut out = Image::zeros(n);
        for y in 0..self.size {
            out.pixels[(y + off) * n + off..(y + off) * n + off + self.size]
                .copy_from_slice(&self.pixels[y * self.size..(y + 1) * self.size]);
        }
        out
    }
    /// Whether every pixel is zero.
    pub fn is_blank(&self) -> bool {
        self.pixels.iter().all(|&v| v == 0.0)
    }
}

/// One labelled image with its name and free-form metadata (source file, batch, morphology).
#[derive(Clone, Debug)]
pub struct Sample {
    /// The image.
    pub image: Image,
    /// The class.
    pub label: Class,
    /// A name (the data set's file name for the image).
    pub name: String,
    /// Metadata, e.g. `batch`, `index`, `confidence`, `morphology`.
    pub meta: BTreeMap<String, String>,
}

/// A data set with its own train/test split.
#[derive(Clone, Debug, Default)]
pub struct DataSet {
    /// A name for reports.
    pub name: String,
    /// Training samples.
    pub train: Vec<Sample>,
    /// Test samples.
    pub test: Vec<Sample>,
}

impl DataSet {
    /// The samples of one split (`train` or `test`).
    pub fn split(&self, split: &str) -> Option<&[Sample]> {
        match split {
            "train" => Some(&self.train),
            "test" => Some(&self.test),
            _ => None,
        }
    }

    /// The samples a split name selects: `train`, `test`, `val:N[:SEED]` (the validation
    /// split a run with `--validation N --split-seed SEED` held out, see [`split::Holdout`])
    /// or `fit:N[:SEED]` (the training images left to fit on).
    ///
    /// # Errors
    /// An unknown name, or a split the training set cannot give; both name the data set.
    pub fn samples(&self, split: &str) -> Result<Vec<Sample>, DataError> {
        if let Some(s) = self.split(split) {
            return Ok(s.to_vec());
        }
        let unknown = || {
            DataError::format(
                Path::new(&self.name),
                format!("unknown split '{split}' (train, test, val:N[:SEED], fit:N[:SEED])"),
            )
        };
        let (part, spec) = split.split_once(':').ok_or_else(unknown)?;
        let h = split::Holdout::parse(spec).ok_or_else(unknown)?;
        let (fit, val) = h.apply(&self.train, &self.name)?;
        match part {
            "val" => Ok(val),
            "fit" => Ok(fit),
            _ => Err(unknown()),
        }
    }
}

/// The most synthetic sources per class `synthetic:N` makes (a 150x150 stamp is 90 kB).
pub const MAX_SYNTHETIC: usize = 100_000;

/// Loads a data spec: `synthetic[:N]` (N sources per class for training, N/10 for testing,
/// default 300, 1..=[`MAX_SYNTHETIC`]), `frdeep:DIR` (also `frdeep-f:`, `frdeep-n:`,
/// `mirabest:`), `png:DIR`, or a bare folder (pickle batches or PNGs, detected; a folder whose
/// name holds a `:` is read as a folder when it exists). An empty spec or path, or an unknown
/// kind, is an error naming the spec.
pub fn load_spec(spec: &str) -> Result<DataSet, DataError> {
    let bad = |reason: String| DataError::format(Path::new(spec), reason);
    if spec.trim().is_empty() {
        return Err(bad(
            "empty data spec (synthetic[:N], frdeep:DIR, mirabest:DIR, png:DIR or a folder)".into(),
        ));
    }
    let (kind, path) = spec.split_once(':').unwrap_or((spec, ""));
    let dir = |kind: &str| {
        if path.is_empty() {
            Err(bad(format!("'{kind}:' needs a folder after the colon")))
        } else {
            Ok(Path::new(path))
        }
    };
    match kind {
        "synthetic" => {
            let n: usize = if path.is_empty() {
                300
            } else {
                path.parse()
                    .map_err(|_| bad("synthetic:N needs a number of sources per class".into()))?
            };
            if !(1..=MAX_SYNTHETIC).contains(&n) {
                return Err(bad(format!(
                    "synthetic:{n}: the number of sources per class must be 1..={MAX_SYNTHETIC}"
                )));
            }
            Ok(synthetic::Synthetic::default().dataset(n, (n / 10).max(1), 0))
        }
        "frdeep" | "frdeep-f" | "frdeep-n" | "mirabest" => frdeep::load_dir(dir(kind)?),
        "png" => png::load_dir(dir(kind)?),
        _ if path.is_empty() || Path::new(spec).is_dir() => {
            let p = Path::new(spec);
            if p.join("data_batch_1").exists()
                || p.join("FIRST_PNG_dataset").exists()
                || p.join("NVSS_PNG_dataset").exists()
            {
                frdeep::load_dir(p)
            } else {
                png::load_dir(p)
            }
        }
        other => Err(bad(format!(
            "unknown data kind '{other}' (synthetic, frdeep, mirabest, png)"
        ))),
    }
}
