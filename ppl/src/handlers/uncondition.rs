//! `uncondition`: turns observed sites back into latent ones.

use crate::error::Result;
use crate::runtime::{Messenger, with_handler};
use crate::site::{Site, SiteKind};

struct UnconditionMessenger;

impl Messenger for UnconditionMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        if site.kind == SiteKind::Sample && site.is_observed && !site.infer.deterministic {
            site.infer.obs = site.value.take();
            site.is_observed = false;
        }
        Ok(())
    }
}

/// Runs `f` with every observed sample site drawn from its distribution instead; the former
/// observation is kept in `site.infer.obs` (`poutine.uncondition(f)`).
pub fn uncondition<R>(f: impl FnOnce() -> Result<R>) -> Result<R> {
    with_handler(UnconditionMessenger, f).map(|(r, _)| r)
}
