//! The `lobes` command-line tool: a thin dispatcher over the command families in [`cli`], which
//! only wire the library crates together.

mod cli;

use clap::{Parser, Subcommand};
use lobes::models::ModelError;
use std::process::ExitCode;

/// Simulating populations of radio galaxies with structured variational inference.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Data sets: download, prepare, inspect, synthesise.
    #[command(subcommand)]
    Data(cli::data::DataCmd),
    /// Train the VAE or CVAE with SVI.
    Train(cli::train::TrainArgs),
    /// The RAMIS classifier (the HMT network of Tang et al. 2019).
    #[command(subcommand)]
    Classifier(cli::classifier::ClassifierCmd),
    /// RAMIS of a set of images, with the classifier's accuracy when labels exist.
    Ramis(cli::ramis::RamisArgs),
    /// The RAMIS metric experiments (paper §4.1, Figure 1): blur, noise and edge blanking.
    RamisExperiments(cli::ramis::RamisExperimentsArgs),
    /// CVAE class balance (Table 4): generate N of each class, classify them, report the
    /// percentage scored as the requested class, for uniform(-4, 4) and prior latents.
    ClassBalance(cli::ramis::ClassBalanceArgs),
    /// A run's curve beside the paper's own log (test loss and RAMIS against epoch): a figure
    /// and a Markdown table at matching epochs.
    ComparePaper(cli::compare::ComparePaperArgs),
    /// Model selection (§5.3): RAMIS and final test loss of each run; keeps the runs above the
    /// mean RAMIS and below the mean test loss.
    Select(cli::ramis::SelectArgs),
    /// Noise analysis (§6.2, Figure 9): percentage of pixels below 5e-5, and the images
    /// saturated at their 95th percentile on a log scale.
    Noise(cli::analysis::NoiseArgs),
    /// FRI/FRII pairs from the same latent points with brightness profiles along the source's
    /// principal axis (§6.5, Figure 11).
    Pairs(cli::analysis::PairsArgs),
    /// Which latent dimensions the encoder uses over a data set: Burda et al.'s active units
    /// (variance of the posterior mean above 0.01), mean posterior scale and KL per dimension.
    Latents(cli::analysis::LatentsArgs),
    /// Test loss (-ELBO per image) of a checkpoint with dropout off, as `lobes train` reports
    /// it, and with dropout on, as the paper's script measures it (Pyro's `evaluate_loss` does
    /// not switch modules to evaluation mode)
    Evaluate(cli::analysis::EvaluateArgs),
    /// One row of Tables 3 and 4 per finished run, as issue 26's protocol measures it: test
    /// -ELBO with dropout off and on, importance-sampled -log p(x), RAMIS from uniform(-4, 4)
    /// and prior latents with 95% intervals and Fréchet distances, Table 4 (CVAE), active
    /// units and the background share, written into a CSV (one row per run folder).
    Grid(cli::grid::GridArgs),
    /// Images per second of `SVI.step` on the paper's VAE beside a hand-written burn loop on
    /// the same network and loss, with the PPL's Adam and with burn's (docs/performance.md).
    Bench(cli::bench::BenchArgs),
    /// Learning-rate search: train briefly at each rate, report the test losses (paper §5.2).
    LrSearch(cli::lr_search::LrSearchArgs),
    /// Redraw a chart from the CSV its command wrote (no run, checkpoint or classifier needed).
    Plot(cli::compare::PlotArgs),
    /// Generate stamps from a trained model.
    Generate(cli::generate::GenerateArgs),
    /// A survey-like field: a FITS image (TAN WCS, Jy/beam, beam keywords) of N sources from a
    /// checkpoint or the synthetic generator, with its truth catalogue (CSV and FITS table).
    /// Defaults are FIRST's: 1.8" pixels, 5.4" beam, 0.15 mJy/beam rms.
    SimulateField(cli::field::SimulateFieldArgs),
    /// Inputs beside their reconstructions (the paper's Figure 7).
    Reconstruct(cli::generate::ReconstructArgs),
    /// Decoded images over a 2-D latent grid, -4..4 in 0.4 steps (the paper's Figure 10).
    LatentGrid(cli::generate::LatentGridArgs),
    /// Reconstructions of fixed inputs at every saved checkpoint of a run (the paper's Figure 8).
    Evolution(cli::generate::EvolutionArgs),
    /// A checkpoint's parameters and run metadata without the optimiser's state: a model file
    /// a third of an Adam checkpoint's size (half of an Adagrad one's), read by every command
    /// that reads a model (not by `train --resume`).
    Export(cli::generate::ExportArgs),
}

fn run(cli: Cli) -> Result<(), ModelError> {
    match cli.command {
        Command::Data(c) => cli::data::run(c),
        Command::Train(a) => cli::train::run_train(a),
        Command::Classifier(c) => cli::classifier::run(c),
        Command::Ramis(a) => cli::ramis::run_ramis(a),
        Command::RamisExperiments(a) => cli::ramis::run_experiments(a),
        Command::ClassBalance(a) => cli::ramis::run_class_balance(a),
        Command::Select(a) => cli::ramis::run_select(a),
        Command::Noise(a) => cli::analysis::run_noise(a),
        Command::Pairs(a) => cli::analysis::run_pairs(a),
        Command::Latents(a) => cli::analysis::run_latents(a),
        Command::Evaluate(a) => cli::analysis::run_evaluate(a),
        Command::Grid(a) => cli::grid::run_grid(a),
        Command::Bench(a) => cli::bench::run_bench(a),
        Command::LrSearch(a) => cli::lr_search::run_lr_search(a),
        Command::Plot(a) => cli::compare::run_plot(a),
        Command::ComparePaper(a) => cli::compare::run_compare(a),
        Command::Generate(a) => cli::generate::run_generate(a),
        Command::SimulateField(a) => cli::field::run(a),
        Command::Reconstruct(a) => cli::generate::run_reconstruct(a),
        Command::LatentGrid(a) => cli::generate::run_latent_grid(a),
        Command::Evolution(a) => cli::generate::run_evolution(a),
        Command::Export(a) => cli::generate::run_export(a),
    }
}

fn main() -> ExitCode {
    lobes::tune_allocator();
    if let Err(e) = lobes::check_device() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    if let Err(e) = lobes::remove_temporaries_on_signal() {
        eprintln!("warning: no clean-up on Ctrl-C (cannot handle signals: {e})");
    }
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
