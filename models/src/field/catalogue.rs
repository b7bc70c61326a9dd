//! The truth catalogue of a simulated field: one row per source, written as CSV and as a FITS
//! binary table (a BINTABLE extension after an empty primary HDU; FITS Standard 4.0 §7.3).

use crate::data::DataError;
use crate::data::fits::{card, pad_block, real, text};
use lobes_ppl::io::write_atomic;
use std::path::Path;

/// One source of the truth catalogue.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// 0-based id, the order sources were drawn in.
    pub id: u64,
    /// Right ascension of the source's centre (the stamp's centre: the host), degrees.
    pub ra: f64,
    /// Declination of the source's centre, degrees.
    pub dec: f64,
    /// Integrated flux, Jy (including any part outside the image).
    pub flux_int: f64,
    /// Peak brightness before noise, Jy/beam.
    pub flux_peak: f64,
    /// `FRI`, `FRII`, or `none` for a VAE's sources.
    pub class: String,
    /// Largest extent of the 10%-of-peak contour, arcsec.
    pub size: f64,
    /// Position angle of the major axis, degrees east of north, [0, 180).
    pub pa: f64,
    /// FITS (1-based) pixel x of (`ra`, `dec`).
    pub x: f64,
    /// FITS (1-based) pixel y of (`ra`, `dec`).
    pub y: f64,
    /// Right ascension of the brightest pixel, degrees.
    pub ra_peak: f64,
    /// Declination of the brightest pixel, degrees.
    pub dec_peak: f64,
}

/// Column names, FITS TFORM codes and units, in file order.
pub const COLUMNS: [(&str, &str, &str); 12] = [
    ("id", "K", ""),
    ("ra", "D", "deg"),
    ("dec", "D", "deg"),
    ("flux_int", "D", "Jy"),
    ("flux_peak", "D", "Jy/beam"),
    ("class", "8A", ""),
    ("size", "D", "arcsec"),
    ("pa", "D", "deg"),
    ("x", "D", "pixel"),
    ("y", "D", "pixel"),
    ("ra_peak", "D", "deg"),
    ("dec_peak", "D", "deg"),
];

/// Bytes of one binary-table row: 11 eight-byte numbers and an 8-character class.
const ROW_BYTES: usize = 12 * 8;

fn floats(r: &Row) -> [f64; 10] {
    [
        r.ra,
        r.dec,
        r.flux_int,
        r.flux_peak,
        r.size,
        r.pa,
        r.x,
        r.y,
        r.ra_peak,
        r.dec_peak,
    ]
}

/// The CSV text: a header line of [`COLUMNS`]' names, then one line per row; reals written
/// in their shortest round-trip form.
pub fn csv(rows: &[Row]) -> String {
    let mut out = COLUMNS.map(|c| c.0).join(",");
    out.push('\n');
    for r in rows {
        let f = floats(r);
        out.push_str(&format!(
            "{},{:?},{:?},{:?},{:?},{},{:?},{:?},{:?},{:?},{:?},{:?}\n",
            r.id, f[0], f[1], f[2], f[3], r.class, f[4], f[5], f[6], f[7], f[8], f[9]
        ));
    }
    out
}

