//! Parallel enumeration of discrete sites: `config_enumerate` marks them (Pyro's
//! `pyro.infer.config_enumerate`), `enumerate` gives each marked site every value of its
//! support at once, along a dim of its own to the left of the plates (Pyro's
//! `poutine.enum` / `EnumMessenger`).

use crate::error::{PplError, Result};
use crate::runtime::{Messenger, with_handler};
use crate::site::{Site, SiteKind};
use crate::tensor::MAX_RANK;

struct ConfigEnumerateMessenger {
    expand: bool,
    sequential: bool,
}

impl Messenger for ConfigEnumerateMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        let enumerable = site
            .dist
            .as_ref()
            .is_some_and(|d| d.has_enumerate_support());
        if site.kind == SiteKind::Sample && enumerable && !site.infer.enumerate {
            site.infer.enumerate = true;
            site.infer.expand = self.expand;
            site.infer.sequential = self.sequential;
        }
        Ok(())
    }
}

/// Runs `f` with every sample site whose distribution has a finite support marked for
/// parallel enumeration (`config_enumerate(fn)`, Pyro's default `"parallel"`). Only
/// `TraceEnumElbo` and `infer_discrete` act on the mark; elsewhere the sites sample as usual.
pub fn config_enumerate<R>(f: impl FnOnce() -> Result<R>) -> Result<R> {
    config_enumerate_with(false, f)
}

/// [`config_enumerate`] with Pyro's `expand` option: enumerated values fill the batch dims
/// (shape `[K] + batch + event` rather than `[K] + [1; batch rank] + event`).
pub fn config_enumerate_with<R>(expand: bool, f: impl FnOnce() -> Result<R>) -> Result<R> {
    with_handler(
        ConfigEnumerateMessenger {
            expand,
            sequential: false,
        },
        f,
    )
    .map(|(r, _)| r)
}

/// Marks sites for sequential enumeration (Pyro's `config_enumerate(fn, default="sequential")`):
/// in a guide under `TraceEnumElbo`, the guide and model run once per value of each such site
/// (every combination, for several), and the runs' ELBOs are summed weighted by the guide's
/// probabilities. No enumeration dim is used, so any program structure works after the
/// draw; the cost is one run per combination. Batched sites take each support value at every
/// element at once, as Pyro's.
pub fn config_enumerate_sequential<R>(f: impl FnOnce() -> Result<R>) -> Result<R> {
    with_handler(
        ConfigEnumerateMessenger {
            expand: false,
            sequential: true,
        },
        f,
    )
    .map(|(r, _)| r)
}

/// The enumeration handler; `next` is the next never-used dim (negative, from the right).
pub(crate) struct EnumMessenger {
    pub(crate) next: isize,
    /// The first dim it allocates.
    first: isize,
    /// Each allocated dim's sites in order, and whether that site was in a markov loop.
    owners: Vec<(isize, String, bool)>,
    /// Whether a dim has been given to a second site (markov).
    recycled: bool,
}

impl EnumMessenger {
    pub(crate) fn new(first_available_dim: isize) -> Self {
        EnumMessenger {
            next: first_available_dim,
            first: first_available_dim,
            owners: vec![],
            recycled: false,
        }
    }

    /// The latest site holding each allocated dim.
    fn latest_owners(&self) -> Vec<(isize, &str, bool)> {
        let mut out: Vec<(isize, &str, bool)> = vec![];
        for (dim, name, markov) in &self.owners {
            match out.iter_mut().find(|o| o.0 == *dim) {
                Some(o) => *o = (*dim, name, *markov),
                None => out.push((*dim, name, *markov)),
            }
        }
        out
    }

    /// The dim for a new enumerated site: a never-used one outside markov loops; inside
    /// one, the first dim whose current holder is neither outside every loop nor in the
    /// site's window (Pyro's markov dim recycling).
    fn allocate(&self, site: &Site) -> isize {
        let Some(visible) = &site.infer.markov_visible else {
            return self.next;
        };
        let busy: Vec<isize> = self
            .latest_owners()
            .into_iter()
            .filter(|(_, name, markov)| !markov || visible.contains(*name))
            .map(|(dim, _, _)| dim)
            .collect();
        let mut dim = self.first;
        while busy.contains(&dim) {
            dim -= 1;
        }
        dim
    }

