//! Automatic guides built from a model (Pyro's `pyro.infer.autoguide`): [`AutoNormal`],
//! [`AutoDiagonalNormal`], [`AutoMultivariateNormal`] and [`AutoDelta`], with the initialisation rules of
//! `pyro.infer.autoguide.initialization` ([`InitLoc`]).
//!
//! Each runs its model once on first call, hidden from every handler, to find the latent
//! sites, their shapes, plates and supports; latents with a constrained support are guided in
//! unconstrained space through the support's bijection, as Pyro's `biject_to`. An autoguide
//! is not itself a closure: pass `|x| guide.call(x)` to `Svi` or `Predictive`.

mod continuous;
mod delta;
mod diagonal_normal;
mod guide_list;
mod iaf;
mod laplace;
mod low_rank;
mod multivariate_normal;
mod normal;
mod prototype;
mod summaries;

pub use crate::infer::init::{InitLoc, initialize};
pub use crate::infer::support::{log_abs_det_jacobian, support_of};
pub use continuous::{AutoContinuous, Posterior};
pub use delta::AutoDelta;
pub use diagonal_normal::{AutoDiagonalNormal, Diagonal};
pub use guide_list::AutoGuideList;
pub use iaf::AutoIAFNormal;
pub use laplace::{AutoLaplaceApproximation, MapPoint};
pub use low_rank::{AutoLowRankMultivariateNormal, LowRank};
pub use multivariate_normal::{AutoMultivariateNormal, FullRank};
pub use normal::AutoNormal;
pub use prototype::{
    LatentSite, Prototype, Subsamples, discover, draw_plates, in_plates, select_subsample,
};
pub use summaries::SiteValues;
