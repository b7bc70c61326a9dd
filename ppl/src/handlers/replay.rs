//! `replay`: reuses the values of a recorded trace at latent sample sites.

use crate::error::{PplError, Result};
use crate::runtime::{Messenger, with_handler};
use crate::site::{Site, SiteKind};
use crate::trace::Trace;

struct ReplayMessenger {
    trace: Trace,
}

impl Messenger for ReplayMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        let Some(old) = self.trace.get(&site.name) else {
            return Ok(());
        };
        match site.kind {
            SiteKind::Sample if !site.is_observed => {
                if old.kind != SiteKind::Sample {
                    return Err(PplError::ModelGuideMismatch(format!(
                        "site '{}' is a sample site here but a {} site in the replayed trace",
                        site.name,
                        old.kind.as_str()
                    )));
                }
                site.value = old.value.clone();
                site.infer = old.infer.clone();
                site.done = true;
            }
            SiteKind::Plate => site.indices = old.indices.clone(),
            _ => {}
        }
        Ok(())
    }
}

/// Runs `f`, giving each latent sample site (and each plate's subsample) the value recorded
/// under the same name in `trace` (`poutine.replay(f, trace=guide_trace)`).
pub fn replay<R>(trace: &Trace, f: impl FnOnce() -> Result<R>) -> Result<R> {
    with_handler(
        ReplayMessenger {
            trace: trace.clone(),
        },
        f,
    )
    .map(|(r, _)| r)
}
