//! `substitute`: sets parameter values.

use crate::error::Result;
use crate::runtime::{Messenger, with_handler};
use crate::site::{Site, SiteKind};
use crate::tensor::DTensor;
use std::collections::HashMap;

struct SubstituteMessenger {
    data: HashMap<String, DTensor>,
}

impl Messenger for SubstituteMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        if site.kind == SiteKind::Param
            && let Some(v) = self.data.get(&site.name)
        {
            site.value = Some(v.clone());
            site.done = true;
        }
        Ok(())
    }
}

/// Runs `f` with the named param sites taking the given (constrained) values instead of the
/// store's (`poutine.substitute(f, data={...})`). The store is neither read nor written for them.
pub fn substitute<R>(data: HashMap<String, DTensor>, f: impl FnOnce() -> Result<R>) -> Result<R> {
    with_handler(SubstituteMessenger { data }, f).map(|(r, _)| r)
}
