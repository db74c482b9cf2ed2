#!/usr/bin/env python3
"""Regenerates the max_pool / max_unpool / pixel shuffle golden data from PyTorch's CPU kernels.

Writes, into tests/golden (or --out-dir):
  pool.txt, pool.bin                    max_pool (values and indices) and max_unpool cases
  pixel_shuffle.txt, pixel_shuffle.bin  pixel_shuffle and pixel_unshuffle cases

Usage: /root/torchenv/bin/python scripts/gen_golden_pool.py [--out-dir DIR]  (needs torch; dev-only)

The output is deterministic: every input comes from a fixed seed, and PyTorch runs on one thread
(its CPU max_unpool kernel races on duplicate indices with several threads; on one thread the
largest input position wins, which is the rule ups documents).

Manifest lines are space-separated key=value fields; lists are comma-separated, '-' means unset:
  id            unique case name
  op            max_pool | max_unpool | pixel_shuffle | pixel_unshuffle
  dtype         f32 | f64 | f16 | bf16 | u8 | i32 | i64
  in_shape      input sizes (also the indices' sizes for max_unpool)
  out_shape     output sizes (also the indices' sizes for max_pool)
  dims          spatial dims of max_pool / max_unpool (1, 2 or 3)
  unbatched     1 when the input has no batch dim (ups: spatial_dims = dims), else 0
  kernel, stride, padding, dilation, ceil_mode, output_size
                the arguments exactly as passed to torch (one value or one per dim)
  factor        upscale / downscale factor of the shuffles
  in, out, idx  OFFSET:BYTES of the contiguous (C-order) tensors in the .bin file
  error         (max_unpool, last field) PyTorch's error message, which runs to the end of the
                line; such cases have no out_shape and no out
  expected_by   torch (PyTorch computed the expected output directly) or torch-f64-map (integer
                dtypes of max_unpool, which PyTorch's CPU kernel lacks: PyTorch unpools the f64
                positions of the input elements and the expected output gathers the integer
                input by that map, which is exact)
Tensors are little-endian; f16 and bf16 are stored as raw bits, so NaN payloads survive.
Lines starting with '#' are comments; the first ones record the torch version.
"""

import argparse
import os
import sys

import torch
import torch.nn.functional as F

DTYPES = {
    "f32": torch.float32,
    "f64": torch.float64,
    "f16": torch.float16,
    "bf16": torch.bfloat16,
    "u8": torch.uint8,
    "i32": torch.int32,
    "i64": torch.int64,
}
FLOATS = ["f32", "f64", "f16", "bf16"]
INTS = ["u8", "i32", "i64"]
BITS_VIEW = {"f32": torch.int32, "f64": torch.int64, "f16": torch.int16, "bf16": torch.int16}
POOL_FN = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
UNPOOL_FN = {1: F.max_unpool1d, 2: F.max_unpool2d, 3: F.max_unpool3d}


class Blob:
    """Little-endian tensor storage; identical tensors are stored once."""

    def __init__(self):
        self.data = bytearray()
        self.seen = {}

    def add(self, t):
        t = t.contiguous()
        if t.dtype in (torch.float16, torch.bfloat16):
            t = t.view(torch.int16)
        raw = t.numpy().tobytes()
        if raw in self.seen:
            return self.seen[raw]
        while len(self.data) % 8:
            self.data.append(0)
        ref = f"{len(self.data)}:{len(raw)}"
        self.data += raw
        self.seen[raw] = ref
        return ref


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (list, tuple)):
        return ",".join(str(int(x)) for x in v) if len(v) else "-"
    return str(v)


def gen(seed):
    return torch.Generator().manual_seed(seed)


def random_bits(dtype, shape, seed):
    """Arbitrary bit patterns (NaN payloads, infinities, subnormals) for copy-only ops."""
    g = gen(seed)
    if dtype in BITS_VIEW:
        iv = BITS_VIEW[dtype]
        info = torch.iinfo(iv)
        return torch.randint(info.min, info.max, shape, generator=g, dtype=iv).view(DTYPES[dtype])
    info = torch.iinfo(DTYPES[dtype])
    return torch.randint(info.min, info.max, shape, generator=g, dtype=DTYPES[dtype])


