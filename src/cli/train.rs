//! `lobes train`.

use super::at_least_one;
use lobes::models::ModelError;
use lobes::models::generate::Sampling;
use lobes::models::train::{self, EpochMetrics, TrainEvent, TrainOptions};
use lobes::models::vae::{GuideScale, Likelihood, ModelKind, Prior, VaeConfig};
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub(crate) struct TrainArgs {
    /// `vae` or `cvae`.
    #[arg(long, default_value = "vae")]
    model: String,
    /// Latent dimension d.
    #[arg(long, default_value_t = 32)]
    latent: usize,
    /// Hidden widths, encoder order (Table 2: 4096,2048,1024,512,256).
    #[arg(long, value_delimiter = ',', default_value = "4096,2048,1024,512,256")]
    hidden: Vec<usize>,
    /// Dropout after each hidden layer.
    #[arg(long, default_value_t = 0.2)]
    dropout: f64,
    /// Leaky-ReLU slope.
    #[arg(long, default_value_t = 0.001)]
    slope: f64,
    /// Data spec: `synthetic[:N]`, `frdeep-f:DIR`, `png:DIR`, ...
    #[arg(long, default_value = "synthetic")]
    data: String,
    /// Epochs.
    #[arg(long, default_value_t = 10)]
    pub(crate) epochs: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.001)]
    lr: f64,
    /// `adam` or `adagrad` (the paper's code uses Adagrad).
    #[arg(long, default_value = "adam")]
    optim: String,
    /// Step decay of the learning rate (Pyro's MultiStepLR): after each of these epochs the rate
    /// is multiplied by --lr-gamma; on --resume the checkpoint's unless given.
    #[arg(long, value_delimiter = ',', value_name = "EPOCHS")]
    lr_milestones: Option<Vec<usize>>,
    /// The factor of each decay (default 0.1; on --resume the checkpoint's).
    #[arg(long, value_name = "GAMMA")]
    lr_gamma: Option<f64>,
    /// KL annealing factor β: the latent's log p and log q scaled by β while training (Pyro's
    /// DMM `annealing_factor`; 1 = the paper). Test loss and RAMIS stay the ELBO itself.
    #[arg(long, default_value_t = 1.0, value_name = "BETA")]
    kl_scale: f64,
    /// KL warm-up: β rises linearly, step by step, from --kl-warmup-from to --kl-scale over the
    /// first N epochs (Pyro's DMM `--annealing-epochs`); 0: none (the default of a new run; on
    /// --resume the checkpoint's).
    #[arg(long, value_name = "N")]
    kl_warmup: Option<usize>,
    /// β where the warm-up starts (Pyro's DMM `--minimum-annealing-factor`; default 0.2, on
    /// --resume the checkpoint's).
    #[arg(long, value_name = "BETA")]
    kl_warmup_from: Option<f64>,
    /// Free bits (Kingma et al. 2016): each latent dimension's KL counts at least NATS in the
    /// training objective (under β), so no dimension gains by collapsing onto the prior. Not
    /// the paper's objective; test losses stay the ELBO. Needs a prior that factorises over
    /// the dimensions (not `--prior mixture`). On --resume the checkpoint's.
    #[arg(long, value_name = "NATS")]
    free_bits: Option<f64>,
    /// Train on the importance-weighted bound with K particles (Burda et al. 2016, the IWAE:
    /// Pyro's RenyiELBO(alpha=0, num_particles=K)) instead of the ELBO; a step costs about K
    /// ELBO steps. Validation and test losses stay the ELBO. Not with --free-bits. On
    /// --resume the checkpoint's.
    #[arg(long, value_name = "K")]
    iwae: Option<usize>,
    /// Clamp each gradient element to [-C, C] (Pyro's ClippedAdam; with `--optim adam`).
    #[arg(long, value_name = "C")]
    clip_norm: Option<f64>,
    /// Stop after this many bad steps (non-finite loss or gradient) in a row; each bad step is
    /// skipped or rolled back to the last checkpoint, halving the learning rate.
    #[arg(long, default_value_t = 5)]
    max_bad_steps: usize,
    /// The guide's scale: `exp` (the paper; the default for a new run), `softplus` (grows
    /// linearly above 0) or `exp-clamp` (`exp` of the head clamped to [-15, 10]). On --resume
    /// the checkpoint's unless given; a different one takes over from the next step.
    #[arg(long)]
    scale: Option<String>,
    /// The pixel likelihood p(x | z): bernoulli (the paper), continuous-bernoulli, normal
    /// (σ = 0.1), normal-learned, laplace, beta or zero-inflated-beta (for sigma-clipped
    /// images: a probability of exactly zero per pixel beside the Beta; docs/user-guide.md).
    #[arg(long, default_value = "bernoulli")]
    likelihood: String,
    /// The latent prior p(z): normal (the paper), laplace, student-t, mixture (a learnable
    /// mixture of 10 Gaussians) or, for the CVAE, class-normal (p(z | y): a learnable Normal per
    /// class).
    #[arg(long, default_value = "normal")]
    prior: String,
    /// The RAMIS classifier (`hmt-frdeepf.safetensors`): measure RAMIS while training.
    #[arg(long)]
    classifier: Option<PathBuf>,
    /// Measure RAMIS every K epochs (and at epoch 0 and the last; default 10); needs
    /// `--classifier`.
    #[arg(long, value_parser = at_least_one())]
    ramis_every: Option<usize>,
    /// Images generated per RAMIS measurement (the paper: 100).
    #[arg(long, default_value_t = 100, value_parser = at_least_one())]
    ramis_n: usize,
    /// Latents for RAMIS: `uniform:LO,HI` (the paper: uniform:-4,4) or `prior`.
    #[arg(long, default_value = "uniform:-4,4")]
    ramis_sampling: String,
    /// Hold out N training images as a validation split (stratified by class, fixed by
    /// --split-seed): every evaluation while training is then on it, the test set is left
    /// alone, and the best epoch is kept as `best.safetensors`. On --resume the checkpoint's.
    #[arg(long, value_name = "N")]
    validation: Option<usize>,
    /// Seed of the validation split (default 0; independent of --seed, so runs of several
    /// seeds share one split).
    #[arg(long, value_name = "SEED")]
    split_seed: Option<u64>,
    /// Multiply the rate by --lr-gamma after P epochs without a better validation loss (Pyro's
    /// ReduceLROnPlateau: relative threshold 1e-4); needs --validation.
    #[arg(long, value_name = "P")]
    lr_plateau: Option<usize>,
    /// Stop after P epochs without a better validation loss; needs --validation.
    #[arg(long, value_name = "P")]
    early_stop: Option<usize>,
    /// Images per step.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Rotation augmentation step in degrees (0: none).
    #[arg(long, default_value_t = 1.0)]
    augment_step: f64,
    /// Mirror each drawn image with probability 1/2 as well as rotating it (not the paper's
    /// augmentation; radio galaxies are statistically invariant under both). A resumed run
    /// that reflected goes on reflecting.
    #[arg(long)]
    reflect: bool,
    /// Evaluate the test loss every K epochs.
    #[arg(long, default_value_t = 1)]
    eval_every: usize,
    /// Checkpoint every K epochs.
    #[arg(long, default_value_t = 1)]
    checkpoint_every: usize,
    /// Keep only the newest N epoch checkpoints in `checkpoints/` (0: all, which fills 100 GB
    /// in 80 epochs of the Table-2 VAE: a checkpoint with Adam's state is 1.25 GB). The latest,
    /// `checkpoint.safetensors`, is always kept, and `best.safetensors` with --validation.
    #[arg(long, default_value_t = 3)]
    keep_checkpoints: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Run folder.
    #[arg(long, default_value = "runs/vae")]
    pub(crate) out: PathBuf,
    /// Continue the run in `--out` from its last checkpoint.
    #[arg(long)]
    resume: bool,
    /// Replace the run `--out` holds: its checkpoints, metrics and figures are removed first
    /// (without this or --resume, a folder holding a run is refused).
    #[arg(long)]
    overwrite: bool,
    /// Data-parallel training over MPI: run under `mpirun -np N` (or `srun`), one rank per
    /// device; each rank steps on rows rank, rank+N, ... of every batch and the ranks average
    /// their gradients, so --batch stays the whole step's batch. Rank 0 writes the run folder
    /// (which every rank must see). Needs a build with `--features mpi` (docs/user-guide.md).
    #[arg(long)]
    pub(crate) data_parallel: bool,
    /// With --data-parallel: the seconds a rank waits in one collective (an all-reduce) for
    /// the others before the job is aborted, naming the operation (a rank died or is stuck).
    #[arg(long, default_value_t = 300.0, value_name = "SECONDS")]
    collective_timeout: f64,
    /// Testing: the data-parallel rule with N replicas as threads of this one process (the
    /// reference an MPI run of N ranks is compared with: the same shards and rank streams).
    #[arg(long, hide = true, value_name = "N")]
    replicas_in_process: Option<usize>,
    /// The dense layers' matrix products: f32 (the default) or bf16 (inputs rounded to bf16,
    /// sums in f32, on Intel's AMX tiles; weights and Adam's state stay f32). Without AMX the
    /// products stay f32 and a line says so. The checkpoint records `precision = bf16`.
    #[arg(long, default_value = "f32", value_name = "f32|bf16")]
    precision: String,
}

