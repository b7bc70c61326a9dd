//! A step decay of the learning rate, as Pyro's `MultiStepLR` (PyTorch's scheduler stepped once
//! an epoch): after each milestone epoch the rate in use is multiplied by `gamma`. It multiplies
//! the rate in use rather than setting `lr · gammaᵏ`, so a rate lowered after bad steps stays
//! lowered; and it acts at the start of the epoch after a milestone, so a run resumed from the
//! milestone's checkpoint (which holds the rate before the decay) decays once, as an
//! uninterrupted run does.

use crate::error::ModelError;
use std::collections::BTreeMap;
use std::path::Path;

/// Milestones and factor of a step decay; no milestones: a constant rate.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MultiStep {
    /// Epochs after which the rate decays, increasing.
    pub milestones: Vec<usize>,
    /// The factor of each decay (Pyro's `gamma`), in (0, 1].
    pub gamma: f64,
}

impl MultiStep {
    /// From the options (`None`: the settings `saved` in the checkpoint resumed from, given
    /// with its path, else none and Pyro's default factor 0.1). Milestones must be positive and
    /// increasing, the factor in (0, 1]; recorded milestones that do not parse are a
    /// [`ModelError::Metadata`] naming the checkpoint.
    pub fn resolve(
        milestones: Option<&[usize]>,
        gamma: Option<f64>,
        saved: Option<(&BTreeMap<String, String>, &Path)>,
    ) -> Result<Self, ModelError> {
        let recorded = |key: &str| saved.and_then(|(m, _)| m.get(key));
        let milestones = match milestones {
            Some(m) => m.to_vec(),
            None => match recorded("lr_milestones") {
                Some(v) => v
                    .split(',')
                    .map(|e| e.trim().parse().ok())
                    .collect::<Option<Vec<usize>>>()
                    .ok_or_else(|| ModelError::Metadata {
                        path: saved.map_or_else(Default::default, |(_, p)| p.to_path_buf()),
                        key: "lr_milestones".into(),
                        problem: format!("the checkpoint's lr_milestones '{v}' are not epochs"),
                    })?,
                None => vec![],
            },
        };
        let gamma = gamma
            .or_else(|| recorded("lr_gamma").and_then(|v| v.parse().ok()))
            .unwrap_or(0.1);
        if milestones.first() == Some(&0) || milestones.windows(2).any(|w| w[0] >= w[1]) {
            return Err(ModelError::invalid_option(
                "--lr-milestones",
                format!("{milestones:?}"),
                format!("--lr-milestones must be increasing epochs from 1 on, got {milestones:?}"),
            ));
        }
        if !(gamma.is_finite() && gamma > 0.0 && gamma <= 1.0) {
            return Err(ModelError::invalid_option(
                "--lr-gamma",
                gamma,
                format!("--lr-gamma must lie in (0, 1], got {gamma}"),
            ));
        }
        Ok(MultiStep { milestones, gamma })
    }

    /// The factor to apply at the start of `epoch` (1-based): `gamma` when the epoch before it
    /// is a milestone.
    pub fn factor_at(&self, epoch: usize) -> Option<f64> {
        (epoch >= 2 && self.milestones.contains(&(epoch - 1))).then_some(self.gamma)
    }

    /// The settings as the checkpoint records them (`lr_milestones`, `lr_gamma`); none for a
    /// constant rate.
    pub fn metadata(&self) -> Vec<(&'static str, String)> {
        if self.milestones.is_empty() {
            return vec![];
        }
        let m: Vec<String> = self.milestones.iter().map(|e| e.to_string()).collect();
        vec![
            ("lr_milestones", m.join(",")),
            ("lr_gamma", self.gamma.to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_decays_after_each_milestone_and_resumes_from_the_checkpoint() {
        let s = MultiStep::resolve(Some(&[2, 4]), Some(0.5), None).unwrap();
        let f: Vec<Option<f64>> = (1..=6).map(|e| s.factor_at(e)).collect();
        assert_eq!(f, [None, None, Some(0.5), None, Some(0.5), None]);
        let saved: BTreeMap<String, String> = s
            .metadata()
            .into_iter()
            .map(|(k, v)| (k.into(), v))
            .collect();
        let at = Path::new("run/checkpoint.safetensors");
        assert_eq!(
            MultiStep::resolve(None, None, Some((&saved, at))).unwrap(),
            s
        );
        // Recorded milestones that are not epochs: the checkpoint's metadata, named.
        let mut broken = saved.clone();
        broken.insert("lr_milestones".into(), "2,x".into());
        let e = MultiStep::resolve(None, None, Some((&broken, at))).unwrap_err();
        assert!(
            matches!(&e, ModelError::Metadata { path, key, .. }
                if path == at && key == "lr_milestones"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "run/checkpoint.safetensors: the checkpoint's lr_milestones '2,x' are not epochs"
        );
        let none = MultiStep::resolve(None, None, None).unwrap();
        assert!(none.milestones.is_empty() && none.metadata().is_empty());
        assert_eq!(none.factor_at(5), None);
        for (m, g) in [
            (vec![3, 3], 0.1),
            (vec![0], 0.1),
            (vec![5, 2], 0.1),
            (vec![5], 0.0),
            (vec![5], 2.0),
        ] {
            let e = MultiStep::resolve(Some(&m), Some(g), None)
                .unwrap_err()
                .to_string();
            assert!(e.contains("--lr-"), "{e}");
        }
    }
}
