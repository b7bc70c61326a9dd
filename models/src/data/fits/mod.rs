//! FITS images: reading with the `fitsrs` crate (CDS), writing a minimal single-HDU file with
//! a valid header and a TAN world coordinate system.

use super::wcs::{Beam, Tan};
use super::{DataError, Image};

pub(crate) mod card;

pub(crate) use card::{card, pad_block, real, text};
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

/// Reads the primary image of a FITS file. BITPIX must be 8, 16, 32, 64, -32 or -64 and the
/// image two-dimensional; anything else, or a file cut short, is an error naming the file.
pub fn read(path: &Path) -> Result<FitsImage, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    decode(&bytes, path)
}

/// The structural cards of a primary header, checked before anything is allocated.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// BITPIX.
    pub bitpix: i64,
    /// NAXIS1.
    pub width: usize,
    /// NAXIS2.
    pub height: usize,
    /// Byte offset of the data unit (the header's end, rounded up to 2880).
    pub data_start: usize,
    /// Bytes of pixel data the header declares.
    pub data_len: usize,
}

/// The most header blocks read before giving up (a real header has one or two).
const MAX_HEADER_BLOCKS: usize = 1000;

/// Scans the primary header of `bytes` and checks what it declares against the file: printable
/// ASCII cards ending in END, one BITPIX of a FITS pixel type, NAXIS = 2, NAXIS1 and NAXIS2
/// positive, and as many data bytes after the header as they declare (so a header claiming
/// 10^12 pixels is refused, never allocated). Errors name the file and the card.
pub fn layout(bytes: &[u8], path: &Path) -> Result<Layout, DataError> {
    let err = |reason: String| DataError::format(path, reason);
    if bytes.len() < 2880 || !bytes.starts_with(b"SIMPLE  =") {
        return Err(err(
            "not a FITS file (no SIMPLE card in a 2880-byte header)".into(),
        ));
    }
    let mut found: Vec<(String, i64)> = vec![];
    let mut end = None;
    for (i, card) in bytes.chunks_exact(80).enumerate() {
        if i >= MAX_HEADER_BLOCKS * 36 {
            break;
        }
        // The keyword must be printable ASCII (it is how cards are found); so must the
        // whole of a card this reader interprets. Elsewhere, real headers (SkyView's COMMENT
        // cards) hold tabs: tolerated, fitsrs copes.
        let unprintable = |bytes: &[u8]| bytes.iter().position(|c| !(0x20..=0x7e).contains(c));
        if let Some(j) = unprintable(&card[..8]) {
            return Err(err(format!(
                "header card {} holds byte 0x{:02x} in its keyword (column {}): FITS \
                 keywords are printable ASCII",
                i + 1,
                card[j],
                j + 1
            )));
        }
        // Printable ASCII, so this is valid UTF-8.
        let key = std::str::from_utf8(&card[..8])
            .unwrap_or_default()
            .trim_end();
        if key == "END" {
            end = Some(i);
            break;
        }
        if let Some(field) = lone_quote(card) {
            return Err(err(format!(
                "header card {} ({key}) has a lone quote (') as its {field}: an unterminated \
                 string",
                i + 1
            )));
        }
        let structural = key == "BITPIX"
            || key == "NAXIS"
            || key
                .strip_prefix("NAXIS")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()));
        if !structural {
            continue;
        }
        if let Some(j) = unprintable(card) {
            return Err(err(format!(
                "header card {key} holds byte 0x{:02x} at column {}: FITS headers are \
                 printable ASCII",
                card[j],
                j + 1
            )));
        }
        let text = std::str::from_utf8(card).unwrap_or_default();
        if &text[8..10] != "= " {
            return Err(err(format!("header card {key} has no value")));
        }
        let raw = text[10..].split('/').next().unwrap_or_default().trim();
        let v: i64 = raw
            .parse()
            .map_err(|_| err(format!("{key} = '{raw}' is not an integer")))?;
        if found.iter().any(|(k, _)| k == key) {
            return Err(err(format!("{key} appears twice in the header")));
        }
        found.push((key.to_string(), v));
    }
    let Some(end) = end else {
        return Err(err(
            "header has no END card (file cut short, or not a FITS file)".into(),
        ));
    };
    let get = |k: &str| {
        found
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| *v)
            .ok_or_else(|| err(format!("header has no {k} card")))
    };
    let bitpix = get("BITPIX")?;
    if ![8, 16, 32, 64, -32, -64].contains(&bitpix) {
        return Err(err(format!(
            "BITPIX = {bitpix} is not a FITS pixel type (8, 16, 32, 64, -32, -64)"
        )));
    }
    let naxis = get("NAXIS")?;
    if naxis != 2 {
        return Err(err(format!("expected a 2-D image, NAXIS = {naxis}")));
    }
    let axis = |k: &str| -> Result<usize, DataError> {
        let v = get(k)?;
        if v <= 0 {
            return Err(err(format!("{k} = {v}: an image axis must be at least 1")));
        }
        usize::try_from(v).map_err(|_| err(format!("{k} = {v} is too large")))
    };
    let (w, h) = (axis("NAXIS1")?, axis("NAXIS2")?);
    let item = bitpix.unsigned_abs() as usize / 8;
    let data_len = w
        .checked_mul(h)
        .and_then(|n| n.checked_mul(item))
        .ok_or_else(|| {
            err(format!(
                "NAXIS1 x NAXIS2 = {w} x {h} pixels of BITPIX {bitpix} overflow: no file is \
                 that large"
            ))
        })?;
    let data_start = ((end + 1) * 80).div_ceil(2880) * 2880;
    let left = bytes.len().saturating_sub(data_start);
    if left < data_len {
        return Err(err(format!(
            "file cut short: NAXIS1 x NAXIS2 = {w}x{h} pixels of BITPIX {bitpix} need \
             {data_len} bytes of data, the file has {left} after the header"
        )));
    }
    Ok(Layout {
        bitpix,
        width: w,
        height: h,
        data_start,
        data_len,
    })
}

