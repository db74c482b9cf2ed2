#!/usr/bin/env python3
"""Times the cases of `ups bench`'s default suite with other libraries: PyTorch (2.x), OpenCV and
ONNX Runtime, each on the cases where it computes the same function as PyTorch.

Usage:
  bench_peers.py --ups build/bench/ups [--peers torch,opencv,onnxruntime]
                 [--device auto|cpu|cuda] [--threads T] [--repeat R] [--warmup W]
                 [--filter TEXT] [--out FILE] [--check-only] [--verbose]

The cases come from `ups bench --list-suite --json --device D`, so every side runs identical
cases (shapes, dtypes, layouts, options), on data of the same distribution as ups's. Every
(case, peer) gives one JSON object per line with the fields of `ups bench --json` plus "impl"
("pytorch", "opencv" or "onnxruntime"), "version" (the peer's; PyTorch's records also carry
"torch_version") and "call" (what was called). A peer that does not compute the case has
"skipped" (the reason) and no times.

The check. Before a peer other than PyTorch is timed on a case, its output for the case's input
is compared with PyTorch's output for the same input ("check": max_abs_diff, tolerance, passed).
The tolerance is 0 for the exact ops (nearest modes, max-unpool, pixel-shuffle and -unshuffle)
and 1e-4 times the range of PyTorch's output otherwise (f32; bf16: 2^-7 times the range). A peer
whose output differs by more is not timed on that case: its record says why.

Mappings (see docs/benchmarks.md, "Peers"):
  OpenCV        cv2.resize, f32, 2-D (and 1-D linear as 1 x L images), align_corners=False, no
                antialias: nearest INTER_NEAREST, nearest-exact INTER_NEAREST_EXACT, bilinear and
                linear INTER_LINEAR, bicubic INTER_CUBIC, area INTER_AREA. Contiguous NCHW: one
                call per H x W plane (the Python loop is part of the time); channels-last: one
                call per H x W x C image (C in groups of OpenCV's channel limit, 512 or 128 in
                OpenCV 5, each group its own HWC array). Output into preallocated arrays (dst=).
  ONNX Runtime  a one-node model (opset 19) per case, run through IOBinding on preallocated
                inputs and outputs: Resize (nearest: asymmetric + floor; nearest-exact: half_pixel
                + round_prefer_ceil; linear modes: pytorch_half_pixel or align_corners; cubic:
                half_pixel, cubic_coeff_a=-0.75, or -0.5 with antialias, which PyTorch's
                antialiased bicubic uses; antialias=1), area as AveragePool (integer downscaling)
                or Resize nearest (integer upscaling, where area is nearest), ConvTranspose,
                MaxUnpool (indices made flat over N * C * H * W, as ONNX defines them, outside the
                timed region), DepthToSpace (CRD) and SpaceToDepth. Channels-last inputs only for
                Resize (scales of 1 on N and C of the NHWC tensor); the other ops are NCHW only.
                The suite's `resize` cases (ONNX Resize, which PyTorch lacks) map one to one to
                Resize with the same attributes; ups's own output (`ups resize` on the same
                input) is their reference for the check, and PyTorch's record is skipped.
                intra_op_num_threads = T, inter_op_num_threads = 1, sequential execution.

Timing, as for PyTorch: --warmup untimed calls, then time.perf_counter around each of --repeat
calls; median, minimum and maximum; GB/s against the case's minimal byte count.

CPU: torch.set_num_threads(T), cv2.setNumThreads(T), ONNX Runtime intra-op threads T. PyTorch
allocates every output inside the call, and glibc returns blocks of more than 32 MiB to the
system on free, so every call would pay for page faults on a fresh output (about as long as the
op itself on the machine the results were taken on). ups writes into an output its caller
allocated once, as OpenCV and ONNX Runtime do here. To time kernels, not the kernel's page
faults, the script re-runs itself with GLIBC_TUNABLES=glibc.malloc.mmap_max=0:
glibc.malloc.trim_threshold=... so that freed outputs stay mapped and are reused (set
UPS_BENCH_KEEP_MALLOC=1 to time with the default allocator instead). Run one peer per process
(scripts/bench-cpu does) so that one library's idle threads do not spin while another's run.

CUDA (PyTorch only): CUDA events around each call after warm-up, a buffer of twice the L2 size
overwritten before each call (outside the events) so that the cache is not what is measured,
and the device-to-device copy bandwidth (1 GiB tensor copy_, counted as read + write) measured
in the same run; each case also reports bw_fraction = gbps / copy_gbps.
"""

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time

TUNABLES = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=1099511627776"
PEERS = ("torch", "opencv", "onnxruntime")
IMPL = {"torch": "pytorch", "opencv": "opencv", "onnxruntime": "onnxruntime"}
OPSET = 19