    fn record_owners(&self, site: &mut Site) {
        if self.recycled || site.infer.markov_visible.is_some() {
            let owners = self
                .latest_owners()
                .into_iter()
                .map(|(d, n, _)| (d, n.to_string()))
                .collect();
            site.infer.enum_owners = Some(std::sync::Arc::new(owners));
        }
    }
}

impl Messenger for EnumMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        if site.kind != SiteKind::Sample {
            return Ok(());
        }
        if site.is_observed || site.value.is_some() || !site.infer.enumerate {
            self.record_owners(site);
            return Ok(());
        }
        let fail = |reason: String| PplError::Enumeration {
            site: site.name.clone(),
            reason,
        };
        if site.infer.sequential {
            return Err(fail(
                "marked for sequential enumeration, which TraceEnumElbo runs in the guide (one \
                 run per value); a model site has to be enumerated in parallel"
                    .into(),
            ));
        }
        let dist = site.dist.clone().expect("a sample site has a distribution");
        let Some(support) = dist.enumerate_support(site.infer.expand) else {
            return Err(fail(format!(
                "{} has no finite support to enumerate here (or, as a Binomial, not the same \
                 total_count at every element)",
                dist.name()
            )));
        };
        let (batch, event) = (dist.batch_shape(), dist.event_shape());
        let dim = self.allocate(site);
        let left = (-dim - 1) as usize;
        let k = support.shape()[0];
        let rank = left + 1 + event.len();
        if rank > MAX_RANK {
            return Err(fail(format!(
                "its enumerated value would have rank {rank} (dim {dim} plus {} event dim(s)), \
                 more than the {MAX_RANK} a DTensor holds",
                event.len()
            )));
        }
        // The batch must be 1 at `dim` (Pyro's "enumeration dim conflict"); further left it
        // may vary along the dims of other enumerated sites (markov reuses dims).
        if batch.len() > left && batch[batch.len() - 1 - left] != 1 {
            if site.infer.markov_visible.is_some() && dim > self.next {
                return Err(fail(format!(
                    "its batch shape {batch:?} varies along dim {dim}, which markov gives it \
                     again: it depends on an enumerated site older than the markov window \
                     (raise `history` in markov_with)"
                )));
            }
            return Err(fail(format!(
                "its batch shape {batch:?} reaches dim {dim}, the next free enumeration dim; \
                 raise max_plate_nesting to at least {}",
                batch.len()
            )));
        }
        let mut body = support.shape()[1..].to_vec();
        while body.len() > left + event.len() {
            body.remove(0);
        }
        let mut shape = vec![k];
        shape.extend(std::iter::repeat_n(1, rank - 1 - body.len()));
        shape.extend_from_slice(&body);
        site.value = Some(support.reshape(&shape)?);
        site.infer.enum_dim = Some(dim);
        site.done = true;
        if dim > self.next {
            self.recycled = true;
        }
        self.next = self.next.min(dim - 1);
        self.owners
            .push((dim, site.name.clone(), site.infer.markov_visible.is_some()));
        self.record_owners(site);
        Ok(())
    }
}

/// Runs `f` with each site marked by [`config_enumerate`] (and not already given a value by
/// an inner handler) taking its whole support, one fresh dim per site, counting leftwards
/// from `first_available_dim` (`poutine.enum(fn, first_available_dim)`); pass
/// `-1 - max_plate_nesting` so the dims stay clear of the plates.
pub fn enumerate<R>(first_available_dim: isize, f: impl FnOnce() -> Result<R>) -> Result<R> {
    enumerate_from(first_available_dim, f).map(|(r, _)| r)
}

/// [`enumerate`], also returning the next free dim (for a second run, e.g. the model after
/// its guide, to allocate dims to the left of the first's, as Pyro's `_ENUM_ALLOCATOR` does).
pub(crate) fn enumerate_from<R>(
    first_available_dim: isize,
    f: impl FnOnce() -> Result<R>,
) -> Result<(R, isize)> {
    if first_available_dim >= 0 {
        return Err(PplError::InvalidHandler {
            handler: "enumerate",
            reason: format!(
                "first_available_dim must be negative (counted from the right), got {first_available_dim}"
            ),
        });
    }
    with_handler(EnumMessenger::new(first_available_dim), f).map(|(r, h)| (r, h.next))
}
