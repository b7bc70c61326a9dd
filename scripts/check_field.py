#!/usr/bin/env python3
"""Round trip of a simulated field (pip: astropy numpy photutils; matplotlib for --figure).

  check_field.py DIR [--threshold 5] [--require 0.95] [--figure PNG]

Runs photutils source detection on DIR/field.fits (written by `lobes simulate-field`):
segments of at least 5 connected pixels above `threshold` times the noise rms (RMSNOISE in
the header), one detection per segment, at its brightest pixel and at its centroid. A truth
source (DIR/truth.csv) with true peak S/N = flux_peak / rms above 10 is recovered when a
detection's brightest pixel lies within one beam FWHM of the catalogue's peak position
(ra_peak, dec_peak). Also reported, not required: recovery by the catalogue's centre (ra, dec,
the host's position) against segment centroids (doubles whose lobes are separate segments
have no detection at their centre), and which missed sources are blends (a brighter truth
peak within two beams, so one segment holds both).

Exit status 1 when the recovered fraction is below `require`.
"""

import argparse
import csv
import os
import sys

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from photutils.segmentation import SourceCatalog, detect_sources


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir")
    p.add_argument("--threshold", type=float, default=5.0, help="detection threshold, units of rms")
    p.add_argument("--require", type=float, default=0.95)
    p.add_argument("--figure", help="write completeness vs S/N and a marked cut-out here")
    a = p.parse_args()

    with fits.open(os.path.join(a.dir, "field.fits"), memmap=True) as hdul:
        h = hdul[0].header
        data = np.asarray(hdul[0].data, dtype=np.float32)
    w = WCS(h)
    rms = float(h["RMSNOISE"])
    if rms <= 0:
        sys.exit("the field is noiseless (RMSNOISE = 0): S/N is undefined")
    pix_arcsec = abs(h["CDELT2"]) * 3600
    beam_px = h["BMAJ"] * 3600 / pix_arcsec
    with open(os.path.join(a.dir, "truth.csv")) as f:
        rows = list(csv.DictReader(f))
    col = lambda k: np.array([float(r[k]) for r in rows])
    snr = col("flux_peak") / rms
    px, py = w.world_to_pixel_values(col("ra_peak"), col("dec_peak"))
    cx, cy = w.world_to_pixel_values(col("ra"), col("dec"))

    segm = detect_sources(data, a.threshold * rms, n_pixels=5)
    cat = SourceCatalog(data, segm)
    dx = np.asarray(cat.max_value_xindex, dtype=float)
    dy = np.asarray(cat.max_value_yindex, dtype=float)
    gx = np.asarray(cat.x_centroid, dtype=float)
    gy = np.asarray(cat.y_centroid, dtype=float)

    def nearest(xs, ys, qx, qy):
        out = np.full(len(qx), np.inf)
        for i in range(len(qx)):
            if len(xs):
                out[i] = np.hypot(xs - qx[i], ys - qy[i]).min()
        return out

    bright = snr > 10
    d_peak = nearest(dx, dy, px[bright], py[bright])
    d_centre = nearest(gx, gy, cx[bright], cy[bright])
    found = d_peak <= beam_px
    found_centre = d_centre <= beam_px
    idx = np.nonzero(bright)[0]
    blended = np.array(
        [np.any((np.hypot(px - px[i], py - py[i]) < 2 * beam_px) & (snr > snr[i])) for i in idx], dtype=bool
    )
    n = int(bright.sum())
    frac = found.mean() if n else float("nan")
    print(f"field {data.shape[1]}x{data.shape[0]}, {len(rows)} truth sources, rms {rms * 1e3:.3f} mJy/beam, beam {beam_px:.2f} pixels")
    print(f"photutils: {len(dx)} detections (segments of >= 5 pixels above {a.threshold:g} rms)")
    print(f"true peak S/N > 10: {n} sources")
    print(f"recovered within one beam of the catalogue peak position: {int(found.sum())}/{n} = {frac:.4f}")
    print(f"recovered within one beam of the catalogue centre (segment centroids): {int(found_centre.sum())}/{n} = {found_centre.mean():.4f}")
    missed = np.nonzero(~found)[0]
    print(f"missed: {len(missed)}, of which blends (a brighter truth peak within two beams): {int(blended[missed].sum())}")
    for k in missed[:20]:
        i = idx[k]
        print(f"  id {rows[i]['id']}: S/N {snr[i]:.1f}, class {rows[i]['class']}, size {float(rows[i]['size']):.0f}\", "
              f"nearest detection peak {d_peak[k]:.1f} pixels{', blend' if blended[k] else ''}")

    if a.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 6))
        edges = np.logspace(0, np.log10(max(snr.max(), 20)), 16)
        allp = nearest(dx, dy, px, py) <= beam_px
        mid, comp, err = [], [], []
        for lo, hi in zip(edges[:-1], edges[1:]):
            m = (snr >= lo) & (snr < hi)
            if m.sum():
                c = allp[m].mean()
                mid.append(np.sqrt(lo * hi))
                comp.append(c)
                err.append(np.sqrt(c * (1 - c) / m.sum()))
        ax1.errorbar(mid, comp, yerr=err, fmt="o-", label="recovered within one beam of the true peak")
        ax1.axvline(10, color="grey", ls="--", label="S/N = 10")
        ax1.axhline(0.95, color="red", ls=":", label="95%")
        ax1.set_xscale("log")
        ax1.set_xlabel("true peak S/N (flux_peak / rms)")
        ax1.set_ylabel("fraction of truth sources recovered")
        ax1.set_ylim(0, 1.05)
        ax1.set_title(f"photutils completeness ({len(rows)} sources, threshold {a.threshold:g} rms)")
        ax1.legend(loc="lower right")
        # A cut-out around the brightest-S/N-rich region: the 1024x1024 corner with most bright sources.
        s = 1024
        best, bx, by = -1, 0, 0
        for x0 in range(0, max(1, data.shape[1] - s + 1), s // 2):
            for y0 in range(0, max(1, data.shape[0] - s + 1), s // 2):
                k = int(np.sum(bright & (px >= x0) & (px < x0 + s) & (py >= y0) & (py < y0 + s)))
                if k > best:
                    best, bx, by = k, x0, y0
        cut = data[by : by + s, bx : bx + s]
        ax2.imshow(np.arcsinh(cut / rms), origin="lower", cmap="gray_r", extent=(bx, bx + cut.shape[1], by, by + cut.shape[0]))
        m = (px >= bx) & (px < bx + s) & (py >= by) & (py < by + s)
        ax2.scatter(px[m & bright], py[m & bright], s=60, facecolors="none", edgecolors="blue", label="truth peak, S/N > 10")
        ax2.scatter(px[m & ~bright], py[m & ~bright], s=20, facecolors="none", edgecolors="cyan", label="truth peak, S/N <= 10")
        md = (dx >= bx) & (dx < bx + s) & (dy >= by) & (dy < by + s)
        ax2.scatter(dx[md], dy[md], s=12, marker="x", color="red", label="photutils detection (peak)")
        ax2.set_xlim(bx, bx + cut.shape[1])
        ax2.set_ylim(by, by + cut.shape[0])
        ax2.set_xlabel("x (pixel, 1.8\" if FIRST-like)")
        ax2.set_ylabel("y (pixel)")
        ax2.set_title("a 1024x1024 cut-out, asinh(image / rms)")
        ax2.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
        fig.savefig(a.figure, dpi=90)
        print(f"wrote {a.figure}")

    if not n or frac < a.require:
        print(f"FAIL: recovered fraction {frac:.4f} < {a.require}")
        sys.exit(1)
    print("passed")


if __name__ == "__main__":
    main()