def pool_input(dtype, shape, variant, seed):
    """Inputs for max_pool. 'ties' draws from a coarse grid so that windows hold equal maxima;
    'wide' spans the type; 'nan' mixes NaN and +-inf into ties; 'lowest' is all -inf (or the
    integer minimum), so that every window reports its first in-bounds element."""
    g = gen(seed)
    t = DTYPES[dtype]
    if variant == "lowest":
        if dtype in FLOATS:
            return torch.full(shape, float("-inf"), dtype=t)
        return torch.full(shape, torch.iinfo(t).min, dtype=t)
    if dtype in FLOATS:
        if variant == "wide":
            x = torch.randn(shape, generator=g, dtype=torch.float64) * 3
        else:
            x = torch.randint(-6, 7, shape, generator=g).double() / 4
        if variant == "nan":
            r = torch.rand(shape, generator=g, dtype=torch.float64)
            x[r < 0.12] = float("nan")
            x[(r >= 0.12) & (r < 0.17)] = float("inf")
            x[(r >= 0.17) & (r < 0.22)] = float("-inf")
        x = x.to(t)
        if variant == "nan" and dtype in ("f16", "bf16"):
            # NaNs with a sign and a payload: PyTorch's kernel returns them converted through f32
            # (f16: sign | 0x7e00, bf16: 0x7fc0), which ups reproduces.
            bits = x.view(torch.int16).clone()
            nanpos = torch.isnan(x).flatten().nonzero().flatten()
            alt = [-512, 0x7C01, -1023] if dtype == "f16" else [-64, 0x7F81, -127]
            flat = bits.flatten()
            for j, p in enumerate(nanpos.tolist()):
                flat[p] = alt[j % len(alt)] if j % 2 else flat[p]
            x = flat.view(torch.int16).reshape(shape).view(t)
        return x
    info = torch.iinfo(t)
    if variant == "wide":
        return torch.randint(info.min, info.max, shape, generator=g, dtype=t)
    lo = 0 if dtype == "u8" else -4
    return torch.randint(lo, lo + 6, shape, generator=g, dtype=t)


def unpool_reference(dtype, dims, src, idx, kernel, stride, padding, output_size):
    """PyTorch's max_unpool, or for integer dtypes (no PyTorch kernel) the exact f64 map route."""
    fn = UNPOOL_FN[dims]
    # F.max_unpool*d takes an int or one value per dim (a one-element list would not broadcast).
    kernel, stride, padding = (v[0] if isinstance(v, list) and len(v) == 1 else v
                               for v in (kernel, stride, padding))
    if dtype not in INTS:
        return fn(src, idx, kernel, stride, padding, output_size), "torch"
    # Unpool 1 + the flat position of each input element (exact in f64), then gather.
    pos = torch.arange(1, src.numel() + 1, dtype=torch.float64).reshape(src.shape)
    m = fn(pos, idx, kernel, stride, padding, output_size).to(torch.int64)
    flat = torch.cat([torch.zeros(1, dtype=src.dtype), src.flatten()])
    return flat[m.flatten()].reshape(m.shape), "torch-f64-map"


class Writer:
    def __init__(self):
        self.blob = Blob()
        self.lines = []
        self.count = 0

    def line(self, fields):
        self.count += 1
        self.lines.append(" ".join(f"{k}={fmt(v)}" for k, v in fields))


