//! `block`: hides sites from the handlers outside it.

use crate::error::Result;
use crate::runtime::{Messenger, with_handler};
use crate::site::{Site, SiteKind};
use std::collections::HashSet;

/// Which sites a [`block_with`] hides.
#[derive(Clone)]
pub enum BlockSpec {
    /// Hide every site.
    All,
    /// Hide exactly these names.
    Hide(HashSet<String>),
    /// Hide everything but these names.
    Expose(HashSet<String>),
    /// Hide sites of these kinds.
    HideKinds(Vec<SiteKind>),
    /// Hide the sites the predicate accepts.
    HideFn(std::sync::Arc<dyn Fn(&Site) -> bool + Send + Sync>),
}

impl BlockSpec {
    /// Hide the named sites.
    pub fn hide<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Self {
        BlockSpec::Hide(names.into_iter().map(|s| s.as_ref().to_string()).collect())
    }
    /// Hide all but the named sites.
    pub fn expose<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Self {
        BlockSpec::Expose(names.into_iter().map(|s| s.as_ref().to_string()).collect())
    }
    /// Hide the sites `f` accepts.
    pub fn hide_fn(f: impl Fn(&Site) -> bool + Send + Sync + 'static) -> Self {
        BlockSpec::HideFn(std::sync::Arc::new(f))
    }
    fn hides(&self, s: &Site) -> bool {
        match self {
            BlockSpec::All => true,
            BlockSpec::Hide(n) => n.contains(&s.name),
            BlockSpec::Expose(n) => !n.contains(&s.name),
            BlockSpec::HideKinds(k) => k.contains(&s.kind),
            BlockSpec::HideFn(f) => f(s),
        }
    }
}

struct BlockMessenger {
    spec: BlockSpec,
}

impl Messenger for BlockMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        if self.spec.hides(site) {
            site.stop = true;
        }
        Ok(())
    }
}

/// Runs `f` with every site hidden from the handlers outside (`poutine.block(f)`).
pub fn block<R>(f: impl FnOnce() -> Result<R>) -> Result<R> {
    block_with(BlockSpec::All, f)
}

/// Runs `f` with the sites `spec` selects hidden from the handlers outside
/// (`poutine.block(f, hide=[...])`, `expose=[...]`, `hide_fn=...`, `hide_types=[...]`).
pub fn block_with<R>(spec: BlockSpec, f: impl FnOnce() -> Result<R>) -> Result<R> {
    with_handler(BlockMessenger { spec }, f).map(|(r, _)| r)
}
