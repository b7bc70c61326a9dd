//! A table of bad inputs: each is a clear error naming the file, never a panic.

#[path = "support/mod.rs"]
mod common;

use lobes_models::data::fits::{self, Wcs};
use lobes_models::data::{DataError, Image, frdeep, png, prepare, writers};
use std::path::{Path, PathBuf};

/// A CIFAR-style batch pickle built opcode by opcode, as numpy writes it.
fn batch_pickle(labels: &[i64], arrays: &[(Vec<usize>, Vec<u8>)]) -> Vec<u8> {
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
    for (shape, data) in arrays {
        p.extend(b"cnumpy.core.multiarray\n_reconstruct\n");
        p.extend(b"cnumpy\nndarray\n");
        p.extend([b'K', 0, 0x85, b'C', 1, b'b', 0x87, b'R']);
        p.extend([b'(', b'K', 1, b'(']);
        for &d in shape {
            p.push(b'J');
            p.extend((d as i32).to_le_bytes());
        }
        p.push(b't');
        p.extend(b"cnumpy\ndtype\n");
        unicode(&mut p, "u1");
        p.extend([0x89, 0x88, 0x87, b'R', 0x89, b'B']);
        p.extend((data.len() as u32).to_le_bytes());
        p.extend(data);
        p.extend([b't', b'b']);
    }
    p.push(b'e');
    p.extend([b'u', b'.']);
    p
}

/// What the case is, the file, how to load it, and a phrase the error must contain.
type Case = (
    &'static str,
    PathBuf,
    Box<dyn Fn(&Path) -> Result<(), DataError>>,
    &'static str,
);

