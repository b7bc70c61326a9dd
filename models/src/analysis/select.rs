//! Model selection (§5.3): RAMIS and final test loss of each run; keep the runs above the
//! mean RAMIS and below the mean test loss.
use crate::error::ModelError;
use crate::generate::{Generator, Sampling};
use crate::ramis::classifier::{Classifier, SIDE, ramis};
use std::path::PathBuf;

/// One trained run for model selection.
#[derive(Clone, Debug, PartialEq)]
pub struct RunScore {
    /// The run's name (its folder).
    pub name: String,
    /// RAMIS of images generated from it.
    pub ramis: f64,
    /// Its final test loss.
    pub test_loss: f64,
}

/// The paper's model selection (§5.3): keep the runs whose RAMIS is above the mean RAMIS and
/// whose test loss is below the mean test loss of all runs. One flag per run.
pub fn select(runs: &[RunScore]) -> Vec<bool> {
    let n = runs.len().max(1) as f64;
    let mean_ramis = runs.iter().map(|r| r.ramis).sum::<f64>() / n;
    let mean_loss = runs.iter().map(|r| r.test_loss).sum::<f64>() / n;
    runs.iter()
        .map(|r| r.ramis > mean_ramis && r.test_loss < mean_loss)
        .collect()
}

/// Scores each run folder: RAMIS of `n` images generated from its `checkpoint.safetensors`
/// (latents from `sampling`, seed 0; the paper's protocol is uniform(-4, 4)) and the last test
/// loss in its `metrics.csv`.
pub fn score_runs(
    clf: &Classifier,
    runs: &[PathBuf],
    n: usize,
    sampling: Sampling,
) -> Result<Vec<RunScore>, ModelError> {
    let mut scores = vec![];
    for run in runs {
        let metrics_path = run.join("metrics.csv");
        let metrics = crate::train::read_metrics(&metrics_path, usize::MAX)?;
        let test_loss = metrics
            .iter()
            .rev()
            .find_map(|m| m.test_loss)
            .ok_or_else(|| {
                ModelError::csv_content(
                    &metrics_path,
                    None,
                    "no test loss (the file is missing or empty, or the run never evaluated one)",
                )
            })?;
        let mut g = Generator::load(&run.join("checkpoint.safetensors"))?;
        let imgs: Vec<_> = g
            .generate(n, None, sampling, 0)?
            .iter()
            .map(|i| i.pad_to(SIDE))
            .collect();
        scores.push(RunScore {
            name: run.display().to_string(),
            ramis: ramis(&clf.probs(&imgs)?, 1e-12),
            test_loss,
        });
    }
    Ok(scores)
}

/// The selection as CSV: `run,ramis,test_loss,selected`.
pub fn selection_csv(scores: &[RunScore], keep: &[bool]) -> String {
    let mut csv = String::from("run,ramis,test_loss,selected\n");
    for (r, k) in scores.iter().zip(keep) {
        csv.push_str(&format!(
            "{},{:.5},{:.4},{k}\n",
            r.name, r.ramis, r.test_loss
        ));
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_keeps_high_ramis_and_low_loss() {
        let run = |name: &str, ramis, test_loss| RunScore {
            name: name.into(),
            ramis,
            test_loss,
        };
        // Means: RAMIS 1.25, loss 150.
        let runs = [
            run("a", 1.4, 120.0), // both better: kept
            run("b", 1.4, 180.0), // loss worse
            run("c", 1.1, 120.0), // RAMIS worse
            run("d", 1.1, 180.0),
        ];
        let keep = select(&runs);
        assert_eq!(keep, vec![true, false, false, false]);
        let csv = selection_csv(&runs[..2], &keep[..2]);
        assert_eq!(
            csv,
            "run,ramis,test_loss,selected\na,1.40000,120.0000,true\nb,1.40000,180.0000,false\n"
        );
    }
}
