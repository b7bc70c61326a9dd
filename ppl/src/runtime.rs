//! The handler stack and `apply_stack`, as in Pyro's `minipyro`.
//!
//! Each thread has its own stack (so tests and worker threads never see each other's
//! handlers). A handler is pushed for the duration of a closure by [`with_handler`]; a guard
//! truncates the stack when the closure returns, fails, or panics, so a handler never outlives
//! its scope. See `docs/architecture.md` for why the stack is held this way.

use crate::error::{PplError, Result};
use crate::params;
use crate::site::{PlateFrame, Site, SiteKind};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

/// An effect handler: sees every message from the code it wraps.
pub trait Messenger {
    /// Called innermost-first before the value is computed.
    fn process(&mut self, _site: &mut Site) -> Result<()> {
        Ok(())
    }
    /// Called outermost-first after the value is computed.
    fn postprocess(&mut self, _site: &mut Site) -> Result<()> {
        Ok(())
    }
    /// For plates: the frame this handler holds (used to allocate dims).
    fn plate_frame(&self) -> Option<&PlateFrame> {
        None
    }
}

type Handler = Rc<RefCell<dyn Messenger>>;

thread_local! {
    static STACK: RefCell<Vec<Handler>> = const { RefCell::new(Vec::new()) };
}

static VALIDATION: AtomicBool = AtomicBool::new(true);

/// Turns checking of distribution parameters and observed values on or off (default on),
/// like `pyro.enable_validation`. Checks read values back from the device, so a tuned
/// training loop may turn them off once a model is known to be sound.
pub fn enable_validation(on: bool) {
    VALIDATION.store(on, Ordering::Relaxed);
}

/// Whether validation is on.
pub fn is_validation_enabled() -> bool {
    VALIDATION.load(Ordering::Relaxed)
}

struct StackGuard(usize);
impl Drop for StackGuard {
    fn drop(&mut self) {
        STACK.with(|s| s.borrow_mut().truncate(self.0));
    }
}

/// Runs `f` with `handler` pushed on this thread's stack and returns the handler afterwards
/// (so a trace can hand over what it recorded). The stack is restored however `f` ends.
pub fn with_handler<H: Messenger + 'static, R>(
    handler: H,
    f: impl FnOnce() -> Result<R>,
) -> Result<(R, H)> {
    let h = Rc::new(RefCell::new(handler));
    let depth = STACK.with(|s| {
        let mut s = s.borrow_mut();
        s.push(h.clone() as Handler);
        s.len() - 1
    });
    let out = {
        let _guard = StackGuard(depth);
        f()
    };
    let handler = Rc::try_unwrap(h)
        .map_err(|_| PplError::InvalidHandler {
            handler: "handler stack",
            reason: "a handler was still referenced after its scope ended".into(),
        })?
        .into_inner();
    out.map(|r| (r, handler))
}

/// The plate frames of the plates currently on the stack, outermost first.
pub fn active_plates() -> Vec<PlateFrame> {
    STACK.with(|s| {
        s.borrow()
            .iter()
            .filter_map(|h| h.borrow().plate_frame().cloned())
            .collect()
    })
}

/// Number of handlers on this thread's stack (0 outside any handler).
pub fn stack_depth() -> usize {
    STACK.with(|s| s.borrow().len())
}

/// Sends `site` through the stack: `process` innermost-first (until a handler sets `stop`),
/// the default behaviour if no handler supplied a value, then `postprocess` in the opposite
/// order over the handlers that saw it.
pub fn apply_stack(site: &mut Site) -> Result<()> {
    let handlers: Vec<Handler> = STACK.with(|s| s.borrow().clone());
    let mut seen = 0;
    for h in handlers.iter().rev() {
        seen += 1;
        h.borrow_mut().process(site)?;
        if site.stop {
            break;
        }
    }
    default_process(site)?;
    for h in &handlers[handlers.len() - seen..] {
        h.borrow_mut().postprocess(site)?;
    }
    Ok(())
}

fn default_process(site: &mut Site) -> Result<()> {
    match site.kind {
        SiteKind::Sample => default_sample(site),
        SiteKind::Param => {
            if site.value.is_none() {
                params::resolve_param(site)?;
            }
            Ok(())
        }
        SiteKind::Plate => {
            if site.indices.is_none() {
                let f = site.plates.last().cloned();
                let (size, k) = f.map(|f| (f.size, f.subsample_size)).unwrap_or((0, 0));
                site.indices = Some(std::sync::Arc::new(crate::rng::subsample_indices(size, k)));
            }
            Ok(())
        }
    }
}

fn default_sample(site: &mut Site) -> Result<()> {
    let Some(dist) = site.dist.clone() else {
        return Err(PplError::IncompleteSite {
            stage: "sample",
            site: site.name.clone(),
            missing: "distribution",
        });
    };
    if is_validation_enabled() {
        dist.validate()
            .map_err(|e| PplError::at_site(&site.name, e))?;
    }
    if site.is_observed {
        let value = site.value.as_ref().expect("an observed site has a value");
        check_observed(site, &*dist, value)?;
    } else if site.value.is_none() {
        let v = if dist.has_rsample() {
            dist.rsample()
                .map_err(|e| PplError::at_site(&site.name, e))?
        } else {
            dist.sample()
        };
        site.value = Some(v);
    }
    Ok(())
}

fn check_observed(
    site: &Site,
    dist: &dyn crate::dist::Distribution,
    value: &crate::DTensor,
) -> Result<()> {
    let (batch, event) = (dist.batch_shape(), dist.event_shape());
    let vs = value.shape();
    let fits = vs.len() >= event.len()
        && vs[vs.len() - event.len()..] == event[..]
        && crate::shape::broadcast_shapes(&vs[..vs.len() - event.len()], &batch).is_ok();
    if !fits {
        // Inside plates, name the plate whose dim the value gets wrong.
        let value_batch = &vs[..vs.len().saturating_sub(event.len())];
        for f in &site.plates {
            let from_right = (-f.dim) as usize;
            let n = if from_right <= value_batch.len() {
                value_batch[value_batch.len() - from_right]
            } else {
                1
            };
            if n != 1 && n != f.subsample_size {
                return Err(PplError::ObservedPlateShape {
                    site: site.name.clone(),
                    plate: f.name.clone(),
                    dim: f.dim,
                    size: f.subsample_size,
                    value: value.dims(),
                });
            }
        }
        return Err(PplError::ObservedShape {
            site: site.name.clone(),
            value: value.dims(),
            batch: batch.into(),
            event: event.into(),
        });
    }
    if is_validation_enabled() && !site.infer.deterministic {
        dist.check_support(value)
            .map_err(|e| PplError::at_site(&site.name, e))?;
    }
    Ok(())
}
