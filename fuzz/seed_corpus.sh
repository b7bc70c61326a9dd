#!/usr/bin/env bash
# Writes seed corpora for the fuzz targets into fuzz/corpus/<target>/, from small valid files
# made here (never from shared/data): a CIFAR-style batch pickle of two 8x8 numpy arrays (the
# opcodes FRDEEP uses), a batches.meta dict, 8x8 FITS images of BITPIX 8/16/-32/-64, 8-bit
# grey / 16-bit grey / RGB PNGs, a safetensors checkpoint with the run metadata `lobes train`
# writes, and `--data` specs. Needs python3 (standard library only). Safe to re-run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec python3 - "$here/corpus" <<'PY'
import json, os, struct, sys, zlib

root = sys.argv[1]
def put(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

# --- pickle: protocol 3 as numpy + CIFAR write it -------------------------------------------
def uni(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b
def array(shape, data, dtype="u1"):
    p = b"cnumpy.core.multiarray\n_reconstruct\nq\x01cnumpy\nndarray\nq\x02K\x00\x85q\x03C\x01bq\x04\x87q\x05Rq\x06"
    p += b"(K\x01(" + b"".join(b"J" + struct.pack("<i", d) for d in shape) + b"tq\x07"
    p += b"cnumpy\ndtype\nq\x08" + uni(dtype) + b"\x89\x88\x87q\tRq\n"
    p += b"(K\x03X\x01\x00\x00\x00|q\x0bNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x0cb"
    p += b"\x89B" + struct.pack("<I", len(data)) + data + b"tq\rb"
    return p
def scalar_str(s):
    n = max(len(s), 1)
    p = b"cnumpy.core.multiarray\nscalar\ncnumpy\ndtype\n" + uni("U%d" % n) + b"\x89\x88\x87R"
    raw = b"".join(struct.pack("<I", ord(c)) for c in s.ljust(n, "\0"))
    return p + b"C" + bytes([len(raw)]) + raw + b"\x86R"
def batch(labels, arrays, names):
    p = b"\x80\x03}q\x00(" + uni("batch_label") + uni("training batch 1 of 1")
    p += uni("labels") + b"](" + b"".join(b"K" + bytes([l]) for l in labels) + b"e"
    p += uni("data") + b"](" + b"".join(arrays) + b"e"
    p += uni("filenames") + b"](" + b"".join(scalar_str(n) for n in names) + b"e"
    return p + b"u."
img = bytes((i * 7) % 256 for i in range(64))
put("pickle", "batch_flat", batch([0, 1], [array([64], img), array([64], img[::-1])], ["FRI_a.png", "FRII_b.png"]))
put("pickle", "batch_2d", batch([1], [array([8, 8], img)], ["x.png"]))
put("pickle", "meta", b"\x80\x03}q\x00(" + uni("num_cases_per_batch") + b"K\x32" + uni("label_names")
    + b"](" + uni("FRI") + uni("FRII") + b"e" + uni("num_vis") + b"M\xe4\x57u.")
put("pickle", "scalars", b"\x80\x02(K\x01M\x00\x01J\xff\xff\xff\xff\x8a\x02\x00\x80G?\xf0\x00\x00\x00\x00\x00\x00N\x88\x89C\x02abU\x02hit.")

# --- FITS: minimal single-HDU images -------------------------------------------------------
def card(k, v="", c=""):
    s = ("%-8s" % k) if v == "" else ("%-8s= %20s / %s" % (k, v, c))
    return s[:80].ljust(80)
def fits(bitpix, n=8, extra=()):
    h = [card("SIMPLE", "T"), card("BITPIX", str(bitpix)), card("NAXIS", "2"),
         card("NAXIS1", str(n)), card("NAXIS2", str(n))] + list(extra) + [card("END")]
    b = "".join(h).encode()
    b += b" " * (-len(b) % 2880)
    fmt = {8: "B", 16: ">h", 32: ">i", 64: ">q", -32: ">f", -64: ">d"}[bitpix]
    vals = [(i * 3) % 50 for i in range(n * n)]
    d = b"".join(struct.pack(fmt, v) for v in vals)
    return b + d + b"\0" * (-len(d) % 2880)
for bp in (8, 16, 32, -32, -64):
    put("fits", "bitpix%d" % bp, fits(bp))
put("fits", "wcs", fits(-32, 8, [card("CTYPE1", "'RA---TAN'"), card("CDELT1", "-0.0005"),
                                  card("BUNIT", "'JY/BEAM '")]))
nan = bytearray(fits(-32)); nan[2880:2884] = b"\x7f\xc0\x00\x00"
put("fits", "nan", bytes(nan))

# --- PNG ---------------------------------------------------------------------------------
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
def png(w, h, depth, colour, px_bytes):
    rows = b"".join(b"\0" + px_bytes(y) for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
put("png", "grey8", png(8, 8, 8, 0, lambda y: bytes((x * 30 + y) % 256 for x in range(8))))
put("png", "grey16", png(8, 8, 16, 0, lambda y: b"".join(struct.pack(">H", x * 8000) for x in range(8))))
put("png", "rgb8", png(4, 4, 8, 2, lambda y: bytes(sum(([x * 60, y * 60, 10] for x in range(4)), []))))
put("png", "grey_alpha", png(4, 4, 8, 4, lambda y: bytes(sum(([x * 60, 255] for x in range(4)), []))))
put("png", "grey1", png(8, 8, 1, 0, lambda y: b"\xaa"))

# --- safetensors checkpoint ----------------------------------------------------------------
def safetensors(tensors, meta):
    header, data = {"__metadata__": meta}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data
meta = {"lobes.model": "vae", "lobes.pixels": "16", "lobes.latent": "2", "lobes.hidden": "8,4",
        "lobes.dropout": "0.1", "lobes.slope": "0.01", "lobes.epoch": "3"}
f32 = lambda n: b"".join(struct.pack("<f", i / 10) for i in range(n))
put("checkpoint", "vae", safetensors({"enc.w": ("F32", [2, 3], f32(6)), "enc.b": ("F32", [3], f32(3))}, meta))
put("checkpoint", "cvae_f16", safetensors({"dec.w": ("F16", [4], b"\x00\x3c" * 4),
                                           "dec.i": ("I64", [2], struct.pack("<qq", 1, -2))},
                                          dict(meta, **{"lobes.model": "cvae"})))
put("checkpoint", "scalar", safetensors({"s": ("F64", [], struct.pack("<d", 1.5))}, {}))

# --- data specs --------------------------------------------------------------------------
for i, s in enumerate(["synthetic:2", "synthetic", "frdeep:corpus/pickle", "png:corpus/png",
                       "mirabest:x", "png:", "", "corpus", "hdf5:a/b", "frdeep-n:seed:1"]):
    put("data_spec", "spec%d" % i, s)
print("seed corpora written under", root)
PY