impl TrainArgs {
    pub(crate) fn options(&self) -> Result<TrainOptions, ModelError> {
        let kind = ModelKind::parse(&self.model)
            .ok_or_else(|| ModelError::unknown_name("model", &self.model, "vae, cvae"))?;
        Ok(TrainOptions {
            kind,
            net: VaeConfig {
                pixels: 10_000,
                latent: self.latent,
                hidden: self.hidden.clone(),
                dropout: self.dropout,
                slope: self.slope,
                classes: 0,
                scale: GuideScale::Exp,
                likelihood: Likelihood::parse(&self.likelihood)?,
                prior: Prior::parse(&self.prior)?,
            },
            scale: self.scale.as_deref().map(GuideScale::parse).transpose()?,
            data: self.data.clone(),
            epochs: self.epochs,
            lr: self.lr,
            optim: self.optim.clone(),
            clip_norm: self.clip_norm,
            kl_scale: self.kl_scale,
            lr_milestones: self.lr_milestones.clone(),
            lr_gamma: self.lr_gamma,
            kl_warmup: self.kl_warmup,
            kl_warmup_from: self.kl_warmup_from,
            free_bits: self.free_bits,
            iwae: self.iwae,
            max_bad_steps: self.max_bad_steps,
            ramis: match &self.classifier {
                None if self.ramis_every.is_some() => {
                    return Err(ModelError::conflicting_options(
                        &["--ramis-every", "--classifier"],
                        "--ramis-every measures RAMIS with a classifier: give --classifier too",
                    ));
                }
                Some(c) => Some(train::RamisOptions {
                    classifier: c.clone(),
                    every: self.ramis_every.unwrap_or(10),
                    n: self.ramis_n,
                    sampling: Sampling::from_option("--ramis-sampling", &self.ramis_sampling)?,
                }),
                None => None,
            },
            validation: self.validation,
            split_seed: self.split_seed,
            lr_plateau: self.lr_plateau,
            early_stop: self.early_stop,
            batch: self.batch,
            augment_step: self.augment_step,
            reflect: self.reflect,
            eval_every: self.eval_every,
            checkpoint_every: self.checkpoint_every,
            keep_checkpoints: self.keep_checkpoints,
            seed: self.seed,
            out: self.out.clone(),
            resume: self.resume,
            overwrite: self.overwrite,
            progress: true,
        })
    }
}

