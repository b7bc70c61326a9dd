#!/usr/bin/env python3
"""Checks lobes' FITS files with a real client, astropy (pip: astropy numpy).

  check_fits.py stamps DIR [--ra DEG --dec DEG --pixel-arcsec 1.8 --beam-arcsec 5.4
                            --bunit normalised]
      Stamps written by `lobes generate --format fits` (or `lobes data synthetic`): every
      *.fits under DIR. The header (CTYPE, CRPIX at the centre, CDELT1 < 0, RADESYS, EQUINOX,
      BUNIT, BMAJ/BMIN/BPA in degrees), astropy.wcs.WCS against an independent gnomonic
      formula (to 0.01 pixel) and, when DIR/grid.png exists, the pixels against the PNG grid
      lobes wrote beside them (8-bit, top row first: this checks the row order too).

  check_fits.py field DIR [--ra DEG --dec DEG --pixel-arcsec 1.8 --beam-arcsec 5.4]
      A field written by `lobes simulate-field`: field.fits, truth.csv, truth.fits. The same
      header and WCS checks; the catalogue's RA/Dec against its pixel positions through
      astropy's WCS (0.01 pixel); the FITS table equal to the CSV; and the image at each
      isolated source's catalogue peak equal to its catalogue peak flux (to 5 rms + 1e-5
      relative; exact when the field is noiseless).

Exit status 0 when every check passes, 1 otherwise; one line per failure.
"""

import argparse
import csv
import glob
import os
import struct
import sys
import zlib

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

FAILURES = []


def check(ok, what):
    if not ok:
        FAILURES.append(what)
        print("FAIL", what)
    return ok


def tan_world(x, y, ra0, dec0, x0, y0, pix_deg):
    """Gnomonic projection written out (Calabretta & Greisen 2002, eqs. 12, 54): zero-based
    pixel -> (RA, Dec) degrees, CDELT1 = -pix, CDELT2 = +pix, no rotation."""
    xi = np.radians(-(x - x0) * pix_deg)
    eta = np.radians((y - y0) * pix_deg)
    a0, d0 = np.radians(ra0), np.radians(dec0)
    den = np.cos(d0) - eta * np.sin(d0)
    ra = a0 + np.arctan2(xi, den)
    dec = np.arctan2(np.sin(d0) + eta * np.cos(d0), np.hypot(xi, den))
    return np.degrees(ra) % 360.0, np.degrees(dec)


def check_header(h, name, bunit, ra, dec, pix_arcsec, beam_arcsec):
    n1, n2 = h["NAXIS1"], h["NAXIS2"]
    check(h.get("CTYPE1") == "RA---TAN", f"{name}: CTYPE1 = {h.get('CTYPE1')!r}")
    check(h.get("CTYPE2") == "DEC--TAN", f"{name}: CTYPE2 = {h.get('CTYPE2')!r}")
    check(h.get("CRPIX1") == (n1 + 1) / 2, f"{name}: CRPIX1 = {h.get('CRPIX1')}, centre is {(n1 + 1) / 2}")
    check(h.get("CRPIX2") == (n2 + 1) / 2, f"{name}: CRPIX2 = {h.get('CRPIX2')}, centre is {(n2 + 1) / 2}")
    check(abs(h.get("CDELT1", 0) + pix_arcsec / 3600) < 1e-15, f"{name}: CDELT1 = {h.get('CDELT1')}")
    check(abs(h.get("CDELT2", 0) - pix_arcsec / 3600) < 1e-15, f"{name}: CDELT2 = {h.get('CDELT2')}")
    check(abs(h.get("CRVAL1", -1) - ra) < 1e-12, f"{name}: CRVAL1 = {h.get('CRVAL1')}, want {ra}")
    check(abs(h.get("CRVAL2", -99) - dec) < 1e-12, f"{name}: CRVAL2 = {h.get('CRVAL2')}, want {dec}")
    check(h.get("RADESYS") == "FK5", f"{name}: RADESYS = {h.get('RADESYS')!r}")
    check(h.get("EQUINOX") == 2000.0, f"{name}: EQUINOX = {h.get('EQUINOX')}")
    check(h.get("BUNIT") == bunit, f"{name}: BUNIT = {h.get('BUNIT')!r}, want {bunit!r}")
    for key, want in [("BMAJ", beam_arcsec / 3600), ("BMIN", beam_arcsec / 3600), ("BPA", 0.0)]:
        got = h.get(key)
        check(got is not None and abs(got - want) < 1e-12, f"{name}: {key} = {got}, want {want} deg")