fn image(n: usize) -> (Vec<usize>, Vec<u8>) {
    (vec![n], vec![7u8; n])
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn fits_with(dir: &Path, name: &str, img: &Image, patch: impl Fn(&mut Vec<u8>)) -> PathBuf {
    let mut b = fits::encode(img, &Wcs::default(), "JY/BEAM");
    patch(&mut b);
    write(dir, name, &b)
}

fn set_card(b: &mut [u8], key: &str, value: &str) {
    let i = (0..36)
        .find(|i| b[i * 80..i * 80 + 8].starts_with(key.as_bytes()))
        .expect("card");
    let card = format!("{key:<8}= {value:>20}");
    b[i * 80..i * 80 + 30].copy_from_slice(card.as_bytes());
}

#[test]
fn every_bad_input_is_a_clear_error_naming_the_file() {
    let dir = common::tmp("bad");
    let good = batch_pickle(&[0, 1], &[image(22500), image(22500)]);
    // Sanity: the hand-built pickle itself loads.
    let ok = frdeep::load_batch(&write(&dir, "good_batch", &good)).unwrap();
    assert_eq!(ok.len(), 2);

    let sky = Image::new(16, vec![0.5; 256]);
    let mut cases: Vec<Case> = vec![];
    let batch = |p: &Path| frdeep::load_batch(p).map(|_| ());
    let fitsfile = |p: &Path| prepare::prepare_file(p, 8).map(|_| ());

    cases.push((
        "truncated pickle",
        write(&dir, "truncated", &good[..good.len() / 2]),
        Box::new(batch),
        "truncated",
    ));
    cases.push((
        "wrong magic",
        write(&dir, "not_a_pickle", b"\x89PNG\r\n\x1a\n...."),
        Box::new(batch),
        "not allowed",
    ));
    cases.push((
        "protocol 5",
        write(&dir, "proto5", &[&[0x80u8, 5][..], &good[2..]].concat()),
        Box::new(batch),
        "protocol 5",
    ));
    let mut exec = vec![0x80, 3];
    exec.extend(b"cos\nsystem\n");
    cases.push((
        "code execution",
        write(&dir, "evil", &exec),
        Box::new(batch),
        "'os.system' is not allowed",
    ));
    let mut bad_op = good.clone();
    bad_op[2] = b'i'; // INST: builds arbitrary objects
    cases.push((
        "opcode outside the set",
        write(&dir, "inst", &bad_op),
        Box::new(batch),
        "opcode 0x69",
    ));
    cases.push((
        "array of the wrong length",
        write(&dir, "short_image", &batch_pickle(&[0], &[image(22499)])),
        Box::new(batch),
        "22499",
    ));
    cases.push((
        "a 99x100 image",
        write(
            &dir,
            "rect_image",
            &batch_pickle(&[0], &[(vec![99, 100], vec![1; 9900])]),
        ),
        Box::new(batch),
        "shape [99, 100]",
    ));
    let mismatch = batch_pickle(&[0], &[(vec![22400], vec![7; 22500])]); // shape says 22400 bytes
    cases.push((
        "shape vs bytes",
        write(&dir, "shape_mismatch", &mismatch),
        Box::new(batch),
        "needs 22400 bytes",
    ));
    cases.push((
        "a label of 7",
        write(
            &dir,
            "label7",
            &batch_pickle(&[0, 7], &[image(22500), image(22500)]),
        ),
        Box::new(batch),
        "label 7 at position 1",
    ));
    cases.push((
        "empty batch",
        write(&dir, "empty", &batch_pickle(&[], &[])),
        Box::new(batch),
        "empty batch",
    ));
    cases.push((
        "labels vs images",
        write(&dir, "counts", &batch_pickle(&[0, 1], &[image(22500)])),
        Box::new(batch),
        "2 labels for 1 images",
    ));
    cases.push((
        "missing file",
        dir.join("no_such_batch"),
        Box::new(batch),
        "No such file",
    ));
    cases.push((
        "FITS with a wrong BITPIX",
        fits_with(&dir, "100_000.000+000.000_0.1_0010.00.fits", &sky, |b| {
            set_card(b, "BITPIX", "12")
        }),
        Box::new(fitsfile),
        "BITPIX",
    ));
    cases.push((
        "FITS header cut short",
        fits_with(&dir, "100_001.000+000.000_0.1_0010.00.fits", &sky, |b| {
            b.truncate(1200)
        }),
        Box::new(fitsfile),
        "not a FITS file",
    ));
    cases.push((
        "FITS data cut short",
        fits_with(&dir, "100_002.000+000.000_0.1_0010.00.fits", &sky, |b| {
            b.truncate(2880 + 100)
        }),
        Box::new(fitsfile),
        "cut short",
    ));
    cases.push((
        "NaN-only image",
        fits_with(
            &dir,
            "100_003.000+000.000_0.1_0010.00.fits",
            &Image::new(16, vec![f32::NAN; 256]),
            |_| {},
        ),
        Box::new(fitsfile),
        "every pixel is NaN",
    ));
    cases.push((
        "hybrid class code",
        fits_with(&dir, "300_004.000+000.000_0.1_0010.00.fits", &sky, |_| {}),
        Box::new(fitsfile),
        "hybrid",
    ));
    cases.push((
        "FITS file name without a class code",
        fits_with(&dir, "galaxy.fits", &sky, |_| {}),
        Box::new(fitsfile),
        "class code",
    ));
    let pngdir = dir.join("pngs");
    std::fs::create_dir_all(&pngdir).unwrap();
    writers::write_png(&pngdir.join("mystery.png"), &sky).unwrap();
    cases.push((
        "PNG without a class",
        pngdir.join("mystery.png"),
        Box::new(move |_: &Path| png::load_dir(&dir.join("pngs")).map(|_| ())),
        "cannot tell the class",
    ));

    assert!(cases.len() >= 12);
    for (what, path, load, needle) in &cases {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load(path)));
        let err = match r {
            Ok(Err(e)) => e.to_string(),
            Ok(Ok(())) => panic!("{what}: accepted"),
            Err(_) => panic!("{what}: panicked"),
        };
        let fname = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            err.contains(&fname),
            "{what}: error does not name the file: {err}"
        );
        assert!(
            err.contains(needle),
            "{what}: error does not say '{needle}': {err}"
        );
    }
}

#[test]
fn mirabest_style_batches_with_2d_arrays_load() {
    let dir = common::tmp("mirabest");
    let arrays: Vec<_> = (0..88)
        .map(|i| (vec![150, 150], vec![(i % 3) as u8 * 100; 22500]))
        .collect();
    let labels: Vec<i64> = (0..88).map(|i| (i % 2) as i64).collect();
    std::fs::write(dir.join("data_batch_1"), batch_pickle(&labels, &arrays)).unwrap();
    std::fs::write(
        dir.join("test_batch"),
        batch_pickle(&labels[..10], &arrays[..10]),
    )
    .unwrap();
    let ds = frdeep::load_dir(&dir).unwrap();
    assert_eq!((ds.train.len(), ds.test.len()), (88, 10));
    assert_eq!(ds.train[1].image.size, 150);
    assert_eq!(ds.train[1].image.to_u8()[0], 100);
    assert_eq!(ds.train[1].label, lobes_models::data::Class::FRII);
}
