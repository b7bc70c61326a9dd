//! Data pipeline: FITS preparation, augmentation, the synthetic population, writers, fetch.

#[path = "support/mod.rs"]
mod common;

use lobes_models::data::augment::{Augmented, Interp, paper_view, reflect, rotate};
use lobes_models::data::fits::{self, Wcs};
use lobes_models::data::synthetic::Synthetic;
use lobes_models::data::{Class, Image, fetch, frdeep, png, prepare, writers};
use std::io::{Read, Write};

#[test]
fn prepare_the_42_first_cutouts() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let (samples, skipped) = prepare::prepare_dir(&data.join("fits-cutouts"), 150).unwrap();
    // Two cut-outs are hybrids (class code 3): neither FRI nor FRII, so skipped and reported.
    assert_eq!((samples.len(), skipped.len()), (40, 2), "{skipped:?}");
    assert!(
        skipped
            .iter()
            .all(|s| s.starts_with("300_") && s.contains("hybrid"))
    );
    let mut zeros = 0usize;
    for s in &samples {
        assert_eq!(s.image.size, 150);
        assert!(s.image.pixels.iter().all(|&v| (0.0..=1.0).contains(&v)));
        // Min-max runs over the whole 300x300 cut-out before the crop (the recipe's order),
        // so a brighter neighbour outside the crop can leave the stamp's peak below 1.
        assert!(
            s.image.pixels.iter().cloned().fold(0.0, f32::max) > 0.0,
            "{}",
            s.name
        );
        zeros += s.image.pixels.iter().filter(|&&v| v == 0.0).count();
        let want = if s.name.starts_with('1') {
            Class::FRI
        } else {
            Class::FRII
        };
        assert_eq!(s.label, want, "{}", s.name);
        assert_eq!(s.meta["code"], &s.name[..3]);
    }
    let frac = zeros as f64 / (samples.len() * 150 * 150) as f64;
    assert!((0.95..0.995).contains(&frac), "zero fraction {frac}");
    let uncertain = samples
        .iter()
        .filter(|s| s.meta["confidence"] == "uncertain")
        .count();
    assert_eq!(
        uncertain,
        samples
            .iter()
            .filter(|s| s.name.as_bytes()[1] == b'1')
            .count()
    );
}

fn blob(n: usize, cy: f64, cx: f64, sigma: f64) -> Image {
    let mut px = vec![0.0; n * n];
    for y in 0..n {
        for x in 0..n {
            let d2 = (y as f64 - cy).powi(2) + (x as f64 - cx).powi(2);
            px[y * n + x] = (-d2 / (2.0 * sigma * sigma)).exp() as f32;
        }
    }
    Image::new(n, px)
}

#[test]
fn rotations_by_90_degrees_are_exact_and_bilinear_preserves_flux() {
    let img = Image::new(4, (0..16).map(|v| v as f32 / 15.0).collect());
    let r90 = rotate(&img, 90.0, Interp::Bilinear);
    // Counter-clockwise: the top row becomes the left column, read bottom-up.
    assert_eq!(r90.at(3, 0), img.at(0, 0));
    assert_eq!(r90.at(0, 0), img.at(0, 3));
    let mut back = img.clone();
    for _ in 0..4 {
        back = rotate(&back, 90.0, Interp::Nearest);
    }
    assert_eq!(back, img);
    assert_eq!(
        rotate(&img, 180.0, Interp::Bilinear),
        rotate(&r90, 90.0, Interp::Bilinear)
    );
    assert_eq!(
        rotate(&img, -90.0, Interp::Bilinear),
        rotate(&img, 270.0, Interp::Nearest)
    );
    // A centred source keeps its flux within 1% under bilinear rotation.
    let src = blob(64, 31.5, 31.5 + 8.0, 4.0);
    let flux: f64 = src.pixels.iter().map(|&v| v as f64).sum();
    for deg in [1.0, 17.0, 45.0, 133.0, 271.5] {
        let r: f64 = rotate(&src, deg, Interp::Bilinear)
            .pixels
            .iter()
            .map(|&v| v as f64)
            .sum();
        assert!((r / flux - 1.0).abs() < 0.01, "{deg}°: flux {r} vs {flux}");
    }
}

