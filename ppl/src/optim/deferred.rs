//! Deferred gradients: a layer's weight gradient handed to the optimiser as a recipe, computed
//! a band of rows at a time inside the optimiser's update, so the whole gradient is never
//! written to memory.
//!
//! A weight gradient `xᵀ dy` of a layer with a small batch costs little to compute but, for a
//! large weight, much to write out and read back: the first encoder layer of the paper's VAE
//! has a `[10000, 4096]` weight whose gradient is 98% zero rows. Inside an SVI step
//! ([`crate::infer::Svi`], one process, the CPU backend), a custom autodiff operation may
//! [`offer`] the gradient of its weight as a [`RowSource`] instead of registering a tensor with
//! burn; the step then passes it to [`crate::optim::Optimizer::update_deferred`], which Adam
//! (and ClippedAdam) run band by band, the band kept in cache (`fused::adam_deferred`), and
//! every other optimiser by first computing the whole gradient ([`DeferredGrad::materialise`]).
//!
//! Only weights the parameter store handed out as matrix leaves while a [`Scope`] was open can
//! take a deferred gradient ([`eligible`]); any other tensor's offer is refused and the
//! operation registers its gradient as usual. So code outside an SVI step (a user's own
//! `backward`, MCMC's potential gradients, data-parallel steps, whose gradients are exchanged
//! whole) never sees one.
//!
//! ```
//! use lobes_ppl::optim::deferred::{DeferredGrad, RowSource};
//!
//! /// The gradient `aᵀ b` of a weight `[2, 3]`, from a batch of one.
//! struct Outer { a: Vec<f32>, b: Vec<f32> }
//! impl RowSource for Outer {
//!     fn shape(&self) -> [usize; 2] { [self.a.len(), self.b.len()] }
//!     fn write_rows(&self, first: usize, out: &mut [f32]) {
//!         for (r, row) in out.chunks_mut(self.b.len()).enumerate() {
//!             for (o, b) in row.iter_mut().zip(&self.b) { *o = self.a[first + r] * b; }
//!         }
//!     }
//! }
//! let g = DeferredGrad::new(Box::new(Outer { a: vec![1.0, 2.0], b: vec![1.0, 0.0, -1.0] }));
//! assert_eq!(g.materialise(), vec![1.0, 0.0, -1.0, 2.0, 0.0, -2.0]);
//! ```

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, Mutex, MutexGuard};

/// A weight gradient computed on request, a band of rows at a time.
pub trait RowSource: Send + Sync {
    /// `[rows, cols]` of the gradient (the weight's shape).
    fn shape(&self) -> [usize; 2];
    /// Writes rows `first ..` of the gradient into `out` (row-major, `out.len()` a multiple of
    /// the row length), overwriting what it holds. Called from several threads at once for
    /// different bands.
    fn write_rows(&self, first: usize, out: &mut [f32]);
}

/// The gradient of one weight: the sum of the [`RowSource`]s offered for it (one per use of
/// the weight in the step's graph, usually one).
pub struct DeferredGrad {
    parts: Vec<Box<dyn RowSource>>,
}

impl std::fmt::Debug for DeferredGrad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DeferredGrad({:?}, {} part(s))",
            self.shape(),
            self.parts.len()
        )
    }
}

impl DeferredGrad {
    /// A gradient from one source.
    pub fn new(source: Box<dyn RowSource>) -> Self {
        DeferredGrad {
            parts: vec![source],
        }
    }

    /// `[rows, cols]`.
    pub fn shape(&self) -> [usize; 2] {
        self.parts[0].shape()
    }

    /// Writes rows `first ..` of the gradient into `out` (the sum of the parts).
    pub fn write_rows(&self, first: usize, out: &mut [f32]) {
        self.parts[0].write_rows(first, out);
        if self.parts.len() > 1 {
            let mut more = vec![0f32; out.len()];
            for p in &self.parts[1..] {
                p.write_rows(first, &mut more);
                for (o, m) in out.iter_mut().zip(&more) {
                    *o += m;
                }
            }
        }
    }

