//! Model selection (§5.3): RAMIS and final test loss of each run; keep the runs above the
//! mean RAMIS and below the mean test loss.

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
        assert_eq!(select(&runs), vec![true, false, false, false]);
    }
}
