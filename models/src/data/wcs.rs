//! The gnomonic (TAN) world coordinate system of FITS images (Calabretta & Greisen 2002,
//! "Representations of celestial coordinates in FITS", §5.1.3), and the restoring beam.
//!
//! Pixel coordinates here are zero-based like astropy's `origin=0`: `(0, 0)` is the centre of
//! the first pixel FITS stores (bottom-left), FITS's `(1, 1)`. North is up (+y), east is left
//! (-x): `CDELT1` is negative, as sky images are seen from inside the sphere.

use std::f64::consts::PI;

/// A TAN projection with its reference point at `(ra, dec)` and square pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tan {
    /// Right ascension of the reference point, degrees (CRVAL1).
    pub ra: f64,
    /// Declination of the reference point, degrees (CRVAL2).
    pub dec: f64,
    /// Zero-based pixel x of the reference point (CRPIX1 - 1).
    pub x0: f64,
    /// Zero-based pixel y of the reference point (CRPIX2 - 1).
    pub y0: f64,
    /// Pixel size, degrees (CDELT2; CDELT1 is its negative).
    pub pixel_deg: f64,
}

impl Tan {
    /// The projection of a `width` x `height` image centred on `(ra, dec)`: the reference
    /// pixel is the image's centre, FITS `CRPIX = (n + 1) / 2` on each axis.
    pub fn centred(width: usize, height: usize, ra: f64, dec: f64, pixel_deg: f64) -> Self {
        Tan {
            ra,
            dec,
            x0: (width as f64 - 1.0) / 2.0,
            y0: (height as f64 - 1.0) / 2.0,
            pixel_deg,
        }
    }

    /// World coordinates (RA in [0, 360), Dec; degrees) of zero-based pixel `(x, y)`.
    pub fn pixel_to_world(&self, x: f64, y: f64) -> (f64, f64) {
        // Intermediate world coordinates in radians (projection plane, x towards east).
        let xi = (-(x - self.x0) * self.pixel_deg).to_radians();
        let eta = ((y - self.y0) * self.pixel_deg).to_radians();
        let (a0, d0) = (self.ra.to_radians(), self.dec.to_radians());
        let (sd, cd) = d0.sin_cos();
        let den = cd - eta * sd;
        let a = a0 + xi.atan2(den);
        let d = (sd + eta * cd).atan2(xi.hypot(den));
        (a.to_degrees().rem_euclid(360.0), d.to_degrees())
    }

    /// Zero-based pixel `(x, y)` of world coordinates `(ra, dec)` (degrees); `None` for a point
    /// 90 degrees or more from the reference point (behind the projection plane).
    pub fn world_to_pixel(&self, ra: f64, dec: f64) -> Option<(f64, f64)> {
        let (a, d) = (ra.to_radians(), dec.to_radians());
        let (a0, d0) = (self.ra.to_radians(), self.dec.to_radians());
        let (sd, cd) = d.sin_cos();
        let (sd0, cd0) = d0.sin_cos();
        let (sda, cda) = (a - a0).sin_cos();
        let cos_c = sd * sd0 + cd * cd0 * cda;
        if cos_c <= 0.0 {
            return None;
        }
        let xi = cd * sda / cos_c;
        let eta = (sd * cd0 - cd * sd0 * cda) / cos_c;
        Some((
            self.x0 - xi.to_degrees() / self.pixel_deg,
            self.y0 + eta.to_degrees() / self.pixel_deg,
        ))
    }

    /// The sky's area per pixel at `(x, y)` relative to that at the reference point: the
    /// gnomonic projection's area element is cos³ of the angular distance from the reference.
    pub fn relative_pixel_area(&self, x: f64, y: f64) -> f64 {
        let r = ((x - self.x0).hypot(y - self.y0) * self.pixel_deg).to_radians();
        // tan(theta) = r for the gnomonic projection.
        let cos = 1.0 / (1.0 + r * r).sqrt();
        cos * cos * cos
    }

    /// The header cards of this projection: CTYPE, CRVAL, CRPIX (one-based), CDELT, CUNIT,
    /// RADESYS = 'FK5' and EQUINOX = 2000.
    pub fn cards(&self) -> Vec<String> {
        use super::fits::card::{card, real, text};
        vec![
            card("CTYPE1", &text("RA---TAN"), "gnomonic projection"),
            card("CTYPE2", &text("DEC--TAN"), "gnomonic projection"),
            card("CRVAL1", &real(self.ra), "reference right ascension (deg)"),
            card("CRVAL2", &real(self.dec), "reference declination (deg)"),
            card("CRPIX1", &real(self.x0 + 1.0), "reference pixel (1-based)"),
            card("CRPIX2", &real(self.y0 + 1.0), "reference pixel (1-based)"),
            card(
                "CDELT1",
                &real(-self.pixel_deg),
                "pixel size (deg), RA increases left",
            ),
            card("CDELT2", &real(self.pixel_deg), "pixel size (deg)"),
            card("CUNIT1", &text("deg"), "unit of CRVAL1 and CDELT1"),
            card("CUNIT2", &text("deg"), "unit of CRVAL2 and CDELT2"),
            card("RADESYS", &text("FK5"), "reference frame"),
            card("EQUINOX", "2000.0", "equinox of coordinates"),
        ]
    }
}

