//! An output folder: the set of files one command writes (stamps, figures, tables), never
//! mixed with another command's or another run's.
//!
//! The folder must be new or empty. While the command writes, its manifest ([`MANIFEST`]) says
//! so; when it is done, the manifest lists every file written. `--overwrite` replaces an earlier
//! output: the files its manifest lists are removed first (every file, for an output whose
//! command never finished: the folder was empty when it started). A folder with files that no
//! manifest lists is refused, with or without `--overwrite`: lobes never removes what it did not
//! write.
//!
//! ```
//! use lobes_models::output::OutputFolder;
//! let dir = lobes_ppl::io::scratch_dir("doc", "output-folder").unwrap();
//! let out = OutputFolder::claim(&dir, "lobes generate", false).unwrap();
//! std::fs::write(dir.join("a.png"), b"png").unwrap();
//! assert_eq!(out.finish().unwrap(), 1);
//! // A second output into the same folder needs --overwrite, which removes a.png first.
//! assert!(OutputFolder::claim(&dir, "lobes generate", false).is_err());
//! let again = OutputFolder::claim(&dir, "lobes generate", true).unwrap();
//! assert!(!dir.join("a.png").exists());
//! again.finish().unwrap();
//! ```

use super::{FolderLock, LOCK_FILE, OutputError};
use std::path::{Path, PathBuf};

/// The manifest's name in an output folder.
pub const MANIFEST: &str = ".lobes-output";

const DONE: &str = "complete";
const WRITING: &str = "incomplete";

/// A claimed output folder: locked until [`OutputFolder::finish`] or drop. Dropped without
/// `finish` (the command failed) with nothing written, it leaves the folder as it found it
/// (removing what the claim created); with files written, its manifest says the output is
/// incomplete.
#[derive(Debug)]
pub struct OutputFolder {
    dir: PathBuf,
    command: String,
    lock: Option<FolderLock>,
    /// The folders the claim created, deepest first.
    created: Vec<PathBuf>,
    finished: bool,
}

/// An earlier output's manifest.
struct Manifest {
    command: String,
    complete: bool,
    files: Vec<PathBuf>,
}