def reexec_with_malloc_tunables():
    if os.environ.get("UPS_BENCH_KEEP_MALLOC") == "1":
        return
    if TUNABLES in os.environ.get("GLIBC_TUNABLES", ""):
        return
    env = dict(os.environ)
    env["GLIBC_TUNABLES"] = (env["GLIBC_TUNABLES"] + ":" if env.get("GLIBC_TUNABLES") else
                             "") + TUNABLES
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def parse_args(argv, peers, prog, description):
    ap = argparse.ArgumentParser(prog=prog, description=description or __doc__.split("\n\n")[0])
    ap.add_argument("--ups", required=True, help="the ups program (lists the suite)")
    if peers is None:
        ap.add_argument("--peers", default=",".join(PEERS),
                        help="comma-separated, of %s (default: all)" % ", ".join(PEERS))
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=0,
                    help="CPU threads (0: each library's default)")
    ap.add_argument("--repeat", type=int, default=None,
                    help="timed runs per case (default 10 on the CPU, 100 on CUDA)")
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed runs first (default 2 on the CPU, 10 on CUDA)")
    ap.add_argument("--filter", default="", help="only cases whose command line contains TEXT")
    ap.add_argument("--out", default="-", help="output file of JSON lines (default stdout)")
    ap.add_argument("--check-only", action="store_true",
                    help="run the checks against PyTorch, time nothing")
    ap.add_argument("--verbose", action="store_true", help="name each case on stderr")
    args = ap.parse_args(argv)
    args.peers = peers if peers is not None else [p for p in args.peers.split(",") if p]
    for p in args.peers:
        if p not in PEERS:
            ap.error("unknown peer '%s' (peers: %s)" % (p, ", ".join(PEERS)))
    return args


# ---- timing -------------------------------------------------------------------------------------

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


# ---- inputs and the PyTorch call -----------------------------------------------------------------

def arg(v):
    return v[0] if len(v) == 1 else tuple(v)


def expand(v, n):
    return list(v) * n if len(v) == 1 else list(v)


