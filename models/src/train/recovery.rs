//! Training that survives a bad step. A step whose loss is NaN or infinite leaves the
//! parameters unchanged: it is skipped. A step whose gradient held NaN or infinite values (the
//! optimiser finds it in its fused pass, at no extra cost), or a site given a non-finite
//! distribution parameter (the network's outputs already broke), has made the parameters
//! non-finite: the run rolls back to its last checkpoint. Either way the learning rate is multiplied by [`LR_BACKOFF`], the event is printed and
//! counted in `metrics.csv`, and only `max_bad_steps` bad steps in a row (with no good step
//! past the latest of them) stop the run, with an error naming the last good checkpoint, which
//! is left intact.

use lobes_ppl::PplError;
use lobes_ppl::dist::DistError;

/// The factor applied to the learning rate after each bad step.
pub const LR_BACKOFF: f64 = 0.5;

/// What a failed step asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// The parameters are unchanged: skip the batch.
    Skip,
    /// The parameters are no longer finite: reload the last checkpoint.
    RollBack,
}

/// Whether `e`, from `Svi::step`, is a bad step (a numerical failure) and what it asks for;
/// `None` for every other error (a shape or a file error), which stops the run at once.
pub fn recovery(e: &PplError) -> Option<Recovery> {
    match e {
        PplError::NonFiniteLoss { .. } => Some(Recovery::Skip),
        PplError::NonFiniteGradient { .. } => Some(Recovery::RollBack),
        PplError::Distribution {
            source: DistError::InvalidParameter { .. },
            ..
        } => Some(Recovery::RollBack),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerical_failures_are_bad_steps_and_others_are_not() {
        let loss = PplError::NonFiniteLoss {
            loss: f64::NAN,
            site: "'obs'".into(),
            table: String::new(),
        };
        assert_eq!(recovery(&loss), Some(Recovery::Skip));
        let grad = PplError::NonFiniteGradient {
            step: 3,
            loss: 1.0,
            params: vec!["encoder.scale.weight".into()],
        };
        assert_eq!(recovery(&grad), Some(Recovery::RollBack));
        let scale = PplError::at_site(
            "latent",
            DistError::InvalidParameter {
                dist: "Normal",
                param: "scale",
                constraint: "positive",
                found: "values in [NaN, NaN]".into(),
            },
        );
        assert_eq!(recovery(&scale), Some(Recovery::RollBack));
        assert_eq!(recovery(&PplError::ModelGuideMismatch("x".into())), None);
    }
}
