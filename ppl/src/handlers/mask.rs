//! `mask`: zeroes log-densities where a mask is zero.

use crate::error::Result;
use crate::runtime::{Messenger, with_handler};
use crate::site::{Site, SiteKind};
use crate::tensor::DTensor;

struct MaskMessenger {
    mask: DTensor,
}

impl Messenger for MaskMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        if site.kind == SiteKind::Sample {
            site.mask = Some(match &site.mask {
                None => self.mask.clone(),
                Some(m) => m.mul(&self.mask),
            });
        }
        Ok(())
    }
}

/// Runs `f` with each sample site's log-density zeroed where `mask` (1 keep, 0 drop;
/// broadcast with the site's batch shape) is zero (`poutine.mask(f, mask)`).
pub fn mask<R>(mask: DTensor, f: impl FnOnce() -> Result<R>) -> Result<R> {
    with_handler(MaskMessenger { mask }, f).map(|(r, _)| r)
}