#[test]
fn the_augmented_stream_keeps_images_and_labels_paired() {
    // Images whose single bright pixel encodes their class: FRI left half, FRII right half.
    let samples: Vec<_> = (0..10)
        .map(|i| {
            let class = if i % 3 == 0 { Class::FRII } else { Class::FRI };
            let cx = if class == Class::FRII { 90.0 } else { 60.0 };
            lobes_models::data::Sample {
                image: blob(150, 74.5, cx, 3.0),
                label: class,
                name: format!("s{i}"),
                meta: Default::default(),
            }
        })
        .collect();
    let mut aug = Augmented::new(&samples, 30.0, 100, Interp::Bilinear, 7);
    assert_eq!(aug.len(), 10 * 12);
    let mut seen = 0;
    for b in aug.epoch(16) {
        for (k, ((&label, &src), &angle)) in
            b.labels.iter().zip(&b.sources).zip(&b.angles).enumerate()
        {
            assert_eq!(label, samples[src].label);
            let img = &b.pixels[k * 10000..(k + 1) * 10000];
            // The blob sits at radius 14.5 (FRI) or 15.5 (FRII) px from the centre, rotated by `angle`.
            let (mut sy, mut sx, mut w) = (0.0, 0.0, 0.0);
            for (i, &v) in img.iter().enumerate() {
                sy += (i / 100) as f64 * v as f64;
                sx += (i % 100) as f64 * v as f64;
                w += v as f64;
            }
            let (dy, dx) = (sy / w - 49.5, sx / w - 49.5);
            let want = if label == Class::FRII { 15.5 } else { 14.5 };
            assert!(
                ((dy * dy + dx * dx).sqrt() - want).abs() < 0.6,
                "angle {angle}"
            );
            let phase = (-dy).atan2(dx).to_degrees().rem_euclid(360.0);
            let want_phase = if label == Class::FRII {
                angle
            } else {
                (angle + 180.0) % 360.0
            };
            let diff = (phase - want_phase).rem_euclid(360.0);
            assert!(
                diff.min(360.0 - diff) < 3.0,
                "phase {phase} vs {want_phase}"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 120);
}

#[test]
fn synthetic_frii_sources_are_edge_brightened() {
    let g = Synthetic::default();
    let ds = g.dataset(150, 0, 11);
    let ratio = |img: &Image| {
        let n = img.size;
        let c = (n as f64 - 1.0) / 2.0;
        let dist = |i: usize| (((i / n) as f64 - c).powi(2) + ((i % n) as f64 - c).powi(2)).sqrt();
        let core = (0..n * n)
            .filter(|&i| dist(i) <= 3.5)
            .map(|i| img.pixels[i])
            .fold(0.0, f32::max);
        let extent = (0..n * n)
            .filter(|&i| img.pixels[i] > 0.05)
            .map(dist)
            .fold(0.0, f64::max);
        let end = (0..n * n)
            .filter(|&i| dist(i) >= 0.7 * extent)
            .map(|i| img.pixels[i])
            .fold(0.0, f32::max);
        end as f64 / (core as f64).max(1e-3)
    };
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let fri = median(
        ds.train
            .iter()
            .filter(|s| s.label == Class::FRI)
            .map(|s| ratio(&s.image))
            .collect(),
    );
    let frii = median(
        ds.train
            .iter()
            .filter(|s| s.label == Class::FRII)
            .map(|s| ratio(&s.image))
            .collect(),
    );
    assert!(frii > 3.0 * fri, "lobe-end/core: FRII {frii} vs FRI {fri}");
    // Like FRDEEP: mostly zero pixels, values in [0, 1] on an 8-bit grid, peak 1.
    let s = &ds.train[0].image;
    let zeros = s.pixels.iter().filter(|&&v| v == 0.0).count() as f64 / s.pixels.len() as f64;
    assert!(zeros > 0.8, "{zeros}");
    assert!(
        s.pixels
            .iter()
            .all(|&v| (v * 255.0 - (v * 255.0).round()).abs() < 1e-3)
    );
    // Deterministic for a seed.
    assert_eq!(
        g.dataset(2, 1, 11).train[3].image,
        g.dataset(2, 1, 11).train[3].image
    );
    assert_ne!(
        g.dataset(2, 1, 11).train[3].image,
        g.dataset(2, 1, 12).train[3].image
    );
}

#[test]
fn writers_round_trip() {
    let dir = common::tmp("writers");
    let img = Image::new(8, (0..64).map(|v| (v % 7) as f32 / 6.0).collect());
    let f = dir.join("stamp.fits");
    writers::write_fits(
        &f,
        &img,
        &Wcs {
            ra: 150.0,
            dec: 2.2,
            pixel_deg: 0.0005,
            ..Wcs::default()
        },
        "normalised",
    )
    .unwrap();
    let back = fits::read(&f).unwrap();
    assert_eq!((back.width, back.height, back.bitpix), (8, 8, -32));
    assert_eq!(fits::flip_rows(&back), img.pixels);
    let header = String::from_utf8_lossy(&std::fs::read(&f).unwrap()[..2880]).into_owned();
    for key in [
        "CTYPE1  = 'RA---TAN'",
        "CRVAL1",
        "CRPIX1",
        "CDELT1",
        "BUNIT   = 'normalised'",
        "CRPIX1  =                  4.5",
        "CDELT1  =              -0.0005",
        "BMAJ    =               0.0015",
        "RADESYS = 'FK5     '",
    ] {
        assert!(header.contains(key), "{key} missing");
    }
    std::fs::create_dir_all(dir.join("pngs/FRII")).unwrap();
    writers::write_png(&dir.join("pngs/FRII/a.png"), &img).unwrap();
    let ds = png::load_dir(&dir.join("pngs")).unwrap();
    assert_eq!(ds.train.len(), 1);
    assert_eq!(ds.train[0].label, Class::FRII);
    assert_eq!(ds.train[0].image.to_u8(), img.to_u8());
    writers::write_grid(
        &dir.join("grid.png"),
        &[img.clone(), img.clone(), img.clone()],
        2,
    )
    .unwrap();
    let g = image::open(dir.join("grid.png")).unwrap();
    assert_eq!((g.width(), g.height()), (18, 18));
    let s = &ds.train[0];
    writers::write_labels_csv(
        &dir.join("labels.csv"),
        &[("a.png".into(), "train".into(), s)],
    )
    .unwrap();
    let csv = std::fs::read_to_string(dir.join("labels.csv")).unwrap();
    assert_eq!(
        csv,
        "file,split,label,class,name\na.png,train,1,FRII,a.png\n"
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert!(
        left.iter().all(|n| !n.to_string_lossy().contains(".tmp")),
        "{left:?}"
    );
}

/// Serves `files` on 127.0.0.1 for `requests` requests; returns the base URL.
fn serve(files: Vec<(String, Vec<u8>)>, requests: usize) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut s = stream.unwrap();
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).into_owned();
            let path = req
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/')
                .to_string();
            match files.iter().find(|(name, _)| *name == path) {
                Some((_, body)) => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = s.write_all(head.as_bytes());
                    let _ = s.write_all(body);
                }
                None => {
                    let _ = s.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                }
            }
        }
    });
    format!("http://{addr}")
}