class Case:
    """A suite case with its inputs (torch tensors, in the case's layout) and PyTorch's call."""

    def __init__(self, torch, F, c, device):
        self.torch, self.F, self.c, self.device = torch, F, c, device
        self.p = c["params"]
        self.op = c["op"]
        self.cl = c["layout"] == "channels-last"
        self.shape = c["shape"]
        self.out_shape = c["out_shape"]
        self.sp = len(self.shape) - 2
        self.dtype = {"f32": torch.float32, "f64": torch.float64, "f16": torch.float16,
                      "bf16": torch.bfloat16}[c["dtype"]]
        self.inputs = {}
        self.make_inputs()

    def layout(self, t, channels_last):
        """t with the strides of PyTorch's channels_last(_3d): memory order N, spatial..., C."""
        if not channels_last:
            return t.contiguous()
        perm = [0] + list(range(2, t.dim())) + [1]
        inverse = [perm.index(i) for i in range(t.dim())]
        return t.permute(perm).contiguous().permute(inverse)

    def random(self, shape, channels_last=False):
        # Multiples of 1/128 in [-1, 1], as ups bench generates them.
        torch = self.torch
        t = torch.randint(-128, 129, shape, dtype=torch.int32).to(torch.float32) / 128
        return self.layout(t.to(dtype=self.dtype, device=self.device), channels_last)

    def make_inputs(self):
        p, F = self.p, self.F
        if self.op == "max-unpool":
            pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[self.sp]
            z = self.random(self.out_shape, self.cl)
            values, indices = pool(z, arg(p["kernel_size"]),
                                   arg(p["stride"]) if "stride" in p else None,
                                   arg(p.get("padding", [0])), return_indices=True)
            self.inputs = {"x": values, "indices": indices}
            return
        self.inputs["x"] = self.random(self.shape, self.cl)
        if self.op == "conv-transpose":
            self.inputs["w"] = self.random(p["weight_shape"])
            if p.get("bias"):
                self.inputs["b"] = self.random([self.out_shape[1]])

    def torch_call(self):
        """The PyTorch call a user writes, bound to the inputs."""
        p, F, x = self.p, self.F, self.inputs["x"]
        if self.op == "resize":
            return None  # ONNX Resize: no PyTorch call (see ups_resize)
        if self.op == "interpolate":
            kw = {"mode": p["mode"]}
            if "size" in p:
                kw["size"] = arg(p["size"])
            if "scale" in p:
                kw["scale_factor"] = arg(p["scale"])
            if p["mode"] in ("linear", "bilinear", "bicubic", "trilinear"):
                kw["align_corners"] = bool(p.get("align_corners", False))
            if p.get("antialias"):
                kw["antialias"] = True
            if p.get("backward"):
                # The gradient with respect to the input, from a gradient of the output's shape:
                # torch.autograd.grad over the recorded graph (kept for every call).
                torch = self.torch
                with torch.inference_mode(False), torch.enable_grad():
                    xg = x.clone().requires_grad_(True)
                    y = F.interpolate(xg, **kw)
                    g = self.random(list(y.shape), self.cl).clone()
                return lambda: torch.autograd.grad(y, xg, g, retain_graph=True)[0]
            return lambda: F.interpolate(x, **kw)
        if self.op == "conv-transpose":
            w, b = self.inputs["w"], self.inputs.get("b")
            fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[self.sp]
            kw = {"stride": arg(p.get("stride", [1])), "padding": arg(p.get("padding", [0])),
                  "output_padding": arg(p.get("output_padding", [0])),
                  "groups": p.get("groups", 1), "dilation": arg(p.get("dilation", [1]))}
            if p.get("backward"):
                # The input's, weight's and bias's gradients from a gradient of the output's
                # shape: torch.autograd.grad over the recorded graph (kept for every call).
                torch = self.torch
                with torch.inference_mode(False), torch.enable_grad():
                    leaves = [t.clone().requires_grad_(True) for t in (x, w, b) if t is not None]
                    y = fn(*leaves[:2], leaves[2] if b is not None else None, **kw)
                    g = self.random(list(y.shape), self.cl).clone()
                return lambda: torch.autograd.grad(y, leaves, g, retain_graph=True)[0]
            return lambda: fn(x, w, b, **kw)
        if self.op == "max-unpool":
            unpool = {1: F.max_unpool1d, 2: F.max_unpool2d, 3: F.max_unpool3d}[self.sp]
            k = arg(p["kernel_size"])
            s = arg(p["stride"]) if "stride" in p else None
            pad = arg(p.get("padding", [0]))
            i = self.inputs["indices"]
            return lambda: unpool(x, i, k, s, pad)
        if self.op in ("pixel-shuffle", "pixel-unshuffle"):
            fn = F.pixel_shuffle if self.op == "pixel-shuffle" else F.pixel_unshuffle
            r = p["factor"]
            return lambda: fn(x, r)
        raise ValueError("unknown op " + self.op)

    def exact(self):
        """Whether every output element is a copy of an input element (or zero)."""
        if self.op == "interpolate":
            return self.p["mode"] in ("nearest", "nearest-exact")
        if self.op == "resize":
            return self.p["mode"] == "nearest"
        return self.op in ("max-unpool", "pixel-shuffle", "pixel-unshuffle")

    def channels_last_np(self, t):
        """A channels-last tensor as a NumPy array of its memory order (N, spatial..., C)."""
        perm = [0] + list(range(2, t.dim())) + [1]
        return to_numpy(self.torch, t.permute(perm))


def to_numpy(torch, t):
    """A CPU tensor as a NumPy array (bf16 through ml_dtypes), sharing memory when contiguous."""
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        import ml_dtypes
        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


class Skip(Exception):
    """A peer does not compute a case; the message says why."""


# ---- OpenCV -------------------------------------------------------------------------------------

