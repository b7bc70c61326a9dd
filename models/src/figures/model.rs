//! Figures of a trained model: inputs beside their reconstructions (Figure 7), decodings over
//! a 2-D latent grid (Figure 10) and reconstructions at every checkpoint of a run (Figure 8).

use super::{evolution_figure, latent_grid_figure, reconstructions_figure};
use crate::data::{Class, DataError, DataSet, Image, Sample};
use crate::error::ModelError;
use crate::generate::Generator;
use crate::vae::ModelKind;
use std::path::{Path, PathBuf};

/// The first `n` inputs of a data set: its test split, then its training split.
pub fn first_inputs(ds: &DataSet, n: usize) -> Vec<Sample> {
    ds.test.iter().chain(&ds.train).take(n).cloned().collect()
}

/// Writes `inputs` (cropped to the network's side) above their reconstructions by `g` to
/// `out`, titled with the model's kind and latent dimension.
pub fn reconstructions(g: &mut Generator, inputs: &[Sample], out: &Path) -> Result<(), ModelError> {
    let rec = g.reconstruct(inputs)?;
    let side = g.side();
    let shown: Vec<Image> = inputs.iter().map(|s| s.image.centre_crop(side)).collect();
    let title = format!(
        "{}, d = {}: test inputs and their reconstructions",
        g.kind.name().to_uppercase(),
        g.net.latent
    );
    reconstructions_figure(out, &shown, &rec, &title)
}

/// The latent grid of Figure 10: ticks -4..4 in 0.4 steps, and the `(z1, z2)` points row by
/// row from the top (z2 = 4) down, z1 left to right.
pub fn latent_grid_points() -> (Vec<f32>, Vec<f32>) {
    let ticks: Vec<f32> = (0..=20).map(|i| -4.0 + 0.4 * i as f32).collect();
    let z = ticks
        .iter()
        .rev()
        .flat_map(|&y| ticks.iter().flat_map(move |&x| [x, y]))
        .collect();
    (ticks, z)
}

/// Decodes the [`latent_grid_points`] with `g` (a d = 2 model; a CVAE as `class`) and writes
/// the figure to `out`. `checkpoint` names the model in the error for another `d`.
pub fn latent_grid(
    g: &mut Generator,
    class: Class,
    checkpoint: &Path,
    out: &Path,
) -> Result<(), ModelError> {
    if g.net.latent != 2 {
        return Err(ModelError::wrong_model(
            checkpoint,
            format!(
                "latent-grid needs a d = 2 model, this one has d = {}",
                g.net.latent
            ),
        ));
    }
    let (ticks, z) = latent_grid_points();
    let images = g.decode(&z, &vec![class; ticks.len() * ticks.len()])?;
    let title = match g.kind {
        ModelKind::Cvae => format!(
            "CVAE, d = 2, {}: decoded over the latent grid",
            class.name()
        ),
        ModelKind::Vae => "VAE, d = 2: decoded over the latent grid".to_string(),
    };
    latent_grid_figure(out, &images, &ticks, &title)
}

/// The epoch checkpoints of a run, `run/checkpoints/*.safetensors`, in file-name (epoch) order.
pub fn epoch_checkpoints(run: &Path) -> Result<Vec<PathBuf>, ModelError> {
    let dir = run.join("checkpoints");
    let mut ckpts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| DataError::io(&dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    ckpts.sort();
    Ok(ckpts)
}

/// A checkpoint's column label: `epoch N` for `epoch_000N.safetensors`, else its file name.
pub fn checkpoint_label(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    match stem
        .strip_prefix("epoch_")
        .and_then(|n| n.parse::<usize>().ok())
    {
        Some(n) => format!("epoch {n}"),
        None => stem,
    }
}

/// Writes `inputs` and their reconstructions at every epoch checkpoint of `run` to `out`,
/// one row per input; returns the number of checkpoints.
pub fn evolution(run: &Path, inputs: &[Sample], out: &Path) -> Result<usize, ModelError> {
    let ckpts = epoch_checkpoints(run)?;
    let mut columns = vec![];
    let mut side = 100;
    for c in &ckpts {
        let mut g = Generator::load(c)?;
        side = g.side();
        columns.push((checkpoint_label(c), g.reconstruct(inputs)?));
    }
    let shown: Vec<Image> = inputs.iter().map(|s| s.image.centre_crop(side)).collect();
    evolution_figure(out, &shown, &columns)?;
    Ok(ckpts.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latent_grid_runs_top_down_then_left_to_right() {
        let (ticks, z) = latent_grid_points();
        assert_eq!(ticks.len(), 21);
        assert_eq!((ticks[0], ticks[20]), (-4.0, 4.0));
        assert_eq!(z.len(), 21 * 21 * 2);
        // First point: top-left (z1 = -4, z2 = 4); the second steps right; the last is
        // bottom-right.
        assert_eq!(&z[..4], &[-4.0, 4.0, -3.6, 4.0]);
        assert_eq!(&z[z.len() - 2..], &[4.0, -4.0]);
    }

    #[test]
    fn checkpoint_labels_name_the_epoch_or_the_file() {
        assert_eq!(
            checkpoint_label(Path::new("r/epoch_0012.safetensors")),
            "epoch 12"
        );
        assert_eq!(checkpoint_label(Path::new("r/best.safetensors")), "best");
    }

    #[test]
    fn epoch_checkpoints_are_listed_in_order_and_a_missing_folder_is_an_error() {
        let run = std::env::temp_dir().join(format!("lobes-evolution-{}", std::process::id()));
        let dir = run.join("checkpoints");
        std::fs::create_dir_all(&dir).unwrap();
        for f in [
            "epoch_0002.safetensors",
            "epoch_0001.safetensors",
            "notes.txt",
        ] {
            std::fs::write(dir.join(f), b"").unwrap();
        }
        let got = epoch_checkpoints(&run).unwrap();
        let names: Vec<String> = got.iter().map(|p| checkpoint_label(p)).collect();
        assert_eq!(names, ["epoch 1", "epoch 2"]);
        std::fs::remove_dir_all(&run).unwrap();
        let e = epoch_checkpoints(&run).unwrap_err().to_string();
        assert!(e.contains("checkpoints"), "{e}");
    }

    #[test]
    fn first_inputs_take_the_test_split_first() {
        let ds = crate::data::synthetic::Synthetic::default().dataset(3, 2, 0);
        let got = first_inputs(&ds, ds.test.len() + 1);
        assert_eq!(got[0].name, ds.test[0].name);
        assert_eq!(got.last().unwrap().name, ds.train[0].name);
    }
}
