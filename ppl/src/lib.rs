//! # lobes-ppl
//!
//! A small effect-handler probabilistic programming language in the style of Pyro, on
//! [burn](https://burn.dev) tensors. Models and guides are plain Rust functions that call
//! [`sample`], [`observe`], [`param`], [`module()`] and [`plate()`]; effect handlers
//! ([`handlers`]) intercept those calls to record, replay, condition, block, scale or mask
//! them, exactly as `pyro.poutine` does.
//!
//! ```
//! use lobes_ppl::prelude::*;
//!
//! fn model(data: &Tensor<1>) -> Result<()> {
//!     let d = data.device();
//!     let mu: Tensor<1> = sample("mu", Normal::new(Tensor::<1>::zeros([1], &d), Tensor::<1>::ones([1], &d))?)?;
//!     plate("data", data.dims()[0]).run(|_| {
//!         observe("obs", Normal::new(mu.clone(), Tensor::<1>::ones([1], &d))?, data.clone())?;
//!         Ok(())
//!     })
//! }
//!
//! let d = Device::flex();
//! let data = Tensor::<1>::from_floats([0.5, 1.5, 1.0], &d);
//! let (_, mut tr) = trace(|| model(&data))?;
//! assert_eq!(tr.get("obs").unwrap().value_shape(), vec![3]);
//! println!("{}", tr.format_shapes());
//! # Ok::<(), PplError>(())
//! ```

#![warn(missing_docs)]

pub mod constraints;
pub mod dist;
pub mod error;
pub mod flows;
pub mod grad;
pub mod handlers;
pub mod infer;
pub mod io;
pub mod module;
pub mod optim;
pub mod params;
pub mod plate;
pub mod primitives;
pub mod rng;
pub mod runtime;
pub mod shape;
pub mod site;
pub mod tensor;
pub mod trace;
pub mod warnings;

pub use constraints::Constraint;
pub use error::{PplError, Result};
pub use grad::no_grad;
pub use module::module;
pub use params::{ParamStore, clear_param_store, with_active_store, with_param_store};
pub use plate::{Plate, PlateContext, plate};
pub use primitives::{
    deterministic, factor, factor_with, get_param, observe, param, param_constrained, sample,
    sample_obs, sample_with,
};
pub use runtime::enable_validation;
pub use site::{InferConfig, PlateFrame, Site, SiteKind};
pub use tensor::{DTensor, FromDTensor, MAX_RANK};
pub use trace::Trace;

/// Everything a model file needs: `use lobes_ppl::prelude::*;`.
pub mod prelude {
    pub use crate::constraints::Constraint;
    pub use crate::dist::{
        AffineTransform, Binomial, Cauchy, Dirichlet, ExpTransform, Exponential, HalfCauchy,
        HalfNormal, MixtureSameFamily, MultivariateNormal, Poisson, SigmoidTransform,
        SoftplusTransform, StudentT, Transform, TransformedDistribution,
    };
    pub use crate::dist::{
        Bernoulli, Beta, Categorical, ContinuousBernoulli, Delta, DistExt, Distribution, Gamma,
        Independent, Laplace, LogNormal, Normal, OneHotCategorical, Uniform,
    };
    pub use crate::dist::{
        Gumbel, InverseGamma, LkjCholesky, Logistic, LowRankMultivariateNormal, Multinomial,
        NegativeBinomial, Pareto, VonMises, Weibull, ZeroInflated,
    };
    pub use crate::dist::{RelaxedBernoulli, RelaxedBernoulliStraightThrough};
    pub use crate::dist::{RelaxedOneHotCategorical, RelaxedOneHotCategoricalStraightThrough};
    pub use crate::error::{PplError, Result};
    pub use crate::handlers::*;
    pub use crate::infer::TraceGraphElbo;
    pub use crate::infer::autoguide::{
        AutoDelta, AutoDiagonalNormal, AutoGuideList, AutoLaplaceApproximation,
        AutoLowRankMultivariateNormal, AutoMultivariateNormal, AutoNormal, InitLoc,
    };
    pub use crate::infer::{Elbo, Predictive, Svi, TraceElbo, TraceMeanFieldElbo};
    pub use crate::optim::{Adagrad, Adam, ClippedAdam, Optimizer};
    pub use crate::{
        DTensor, ParamStore, Trace, deterministic, factor, factor_with, get_param, module, no_grad,
        observe, param, param_constrained, plate, sample, sample_obs, with_param_store,
    };
    pub use burn::prelude::{Device, Int, Module, Tensor};
}