impl OutputFolder {
    /// Claims `dir` (created if missing) for the output of `command` (e.g. `lobes generate`);
    /// with `overwrite` an earlier lobes output there is removed first.
    ///
    /// # Errors
    /// [`OutputError::NotEmpty`] for files no manifest lists, [`OutputError::EarlierOutput`]
    /// for an earlier output without `overwrite`, [`OutputError::Locked`] while another process
    /// writes the folder.
    pub fn claim(dir: &Path, command: &str, overwrite: bool) -> Result<Self, OutputError> {
        let created: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
            .map(Path::to_path_buf)
            .collect();
        let mut out = OutputFolder {
            dir: dir.to_path_buf(),
            command: command.to_string(),
            lock: None,
            created,
            finished: false,
        };
        out.lock = Some(FolderLock::acquire(dir)?);
        lobes_ppl::io::remove_stale_temporaries(dir)
            .map_err(|e| OutputError::io(dir, std::io::Error::other(e.to_string())))?;
        let present = files_under(dir)?;
        let manifest = read_manifest(dir)?;
        let listed: Vec<PathBuf> = match &manifest {
            Some(m) if m.complete => m.files.clone(),
            // An output stopped part-way: everything in the folder is its.
            Some(_) => present.clone(),
            None => vec![],
        };
        if let Some(foreign) = present.iter().find(|p| !listed.contains(p)) {
            return Err(OutputError::NotEmpty {
                dir: dir.to_path_buf(),
                count: present.iter().filter(|p| !listed.contains(p)).count(),
                example: foreign.display().to_string(),
            });
        }
        // An earlier output that left no file (stopped before its first) mixes with nothing.
        if let Some(m) = manifest.filter(|_| !present.is_empty()) {
            if !overwrite {
                return Err(OutputError::EarlierOutput {
                    dir: dir.to_path_buf(),
                    command: m.command,
                    files: present.len(),
                });
            }
            for f in &present {
                let p = dir.join(f);
                std::fs::remove_file(&p).map_err(|e| OutputError::io(&p, e))?;
            }
            remove_empty_subfolders(dir);
        }
        out.write_manifest(WRITING, &[])?;
        Ok(out)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records every file now in the folder as this output's and releases the folder; returns
    /// the number of files.
    pub fn finish(mut self) -> Result<usize, OutputError> {
        let files = files_under(&self.dir)?;
        self.write_manifest(DONE, &files)?;
        self.finished = true;
        Ok(files.len())
    }

    fn write_manifest(&self, state: &str, files: &[PathBuf]) -> Result<(), OutputError> {
        let mut text = format!("# lobes output: {state}\n# command: {}\n", self.command);
        for f in files {
            text.push_str(&f.display().to_string());
            text.push('\n');
        }
        let path = self.dir.join(MANIFEST);
        lobes_ppl::io::write_atomic(&path, text.as_bytes())
            .map_err(|e| OutputError::io(&path, std::io::Error::other(e.to_string())))
    }
}

impl Drop for OutputFolder {
    fn drop(&mut self) {
        if self.finished || !files_under(&self.dir).is_ok_and(|f| f.is_empty()) {
            return;
        }
        // Nothing written: no trace of the claim.
        let _ = std::fs::remove_file(self.dir.join(MANIFEST));
        drop(self.lock.take());
        for d in &self.created {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// The manifest in `dir`, if any.
fn read_manifest(dir: &Path) -> Result<Option<Manifest>, OutputError> {
    let path = dir.join(MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(OutputError::io(&path, e)),
    };
    let mut m = Manifest {
        command: "unknown command".into(),
        complete: false,
        files: vec![],
    };
    for line in text.lines() {
        if let Some(state) = line.strip_prefix("# lobes output: ") {
            m.complete = state.trim() == DONE;
        } else if let Some(c) = line.strip_prefix("# command: ") {
            m.command = c.trim().to_string();
        } else if !line.is_empty() && !line.starts_with('#') {
            let p = PathBuf::from(line);
            // Only plain relative names inside the folder are ever removed.
            if p.components()
                .all(|c| matches!(c, std::path::Component::Normal(_)))
            {
                m.files.push(p);
            }
        }
    }
    Ok(Some(m))
}

/// Every file under `dir`, relative to it, sorted; the lock and the manifest left out.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, OutputError> {
    let mut out = vec![];
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        let abs = dir.join(&rel);
        let entries = std::fs::read_dir(&abs).map_err(|e| OutputError::io(&abs, e))?;
        for e in entries {
            let e = e.map_err(|e| OutputError::io(&abs, e))?;
            let name = rel.join(e.file_name());
            let kind = e
                .file_type()
                .map_err(|err| OutputError::io(&e.path(), err))?;
            if kind.is_dir() {
                todo.push(name);
            } else if !(rel.as_os_str().is_empty()
                && (e.file_name() == LOCK_FILE || e.file_name() == MANIFEST))
            {
                out.push(name);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Removes the sub-folders of `dir` left empty (deepest first); others stay.
fn remove_empty_subfolders(dir: &Path) {
    let mut dirs = vec![];
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        if let Ok(entries) = std::fs::read_dir(&d) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    dirs.push(e.path());
                    todo.push(e.path());
                }
            }
        }
    }
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in dirs {
        let _ = std::fs::remove_dir(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        lobes_ppl::io::scratch_dir("lobes-output", name).unwrap()
    }

    #[test]
    fn foreign_files_are_refused_and_never_removed() {
        let dir = tmp("foreign");
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        for overwrite in [false, true] {
            let e = OutputFolder::claim(&dir, "lobes generate", overwrite)
                .unwrap_err()
                .to_string();
            assert!(e.contains("not empty") && e.contains("notes.txt"), "{e}");
        }
        assert!(dir.join("notes.txt").exists());
        assert!(!dir.join(MANIFEST).exists(), "nothing written");
    }

    #[test]
    fn an_earlier_output_is_replaced_whole_with_overwrite_and_an_interrupted_one_too() {
        let dir = tmp("earlier");
        let out = OutputFolder::claim(&dir, "lobes generate --n 6", false).unwrap();
        std::fs::create_dir_all(dir.join("FRI")).unwrap();
        for i in 0..6 {
            std::fs::write(dir.join(format!("FRI/{i}.png")), b"x").unwrap();
        }
        assert_eq!(out.finish().unwrap(), 6);
        let e = OutputFolder::claim(&dir, "lobes generate --n 2", false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("lobes generate --n 6") && e.contains("--overwrite"),
            "{e}"
        );
        // A file added by hand beside the output is foreign: refused, nothing removed.
        std::fs::write(dir.join("FRI/mine.png"), b"x").unwrap();
        assert!(OutputFolder::claim(&dir, "lobes generate", true).is_err());
        assert!(dir.join("FRI/0.png").exists());
        std::fs::remove_file(dir.join("FRI/mine.png")).unwrap();
        // Interrupted: claimed, files written, never finished.
        let out = OutputFolder::claim(&dir, "lobes generate --n 2", true).unwrap();
        assert!(
            !dir.join("FRI").exists(),
            "the old stamps and their folder are gone"
        );
        std::fs::write(dir.join("0.png"), b"x").unwrap();
        drop(out);
        let e = OutputFolder::claim(&dir, "lobes generate", false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("earlier"), "{e}");
        // A command that fails before writing leaves no trace, not even the folder it made.
        let fresh = dir.join("new/deeper");
        drop(OutputFolder::claim(&fresh, "lobes generate", false).unwrap());
        assert!(!dir.join("new").exists());
        let out = OutputFolder::claim(&dir, "lobes generate", true).unwrap();
        assert!(!dir.join("0.png").exists());
        assert_eq!(out.finish().unwrap(), 0);
    }
}