def check_wcs(h, name, ra, dec, pix_arcsec):
    """astropy's reading of the header against the formula, at corners, centre, edges and
    random pixels (and just beyond the image)."""
    w = WCS(h)
    n1, n2 = h["NAXIS1"], h["NAXIS2"]
    rng = np.random.default_rng(0)
    xs = np.concatenate([[0, n1 - 1, 0, n1 - 1, (n1 - 1) / 2, -0.5, n1 - 0.5], rng.uniform(-0.5, n1 - 0.5, 50)])
    ys = np.concatenate([[0, 0, n2 - 1, n2 - 1, (n2 - 1) / 2, -0.5, n2 - 0.5], rng.uniform(-0.5, n2 - 0.5, 50)])
    ra_w, dec_w = tan_world(xs, ys, ra, dec, (n1 - 1) / 2, (n2 - 1) / 2, pix_arcsec / 3600)
    px, py = w.world_to_pixel_values(ra_w, dec_w)
    err = np.hypot(px - xs, py - ys).max()
    check(err < 0.01, f"{name}: astropy puts the intended RA/Dec {err:.4f} pixels off (limit 0.01)")
    a, d = w.pixel_to_world_values(xs, ys)
    da = (a - ra_w + 180) % 360 - 180
    sep = np.hypot(da * np.cos(np.radians(d)), d - dec_w) * 3600 / pix_arcsec
    check(sep.max() < 0.01, f"{name}: astropy's RA/Dec of pixels {sep.max():.4f} pixels from the intended")
    return w, max(err, sep.max())