/// One epoch's line of the training report.
fn epoch_line(r: &EpochMetrics) -> String {
    let f = |v: Option<f64>| {
        v.map(|v| format!("{v:9.2}"))
            .unwrap_or_else(|| "        -".into())
    };
    let ramis = match (r.ramis, r.fri_percent, r.frii_percent) {
        (Some(v), Some(a), Some(b)) => format!("  RAMIS {v:.4}  FRI {a:5.1}%  FRII {b:5.1}%"),
        (Some(v), _, _) => format!("  RAMIS {v:.4}"),
        _ => String::new(),
    };
    let bad = if r.bad_steps > 0 {
        format!("  {} bad steps", r.bad_steps)
    } else {
        String::new()
    };
    let (which, loss) = match r.val_loss {
        Some(v) => ("val ", Some(v)),
        None => ("test", r.test_loss),
    };
    format!(
        "epoch {:3}  train {}  {which} {}  {:6.1} images/s{ramis}{bad}",
        r.epoch,
        f(r.train_loss),
        f(loss),
        r.images_per_s
    )
}

pub(crate) fn run_train(args: TrainArgs) -> Result<(), ModelError> {
    let opts = args.options()?;
    super::set_precision(&args.precision)?;
    if !args.data_parallel {
        super::ranks::refuse_unasked_ranks("train")?;
    }
    if args.data_parallel {
        return run_data_parallel(&opts, args.collective_timeout);
    }
    if let Some(n) = args.replicas_in_process {
        return run_thread_replicas(&opts, n);
    }
    println!("{}", start_line(&opts));
    train::train_with(&opts, &mut observer(opts.progress))?;
    println!(
        "run in {}: metrics.csv, loss.png, samples.png, checkpoint.safetensors",
        opts.out.display()
    );
    Ok(())
}

