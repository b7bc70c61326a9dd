//! `lobes lr-search`: a short training at each rate of a grid, the best by test loss.

use lobes::models::ModelError;
use lobes::models::train;

// `lobes lr-search`; its help is the doc comment of `Command::LrSearch`.
#[derive(clap::Args, Debug)]
pub(crate) struct LrSearchArgs {
    /// Smallest rate.
    #[arg(long, default_value_t = 0.0005)]
    from: f64,
    /// Largest rate.
    #[arg(long, default_value_t = 0.0015)]
    to: f64,
    /// Step between rates.
    #[arg(long, default_value_t = 0.0001)]
    step: f64,
    #[command(flatten)]
    train: super::train::TrainArgs,
}

pub(crate) fn run_lr_search(args: LrSearchArgs) -> Result<(), ModelError> {
    let LrSearchArgs {
        from,
        to,
        step,
        train: args,
    } = args;
    if args.data_parallel {
        return Err(ModelError::data_parallel(
            None,
            "--data-parallel is an option of `lobes train`, not of `lobes lr-search`",
        ));
    }
    let points = train::lr_search(&args.options()?, from, to, step, &mut |p| {
        println!(
            "lr {:.6}: train {:.2}, test {:.2}",
            p.lr, p.train_loss, p.test_loss
        )
    })?;
    train::write_lr_search(&args.out, &points, args.epochs)?;
    if let Some((lr, t)) = train::best_rate(&points) {
        println!(
            "best lr {lr:.6} (test loss {t:.2}); table in {}",
            args.out.join("lr_search.csv").display()
        );
    }
    Ok(())
}
