//! CI's brief fuzzing: each fuzz target's body (`fuzz/bodies.rs`, the code libFuzzer runs in
//! `fuzz/`) on its seed corpus (`fuzz/seed_corpus.sh`, small valid files) and on seeded
//! mutations of it: bit flips, interesting bytes, truncations, duplicated and inserted runs,
//! splices. No instrumentation, so no coverage guidance: a regression catcher in the normal
//! suite, not a substitute for the 10M-execution runs of docs/reliability.md. A panic saves the
//! input under the target folder and fails naming it.

#[allow(dead_code)]
#[path = "../fuzz/bodies.rs"]
mod bodies;

use std::path::{Path, PathBuf};

/// Mutated inputs per target (beside the seeds themselves).
const MUTATIONS: usize = 20_000;

/// xorshift64*: the mutations are the same on every machine.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut v = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        let n = v.len();
        match rng.below(6) {
            0 if n > 0 => {
                let i = rng.below(n);
                v[i] ^= 1 << rng.below(8);
            }
            1 if n > 0 => {
                const INTERESTING: [u8; 8] = [0, 1, 0x7f, 0x80, 0xff, b'0', b'9', b':'];
                let i = rng.below(n);
                v[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => v.truncate(rng.below(n + 1)),
            3 if n > 0 => {
                let (a, len) = (rng.below(n), 1 + rng.below(16));
                let run: Vec<u8> = v[a..(a + len).min(n)].to_vec();
                let at = rng.below(n + 1);
                v.splice(at..at, run);
            }
            4 => {
                let at = rng.below(n + 1);
                let run: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.next() as u8).collect();
                v.splice(at..at, run);
            }
            _ => {
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(n + 1);
                v.truncate(cut);
                v.extend_from_slice(&other[rng.below(other.len() + 1)..]);
            }
        }
    }
    v
}

/// The seed corpus, written by `fuzz/seed_corpus.sh` into a fresh folder (python3's
/// standard library). `None` skips when python3 is missing, except under CI.
fn corpus() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("lobes-fuzz-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let script = std::fs::read_to_string(root.join("fuzz/seed_corpus.sh")).unwrap();
    // The script writes into fuzz/corpus beside itself: run a copy placed in the temp folder.
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("seed_corpus.sh");
    std::fs::write(&copy, script).unwrap();
    match std::process::Command::new("bash").arg(&copy).status() {
        Ok(s) if s.success() => Some(dir.join("corpus")),
        other => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but fuzz/seed_corpus.sh failed ({other:?}; it needs bash and python3)"
            );
            eprintln!("skipping: fuzz/seed_corpus.sh did not run ({other:?})");
            None
        }
    }
}

fn seeds(dir: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

#[test]
fn every_fuzz_target_survives_its_seeds_and_their_mutations() {
    let Some(corpus) = corpus() else { return };
    type Body = fn(&[u8]);
    let targets: [(&str, Body); 5] = [
        ("pickle", bodies::pickle),
        ("fits", bodies::fits),
        ("png", bodies::png),
        ("checkpoint", bodies::checkpoint),
        ("data_spec", bodies::data_spec),
    ];
    for (name, body) in targets {
        let seeds = seeds(&corpus.join(name));
        assert!(!seeds.is_empty(), "no seeds for {name}");
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ name.len() as u64);
        let inputs = seeds
            .iter()
            .cloned()
            .chain((0..MUTATIONS).map(|_| mutate(&mut rng, &seeds)));
        for (i, input) in inputs.enumerate() {
            if std::panic::catch_unwind(|| body(&input)).is_err() {
                let saved = corpus.join(format!("crash-{name}-{i}"));
                std::fs::write(&saved, &input).unwrap();
                panic!(
                    "fuzz target {name} panicked on input {i}, saved as {}",
                    saved.display()
                );
            }
        }
    }
    std::fs::remove_dir_all(corpus.parent().unwrap()).ok();
}
