//! `metrics.csv`: one row per epoch, written after every epoch (atomically) and read back on
//! resume. Columns are read by name, so files written before a column existed still load
//! (the missing column reads as empty).

use crate::error::ModelError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One row of `metrics.csv`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch number, from 1 (0: the untrained network's evaluation).
    pub epoch: usize,
    /// Mean training loss per image (-ELBO), dropout on; empty for epoch 0.
    pub train_loss: Option<f64>,
    /// Test loss per image (-ELBO), evaluation mode; empty when not evaluated.
    pub test_loss: Option<f64>,
    /// Wall time of the epoch's training steps, seconds.
    #[serde(default)]
    pub seconds: f64,
    /// Training images per second.
    #[serde(default)]
    pub images_per_s: f64,
    /// RAMIS of generated images (`--ramis-every`), empty when not measured.
    #[serde(default)]
    pub ramis: Option<f64>,
    /// CVAE only: percentage of images generated as FRI that the classifier scores FRI
    /// (Table 4's first column).
    #[serde(default)]
    pub fri_percent: Option<f64>,
    /// CVAE only: the same for FRII.
    #[serde(default)]
    pub frii_percent: Option<f64>,
    /// Bad steps (a non-finite loss or gradient) met while training this epoch, including
    /// those of attempts rolled back and run again.
    #[serde(default)]
    pub bad_steps: usize,
    /// The optimiser's learning rate at the end of the epoch.
    #[serde(default)]
    pub lr: Option<f64>,
    /// The KL annealing factor β of the epoch's last step (`--kl-scale`, or the warm-up's
    /// value then), empty when β is 1 throughout the run.
    #[serde(default)]
    pub kl_scale: Option<f64>,
    /// Per-image loss (-ELBO, evaluation mode) on the validation split held out of the
    /// training images (`--validation`); empty without one. A run with a split evaluates this
    /// instead of the test loss.
    #[serde(default)]
    pub val_loss: Option<f64>,
    /// The largest per-image training loss of one step this epoch (a step's -ELBO over its
    /// batch size): a finite spike that the epoch's mean hides; empty for epoch 0.
    #[serde(default)]
    pub max_step_loss: Option<f64>,
}

/// Writes `rows` to `path` atomically, with a header.
pub fn write_metrics(path: &Path, rows: &[EpochMetrics]) -> Result<(), ModelError> {
    let mut w = csv::Writer::from_writer(vec![]);
    for r in rows {
        w.serialize(r).map_err(|e| ModelError::csv(path, None, e))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ModelError::csv(path, None, e.into_error().into()))?;
    lobes_ppl::io::write_atomic(path, &bytes)?;
    Ok(())
}

/// The rows of a run's `metrics.csv` up to epoch `upto` (none when the file is missing).
///
/// # Errors
/// A file that exists but does not parse, naming the file and the line.
pub fn read_metrics(path: &Path, upto: usize) -> Result<Vec<EpochMetrics>, ModelError> {
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(vec![]);
    };
    let mut rows = vec![];
    for (i, r) in csv::Reader::from_reader(bytes.as_slice())
        .deserialize::<EpochMetrics>()
        .enumerate()
    {
        let r = r.map_err(|e| ModelError::csv(path, Some(i + 2), e))?;
        if r.epoch <= upto {
            rows.push(r);
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_old_files_still_read() {
        let dir = std::env::temp_dir().join(format!("lobes-metrics-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("metrics.csv");
        let rows = vec![
            EpochMetrics {
                epoch: 0,
                test_loss: Some(6932.25),
                ..Default::default()
            },
            EpochMetrics {
                epoch: 1,
                train_loss: Some(294.5),
                test_loss: Some(160.625),
                seconds: 93.5,
                images_per_s: 211.75,
                ramis: Some(1.0412),
                bad_steps: 2,
                lr: Some(5e-4),
                ..Default::default()
            },
        ];
        write_metrics(&p, &rows).unwrap();
        assert_eq!(read_metrics(&p, usize::MAX).unwrap(), rows);
        assert_eq!(read_metrics(&p, 0).unwrap(), rows[..1]);
        // A file of the five columns written before RAMIS and bad steps were logged.
        std::fs::write(
            &p,
            "epoch,train_loss,test_loss,seconds,images_per_s\n0,,6932.3100,0.00,0.0\n1,294.0700,160.6200,93.50,210.4\n",
        )
        .unwrap();
        let old = read_metrics(&p, usize::MAX).unwrap();
        assert_eq!(old.len(), 2);
        assert_eq!(old[1].test_loss, Some(160.62));
        assert_eq!((old[1].ramis, old[1].bad_steps), (None, 0));
        std::fs::write(&p, "epoch,train_loss\nseven,1\n").unwrap();
        let e = read_metrics(&p, usize::MAX).unwrap_err().to_string();
        assert!(e.contains("metrics.csv line 2"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
