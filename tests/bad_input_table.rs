//! The bad-input table of `docs/reliability.md`: bad files and options run through the CLI,
//! each a clean failure (exit status 1 for lobes' errors, 2 for clap's; never a panic's 101)
//! with a clear first line, leaving no output behind (nothing under the temporary folder is
//! created, changed or removed).
//!
//! The table is written by this test, so it cannot go stale: with `LOBES_WRITE_DOCS=1` the test
//! rewrites the section between the markers; otherwise it asserts the committed section is what
//! it would write. The bad files are made in a temporary folder from the real data in
//! `../shared/data` (FRDEEP-F pickles, a FIRST cut-out) or from scratch; without the real data
//! the test is skipped, except under CI, where it fails.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

const START: &str = "<!-- bad-input-table:start -->";
const END: &str = "<!-- bad-input-table:end -->";

/// `../shared/data`; `None` skips, except under CI.
fn shared_data() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    let needed = [
        "FRDEEP-F/data_batch_1",
        "FRDEEP-F/batches.meta",
        "fits-cutouts/100_010.451-009.284_0.0529_0080.60.fits",
        "ramis-classifier/hmt-frdeepf.safetensors",
    ];
    if needed.iter().all(|f| p.join(f).exists()) {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but the real data ({}: {needed:?}) is missing",
        p.display()
    );
    eprintln!("skipping: {} not found", p.display());
    None
}

fn tmp(name: &str) -> PathBuf {
    lobes::ppl::io::scratch_dir("lobes-bad", name).unwrap()
}

fn write(p: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// Every file and folder under `dir`: size and modification time. Any write shows.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                todo.push(p.clone());
            }
            out.insert(p, (m.len(), m.modified().unwrap()));
        }
    }
    out
}

/// A FITS file's 80-character header card `key` set to `value` (or blanked with `None`).
fn patch_card(fits: &mut [u8], key: &str, value: Option<&str>) {
    let i = (0..fits.len() / 80)
        .find(|i| {
            let card = &fits[i * 80..i * 80 + 8];
            card == format!("{key:<8}").as_bytes()
        })
        .unwrap_or_else(|| panic!("no {key} card"));
    let card = match value {
        Some(v) => format!("{key:<8}= {v:>20}"),
        None => String::new(),
    };
    fits[i * 80..i * 80 + 80].copy_from_slice(format!("{card:<80}").as_bytes());
}

/// Where a FITS file's data begin: the 2880-byte block after the END card.
fn fits_data_start(fits: &[u8]) -> usize {
    let end = (0..fits.len() / 80)
        .find(|i| fits[i * 80..i * 80 + 8] == *b"END     ")
        .expect("END card");
    (end * 80 / 2880 + 1) * 2880
}

/// A PNG of `w`x`h` grey pixels.
fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::GrayImage::from_fn(w, h, |x, y| image::Luma([((x * 7 + y * 3) % 256) as u8]));
    let mut out = std::io::Cursor::new(vec![]);
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A CIFAR-style batch pickle of `size`x`size` uint8 images, built opcode by opcode as numpy
/// writes it (one label per image).
fn batch_pickle(labels: &[i64], size: usize) -> Vec<u8> {
    let mut p = vec![0x80, 3, b'}', b'('];
    let unicode = |p: &mut Vec<u8>, s: &str| {
        p.push(b'X');
        p.extend((s.len() as u32).to_le_bytes());
        p.extend(s.as_bytes());
    };
    unicode(&mut p, "labels");
    p.extend([b']', b'(']);
    for &l in labels {
        p.push(b'J');
        p.extend((l as i32).to_le_bytes());
    }
    p.push(b'e');
    unicode(&mut p, "data");
    p.extend([b']', b'(']);
    for _ in labels {
        p.extend(b"cnumpy.core.multiarray\n_reconstruct\n");
        p.extend(b"cnumpy\nndarray\n");
        p.extend([b'K', 0, 0x85, b'C', 1, b'b', 0x87, b'R']);
        p.extend([b'(', b'K', 1, b'(', b'J']);
        p.extend(((size * size) as i32).to_le_bytes());
        p.push(b't');
        p.extend(b"cnumpy\ndtype\n");
        unicode(&mut p, "u1");
        p.extend([0x89, 0x88, 0x87, b'R', 0x89, b'B']);
        p.extend(((size * size) as u32).to_le_bytes());
        p.extend(vec![40u8; size * size]);
        p.extend([b't', b'b']);
    }
    p.push(b'e');
    p.extend([b'u', b'.']);
    p
}

