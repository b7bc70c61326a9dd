//! `markov`: a loop whose enumerated sites depend only on the last few steps, so enumeration
//! dims can be reused and a chain of any length fits the rank limit (Pyro's `pyro.markov`).

use crate::error::Result;
use crate::runtime::{Messenger, with_handler};
use crate::site::{Site, SiteKind};
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

struct MarkovMessenger {
    /// The sites of the `history` steps before this one.
    window: Arc<BTreeSet<String>>,
    /// This step's sample sites so far.
    names: Vec<String>,
}

impl Messenger for MarkovMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        if site.kind != SiteKind::Sample {
            return Ok(());
        }
        self.names.push(site.name.clone());
        // An inner markov loop has already set its window: the site sees both.
        let mut visible: BTreeSet<String> = match site.infer.markov_visible.take() {
            Some(inner) => (*inner).clone(),
            None => BTreeSet::new(),
        };
        visible.extend(self.window.iter().cloned());
        visible.extend(self.names.iter().cloned());
        site.infer.markov_visible = Some(Arc::new(visible));
        Ok(())
    }
}

/// Runs `f` on each item of `iter`, each step seeing only the sample sites of its own and the
/// previous step (Pyro's `for t in pyro.markov(range(n))`): under enumeration
/// ([`TraceEnumElbo`](crate::infer::TraceEnumElbo)), an enumerated site reuses the dims of
/// sites two steps back, so a hidden Markov model of any length needs two enumeration dims.
/// The model must not let a step depend on older ones (variable elimination then reports
/// two variables sharing a dim).
///
/// ```
/// use lobes_ppl::prelude::*;
/// use lobes_ppl::handlers::{config_enumerate, enumerate, markov};
/// let d = Device::flex();
/// let (_, tr) = trace(|| enumerate(-1, || markov(0..5, |t| {
///     config_enumerate(|| sample::<DTensor>(&format!("x_{t}"), Bernoulli::from_probs(DTensor::scalar(0.3, &d))?))?;
///     Ok(())
/// })))?;
/// // Five binary states in two alternating dims.
/// let dims: Vec<isize> = tr.sample_sites().map(|s| s.infer.enum_dim.unwrap()).collect();
/// assert_eq!(dims, vec![-1, -2, -1, -2, -1]);
/// # Ok::<(), PplError>(())
/// ```
pub fn markov<T>(iter: impl IntoIterator<Item = T>, f: impl FnMut(T) -> Result<()>) -> Result<()> {
    markov_with(1, iter, f)
}

/// [`markov`] with a window of `history` previous steps (Pyro's `pyro.markov(history=k)`);
/// `history = 0` makes the steps independent.
pub fn markov_with<T>(
    history: usize,
    iter: impl IntoIterator<Item = T>,
    mut f: impl FnMut(T) -> Result<()>,
) -> Result<()> {
    let mut steps: VecDeque<Vec<String>> = VecDeque::new();
    for item in iter {
        let window = Arc::new(steps.iter().flatten().cloned().collect());
        let (_, m) = with_handler(
            MarkovMessenger {
                window,
                names: vec![],
            },
            || f(item),
        )?;
        steps.push_back(m.names);
        while steps.len() > history {
            steps.pop_front();
        }
    }
    Ok(())
}
