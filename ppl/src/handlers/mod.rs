//! Effect handlers, one per file, each a small [`crate::runtime::Messenger`] and a function
//! that runs a closure under it (Pyro's `poutine`). They compose by nesting closures:
//! `trace(|| replay(&guide_trace, || model(x)))` is Pyro's
//! `poutine.trace(poutine.replay(model, trace=guide_trace))`.

mod block;
mod condition;
mod do_;
mod enumerate;
mod lift;
mod markov;
mod mask;
mod reparam;
mod replay;
mod scale;
mod seed;
mod sequential;
mod substitute;
mod trace;
mod uncondition;
pub mod wrap;

pub use block::{BlockSpec, block, block_with};
pub use condition::condition;
pub use do_::do_;
pub(crate) use enumerate::enumerate_from;
pub use enumerate::{
    config_enumerate, config_enumerate_sequential, config_enumerate_with, enumerate,
};
pub use lift::lift;
pub use markov::{markov, markov_with};
pub use mask::mask;
pub use reparam::{LocScaleReparam, reparam};
pub use replay::replay;
pub use scale::{scale, scale_by};
pub use seed::seed;
pub(crate) use sequential::sequential;
pub use substitute::substitute;
pub use trace::trace;
pub use uncondition::uncondition;