def pool_case(w, dims, dtype, shape, kernel, stride, padding, dilation, ceil_mode, variant, seed,
              unbatched=False, unpool=None):
    x = pool_input(dtype, shape, variant, seed)
    try:
        v, i = POOL_FN[dims](x, kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    except RuntimeError:
        return False  # PyTorch rejects the combination (e.g. output too small): no case
    n = w.count
    w.line([("id", f"mp{dims}d_{n:04d}_{dtype}_{variant}"), ("op", "max_pool"),
            ("dtype", dtype), ("dims", dims), ("unbatched", unbatched),
            ("in_shape", list(x.shape)), ("out_shape", list(v.shape)),
            ("kernel", kernel), ("stride", stride), ("padding", padding),
            ("dilation", dilation), ("ceil_mode", ceil_mode),
            ("in", w.blob.add(x)), ("out", w.blob.add(v)), ("idx", w.blob.add(i))])
    if unpool is not None:
        # Unpool the pooled values with the pooling's kernel, stride and padding.
        for output_size in unpool:
            unpool_case(w, dims, dtype, v, i, kernel, stride, padding, output_size, "pooled",
                        unbatched)
    return True


def unpool_case(w, dims, dtype, src, idx, kernel, stride, padding, output_size, variant,
                unbatched=False):
    error = None
    try:
        out, by = unpool_reference(dtype, dims, src, idx, kernel, stride, padding, output_size)
    except ValueError:
        return False  # an output_size PyTorch rejects: no case
    except RuntimeError as e:
        # A smaller output_size can leave pooled indices out of range: PyTorch's message is the
        # expected result (the input is contiguous, so PyTorch names the last invalid index).
        if not str(e).startswith("Found an invalid max index"):
            raise
        error, by = str(e), "torch"
    n = w.count
    fields = [("id", f"mu{dims}d_{n:04d}_{dtype}_{variant}"), ("op", "max_unpool"),
              ("dtype", dtype), ("dims", dims), ("unbatched", unbatched),
              ("in_shape", list(src.shape)), ("kernel", kernel), ("stride", stride),
              ("padding", padding), ("output_size", output_size), ("expected_by", by),
              ("in", w.blob.add(src)), ("idx", w.blob.add(idx))]
    if error is None:
        fields[6:6] = [("out_shape", list(out.shape))]
        fields.append(("out", w.blob.add(out)))
    else:
        fields.append(("error", error))  # always last: the message runs to the end of the line
    w.line(fields)
    return True


def per_dim(dims, values):
    return list(values[:dims])


def pool_cases(w):
    shapes = {1: (2, 3, 11), 2: (1, 2, 7, 8), 3: (1, 2, 4, 5, 6)}
    seed = 1000
    # The full parameter grid in f32 (with ties, so that first-maximum-wins is exercised).
    for dims in (1, 2, 3):
        kernels = [[2], [3], per_dim(dims, [3, 2, 1]) if dims > 1 else [4]]
        strides = [None, [1], per_dim(dims, [2, 1, 3]) if dims > 1 else [3]]
        for kernel in kernels:
            for stride in strides:
                for pad_on in (False, True):
                    k = kernel * dims if len(kernel) == 1 else kernel
                    padding = [min(1, kk // 2) if pad_on else 0 for kk in k]
                    if len(set(padding)) == 1:
                        padding = padding[:1]
                    for dilation in ([1], [2]):
                        for ceil_mode in (False, True):
                            seed += 1
                            pool_case(w, dims, "f32", shapes[dims], kernel, stride, padding,
                                      dilation, ceil_mode, "ties", seed)
    # Every dtype on a few configurations, with ties and with wide values.
    configs = [([3], [2], [1], [1], True), ([2], None, [0], [1], False),
               ([3], [1], [1], [2], False), (None, None, None, [1], True)]
    for dims in (1, 2, 3):
        for dtype in DTYPES:
            for variant in ("ties", "wide"):
                for kernel, stride, padding, dilation, ceil_mode in configs:
                    if kernel is None:  # per-dim mix
                        kernel = per_dim(dims, [2, 3, 2]) if dims > 1 else [3]
                        stride = per_dim(dims, [1, 2, 2]) if dims > 1 else [2]
                        padding = per_dim(dims, [1, 0, 1]) if dims > 1 else [1]
                    seed += 1
                    pool_case(w, dims, dtype, shapes[dims], kernel, stride, padding, dilation,
                              ceil_mode, variant, seed)
    # NaN and infinities (overlapping windows so that several NaNs share a window).
    for dims in (1, 2, 3):
        for dtype in FLOATS:
            for kernel, stride, padding, dilation in (([3], [1], [1], [1]), ([3], [2], [1], [2])):
                seed += 1
                pool_case(w, dims, dtype, shapes[dims], kernel, stride, padding, dilation, True,
                          "nan", seed)
    # Windows of -inf only (the first in-bounds tap is reported), padding and dilation.
    for dims in (1, 2, 3):
        for dtype in DTYPES:
            seed += 1
            pool_case(w, dims, dtype, shapes[dims], [3], [2], [1], [2], True, "lowest", seed)
    # Windows with no in-bounds tap at all (dilation jumps over the input).
    for dims, shape, kernel, padding, dilation in (
            (1, (1, 2, 2), [2], [1], [3]),
            (2, (1, 2, 1, 2), [1, 2], [0, 1], [1, 3]),
            (3, (1, 1, 1, 2, 2), [1, 2, 2], [0, 1, 1], [1, 3, 3])):
        for dtype in ("f32", "f16", "u8", "i64"):
            seed += 1
            pool_case(w, dims, dtype, shape, kernel, [1], padding, dilation, False, "ties", seed)
    # Ceil mode dropping a last window that would start in the right padding.
    for dims, shape in ((1, (1, 2, 3)), (2, (1, 2, 3, 3)), (3, (1, 1, 3, 3, 3))):
        seed += 1
        pool_case(w, dims, "f32", shape, [2], [2], [1], [1], True, "wide", seed)
    # Unbatched inputs.
    for dims, shape in ((1, (3, 11)), (2, (2, 7, 8)), (3, (2, 4, 5, 6))):
        for dtype in ("f32", "bf16", "i32"):
            seed += 1
            pool_case(w, dims, dtype, shape, [3], [2], [1], [1], False, "ties", seed,
                      unbatched=True)
    return seed


def unpool_cases(w, seed):
    shapes = {1: (2, 3, 12), 2: (2, 2, 7, 8), 3: (1, 2, 4, 5, 6)}
    # Indices from max_pool: non-overlapping and overlapping windows (duplicates), default and
    # explicit output sizes (k and k + 2 entries).
    for dims in (1, 2, 3):
        for dtype in DTYPES:
            for kernel, stride, padding in (([2], None, [0]), ([3], [2], [1]), ([3], [1], [1])):
                k = kernel[0]
                s = (stride or kernel)[0]
                sp = shapes[dims][2:]
                out_default = []
                for n in sp:
                    o = (n + 2 * padding[0] - k) // s + 1
                    out_default.append((o - 1) * s + k - 2 * padding[0])
                sizes = [None, [d + s - 1 for d in out_default]]
                if s > 1:
                    # k + 2 entries (the first two are ignored); a smaller size can leave pooled
                    # indices out of range, which makes an invalid-index case.
                    sizes.append(list(shapes[dims][:2]) + [d + 1 for d in out_default])
                    sizes.append(list(shapes[dims][:2]) + [d - 1 for d in out_default])
                seed += 1
                pool_case(w, dims, dtype, shapes[dims], kernel, stride, padding, [1], False,
                          "ties" if dtype in INTS else "wide", seed, unpool=sizes)
    # Arbitrary indices with many duplicates and arbitrary bit patterns (NaN payloads included):
    # the largest input position must win, bit for bit.
    for dims in (1, 2, 3):
        for dtype in DTYPES:
            shape = {1: (2, 3, 9), 2: (2, 3, 4, 5), 3: (1, 2, 3, 4, 5)}[dims]
            kernel = [2]
            out = [(n - 1) * 2 + 2 for n in shape[2:]]
            plane = 1
            for o in out:
                plane *= o
            seed += 1
            src = random_bits(dtype, shape, seed)
            idx = torch.randint(0, max(1, plane // 6), shape, generator=gen(seed + 7))
            unpool_case(w, dims, dtype, src, idx, kernel, None, [0], None, "dups")
    # Unbatched input.
    for dims, shape in ((1, (3, 12)), (2, (2, 7, 8)), (3, (2, 4, 5, 6))):
        seed += 1
        pool_case(w, dims, "f32", shape, [3], [2], [1], [1], False, "wide", seed, unbatched=True,
                  unpool=[None])
    return seed


def shuffle_cases(w):
    seed = 5000
    for op in ("pixel_shuffle", "pixel_unshuffle"):
        for rank in (3, 4, 5):
            for r in (1, 2, 3):
                for dtype in DTYPES:
                    if op == "pixel_shuffle":
                        tail = (2 * r * r, 3, 2)
                    else:
                        tail = (2, 3 * r, 2 * r)
                    lead = {3: (), 4: (2,), 5: (2, 1)}[rank]
                    shape = lead + tail
                    seed += 1
                    x = random_bits(dtype, shape, seed)
                    fn = F.pixel_shuffle if op == "pixel_shuffle" else F.pixel_unshuffle
                    y = fn(x, r)
                    n = w.count
                    w.line([("id", f"ps_{n:04d}_{op}_r{r}_rank{rank}_{dtype}"), ("op", op),
                            ("dtype", dtype), ("in_shape", list(shape)),
                            ("out_shape", list(y.shape)), ("factor", r),
                            ("in", w.blob.add(x)), ("out", w.blob.add(y))])


def write(out_dir, name, w, header):
    with open(os.path.join(out_dir, name + ".bin"), "wb") as f:
        f.write(bytes(w.blob.data))
    with open(os.path.join(out_dir, name + ".txt"), "w") as f:
        for h in header:
            f.write("# " + h + "\n")
        for line in w.lines:
            f.write(line + "\n")
    print(f"{name}: {w.count} cases, {len(w.blob.data)} bytes of tensors", file=sys.stderr)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=os.path.join(here, "..", "tests", "golden"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(False)
    header = [f"generated by scripts/gen_golden_pool.py from PyTorch's CPU kernels. "
              f"torch_version={torch.__version__}",
              "Tensors are little-endian, contiguous (C order); f16/bf16 as raw bits."]

    w = Writer()
    seed = pool_cases(w)
    unpool_cases(w, seed)
    write(args.out_dir, "pool", w, header)

    w = Writer()
    shuffle_cases(w)
    write(args.out_dir, "pixel_shuffle", w, header)


if __name__ == "__main__":
    main()
