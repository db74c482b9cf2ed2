#!/usr/bin/env python3
"""Times the cases of `ups bench`'s default suite with PyTorch (2.x), for comparison with ups.

Usage:
  bench_pytorch.py --ups build/bench/ups [--device auto|cpu|cuda] [--threads T]
                   [--repeat R] [--warmup W] [--filter TEXT] [--out FILE]

The cases come from `ups bench --list-suite --json --device D`, so both sides always run
identical cases (shapes, dtypes, layouts, options). Each case is timed with the PyTorch call a
user writes (F.interpolate, F.conv_transpose2d, F.max_unpool2d, F.pixel_shuffle, ...) on data
of the same distribution as ups's, and printed as one JSON object per line with the fields of
`ups bench --json` (median_ms, min_ms, max_ms, gbps against the same minimal byte count, ...)
plus "impl": "pytorch" and "torch_version".

CPU: torch.set_num_threads(T), time.perf_counter around each call, inside torch.inference_mode.
PyTorch allocates every output inside the call, and glibc returns blocks of more than 32 MiB to
the system on free, so every call would pay for page faults on a fresh output (about as long
as the op itself on the machine the results were taken on). ups writes into an output its
caller allocated once. To time kernels, not the kernel's page faults, the script re-runs itself
with GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=... so that freed
outputs stay mapped and are reused (set UPS_BENCH_KEEP_MALLOC=1 to time with the default
allocator instead).

CUDA: CUDA events around each call after warm-up, a buffer of twice the L2 size overwritten
before each call (outside the events) so that the cache is not what is measured, and the
device-to-device copy bandwidth (1 GiB tensor copy_, counted as read + write) measured in the
same run; each case also reports bw_fraction = gbps / copy_gbps.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

TUNABLES = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=1099511627776"


def reexec_with_malloc_tunables():
    if os.environ.get("UPS_BENCH_KEEP_MALLOC") == "1":
        return
    if TUNABLES in os.environ.get("GLIBC_TUNABLES", ""):
        return
    env = dict(os.environ)
    env["GLIBC_TUNABLES"] = (env["GLIBC_TUNABLES"] + ":" if env.get("GLIBC_TUNABLES") else
                             "") + TUNABLES
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ups", required=True, help="the ups program (lists the suite)")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=0,
                    help="CPU threads (0: PyTorch's default, every core)")
    ap.add_argument("--repeat", type=int, default=None,
                    help="timed runs per case (default 10 on the CPU, 100 on CUDA)")
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed runs first (default 2 on the CPU, 10 on CUDA)")
    ap.add_argument("--filter", default="", help="only cases whose command line contains TEXT")
    ap.add_argument("--out", default="-", help="output file of JSON lines (default stdout)")
    ap.add_argument("--verbose", action="store_true", help="name each case on stderr")
    return ap.parse_args()


def main():
    args = parse_args()
    import torch  # after the re-exec: the tunables must be in place before PyTorch allocates
    import torch.nn.functional as F

    if args.device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    else:
        device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("bench_pytorch.py: --device cuda, but this PyTorch sees no CUDA device")
    if device == "cpu" and args.threads > 0:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    repeat = args.repeat if args.repeat is not None else (100 if device == "cuda" else 10)
    warmup = args.warmup if args.warmup is not None else (10 if device == "cuda" else 2)

    listing = subprocess.run([args.ups, "bench", "--list-suite", "--json", "--device", device],
                             check=True, capture_output=True, text=True).stdout
    cases = [json.loads(line) for line in listing.splitlines() if line.strip()]
    cases = [c for c in cases if args.filter in c["case"]]
    if not cases:
        sys.exit("bench_pytorch.py: no suite case matches --filter")

    dtypes = {"f32": torch.float32, "f64": torch.float64, "f16": torch.float16,
              "bf16": torch.bfloat16}

    def layout(t, channels_last):
        """t with the strides of PyTorch's channels_last(_3d): memory order N, spatial..., C."""
        if not channels_last:
            return t.contiguous()
        perm = [0] + list(range(2, t.dim())) + [1]
        inverse = [perm.index(i) for i in range(t.dim())]
        return t.permute(perm).contiguous().permute(inverse)

    def random(shape, dtype, channels_last=False):
        # Multiples of 1/128 in [-1, 1], as ups bench generates them.
        t = torch.randint(-128, 129, shape, dtype=torch.int32).to(torch.float32) / 128
        return layout(t.to(dtype=dtype, device=device), channels_last)

    def arg(v):
        return v[0] if len(v) == 1 else tuple(v)

    def make_call(c):
        """The PyTorch call of a case, bound to its inputs."""
        p = c["params"]
        dt = dtypes[c["dtype"]]
        cl = c["layout"] == "channels-last"
        shape = c["shape"]
        sp = len(shape) - 2
        if c["op"] == "interpolate":
            x = random(shape, dt, cl)
            kw = {"mode": p["mode"]}
            if "size" in p:
                kw["size"] = arg(p["size"])
            if "scale" in p:
                kw["scale_factor"] = arg(p["scale"])
            if p["mode"] in ("linear", "bilinear", "bicubic", "trilinear"):
                kw["align_corners"] = bool(p.get("align_corners", False))
            if p.get("antialias"):
                kw["antialias"] = True
            return lambda: F.interpolate(x, **kw)
        if c["op"] == "conv-transpose":
            x = random(shape, dt, cl)
            w = random(p["weight_shape"], dt)
            b = random([c["out_shape"][1]], dt) if p.get("bias") else None
            fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[sp]
            kw = {"stride": arg(p.get("stride", [1])), "padding": arg(p.get("padding", [0])),
                  "output_padding": arg(p.get("output_padding", [0])),
                  "groups": p.get("groups", 1), "dilation": arg(p.get("dilation", [1]))}
            return lambda: fn(x, w, b, **kw)
        if c["op"] == "max-unpool":
            pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[sp]
            unpool = {1: F.max_unpool1d, 2: F.max_unpool2d, 3: F.max_unpool3d}[sp]
            k = arg(p["kernel_size"])
            s = arg(p["stride"]) if "stride" in p else None
            pad = arg(p.get("padding", [0]))
            z = random(c["out_shape"], dt, cl)
            values, indices = pool(z, k, s, pad, return_indices=True)
            del z
            return lambda: unpool(values, indices, k, s, pad)
        if c["op"] in ("pixel-shuffle", "pixel-unshuffle"):
            x = random(shape, dt, cl)
            fn = F.pixel_shuffle if c["op"] == "pixel-shuffle" else F.pixel_unshuffle
            r = p["factor"]
            return lambda: fn(x, r)
        raise ValueError("unknown op " + c["op"])

    out = sys.stdout if args.out == "-" else open(args.out, "w")
    extra = {}
    flush = None
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        flush = torch.empty(max(2 * props.L2_cache_size, 64 << 20), dtype=torch.uint8,
                            device=device)
        a = torch.ones(1 << 30, dtype=torch.uint8, device=device)
        b = torch.empty_like(a)
        copy_ms = time_cuda(torch, lambda: b.copy_(a), None, 3, 20)
        del a, b
        copy_gbps = 2 * (1 << 30) / (statistics.median(copy_ms) * 1e6)
        extra = {"device_name": props.name, "copy_gbps": copy_gbps}

    with torch.inference_mode():
        for c in cases:
            if args.verbose:
                print("pytorch: " + c["case"], file=sys.stderr, flush=True)
            call = make_call(c)
            result = call()
            if list(result.shape) != c["out_shape"]:
                sys.exit("bench_pytorch.py: %s: PyTorch gives shape %s, ups %s"
                         % (c["case"], list(result.shape), c["out_shape"]))
            del result
            if device == "cuda":
                ms = time_cuda(torch, call, flush, warmup, repeat)
            else:
                ms = time_cpu(call, warmup, repeat)
            med = statistics.median(ms)
            rec = {k: c[k] for k in ("case", "op", "device", "dtype", "layout", "shape",
                                     "out_shape", "params", "bytes")}
            rec.update({"impl": "pytorch", "torch_version": torch.__version__,
                        "threads": threads, "warmup": warmup, "repeat": repeat,
                        "median_ms": med, "min_ms": min(ms), "max_ms": max(ms),
                        "gbps": c["bytes"] / (med * 1e6)})
            if extra:
                rec.update(extra)
                rec["bw_fraction"] = rec["gbps"] / extra["copy_gbps"]
            out.write(json.dumps(rec) + "\n")
            out.flush()
            del call
    if out is not sys.stdout:
        out.close()


def time_cpu(call, warmup, repeat):
    for _ in range(warmup):
        call()
    ms = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        ms.append((time.perf_counter() - start) * 1e3)
    return ms


def time_cuda(torch, call, flush, warmup, repeat):
    for i in range(warmup):
        if flush is not None:
            flush.fill_(i & 0xff)
        call()
    torch.cuda.synchronize()
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
              for _ in range(repeat)]
    for i, (start, stop) in enumerate(events):
        if flush is not None:
            flush.fill_(i & 0xff)
        start.record()
        call()
        stop.record()
    torch.cuda.synchronize()
    return [start.elapsed_time(stop) for start, stop in events]


if __name__ == "__main__":
    reexec_with_malloc_tunables()
    main()
