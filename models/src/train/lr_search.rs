//! The learning-rate search of the paper's §5.2: train briefly at each rate of a grid and
//! compare the final losses.

use super::{TrainOptions, train};
use crate::data::DataError;
use crate::error::ModelError;
use std::path::Path;

/// One rate's result: the rate and the final train and test losses (NaN when not measured).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrPoint {
    /// The learning rate.
    pub lr: f64,
    /// The last epoch's training loss.
    pub train_loss: f64,
    /// The last epoch's test loss.
    pub test_loss: f64,
}

/// The most rates one search trains (each a training run).
pub const MAX_RATES: usize = 1000;

/// The rates `from, from + step, ...` up to `to` (rounded to a whole number of steps).
///
/// # Errors
/// Bounds that are not positive and finite, `to` below `from`, a step that is not positive
/// and finite, or more than [`MAX_RATES`] rates; each names its option (`--from`, `--to`,
/// `--step`).
pub fn rates(from: f64, to: f64, step: f64) -> Result<Vec<f64>, ModelError> {
    let bad = |option: &'static str, value: f64, message: String| {
        Err(ModelError::invalid_option(option, value, message))
    };
    if !(from.is_finite() && from > 0.0) {
        return bad(
            "--from",
            from,
            format!("--from must be a positive, finite learning rate, got {from}"),
        );
    }
    if !(to.is_finite() && to >= from) {
        return bad(
            "--to",
            to,
            format!("--to must be finite and at least --from = {from}, got {to}"),
        );
    }
    if !(step.is_finite() && step > 0.0) {
        return bad(
            "--step",
            step,
            format!("--step must be positive and finite, got {step}"),
        );
    }
    let steps = ((to - from) / step).round();
    if steps >= MAX_RATES as f64 {
        return bad(
            "--step",
            step,
            format!(
                "--step {step} from {from} to {to} makes {steps} + 1 rates, each a training run; \
             at most {MAX_RATES}"
            ),
        );
    }
    Ok((0..=steps as usize)
        .map(|k| from + k as f64 * step)
        .collect())
}

/// Trains `base` afresh at each of [`rates`] in `base.out/lr_<rate>`; `on_rate` sees each
/// result as it comes.
pub fn lr_search(
    base: &TrainOptions,
    from: f64,
    to: f64,
    step: f64,
    on_rate: &mut dyn FnMut(&LrPoint),
) -> Result<Vec<LrPoint>, ModelError> {
    // Each rate is scored by its last epoch: none trained, there is nothing to score.
    let no_epochs = || {
        ModelError::invalid_option(
            "--epochs",
            base.epochs,
            format!(
                "--epochs {}: lr-search scores each rate by its last epoch, so it needs at least \
                 one",
                base.epochs
            ),
        )
    };
    let rates = rates(from, to, step)?;
    if base.epochs == 0 {
        return Err(no_epochs());
    }
    let mut points = vec![];
    for lr in rates {
        let mut opts = base.clone();
        opts.lr = lr;
        opts.out = base.out.join(format!("lr_{lr:.6}"));
        opts.resume = false;
        let r = train(&opts)?;
        let last = r.last().ok_or_else(no_epochs)?;
        let p = LrPoint {
            lr,
            train_loss: last.train_loss.unwrap_or(f64::NAN),
            // The loss the run watched: the validation split's when it held one out.
            test_loss: last.val_loss.or(last.test_loss).unwrap_or(f64::NAN),
        };
        on_rate(&p);
        points.push(p);
    }
    Ok(points)
}

/// The rate with the lowest finite test loss (the first of equals), and that loss.
pub fn best_rate(points: &[LrPoint]) -> Option<(f64, f64)> {
    let mut best: Option<(f64, f64)> = None;
    for p in points {
        if p.test_loss.is_finite() && best.is_none_or(|(_, b)| p.test_loss < b) {
            best = Some((p.lr, p.test_loss));
        }
    }
    best
}

/// Writes `dir/lr_search.csv` (`lr,final_train_loss,final_test_loss`) and its figure
/// `dir/lr_search.png`, titled with the epochs each rate trained.
pub fn write_lr_search(dir: &Path, points: &[LrPoint], epochs: usize) -> Result<(), ModelError> {
    let mut rows = String::from("lr,final_train_loss,final_test_loss\n");
    for p in points {
        rows.push_str(&format!("{},{},{}\n", p.lr, p.train_loss, p.test_loss));
    }
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    lobes_ppl::io::write_atomic(&dir.join("lr_search.csv"), rows.as_bytes())?;
    let pts: Vec<(f64, f64, f64)> = points
        .iter()
        .map(|p| (p.lr, p.train_loss, p.test_loss))
        .collect();
    super::figure::lr_search_figure(
        &dir.join("lr_search.png"),
        &pts,
        &format!("Learning-rate search: loss after {epochs} epochs"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_includes_both_ends_and_the_best_rate_skips_non_finite_losses() {
        let r = rates(0.0005, 0.0015, 0.0001).unwrap();
        assert_eq!(r.len(), 11);
        assert!((r[10] - 0.0015).abs() < 1e-12);
        let p = |lr, test_loss| LrPoint {
            lr,
            train_loss: 1.0,
            test_loss,
        };
        let pts = [p(0.1, f64::NAN), p(0.2, 5.0), p(0.3, 4.0), p(0.4, 4.0)];
        assert_eq!(best_rate(&pts), Some((0.3, 4.0)));
        assert_eq!(best_rate(&pts[..1]), None);
    }

    #[test]
    fn a_zero_negative_or_tiny_step_and_bad_bounds_are_refused_naming_the_option() {
        let e = |from, to, step| rates(from, to, step).unwrap_err().to_string();
        assert!(e(0.001, 0.002, 0.0).starts_with("--step must be positive"));
        assert!(e(0.001, 0.002, -1e-4).starts_with("--step"));
        assert!(e(0.001, 0.002, f64::NAN).starts_with("--step"));
        assert!(e(0.001, 0.002, 1e-12).contains("at most 1000"));
        assert!(e(0.0, 0.002, 1e-4).starts_with("--from"));
        assert!(e(0.002, 0.001, 1e-4).starts_with("--to"));
        assert!(e(0.001, f64::INFINITY, 1e-4).starts_with("--to"));
        assert_eq!(rates(0.001, 0.001, 1.0).unwrap(), vec![0.001]);
    }
}
