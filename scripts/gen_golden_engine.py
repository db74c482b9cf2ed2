#!/usr/bin/env python3
"""Regenerates the golden data of the interpolate modes that run on the resampling engine:
lanczos, tricubic and anti-aliased trilinear / tricubic.

Writes tests/golden/interpolate_engine.txt (a manifest, one case per line, in the format of
tests/golden/interpolate.txt, see scripts/gen_golden.py, plus an `oracle` field) and
tests/golden/interpolate_engine.bin (little-endian raw tensors). Deterministic: every case draws
its input from a seed derived from its id, and PyTorch runs its portable (DEFAULT) CPU kernels.

Oracles:
  direct     PyTorch's own mode (lanczos: F.interpolate(mode="lanczos", antialias=True), 2.15+).
  separable  3-D modes PyTorch lacks, composed from its 2-D ones, which is exact because the
             modes are separable: the 2-D mode (bicubic for tricubic, bilinear for trilinear,
             with the call's antialias and align_corners) on (H, W) of every D slice, then the
             same 2-D mode on (D, H * W) with the flattened dim kept at its size (scale 1: the
             identity for every rule). The script first checks the composition with bilinear
             against PyTorch's own trilinear and stops if they disagree.
Each case is computed in its own dtype (f32 or f64), so the weights are rounded as ups rounds
them; the composition rounds its intermediate to that dtype once, which the tests' tolerances
allow for.

Usage: /root/benchenv/bin/python scripts/gen_golden_engine.py [--out-dir DIR]  (needs torch)
"""

import argparse
import os
import sys
import zlib

os.environ["ATEN_CPU_CAPABILITY"] = "default"

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

DTYPES = {"f32": torch.float32, "f64": torch.float64}


def to_bytes(t):
    arr = t.contiguous().numpy()
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


def per_dim(v, n):
    if v is None:
        return None
    return list(v) if isinstance(v, (list, tuple)) else [v] * n


def separable_3d(x, mode2d, size=None, scale=None, align=None, antialias=False, recompute=None):
    """A rank-5 resize as two rank-4 ones: (H, W) per D slice, then (D, H * W)."""
    n, c, d, h, w = x.shape
    common = dict(mode=mode2d, antialias=antialias)
    if align is not None:
        common["align_corners"] = align
    if recompute is not None:
        common["recompute_scale_factor"] = recompute
    sizes, scales = per_dim(size, 3), per_dim(scale, 3)
    first = dict(common)
    if sizes:
        first["size"] = (sizes[1], sizes[2])
    else:
        first["scale_factor"] = (scales[1], scales[2])
    y = F.interpolate(x.reshape(n, c * d, h, w), **first)
    oh, ow = y.shape[2], y.shape[3]
    y = y.reshape(n, c, d, oh * ow)
    second = dict(common)
    if sizes:
        second["size"] = (sizes[0], oh * ow)
    else:
        second["scale_factor"] = (scales[0], 1.0)
    y = F.interpolate(y, **second)
    return y.reshape(n, c, y.shape[2], oh, ow)


def check_composition():
    """The composition against PyTorch's own trilinear, in f64."""
    gen = torch.Generator().manual_seed(1)
    for shape, kw in [
        ((1, 2, 4, 5, 6), dict(size=(7, 3, 9))),
        ((2, 1, 5, 3, 4), dict(scale_factor=(1.7, 0.6, 2.0))),
        ((1, 2, 3, 6, 5), dict(scale_factor=(2.5, 1.5, 0.45), recompute_scale_factor=True)),
        ((1, 1, 1, 4, 4), dict(size=(3, 1, 6))),
    ]:
        x = torch.rand(shape, generator=gen, dtype=torch.float64) * 4 - 1.5
        for align in (None, True, False):
            a = dict(kw)
            if align is not None:
                a["align_corners"] = align
            want = F.interpolate(x, mode="trilinear", **a)
            got = separable_3d(x, "bilinear", size=kw.get("size"),
                               scale=kw.get("scale_factor"), align=align,
                               recompute=kw.get("recompute_scale_factor"))
            err = (want - got).abs().max().item()
            if want.shape != got.shape or err > 1e-12:
                sys.exit("gen_golden_engine: the separable composition disagrees with trilinear "
                         "(%s, %s, align_corners=%s): %g" % (shape, kw, align, err))


