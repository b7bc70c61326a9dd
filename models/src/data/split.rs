//! A validation split carved from the training images: fixed by its size and seed, stratified
//! by class, so every choice a run makes (schedules, early stopping, the run kept) is taken on
//! images that are neither trained on nor the test set.
//!
//! The split depends only on the training set, `n` and `seed`, never on the training seed:
//! runs with different `--seed`s share one validation set. Spelled as a split name
//! (`--split val:N[:SEED]` for the held-out images, `fit:N[:SEED]` for the rest) a command
//! reads back exactly the images a run held out.
//!
//! ```
//! use lobes_models::data::{split::Holdout, synthetic::Synthetic};
//! let ds = Synthetic::default().dataset(10, 2, 0); // 10 per class: 20 training images
//! let (fit, val) = Holdout { n: 4, seed: 0 }.apply(&ds.train, "synthetic").unwrap();
//! assert_eq!((fit.len(), val.len()), (16, 4));
//! // Two of each class, as the training set is half FRI, half FRII.
//! assert_eq!(val.iter().filter(|s| s.label.label() == 0).count(), 2);
//! ```

use super::{Class, DataError, Sample};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use std::path::Path;

/// The size and seed of a validation split.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Holdout {
    /// Images held out (0: none).
    pub n: usize,
    /// Seed of the draw (independent of the training seed).
    pub seed: u64,
}

impl Holdout {
    /// Splits `train` into (kept for fitting, held out). Each class gives its share of `n`
    /// (largest remainders, so the shares sum to `n`), drawn without replacement by a generator
    /// seeded with `seed`; both parts keep the images' original order.
    ///
    /// # Errors
    /// `n` not below the number of training images, or a class that would give all its images
    /// (nothing of it left to train on), naming `name` (the data set) and the counts.
    pub fn apply(
        &self,
        train: &[Sample],
        name: &str,
    ) -> Result<(Vec<Sample>, Vec<Sample>), DataError> {
        if self.n == 0 {
            return Ok((train.to_vec(), vec![]));
        }
        let bad = |reason: String| DataError::format(Path::new(name), reason);
        if self.n >= train.len() {
            return Err(bad(format!(
                "a validation split of {} images needs more than {} training images",
                self.n,
                train.len()
            )));
        }
        let shares = shares(train, self.n);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed);
        let mut held = vec![false; train.len()];
        for (class, share) in Class::ALL.into_iter().zip(shares) {
            let mut idx: Vec<usize> = (0..train.len())
                .filter(|&i| train[i].label == class)
                .collect();
            if share > 0 && share >= idx.len() {
                return Err(bad(format!(
                    "a validation split of {} images would take all {} {} training images",
                    self.n,
                    idx.len(),
                    class.name()
                )));
            }
            idx.shuffle(&mut rng);
            for &i in &idx[..share] {
                held[i] = true;
            }
        }
        let (mut fit, mut val) = (vec![], vec![]);
        for (s, h) in train.iter().zip(held) {
            if h { &mut val } else { &mut fit }.push(s.clone());
        }
        Ok((fit, val))
    }

    /// The settings a checkpoint records (`validation`, `split_seed`); none without a split.
    pub fn metadata(&self) -> Vec<(&'static str, String)> {
        if self.n == 0 {
            return vec![];
        }
        vec![
            ("validation", self.n.to_string()),
            ("split_seed", self.seed.to_string()),
        ]
    }

    /// Parses `N` or `N:SEED` (the part of a split name after `val:` or `fit:`).
    pub fn parse(s: &str) -> Option<Self> {
        let (n, seed) = s.split_once(':').unwrap_or((s, "0"));
        Some(Holdout {
            n: n.trim().parse().ok()?,
            seed: seed.trim().parse().ok()?,
        })
    }
}

/// Each class's share of `n`, proportional to its count in `train`, by largest remainders.
fn shares(train: &[Sample], n: usize) -> [usize; 2] {
    let counts = Class::ALL.map(|c| train.iter().filter(|s| s.label == c).count());
    let total = train.len() as f64;
    let exact = counts.map(|c| n as f64 * c as f64 / total);
    let mut share = exact.map(|e| e.floor() as usize);
    let mut order = [0, 1];
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let mut left = n - share.iter().sum::<usize>();
    for &k in order.iter().cycle() {
        if left == 0 {
            break;
        }
        share[k] += 1;
        left -= 1;
    }
    share
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::Synthetic;

    #[test]
    fn the_split_is_fixed_by_its_seed_stratified_and_disjoint() {
        let ds = Synthetic::default().dataset(30, 2, 0);
        // 30 FRI, 20 FRII: 10 held out = 6 FRI + 4 FRII.
        let train: Vec<Sample> = ds
            .train
            .iter()
            .filter(|s| s.label == Class::FRI)
            .cloned()
            .chain(
                ds.train
                    .iter()
                    .filter(|s| s.label == Class::FRII)
                    .take(20)
                    .cloned(),
            )
            .collect();
        let h = Holdout { n: 10, seed: 3 };
        let (fit, val) = h.apply(&train, "t").unwrap();
        let again = h.apply(&train, "t").unwrap();
        let names = |v: &[Sample]| v.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&val),
            names(&again.1),
            "the same seed gives the same split"
        );
        assert_eq!(val.len(), 10);
        assert_eq!(fit.len(), 40);
        assert_eq!(val.iter().filter(|s| s.label == Class::FRI).count(), 6);
        assert_eq!(val.iter().filter(|s| s.label == Class::FRII).count(), 4);
        assert!(val.iter().all(|v| !fit.iter().any(|f| f.name == v.name)));
        let other = Holdout { n: 10, seed: 4 }.apply(&train, "t").unwrap().1;
        assert_ne!(names(&val), names(&other), "another seed, another split");
        assert_eq!(Holdout::parse("10:3"), Some(h));
        assert_eq!(Holdout::parse("10"), Some(Holdout { n: 10, seed: 0 }));
        assert_eq!(Holdout::parse("x"), None);
    }

    #[test]
    fn a_split_that_takes_everything_or_a_whole_class_is_refused() {
        let ds = Synthetic::default().dataset(3, 1, 0);
        let e = Holdout { n: 6, seed: 0 }
            .apply(&ds.train, "syn")
            .unwrap_err();
        assert!(e.to_string().contains("6 training images"), "{e}");
        let one_frii: Vec<Sample> = ds
            .train
            .iter()
            .filter(|s| s.label == Class::FRI)
            .chain(ds.train.iter().filter(|s| s.label == Class::FRII).take(1))
            .cloned()
            .collect();
        let e = Holdout { n: 3, seed: 0 }
            .apply(&one_frii, "syn")
            .unwrap_err();
        assert!(e.to_string().contains("all 1 FRII"), "{e}");
    }
}
