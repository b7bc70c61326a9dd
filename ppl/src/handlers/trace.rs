//! `trace`: records every site the closure runs.

use crate::error::Result;
use crate::runtime::{Messenger, with_handler};
use crate::site::Site;
use crate::trace::Trace;

struct TraceMessenger {
    trace: Trace,
}

impl Messenger for TraceMessenger {
    fn postprocess(&mut self, site: &mut Site) -> Result<()> {
        self.trace.add(site.clone())
    }
}

/// Runs `f` and returns its result with the [`Trace`] of every site it ran
/// (`poutine.trace(f).get_trace()`).
pub fn trace<R>(f: impl FnOnce() -> Result<R>) -> Result<(R, Trace)> {
    with_handler(
        TraceMessenger {
            trace: Trace::new(),
        },
        f,
    )
    .map(|(r, h)| (r, h.trace))
}
