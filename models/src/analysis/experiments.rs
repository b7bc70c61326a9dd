//! The RAMIS metric experiments of the paper's §4.1 (Figure 1): RAMIS of a real image set as
//! it is degraded by Gaussian blur (kernel 1 to 19 in steps of 2), added Gaussian noise, and
//! edge blanking (0 to 75 pixels). Each experiment gives a CSV; the three curves are the three
//! panels of one PNG (`lobes plot --kind ramis-experiments` redraws it from the CSVs).

use crate::data::Image;
use crate::error::ModelError;
use crate::plot::{Legend, Panel, Series, Style, write_png};
use crate::ramis::classifier::{Classifier, ramis};
use crate::ramis::degrade::{add_noise, blank_edges, gaussian_blur};
use std::path::Path;

/// One experiment: its name, the settings, and RAMIS at each.
#[derive(Clone, Debug)]
pub struct Curve {
    /// `blur`, `noise` or `blank`.
    pub name: &'static str,
    /// `(setting, RAMIS)`.
    pub points: Vec<(f64, f64)>,
}

/// The settings of the three experiments.
pub fn settings() -> [(&'static str, Vec<f64>); 3] {
    [
        ("blur", (0..10).map(|k| (2 * k + 1) as f64).collect()),
        (
            "noise",
            vec![0.0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
        ),
        ("blank", (0..=15).map(|k| (5 * k) as f64).collect()),
    ]
}

fn degrade(name: &str, v: f64, img: &Image, i: usize) -> Result<Image, ModelError> {
    match name {
        "blur" => gaussian_blur(img, v as usize),
        "noise" => add_noise(img, v, i as u64),
        _ => Ok(blank_edges(img, v as usize)),
    }
}

/// Runs the three experiments on `images` (150x150).
pub fn run(clf: &Classifier, images: &[Image]) -> Result<Vec<Curve>, ModelError> {
    let mut out = vec![];
    for (name, values) in settings() {
        let mut points = vec![];
        for v in values {
            let degraded: Vec<Image> = images
                .iter()
                .enumerate()
                .map(|(i, img)| degrade(name, v, img, i))
                .collect::<Result<_, _>>()?;
            points.push((v, ramis(&clf.probs(&degraded)?, 1e-12)));
        }
        out.push(Curve { name, points });
    }
    Ok(out)
}

/// Writes `<name>.csv` for each curve and `ramis_experiments.png` (blur, noise, blank, left to
/// right; `label` names the image set in the legend) into `dir`.
pub fn write(dir: &Path, curves: &[Curve], label: &str) -> Result<(), ModelError> {
    std::fs::create_dir_all(dir).map_err(|e| crate::data::DataError::io(dir, e))?;
    for c in curves {
        let mut csv = format!("{},ramis\n", c.name);
        for (v, r) in &c.points {
            csv.push_str(&format!("{v},{r:.5}\n"));
        }
        lobes_ppl::io::write_atomic(&dir.join(format!("{}.csv", c.name)), csv.as_bytes())?;
    }
    ramis_experiments_figure(&dir.join("ramis_experiments.png"), curves, label)
}

/// The RAMIS experiments (the paper's Figure 1, `ramis_experiments.png`): RAMIS of a real
/// image set against the blur kernel, the noise level (logarithmic; the undegraded set as a
/// dashed line) and the blanked edge strip, three panels. `label` names the image set.
///
/// # Errors
/// [`ModelError::Chart`] naming the file for no curve or a curve with no point; an I/O error.
pub fn ramis_experiments_figure(
    path: &Path,
    curves: &[Curve],
    label: &str,
) -> Result<(), ModelError> {
    let mut panels = vec![];
    for c in curves {
        let (title, x_label) = match c.name {
            "blur" => ("Gaussian blur", "kernel size (pixels)"),
            "noise" => (
                "Added Gaussian noise",
                "noise standard deviation (pixel values in [0, 1])",
            ),
            "blank" => ("Edge blanking", "blanked edge strip (pixels)"),
            other => (other, other),
        };
        let log_x = c.name == "noise";
        // The noise curve falls to the bottom right and its baseline runs along the top.
        let legend = if log_x {
            Legend::MiddleRight
        } else {
            Legend::UpperRight
        };
        let mut series = vec![Series::new(label, c.points.clone(), 0).with_markers()];
        if log_x && let Some(&(_, r0)) = c.points.iter().find(|p| p.0 == 0.0) {
            let xs = c.points.iter().map(|p| p.0).filter(|x| *x > 0.0);
            let (lo, hi) = xs.fold((f64::INFINITY, 0.0f64), |(a, b), x| (a.min(x), b.max(x)));
            if lo <= hi {
                series.push(
                    Series::new("no noise", vec![(lo, r0), (hi, r0)], 1).styled(Style::Dashed),
                );
            }
        }
        panels.push(Panel {
            title: format!("RAMIS: {title}"),
            x_label: x_label.into(),
            y_label: "RAMIS".into(),
            log_x,
            legend,
            series,
            ..Default::default()
        });
    }
    write_png(path, &panels, 560, 420)
}
