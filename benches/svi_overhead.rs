//! The PPL's overhead: `SVI.step` against a hand-written burn loop on the paper's VAE
//! (`lobes::models::bench`; `lobes bench` runs the same measurement).
//!
//! ```sh
//! cargo bench --bench svi_overhead                                   # Table 2, d = 32
//! cargo bench --bench svi_overhead -- --hidden 512 --steps 20 --rounds 3   # a small MLP VAE
//! ```

use lobes::models::bench::{BenchConfig, describe, run, table};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() {
    lobes::tune_allocator();
    let mut cfg = BenchConfig::default();
    if let Some(h) = arg("--hidden") {
        cfg.hidden = h.split(',').filter_map(|h| h.parse().ok()).collect();
    }
    let num = |n: &str, d: usize| arg(n).and_then(|v| v.parse().ok()).unwrap_or(d);
    cfg.latent = num("--latent", cfg.latent);
    cfg.batch = num("--batch", cfg.batch);
    cfg.steps = num("--steps", cfg.steps);
    cfg.rounds = num("--rounds", cfg.rounds);
    if let Err(e) = cfg.validate() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
    println!("{}", describe(&cfg));
    match run(&cfg) {
        Ok(rows) => print!("{}", table(&rows)),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