/// The line `lobes train` starts with: the model, its size, the data and the epochs.
fn start_line(opts: &TrainOptions) -> String {
    let mut net = opts.net.clone();
    net.classes = opts.kind.classes();
    format!(
        "training {} (d = {}, {} parameters) on {} for {} epochs",
        opts.kind.name(),
        net.latent,
        net.num_params(),
        opts.data,
        opts.epochs
    )
}

/// `lobes train --data-parallel`: this process as one MPI rank (rank 0 prints and writes).
fn run_data_parallel(opts: &TrainOptions, timeout: f64) -> Result<(), ModelError> {
    let timeout = super::ranks::timeout(timeout)?;
    super::ranks::on_mpi(timeout, |ranks| {
        let (rank, size) = (ranks.rank(), ranks.replicas());
        opts.validate()?;
        let ds = lobes::models::data::load_spec(&opts.data)?;
        if rank == 0 {
            println!("{}, data-parallel on {size} MPI rank(s)", start_line(opts));
        }
        train::train_replica(opts, &ds, ranks, &mut observer(opts.progress))?;
        if rank == 0 {
            println!(
                "run in {}: metrics.csv, loss.png, samples.png, checkpoint.safetensors",
                opts.out.display()
            );
        }
        Ok(())
    })
}

/// `lobes train --replicas-in-process N`: rank 0's thread prints and writes the run.
fn run_thread_replicas(opts: &TrainOptions, n: usize) -> Result<(), ModelError> {
    opts.validate()?;
    let ds = lobes::models::data::load_spec(&opts.data)?;
    super::ranks::on_threads(n, |r| {
        train::train_replica(opts, &ds, r, &mut observer(opts.progress))
    })?;
    Ok(())
}

/// What `lobes train` shows while it runs: each epoch's row as it ends (stdout), notes
/// (stderr), and a progress bar per epoch when `progress` (hidden anyway when stderr is not a
/// terminal).
fn observer(progress: bool) -> impl FnMut(TrainEvent<'_>) {
    let mut bar: Option<indicatif::ProgressBar> = None;
    move |e| match e {
        TrainEvent::Note(line) => match &bar {
            Some(b) => b.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        },
        TrainEvent::EpochStart {
            epoch,
            epochs,
            images,
        } => {
            let b = if progress {
                indicatif::ProgressBar::new(images as u64)
            } else {
                indicatif::ProgressBar::hidden()
            };
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "epoch {prefix} {bar:30} {pos}/{len} images {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b.set_prefix(format!("{epoch}/{epochs}"));
            bar = Some(b);
        }
        TrainEvent::Progress {
            images,
            loss,
            images_per_s,
        } => {
            if let Some(b) = &bar {
                b.set_position(images as u64);
                b.set_message(format!("loss {loss:.1}  {images_per_s:.0} images/s"));
            }
        }
        TrainEvent::EpochEnd => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
        }
        TrainEvent::Epoch(row) => println!("{}", epoch_line(row)),
    }
}
