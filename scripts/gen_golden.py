#!/usr/bin/env python3
"""Regenerates the interpolate golden data from PyTorch's CPU kernels.

Writes tests/golden/interpolate.txt (a text manifest, one case per line) and
tests/golden/interpolate.bin (little-endian raw tensors). The output is deterministic and the
same on every machine: every case draws its input from its own fixed seed, PyTorch runs its
portable (DEFAULT) CPU kernels with two threads, and regenerating reproduces the files byte for
byte.

Usage: python scripts/gen_golden.py [--out-dir DIR]   (needs torch; dev-only)

Manifest lines are space-separated key=value fields:
  id                     unique case name (number, mode, rank, dtype and variant)
  mode                   PyTorch's mode name
  dtype                  f32 | f64 | f16 | bf16 | u8
  in_shape, out_shape    comma-separated sizes (N, C, spatial...)
  size                   output size as passed to F.interpolate (one value or one per dim), or -
  scale                  scale_factor as passed (Python repr, exact in binary64), or -
  align_corners          true | false | unset
  antialias              true | false
  recompute_scale_factor true | false | unset
  in_offset, in_bytes    where the contiguous (C-order) input lies in the blob
  out_offset, out_bytes  where the contiguous expected output lies in the blob
Lines starting with '#' are comments; the first ones record the torch version and the
combinations PyTorch's CPU backend does not support (which therefore have no case).

Case names seed the inputs, so new cases must be appended. A case's id is
NNNN-MODE-rRANK-DTYPE[-TAG], where NNNN is its 1-based position among the cases written (a
combination PyTorch cannot run takes no number), and its input is drawn from
torch.Generator().manual_seed(zlib.crc32(id)). A case added after the last Writer.add call of
main() leaves every existing case line and blob byte as it was. A case added anywhere else,
or removed, or a skipped combination that a newer torch can run, renumbers every later case:
each gets a new id, hence a new input and expected output, and most of interpolate.bin changes.
A new mode in MODE_TRAITS does that too, since the first sections loop over every mode. (The
shapes of the grid in main() come from random.Random seeded with the combination, not the
position, so they survive a renumbering; the values do not.)
"""

import argparse
import os
import random
import sys
import zlib

# PyTorch's CPU kernels are compiled once per instruction set (DEFAULT, AVX2, AVX512) and pick
# one at run time; the vectorised builds let the compiler fuse multiply-adds, which changes
# results in the last bits (for nearest-exact even the chosen index). The portable DEFAULT build
# makes the goldens the same on every machine. Must be set before torch is imported.
os.environ["ATEN_CPU_CAPABILITY"] = "default"

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

DTYPES = {
    "f32": torch.float32,
    "f64": torch.float64,
    "f16": torch.float16,
    "bf16": torch.bfloat16,
    "u8": torch.uint8,
}
FLOAT_DTYPES = ["f32", "f64", "f16", "bf16"]

# The modes, in the order the cases are written, and what ups accepts for each: the spatial
# ranks of the input (input rank = spatial + 2), whether align_corners and antialias may be set,
# and whether u8 is supported (besides FLOAT_DTYPES). This is the library's table
# (ups::interp_modes(), printed by `ups info`) in Python, which cannot include it; the test
# cli:interpolate-modes (tests/cli/test_cli.py, ModeTableTests) fails when the two disagree.
# It must stay a plain literal: that test reads it with ast.literal_eval, without PyTorch.
MODE_TRAITS = {
    "nearest": {"spatial": [1, 2, 3], "align_corners": False, "antialias": False, "u8": True},
    "nearest-exact": {"spatial": [1, 2, 3], "align_corners": False, "antialias": False, "u8": True},
    "linear": {"spatial": [1], "align_corners": True, "antialias": False, "u8": False},
    "bilinear": {"spatial": [2], "align_corners": True, "antialias": True, "u8": False},
    "bicubic": {"spatial": [2], "align_corners": True, "antialias": True, "u8": False},
    "trilinear": {"spatial": [3], "align_corners": True, "antialias": False, "u8": False},
    "area": {"spatial": [1, 2, 3], "align_corners": False, "antialias": False, "u8": False},
}
MODES = list(MODE_TRAITS)
MODE_SPATIAL = {m: t["spatial"] for m, t in MODE_TRAITS.items()}
INTERPOLATING = {m for m, t in MODE_TRAITS.items() if t["align_corners"]}
ANTIALIAS_MODES = [m for m in MODES if MODE_TRAITS[m]["antialias"]]


