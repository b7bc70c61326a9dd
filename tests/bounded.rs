//! Commands that used to run without bound: `data synthetic` with a large `--n` (memory grew
//! ~18 MB/s and nothing was written for a minute) now writes stamps as it makes them in a
//! bounded memory; `data fetch` from a mirror that stalls (it waited for ever beside a `.part`
//! file) now gives up after its time-outs and retries, naming the URL and leaving nothing.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn tmp(name: &str) -> PathBuf {
    lobes::ppl::io::scratch_dir("lobes-bounded", name).unwrap()
}

/// Stamps under `dir` (any depth).
fn stamps(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                stamps(&p)
            } else {
                usize::from(p.extension().is_some_and(|x| x == "png"))
            }
        })
        .sum()
}

/// The resident memory of process `pid` in bytes (Linux).
fn rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn data_synthetic_of_a_million_sources_streams_its_stamps_in_bounded_memory() {
    let dir = tmp("synthetic");
    let out = dir.join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lobes"))
        .args(["data", "synthetic", "--n", "1000000", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run lobes");
    let t0 = Instant::now();
    let mut peak = 0;
    let mut written = 0;
    // Before: nothing on disk for over a minute while the images piled up in memory.
    while t0.elapsed() < Duration::from_secs(60) && written < 200 {
        std::thread::sleep(Duration::from_millis(200));
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("lobes ended early ({status}): {err}");
        }
        peak = peak.max(rss(child.id()).unwrap_or(0));
        written = stamps(&out);
    }
    let elapsed = t0.elapsed();
    child.kill().unwrap();
    child.wait().unwrap();
    eprintln!(
        "{written} stamps after {elapsed:?}, peak resident memory {} MB",
        peak >> 20
    );
    assert!(written >= 200, "{written} stamps after {elapsed:?}");
    // A chunk of 64 150x150 stamps is a few MB; the rows of labels.csv grow by ~100 bytes a
    // stamp. Before, nothing was written for over a minute while memory grew ~18 MB/s.
    assert!(peak < 300 << 20, "peak resident memory {} MB", peak >> 20);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn data_fetch_from_a_mirror_that_stalls_gives_up_naming_the_url_and_leaves_nothing() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n");
                let _ = s.write_all(&[1u8; 1000]);
                let _ = s.flush();
                std::thread::sleep(Duration::from_secs(60));
            });
        }
    });
    let dir = tmp("fetch");
    let base = format!("http://{addr}");
    let t0 = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_lobes"))
        .args([
            "data",
            "fetch",
            "frdeep-f",
            "--base-url",
            &base,
            "--retries",
            "1",
        ])
        .arg("--dir")
        .arg(&dir)
        // The time-out from the environment, as a user may set it.
        .env("LOBES_FETCH_TIMEOUT", "0.3")
        .output()
        .expect("run lobes");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
    assert_eq!(out.status.code(), Some(1), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("error: {base}/FIRST_PNG_dataset.tar.gz: "))
            && last.contains("1000 of 300000 bytes")
            && last.contains("gave up after 2 attempts"),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
