//! The VAE and conditional VAE of Bastien et al. (2021), Table 2, as one model/guide pair.
//!
//! The model and guide functions ([`model`], [`guide`]) are the public face of the project:
//! they read line for line like the paper's Pyro code. What they score is chosen in
//! [`VaeConfig`]: the [`Likelihood`] of the pixels, the [`Prior`] of the latents and the
//! guide's [`GuideScale`].

mod activity;
mod batch;
mod config;
mod kind;
mod likelihood;
mod metadata;
mod network;
mod paper;
mod prior;
mod program;
mod scale;

pub use activity::{DimActivity, activity};
pub use batch::{batch_from, batch_of, check_inputs, images_of, one_hot};
pub use config::VaeConfig;
pub use kind::ModelKind;
pub use likelihood::Likelihood;
pub use metadata::RunMetadata;
pub use network::{Decoder, Encoder, Vae};
pub use paper::{paper_guide, paper_model};
pub use prior::Prior;
pub use program::{Batch, PixelLikelihood, Shard, guide, in_data_plate, model, model_with};
pub use scale::GuideScale;