def dtypes_for(mode):
    return FLOAT_DTYPES + (["u8"] if MODE_TRAITS[mode]["u8"] else [])


def aligns_for(mode):
    return [True, False, None] if mode in INTERPOLATING else [None]


class Writer:
    def __init__(self):
        self.blob = bytearray()
        self.lines = []
        self.skipped = {}  # description -> PyTorch's message
        self.counts = {}

    def _append(self, data):
        while len(self.blob) % 8:
            self.blob.append(0)
        off = len(self.blob)
        self.blob += data
        return off, len(data)

    def add(self, mode, dtype, in_shape, size=None, scale=None, align=None, antialias=False,
            recompute=None, tag=""):
        case_no = len(self.lines) + 1
        rank = len(in_shape)
        name = f"{case_no:04d}-{mode}-r{rank}-{dtype}"
        if tag:
            name += "-" + tag
        seed = zlib.crc32(name.encode())
        gen = torch.Generator().manual_seed(seed)
        if dtype == "u8":
            x = torch.randint(0, 256, in_shape, generator=gen, dtype=torch.int64).to(torch.uint8)
        else:
            # Values in [-1.5, 2.5): mostly positive with some negatives, so that interpolation
            # mixes signs and cancellation near zero is exercised.
            x = (torch.rand(in_shape, generator=gen, dtype=torch.float64) * 4.0 - 1.5)
            x = x.to(DTYPES[dtype])
        kwargs = dict(mode=mode, antialias=antialias)
        if size is not None:
            kwargs["size"] = size
        if scale is not None:
            kwargs["scale_factor"] = scale
        if align is not None:
            kwargs["align_corners"] = align
        if recompute is not None:
            kwargs["recompute_scale_factor"] = recompute
        try:
            y = F.interpolate(x, **kwargs)
        except (RuntimeError, NotImplementedError) as e:
            if "not implemented for" not in str(e):
                raise  # only a missing dtype kernel may skip a case
            key = f"mode={mode} dtype={dtype} antialias={str(antialias).lower()}"
            self.skipped.setdefault(key, str(e).splitlines()[0])
            return
        y = y.contiguous()
        in_off, in_len = self._append(to_bytes(x))
        out_off, out_len = self._append(to_bytes(y))
        fields = [
            ("id", name),
            ("mode", mode),
            ("dtype", dtype),
            ("in_shape", ",".join(str(s) for s in x.shape)),
            ("out_shape", ",".join(str(s) for s in y.shape)),
            ("size", fmt_list(size, str)),
            ("scale", fmt_list(scale, repr)),
            ("align_corners", fmt_bool(align)),
            ("antialias", fmt_bool(antialias)),
            ("recompute_scale_factor", fmt_bool(recompute)),
            ("in_offset", in_off),
            ("in_bytes", in_len),
            ("out_offset", out_off),
            ("out_bytes", out_len),
        ]
        self.lines.append(" ".join(f"{k}={v}" for k, v in fields))
        key = (mode, dtype)
        self.counts[key] = self.counts.get(key, 0) + 1


def to_bytes(t):
    t = t.contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.view(torch.int16)
    arr = t.numpy()
    if sys.byteorder != "little":
        arr = arr.byteswap()
    return arr.tobytes()


def fmt_list(v, f):
    if v is None:
        return "-"
    if isinstance(v, (list, tuple)):
        return ",".join(f(float(e)) if f is repr else f(e) for e in v)
    return f(float(v)) if f is repr else f(v)


def fmt_bool(v):
    return "unset" if v is None else ("true" if v else "false")


def spatial_for(rng, nsp, lo, hi):
    return [rng.randint(lo, hi) for _ in range(nsp)]


def batch(rng, nsp):
    # Rank-5 tensors stay small: their outputs grow with the cube of the scale.
    if nsp == 3:
        return [1, 2]
    return [rng.randint(1, 2), rng.randint(2, 3)]


