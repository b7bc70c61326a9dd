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
    with_handler(ConfigEnumerateMessenger { expand }, f).map(|(r, _)| r)
}

/// The enumeration handler; `next` is the next free dim (negative, from the right).
pub(crate) struct EnumMessenger {
    pub(crate) next: isize,
}

impl Messenger for EnumMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        if site.kind != SiteKind::Sample
            || site.is_observed
            || site.value.is_some()
            || !site.infer.enumerate
        {
            return Ok(());
        }
        let fail = |reason: String| PplError::Enumeration {
            site: site.name.clone(),
            reason,
        };
        let dist = site.dist.clone().expect("a sample site has a distribution");
        let Some(support) = dist.enumerate_support(site.infer.expand) else {
            return Err(fail(format!(
                "{} has no finite support to enumerate here (or, as a Binomial, not the same \
                 total_count at every element)",
                dist.name()
            )));
        };
        let (batch, event) = (dist.batch_shape(), dist.event_shape());
        let dim = self.next;
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
        // The batch must fit right of `dim` (Pyro's "enumeration dim conflict").
        if batch.len() > left && batch[..batch.len() - left].iter().any(|&n| n != 1) {
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
        self.next -= 1;
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
    with_handler(
        EnumMessenger {
            next: first_available_dim,
        },
        f,
    )
    .map(|(r, h)| (r, h.next))
}