    /// The whole gradient, row-major.
    pub fn materialise(&self) -> Vec<f32> {
        let [r, c] = self.shape();
        let mut out = vec![0f32; r * c];
        if r * c > 0 {
            self.write_rows(0, &mut out);
        }
        out
    }
}

#[derive(Default)]
struct Registry {
    /// The matrix leaves whose gradient may be deferred now (during a scope's
    /// [`Scope::accept`]), by burn's autodiff node id.
    accepting: HashSet<u64>,
    /// What the operations offered, by node id.
    offered: HashMap<u64, DeferredGrad>,
}

/// The registry is process-wide because burn may run a backward step on another thread than
/// the forward pass; node ids are unique in the process, so scopes on different threads (two
/// SVI runs side by side) never see each other's entries.
fn registry() -> MutexGuard<'static, Registry> {
    static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Default::default);
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    /// The nodes [`allow`]ed in this thread's innermost [`Scope`] (`None`: no deferring scope).
    static OPEN: RefCell<Option<Vec<u64>>> = const { RefCell::new(None) };
}

/// One SVI step's deferred gradients: the matrix leaves made while it lives are its own
/// ([`allow`]); offers for them are taken only inside [`Scope::accept`] (the step's own
/// backward pass, not one a model runs for itself); dropping it forgets what was not taken.
/// Scopes nest: an inner one (deferring or [`Scope::suppressed`]) has its own leaves, and the
/// outer one's come back when it ends.
#[derive(Debug)]
pub struct Scope {
    outer: Option<Vec<u64>>,
    deferring: bool,
}

impl Scope {
    /// A deferring scope on this thread.
    pub fn open() -> Scope {
        Scope {
            outer: OPEN.with(|o| o.replace(Some(vec![]))),
            deferring: true,
        }
    }

    /// A scope in which nothing is deferred, hiding any outer one (an SVI step with deferred
    /// gradients off, or a data-parallel one, inside another step).
    pub fn suppressed() -> Scope {
        Scope {
            outer: OPEN.with(|o| o.replace(None)),
            deferring: false,
        }
    }

    /// Runs `f` (the backward pass) with this scope's leaves open to [`offer`]s.
    pub fn accept<R>(&mut self, f: impl FnOnce() -> R) -> R {
        struct Close(Vec<u64>);
        impl Drop for Close {
            fn drop(&mut self) {
                let mut r = registry();
                for id in &self.0 {
                    r.accepting.remove(id);
                }
            }
        }
        let ids: Vec<u64> = OPEN.with(|o| o.borrow().clone().unwrap_or_default());
        registry().accepting.extend(ids.iter().copied());
        let _close = Close(ids);
        f()
    }

    /// The gradient offered for node `id` in this scope, if any.
    pub fn take(&mut self, id: u64) -> Option<DeferredGrad> {
        if !self.deferring {
            return None;
        }
        registry().offered.remove(&id)
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let ids = OPEN.with(|o| o.replace(self.outer.take()));
        let mut r = registry();
        for id in ids.unwrap_or_default() {
            r.accepting.remove(&id);
            r.offered.remove(&id);
        }
    }
}

/// Whether a deferring [`Scope`] is the innermost on this thread (the parameter store then
/// hands out matrix leaves for 2-D parameters).
pub fn is_open() -> bool {
    OPEN.with(|o| o.borrow().is_some())
}

/// Makes autodiff node `id` (a matrix leaf the parameter store made) this thread's innermost
/// deferring [`Scope`]'s, so that its gradient may be offered during the scope's
/// [`Scope::accept`]; does nothing outside a deferring scope.
pub fn allow(id: u64) {
    OPEN.with(|o| {
        if let Some(ids) = o.borrow_mut().as_mut() {
            ids.push(id);
        }
    })
}

/// Whether node `id`'s gradient may be offered now.
pub fn eligible(id: u64) -> bool {
    registry().accepting.contains(&id)
}