# The size / scale_factor variants every (mode, rank, align_corners, dtype) combination gets.
# Each entry: tag, kind ("scale" or "size"), value, spatial input range per spatial rank.
SPECS = [
    ("s2", "scale", 2.0, {1: (3, 9), 2: (2, 6), 3: (2, 3)}),
    ("s3", "scale", 3.0, {1: (3, 9), 2: (1, 4), 3: (1, 3)}),
    ("s1.7", "scale", 1.7, {1: (3, 9), 2: (2, 7), 3: (2, 4)}),
    ("s2.5", "scale", 2.5, {1: (1, 9), 2: (2, 5), 3: (1, 3)}),
    ("s0.5", "scale", 0.5, {1: (3, 9), 2: (3, 9), 3: (3, 5)}),
    ("s0.37", "scale", 0.37, {1: (3, 9), 2: (3, 9), 3: (3, 6)}),
    ("size-up", "size", "up", {1: (2, 8), 2: (2, 6), 3: (2, 3)}),
    ("size-down", "size", "down", {1: (3, 9), 2: (3, 9), 3: (3, 5)}),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out-dir", default=os.path.join(here, "..", "tests", "golden"))
    args = ap.parse_args()

    # PyTorch sends 2-D bilinear with 3 channels to another kernel when it runs on one thread;
    # with two the kernel choice depends only on the shapes, which ups reproduces.
    torch.set_num_threads(2)
    capability = torch.backends.cpu.get_cpu_capability()
    print(f"torch {torch.__version__} (CPU capability {capability})")
    if capability != "DEFAULT":
        sys.exit("ATEN_CPU_CAPABILITY=default did not take effect; the goldens would differ")
    w = Writer()

    # 1. The full grid: mode x rank x align_corners x size/scale variant x dtype.
    for mode in MODES:
        for nsp in MODE_SPATIAL[mode]:
            for align in aligns_for(mode):
                for tag, kind, value, ranges in SPECS:
                    for dtype in dtypes_for(mode):
                        rng = random.Random(f"{mode}/{nsp}/{align}/{tag}/{dtype}")
                        lo, hi = ranges[nsp]
                        sp = spatial_for(rng, nsp, lo, hi)
                        shape = batch(rng, nsp) + sp
                        ac = fmt_bool(align)[0].upper()
                        full_tag = f"{tag}-ac{ac}"
                        if kind == "scale":
                            w.add(mode, dtype, shape, scale=value, align=align, tag=full_tag)
                        elif value == "up":
                            size = [s + rng.randint(1, s + 3) for s in sp]
                            w.add(mode, dtype, shape, size=size, align=align, tag=full_tag)
                        else:
                            size = [rng.randint(1, s - 1) for s in sp]
                            w.add(mode, dtype, shape, size=size, align=align, tag=full_tag)

    # 2. Anti-aliasing (bilinear and bicubic, rank 4): down and up, every align_corners.
    aa_specs = [
        ("aa-s0.5", dict(scale=0.5), [1, 2, 8, 7]),
        ("aa-s0.37", dict(scale=0.37), [2, 2, 9, 8]),
        ("aa-9to2", dict(size=[2, 2]), [1, 3, 9, 9]),
        ("aa-s0.25", dict(scale=0.25), [1, 2, 9, 9]),
        ("aa-size-down", dict(size=[3, 5]), [1, 2, 7, 9]),
        ("aa-mixed", dict(size=[2, 11]), [1, 2, 7, 5]),
        ("aa-s1.7", dict(scale=1.7), [1, 2, 4, 5]),
        ("aa-size-up", dict(size=[9, 6]), [2, 2, 4, 3]),
        ("aa-perdim-scale", dict(scale=[0.3, 1.5]), [1, 3, 9, 4]),
        ("aa-out1", dict(size=[1, 1]), [1, 2, 5, 6]),
    ]
    for mode in ANTIALIAS_MODES:
        for align in [True, False, None]:
            for tag, kw, shape in aa_specs:
                for dtype in FLOAT_DTYPES:
                    ac = fmt_bool(align)[0].upper()
                    w.add(mode, dtype, shape, align=align, antialias=True, tag=f"{tag}-ac{ac}", **kw)
        # recompute_scale_factor with antialias
        for dtype in ["f32", "f64"]:
            w.add(mode, dtype, [1, 2, 9, 7], scale=0.37, antialias=True, recompute=True,
                  tag="aa-rc-s0.37")

    # 3. Special cases, for every mode and rank. Rank-5 inputs keep the interesting extent in D
    # and small H, W, so that their outputs stay small.
    def sp(nsp, n):
        return {1: [n], 2: [n, n], 3: [n, 3, 3]}[nsp]

    for mode in MODES:
        for nsp in MODE_SPATIAL[mode]:
            for align in aligns_for(mode):
                ac = fmt_bool(align)[0].upper()
                for dtype in dtypes_for(mode):
                    wide = dtype in ("f32", "f64")
                    # recompute_scale_factor=True: the index math uses in/out, not 1/scale.
                    for s in [1.7, 0.37, 1.3] if wide else [1.3]:
                        w.add(mode, dtype, [1, 2] + sp(nsp, 7), scale=s, align=align,
                              recompute=True, tag=f"rc-s{s}-ac{ac}")
                    # 1/scale and in/out disagree: in=10, scale 2.05 gives out=20=2*in;
                    # in=7, scale 1.3 gives out=9.
                    w.add(mode, dtype, [1, 2] + {1: [10], 2: [4, 10], 3: [2, 2, 10]}[nsp],
                          scale=2.05, align=align,
                          tag=f"s2.05-ac{ac}")
                    w.add(mode, dtype, [1, 2] + sp(nsp, 7), scale=1.3, align=align,
                          tag=f"s1.3-ac{ac}")
                    # Output size equal to the input size with a non-1 scale (7 * 1.1 -> 7).
                    w.add(mode, dtype, [1, 2] + sp(nsp, 7), scale=1.1, align=align,
                          tag=f"same-s1.1-ac{ac}")
                    # Output size 1, by size and by scale (3 * 0.4 -> 1).
                    w.add(mode, dtype, [2, 2] + [4] * nsp, size=1, align=align,
                          tag=f"out1-size-ac{ac}")
                    w.add(mode, dtype, [1, 3] + [3] * nsp, scale=0.4, align=align,
                          tag=f"out1-scale-ac{ac}")
                    # Output size 1 in one dim only, growing in another.
                    if nsp >= 2:
                        w.add(mode, dtype, [1, 2] + [5] + [3] * (nsp - 1), size=[1] + [6] * (nsp - 1),
                              align=align, tag=f"out1-dim0-ac{ac}")
                    # Per-dim different sizes and scales.
                    sizes = {1: [11], 2: [3, 11], 3: [5, 2, 7]}[nsp]
                    scales = {1: [0.6], 2: [1.7, 0.5], 3: [2.0, 0.37, 1.3]}[nsp]
                    shp = {1: [1, 2, 6], 2: [1, 2, 6, 7], 3: [1, 2, 3, 6, 4]}[nsp]
                    w.add(mode, dtype, shp, size=sizes, align=align, tag=f"perdim-size-ac{ac}")
                    w.add(mode, dtype, shp, scale=scales, align=align, tag=f"perdim-scale-ac{ac}")
                    if wide or dtype == "u8":
                        # An explicit recompute_scale_factor=False (the same as unset).
                        w.add(mode, dtype, [1, 2] + sp(nsp, 5), scale=1.7, align=align,
                              recompute=False, tag=f"rc0-s1.7-ac{ac}")
                    if dtype != "u8":
                        # Large downscale 9 -> 2 (area pools wide windows), by size and by
                        # scale 0.25.
                        big = {1: [9], 2: [9, 9], 3: [9, 4, 4]}[nsp]
                        w.add(mode, dtype, [1, 2] + big, size=2, align=align,
                              tag=f"9to2-size-ac{ac}")
                        w.add(mode, dtype, [1, 2] + big, scale=0.25, align=align,
                              tag=f"9to2-scale-ac{ac}")

    # 4. Kernel-selection boundaries of PyTorch's CPU backend.
    for dtype in ["f32", "f64", "f16", "bf16", "u8"]:
        for mode in ["nearest", "nearest-exact"]:
            # 2-D outputs with H + W > 128 use the generic kernel: no 1x/2x special cases.
            w.add(mode, dtype, [1, 1, 3, 64], scale=2.05, tag="big2d-s2.05")
            w.add(mode, dtype, [1, 1, 2, 130], scale=1.005, tag="big2d-same-s1.005")
            w.add(mode, dtype, [1, 1, 2, 20], size=[2, 126], tag="small2d-edge-128")
            w.add(mode, dtype, [1, 1, 2, 20], size=[2, 127], tag="big2d-edge-129")
            # The generic kernel computes f64 positions in f64 (so they differ from f32 ones):
            # 6 -> 74 (nearest, index 37), 2 -> 41 (nearest-exact, index 20), 16 * 2.3, and for
            # the 2-D generic kernel 2 -> 164 (nearest) and 2 -> 141 (nearest-exact).
            w.add(mode, dtype, [1, 2, 6], size=74, tag="f64pos-6to74")
            w.add(mode, dtype, [1, 2, 2], size=41, tag="f64pos-2to41")
            w.add(mode, dtype, [1, 2, 16], scale=2.3, tag="f64pos-s2.3")
            w.add(mode, dtype, [1, 1, 6, 1, 2], size=[74, 1, 3], tag="f64pos-3d-6to74")
            w.add(mode, dtype, [1, 1, 2, 2, 1], size=[41, 3, 1], tag="f64pos-3d-2to41")
            w.add(mode, dtype, [1, 1, 1, 2], size=[1, 164], tag="f64pos-big2d-2to164")
            w.add(mode, dtype, [1, 1, 1, 2], size=[1, 141], tag="f64pos-big2d-2to141")
    for dtype in FLOAT_DTYPES:
        for align in [True, False, None]:
            ac = fmt_bool(align)[0].upper()
            # Bilinear outputs with H + W > 128 use the generic kernel (f16/bf16 weights rounded).
            w.add("bilinear", dtype, [1, 1, 2, 40], scale=[1.7, 3.3], align=align,
                  tag=f"big2d-ac{ac}")
            w.add("bilinear", dtype, [1, 1, 2, 9], size=[3, 126], align=align,
                  tag=f"edge-129-ac{ac}")
            w.add("bilinear", dtype, [1, 1, 2, 9], size=[3, 125], align=align,
                  tag=f"edge-128-ac{ac}")
        # Anti-aliasing skips a dim whose size does not change, whatever the scale factor.
        for mode in ["bilinear", "bicubic"]:
            w.add(mode, dtype, [1, 2, 7, 9], scale=[1.1, 0.5], antialias=True, tag="aa-sameH-s1.1")
            w.add(mode, dtype, [1, 2, 9, 7], scale=[0.37, 1.1], antialias=True, tag="aa-sameW-s1.1")
            w.add(mode, dtype, [1, 2, 7, 9], scale=1.1, antialias=True, tag="aa-same-s1.1")
        # 3-D area: f16/bf16 sums kept in the element type, except a 1x1x1 output (a mean).
        w.add("area", dtype, [1, 1, 9, 5, 5], size=[1, 1, 2], tag="3d-wide-window")
        w.add("area", dtype, [1, 1, 6, 5, 5], size=1, tag="3d-mean")

    os.makedirs(args.out_dir, exist_ok=True)
    header = [
        "# ups interpolate golden cases, generated by scripts/gen_golden.py from PyTorch's CPU",
        f"# kernels. torch_version={torch.__version__} "
        f"cpu_capability={torch.backends.cpu.get_cpu_capability()} threads={torch.get_num_threads()}",
        "# Tensors are little-endian, contiguous (C order) in interpolate.bin; f16/bf16 as raw bits.",
    ]
    if w.skipped:
        header.append("# Combinations PyTorch's CPU backend does not support (no cases):")
        for key, msg in sorted(w.skipped.items()):
            header.append(f"#   skipped: {key}: {msg}")
    with open(os.path.join(args.out_dir, "interpolate.txt"), "w", newline="\n") as f:
        f.write("\n".join(header + w.lines) + "\n")
    with open(os.path.join(args.out_dir, "interpolate.bin"), "wb") as f:
        f.write(bytes(w.blob))

    print(f"{len(w.lines)} cases, blob {len(w.blob)} bytes")
    for key, msg in sorted(w.skipped.items()):
        print(f"skipped (unsupported by PyTorch CPU): {key}: {msg}")
    modes = sorted({m for m, _ in w.counts}, key=MODES.index)
    for m in modes:
        per = ", ".join(f"{d}={w.counts[(m, d)]}" for d in DTYPES if (m, d) in w.counts)
        print(f"  {m}: {sum(v for (mm, _), v in w.counts.items() if mm == m)} ({per})")


if __name__ == "__main__":
    main()
