//! One source on the field's pixel grid: its stamp rotated, scaled to the field's pixels and
//! placed at its sub-pixel position (one bilinear resampling), brought from the stamps' beam
//! to the field's, and scaled so that it integrates to its flux; with its catalogue
//! measurements (peak, size, position angle).

use super::population::Planned;
use crate::data::Image;
use crate::data::augment::bilinear;

/// Stamp pixels below this fraction of the stamp's peak are set to zero first: training stamps
/// are sigma-clipped (zero below 3σ, a few per cent of the peak), while a VAE's sigmoid never
/// gives exactly zero and its faint floor, summed over the stamp, would hold real flux.
pub const STAMP_FLOOR: f32 = 0.01;

/// Pixels at or above this fraction of the stamp's peak define the source's size and position
/// angle (the 10% contour).
pub const SHAPE_LEVEL: f32 = 0.1;

/// A rendered source: a rectangle of the field in Jy/beam.
#[derive(Clone, Debug, PartialEq)]
pub struct Patch {
    /// Field column of the patch's first pixel.
    pub x0: i64,
    /// Field row (from the bottom) of the patch's first row.
    pub y0: i64,
    /// Width.
    pub width: usize,
    /// Height.
    pub height: usize,
    /// Row-major, bottom row first like the field.
    pub pixels: Vec<f32>,
    /// Brightest pixel, Jy/beam.
    pub peak: f64,
    /// Field pixel `(x, y)` of the brightest pixel.
    pub peak_at: (i64, i64),
    /// Integrated flux, Jy (the planned flux; 0 for a blank stamp).
    pub flux: f64,
    /// Largest extent of the 10% contour, arcsec.
    pub size_arcsec: f64,
    /// Position angle of the major axis on the sky, degrees east of north, in [0, 180).
    pub pa_deg: f64,
}

/// How stamps map onto the field.
#[derive(Clone, Copy, Debug)]
pub struct Placement {
    /// Field pixel, arcsec.
    pub pixel_arcsec: f64,
    /// Stamp pixel on the sky, arcsec.
    pub stamp_pixel_arcsec: f64,
    /// Extra Gaussian σ (field pixels) from the stamps' beam to the field's.
    pub extra_sigma: f64,
    /// The field beam's area in pixels (Jy/beam per Jy of flux in a pixel).
    pub beam_pixels: f64,
}

/// Size (stamp pixels) and major-axis angle of the pixels at or above `SHAPE_LEVEL` of the
/// peak. The angle is in stamp coordinates (u right, v down), radians. The size is the largest
/// width of the set projected on 64 directions (within 0.1% of its diameter).
fn shape(img: &Image, peak: f32) -> (f64, f64) {
    let n = img.size;
    let c = (n as f64 - 1.0) / 2.0;
    let pts: Vec<(f64, f64, f64)> = (0..n * n)
        .filter(|&i| img.pixels[i] >= SHAPE_LEVEL * peak && img.pixels[i] > 0.0)
        .map(|i| ((i % n) as f64 - c, (i / n) as f64 - c, img.pixels[i] as f64))
        .collect();
    if pts.is_empty() {
        return (0.0, 0.0);
    }
    let mut size: f64 = 0.0;
    for k in 0..64 {
        let (s, co) = (k as f64 * std::f64::consts::PI / 64.0).sin_cos();
        let (lo, hi) = pts
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &(u, v, _)| {
                let p = u * co + v * s;
                (lo.min(p), hi.max(p))
            });
        size = size.max(hi - lo);
    }
    let wsum: f64 = pts.iter().map(|p| p.2).sum();
    let (mu, mv) = pts
        .iter()
        .fold((0.0, 0.0), |(a, b), &(u, v, w)| (a + u * w, b + v * w));
    let (mu, mv) = (mu / wsum, mv / wsum);
    let (mut suu, mut svv, mut suv) = (0.0, 0.0, 0.0);
    for &(u, v, w) in &pts {
        suu += w * (u - mu) * (u - mu);
        svv += w * (v - mv) * (v - mv);
        suv += w * (u - mu) * (v - mv);
    }
    (size, 0.5 * (2.0 * suv).atan2(suu - svv))
}

/// A 1-D Gaussian kernel of `sigma`, normalised, radius ⌈4σ⌉.
fn kernel(sigma: f64) -> Vec<f64> {
    let r = (4.0 * sigma).ceil() as i64;
    let k: Vec<f64> = (-r..=r)
        .map(|i| (-((i * i) as f64) / (2.0 * sigma * sigma)).exp())
        .collect();
    let s: f64 = k.iter().sum();
    k.into_iter().map(|v| v / s).collect()
}

