#!/usr/bin/env python3
"""Regenerates the golden data of the backward passes of max_pool, max_unpool, pixel_shuffle and
pixel_unshuffle from PyTorch autograd on the CPU.

Writes, into tests/golden (or --out-dir):
  backward_pool.txt, backward_pool.bin

Usage: /root/benchenv/bin/python scripts/gen_golden_backward_pool.py [--out-dir DIR]
(needs torch; dev-only. CI and the tests read the committed files.)

Every case runs the forward op on a leaf tensor x with requires_grad, calls backward with a
random grad_output, and records x.grad. The output is deterministic: inputs come from fixed
seeds (torch.Generator per case) and PyTorch runs on one thread.

The manifest has the format of scripts/gen_golden_pool.py (space-separated key=value fields,
lists comma-separated, '-' for unset), with these keys:
  id            unique case name
  op            max_pool_backward | max_unpool_backward | pixel_shuffle_backward |
                pixel_unshuffle_backward
  dtype         f32 | f64 | f16 | bf16
  in_shape      the forward input's shape: grad_input's (and, for max_unpool, the indices')
  out_shape     the forward output's shape: grad_output's (and, for max_pool, the indices')
  dims, unbatched, kernel, stride, padding, dilation, ceil_mode, output_size, factor
                as in gen_golden_pool.py
  grad_out, idx, grad_in
                OFFSET:BYTES of grad_output, the indices (i64) and the expected grad_input in
                the .bin file, contiguous (C order), little-endian; f16/bf16 as raw bits
  multi         max_pool_backward: 1 when some grad_input element receives the gradient of
                more than one output window (its value is then a sum whose rounding depends on
                the order of additions), else 0
"""

import argparse
import os
import sys

import torch
import torch.nn.functional as F

DTYPES = {"f32": torch.float32, "f64": torch.float64, "f16": torch.float16,
          "bf16": torch.bfloat16}
POOL_FN = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
UNPOOL_FN = {1: F.max_unpool1d, 2: F.max_unpool2d, 3: F.max_unpool3d}


class Blob:
    """Little-endian tensor storage; identical tensors are stored once."""

    def __init__(self):
        self.data = bytearray()
        self.seen = {}

    def add(self, t):
        t = t.detach().contiguous()
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


class Writer:
    def __init__(self):
        self.blob = Blob()
        self.lines = []

    def line(self, fields):
        self.lines.append(" ".join(f"{k}={fmt(v)}" for k, v in fields))


def gen(seed):
    return torch.Generator().manual_seed(seed)


def values(dtype, shape, seed, ties):
    """Forward inputs: with `ties`, a coarse grid so that windows hold equal maxima."""
    g = gen(seed)
    if ties:
        x = torch.randint(-3, 4, shape, generator=g).double() / 2
    else:
        x = torch.randn(shape, generator=g, dtype=torch.float64)
    return x.to(DTYPES[dtype])


def grads(dtype, shape, seed):
    """Random gradients, drawn in f64 and rounded to the dtype."""
    return torch.randn(shape, generator=gen(seed), dtype=torch.float64).to(DTYPES[dtype])


def one(v):
    """F.max_pool / F.max_unpool take an int or one value per dim."""
    return v[0] if isinstance(v, list) and len(v) == 1 else v


def pool_case(w, n, dims, dtype, shape, kernel, stride, padding, dilation, ceil_mode, ties, seed,
              unbatched=False):
    x = values(dtype, shape, seed, ties).requires_grad_()
    v, i = POOL_FN[dims](x, one(kernel), one(stride) if stride else None, one(padding),
                         one(dilation), ceil_mode, return_indices=True)
    g = grads(dtype, v.shape, seed + 1)
    v.backward(g)
    # Whether an input element is named by more than one window of its plane.
    planes = i.reshape(-1, i.shape[-dims:].numel())
    multi = any(torch.unique(p, return_counts=True)[1].max().item() > 1 for p in planes)
    w.line([("id", f"bmp{dims}d_{n:04d}_{dtype}{'_ties' if ties else ''}"),
            ("op", "max_pool_backward"), ("dtype", dtype), ("dims", dims),
            ("unbatched", unbatched), ("in_shape", list(x.shape)), ("out_shape", list(v.shape)),
            ("kernel", kernel), ("stride", stride), ("padding", padding),
            ("dilation", dilation), ("ceil_mode", ceil_mode), ("multi", multi),
            ("grad_out", w.blob.add(g)), ("idx", w.blob.add(i)),
            ("grad_in", w.blob.add(x.grad))])


def unpool_case(w, n, dims, dtype, src, idx, kernel, stride, padding, output_size, tag, seed,
                unbatched=False):
    x = src.detach().clone().requires_grad_()
    y = UNPOOL_FN[dims](x, idx, one(kernel), one(stride) if stride else None, one(padding),
                        output_size)
    g = grads(dtype, y.shape, seed)
    y.backward(g)
    w.line([("id", f"bmu{dims}d_{n:04d}_{dtype}_{tag}"), ("op", "max_unpool_backward"),
            ("dtype", dtype), ("dims", dims), ("unbatched", unbatched),
            ("in_shape", list(x.shape)), ("out_shape", list(y.shape)), ("kernel", kernel),
            ("stride", stride), ("padding", padding), ("output_size", output_size),
            ("grad_out", w.blob.add(g)), ("idx", w.blob.add(idx)),
            ("grad_in", w.blob.add(x.grad))])