class OpenCV:
    impl = "opencv"
    # Causes of the mismatches the check finds, by interpolate mode, found by comparing index by
    # index.
    hints = {"nearest-exact": "INTER_NEAREST_EXACT computes the source index in fixed point, "
                              "which rounds down where (dst + 0.5) / scale is a whole number"}

    def __init__(self, threads):
        import cv2
        self.cv2 = cv2
        self.version = cv2.__version__
        if threads > 0:
            cv2.setNumThreads(threads)
        self.threads = threads if threads > 0 else cv2.getNumThreads()
        # CV_CN_MAX, the most channels of one image: 512 in OpenCV 4, 128 in OpenCV 5.
        self.max_channels = 4
        import numpy as np
        for n in (512, 128):
            try:
                cv2.resize(np.zeros((1, 1, n), np.float32), (2, 2))
                self.max_channels = n
                break
            except cv2.error:
                pass
        self.flags = {"nearest": ("INTER_NEAREST", cv2.INTER_NEAREST),
                      "nearest-exact": ("INTER_NEAREST_EXACT", cv2.INTER_NEAREST_EXACT),
                      "linear": ("INTER_LINEAR", cv2.INTER_LINEAR),
                      "bilinear": ("INTER_LINEAR", cv2.INTER_LINEAR),
                      "bicubic": ("INTER_CUBIC", cv2.INTER_CUBIC),
                      "area": ("INTER_AREA", cv2.INTER_AREA)}

    def prepare(self, case):
        """(call, output(), description) for the case, or Skip."""
        import numpy as np
        cv2 = self.cv2
        c, p = case.c, case.p
        if p.get("backward"):
            raise Skip("cv2 has no gradients")
        if case.op != "interpolate":
            raise Skip("no %s function (cv2.dnn layers are not compared)" % case.op)
        if c["dtype"] != "f32":
            raise Skip("cv2.resize has no %s" % c["dtype"])
        mode = p["mode"]
        if mode == "lanczos":
            raise Skip("cv2.resize's INTER_LANCZOS4 is another filter (8 taps, no anti-aliasing)")
        if case.sp == 3:
            raise Skip("cv2.resize is 2-D only (no %s)" % mode)
        if p.get("align_corners"):
            raise Skip("cv2.resize has no align_corners=True mapping")
        if p.get("antialias"):
            raise Skip("cv2.resize has no antialiased linear filter (INTER_AREA is a box filter)")
        if case.sp == 1 and case.cl:
            raise Skip("a channels-last 1-D batch is no OpenCV image")
        name, flag = self.flags[mode]
        x = case.inputs["x"]
        out_sp = case.out_shape[2:]
        if case.sp == 1:  # 1-D signals as 1 x L images: the vertical map is the identity
            out_sp = [1] + out_sp
        dsize = (out_sp[-1], out_sp[-2])
        n, ch = case.shape[0], case.shape[1]
        if not case.cl:
            planes = to_numpy(case.torch, x).reshape(n * ch, *([1] if case.sp == 1 else []),
                                                     *case.shape[2:])
            out = np.empty([n * ch] + out_sp, np.float32)
            pairs = [(planes[i], out[i]) for i in range(n * ch)]
            output = lambda: out.reshape(case.out_shape)  # noqa: E731
            what = "one call per H x W plane"
        else:
            xn = case.channels_last_np(x)  # N, H, W, C (no copy)
            step = self.max_channels
            groups = [(k, min(ch, k + step)) for k in range(0, ch, step)]
            if len(groups) == 1:
                src = [xn]
                dst = [np.empty([n] + out_sp + [ch], np.float32)]
            else:  # each group its own HWC array, split outside the timed region
                src = [np.ascontiguousarray(xn[..., a:b]) for a, b in groups]
                dst = [np.empty([n] + out_sp + [b - a], np.float32) for a, b in groups]
            pairs = [(s[i], d[i]) for i in range(n) for s, d in zip(src, dst)]

            def output():
                y = np.concatenate(dst, axis=-1)  # N, H, W, C
                return np.moveaxis(y, -1, 1)

            what = "one call per H x W x C image"
            if len(groups) > 1:
                what += " (C in %d groups of %d, OpenCV's channel limit)" % (len(groups), step)
        resize = cv2.resize

        def call():
            for s, d in pairs:
                resize(s, dsize, dst=d, interpolation=flag)

        # dst= is only a hint: make sure OpenCV wrote into the preallocated arrays.
        s, d = pairs[0]
        r = resize(s, dsize, dst=d, interpolation=flag)
        if not np.shares_memory(r, d):
            raise Skip("cv2.resize did not write into the preallocated output")
        call.short = "cv2.resize %s" % name
        return call, output, "cv2.resize %s, %s" % (name, what)



# ---- ONNX Runtime -------------------------------------------------------------------------------

