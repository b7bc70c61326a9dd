//! `scale`: multiplies log-densities.

use crate::error::{PplError, Result};
use crate::runtime::{Messenger, with_handler};
use crate::site::Site;

struct ScaleMessenger {
    factor: f64,
}

impl Messenger for ScaleMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        site.scale *= self.factor;
        Ok(())
    }
}

/// Runs `f` with every site's log-density multiplied by `factor` (`poutine.scale(f, scale)`),
/// which must be positive and finite.
pub fn scale<R>(factor: f64, f: impl FnOnce() -> Result<R>) -> Result<R> {
    if !(factor.is_finite() && factor > 0.0) {
        return Err(PplError::InvalidHandler {
            handler: "scale",
            reason: format!("scale must be positive and finite, got {factor}"),
        });
    }
    with_handler(ScaleMessenger { factor }, f).map(|(r, _)| r)
}
