//! Normalizing flows (Pyro's learnable `TransformModule`s): bijections of vectors
//! ([`Transform::event_dim`](crate::dist::Transform::event_dim) 1) that are burn modules, for
//! [`TransformedDistribution`](crate::dist::TransformedDistribution) and training by `Svi`:
//! [`AutoRegressiveNN`] (MADE), [`AffineAutoregressive`] (IAF), [`AffineCoupling`] (RealNVP,
//! with [`DenseNN`] and [`Permute`]), [`ConditionalAffineAutoregressive`] (IAF given a context).

mod affine_autoregressive;
mod affine_coupling;
mod conditional;
mod made;
mod shared;

pub use affine_autoregressive::{AffineAutoregressive, affine_autoregressive};
pub use affine_coupling::{AffineCoupling, DenseNN, Permute, affine_coupling};
pub use conditional::{ConditionalAffineAutoregressive, conditional_affine_autoregressive};
pub use made::AutoRegressiveNN;
pub use shared::Nonlinearity;
