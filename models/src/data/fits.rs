//! FITS images: reading with the `fitsrs` crate (CDS), writing a minimal single-HDU file with
//! a valid header and a TAN world coordinate system.

use super::{DataError, Image};
use std::path::Path;

/// A 2-D FITS image as read: raw values (NaN kept), shape and the header's cards.
#[derive(Clone, Debug)]
pub struct FitsImage {
    /// NAXIS1.
    pub width: usize,
    /// NAXIS2.
    pub height: usize,
    /// Row-major values, FITS order (row 0 is the bottom row, as FITS stores it).
    pub data: Vec<f32>,
    /// BITPIX.
    pub bitpix: i64,
}

/// Reads the primary image of a FITS file. BITPIX must be 8, 16, 32, -32 or -64 and the image
/// two-dimensional; anything else, or a file cut short, is an error naming the file.
pub fn read(path: &Path) -> Result<FitsImage, DataError> {
    use fitsrs::{Fits, HDU, Pixels};
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if bytes.len() < 2880 || !bytes.starts_with(b"SIMPLE  =") {
        return Err(DataError::format(
            path,
            "not a FITS file (no SIMPLE card in a 2880-byte header)",
        ));
    }
    if let Some(b) = header_int(&bytes, "BITPIX")
        && ![8, 16, 32, 64, -32, -64].contains(&b)
    {
        return Err(DataError::format(
            path,
            format!("BITPIX = {b} is not a FITS pixel type (8, 16, 32, 64, -32, -64)"),
        ));
    }
    let mut fits = Fits::from_reader(std::io::Cursor::new(&bytes[..]));
    let hdu = match fits.next() {
        Some(Ok(hdu)) => hdu,
        Some(Err(e)) => return Err(DataError::format(path, format!("bad FITS header: {e}"))),
        None => return Err(DataError::format(path, "no HDU in file")),
    };
    let HDU::Primary(hdu) = hdu else {
        return Err(DataError::format(
            path,
            "the first HDU is not a primary image",
        ));
    };
    let x = hdu.get_header().get_xtension();
    let naxis = x.get_naxis();
    let bitpix = x.get_bitpix() as i64;
    if naxis.len() != 2 {
        return Err(DataError::format(
            path,
            format!("expected a 2-D image, NAXIS = {}", naxis.len()),
        ));
    }
    let (w, h) = (naxis[0] as usize, naxis[1] as usize);
    let need = w * h * (bitpix.unsigned_abs() as usize / 8);
    if bytes.len() < 2880 + need {
        return Err(DataError::format(
            path,
            format!("file cut short: {w}x{h} pixels of BITPIX {bitpix} need {need} bytes of data"),
        ));
    }
    let data: Vec<f32> = match fits.get_data(&hdu).pixels() {
        Pixels::U8(it) => it.map(|v| v as f32).collect(),
        Pixels::I16(it) => it.map(|v| v as f32).collect(),
        Pixels::I32(it) => it.map(|v| v as f32).collect(),
        Pixels::I64(it) => it.map(|v| v as f32).collect(),
        Pixels::F32(it) => it.collect(),
        Pixels::F64(it) => it.map(|v| v as f32).collect(),
    };
    if data.len() != w * h {
        return Err(DataError::format(
            path,
            format!("expected {} pixels, read {}", w * h, data.len()),
        ));
    }
    Ok(FitsImage {
        width: w,
        height: h,
        data,
        bitpix,
    })
}

/// The integer value of a card in the primary header, if present.
fn header_int(bytes: &[u8], key: &str) -> Option<i64> {
    for card in bytes.chunks(80).take(36 * 10) {
        let k = std::str::from_utf8(&card[..8.min(card.len())])
            .ok()?
            .trim_end();
        if k == "END" {
            return None;
        }
        if k == key && card.len() > 10 && card[8] == b'=' {
            let v = std::str::from_utf8(&card[10..]).ok()?;
            return v.split('/').next()?.trim().parse().ok();
        }
    }
    None
}

/// World coordinates for a written stamp.
#[derive(Clone, Debug)]
pub struct Wcs {
    /// Right ascension of the reference pixel, degrees.
    pub ra: f64,
    /// Declination of the reference pixel, degrees.
    pub dec: f64,
    /// Pixel size, degrees (FIRST: 0.0005 = 1.8").
    pub pixel_deg: f64,
}

impl Default for Wcs {
    fn default() -> Self {
        Wcs {
            ra: 0.0,
            dec: 0.0,
            pixel_deg: 0.0005,
        }
    }
}

fn card(key: &str, value: &str, comment: &str) -> String {
    // Fixed format: strings start in column 11, other values end in column 30.
    let mut c = if value.is_empty() {
        format!("{key:<8}")
    } else if value.starts_with('\'') {
        format!("{key:<8}= {value:<20} / {comment}")
    } else {
        format!("{key:<8}= {value:>20} / {comment}")
    };
    c.truncate(80);
    format!("{c:<80}")
}

fn text(s: &str) -> String {
    format!("'{:<8}'", s.replace('\'', "''"))
}

/// FITS bytes of `img` (float32, BITPIX -32) with a minimal valid header: the TAN projection
/// centred on the stamp, pixel size, and `BUNIT` (`bunit`). Rows are written bottom-up as FITS
/// expects, so the image looks the same in DS9 as in a PNG of it.
pub fn encode(img: &Image, wcs: &Wcs, bunit: &str) -> Vec<u8> {
    let n = img.size;
    let ctr = format!("{:.1}", (n as f64 + 1.0) / 2.0);
    let cards = [
        card("SIMPLE", "T", "conforms to FITS standard"),
        card("BITPIX", "-32", "IEEE single precision"),
        card("NAXIS", "2", "two-dimensional image"),
        card("NAXIS1", &n.to_string(), "width"),
        card("NAXIS2", &n.to_string(), "height"),
        card("CTYPE1", &text("RA---TAN"), "gnomonic projection"),
        card("CTYPE2", &text("DEC--TAN"), "gnomonic projection"),
        card(
            "CRVAL1",
            &format!("{:.6}", wcs.ra),
            "reference right ascension (deg)",
        ),
        card(
            "CRVAL2",
            &format!("{:.6}", wcs.dec),
            "reference declination (deg)",
        ),
        card("CRPIX1", &ctr, "reference pixel"),
        card("CRPIX2", &ctr, "reference pixel"),
        card(
            "CDELT1",
            &format!("{:.7}", -wcs.pixel_deg),
            "pixel size (deg)",
        ),
        card(
            "CDELT2",
            &format!("{:.7}", wcs.pixel_deg),
            "pixel size (deg)",
        ),
        card("RADESYS", &text("FK5"), "reference frame"),
        card("EQUINOX", "2000.0", "equinox of coordinates"),
        card("BUNIT", &text(bunit), "pixel unit"),
        card("ORIGIN", &text("lobes"), "written by lobes"),
        card("END", "", ""),
    ];
    let mut out: Vec<u8> = cards.concat().into_bytes();
    out.resize(out.len().div_ceil(2880) * 2880, b' ');
    for y in (0..n).rev() {
        for x in 0..n {
            out.extend_from_slice(&img.at(y, x).to_be_bytes());
        }
    }
    out.resize(out.len().div_ceil(2880) * 2880, 0);
    out
}

/// Converts a FITS image (bottom row first) to top-row-first order.
pub fn flip_rows(f: &FitsImage) -> Vec<f32> {
    let mut out = Vec::with_capacity(f.data.len());
    for y in (0..f.height).rev() {
        out.extend_from_slice(&f.data[y * f.width..(y + 1) * f.width]);
    }
    out
}
