//! `condition`: fixes sample sites to data and marks them observed.

use crate::error::Result;
use crate::runtime::{Messenger, with_handler};
use crate::site::{Site, SiteKind};
use crate::tensor::DTensor;
use std::collections::HashMap;

struct ConditionMessenger {
    data: HashMap<String, DTensor>,
}

impl Messenger for ConditionMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        if site.kind == SiteKind::Sample
            && let Some(v) = self.data.get(&site.name)
        {
            site.value = Some(v.clone());
            site.is_observed = true;
        }
        Ok(())
    }
}

/// Runs `f` with the named sample sites observed at the given values
/// (`poutine.condition(f, data={...})`).
pub fn condition<R>(data: HashMap<String, DTensor>, f: impl FnOnce() -> Result<R>) -> Result<R> {
    with_handler(ConditionMessenger { data }, f).map(|(r, _)| r)
}
