//! Checksummed downloads of FRDEEP-F / FRDEEP-N: HTTP GET, MD5 verified while streaming,
//! unpacked into a temporary folder and renamed into place, so a failed or corrupted download
//! leaves nothing behind under the real names. A mirror that does not answer, or stalls
//! mid-download, is given up after a connect or read time-out and a bounded number of
//! attempts ([`FetchOptions`]); the partial file is removed.

use super::DataError;
use md5::{Digest, Md5};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a download may wait, and how often it is tried.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FetchOptions {
    /// Time to open the connection.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes (of the headers or of the body).
    pub read_timeout: Duration,
    /// Attempts after the first, for failures a retry may cure (no connection, a time-out,
    /// a cut or short download); an HTTP error status or an oversized download is final.
    pub retries: u32,
}

impl Default for FetchOptions {
    /// 30 s to connect, 60 s without data at most, 2 retries (3 attempts).
    fn default() -> Self {
        FetchOptions {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            retries: 2,
        }
    }
}

/// A published data set archive.
#[derive(Clone, Copy, Debug)]
pub struct Archive {
    /// Name on the command line.
    pub name: &'static str,
    /// Published URL.
    pub url: &'static str,
    /// File name of the archive.
    pub file: &'static str,
    /// Published MD5.
    pub md5: &'static str,
    /// Folder the archive unpacks to.
    pub folder: &'static str,
}

/// The archives `lobes data fetch` knows (URLs and MD5s from the data sets' own loader).
pub const ARCHIVES: [Archive; 2] = [
    Archive {
        name: "frdeep-f",
        url: "http://www.jb.man.ac.uk/research/ascaife/FIRST_PNG_dataset.tar.gz",
        file: "FIRST_PNG_dataset.tar.gz",
        md5: "2f39461e6c62fb45289559915106013a",
        folder: "FIRST_PNG_dataset",
    },
    Archive {
        name: "frdeep-n",
        url: "http://www.jb.man.ac.uk/research/ascaife/NVSS_PNG_dataset.tar.gz",
        file: "NVSS_PNG_dataset.tar.gz",
        md5: "2584ed1e174ea71f581d0e0d6f32ef38",
        folder: "NVSS_PNG_dataset",
    },
];

/// The most bytes a download may bring (the published archives are about 0.3 MB): a mirror
/// that streams without end is cut off with an error instead of filling the disk.
pub const MAX_DOWNLOAD: u64 = 64 << 20;

/// Finds an archive by name.
pub fn archive(name: &str) -> Option<Archive> {
    ARCHIVES
        .iter()
        .copied()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

struct Cleanup(Vec<PathBuf>);
impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(p)
            } else {
                std::fs::remove_file(p)
            };
        }
    }
}

/// [`fetch_with`] the default [`FetchOptions`].
pub fn fetch(a: &Archive, dir: &Path, base_url: Option<&str>) -> Result<PathBuf, DataError> {
    fetch_with(a, dir, base_url, &FetchOptions::default())
}

/// Downloads `a` into `dir` and unpacks it; returns the data folder. `base_url`, when given,
/// replaces the published location (the archive's file name is appended), for mirrors and
/// tests. An existing folder is left as it is and returned. Connection failures, time-outs
/// and cut downloads are tried again up to `opts.retries` times; the last error names the URL,
/// the bytes received and the attempts, and no partial file is left. Says nothing about the
/// retries ([`fetch_reporting`] does).
pub fn fetch_with(
    a: &Archive,
    dir: &Path,
    base_url: Option<&str>,
    opts: &FetchOptions,
) -> Result<PathBuf, DataError> {
    fetch_reporting(a, dir, base_url, opts, &mut |_| {})
}