/// Offers the gradient of autodiff node `id` as a recipe. `Ok(())`: taken, the operation
/// registers no gradient for it; `Err(source)`: refused (the node is not an eligible matrix
/// leaf, or the shapes of two offers differ), the operation computes and registers the
/// gradient itself.
pub fn offer(id: u64, source: Box<dyn RowSource>) -> Result<(), Box<dyn RowSource>> {
    let mut r = registry();
    if !r.accepting.contains(&id) {
        return Err(source);
    }
    match r.offered.get_mut(&id) {
        Some(g) if g.shape() != source.shape() => Err(source),
        Some(g) => {
            g.parts.push(source);
            Ok(())
        }
        None => {
            r.offered.insert(id, DeferredGrad::new(source));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[rows, cols]` with element `(r, c)` = `scale · (r · cols + c)`.
    struct Ramp {
        rows: usize,
        cols: usize,
        scale: f32,
    }

    impl RowSource for Ramp {
        fn shape(&self) -> [usize; 2] {
            [self.rows, self.cols]
        }
        fn write_rows(&self, first: usize, out: &mut [f32]) {
            for (k, o) in out.iter_mut().enumerate() {
                *o = self.scale * (first * self.cols + k) as f32;
            }
        }
    }

    fn ramp(rows: usize, cols: usize, scale: f32) -> Box<dyn RowSource> {
        Box::new(Ramp { rows, cols, scale })
    }

    #[test]
    fn offers_are_taken_only_for_a_scopes_nodes_during_its_backward_pass() {
        // Node ids far above burn's counter, unique to this test.
        let (a, b) = (u64::MAX - 10, u64::MAX - 11);
        assert!(!is_open());
        allow(a); // no scope: nothing happens
        assert!(offer(a, ramp(2, 3, 1.0)).is_err());
        let mut scope = Scope::open();
        assert!(is_open());
        allow(a);
        // Outside `accept` (a backward pass a model runs for itself): refused.
        assert!(!eligible(a));
        assert!(offer(a, ramp(2, 3, 1.0)).is_err());
        scope.accept(|| {
            assert!(eligible(a) && !eligible(b));
            assert!(offer(b, ramp(2, 3, 1.0)).is_err(), "not this scope's");
            assert!(offer(a, ramp(2, 3, 1.0)).is_ok());
            // A second use of the same weight adds; a different shape is refused.
            assert!(offer(a, ramp(2, 3, 10.0)).is_ok());
            assert!(offer(a, ramp(3, 2, 1.0)).is_err());
        });
        assert!(!eligible(a), "closed again after the backward pass");
        let g = scope.take(a).expect("offered");
        assert_eq!(g.shape(), [2, 3]);
        assert_eq!(g.materialise(), [0.0, 11.0, 22.0, 33.0, 44.0, 55.0]);
        let mut band = [0.0; 3];
        g.write_rows(1, &mut band);
        assert_eq!(band, [33.0, 44.0, 55.0]);
        assert!(scope.take(a).is_none(), "taken");
        allow(b);
        scope.accept(|| assert!(offer(b, ramp(1, 1, 1.0)).is_ok()));
        drop(scope);
        // The scope's end forgets what was not taken.
        assert!(!is_open());
        assert!(!registry().offered.contains_key(&b));
    }

    #[test]
    fn an_inner_scope_has_its_own_leaves_and_a_suppressed_one_none() {
        let (a, b, c) = (u64::MAX - 20, u64::MAX - 21, u64::MAX - 22);
        let mut outer = Scope::open();
        allow(a);
        {
            let mut inner = Scope::open();
            allow(b);
            inner.accept(|| assert!(eligible(b) && !eligible(a), "only the inner leaves"));
            {
                let mut off = Scope::suppressed();
                assert!(!is_open(), "no matrix leaves under a suppressed scope");
                allow(c);
                off.accept(|| assert!(!eligible(a) && !eligible(b) && !eligible(c)));
                assert!(off.take(c).is_none());
            }
            assert!(is_open(), "the inner scope is back");
        }
        assert!(is_open(), "the outer scope is back");
        outer.accept(|| assert!(eligible(a) && !eligible(b), "the outer leaves"));
        drop(outer);
        assert!(!is_open());
    }
}
