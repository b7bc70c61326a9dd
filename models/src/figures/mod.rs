//! Every figure lobes writes, drawn with [`crate::chart`]: the charts (loss, accuracy, RAMIS
//! experiments, learning-rate search, class balance, profiles), the labelled image grids
//! (reconstructions, evolution, latent grid, noise, pairs) and `lobes plot`, which redraws a
//! chart from the CSV written beside it.

mod charts;
mod from_csv;
mod grids;
pub mod model;

pub use crate::ramis::balance::BalanceRow;
pub use charts::{
    accuracy_figure, class_balance_figure, loss_figure, lr_search_figure, profiles_figure,
    ramis_experiments_figure,
};
pub use from_csv::{PlotKind, plot_csv};
pub use grids::{
    evolution_figure, latent_grid_figure, noise_figure, pairs_figure, reconstructions_figure,
};

#[cfg(test)]
mod tests;