/// Whether a card's value, as fitsrs 0.4.1 splits it off its comment, is a single `'`: fitsrs
/// slices such a string `[1..0]` and panics (found by fuzzing, `fuzz/` target `fits`). Returns
/// which field it is in. The slices are the ones fitsrs parses: after `= ` for value cards and
/// XTENSION, after the keyword for CONTINUE, after the first `=` for HIERARCH.
fn lone_quote(card: &[u8]) -> Option<&'static str> {
    let value = if card.starts_with(b"CONTINUE") {
        &card[8..]
    } else if card.starts_with(b"HIERARCH") {
        let eq = card[9..].iter().position(|&b| b == b'=')?;
        &card[9 + eq + 1..]
    } else if &card[8..10] == b"= " {
        &card[10..]
    } else {
        return None;
    };
    match fitsrs::card::split_value_and_comment(value) {
        Ok((v, _)) if v == "'" => Some("value"),
        _ => None,
    }
}

/// Decodes the primary image of FITS `bytes` (`path` names the file in errors). The header is
/// checked by [`layout`] first, then parsed by `fitsrs`, whose reading must agree with it.
pub fn decode(bytes: &[u8], path: &Path) -> Result<FitsImage, DataError> {
    use fitsrs::{Fits, HDU, Pixels};
    let lay = layout(bytes, path)?;
    let (w, h) = (lay.width, lay.height);
    // Only the header and the declared data go to fitsrs.
    let mut fits = Fits::from_reader(std::io::Cursor::new(
        &bytes[..lay.data_start + lay.data_len],
    ));
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
    let bitpix = x.get_bitpix() as i64;
    if x.get_naxis() != [w as u64, h as u64] || bitpix != lay.bitpix {
        return Err(DataError::format(
            path,
            format!(
                "header read two ways: BITPIX {bitpix}, NAXIS {:?} vs BITPIX {}, {w}x{h}",
                x.get_naxis(),
                lay.bitpix
            ),
        ));
    }
    let n = w * h;
    let data: Vec<f32> = match fits.get_data(&hdu).pixels() {
        Pixels::U8(it) => it.take(n).map(|v| v as f32).collect(),
        Pixels::I16(it) => it.take(n).map(|v| v as f32).collect(),
        Pixels::I32(it) => it.take(n).map(|v| v as f32).collect(),
        Pixels::I64(it) => it.take(n).map(|v| v as f32).collect(),
        Pixels::F32(it) => it.take(n).collect(),
        Pixels::F64(it) => it.take(n).map(|v| v as f32).collect(),
    };
    if data.len() != n {
        return Err(DataError::format(
            path,
            format!("expected {n} pixels, read {}", data.len()),
        ));
    }
    Ok(FitsImage {
        width: w,
        height: h,
        data,
        bitpix,
    })
}

