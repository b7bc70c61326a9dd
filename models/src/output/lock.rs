//! An advisory lock on a folder: one process writes a run folder at a time.
//!
//! The lock is the operating system's (`flock` on Linux, through [`std::fs::File::try_lock`]) on
//! the file [`LOCK_FILE`] in the folder, which also says who holds it (pid, host, command). The
//! kernel releases it when its process exits, however it exits, so the file a killed process
//! leaves is a stale lock, recognised as such and taken over by the next process.
//!
//! ```
//! use lobes_models::output::FolderLock;
//! let dir = lobes_ppl::io::scratch_dir("doc", "lock").unwrap();
//! let held = FolderLock::acquire(&dir).unwrap();
//! // A second claim on the folder, from this process or another, is refused.
//! let e = FolderLock::acquire(&dir).unwrap_err().to_string();
//! assert!(e.contains("another lobes process"), "{e}");
//! drop(held);
//! assert!(FolderLock::acquire(&dir).is_ok());
//! ```

use super::OutputError;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The lock file's name in a locked folder.
pub const LOCK_FILE: &str = ".lobes.lock";

/// The lock files this process holds, for [`release_all_locks`].
static HELD: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn held() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    HELD.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes the lock files of every lock this process holds: for a signal handler, before the
/// process dies (the locks themselves die with it).
pub fn release_all_locks() {
    for p in std::mem::take(&mut *held()) {
        let _ = std::fs::remove_file(p);
    }
}

/// A held lock on a folder; released (and its file removed) when dropped or when the process
/// ends.
#[derive(Debug)]
pub struct FolderLock {
    file: File,
    path: PathBuf,
}

impl FolderLock {
    /// Locks `dir` (created if missing), or says who holds it.
    ///
    /// # Errors
    /// [`OutputError::Locked`] naming the holder, or [`OutputError::Io`].
    pub fn acquire(dir: &Path) -> Result<Self, OutputError> {
        std::fs::create_dir_all(dir).map_err(|e| OutputError::io(dir, e))?;
        let path = dir.join(LOCK_FILE);
        let file = loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| OutputError::io(&path, e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let owner = std::fs::read_to_string(&path).unwrap_or_default();
                    let owner = owner.trim();
                    return Err(OutputError::Locked {
                        dir: dir.to_path_buf(),
                        owner: if owner.is_empty() {
                            "its lock file names no owner yet".into()
                        } else {
                            owner.into()
                        },
                    });
                }
                Err(TryLockError::Error(e)) => return Err(OutputError::io(&path, e)),
            }
            // Its holder may have removed the file between our open and our lock: then the
            // lock is on a file no longer in the folder, and we try again.
            if same_file(&file, &path) {
                break file;
            }
        };
        held().push(path.clone());
        let mut lock = FolderLock { file, path };
        // Who holds the lock is information for the next process's message, not the lock:
        // a file that cannot take it (a full disk) does not stop the run here; the run's own
        // writes then fail naming their files.
        let _ = lock.write_owner();
        Ok(lock)
    }

    fn write_owner(&mut self) -> std::io::Result<()> {
        let command: Vec<String> = std::env::args().collect();
        let mut command = command.join(" ");
        if command.len() > 300 {
            let cut = (0..=300)
                .rev()
                .find(|&i| command.is_char_boundary(i))
                .unwrap_or(0);
            command.truncate(cut);
            command.push_str(" ...");
        }
        self.file.set_len(0)?;
        writeln!(
            self.file,
            "pid {} on host {}: {command}",
            std::process::id(),
            host_name()
        )?;
        self.file.sync_all()
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        // Removed while still held, so that no one locks the file on its way out.
        let _ = std::fs::remove_file(&self.path);
        held().retain(|p| p != &self.path);
    }
}

/// Whether `file` is the file now at `path`.
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

/// This machine's name (Linux: the kernel's; elsewhere `HOSTNAME`), for the lock's owner line.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_file_left_by_a_dead_process_is_taken_over() {
        let dir = lobes_ppl::io::scratch_dir("lobes-lock", "stale").unwrap();
        // What a SIGKILLed holder leaves: the file, with no lock on it.
        std::fs::write(
            dir.join(LOCK_FILE),
            "pid 4194305 on host gone: lobes train\n",
        )
        .unwrap();
        let lock = FolderLock::acquire(&dir).unwrap();
        let owner = std::fs::read_to_string(dir.join(LOCK_FILE)).unwrap();
        assert!(
            owner.starts_with(&format!("pid {} on host ", std::process::id())),
            "{owner}"
        );
        drop(lock);
        assert!(!dir.join(LOCK_FILE).exists(), "released and removed");
    }
}