class Writer:
    def __init__(self):
        self.blob = bytearray()
        self.lines = []

    def _append(self, data):
        while len(self.blob) % 8:
            self.blob.append(0)
        off = len(self.blob)
        self.blob += data
        return off, len(data)

    def add(self, mode, dtype, in_shape, size=None, scale=None, align=None, antialias=False,
            recompute=None, tag=""):
        name = f"{len(self.lines) + 1:04d}-{mode}-r{len(in_shape)}-{dtype}"
        if antialias and mode != "lanczos":
            name += "-aa"
        if tag:
            name += "-" + tag
        gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
        x = (torch.rand(in_shape, generator=gen, dtype=torch.float64) * 4.0 - 1.5)
        x = x.to(DTYPES[dtype])
        if mode == "lanczos":
            oracle = "direct"
            kw = dict(mode="lanczos", antialias=antialias)
            if size is not None:
                kw["size"] = size
            if scale is not None:
                kw["scale_factor"] = scale
            if align is not None:
                kw["align_corners"] = align
            if recompute is not None:
                kw["recompute_scale_factor"] = recompute
            y = F.interpolate(x, **kw)
        else:
            oracle = "separable"
            mode2d = {"tricubic": "bicubic", "trilinear": "bilinear"}[mode]
            y = separable_3d(x, mode2d, size, scale, align, antialias, recompute)
        in_off, in_len = self._append(to_bytes(x))
        out_off, out_len = self._append(to_bytes(y))
        fields = [
            ("id", name), ("mode", mode), ("dtype", dtype),
            ("in_shape", ",".join(str(s) for s in x.shape)),
            ("out_shape", ",".join(str(s) for s in y.shape)),
            ("size", fmt_list(size, str)), ("scale", fmt_list(scale, repr)),
            ("align_corners", fmt_bool(align)), ("antialias", fmt_bool(antialias)),
            ("recompute_scale_factor", fmt_bool(recompute)),
            ("in_offset", in_off), ("in_bytes", in_len),
            ("out_offset", out_off), ("out_bytes", out_len), ("oracle", oracle),
        ]
        self.lines.append(" ".join(f"{k}={v}" for k, v in fields))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default=os.path.join(os.path.dirname(__file__), "..", "tests",
                                                      "golden"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    check_composition()
    w = Writer()
    for dt in ("f32", "f64"):
        # lanczos, straight from PyTorch: up, down, non-integer scales, mixed directions, sizes
        # of 1, size versus scale_factor, recompute, a dim that keeps its size under a scale
        # other than 1 (PyTorch skips it), a large downscale (wide windows), align_corners=False.
        L = "lanczos"
        w.add(L, dt, (1, 2, 5, 7), size=(9, 13), antialias=True, tag="size-up")
        w.add(L, dt, (2, 3, 23, 17), size=(7, 5), antialias=True, tag="size-down")
        w.add(L, dt, (1, 2, 6, 5), scale=(1.7, 2.3), antialias=True, tag="scale-frac-up")
        w.add(L, dt, (1, 2, 6, 5), scale=2.0, antialias=True, tag="scale-int")
        w.add(L, dt, (1, 2, 19, 23), scale=(0.43, 0.61), antialias=True, tag="scale-down")
        w.add(L, dt, (1, 2, 19, 23), scale=0.37, antialias=True, recompute=True,
              tag="recompute")
        w.add(L, dt, (1, 2, 9, 14), size=(20, 4), antialias=True, tag="mixed")
        w.add(L, dt, (1, 2, 5, 14), scale=(1.1, 0.5), antialias=True, tag="same-size-dim")
        w.add(L, dt, (1, 1, 1, 6), size=(4, 3), antialias=True, tag="in-1")
        w.add(L, dt, (1, 2, 7, 9), size=(1, 1), antialias=True, tag="out-1")
        w.add(L, dt, (1, 1, 1, 1), scale=3.0, antialias=True, tag="one-element")
        w.add(L, dt, (1, 2, 64, 48), size=(5, 7), antialias=True, tag="large-down")
        w.add(L, dt, (1, 2, 8, 6), size=(5, 9), align=False, antialias=True, tag="align-false")
        # tricubic by separability: every align_corners setting, up, down, scales, recompute,
        # sizes of 1.
        T = "tricubic"
        for align in (None, False, True):
            a = {None: "unset", False: "false", True: "true"}[align]
            w.add(T, dt, (1, 2, 3, 4, 5), size=(5, 7, 6), align=align, tag="size-up-" + a)
            w.add(T, dt, (1, 2, 6, 7, 5), size=(3, 4, 2), align=align, tag="size-down-" + a)
            w.add(T, dt, (1, 1, 3, 4, 3), scale=2.0, align=align, tag="scale-int-" + a)
            w.add(T, dt, (1, 2, 3, 4, 3), scale=(1.6, 2.5, 1.3), align=align,
                  tag="scale-frac-up-" + a)
            w.add(T, dt, (1, 2, 7, 6, 8), scale=(0.55, 0.37, 0.5), align=align,
                  tag="scale-down-" + a)
            w.add(T, dt, (1, 2, 5, 6, 4), scale=(1.7, 0.6, 1.4), align=align, recompute=True,
                  tag="recompute-" + a)
            w.add(T, dt, (1, 2, 4, 5, 3), size=(1, 1, 1), align=align, tag="out-1-" + a)
            w.add(T, dt, (2, 1, 1, 3, 1), size=(3, 4, 2), align=align, tag="in-1-" + a)
        # anti-aliased trilinear and tricubic by separability (PyTorch's 2-D anti-aliasing per
        # dim): down, up, mixed, scales, align_corners, a dim that keeps its size.
        for mode in ("trilinear", "tricubic"):
            for align in (None, True):
                a = "unset" if align is None else "true"
                w.add(mode, dt, (1, 2, 9, 11, 10), size=(4, 3, 5), align=align, antialias=True,
                      tag="size-down-" + a)
                w.add(mode, dt, (1, 2, 3, 4, 2), size=(5, 6, 7), align=align, antialias=True,
                      tag="size-up-" + a)
            w.add(mode, dt, (1, 2, 8, 5, 12), size=(3, 9, 4), antialias=True, tag="mixed")
            w.add(mode, dt, (1, 2, 10, 9, 13), scale=(0.45, 0.7, 0.3), antialias=True,
                  tag="scale-down")
            w.add(mode, dt, (1, 2, 10, 9, 13), scale=(0.45, 0.7, 0.3), antialias=True,
                  recompute=True, tag="recompute")
            w.add(mode, dt, (1, 1, 6, 7, 5), scale=(1.1, 0.5, 1.0), antialias=True,
                  tag="same-size-dim")
            w.add(mode, dt, (1, 1, 7, 6, 9), size=(1, 1, 1), antialias=True, tag="out-1")
    header = [
        "# ups golden cases of the engine-backed interpolate modes, generated by "
        "scripts/gen_golden_engine.py.",
        "# torch_version=%s cpu_capability=DEFAULT threads=2" % torch.__version__,
        "# oracle=direct: PyTorch's own mode; oracle=separable: PyTorch's 2-D mode on (H, W), "
        "then on (D, H * W).",
    ]
    with open(os.path.join(args.out_dir, "interpolate_engine.txt"), "w", newline="\n") as f:
        f.write("\n".join(header + w.lines) + "\n")
    with open(os.path.join(args.out_dir, "interpolate_engine.bin"), "wb") as f:
        f.write(bytes(w.blob))
    print("wrote %d cases, %d bytes" % (len(w.lines), len(w.blob)))


if __name__ == "__main__":
    main()
