//! Sequential enumeration: a guide site marked by
//! [`config_enumerate_sequential`](super::config_enumerate_sequential) takes one value of
//! its support per run (Pyro's `iter_discrete_traces` with `poutine.queue`).

use crate::error::{PplError, Result};
use crate::runtime::{Messenger, with_handler};
use crate::site::{Site, SiteKind};
use std::collections::HashMap;

struct SequentialMessenger {
    assignment: HashMap<String, usize>,
    /// Each sequential site met, with its number of values.
    met: Vec<(String, usize)>,
}

impl Messenger for SequentialMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        if site.kind != SiteKind::Sample
            || site.is_observed
            || site.value.is_some()
            || !(site.infer.enumerate && site.infer.sequential)
        {
            return Ok(());
        }
        let dist = site.dist.clone().expect("a sample site has a distribution");
        let support = dist
            .enumerate_support(false)
            .ok_or_else(|| PplError::Enumeration {
                site: site.name.clone(),
                reason: format!("{} has no finite support to enumerate", dist.name()),
            })?;
        let k = support.shape()[0];
        self.met.push((site.name.clone(), k));
        let i = self.assignment.get(&site.name).copied().unwrap_or(0);
        let value = support.index_select(-(support.rank() as isize), &[i])?;
        site.value = Some(value.reshape(&support.shape()[1..])?);
        site.done = true;
        Ok(())
    }
}

/// Runs `f` with each sequentially enumerated site taking value number `assignment[name]`
/// of its support (the first where unassigned); returns the sites met and their support
/// sizes, in order.
pub(crate) fn sequential<R>(
    assignment: HashMap<String, usize>,
    f: impl FnOnce() -> Result<R>,
) -> Result<(R, Vec<(String, usize)>)> {
    with_handler(
        SequentialMessenger {
            assignment,
            met: vec![],
        },
        f,
    )
    .map(|(r, m)| (r, m.met))
}
