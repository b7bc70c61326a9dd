//! `lobes bench`: images per second of `SVI.step` on the paper's VAE beside a hand-written
//! burn loop (docs/performance.md).

use lobes::models::ModelError;

// `lobes bench`; its help is the doc comment of `Command::Bench`.
#[derive(clap::Args, Debug)]
pub(crate) struct BenchArgs {
    /// Encoder hidden widths.
    #[arg(long, value_delimiter = ',', default_value = "4096,2048,1024,512,256")]
    hidden: Vec<usize>,
    /// Latent dimension.
    #[arg(long, default_value_t = 32)]
    latent: usize,
    /// Images per step.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Timed steps per round.
    #[arg(long, default_value_t = 6)]
    steps: usize,
    /// Rounds; the best of each variant is reported.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Particles per ELBO estimate: above 1, two more rows time `SVI.step` on the paper's
    /// model with that many particles in turn and vectorised (images per step per second).
    #[arg(long, default_value_t = 1)]
    particles: usize,
    /// The dense layers' products: f32 or bf16 (as `lobes train --precision`).
    #[arg(long, default_value = "f32", value_name = "f32|bf16")]
    precision: String,
}

pub(crate) fn run_bench(args: BenchArgs) -> Result<(), ModelError> {
    use lobes::models::bench::{BenchConfig, describe, run, table};
    let BenchArgs {
        hidden,
        latent,
        batch,
        steps,
        rounds,
        particles,
        precision,
    } = args;
    super::set_precision(&precision)?;
    let cfg = BenchConfig {
        hidden,
        latent,
        batch,
        steps,
        rounds,
        particles,
        ..Default::default()
    };
    cfg.validate()?;
    println!("{}", describe(&cfg));
    print!("{}", table(&run(&cfg)?));
    Ok(())
}