/// Separable convolution of a `w` x `h` buffer with `k` (zero outside).
fn convolve(px: &mut [f64], w: usize, h: usize, k: &[f64]) {
    let r = (k.len() / 2) as i64;
    let mut tmp = vec![0.0; px.len()];
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for (j, kv) in k.iter().enumerate() {
                let xx = x as i64 + j as i64 - r;
                if xx >= 0 && (xx as usize) < w {
                    acc += kv * px[y * w + xx as usize];
                }
            }
            tmp[y * w + x] = acc;
        }
    }
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for (j, kv) in k.iter().enumerate() {
                let yy = y as i64 + j as i64 - r;
                if yy >= 0 && (yy as usize) < h {
                    acc += kv * tmp[yy as usize * w + x];
                }
            }
            px[y * w + x] = acc;
        }
    }
}

/// The field rows `[lo, hi]` a source's patch may cover (before rendering).
pub fn row_span(p: &Planned, stamp_size: usize, pl: &Placement) -> (i64, i64) {
    let r = reach(stamp_size, pl);
    ((p.y.floor() as i64) - r, (p.y.floor() as i64) + r + 1)
}

/// Half-size of a patch, field pixels: the rotated stamp's half-diagonal plus the kernel.
fn reach(stamp_size: usize, pl: &Placement) -> i64 {
    let half = stamp_size as f64 / 2.0 * std::f64::consts::SQRT_2 * pl.stamp_pixel_arcsec
        / pl.pixel_arcsec;
    (half + 4.0 * pl.extra_sigma).ceil() as i64 + 1
}

/// Renders planned source `p` from its stamp `img` (values in [0, 1], 3-pixel beam).
///
/// Orientation: stamp rows run north to south (row 0 is north, as in a PNG), columns east to
/// west; the stamp is turned by `p.rotation_deg` north through east and its centre pixel
/// placed at `(p.x, p.y)`.
pub fn render(p: &Planned, img: &Image, pl: &Placement) -> Patch {
    let n = img.size;
    let peak_in = img.pixels.iter().cloned().fold(0.0f32, f32::max);
    let floor = STAMP_FLOOR * peak_in;
    let stamp = Image::new(
        n,
        img.pixels
            .iter()
            .map(|&v| if v < floor || v <= 0.0 { 0.0 } else { v })
            .collect(),
    );
    let (size_px, theta) = shape(&stamp, peak_in);
    let r = reach(n, pl);
    let (x0, y0) = (p.x.floor() as i64 - r, p.y.floor() as i64 - r);
    let side = (2 * r + 2) as usize;
    let c = (n as f64 - 1.0) / 2.0;
    let (s, co) = p.rotation_deg.to_radians().sin_cos();
    let scale = pl.pixel_arcsec / pl.stamp_pixel_arcsec;
    let mut px = vec![0.0f64; side * side];
    for j in 0..side {
        for i in 0..side {
            // Offsets on the sky in field pixels: east = -dx, north = +dy.
            let dx = (x0 + i as i64) as f64 - p.x;
            let dy = (y0 + j as i64) as f64 - p.y;
            let (east, north) = (-dx, dy);
            // Undo the rotation (PA' = PA + φ).
            let e0 = east * co - north * s;
            let n0 = north * co + east * s;
            // Stamp coordinates: u right = west, v down = south.
            let (u, v) = (-e0 * scale, -n0 * scale);
            px[j * side + i] = bilinear(&stamp, c + v, c + u) as f64;
        }
    }
    if pl.extra_sigma > 0.0 {
        convolve(&mut px, side, side, &kernel(pl.extra_sigma));
    }
    let sum: f64 = px.iter().sum();
    let (flux, norm) = if sum > 0.0 {
        (p.flux, p.flux * pl.beam_pixels / sum)
    } else {
        (0.0, 0.0)
    };
    let pixels: Vec<f32> = px.iter().map(|v| (v * norm) as f32).collect();
    let (k, &peak) =
        pixels.iter().enumerate().fold(
            (0, &0.0f32),
            |best, (k, v)| if v > best.1 { (k, v) } else { best },
        );
    // Major axis in stamp coordinates (u, v) -> sky PA (east of north), then rotated.
    let pa0 = (-theta.cos()).atan2(-theta.sin()).to_degrees();
    let pa = if size_px > 0.0 {
        (pa0 + p.rotation_deg).rem_euclid(180.0)
    } else {
        0.0
    };
    let mut patch = Patch {
        x0,
        y0,
        width: side,
        height: side,
        pixels,
        peak: peak as f64,
        peak_at: (x0 + (k % side) as i64, y0 + (k / side) as i64),
        flux,
        size_arcsec: size_px * pl.stamp_pixel_arcsec,
        pa_deg: pa,
    };
    patch.trim();
    patch
}

