//! FITS header cards in the fixed format, and block padding.

/// One 80-character header card: `key = value / comment` in the fixed format (strings start
/// in column 11, other values end in column 30), or the bare keyword when `value` is empty.
pub(crate) fn card(key: &str, value: &str, comment: &str) -> String {
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

/// A FITS string value: quoted, quotes doubled, padded to 8 characters.
pub(crate) fn text(s: &str) -> String {
    format!("'{:<8}'", s.replace('\'', "''"))
}

/// A FITS real value that reads back as the same f64: the shortest round-trip decimal when
/// it fits the 20 columns of the fixed format, else 15 significant digits in E notation.
pub(crate) fn real(v: f64) -> String {
    let s = format!("{v:?}");
    if s.len() <= 20 {
        s
    } else {
        format!("{v:.14E}")
    }
}

/// Pads header or data bytes to a whole number of 2880-byte FITS blocks with `fill`.
pub(crate) fn pad_block(out: &mut Vec<u8>, fill: u8) {
    out.resize(out.len().div_ceil(2880) * 2880, fill);
}