/// World coordinates and beam of a written stamp.
#[derive(Clone, Debug)]
pub struct Wcs {
    /// Right ascension of the stamp's centre, degrees.
    pub ra: f64,
    /// Declination of the stamp's centre, degrees.
    pub dec: f64,
    /// Pixel size, degrees (FIRST: 0.0005 = 1.8").
    pub pixel_deg: f64,
    /// The restoring beam (BMAJ, BMIN, BPA); stamps from FIRST or like it have FIRST's 5.4".
    pub beam: Option<Beam>,
}

impl Default for Wcs {
    fn default() -> Self {
        Wcs {
            ra: 0.0,
            dec: 0.0,
            pixel_deg: 0.0005,
            beam: Some(Beam::first()),
        }
    }
}

/// The header of a float32 (BITPIX -32) `width` x `height` image: structure, the TAN `tan`,
/// the beam, `BUNIT` and `extra` cards (already formatted), padded to a 2880-byte block.
pub(crate) fn image_header(
    width: usize,
    height: usize,
    tan: &Tan,
    beam: Option<&Beam>,
    bunit: &str,
    extra: &[String],
) -> Vec<u8> {
    let mut cards = vec![
        card("SIMPLE", "T", "conforms to FITS standard"),
        card("BITPIX", "-32", "IEEE single precision"),
        card("NAXIS", "2", "two-dimensional image"),
        card("NAXIS1", &width.to_string(), "width"),
        card("NAXIS2", &height.to_string(), "height"),
    ];
    cards.extend(tan.cards());
    if let Some(b) = beam {
        cards.extend(b.cards());
    }
    cards.push(card("BUNIT", &text(bunit), "pixel unit"));
    cards.extend(extra.iter().cloned());
    cards.push(card("ORIGIN", &text("lobes"), "written by lobes"));
    cards.push(card("END", "", ""));
    let mut out = cards.concat().into_bytes();
    pad_block(&mut out, b' ');
    out
}

/// FITS bytes of `img` (float32, BITPIX -32) with a minimal valid header: the TAN projection
/// with the stamp's centre (FITS pixel `(n + 1) / 2`) at `wcs`'s RA/Dec, the pixel size, the
/// beam (BMAJ/BMIN/BPA, degrees) and `BUNIT` (`bunit`). Rows are written bottom-up as FITS
/// expects, so the image looks the same in DS9 as in a PNG of it.
pub fn encode(img: &Image, wcs: &Wcs, bunit: &str) -> Vec<u8> {
    let n = img.size;
    let tan = Tan::centred(n, n, wcs.ra, wcs.dec, wcs.pixel_deg);
    let mut out = image_header(n, n, &tan, wcs.beam.as_ref(), bunit, &[]);
    for y in (0..n).rev() {
        for x in 0..n {
            out.extend_from_slice(&img.at(y, x).to_be_bytes());
        }
    }
    pad_block(&mut out, 0);
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