/// A copy of the safetensors file `from` at `to` with one element of the first tensor whose
/// name `pick` accepts set to NaN (a checkpoint of a run whose training blew up).
fn with_nan(from: &Path, to: &Path, pick: impl Fn(&str) -> bool) {
    let device = burn::prelude::Device::default();
    let (mut tensors, meta) = lobes::ppl::io::load_tensors(from, &device).unwrap();
    let (_, t) = tensors
        .iter_mut()
        .find(|(n, _)| pick(n))
        .expect("a tensor to break");
    let mut v = t.to_vec();
    v[1] = f32::NAN;
    *t = lobes::ppl::DTensor::from_floats(v, t.shape(), &device).unwrap();
    lobes::ppl::io::save_tensors(to, &tensors, meta).unwrap();
}

struct Case {
    what: &'static str,
    args: Vec<String>,
    /// Run as `nobody` when the test runs as root (root writes into read-only folders).
    unprivileged: bool,
    code: i32,
    /// A phrase the message must contain.
    needle: &'static str,
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The binary `nobody` runs: a copy in a folder anyone can read when the tests run as root
/// (the build folder may be under a home folder of mode 700).
fn unprivileged_binary() -> PathBuf {
    let dir = tmp("bin");
    let bin = dir.join("lobes");
    std::fs::copy(env!("CARGO_BIN_EXE_lobes"), &bin).unwrap();
    for d in [&bin, &dir] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

/// Runs `lobes args`: exit status and stderr (stdout holds progress lines, never the error).
/// `unprivileged` (as root only): `unprivileged_binary()` run as `nobody`.
fn run(args: &[String], unprivileged: Option<&Path>) -> (Option<i32>, String) {
    let bin = unprivileged.unwrap_or(Path::new(env!("CARGO_BIN_EXE_lobes")));
    let mut c = Command::new(bin);
    c.args(args);
    if unprivileged.is_some() {
        // SAFETY: between fork and exec only async-signal-safe calls.
        unsafe {
            c.pre_exec(|| {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(65534) != 0
                    || libc::setuid(65534) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let out = c.output().expect("run lobes");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `|` escaped and the temporary folder written `$TMP`, for a Markdown table cell.
fn cell(s: &str, tmp: &Path) -> String {
    s.replace(&tmp.display().to_string(), "$TMP")
        .replace('|', "\\|")
}

#[test]
fn bad_inputs_through_the_cli_fail_cleanly_and_the_docs_table_is_current() {
    let Some(data) = shared_data() else {
        return;
    };
    let t = tmp("table");
    let s = |p: &str| t.join(p).display().to_string();

    // Real FRDEEP-F batches, broken.
    let batch = std::fs::read(data.join("FRDEEP-F/data_batch_1")).unwrap();
    let meta = std::fs::read(data.join("FRDEEP-F/batches.meta")).unwrap();
    write(&t.join("trunc/data_batch_1"), &batch[..batch.len() / 2]);
    let labels: &[u8] = b"labelsq\x03]q\x04(K";
    let at = batch
        .windows(labels.len())
        .position(|w| w == labels)
        .unwrap()
        + labels.len();
    let mut label7 = batch.clone();
    label7[at] = 7;
    write(&t.join("label7/data_batch_1"), &label7);
    write(&t.join("badmeta/data_batch_1"), &batch);
    let at = meta.windows(4).position(|w| w == b"FRII").unwrap();
    let mut badmeta = meta.clone();
    badmeta[at..at + 4].copy_from_slice(b"FRIX");
    write(&t.join("badmeta/batches.meta"), &badmeta);
    write(&t.join("empty/data_batch_1"), b"");
    write(
        &t.join("lr_bad.csv"),
        b"lr,final_train_loss,final_test_loss\n0.001,x,150\n",
    );
    write(
        &t.join("evil/data_batch_1"),
        b"\x80\x02cos\nsystem\nq\x00X\x07\x00\x00\x00echo hiq\x01\x85q\x02Rq\x03.",
    );
    std::fs::create_dir_all(t.join("nobatches")).unwrap();

    // A real FIRST cut-out (300x300 float32), broken.
    let name = "100_010.451-009.284_0.0529_0080.60.fits";
    let fits = std::fs::read(data.join("fits-cutouts").join(name)).unwrap();
    let d0 = fits_data_start(&fits);
    let mut nan = fits.clone();
    nan[d0 + 4 * 45_150..d0 + 4 * 45_151].copy_from_slice(&f32::NAN.to_be_bytes());
    write(&t.join("stamps-nan").join(name), &nan);
    let mut inf = fits.clone();
    inf[d0 + 4 * 7..d0 + 4 * 8].copy_from_slice(&f32::INFINITY.to_be_bytes());
    write(&t.join("stamps-inf").join(name), &inf);
    let mut all_inf = fits.clone();
    for px in all_inf[d0..d0 + 4 * 90_000].chunks_exact_mut(4) {
        px.copy_from_slice(&f32::INFINITY.to_be_bytes());
    }
    write(&t.join("fits-allinf").join(name), &all_inf);
    let mut bitpix = fits.clone();
    patch_card(&mut bitpix, "BITPIX", Some("12"));
    write(&t.join("fits-bitpix").join(name), &bitpix);
    let mut naxis = fits.clone();
    patch_card(&mut naxis, "NAXIS", Some("3"));
    write(&t.join("fits-naxis3").join(name), &naxis);
    let mut noend = fits.clone();
    patch_card(&mut noend, "END", None);
    write(&t.join("fits-noend").join(name), &noend[..d0]);
    write(&t.join("fits-trunc").join(name), &fits[..d0 + 1000]);
    write(&t.join("fits-empty").join(name), b"");

    // PNG stamps from scratch.
    write(&t.join("png-99x100/a.png"), &png(99, 100));
    write(&t.join("png-sizes/a.png"), &png(100, 100));
    write(&t.join("png-sizes/b.png"), &png(150, 150));
    write(&t.join("png-garbage/a.png"), b"not a PNG at all");
    write(&t.join("png-labelled/FRI/a.png"), &png(99, 100));

    // A tiny VAE run, its checkpoint broken.
    let vae = t.join("vae");
    let (code, err) = run(
        &[
            "train",
            "--data",
            "synthetic:4",
            "--latent",
            "2",
            "--hidden",
            "16",
            "--batch",
            "8",
            "--augment-step",
            "0",
            "--epochs",
            "1",
            "--out",
            vae.to_str().unwrap(),
        ]
        .map(String::from),
        None,
    );
    assert_eq!(code, Some(0), "{err}");
    let ckpt = std::fs::read(vae.join("checkpoint.safetensors")).unwrap();
    write(&t.join("trunc.safetensors"), &ckpt[..ckpt.len() / 2]);
    write(&t.join("empty.safetensors"), b"");
    write(&t.join("garbage.safetensors"), &[0xff; 64]);
    let badcsv = t.join("badcsv");
    std::fs::create_dir_all(badcsv.join("checkpoints")).unwrap();
    std::fs::copy(
        vae.join("checkpoint.safetensors"),
        badcsv.join("checkpoint.safetensors"),
    )
    .unwrap();
    write(&badcsv.join("metrics.csv"), b"epoch,train_loss\nseven,1\n");
    std::fs::create_dir_all(t.join("norun")).unwrap();
    let ro = t.join("readonly");
    std::fs::create_dir_all(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let clf = data
        .join("ramis-classifier/hmt-frdeepf.safetensors")
        .canonicalize()
        .unwrap();
    std::fs::copy(&clf, t.join("classifier.safetensors")).unwrap();

    // Images smaller than the model's 100x100 input, an empty test split, broken models.
    write(&t.join("png-64/FRI/a.png"), &png(64, 64));
    write(&t.join("png-emptytest/train/FRI/a.png"), &png(100, 100));
    std::fs::create_dir_all(t.join("png-emptytest/test")).unwrap();
    write(&t.join("test64/data_batch_1"), &batch);
    write(&t.join("test64/test_batch"), &batch_pickle(&[0, 1], 64));
    with_nan(
        &vae.join("checkpoint.safetensors"),
        &t.join("nan.safetensors"),
        |n| n.starts_with("decoder.") && n.ends_with("bias"),
    );
    with_nan(&clf, &t.join("nanclf.safetensors"), |n| n == "fc3.bias");
    let cvae = t.join("cvae");
    let (code, err) = run(
        &[
            "train",
            "--model",
            "cvae",
            "--data",
            "synthetic:4",
            "--latent",
            "2",
            "--hidden",
            "16",
            "--batch",
            "8",
            "--augment-step",
            "0",
            "--epochs",
            "1",
            "--out",
            cvae.to_str().unwrap(),
        ]
        .map(String::from),
        None,
    );
    assert_eq!(code, Some(0), "{err}");

    let out = s("out");
    let c = s("vae/checkpoint.safetensors");
    // A small network for the train cases that get past the options (so a bug cannot start
    // a Table-2 network).
    let train = |data: &str, extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["train", "--data", data, "--hidden", "16", "--latent", "2"]
            .iter()
            .map(|a| a.to_string())
            .collect();
        v.extend(extra.iter().map(|a| a.to_string()));
        v.extend(["--epochs".into(), "1".into(), "--out".into(), out.clone()]);
        v
    };
    let owned = |v: &[&str]| -> Vec<String> { v.iter().map(|a| a.to_string()).collect() };
    let spec = |kind: &str, dir: &str| format!("{kind}:{}", s(dir));
    let case = |what, args, code, needle| Case {
        what,
        args,
        unprivileged: false,
        code,
        needle,
    };
    let resume = |dir: &str, extra: &[&str]| -> Vec<String> {
        let mut v = owned(&[
            "train",
            "--data",
            "synthetic:4",
            "--latent",
            "2",
            "--batch",
            "8",
            "--augment-step",
            "0",
            "--epochs",
            "2",
            "--resume",
            "--out",
        ]);
        v.push(s(dir));
        v.extend(owned(extra));
        v
    };
    let mut cases = vec![
        case(
            "truncated pickle (half of FRDEEP-F data_batch_1)",
            train(&spec("frdeep-f", "trunc"), &[]),
            1,
            "data_batch_1",
        ),
        case(
            "zero-length pickle",
            train(&spec("frdeep-f", "empty"), &[]),
            1,
            "data_batch_1",
        ),
        case(
            "label 7 in a FRDEEP-F batch",
            train(&spec("frdeep-f", "label7"), &[]),
            1,
            "7",
        ),
        case(
            "batches.meta naming the classes FRI, FRIX",
            train(&spec("frdeep-f", "badmeta"), &[]),
            1,
            "FRIX",
        ),
        case(
            "pickle calling os.system",
            train(&spec("frdeep-f", "evil"), &[]),
            1,
            "os",
        ),
        case(
            "missing data folder",
            train(&spec("frdeep-f", "no-such-folder"), &[]),
            1,
            "no-such-folder",
        ),
        case(
            "data folder without batches",
            train(&spec("frdeep-f", "nobatches"), &[]),
            1,
            "no data_batch_* files",
        ),
        case(
            "99x100 PNG training image",
            train(&spec("png", "png-labelled"), &[]),
            1,
            "a.png",
        ),
        case(
            "99x100 PNG stamp",
            owned(&["noise", "--images", &s("png-99x100"), "--out", &out]),
            1,
            "a.png",
        ),
        case(
            "PNG stamps of two sizes",
            owned(&["noise", "--images", &s("png-sizes"), "--out", &out]),
            1,
            "b.png",
        ),
        case(
            "a text file named .png",
            owned(&["noise", "--images", &s("png-garbage"), "--out", &out]),
            1,
            "a.png",
        ),
        case(
            "NaN pixel in a FITS stamp",
            owned(&["noise", "--images", &s("stamps-nan"), "--out", &out]),
            1,
            "must be finite",
        ),
        case(
            "+Inf pixel in a FITS stamp",
            owned(&["noise", "--images", &s("stamps-inf"), "--out", &out]),
            1,
            "must be finite",
        ),
        case(
            "FITS cut-out of +Inf only",
            owned(&[
                "data",
                "prepare",
                "--input",
                &s("fits-allinf"),
                "--out",
                &out,
            ]),
            1,
            name,
        ),
        case(
            "FITS with BITPIX = 12",
            owned(&[
                "data",
                "prepare",
                "--input",
                &s("fits-bitpix"),
                "--out",
                &out,
            ]),
            1,
            "BITPIX",
        ),
        case(
            "FITS with NAXIS = 3",
            owned(&[
                "data",
                "prepare",
                "--input",
                &s("fits-naxis3"),
                "--out",
                &out,
            ]),
            1,
            "NAXIS",
        ),
        case(
            "FITS header without END",
            owned(&[
                "data",
                "prepare",
                "--input",
                &s("fits-noend"),
                "--out",
                &out,
            ]),
            1,
            name,
        ),
        case(
            "FITS cut off 1000 bytes into its data",
            owned(&[
                "data",
                "prepare",
                "--input",
                &s("fits-trunc"),
                "--out",
                &out,
            ]),
            1,
            name,
        ),
        case(
            "zero-length FITS file",
            owned(&[
                "data",
                "prepare",
                "--input",
                &s("fits-empty"),
                "--out",
                &out,
            ]),
            1,
            name,
        ),
        case(
            "truncated checkpoint (first half)",
            owned(&[
                "generate",
                "--checkpoint",
                &s("trunc.safetensors"),
                "--out",
                &out,
            ]),
            1,
            "trunc.safetensors",
        ),
        case(
            "zero-length checkpoint",
            owned(&[
                "generate",
                "--checkpoint",
                &s("empty.safetensors"),
                "--out",
                &out,
            ]),
            1,
            "empty.safetensors",
        ),
        case(
            "64 bytes of 0xff as a checkpoint",
            owned(&[
                "generate",
                "--checkpoint",
                &s("garbage.safetensors"),
                "--out",
                &out,
            ]),
            1,
            "garbage.safetensors",
        ),
        case(
            "checkpoint of another network (the RAMIS classifier)",
            owned(&[
                "generate",
                "--checkpoint",
                &s("classifier.safetensors"),
                "--out",
                &out,
            ]),
            1,
            "classifier.safetensors",
        ),
        case(
            "--resume with other hidden widths than the checkpoint's",
            resume("vae", &["--hidden", "32"]),
            1,
            "checkpoint is a vae",
        ),
        case(
            "--resume with a corrupt metrics.csv",
            resume("badcsv", &["--hidden", "16"]),
            1,
            "metrics.csv line 2",
        ),
        case(
            "--resume in a folder without a checkpoint",
            resume("norun", &["--hidden", "16"]),
            1,
            "nothing to resume",
        ),
        case(
            "a folder as the checkpoint",
            owned(&["generate", "--checkpoint", &s("vae"), "--out", &out]),
            1,
            "vae",
        ),
        Case {
            unprivileged: true,
            ..case(
                "read-only output folder (train)",
                {
                    let mut v = train("synthetic:4", &[]);
                    let n = v.len();
                    v[n - 1] = s("readonly/run");
                    v
                },
                1,
                "readonly",
            )
        },
        Case {
            unprivileged: true,
            ..case(
                "read-only output folder (generate)",
                owned(&["generate", "--checkpoint", &c, "--out", &s("readonly")]),
                1,
                "readonly",
            )
        },
        case(
            "generate --class 7",
            owned(&[
                "generate",
                "--checkpoint",
                &c,
                "--class",
                "7",
                "--out",
                &out,
            ]),
            1,
            "unknown class '7'",
        ),
        case(
            "generate --sampling uniform:4,-4",
            owned(&[
                "generate",
                "--checkpoint",
                &c,
                "--sampling",
                "uniform:4,-4",
                "--out",
                &out,
            ]),
            1,
            "uniform:4,-4",
        ),
        case(
            "generate --n 0",
            owned(&["generate", "--checkpoint", &c, "--n", "0", "--out", &out]),
            2,
            "--n",
        ),
        case(
            "unknown --scale name",
            train("synthetic:4", &["--scale", "tanh"]),
            1,
            "tanh",
        ),
        case(
            "unknown --likelihood name",
            train("synthetic:4", &["--likelihood", "gaussian"]),
            1,
            "gaussian",
        ),
        case(
            "unknown --prior name",
            train("synthetic:4", &["--prior", "flat"]),
            1,
            "flat",
        ),
        case(
            "unknown --model",
            train("synthetic:4", &["--model", "gan"]),
            1,
            "gan",
        ),
        case(
            "unknown --optim",
            train("synthetic:4", &["--optim", "sgd"]),
            1,
            "sgd",
        ),
        case(
            "--ramis-every without --classifier",
            train("synthetic:4", &["--ramis-every", "5"]),
            1,
            "--classifier",
        ),
        case(
            "--clip-norm with --optim adagrad",
            train("synthetic:4", &["--optim", "adagrad", "--clip-norm", "5"]),
            1,
            "adagrad",
        ),
        case("--lr NaN", train("synthetic:4", &["--lr", "NaN"]), 1, "NaN"),
        case(
            "--batch 0",
            train("synthetic:4", &["--batch", "0"]),
            1,
            "batch",
        ),
        case(
            "--data synthetic:0",
            train("synthetic:0", &[]),
            1,
            "synthetic:0",
        ),
        case(
            "--data of an unknown kind",
            train("cifar:data", &[]),
            1,
            "cifar",
        ),
        case(
            "non-numeric --checkpoint-every",
            train("synthetic:4", &["--checkpoint-every", "x"]),
            2,
            "--checkpoint-every",
        ),
        case(
            "misspelt option --epoch",
            train("synthetic:4", &["--epoch", "3"]),
            2,
            "--epoch",
        ),
        case(
            "plot of an unknown --kind",
            owned(&[
                "plot",
                "--kind",
                "pie",
                "--csv",
                &s("lr_bad.csv"),
                "--out",
                &s("p.png"),
            ]),
            1,
            "pie",
        ),
        case(
            "plot of a CSV with a non-number",
            owned(&[
                "plot",
                "--kind",
                "lr-search",
                "--csv",
                &s("lr_bad.csv"),
                "--out",
                &s("p.png"),
            ]),
            1,
            "line 2: column 'final_train_loss' is not a number",
        ),
        case(
            "plot of a missing metrics file",
            owned(&[
                "plot",
                "--kind",
                "loss",
                "--csv",
                &s("none.csv"),
                "--out",
                &s("p.png"),
            ]),
            1,
            "none.csv",
        ),
        case(
            "evolution of a folder without checkpoints",
            owned(&["evolution", "--run", &s("norun"), "--out", &s("evo.png")]),
            1,
            "norun",
        ),
        case(
            "simulate-field of width 0",
            owned(&["simulate-field", "--width", "0", "--out", &out]),
            1,
            "--width",
        ),
        case(
            "simulate-field with a negative noise rms",
            owned(&["simulate-field", "--rms", "-0.001", "--out", &out]),
            1,
            "--rms",
        ),
        case(
            "simulate-field with slope 1 and no brightest flux",
            owned(&[
                "simulate-field",
                "--slope",
                "1",
                "--smax",
                "inf",
                "--out",
                &out,
            ]),
            1,
            "--slope",
        ),
        case(
            "simulate-field with Smin above Smax",
            owned(&[
                "simulate-field",
                "--smin",
                "2",
                "--smax",
                "1",
                "--out",
                &out,
            ]),
            1,
            "--smax",
        ),
        case(
            "simulate-field with an FRI fraction of 1.5",
            owned(&["simulate-field", "--fri-fraction", "1.5", "--out", &out]),
            1,
            "--fri-fraction",
        ),
        case(
            "simulate-field from a VAE with --fri-fraction",
            owned(&[
                "simulate-field",
                "--checkpoint",
                &c,
                "--fri-fraction",
                "0.5",
                "--out",
                &out,
            ]),
            1,
            "--fri-fraction",
        ),
        case(
            "simulate-field with a beam finer than the stamps'",
            owned(&["simulate-field", "--beam", "3", "--out", &out]),
            1,
            "--beam",
        ),
        case(
            "64x64 PNG stamps, a model of 100x100 input (evaluate)",
            owned(&[
                "evaluate",
                "--checkpoint",
                &c,
                "--data",
                &spec("png", "png-64"),
                "--split",
                "train",
            ]),
            1,
            "is 64x64, smaller than the 100x100 input",
        ),
        case(
            "64x64 PNG stamps, a model of 100x100 input (reconstruct)",
            owned(&[
                "reconstruct",
                "--checkpoint",
                &c,
                "--data",
                &spec("png", "png-64"),
                "--out",
                &s("rec.png"),
            ]),
            1,
            "is 64x64, smaller than the 100x100 input",
        ),
        case(
            "64x64 PNG stamps, a model of 100x100 input (latents)",
            owned(&[
                "latents",
                "--checkpoint",
                &c,
                "--data",
                &spec("png", "png-64"),
                "--split",
                "train",
            ]),
            1,
            "is 64x64, smaller than the 100x100 input",
        ),
        case(
            "64x64 PNG stamps, a model of 100x100 input (evolution)",
            owned(&[
                "evolution",
                "--run",
                &s("vae"),
                "--data",
                &spec("png", "png-64"),
                "--out",
                &s("evo.png"),
            ]),
            1,
            "is 64x64, smaller than the 100x100 input",
        ),
        case(
            "FRDEEP-F folder whose test_batch holds 64x64 arrays (train)",
            train(&spec("frdeep-f", "test64"), &[]),
            1,
            "test_batch",
        ),
        case(
            "an empty test/ folder (evaluate)",
            owned(&[
                "evaluate",
                "--checkpoint",
                &c,
                "--data",
                &spec("png", "png-emptytest"),
            ]),
            1,
            "the test split holds no images",
        ),
        case(
            "grid with one image for RAMIS",
            owned(&[
                "grid",
                "--classifier",
                &s("no-such.safetensors"),
                "--data",
                "synthetic:4",
                "--csv",
                &s("grid.csv"),
                "--n",
                "1",
                &s("vae"),
            ]),
            1,
            "--n needs at least 2 images",
        ),
        case(
            "grid with a missing classifier",
            owned(&[
                "grid",
                "--classifier",
                &s("no-such.safetensors"),
                "--data",
                "synthetic:4",
                "--csv",
                &s("grid.csv"),
                &s("vae"),
            ]),
            1,
            "no-such.safetensors",
        ),
        case(
            "an empty test/ folder (latents)",
            owned(&[
                "latents",
                "--checkpoint",
                &c,
                "--data",
                &spec("png", "png-emptytest"),
            ]),
            1,
            "the test split holds no images",
        ),
        case(
            "generate --sampling uniform:-inf,inf",
            owned(&[
                "generate",
                "--checkpoint",
                &c,
                "--sampling",
                "uniform:-inf,inf",
                "--out",
                &out,
            ]),
            1,
            "--sampling",
        ),
        case(
            "generate --sampling uniform:-1e308,1e308 (its width overflows)",
            owned(&[
                "generate",
                "--checkpoint",
                &c,
                "--sampling",
                "uniform:-1e308,1e308",
                "--out",
                &out,
            ]),
            1,
            "--sampling",
        ),
        case(
            "pairs --sampling uniform:-inf,inf",
            owned(&[
                "pairs",
                "--checkpoint",
                &s("cvae/checkpoint.safetensors"),
                "--sampling",
                "uniform:-inf,inf",
                "--out",
                &out,
            ]),
            1,
            "--sampling",
        ),
        case(
            "select --sampling uniform:-inf,inf",
            owned(&[
                "select",
                "--classifier",
                &s("classifier.safetensors"),
                "--sampling",
                "uniform:-inf,inf",
                &s("vae"),
            ]),
            1,
            "--sampling",
        ),
        case(
            "simulate-field --sampling uniform:-inf,inf",
            owned(&[
                "simulate-field",
                "--checkpoint",
                &c,
                "--sampling",
                "uniform:-inf,inf",
                "--out",
                &out,
            ]),
            1,
            "--sampling",
        ),
        case(
            "train --ramis-sampling uniform:-inf,inf",
            train(
                "synthetic:4",
                &[
                    "--classifier",
                    &s("classifier.safetensors"),
                    "--ramis-sampling",
                    "uniform:-inf,inf",
                ],
            ),
            1,
            "--ramis-sampling",
        ),
        case(
            "generate --n 18446744073709551615",
            owned(&[
                "generate",
                "--checkpoint",
                &c,
                "--n",
                "18446744073709551615",
                "--out",
                &out,
            ]),
            1,
            "generate --n 18446744073709551615",
        ),
        case(
            "generate --n 100000000000",
            owned(&[
                "generate",
                "--checkpoint",
                &c,
                "--n",
                "100000000000",
                "--out",
                &out,
            ]),
            1,
            "generate --n 100000000000",
        ),
        case(
            "pairs --n 1000000 (its figure alone needs terabytes)",
            owned(&[
                "pairs",
                "--checkpoint",
                &s("cvae/checkpoint.safetensors"),
                "--n",
                "1000000",
                "--out",
                &out,
            ]),
            1,
            "pairs --n 1000000",
        ),
        case(
            "lr-search --step 0",
            {
                let mut v = train("synthetic:4", &[]);
                v[0] = "lr-search".into();
                v.extend(owned(&["--step", "0"]));
                v
            },
            1,
            "--step",
        ),
        case(
            "classifier train --dropout 1",
            owned(&[
                "classifier",
                "train",
                "--data",
                "synthetic:4",
                "--epochs",
                "1",
                "--dropout",
                "1",
                "--out",
                &out,
            ]),
            1,
            "--dropout",
        ),
        case(
            "classifier train --dropout -0.5",
            owned(&[
                "classifier",
                "train",
                "--data",
                "synthetic:4",
                "--epochs",
                "1",
                "--dropout",
                "-0.5",
                "--out",
                &out,
            ]),
            1,
            "--dropout",
        ),
        case(
            "an empty test/ folder (classifier train)",
            owned(&[
                "classifier",
                "train",
                "--data",
                &spec("png", "png-emptytest"),
                "--epochs",
                "1",
                "--out",
                &out,
            ]),
            1,
            "the test split holds no images",
        ),
        case(
            "a checkpoint with a NaN decoder bias",
            owned(&[
                "generate",
                "--checkpoint",
                &s("nan.safetensors"),
                "--out",
                &out,
            ]),
            1,
            "nan.safetensors",
        ),
        case(
            "a classifier with a NaN bias",
            owned(&[
                "ramis",
                "--classifier",
                &s("nanclf.safetensors"),
                "--data",
                "synthetic:4",
            ]),
            1,
            "nanclf.safetensors",
        ),
    ];
    // Fresh outputs: none of the cases may create these.
    assert!(!Path::new(&out).exists());
    let nobody = is_root().then(unprivileged_binary);
    let mut rows = vec![];
    for k in cases.iter_mut() {
        let before = snapshot(&t);
        let (code, err) = run(&k.args, nobody.as_deref().filter(|_| k.unprivileged));
        let shown = format!("lobes {}", k.args.join(" "));
        assert_ne!(code, Some(101), "{}: panicked: {shown}\n{err}", k.what);
        assert_eq!(code, Some(k.code), "{}: {shown}\n{err}", k.what);
        let first = err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_else(|| panic!("{}: no message: {shown}", k.what));
        assert!(
            first.starts_with("error: ") && first.contains(k.needle),
            "{}: {first:?} lacks {:?}\n{err}",
            k.what,
            k.needle
        );
        assert!(!err.contains("panicked"), "{}: {err}", k.what);
        let after = snapshot(&t);
        assert!(
            before == after,
            "{}: left output behind: {:?}",
            k.what,
            after
                .iter()
                .filter(|(p, v)| before.get(*p) != Some(v))
                .map(|(p, _)| p)
                .chain(before.keys().filter(|p| !after.contains_key(*p)))
                .collect::<Vec<_>>()
        );
        rows.push(format!(
            "| {} | `{}` | {} | {} |",
            cell(k.what, &t),
            cell(&shown, &t),
            code.unwrap(),
            cell(first.trim_start_matches("error: "), &t)
        ));
    }
    assert!(rows.len() >= 25);
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::remove_dir_all(&t).unwrap();
    if let Some(bin) = &nobody {
        std::fs::remove_dir_all(bin.parent().unwrap()).unwrap();
    }

    let table = format!(
        "{START}\n\
         | case | command | exit | first line of the message |\n\
         | --- | --- | --- | --- |\n\
         {}\n\
         {END}",
        rows.join("\n")
    );
    let doc_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/reliability.md");
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    let (a, b) = (doc.find(START), doc.find(END));
    let (Some(a), Some(b)) = (a, b) else {
        panic!("docs/reliability.md lacks the markers {START} and {END}");
    };
    let current = &doc[a..b + END.len()];
    if std::env::var("LOBES_WRITE_DOCS").is_ok_and(|v| v == "1") {
        let new = format!("{}{table}{}", &doc[..a], &doc[b + END.len()..]);
        std::fs::write(&doc_path, new).unwrap();
        eprintln!("wrote {} rows into {}", rows.len(), doc_path.display());
    } else {
        assert!(
            current == table,
            "docs/reliability.md's bad-input table is stale: run \
             LOBES_WRITE_DOCS=1 cargo test --test bad_input_table and commit it.\n\
             committed:\n{current}\nnow:\n{table}"
        );
    }
}