/// An elliptical Gaussian restoring beam.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Beam {
    /// Major-axis FWHM, arcsec.
    pub major_arcsec: f64,
    /// Minor-axis FWHM, arcsec.
    pub minor_arcsec: f64,
    /// Position angle of the major axis, degrees east of north.
    pub pa_deg: f64,
}

impl Beam {
    /// A circular beam of FWHM `fwhm_arcsec`.
    pub fn circular(fwhm_arcsec: f64) -> Self {
        Beam {
            major_arcsec: fwhm_arcsec,
            minor_arcsec: fwhm_arcsec,
            pa_deg: 0.0,
        }
    }

    /// FIRST's beam: 5.4" FWHM (White et al. 1997), circular.
    pub fn first() -> Self {
        Beam::circular(5.4)
    }

    /// The beam's solid angle in pixels of `pixel_arcsec`: π θ_maj θ_min / (4 ln 2). An image
    /// in Jy/beam sums to the integrated flux (Jy) times this.
    pub fn area_pixels(&self, pixel_arcsec: f64) -> f64 {
        PI * self.major_arcsec * self.minor_arcsec / (4.0 * 2f64.ln()) / pixel_arcsec.powi(2)
    }

    /// BMAJ, BMIN and BPA, in degrees as FITS has them.
    pub fn cards(&self) -> Vec<String> {
        use super::fits::card::{card, real};
        vec![
            card(
                "BMAJ",
                &real(self.major_arcsec / 3600.0),
                "beam major axis FWHM (deg)",
            ),
            card(
                "BMIN",
                &real(self.minor_arcsec / 3600.0),
                "beam minor axis FWHM (deg)",
            ),
            card(
                "BPA",
                &real(self.pa_deg),
                "beam position angle (deg, east of north)",
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_pixel_maps_to_the_reference_point_and_back() {
        let t = Tan::centred(101, 201, 150.0, 2.2, 0.0005);
        assert_eq!((t.x0, t.y0), (50.0, 100.0));
        let (ra, dec) = t.pixel_to_world(50.0, 100.0);
        assert!((ra - 150.0).abs() < 1e-12 && (dec - 2.2).abs() < 1e-12);
        for &(x, y) in &[(0.0, 0.0), (100.0, 200.0), (13.3, 170.9), (-5000.0, 9000.0)] {
            let (ra, dec) = t.pixel_to_world(x, y);
            let (x2, y2) = t.world_to_pixel(ra, dec).unwrap();
            assert!(
                (x - x2).abs() < 1e-7 && (y - y2).abs() < 1e-7,
                "{x},{y} -> {x2},{y2}"
            );
        }
    }

    #[test]
    fn north_is_up_east_is_left_and_a_pixel_is_its_size_near_the_reference() {
        let t = Tan::centred(100, 100, 10.0, 0.0, 0.0005);
        let (ra0, dec0) = t.pixel_to_world(t.x0, t.y0);
        let (ra, dec) = t.pixel_to_world(t.x0, t.y0 + 1.0);
        assert!((dec - dec0 - 0.0005).abs() < 1e-12 && (ra - ra0).abs() < 1e-12);
        let (ra, _) = t.pixel_to_world(t.x0 - 1.0, t.y0);
        assert!((ra - ra0 - 0.0005).abs() < 1e-12, "one pixel left is east");
    }

    #[test]
    fn ra_wraps_at_zero_and_the_pole_is_reachable() {
        let t = Tan::centred(100, 100, 0.0, 0.0, 0.001);
        let (ra, _) = t.pixel_to_world(t.x0 + 10.0, t.y0);
        assert!((ra - 359.99).abs() < 1e-9, "{ra}");
        let p = Tan::centred(100, 100, 45.0, 90.0, 0.001);
        let (_, dec) = p.pixel_to_world(p.x0, p.y0);
        assert!((dec - 90.0).abs() < 1e-12);
        // 1 degree south of the pole along +y (north of the image) lies at RA 45 + 180.
        let (ra, dec) = p.pixel_to_world(p.x0, p.y0 + 1000.0);
        assert!((dec - (90.0 - 1f64.to_radians().atan().to_degrees())).abs() < 1e-9);
        assert!((ra - 225.0).abs() < 1e-9, "{ra}");
        assert!(p.world_to_pixel(45.0, -10.0).is_none(), "behind the plane");
    }

    #[test]
    fn angular_distances_follow_the_gnomonic_law() {
        // A point r pixels from the reference lies atan(r * pixel) from it on the sky.
        let t = Tan::centred(1, 1, 30.0, 40.0, 0.01);
        let r = 3000.0;
        let (ra, dec) = t.pixel_to_world(0.0, r);
        let sep = ((dec.to_radians().sin() * 40f64.to_radians().sin())
            + dec.to_radians().cos() * 40f64.to_radians().cos() * (ra - 30.0).to_radians().cos())
        .acos()
        .to_degrees();
        assert!((sep - (r * 0.01f64).to_radians().atan().to_degrees()).abs() < 1e-9);
        let a = t.relative_pixel_area(0.0, r);
        assert!((a - (r * 0.01f64).to_radians().atan().cos().powi(3)).abs() < 1e-12);
    }

    #[test]
    fn the_first_beam_covers_about_10_pixels_of_1_8_arcsec() {
        let b = Beam::first();
        assert!((b.area_pixels(1.8) - 10.197).abs() < 1e-3);
        let cards = b.cards().concat();
        assert!(cards.contains("BMAJ    =               0.0015"), "{cards}");
    }
}
