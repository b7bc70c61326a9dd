//! Every figure lobes writes, drawn with [`crate::plot`]: the charts (loss, accuracy, RAMIS
//! experiments, learning-rate search, class balance, profiles), the labelled image grids
//! (reconstructions, evolution, latent grid, noise, pairs) and `lobes plot`, which redraws a
//! chart from the CSV written beside it.

mod from_csv;
mod image_figures;
mod line_charts;
pub mod model;

pub use crate::ramis::balance::BalanceRow;
// Drawn beside their records (so those modules never call back into this one), re-exported
// here with the rest.
pub use crate::analysis::experiments::ramis_experiments_figure;
pub use crate::ramis::figure::accuracy_figure;
pub use crate::train::figure::{loss_figure, lr_search_figure};
pub use from_csv::{PlotKind, plot_csv};
pub use image_figures::{
    evolution_figure, latent_grid_figure, noise_figure, pairs_figure, reconstructions_figure,
};
pub use line_charts::{class_balance_figure, profiles_figure};

#[cfg(test)]
mod tests;
