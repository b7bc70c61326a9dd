//! What classifier training records: the accuracy of a labelled set, one epoch's metrics and the
//! run's `metrics.csv`.
//! Their own module, so that training ([`super::hmt`]) and the accuracy figure
//! ([`super::figure`]) both import them and not each other.

use crate::data::Class;

/// Accuracy of a labelled set: overall and per class (FRI, FRII), with the counts.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Accuracy {
    /// Correct / all.
    pub overall: f64,
    /// Correct / all within each true class (NaN for a class with no images).
    pub per_class: [f64; 2],
    /// Images of each true class.
    pub counts: [usize; 2],
}

impl Accuracy {
    /// From true classes and predicted labels.
    pub fn of(truth: &[Class], predicted: &[usize]) -> Self {
        let mut counts = [0usize; 2];
        let mut right = [0usize; 2];
        for (t, &p) in truth.iter().zip(predicted) {
            counts[t.label()] += 1;
            right[t.label()] += usize::from(t.label() == p);
        }
        let n = counts[0] + counts[1];
        Accuracy {
            overall: (right[0] + right[1]) as f64 / n.max(1) as f64,
            per_class: [0, 1].map(|c| right[c] as f64 / counts[c] as f64),
            counts,
        }
    }
}

/// One epoch of classifier training.
#[derive(Clone, Copy, Debug)]
pub struct ClassifierEpoch {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean (weighted) cross-entropy over the epoch's steps.
    pub train_loss: f64,
    /// Accuracy on the (rotated) training images as they were seen.
    pub train_accuracy: f64,
    /// Cross-entropy on the validation images (unrotated, evaluation mode).
    pub val_loss: f64,
    /// Accuracy on the validation images.
    pub val: Accuracy,
}

/// The classifier run's `metrics.csv`: one row per epoch, written atomically.
pub(crate) fn write_metrics(
    path: &std::path::Path,
    rows: &[ClassifierEpoch],
) -> Result<(), crate::error::ModelError> {
    let mut s = String::from(
        "epoch,train_loss,train_accuracy,val_loss,val_accuracy,val_accuracy_FRI,val_accuracy_FRII\n",
    );
    for r in rows {
        s.push_str(&format!(
            "{},{:.6},{:.4},{:.6},{:.4},{:.4},{:.4}\n",
            r.epoch,
            r.train_loss,
            r.train_accuracy,
            r.val_loss,
            r.val.overall,
            r.val.per_class[0],
            r.val.per_class[1]
        ));
    }
    lobes_ppl::io::write_atomic(path, s.as_bytes())?;
    Ok(())
}
