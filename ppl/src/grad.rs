//! Gradient mode: whether parameters come out as autodiff leaves, as `torch.no_grad()` governs.
//!
//! Its own home, so the parameter store (which hands out leaves) and the handler stack (which
//! resolves param sites through the store) do not import each other.

use std::cell::Cell;

thread_local! {
    static GRAD: Cell<bool> = const { Cell::new(true) };
}

/// Whether parameters are handed out as autodiff leaves (true unless inside [`no_grad`]).
pub fn is_grad_enabled() -> bool {
    GRAD.with(|g| g.get())
}

struct GradGuard(bool);
impl Drop for GradGuard {
    fn drop(&mut self) {
        GRAD.with(|g| g.set(self.0));
    }
}

/// Runs `f` with gradients off, as `torch.no_grad()`: parameters come out as plain tensors and
/// modules in evaluation mode (dropout off).
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _guard = GradGuard(GRAD.with(|g| g.replace(false)));
    f()
}