/// The FITS bytes: an empty primary HDU (`EXTEND = T`) and a BINTABLE named `TRUTH`, big-endian
/// int64 and float64 columns and the class as 8 characters. `extra` cards (already formatted)
/// go into the table's header.
pub fn bintable(rows: &[Row], extra: &[String]) -> Vec<u8> {
    let mut primary = [
        card("SIMPLE", "T", "conforms to FITS standard"),
        card("BITPIX", "8", "no data"),
        card("NAXIS", "0", "no image"),
        card("EXTEND", "T", "a binary table follows"),
        card("ORIGIN", &text("lobes"), "written by lobes"),
        card("END", "", ""),
    ]
    .concat()
    .into_bytes();
    pad_block(&mut primary, b' ');
    let mut cards = vec![
        card("XTENSION", &text("BINTABLE"), "binary table extension"),
        card("BITPIX", "8", "bytes"),
        card("NAXIS", "2", "a table"),
        card("NAXIS1", &ROW_BYTES.to_string(), "bytes per row"),
        card("NAXIS2", &rows.len().to_string(), "rows"),
        card("PCOUNT", "0", "no heap"),
        card("GCOUNT", "1", "one group"),
        card("TFIELDS", &COLUMNS.len().to_string(), "columns"),
    ];
    for (i, (name, form, unit)) in COLUMNS.iter().enumerate() {
        let k = i + 1;
        cards.push(card(&format!("TTYPE{k}"), &text(name), "column name"));
        cards.push(card(&format!("TFORM{k}"), &text(form), "column format"));
        if !unit.is_empty() {
            cards.push(card(&format!("TUNIT{k}"), &text(unit), "column unit"));
        }
    }
    cards.push(card("EXTNAME", &text("TRUTH"), "truth catalogue"));
    cards.extend(extra.iter().cloned());
    cards.push(card("END", "", ""));
    let mut out = primary;
    out.extend(cards.concat().into_bytes());
    pad_block(&mut out, b' ');
    for r in rows {
        let f = floats(r);
        out.extend_from_slice(&(r.id as i64).to_be_bytes());
        for v in &f[..4] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        let mut class = [b' '; 8];
        for (d, s) in class.iter_mut().zip(r.class.bytes().filter(u8::is_ascii)) {
            *d = s;
        }
        out.extend_from_slice(&class);
        for v in &f[4..] {
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
    pad_block(&mut out, 0);
    out
}

/// Writes `rows` to `csv_path` and `fits_path`, each atomically (a temporary file renamed).
pub fn write(
    rows: &[Row],
    csv_path: &Path,
    fits_path: &Path,
    extra: &[String],
) -> Result<(), DataError> {
    let fail = |p: &Path, e: lobes_ppl::PplError| DataError::format(p, e.to_string());
    write_atomic(csv_path, csv(rows).as_bytes()).map_err(|e| fail(csv_path, e))?;
    write_atomic(fits_path, &bintable(rows, extra)).map_err(|e| fail(fits_path, e))
}

/// A header card holding a real, for `extra` (e.g. the noise rms).
pub fn real_card(key: &str, v: f64, comment: &str) -> String {
    card(key, &real(v), comment)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u64) -> Row {
        Row {
            id,
            ra: 150.0 + id as f64 * 1e-3,
            dec: -2.5,
            flux_int: 0.0123,
            flux_peak: 0.004,
            class: "FRII".into(),
            size: 42.0,
            pa: 33.0,
            x: 10.5,
            y: 20.25,
            ra_peak: 150.001,
            dec_peak: -2.499,
        }
    }

    #[test]
    fn the_binary_table_has_the_layout_its_header_declares() {
        let rows = [row(0), row(1), row(2)];
        let b = bintable(&rows, &[]);
        assert_eq!(b.len() % 2880, 0);
        let hdr = String::from_utf8_lossy(&b[2880..5760]).into_owned();
        assert!(hdr.starts_with("XTENSION= 'BINTABLE'"), "{hdr}");
        assert!(hdr.contains("NAXIS1  =                   96"));
        assert!(hdr.contains("TTYPE6  = 'class   '"));
        // The table's header: 43 cards, two blocks; row 1 then starts with id 1, then ra.
        let end = (2880..b.len())
            .step_by(80)
            .find(|&i| &b[i..i + 8] == b"END     ")
            .unwrap();
        assert_eq!((end + 80).div_ceil(2880) * 2880, 2880 * 3);
        let d = 2880 * 3 + ROW_BYTES;
        assert_eq!(i64::from_be_bytes(b[d..d + 8].try_into().unwrap()), 1);
        let ra = f64::from_be_bytes(b[d + 8..d + 16].try_into().unwrap());
        assert_eq!(ra, 150.001);
        assert_eq!(&b[d + 40..d + 48], b"FRII    ");
        let c = csv(&rows);
        assert_eq!(c.lines().count(), 4);
        assert!(
            c.lines()
                .nth(2)
                .unwrap()
                .starts_with("1,150.001,-2.5,0.0123,0.004,FRII,42.0")
        );
    }
}
