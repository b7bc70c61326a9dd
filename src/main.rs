//! The `lobes` command-line tool.

use clap::Parser;

/// Simulating populations of radio galaxies with structured variational inference.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {}

fn main() {
    let _ = Cli::parse();
    println!("lobes {}", env!("CARGO_PKG_VERSION"));
}