def per_dim(dims, v):
    return list(v[:dims])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=os.path.join(here, "..", "tests", "golden"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(False)
    w = Writer()
    n = 0
    seed = 20000

    # max_pool: non-overlapping windows, overlapping windows (stride < kernel), padding,
    # dilation, ceil mode and per-dim options, with ties (the first maximum of a window wins)
    # and without.
    shapes = {1: (2, 3, 11), 2: (2, 2, 7, 8), 3: (1, 2, 4, 5, 6)}
    configs = [
        # kernel, stride, padding, dilation, ceil_mode
        ([2], None, [0], [1], False),
        ([3], [1], [1], [1], False),
        ([3], [2], [1], [1], True),
        ([3], [2], [1], [2], True),
        ([2], [1], [0], [2], False),
        ("mix", None, None, None, True),
    ]
    for dims in (1, 2, 3):
        for dtype in DTYPES:
            for kernel, stride, padding, dilation, ceil_mode in configs:
                if kernel == "mix":
                    kernel = per_dim(dims, [2, 3, 2]) if dims > 1 else [3]
                    stride = per_dim(dims, [1, 2, 2]) if dims > 1 else [2]
                    padding = per_dim(dims, [1, 0, 1]) if dims > 1 else [1]
                    dilation = per_dim(dims, [1, 1, 2]) if dims > 1 else [2]
                for ties in (True, False):
                    n += 1
                    seed += 2
                    pool_case(w, n, dims, dtype, shapes[dims], kernel, stride, padding, dilation,
                              ceil_mode, ties, seed)
    # Unbatched inputs.
    for dims, shape in ((1, (3, 11)), (2, (2, 7, 8)), (3, (2, 4, 5, 6))):
        n += 1
        seed += 2
        pool_case(w, n, dims, "f32", shape, [3], [1], [1], [1], False, True, seed,
                  unbatched=True)

    # max_unpool: indices of max_pool (duplicates with overlapping windows), default and
    # explicit output sizes, and arbitrary indices with many duplicates.
    ushapes = {1: (2, 3, 12), 2: (2, 2, 7, 8), 3: (1, 2, 4, 5, 6)}
    for dims in (1, 2, 3):
        for dtype in DTYPES:
            for kernel, stride, padding in (([2], None, [0]), ([3], [1], [1]), ([3], [2], [1])):
                seed += 2
                x = values(dtype, ushapes[dims], seed, True)
                v, i = POOL_FN[dims](x, one(kernel), one(stride) if stride else None,
                                     one(padding), 1, False, return_indices=True)
                # The default output size, or the input's size where the default is smaller
                # (the last input element may hold a maximum).
                st = (stride or kernel)[0]
                default = [(d - 1) * st - 2 * padding[0] + kernel[0] for d in v.shape[2:]]
                sizes = [None] if default == list(x.shape[2:]) else [list(x.shape[2:])]
                for output_size in sizes:
                    n += 1
                    seed += 1
                    unpool_case(w, n, dims, dtype, v, i, kernel, stride, padding, output_size,
                                "pooled", seed)
            shape = {1: (2, 3, 9), 2: (2, 3, 4, 5), 3: (1, 2, 3, 4, 5)}[dims]
            plane = 1
            for s in shape[2:]:
                plane *= 2 * s
            seed += 2
            src = grads(dtype, shape, seed)
            idx = torch.randint(0, max(1, plane // 3), shape, generator=gen(seed + 1))
            n += 1
            unpool_case(w, n, dims, dtype, src, idx, [2], None, [0], None, "dups", seed + 2)
    seed += 2
    x = values("f32", (2, 7, 8), seed, True)
    v, i = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    n += 1
    unpool_case(w, n, 2, "f32", v, i, [3], [2], [1], [7, 8], "unbatched", seed + 1,
                unbatched=True)

    # pixel_shuffle / pixel_unshuffle: ranks 3 to 5, factors 1 to 3.
    for op in ("pixel_shuffle", "pixel_unshuffle"):
        fn = F.pixel_shuffle if op == "pixel_shuffle" else F.pixel_unshuffle
        for rank in (3, 4, 5):
            for r in (1, 2, 3):
                for dtype in DTYPES:
                    tail = (2 * r * r, 3, 2) if op == "pixel_shuffle" else (2, 3 * r, 2 * r)
                    shape = {3: (), 4: (2,), 5: (2, 1)}[rank] + tail
                    seed += 2
                    x = grads(dtype, shape, seed).requires_grad_()
                    y = fn(x, r)
                    g = grads(dtype, y.shape, seed + 1)
                    y.backward(g)
                    n += 1
                    w.line([("id", f"bps_{n:04d}_{op}_r{r}_rank{rank}_{dtype}"),
                            ("op", op + "_backward"), ("dtype", dtype),
                            ("in_shape", list(shape)), ("out_shape", list(y.shape)),
                            ("factor", r), ("grad_out", w.blob.add(g)),
                            ("grad_in", w.blob.add(x.grad))])

    header = [f"generated by scripts/gen_golden_backward_pool.py from PyTorch autograd on the CPU. "
              f"torch_version={torch.__version__}",
              "Tensors are little-endian, contiguous (C order); f16/bf16 as raw bits."]
    name = "backward_pool"
    with open(os.path.join(args.out_dir, name + ".bin"), "wb") as f:
        f.write(bytes(w.blob.data))
    with open(os.path.join(args.out_dir, name + ".txt"), "w") as f:
        for h in header:
            f.write("# " + h + "\n")
        for line in w.lines:
            f.write(line + "\n")
    print(f"{name}: {len(w.lines)} cases, {len(w.blob.data)} bytes of tensors", file=sys.stderr)


if __name__ == "__main__":
    main()
