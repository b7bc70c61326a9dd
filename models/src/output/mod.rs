//! Where results go, by one rule for every command (docs/reliability.md, "Run and output
//! folders"):
//!
//! - a **run folder** (`lobes train`, `lobes classifier train`) is locked while a process
//!   writes it ([`FolderLock`]), and one that holds a run is refused unless the run is
//!   continued (`--resume`) or replaced (`--overwrite`, which first removes the old run's
//!   files) ([`RunFolder`]);
//! - an **output folder** (a set of stamps, figures and tables) must be new or empty, or hold
//!   an earlier output of lobes, whose manifest lists what it wrote, replaced with
//!   `--overwrite` ([`OutputFolder`]); files lobes did not write are never removed;
//! - files are written under a temporary name and renamed when complete
//!   ([`lobes_ppl::io::Temporary`]); temporaries are removed when a command fails, on SIGINT and
//!   SIGTERM, and, left by a killed process, at the next write into the folder.

mod error;
mod folder;
mod lock;
mod run;

pub use error::OutputError;
pub use folder::{MANIFEST, OutputFolder};
pub use lock::{FolderLock, LOCK_FILE, release_all_locks};
pub use run::{RunFolder, RunMode};