/// [`fetch_with`], telling `on_retry` why each failed attempt is tried again (a line naming the
/// URL, the reason and the attempts made).
pub fn fetch_reporting(
    a: &Archive,
    dir: &Path,
    base_url: Option<&str>,
    opts: &FetchOptions,
    on_retry: &mut dyn FnMut(&str),
) -> Result<PathBuf, DataError> {
    let dest = dir.join(a.folder);
    if dest.join("data_batch_1").exists() {
        return Ok(dest);
    }
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let url = match base_url {
        Some(b) => format!("{}/{}", b.trim_end_matches('/'), a.file),
        None => a.url.to_string(),
    };
    let part = dir.join(format!(".{}.part-{}", a.file, std::process::id()));
    let unpack = dir.join(format!(".{}.unpack-{}", a.folder, std::process::id()));
    let _cleanup = Cleanup(vec![part.clone(), unpack.clone()]);

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(opts.connect_timeout))
        .timeout_per_read(Some(opts.read_timeout))
        .build()
        .into();
    let attempts = opts.retries.saturating_add(1);
    let mut attempt = 1;
    let got = loop {
        match download(&agent, &url, &part, a) {
            Ok(md5) => break md5,
            Err(Attempt::Final(e)) => return Err(e),
            Err(Attempt::Retry(reason)) if attempt >= attempts => {
                return Err(DataError::Http {
                    url: url.clone(),
                    reason: format!(
                        "{reason}; gave up after {attempts} attempt{} (--timeout {} s, \
                         --connect-timeout {} s, --retries {}); the partial download was removed",
                        if attempts == 1 { "" } else { "s" },
                        opts.read_timeout.as_secs_f64(),
                        opts.connect_timeout.as_secs_f64(),
                        opts.retries
                    ),
                });
            }
            Err(Attempt::Retry(reason)) => {
                on_retry(&format!(
                    "{url}: {reason}; trying again ({attempt} of {attempts} attempts made)"
                ));
                let _ = std::fs::remove_file(&part);
                std::thread::sleep(opts.read_timeout.min(Duration::from_secs(2)) * attempt);
                attempt += 1;
            }
        }
    };
    if got != a.md5 {
        return Err(DataError::Checksum {
            path: url.clone(),
            expected: a.md5.into(),
            got,
        });
    }
    let tgz = std::fs::File::open(&part).map_err(|e| DataError::io(&part, e))?;
    tar::Archive::new(flate2::read::GzDecoder::new(tgz))
        .unpack(&unpack)
        .map_err(|e| DataError::format(&part, format!("cannot unpack {}: {e}", a.file)))?;
    let inner = unpack.join(a.folder);
    if !inner.join("data_batch_1").exists() {
        return Err(DataError::format(
            &part,
            format!("archive holds no {}/data_batch_1", a.folder),
        ));
    }
    std::fs::rename(&inner, &dest).map_err(|e| DataError::io(&dest, e))?;
    Ok(dest)
}

/// Why one attempt failed: worth another, or not.
enum Attempt {
    /// A connection failure, a time-out, a cut download: what went wrong.
    Retry(String),
    /// An HTTP error status, an oversized download, a file that cannot be written.
    Final(DataError),
}

/// One GET of `url` into `part`; the MD5 of what arrived.
fn download(agent: &ureq::Agent, url: &str, part: &Path, a: &Archive) -> Result<String, Attempt> {
    let http = |reason: String| {
        Attempt::Final(DataError::Http {
            url: url.to_string(),
            reason,
        })
    };
    let mut resp = match agent.get(url).call() {
        Ok(r) => r,
        Err(e @ ureq::Error::StatusCode(_)) => return Err(http(e.to_string())),
        Err(e) => return Err(Attempt::Retry(format!("no response: {e}"))),
    };
    let declared: Option<u64> = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let mut body = resp.body_mut().as_reader();
    let io = |e| Attempt::Final(DataError::io(part, e));
    let mut f = std::fs::File::create(part).map_err(io)?;
    let mut md5 = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    let of = |total: u64| match declared {
        Some(d) => format!("{total} of {d} bytes"),
        None => format!("{total} bytes"),
    };
    loop {
        let n = match body.read(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                let why = if e.to_string().contains("timeout") {
                    "no data within the read time-out"
                } else {
                    "download interrupted"
                };
                return Err(Attempt::Retry(format!("{why} after {}: {e}", of(total))));
            }
        };
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > MAX_DOWNLOAD {
            return Err(http(format!(
                "more than {} MiB: not the {} archive (about 0.3 MB); the download was discarded",
                MAX_DOWNLOAD >> 20,
                a.name
            )));
        }
        md5.update(&buf[..n]);
        f.write_all(&buf[..n]).map_err(io)?;
    }
    if declared.is_some_and(|d| total < d) {
        return Err(Attempt::Retry(format!(
            "the download stopped after {}",
            of(total)
        )));
    }
    f.sync_all().map_err(io)?;
    Ok(md5.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