#[test]
fn fetch_verifies_and_unpacks_and_a_corrupted_download_leaves_nothing() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let a = fetch::archive("frdeep-f").unwrap();
    let good = std::fs::read(data.join("archives").join(a.file)).unwrap();
    let mut bad = good.clone();
    bad[1000] ^= 0xff;

    let dir = common::tmp("fetch-ok");
    let url = serve(vec![(a.file.to_string(), good)], 1);
    let got = fetch::fetch(&a, &dir, Some(&url)).unwrap();
    let ds = frdeep::load_dir(&got).unwrap();
    assert_eq!((ds.train.len(), ds.test.len()), (550, 50));
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from(a.folder)]);

    let dir = common::tmp("fetch-bad");
    let url = serve(vec![(a.file.to_string(), bad)], 1);
    let e = fetch::fetch(&a, &dir, Some(&url)).unwrap_err().to_string();
    assert!(e.contains("MD5") && e.contains(a.file), "{e}");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "a failed download must leave nothing"
    );

    let url = serve(vec![], 1);
    let e = fetch::fetch(&a, &common::tmp("fetch-404"), Some(&url))
        .unwrap_err()
        .to_string();
    assert!(e.contains(a.file) && e.contains("404"), "{e}");
}

/// Reflections (a departure from the paper): `reflect` mirrors left to right and is its own
/// inverse, a mirror then a half turn is the up-down mirror, and a stream with reflections
/// mirrors about half its images, each exactly `crop(rotate(reflect(image)))`, in the same
/// order as the stream without them.
#[test]
fn the_augmented_stream_mirrors_half_its_images_when_asked() {
    let img = blob(150, 40.0, 30.0, 3.0);
    let m = reflect(&img);
    assert_eq!(m.at(40, 119), img.at(40, 30));
    assert_eq!(reflect(&m).pixels, img.pixels);
    let up_down = rotate(&m, 180.0, Interp::Bilinear);
    assert_eq!(up_down.at(150 - 1 - 40, 30), img.at(40, 30));

    let samples: Vec<_> = (0..20)
        .map(|i| lobes_models::data::Sample {
            image: blob(150, 60.0 + i as f64, 40.0, 3.0),
            label: if i % 2 == 0 { Class::FRI } else { Class::FRII },
            name: format!("s{i}"),
            meta: Default::default(),
        })
        .collect();
    let draw = |reflections| {
        let mut aug =
            Augmented::new(&samples, 90.0, 100, Interp::Bilinear, 11).with_reflections(reflections);
        aug.epoch(16).collect::<Vec<_>>()
    };
    let (plain, mirrored) = (draw(false), draw(true));
    let mut flipped = 0;
    for (p, b) in plain.iter().zip(&mirrored) {
        assert_eq!(
            (&p.sources, &p.angles),
            (&b.sources, &b.angles),
            "same order"
        );
        assert!(p.reflected.iter().all(|r| !r));
        for (k, &r) in b.reflected.iter().enumerate() {
            let s = &samples[b.sources[k]].image;
            let src = if r { reflect(s) } else { s.clone() };
            let want = paper_view(&rotate(&src, b.angles[k], Interp::Bilinear), 100);
            assert_eq!(&b.pixels[k * 10000..(k + 1) * 10000], &want.pixels[..]);
            flipped += usize::from(r);
        }
    }
    // 80 images, each mirrored with probability 1/2: 40 ± 4.5.
    assert!((25..=55).contains(&flipped), "{flipped} of 80 mirrored");
}
