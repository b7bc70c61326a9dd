//! `do_`: interventions (Pyro's `poutine.do(model, data={...})`).

use crate::error::Result;
use crate::runtime::{Messenger, with_handler};
use crate::site::{Site, SiteKind};
use crate::tensor::DTensor;
use std::collections::HashMap;

struct DoMessenger {
    data: HashMap<String, DTensor>,
}

impl Messenger for DoMessenger {
    // The site is sampled and recorded as usual by every handler outside; only afterwards
    // (postprocess runs outermost-first) does the code inside see the intervened value.
    fn postprocess(&mut self, site: &mut Site) -> Result<()> {
        if site.kind == SiteKind::Sample
            && let Some(v) = self.data.get(&site.name)
        {
            site.value = Some(v.clone());
        }
        Ok(())
    }
}

/// Runs `f` with the named latent sample sites intervened on (`poutine.do(f, data={...})`).
///
/// As in Pyro, the intervention splits the site: a site of the original name is still drawn
/// from its distribution and recorded by the handlers outside (so it stays a latent, scored
/// at its own draw, and a guide may still sample it), while the model's code downstream gets
/// the intervened value, which is not scored: it is neither observed nor part of the
/// log-joint (Pyro's hidden `name__CF` site). Unlike [`condition`](super::condition), the
/// sites downstream are not informed about the intervened site's distribution.
///
/// Handlers *inside* `do_` see one site with the intervened value (Pyro shows them the
/// fresh draw and a separate observed `name__CF` site).
pub fn do_<R>(data: HashMap<String, DTensor>, f: impl FnOnce() -> Result<R>) -> Result<R> {
    with_handler(DoMessenger { data }, f).map(|(r, _)| r)
}
