//! FRI/FRII pairs from one latent point with the brightness profile along the source's
//! principal axis (§6.5, Figure 11).

use crate::data::Image;
use crate::data::augment::bilinear;

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
}