def read_png_gray(path):
    """An 8-bit greyscale, non-interlaced PNG (what lobes writes), decoded with zlib only."""
    b = open(path, "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat, w = 8, b"", None
    while pos < len(b):
        (n,) = struct.unpack(">I", b[pos : pos + 4])
        kind, body = b[pos + 4 : pos + 8], b[pos + 8 : pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color == 0 and interlace == 0, f"{path}: not 8-bit grey"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    out = np.zeros((h, w), dtype=np.int32)
    prev = np.zeros(w, dtype=np.int32)
    for y in range(h):
        f = raw[y * (w + 1)]
        line = np.frombuffer(raw[y * (w + 1) + 1 : (y + 1) * (w + 1)], dtype=np.uint8).astype(np.int32)
        cur = np.zeros(w, dtype=np.int32)
        for x in range(w):
            a = cur[x - 1] if x else 0
            c = prev[x - 1] if x else 0
            bb = prev[x]
            if f == 0:
                p = 0
            elif f == 1:
                p = a
            elif f == 2:
                p = bb
            elif f == 3:
                p = (a + bb) // 2
            else:
                pa, pb, pc = abs(bb - c), abs(a - c), abs(a + bb - 2 * c)
                p = a if pa <= pb and pa <= pc else (bb if pb <= pc else c)
            cur[x] = (line[x] + p) & 255
        out[y] = cur
        prev = cur
    return out


def stamps(args):
    files = sorted(glob.glob(os.path.join(args.dir, "**", "*.fits"), recursive=True))
    if not check(bool(files), f"{args.dir}: no .fits stamps"):
        return
    grid_path = os.path.join(args.dir, "grid.png")
    grid = read_png_gray(grid_path) if os.path.exists(grid_path) else None
    worst = 0.0
    for f in files:
        with fits.open(f) as hdul:
            h, data = hdul[0].header, hdul[0].data
            check_header(h, f, args.bunit, args.ra, args.dec, args.pixel_arcsec, args.beam_arcsec)
            _, err = check_wcs(h, f, args.ra, args.dec, args.pixel_arcsec)
            worst = max(worst, err)
            if grid is not None and os.path.basename(f).startswith("generated_"):
                # generated_IIIII.fits is image I of the grid, ceil(sqrt(n)) columns, 2-pixel gaps.
                i = int(os.path.basename(f).split("_")[-1].split(".")[0])
                n = data.shape[0]
                cols = int(np.ceil(np.sqrt(len(files))))
                r, c = divmod(i, cols)
                cell = grid[r * (n + 2) : r * (n + 2) + n, c * (n + 2) : c * (n + 2) + n]
                ours = np.round(np.clip(data[::-1].astype(np.float64), 0, 1) * 255).astype(np.int32)
                bad = int((ours != cell).sum())
                check(bad == 0, f"{f}: {bad} pixels differ from grid.png (top row first)")
    print(f"{len(files)} stamps: header, WCS (worst {worst:.2e} pixels) and data checked")


def field(args):
    path = os.path.join(args.dir, "field.fits")
    with fits.open(path, memmap=True) as hdul:
        h = hdul[0].header
        check_header(h, path, "Jy/beam", args.ra, args.dec, args.pixel_arcsec, args.beam_arcsec)
        w, err = check_wcs(h, path, args.ra, args.dec, args.pixel_arcsec)
        data = hdul[0].data
        rms = float(h.get("RMSNOISE", 0.0))
        with open(os.path.join(args.dir, "truth.csv")) as fh:
            rows = list(csv.DictReader(fh))
        check(len(rows) == h.get("NSOURCES"), f"{path}: NSOURCES {h.get('NSOURCES')}, truth.csv has {len(rows)} rows")
        table = Table.read(os.path.join(args.dir, "truth.fits"), hdu="TRUTH")
        check(len(table) == len(rows), f"truth.fits has {len(table)} rows, truth.csv {len(rows)}")
        cols = ["ra", "dec", "flux_int", "flux_peak", "size", "pa", "x", "y", "ra_peak", "dec_peak"]
        for c in cols:
            a = np.array([float(r[c]) for r in rows])
            check(np.array_equal(a, np.asarray(table[c], dtype=np.float64)), f"truth.fits column {c} differs from truth.csv")
        check(list(table["id"]) == [int(r["id"]) for r in rows], "truth.fits ids differ from truth.csv")
        check(list(table["class"]) == [r["class"] for r in rows], "truth.fits classes differ from truth.csv")
        check(str(table["flux_peak"].unit) == "Jy / beam", f"truth.fits flux_peak unit {table['flux_peak'].unit}")
        if not rows:
            return
        ra = np.array([float(r["ra"]) for r in rows])
        dec = np.array([float(r["dec"]) for r in rows])
        x = np.array([float(r["x"]) for r in rows]) - 1
        y = np.array([float(r["y"]) for r in rows]) - 1
        px, py = w.world_to_pixel_values(ra, dec)
        e = np.hypot(px - x, py - y).max()
        check(e < 0.01, f"catalogue RA/Dec lie {e:.4f} pixels from their catalogue pixels through astropy (limit 0.01)")
        # The image at each isolated source's catalogue peak position.
        rp = np.array([float(r["ra_peak"]) for r in rows])
        dp = np.array([float(r["dec_peak"]) for r in rows])
        peak = np.array([float(r["flux_peak"]) for r in rows])
        size_px = np.array([float(r["size"]) for r in rows]) / args.pixel_arcsec
        qx, qy = w.world_to_pixel_values(rp, dp)
        ix, iy = np.round(qx).astype(int), np.round(qy).astype(int)
        check(np.abs(qx - ix).max() < 0.01 and np.abs(qy - iy).max() < 0.01, "catalogue peak positions are not pixel centres through astropy")
        inside = (ix >= 0) & (iy >= 0) & (ix < data.shape[1]) & (iy < data.shape[0]) & (peak > 0)
        # A source's pixels lie within `reach` of its centre: half the diagonal of the largest
        # stamp lobes makes (150 pixels) on the sky, plus the extra beam kernel (4 sigma).
        stamp_px = float(h.get("STAMPPIX", 1.8)) / args.pixel_arcsec
        extra = np.sqrt(max(0.0, args.beam_arcsec**2 - (3 * float(h.get("STAMPPIX", 1.8))) ** 2))
        reach = 75 * np.sqrt(2) * stamp_px + 4 * extra / 2.3548 / args.pixel_arcsec + 2
        isolated = np.ones(len(rows), dtype=bool)
        for i in range(len(rows)):
            d = np.hypot(x - ix[i], y - iy[i])
            d[i] = np.inf
            isolated[i] = not np.any(d < reach)
        got_all = data[iy[inside], ix[inside]].astype(np.float64)
        low = got_all < peak[inside] - 5 * rms - 1e-5 * peak[inside]
        check(not low.any(), f"{int(low.sum())} sources: image at the catalogue peak below flux_peak")
        sel = np.nonzero(inside & isolated)[0]
        got = data[iy[sel], ix[sel]].astype(np.float64)
        tol = 5 * rms + 1e-5 * peak[sel]
        bad = np.abs(got - peak[sel]) > tol
        check(len(sel) > 0, "no isolated source to compare with the image")
        check(not bad.any(), f"{int(bad.sum())} of {len(sel)} isolated sources: image at the catalogue peak != flux_peak")
        print(f"field {data.shape[1]}x{data.shape[0]}, {len(rows)} sources: header, WCS (worst {max(err, e):.2e} pixels), "
              f"catalogue (CSV = FITS table) and the image at {len(sel)} isolated peaks checked")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=["stamps", "field"])
    p.add_argument("dir")
    p.add_argument("--ra", type=float)
    p.add_argument("--dec", type=float)
    p.add_argument("--pixel-arcsec", type=float, default=1.8)
    p.add_argument("--beam-arcsec", type=float, default=5.4)
    p.add_argument("--bunit", default="normalised")
    a = p.parse_args()
    if a.kind == "stamps":
        a.ra = 0.0 if a.ra is None else a.ra
        a.dec = 0.0 if a.dec is None else a.dec
        stamps(a)
    else:
        a.ra = 180.0 if a.ra is None else a.ra
        a.dec = 30.0 if a.dec is None else a.dec
        field(a)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
