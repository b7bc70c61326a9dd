//! FRI/FRII pairs from one latent point with the brightness profile along the source's
//! principal axis (§6.5, Figure 11).

use crate::data::augment::bilinear;
use crate::data::{Class, Image};
use crate::error::ModelError;
use crate::generate::{Generator, Sampling};

/// Intensity-weighted centroid `(y, x)` and the unit direction `(dy, dx)` of the major axis of
/// the second moments: the source's principal axis. `None` for a blank image.
pub fn principal_axis(img: &Image) -> Option<((f64, f64), (f64, f64))> {
    let n = img.size;
    let (mut s, mut sy, mut sx) = (0.0, 0.0, 0.0);
    for y in 0..n {
        for x in 0..n {
            let v = img.at(y, x) as f64;
            s += v;
            sy += v * y as f64;
            sx += v * x as f64;
        }
    }
    if s <= 0.0 {
        return None;
    }
    let (cy, cx) = (sy / s, sx / s);
    let (mut yy, mut xx, mut xy) = (0.0, 0.0, 0.0);
    for y in 0..n {
        for x in 0..n {
            let v = img.at(y, x) as f64;
            let (dy, dx) = (y as f64 - cy, x as f64 - cx);
            yy += v * dy * dy;
            xx += v * dx * dx;
            xy += v * dx * dy;
        }
    }
    // Orientation of the major axis of [[xx, xy], [xy, yy]].
    let theta = 0.5 * (2.0 * xy).atan2(xx - yy);
    Some(((cy, cx), (theta.sin(), theta.cos())))
}

/// Brightness along the line through `centre` in direction `dir`, one sample per pixel from
/// `-half` to `+half` (bilinear): `(offset, value)`.
pub fn profile(img: &Image, centre: (f64, f64), dir: (f64, f64), half: usize) -> Vec<(f64, f64)> {
    let h = half as isize;
    (-h..=h)
        .map(|t| {
            let t = t as f64;
            let v = bilinear(img, centre.0 + t * dir.0, centre.1 + t * dir.1);
            (t, f64::from(v))
        })
        .collect()
}

/// An FRI/FRII pair from one latent point with both brightness profiles along the common
/// principal axis (that of the two images' sum).
#[derive(Clone, Debug)]
pub struct Pair {
    /// Decoded as FRI.
    pub fri: Image,
    /// Decoded as FRII.
    pub frii: Image,
    /// `(offset, FRI brightness, FRII brightness)`.
    pub profile: Vec<(f64, f64, f64)>,
}

/// Builds a [`Pair`] from the two decodings of one latent point.
pub fn pair(fri: Image, frii: Image) -> Pair {
    let sum = Image::new(
        fri.size,
        fri.pixels
            .iter()
            .zip(&frii.pixels)
            .map(|(a, b)| a + b)
            .collect(),
    );
    let c = (fri.size as f64 - 1.0) / 2.0;
    let (centre, dir) = principal_axis(&sum).unwrap_or(((c, c), (0.0, 1.0)));
    let half = fri.size / 2;
    let a = profile(&fri, centre, dir, half);
    let b = profile(&frii, centre, dir, half);
    Pair {
        profile: a.iter().zip(&b).map(|(p, q)| (p.0, p.1, q.1)).collect(),
        fri,
        frii,
    }
}

/// Bytes of `pairs.png` per pair ([`crate::figures::pairs_figure`]: a 1244 x 308 RGB strip),
/// twice over (the drawing and its encoding).
const FIGURE_BYTES_PER_PAIR: u128 = 2 * 1244 * 308 * 3;

/// Refuses `n` pairs of images of `pixels` when they and their figure would not fit in memory
/// ([`crate::memory`]), naming `pairs --n N`: the figure draws every pair, so they cannot be
/// streamed.
pub fn check_memory(n: usize, pixels: usize) -> Result<(), ModelError> {
    // Both decodings of each point, held about four times over while decoding, and its
    // profile.
    let images = 2 * 4 * 4 * pixels as u128 + 64 * 1024;
    crate::memory::check(
        &format!("pairs --n {n} (the figure and the images of every pair)"),
        crate::memory::total(n, images + FIGURE_BYTES_PER_PAIR, 0),
    )
}

/// `n` pairs from a CVAE: `n` latent points drawn as `sampling` says, each decoded as FRI and
/// as FRII.
pub fn decode_pairs(
    g: &mut Generator,
    n: usize,
    sampling: Sampling,
    seed: u64,
) -> Result<Vec<Pair>, ModelError> {
    let z = g.latents(n, sampling, seed)?;
    let fri = g.decode(&z, &vec![Class::FRI; n])?;
    let frii = g.decode(&z, &vec![Class::FRII; n])?;
    Ok(fri.into_iter().zip(frii).map(|(a, b)| pair(a, b)).collect())
}

/// The profiles of `pairs` as CSV: `pair,offset,FRI,FRII`.
pub fn profiles_csv(pairs: &[Pair]) -> String {
    let mut csv = String::from("pair,offset,FRI,FRII\n");
    for (k, p) in pairs.iter().enumerate() {
        for (t, a, b) in &p.profile {
            csv.push_str(&format!("{k},{t},{a:.6},{b:.6}\n"));
        }
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(size: usize, v: f32) -> Image {
        Image::new(size, vec![v; size * size])
    }

    #[test]
    fn the_principal_axis_follows_a_diagonal_source() {
        let mut img = flat(21, 0.0);
        for i in 3..18 {
            img.pixels[i * 21 + i] = 1.0;
        }
        let ((cy, cx), (dy, dx)) = principal_axis(&img).unwrap();
        assert!((cy - 10.0).abs() < 1e-9 && (cx - 10.0).abs() < 1e-9);
        assert!((dy.abs() - dx.abs()).abs() < 1e-9, "45 degrees: {dy} {dx}");
        let p = profile(&img, (cy, cx), (dy, dx), 10);
        let on_axis = p.iter().find(|(t, _)| *t == 0.0).unwrap().1;
        assert!((on_axis - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_hundred_thousand_pairs_are_refused_under_a_memory_limit() {
        let limit = crate::memory::Available {
            bytes: 4 << 30,
            source: "a 4 GiB limit".into(),
        };
        let need = |n: usize| {
            crate::memory::total(n, 2 * 4 * 4 * 10_000 + 64 * 1024 + FIGURE_BYTES_PER_PAIR, 0)
        };
        assert!(crate::memory::check_against("pairs --n 4", need(4), &limit).is_ok());
        let e = crate::memory::check_against("pairs --n 100000", need(100_000), &limit)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("pairs --n 100000") && e.contains("268 GB"),
            "{e}"
        );
        // On any machine: a million pairs need terabytes.
        assert!(check_memory(1_000_000, 10_000).is_err());
        assert!(check_memory(4, 10_000).is_ok());
    }

    #[test]
    fn profiles_csv_has_a_row_per_offset_of_each_pair() {
        let p = pair(flat(3, 0.5), flat(3, 0.25));
        let csv = profiles_csv(&[p.clone(), p]);
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(rows[0], "pair,offset,FRI,FRII");
        assert_eq!(rows.len(), 1 + 2 * 3);
        assert!(rows[1].starts_with("0,-1,0.500000,0.250000"), "{}", rows[1]);
        assert!(rows[6].starts_with("1,1,"), "{}", rows[6]);
    }
}