class OnnxRuntime:
    impl = "onnxruntime"
    # Causes of the mismatches the check finds, by op, interpolate mode or "antialias", found by
    # comparing element by element.
    hints = {"pixel-unshuffle": "SpaceToDepth orders the output channels as (block row, block "
                                "column, C), pixel_unshuffle as (C, block row, block column)",
             "antialias": "Resize's antialias filter weights the taps at the borders differently "
                          "from PyTorch's"}

    def __init__(self, threads):
        import onnx
        import onnxruntime as ort
        self.onnx, self.ort = onnx, ort
        self.version = ort.__version__
        self.threads = threads if threads > 0 else os.cpu_count()
        so = ort.SessionOptions()
        if threads > 0:
            so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.log_severity_level = 4  # the reasons for rejecting a model go into the records
        ort.set_default_logger_severity(4)
        self.options = so

    def elem(self, dtype):
        T = self.onnx.TensorProto
        return {"f32": T.FLOAT, "f64": T.DOUBLE, "f16": T.FLOAT16, "bf16": T.BFLOAT16}[dtype]

    def node(self, case):
        """The node, its initializers, the NumPy inputs (in binding order) and a description."""
        import numpy as np
        helper, onnx = self.onnx.helper, self.onnx
        p, torch = case.p, case.torch
        x = case.inputs["x"]
        inits = []

        def init(name, array):
            inits.append(onnx.numpy_helper.from_array(array, name))
            return name

        if case.op == "interpolate":
            mode = p["mode"]
            if mode == "lanczos":
                raise Skip("Resize has no Lanczos filter")
            if case.cl:  # the NHWC tensor itself, with scales of 1 on N and C
                xin = case.channels_last_np(x)
                spatial = list(range(1, 1 + case.sp))
            else:
                xin = to_numpy(torch, x)
                spatial = list(range(2, 2 + case.sp))
            rank = len(case.shape)
            scales = expand(p["scale"], case.sp) if "scale" in p else None
            if mode == "area":
                if scales and all(s >= 1 and s == int(s) for s in scales):
                    # Integer upscaling: every output cell lies in one input cell, so
                    # adaptive average pooling is nearest.
                    mode, area = "nearest", "Resize nearest (integer upscaling, where area is " \
                                            "nearest)"
                elif scales and all(s < 1 and (1 / s) == int(1 / s) for s in scales) and \
                        not case.cl:
                    k = [int(round(1 / s)) for s in scales]
                    n = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=k, strides=k)
                    return n, inits, [xin], "AveragePool kernel %s stride %s (integer " \
                                            "downscaling, where area is average pooling)" % (k, k)
                else:
                    raise Skip("ONNX has no area resize (covered: integer upscaling as Resize "
                               "nearest, integer downscaling as NCHW AveragePool)")
            else:
                area = None
            attrs = {}
            if mode == "nearest":
                attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                         "nearest_mode": "floor"}
            elif mode == "nearest-exact":
                attrs = {"mode": "nearest", "coordinate_transformation_mode": "half_pixel",
                         "nearest_mode": "round_prefer_ceil"}
            elif mode in ("linear", "bilinear", "trilinear", "bicubic"):
                cubic = mode == "bicubic"
                attrs = {"mode": "cubic" if cubic else "linear"}
                if p.get("align_corners"):
                    attrs["coordinate_transformation_mode"] = "align_corners"
                else:
                    attrs["coordinate_transformation_mode"] = "half_pixel" if cubic else \
                        "pytorch_half_pixel"
                if cubic:
                    # PyTorch's bicubic uses a = -0.75, its antialiased bicubic a = -0.5.
                    attrs["cubic_coeff_a"] = -0.5 if p.get("antialias") else -0.75
                if p.get("antialias"):
                    attrs["antialias"] = 1
            full = [1] * rank
            if scales is not None:
                for d, s in zip(spatial, scales):
                    full[d] = s
                inputs = ["x", "", init("scales", np.array(full, np.float32))]
            else:
                out = (list(case.out_shape[:1]) + list(case.out_shape[2:]) + [case.out_shape[1]]
                       if case.cl else list(case.out_shape))
                inputs = ["x", "", "", init("sizes", np.array(out, np.int64))]
            n = helper.make_node("Resize", inputs, ["y"], **attrs)
            what = area or "Resize " + ", ".join("%s=%s" % kv for kv in sorted(attrs.items()))
            if case.cl:
                what += ", NHWC"
            return n, inits, [xin], what
        if case.op == "resize":
            if case.cl:
                raise Skip("the suite's resize cases are contiguous")
            attrs = {"mode": p["mode"]}
            for key in ("coordinate_mode", "nearest_mode"):
                if key in p:
                    attrs[{"coordinate_mode": "coordinate_transformation_mode"}.get(key, key)] = \
                        p[key]
            for key in ("cubic_coeff_a", "extrapolation_value"):
                if key in p:
                    attrs[key] = float(p[key][0])
            for key in ("exclude_outside", "antialias"):
                if p.get(key):
                    attrs[key] = 1
            inputs = ["x", init("roi", np.array(p["roi"], np.float32)) if "roi" in p else ""]
            if "scales" in p:
                inputs.append(init("scales", np.array(p["scales"], np.float32)))
            else:
                inputs += ["", init("sizes", np.array(p["sizes"], np.int64))]
            n = helper.make_node("Resize", inputs, ["y"], **attrs)
            return n, inits, [to_numpy(torch, x)], \
                "Resize " + ", ".join("%s=%s" % kv for kv in sorted(attrs.items()))
        if case.cl:
            raise Skip("ONNX %s is NCHW only (a channels-last input needs a Transpose)" % {
                "conv-transpose": "ConvTranspose", "max-unpool": "MaxUnpool",
                "pixel-shuffle": "DepthToSpace", "pixel-unshuffle": "SpaceToDepth"}[case.op])
        xin = to_numpy(torch, x)
        if case.op == "conv-transpose":
            w = p["weight_shape"]
            pad = expand(p.get("padding", [0]), case.sp)
            attrs = {"kernel_shape": w[2:], "strides": expand(p.get("stride", [1]), case.sp),
                     "pads": pad + pad,
                     "output_padding": expand(p.get("output_padding", [0]), case.sp),
                     "dilations": expand(p.get("dilation", [1]), case.sp),
                     "group": p.get("groups", 1)}
            inputs = ["x", init("w", to_numpy(torch, case.inputs["w"]))]
            if "b" in case.inputs:
                inputs.append(init("b", to_numpy(torch, case.inputs["b"])))
            return helper.make_node("ConvTranspose", inputs, ["y"], **attrs), inits, [xin], \
                "ConvTranspose"
        if case.op == "max-unpool":
            k = expand(p["kernel_size"], case.sp)
            s = expand(p.get("stride", p["kernel_size"]), case.sp)
            pad = expand(p.get("padding", [0]), case.sp)
            # ONNX's indices are flat over N * C * spatial, PyTorch's over each plane.
            idx = case.inputs["indices"]
            planes = case.out_shape[0] * case.out_shape[1]
            plane = 1
            for d in case.out_shape[2:]:
                plane *= d
            offset = (torch.arange(planes, dtype=torch.int64) * plane).reshape(
                case.out_shape[:2] + [1] * case.sp)
            flat = to_numpy(torch, idx + offset)
            n = helper.make_node("MaxUnpool", ["x", "i"], ["y"], kernel_shape=k, strides=s,
                                 pads=pad + pad)
            return n, inits, [xin, flat], "MaxUnpool (indices made flat over N * C * H * W)"
        r = p["factor"]
        if case.op == "pixel-shuffle":
            n = helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=r, mode="CRD")
            return n, inits, [xin], "DepthToSpace mode=CRD"
        n = helper.make_node("SpaceToDepth", ["x"], ["y"], blocksize=r)
        return n, inits, [xin], "SpaceToDepth"

    def prepare(self, case):
        import numpy as np
        if case.p.get("backward"):
            raise Skip("ONNX Runtime's inference sessions compute no gradients")
        helper, ort = self.onnx.helper, self.ort
        node, inits, arrays, what = self.node(case)
        elem = self.elem(case.c["dtype"])
        names = [n for n in node.input if n and n not in {i.name for i in inits}]
        vin = []
        for name, a in zip(names, arrays):
            t = self.onnx.TensorProto.INT64 if a.dtype == np.int64 else elem
            vin.append(helper.make_tensor_value_info(name, t, list(a.shape)))
        if case.cl and case.op == "interpolate":
            out_shape = [case.out_shape[0]] + list(case.out_shape[2:]) + [case.out_shape[1]]
        else:
            out_shape = list(case.out_shape)
        vout = [helper.make_tensor_value_info("y", elem, out_shape)]
        graph = helper.make_graph([node], "ups_bench", vin, vout, initializer=inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 9  # the IR of opset 19
        try:
            sess = ort.InferenceSession(model.SerializeToString(), sess_options=self.options,
                                        providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - ORT raises its own types
            raise Skip("rejects %s on this input (%s, %s): %s"
                       % (node.op_type, case.c["dtype"], case.c["layout"], ort_message(e)))
        out = np.empty(out_shape, arrays[0].dtype)
        io = sess.io_binding()
        keep = []
        for name, a in zip(names, arrays):
            v = ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(a))
            keep.append(v)
            io.bind_ortvalue_input(name, v)
        vo = ort.OrtValue.ortvalue_from_numpy(out)
        keep.append(vo)
        io.bind_ortvalue_output("y", vo)
        run = sess.run_with_iobinding

        def call():
            run(io)

        def output():
            if case.cl and case.op == "interpolate":
                return np.moveaxis(out, -1, 1)
            return out

        call.keep = (sess, io, keep)  # the session and buffers live as long as the call
        call.short = node.op_type
        return call, output, what + " (opset %d)" % OPSET



def ort_message(e, limit=320):
    """An ONNX Runtime exception's own words, without its error codes and source locations."""
    import re
    text = str(e)
    text = re.split(r"\[ONNXRuntimeError\] : \d+ : \w+ : ", text)[-1]
    text = re.sub(r"^Exception during initialization: ", "", text)
    text = re.sub(r"\S+\.(?:h|cc|cpp):\d+ \S+ ", "", text)
    text = re.sub(r"\n\s*\* ", " ", text)  # its lists of alternatives, as one sentence
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def ups_resize(ups, case):
    """ups's own output for a resize case (PyTorch has no ONNX Resize), through `ups resize` on
    .npy files: the reference the other peers are checked against."""
    import tempfile
    import numpy as np
    p = case.p
    args = ["--mode", p["mode"]]
    for key in ("sizes", "scales", "roi", "cubic_coeff_a", "extrapolation_value"):
        if key in p:
            args += ["--" + key.replace("_", "-"), ",".join(repr(v) for v in p[key])]
    for key in ("coordinate_mode", "nearest_mode"):
        if key in p:
            args += ["--" + key.replace("_", "-"), p[key]]
    for key in ("exclude_outside", "antialias"):
        if p.get(key):
            args.append("--" + key.replace("_", "-"))
    with tempfile.TemporaryDirectory(prefix="ups-bench-") as d:
        src, dst = os.path.join(d, "in.npy"), os.path.join(d, "out.npy")
        np.save(src, to_numpy(case.torch, case.inputs["x"]))
        subprocess.run([ups, "resize", src, dst, "--device", "cpu"] + args, check=True,
                       capture_output=True, text=True)
        return case.torch.from_numpy(np.load(dst))


def first_line(e):
    text = str(e).strip().splitlines()
    return text[0][:300] if text else type(e).__name__


# ---- the run ------------------------------------------------------------------------------------

def tolerance(case, span):
    """The largest difference from PyTorch's output that still counts as the same function."""
    if case.exact():
        return 0.0
    if case.c["dtype"] in ("bf16", "f16"):
        return 2.0 ** -7 * span  # one unit in the last place of bf16 at the data's magnitude
    # f32: 1e-4 of the range, plus the rounding of the source coordinates, which PyTorch computes
    # in float: up to 2 ulp of the largest input coordinate each side, times the range. On the
    # 2048-wide linear case PyTorch is 1.6e-4 off the exact (float64) result and the peers 8e-5.
    extent = max(case.shape[2:]) if case.op in ("interpolate", "resize") else 0
    return (1e-4 + 2 * 2.0 ** -23 * extent) * span


def check(case, ref, got):
    """Compares a peer's output with PyTorch's (both in the logical N, C, spatial order)."""
    import numpy as np
    r = to_numpy(case.torch, ref).astype(np.float64)
    g = np.asarray(got).astype(np.float64)
    rec = {"reference": "ups" if case.op == "resize" else "pytorch"}
    if list(g.shape) != list(r.shape):
        rec.update({"passed": False, "shape": list(g.shape)})
        return rec
    d = np.abs(g - r)
    span = float(r.max() - r.min()) if r.size else 0.0
    tol = tolerance(case, span)
    diff = float(d.max()) if d.size else 0.0
    rec.update({"max_abs_diff": diff, "tolerance": tol, "exact": case.exact(),
                "passed": bool(diff <= tol)})
    if not rec["passed"]:
        rec["mismatched"] = int(np.count_nonzero(d > tol))
        rec["elements"] = int(d.size)
        # Whether the difference is confined to the borders: two elements from every edge of
        # every spatial dim are left out.
        inner = d[(slice(None), slice(None)) + tuple(slice(2, -2) for _ in case.shape[2:])]
        if inner.size and all(n > 4 for n in d.shape[2:]):
            rec["interior_max_abs_diff"] = float(inner.max())
    return rec


def mismatch_reason(peer, case, call, what, rec):
    """Why a peer failed the check, with the known cause where the mapping has one."""
    if "max_abs_diff" not in rec:
        return "%s gives shape %s" % (what, rec["shape"])
    text = "%s differs from %s by up to %.3g (tolerance %.3g) in %d of %d elements" % (
        getattr(call, "short", what), "ups" if case.op == "resize" else "PyTorch",
        rec["max_abs_diff"], rec["tolerance"], rec["mismatched"],
        rec["elements"])
    if rec.get("interior_max_abs_diff", 1.0) <= rec["tolerance"]:
        text += ", all at the borders"
    if case.op not in ("interpolate", "resize"):
        key = case.op
    else:
        key = "antialias" if case.p.get("antialias") else case.p["mode"]
    if key in peer.hints:
        text += " (%s)" % peer.hints[key]
    return text


def main(argv=None, peers=None, prog=None, description=None):
    args = parse_args(argv, peers, prog, description)
    import torch  # after the re-exec: the tunables must be in place before PyTorch allocates
    import torch.nn.functional as F

    name = prog or os.path.basename(sys.argv[0])
    if args.device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    else:
        device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("%s: --device cuda, but this PyTorch sees no CUDA device" % name)
    if device == "cuda" and any(p != "torch" for p in args.peers):
        sys.exit("%s: on CUDA only the torch peer runs" % name)
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
        sys.exit("%s: no suite case matches --filter" % name)

    others = []
    for p in args.peers:
        if p == "opencv":
            others.append(OpenCV(args.threads))
        elif p == "onnxruntime":
            others.append(OnnxRuntime(args.threads))

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

    def emit(c, impl, version, peer_threads, ms=None, **fields):
        rec = {k: c[k] for k in ("case", "op", "device", "dtype", "layout", "shape",
                                 "out_shape", "params", "bytes")}
        rec.update({"impl": impl, "version": version, "threads": peer_threads})
        if impl == "pytorch":
            rec["torch_version"] = torch.__version__
        if ms is not None:
            med = statistics.median(ms)
            rec.update({"warmup": warmup, "repeat": repeat, "median_ms": med, "min_ms": min(ms),
                        "max_ms": max(ms), "gbps": c["bytes"] / (med * 1e6)})
            if extra:
                rec.update(extra)
                rec["bw_fraction"] = rec["gbps"] / extra["copy_gbps"]
        rec.update(fields)
        out.write(json.dumps(rec) + "\n")
        out.flush()

    with torch.inference_mode():
        for c in cases:
            if device == "cuda" and c["params"].get("mode") == "lanczos":
                # PyTorch's lanczos runs on the CPU only: nothing to time or check against.
                emit(c, "pytorch", torch.__version__, threads,
                     skipped="PyTorch's lanczos runs on the CPU only")
                continue
            case = Case(torch, F, c, device)
            backward = bool(c["params"].get("backward"))
            grad_mode = torch.inference_mode(False) if backward else contextlib.nullcontext()
            with grad_mode:
                ref_call = case.torch_call()
            if backward:
                forward_call = ref_call

                def ref_call(call=forward_call):
                    with torch.inference_mode(False), torch.enable_grad():
                        return call()
            ref = None
            if c["op"] == "resize":
                # ONNX Resize has no PyTorch counterpart: ups's output is the reference.
                if "torch" in args.peers:
                    emit(c, "pytorch", torch.__version__, threads,
                         skipped="PyTorch has no ONNX Resize")
                if others:
                    ref = ups_resize(args.ups, case)
            elif "torch" in args.peers or others:
                ref = ref_call()
                if list(ref.shape) != (c["shape"] if backward else c["out_shape"]):
                    sys.exit("%s: %s: PyTorch gives shape %s, ups %s"
                             % (name, c["case"], list(ref.shape), c["out_shape"]))
            if "torch" in args.peers and c["op"] != "resize":
                if args.verbose:
                    print("pytorch: " + c["case"], file=sys.stderr, flush=True)
                ms = None
                if not args.check_only:
                    if device == "cuda":
                        ms = time_cuda(torch, ref_call, flush, warmup, repeat)
                    else:
                        ms = time_cpu(ref_call, warmup, repeat)
                emit(c, "pytorch", torch.__version__, threads, ms,
                     call=call_name(c))
            for peer in others:
                if args.verbose:
                    print("%s: %s" % (peer.impl, c["case"]), file=sys.stderr, flush=True)
                try:
                    call, output, what = peer.prepare(case)
                except Skip as e:
                    emit(c, peer.impl, peer.version, peer.threads, skipped=str(e))
                    continue
                try:
                    call()
                    result = check(case, ref, output())
                except Exception as e:  # noqa: BLE001 - any failure excludes the peer
                    emit(c, peer.impl, peer.version, peer.threads, call=what,
                         skipped="%s failed: %s" % (what, first_line(e)))
                    continue
                if not result["passed"]:
                    emit(c, peer.impl, peer.version, peer.threads, call=what, check=result,
                         skipped=mismatch_reason(peer, case, call, what, result))
                    continue
                ms = None if args.check_only else time_cpu(call, warmup, repeat)
                emit(c, peer.impl, peer.version, peer.threads, ms, call=what, check=result)
                del call, output
            del ref, ref_call, case
    if out is not sys.stdout:
        out.close()


def call_name(c):
    op = c["op"]
    if c["params"].get("backward"):
        return "torch.autograd.grad of " + ("F.interpolate" if op == "interpolate" else
                                            "F.conv_transpose%dd" % (len(c["shape"]) - 2))
    return {"interpolate": "F.interpolate", "conv-transpose": "F.conv_transpose%dd",
            "resize": "(none)",
            "max-unpool": "F.max_unpool%dd", "pixel-shuffle": "F.pixel_shuffle",
            "pixel-unshuffle": "F.pixel_unshuffle"}[op].replace(
                "%d", str(len(c["shape"]) - 2))


if __name__ == "__main__":
    reexec_with_malloc_tunables()
    main()