impl Patch {
    /// Cuts the patch to the bounding box of its non-zero pixels (a 1x1 zero patch when
    /// blank), so that sources held while the field streams take only what they cover.
    fn trim(&mut self) {
        let w = self.width;
        let nz = |i: usize| self.pixels[i] != 0.0;
        let (mut lx, mut hx, mut ly, mut hy) = (usize::MAX, 0, usize::MAX, 0);
        for i in (0..self.pixels.len()).filter(|&i| nz(i)) {
            let (x, y) = (i % w, i / w);
            (lx, hx, ly, hy) = (lx.min(x), hx.max(x), ly.min(y), hy.max(y));
        }
        if lx == usize::MAX {
            (lx, hx, ly, hy) = (0, 0, 0, 0);
        }
        let (nw, nh) = (hx - lx + 1, hy - ly + 1);
        let mut px = Vec::with_capacity(nw * nh);
        for y in ly..=hy {
            px.extend_from_slice(&self.pixels[y * w + lx..y * w + hx + 1]);
        }
        self.pixels = px;
        self.x0 += lx as i64;
        self.y0 += ly as i64;
        self.width = nw;
        self.height = nh;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placement(extra_sigma: f64) -> Placement {
        Placement {
            pixel_arcsec: 1.8,
            stamp_pixel_arcsec: 1.8,
            extra_sigma,
            beam_pixels: crate::data::wcs::Beam::first().area_pixels(1.8),
        }
    }

    /// A stamp with a bright blob `d` pixels north of the centre (row c - d) and a fainter one
    /// as far south.
    fn north_south(n: usize, d: usize) -> Image {
        let mut img = Image::zeros(n);
        let c = n / 2;
        img.pixels[(c - d) * n + c] = 1.0;
        img.pixels[(c + d) * n + c] = 0.5;
        img
    }

    fn planned(x: f64, y: f64, rot: f64) -> Planned {
        Planned {
            id: 0,
            x,
            y,
            flux: 0.01,
            rotation_deg: rot,
            class: None,
            stamp_seed: 0,
        }
    }

    #[test]
    fn a_patch_integrates_to_its_flux_and_keeps_north_up() {
        let img = north_south(41, 10);
        let pl = placement(1.0);
        let p = render(&planned(100.0, 200.0, 0.0), &img, &pl);
        let total: f64 = p.pixels.iter().map(|&v| v as f64).sum::<f64>() / pl.beam_pixels;
        assert!((total - 0.01).abs() < 1e-7, "{total}");
        // The stamp's centre pixel (20, 20) is at x = 100 (c = 20 for n = 41), its north blob
        // 10 rows up (y grows north in FITS).
        assert_eq!(p.peak_at, (100, 210));
        assert!((p.size_arcsec - 20.0 * 1.8).abs() < 1e-9);
        assert!(
            p.pa_deg.abs() < 1e-6 || (p.pa_deg - 180.0).abs() < 1e-6,
            "{}",
            p.pa_deg
        );
    }

    #[test]
    fn rotating_by_90_degrees_turns_north_to_east() {
        let img = north_south(41, 10);
        let p = render(&planned(100.0, 200.0, 90.0), &img, &placement(0.0));
        // East is -x.
        assert_eq!(p.peak_at, (90, 200));
        assert!((p.pa_deg - 90.0).abs() < 1e-6, "{}", p.pa_deg);
        let p = render(&planned(100.0, 200.0, 30.0), &img, &placement(0.0));
        assert!((p.pa_deg - 30.0).abs() < 1e-6, "{}", p.pa_deg);
    }

    #[test]
    fn smaller_stamp_pixels_shrink_the_source() {
        let img = north_south(41, 10);
        let pl = Placement {
            stamp_pixel_arcsec: 0.9,
            ..placement(0.0)
        };
        let p = render(&planned(100.0, 200.0, 0.0), &img, &pl);
        assert_eq!(p.peak_at, (100, 205));
        assert!((p.size_arcsec - 18.0).abs() < 1e-9);
    }

    #[test]
    fn a_blank_stamp_adds_nothing() {
        let p = render(&planned(5.0, 5.0, 0.0), &Image::zeros(11), &placement(0.0));
        assert!(p.pixels.iter().all(|&v| v == 0.0));
        assert_eq!((p.flux, p.peak, p.size_arcsec), (0.0, 0.0, 0.0));
    }
}
