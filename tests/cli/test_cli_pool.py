#!/usr/bin/env python3
"""Tests of `ups max-pool`, `ups max-unpool`, `ups pixel-shuffle` and `ups pixel-unshuffle`, and
of their examples in `ups demo`, using only the Python standard library.

Usage: test_cli_pool.py PATH_TO_UPS [unittest arguments, e.g. a test class name]

Expected values come from the small references below, written from PyTorch's definitions
(window scan in D, H, W order where the first maximum wins; zero-filled scatter where the last
write wins; the pixel-shuffle index formula), which share no code with ups, or are worked out by
hand. The .npy helpers and the error-checking test case are those of test_cli.py.
"""

import itertools
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cli  # noqa: E402
from test_cli import (CliTestCase, demo_sections, npy_bytes, prod, read_npy, run,  # noqa: E402
                      stored)

# Every dtype the ops accept that .npy files can hold.
ALL_DESCRS = ["<f4", "<f8", "<f2", "|u1", "<i4", "<i8"]


def values_for(descr, count, ties=False):
    """Test values for a dtype: many equal values when ties is set (to exercise which maximum
    wins), otherwise distinct ones; integers beyond what f32 (i32) or f64 (i64) holds exactly,
    so that a detour through floating point would show."""
    if ties:
        base = [((i * 37) % 11) - 5 for i in range(count)]
    else:
        base = [((i * 53) % 97) - 48 for i in range(count)]
    if descr == "|u1":
        return [(v + 48) % 256 for v in base]
    if descr == "<i4":
        return [v * 40000001 + (1 << 24) + 1 for v in base]
    if descr == "<i8":
        return [v * 3 + (1 << 60) + 1 for v in base]
    return stored(descr, [v / 4.0 for v in base])


def expand(value, k, default):
    if value is None:
        return [default] * k
    return list(value) * k if len(value) == 1 else list(value)


def flat(idx, dims):
    f = 0
    for i, d in zip(idx, dims):
        f = f * d + i
    return f


# ---- references ---------------------------------------------------------------------------------


def pool_size(n, k, s, p, d, ceil_mode):
    num = n + 2 * p - d * (k - 1) - 1
    out = (num + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:  # the last window would start in the right padding
        out -= 1
    return out


def ref_max_pool(x, shape, kernel, stride=None, padding=None, dilation=None, ceil_mode=False):
    """Returns (output shape, values, indices). Windows are scanned in D, H, W order over the
    taps inside the input; the first maximum wins."""
    k = len(shape) - 2
    sp = list(shape[2:])
    ks = expand(kernel, k, None)
    ss = expand(stride, k, None) if stride is not None else ks
    ps = expand(padding, k, 0)
    ds = expand(dilation, k, 1)
    out = [pool_size(sp[a], ks[a], ss[a], ps[a], ds[a], ceil_mode) for a in range(k)]
    plane = prod(sp)
    vals, idxs = [], []
    for nc in range(shape[0] * shape[1]):
        for o in itertools.product(*[range(v) for v in out]):
            best, best_i = None, None
            for t in itertools.product(*[range(v) for v in ks]):
                pos = [o[a] * ss[a] - ps[a] + t[a] * ds[a] for a in range(k)]
                if any(pos[a] < 0 or pos[a] >= sp[a] for a in range(k)):
                    continue
                i = flat(pos, sp)
                v = x[nc * plane + i]
                if best is None or v > best:
                    best, best_i = v, i
            vals.append(best)
            idxs.append(best_i)
    return tuple(list(shape[:2]) + out), vals, idxs


def ref_max_unpool(x, indices, shape, out_spatial):
    """Zero-filled output; each input value goes to its index in its plane, later ones (in C
    order) overwriting earlier ones."""
    plane_in = prod(shape[2:])
    plane_out = prod(out_spatial)
    y = [0] * (shape[0] * shape[1] * plane_out)
    for e, (v, i) in enumerate(zip(x, indices)):
        assert 0 <= i < plane_out, "invalid index in the test"
        y[(e // plane_in) * plane_out + i] = v
    return tuple(list(shape[:2]) + list(out_spatial)), y


def ref_pixel_shuffle(x, shape, r):
    """out[..., c, h * r + i, w * r + j] = in[..., (c * r + i) * r + j, h, w]."""
    *lead, cin, h, w = shape
    c = cin // (r * r)
    y = []
    for b in range(prod(lead)):
        for co in range(c):
            for oh in range(h * r):
                for ow in range(w * r):
                    ci = (co * r + oh % r) * r + ow % r
                    y.append(x[((b * cin + ci) * h + oh // r) * w + ow // r])
    return tuple(lead + [c, h * r, w * r]), y


def ref_pixel_unshuffle(x, shape, r):
    """out[..., (c * r + i) * r + j, h, w] = in[..., c, h * r + i, w * r + j]."""
    *lead, c, h, w = shape
    oh, ow = h // r, w // r
    y = []
    for b in range(prod(lead)):
        for co in range(c * r * r):
            ci, i, j = co // (r * r), (co // r) % r, co % r
            for a in range(oh):
                for e in range(ow):
                    y.append(x[((b * c + ci) * h + a * r + i) * w + e * r + j])
    return tuple(lead + [c * r * r, oh, ow]), y


class ReferenceSelfTests(unittest.TestCase):
    """The references against values worked out by hand."""

    def test_max_pool_by_hand(self):
        # x = [1 5 5 2 0], kernel 2, stride 2, padding 1, ceil mode: windows [-, 1], [5, 5],
        # [2, 0]; a fourth would start in the right padding. The first 5 wins its window.
        self.assertEqual(ref_max_pool([1, 5, 5, 2, 0], (1, 1, 5), [2], [2], [1], ceil_mode=True),
                         ((1, 1, 3), [1, 5, 2], [0, 1, 3]))

    def test_pixel_shuffle_by_hand(self):
        # Four channels of one pixel each become one 2x2 block.
        self.assertEqual(ref_pixel_shuffle([1, 2, 3, 4], (1, 4, 1, 1), 2),
                         ((1, 1, 2, 2), [1, 2, 3, 4]))
        self.assertEqual(ref_pixel_unshuffle([1, 2, 3, 4], (1, 1, 2, 2), 2),
                         ((1, 4, 1, 1), [1, 2, 3, 4]))


def int_list(values):
    return ",".join(str(v) for v in values)


# ---- max-pool -----------------------------------------------------------------------------------

# Each case: (what, input shape, kernel, stride, padding, dilation, ceil_mode).
POOL_CASES = [
    ("1-D stride 2, padding 1", (2, 3, 9), [3], [2], [1], None, False),
    ("1-D dilation 2, ceil mode", (2, 3, 9), [3], [2], [1], [2], True),
    ("1-D ceil mode drops a window starting in the padding", (1, 2, 5), [2], [2], [1], None, True),
    ("1-D ceil mode keeps a partial window", (1, 1, 6), [3], [2], None, None, True),
    ("2-D stride defaults to the kernel", (2, 2, 6, 7), [2], None, None, None, False),
    ("2-D per-dim tuples", (2, 2, 7, 6), [3, 2], [2, 1], [1, 0], [1, 2], True),
    ("3-D", (1, 2, 4, 5, 5), [2, 3, 3], [2, 2, 1], [1, 1, 0], None, True),
    ("3-D one value for all dims", (1, 1, 5, 4, 6), [3], [2], [1], [1], False),
]


def pool_args(kernel, stride, padding, dilation, ceil_mode):
    args = ["--kernel-size", int_list(kernel)]
    if stride is not None:
        args += ["--stride", int_list(stride)]
    if padding is not None:
        args += ["--padding", int_list(padding)]
    if dilation is not None:
        args += ["--dilation", int_list(dilation)]
    if ceil_mode:
        args.append("--ceil-mode")
    return args


class MaxPoolTests(CliTestCase):
    def max_pool(self, descr, shape, x, extra):
        src = self.write("in.npy", npy_bytes(descr, shape, x))
        r = run(["max-pool", src, self.path("out.npy"), self.path("idx.npy")] + extra)
        self.assertEqual(r.returncode, 0, "ups max-pool %s: %s" % (extra, r.stderr))
        self.assertEqual((r.stdout, r.stderr), ("", ""))
        self.assertEqual(sorted(os.listdir(self.dir)), ["idx.npy", "in.npy", "out.npy"])
        out = read_npy(self.path("out.npy"))
        idx = read_npy(self.path("idx.npy"))
        self.assertEqual(out[3], (1, 0))
        self.assertEqual(out[0], descr)
        self.assertEqual(idx[0], "<i8")
        self.assertEqual(idx[1], out[1])
        return out[1], out[2], idx[2]

    def check_case(self, descr, case, ties, extra=()):
        what, shape, kernel, stride, padding, dilation, ceil_mode = case
        x = values_for(descr, prod(shape), ties)
        got = self.max_pool(descr, shape, x,
                            pool_args(kernel, stride, padding, dilation, ceil_mode) + list(extra))
        # Max pooling only selects values, so every dtype matches exactly.
        self.assertEqual(got, ref_max_pool(x, shape, kernel, stride, padding, dilation,
                                           ceil_mode), "%s %s" % (what, descr))

    def test_by_hand(self):
        # 2x4 input, kernel 2: windows {1, 7, 3, 7} and {2, 2, 8, 0}; the first 7 (position 1)
        # and the 8 (position 6) win.
        for descr in ALL_DESCRS:
            shape, out, idx = self.max_pool(descr, (1, 1, 2, 4), [1, 7, 2, 2, 3, 7, 8, 0],
                                            ["--kernel-size", "2"])
            self.assertEqual((shape, out, idx), ((1, 1, 1, 2), [7, 8], [1, 6]), descr)

    def test_against_reference(self):
        for case in POOL_CASES:
            for ties in (False, True):
                for descr in ("<f4", "<f8"):
                    with self.subTest(case=case[0], dtype=descr, ties=ties):
                        self.check_case(descr, case, ties)

    def test_integer_and_f16_dtypes(self):
        for case in POOL_CASES[1::2]:
            for descr in ("<f2", "|u1", "<i4", "<i8"):
                with self.subTest(case=case[0], dtype=descr):
                    self.check_case(descr, case, True)

    def test_threads_and_options_syntax(self):
        case = POOL_CASES[5]
        for extra in (["--threads", "1"], ["--threads", "3"], ["--device", "cpu"]):
            with self.subTest(extra=extra):
                self.check_case("<f4", case, True, extra)
        # --name=VALUE and spaces inside tuples.
        x = values_for("<f8", 2 * 2 * 7 * 6)
        got = self.max_pool("<f8", (2, 2, 7, 6), x,
                            ["--kernel-size=3, 2", "--stride=2,1", "--padding", "1 ,0",
                             "--dilation=1,2", "--ceil-mode"])
        self.assertEqual(got, ref_max_pool(x, (2, 2, 7, 6), [3, 2], [2, 1], [1, 0], [1, 2], True))

    def test_empty_batch(self):
        shape, out, idx = self.max_pool("<f4", (0, 2, 4, 4), [], ["--kernel-size", "2"])
        self.assertEqual((shape, out, idx), ((0, 2, 2, 2), [], []))

    def test_replaces_existing_outputs(self):
        self.write("out.npy", b"old")
        self.write("idx.npy", b"old")
        shape, out, idx = self.max_pool("<f4", (1, 1, 1, 2), [3, 4], ["--kernel-size", "1,2"])
        self.assertEqual((shape, out, idx), ((1, 1, 1, 1), [4], [1]))

    def test_cuda_device(self):
        info = run(["info"]).stdout
        if "CUDA backend: no" in info or "CUDA devices:   0 usable" in info:
            src = self.write("in.npy", npy_bytes("<f4", (1, 1, 2), [1, 2]))
            contains = "no CUDA backend" if "CUDA backend: no" in info else "no usable CUDA"
            self.assert_fails(["max-pool", src, self.path("out.npy"), self.path("idx.npy"),
                               "--kernel-size", "2", "--device", "cuda"], 1, contains)
            self.assertFalse(os.path.exists(self.path("idx.npy")))
            return
        for case in POOL_CASES:
            for descr in ("<f4", "<i8", "|u1"):
                with self.subTest(case=case[0], dtype=descr):
                    self.check_case(descr, case, True, ["--device", "cuda"])


# ---- max-unpool ---------------------------------------------------------------------------------


class MaxUnpoolTests(CliTestCase):
    def max_unpool(self, descr, shape, x, indices, extra, index_descr="<i8"):
        src = self.write("in.npy", npy_bytes(descr, shape, x))
        idx = self.write("idx.npy", npy_bytes(index_descr, shape, indices))
        r = run(["max-unpool", src, idx, self.path("out.npy")] + extra)
        self.assertEqual(r.returncode, 0, "ups max-unpool %s: %s" % (extra, r.stderr))
        self.assertEqual((r.stdout, r.stderr), ("", ""))
        out_descr, out_shape, out = read_npy(self.path("out.npy"))[:3]
        self.assertEqual(out_descr, descr)
        return out_shape, out

    def test_by_hand(self):
        # A 1x2 input unpooled with kernel 2 into 2x4: value 7 at position 1, 8 at position 6.
        for descr in ALL_DESCRS:
            shape, out = self.max_unpool(descr, (1, 1, 1, 2), [7, 8], [1, 6],
                                         ["--kernel-size", "2"])
            self.assertEqual(shape, (1, 1, 2, 4))
            self.assertEqual(out, [0, 7, 0, 0, 0, 0, 8, 0], descr)

    def test_pool_then_unpool(self):
        # The indices of ups max-pool, fed back: each maximum returns to its place.
        for what, shape, kernel, stride, padding, _, _ in POOL_CASES:
            for descr in ALL_DESCRS:
                with self.subTest(case=what, dtype=descr):
                    x = values_for(descr, prod(shape), ties=True)
                    pooled_shape, pooled, indices = ref_max_pool(x, shape, kernel, stride,
                                                                 padding)
                    # The default size can differ from the input's; ask for the input's.
                    extra = pool_args(kernel, stride, padding, None, False)
                    extra += ["--output-size", int_list(shape[2:])]
                    got = self.max_unpool(descr, pooled_shape, pooled, indices, extra)
                    self.assertEqual(got, ref_max_unpool(pooled, indices, pooled_shape,
                                                         shape[2:]))
                    # With the tool's own indices the round trip is the same.
                    src = self.write("x.npy", npy_bytes(descr, shape, x))
                    r = run(["max-pool", src, self.path("p.npy"), self.path("i.npy")] +
                            pool_args(kernel, stride, padding, None, False))
                    self.assertEqual(r.returncode, 0, r.stderr)
                    r = run(["max-unpool", self.path("p.npy"), self.path("i.npy"),
                             self.path("u.npy")] + extra)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertEqual(read_npy(self.path("u.npy"))[1:3], got)

    def test_duplicate_indices_last_wins(self):
        # Within each plane, positions 0 and 5 are named twice: the later input element wins.
        x = [1, 2, 3, 4, 10, 20, 30, 40]
        indices = [5, 0, 5, 0, 3, 3, 3, 15]
        ref = ref_max_unpool(x, indices, (1, 2, 2, 2), (4, 4))
        self.assertEqual(ref[1][:16], [4, 0, 0, 0, 0, 3] + [0] * 10)
        for extra in ([], ["--deterministic"], ["--threads", "2"]):
            with self.subTest(extra=extra):
                got = self.max_unpool("<f4", (1, 2, 2, 2), x, indices,
                                      ["--kernel-size", "2"] + extra)
                self.assertEqual(got, ref)

    def test_default_and_explicit_output_sizes(self):
        x = values_for("<f8", 2 * 3)
        shape = (1, 2, 3)  # 1-D
        # Default: (3 - 1) * 2 - 2 * 1 + 3 = 5.
        got = self.max_unpool("<f8", shape, x, [0, 1, 4, 4, 2, 0],
                              ["--kernel-size", "3", "--stride", "2", "--padding", "1"])
        self.assertEqual(got, ref_max_unpool(x, [0, 1, 4, 4, 2, 0], shape, (5,)))
        # Anything strictly between 5 - 2 and 5 + 2, optionally preceded by N and C.
        for sizes, expected in (("4", 4), ("6", 6), ("1,2,6", 6)):
            got = self.max_unpool("<f8", shape, x, [0, 1, 3, 3, 2, 0],
                                  ["--kernel-size", "3", "--stride", "2", "--padding", "1",
                                   "--output-size", sizes])
            self.assertEqual(got, ref_max_unpool(x, [0, 1, 3, 3, 2, 0], shape, (expected,)))
        # One value for every spatial dim of a 3-D problem: default 2 * 2 = 4, asked 5.
        shape = (1, 1, 2, 2, 2)
        x = values_for("<i4", 8)
        indices = [0, 9, 18, 27, 124, 100, 50, 64]
        got = self.max_unpool("<i4", shape, x, indices, ["--kernel-size", "2", "--output-size",
                                                          "5"])
        self.assertEqual(got, ref_max_unpool(x, indices, shape, (5, 5, 5)))

    def test_empty(self):
        # An empty batch, and an empty output: (1 - 1) * 2 - 2 * 1 + 2 = 0, as in PyTorch.
        self.assertEqual(self.max_unpool("<f4", (0, 2, 3, 3), [], [], ["--kernel-size", "2"]),
                         ((0, 2, 6, 6), []))
        self.assertEqual(self.max_unpool("<f4", (1, 2, 1), [1, 2], [0, 0],
                                         ["--kernel-size", "2", "--stride", "2", "--padding",
                                          "1"]),
                         ((1, 2, 0), []))

    def test_cuda_device(self):
        info = run(["info"]).stdout
        if "CUDA backend: no" in info or "CUDA devices:   0 usable" in info:
            src = self.write("in.npy", npy_bytes("<f4", (1, 1, 2), [1, 2]))
            idx = self.write("idx.npy", npy_bytes("<i8", (1, 1, 2), [0, 3]))
            contains = "no CUDA backend" if "CUDA backend: no" in info else "no usable CUDA"
            self.assert_fails(["max-unpool", src, idx, self.path("out.npy"), "--kernel-size",
                               "2", "--device", "cuda"], 1, contains)
            return
        x = [1, 2, 3, 4, 10, 20, 30, 40]
        indices = [5, 0, 5, 0, 3, 3, 3, 15]
        ref = ref_max_unpool(x, indices, (1, 2, 2, 2), (4, 4))
        for descr in ("<f4", "<i8"):
            got = self.max_unpool(descr, (1, 2, 2, 2), x, indices,
                                  ["--kernel-size", "2", "--device", "cuda", "--deterministic"])
            self.assertEqual(got, ref)
        # A bad index is reported on CUDA too, and the device survives it.
        src = self.write("in.npy", npy_bytes("<f4", (1, 1, 2), [1, 2]))
        idx = self.write("idx.npy", npy_bytes("<i8", (1, 1, 2), [0, 4]))
        self.assert_fails(["max-unpool", src, idx, self.path("out.npy"), "--kernel-size", "2",
                           "--device", "cuda"], 1, "Found an invalid max index: 4")


# ---- pixel-shuffle, pixel-unshuffle -------------------------------------------------------------


class PixelShuffleTests(CliTestCase):
    def shuffle(self, command, descr, shape, x, factor, extra=()):
        src = self.write("in.npy", npy_bytes(descr, shape, x))
        r = run([command, src, self.path("out.npy"), "--factor", str(factor)] + list(extra))
        self.assertEqual(r.returncode, 0, "ups %s: %s" % (command, r.stderr))
        self.assertEqual((r.stdout, r.stderr), ("", ""))
        self.assertEqual(sorted(os.listdir(self.dir)), ["in.npy", "out.npy"])
        out_descr, out_shape, out = read_npy(self.path("out.npy"))[:3]
        self.assertEqual(out_descr, descr)
        return out_shape, out

    def test_index_map(self):
        # Every input element holds its own flat position, so the output is the index map.
        for shape, r in (((1, 9, 4, 4), 3), ((2, 8, 3, 2), 2), ((4, 2, 3), 1), ((12, 2, 3), 2),
                         ((2, 2, 4, 3, 2), 2)):
            with self.subTest(shape=shape, r=r):
                x = list(range(prod(shape)))
                got = self.shuffle("pixel-shuffle", "<i8", shape, x, r)
                self.assertEqual(got, ref_pixel_shuffle(x, shape, r))

    def test_by_hand(self):
        # (1, 4, 1, 2) with r = 2: channel k of pixel w goes to row k // 2, column 2w + k % 2.
        got = self.shuffle("pixel-shuffle", "<f4", (1, 4, 1, 2), [0, 1, 10, 11, 20, 21, 30, 31],
                           2)
        self.assertEqual(got, ((1, 1, 2, 4), [0, 10, 1, 11, 20, 30, 21, 31]))

    def test_dtypes(self):
        shape = (1, 8, 2, 3)
        for descr in ALL_DESCRS:
            with self.subTest(dtype=descr):
                x = values_for(descr, prod(shape))
                got = self.shuffle("pixel-shuffle", descr, shape, x, 2)
                self.assertEqual(got, ref_pixel_shuffle(x, shape, 2))
                back = self.shuffle("pixel-unshuffle", descr, got[0], got[1], 2)
                self.assertEqual(back, (shape, x))

    def test_unshuffle_against_reference_and_round_trip(self):
        for shape, r in (((1, 1, 12, 12), 3), ((2, 3, 4, 6), 2), ((2, 6, 4), 2),
                         ((2, 1, 2, 6, 9), 3)):
            for descr in ("<f8", "<i4", "|u1"):
                with self.subTest(shape=shape, r=r, dtype=descr):
                    x = values_for(descr, prod(shape))
                    got = self.shuffle("pixel-unshuffle", descr, shape, x, r,
                                       ["--threads", "2"])
                    self.assertEqual(got, ref_pixel_unshuffle(x, shape, r))
                    back = self.shuffle("pixel-shuffle", descr, got[0], got[1], r)
                    self.assertEqual(back, (shape, x))

    def test_any_rank(self):
        # PyTorch takes any number of leading dims; a file of rank 6 or more too.
        for shape, r in (((2, 1, 3, 2, 8, 2, 3), 2), ((1, 2, 1, 2, 1, 9, 2, 2), 3),
                         ((2, 2, 1, 2, 4, 1, 1), 2)):
            with self.subTest(shape=shape, r=r):
                x = list(range(prod(shape)))
                got = self.shuffle("pixel-shuffle", "<i8", shape, x, r, ["--threads", "3"])
                self.assertEqual(got, ref_pixel_shuffle(x, shape, r))
                back = self.shuffle("pixel-unshuffle", "<i8", got[0], got[1], r)
                self.assertEqual(back, (shape, x))
        shape = (2, 1, 2, 1, 3, 4, 6)
        x = values_for("<f2", prod(shape))
        self.assertEqual(self.shuffle("pixel-unshuffle", "<f2", shape, x, 2),
                         ref_pixel_unshuffle(x, shape, 2))
        # Empty leading dims.
        self.assertEqual(self.shuffle("pixel-shuffle", "<f4", (1, 0, 1, 1, 4, 2, 2), [], 2),
                         ((1, 0, 1, 1, 1, 4, 4), []))

    def test_empty(self):
        self.assertEqual(self.shuffle("pixel-shuffle", "<f4", (0, 4, 2, 2), [], 2),
                         ((0, 1, 4, 4), []))
        self.assertEqual(self.shuffle("pixel-unshuffle", "<f4", (1, 1, 0, 2), [], 2),
                         ((1, 4, 0, 1), []))

    def test_cuda_device(self):
        info = run(["info"]).stdout
        if "CUDA backend: no" in info or "CUDA devices:   0 usable" in info:
            src = self.write("in.npy", npy_bytes("<f4", (1, 4, 1, 1), [1, 2, 3, 4]))
            contains = "no CUDA backend" if "CUDA backend: no" in info else "no usable CUDA"
            for command in ("pixel-shuffle", "pixel-unshuffle"):
                self.assert_fails([command, src, self.path("out.npy"), "--factor", "1",
                                   "--device", "cuda"], 1, contains)
            return
        for descr in ALL_DESCRS:
            shape = (2, 9, 4, 8)
            x = values_for(descr, prod(shape))
            got = self.shuffle("pixel-shuffle", descr, shape, x, 3, ["--device", "cuda"])
            self.assertEqual(got, ref_pixel_shuffle(x, shape, 3))
            back = self.shuffle("pixel-unshuffle", descr, got[0], got[1], 3, ["--device", "cuda"])
            self.assertEqual(back, (shape, x))


# ---- errors -------------------------------------------------------------------------------------


class PoolShuffleErrorTests(CliTestCase):
    def setUp(self):
        super().setUp()
        # A valid 2-D problem for each command; each error below changes one thing.
        self.x = self.write("x.npy", npy_bytes("<f4", (1, 2, 4, 6), values_for("<f4", 48)))
        self.y = self.write("y.npy", npy_bytes("<f4", (1, 2, 2, 3), values_for("<f4", 12)))
        self.i = self.write("i.npy", npy_bytes("<i8", (1, 2, 2, 3), [0, 3, 5, 12, 20, 23] * 2))
        self.out = self.path("out.npy")
        self.idx = self.path("idx.npy")

    def pool(self, *extra, kernel=True):
        args = ["max-pool", self.x, self.out, self.idx]
        return args + (["--kernel-size", "2"] if kernel else []) + list(extra)

    def unpool(self, *extra, indices=None, kernel=True):
        args = ["max-unpool", self.y, indices or self.i, self.out]
        return args + (["--kernel-size", "2"] if kernel else []) + list(extra)

    def shuffle(self, command, *extra, src=None):
        return [command, src or self.x, self.out] + list(extra)

    def test_the_valid_problems_run(self):
        for args in (self.pool(), self.unpool(), self.shuffle("pixel-unshuffle", "--factor", "2"),
                     self.shuffle("pixel-shuffle", "--factor", "1")):
            with self.subTest(command=args[0]):
                r = run(args)
                self.assertEqual(r.returncode, 0, r.stderr)

    def test_usage_errors(self):
        cases = [
            (["max-pool", self.x, self.out], "missing argument INDICES"),
            (["max-pool", self.x], "missing argument OUT"),
            (["max-pool"], "missing argument IN"),
            (self.pool(kernel=False), "missing required option --kernel-size"),
            (self.pool("--kernel-size", "2"), "option --kernel-size is given more than once"),
            (self.pool(kernel=False) + ["--kernel-size", "0"], "--kernel-size: 0 is out of range"),
            (self.pool(kernel=False) + ["--kernel-size", "2,,2"], "--kernel-size: empty element"),
            (self.pool("--stride", "0"), "--stride: 0 is out of range"),
            (self.pool("--stride", "1.5"), "--stride: expected an integer"),
            (self.pool("--padding", "-1"), "--padding: expected a non-negative integer"),
            (self.pool("--dilation", "0"), "--dilation: 0 is out of range"),
            (self.pool("--ceil-mode=1"), "option --ceil-mode takes no value"),
            (self.pool("--output-size", "3"), "unknown option '--output-size'"),
            (self.pool("--device", "gpu"), "--device: expected auto, cpu or cuda"),
            (self.pool("--threads", "-1"), "--threads"),
            (self.pool("extra.npy"), "unexpected argument 'extra.npy'"),
            (["max-pool", self.x, self.out, self.out, "--kernel-size", "2"],
             "OUT and INDICES name the same file"),
            (["max-pool", self.x, self.out, os.path.join(self.dir, ".", "out.npy"),
              "--kernel-size", "2"], "OUT and INDICES name the same file"),
            (["max-unpool", self.y, self.i], "missing argument OUT"),
            (["max-unpool", self.y], "missing argument INDICES"),
            (self.unpool(kernel=False), "missing required option --kernel-size"),
            (self.unpool("--output-size", "-1"), "--output-size: expected a non-negative"),
            (self.unpool("--output-size", "4,x"), "--output-size: expected an integer"),
            (self.unpool("--stride", "0"), "--stride: 0 is out of range"),
            (self.unpool("--dilation", "2"), "unknown option '--dilation'"),
            (self.unpool("--deterministic=yes"), "option --deterministic takes no value"),
            (self.shuffle("pixel-shuffle"), "missing required option --factor R"),
            (self.shuffle("pixel-shuffle", "--factor", "0"), "--factor: 0 is out of range"),
            (self.shuffle("pixel-shuffle", "--factor", "-2"), "--factor: -2 is out of range"),
            (self.shuffle("pixel-unshuffle", "--factor", "0"), "--factor: 0 is out of range"),
            (self.shuffle("pixel-unshuffle", "--factor", "2,2"), "--factor: expected an integer"),
            (self.shuffle("pixel-unshuffle", "--factor"), "option --factor needs a value"),
            (["pixel-shuffle", self.x, "--factor", "1"], "missing argument OUT"),
            (["pixel-unshuffle", "--factor", "1"], "missing argument IN"),
            (self.shuffle("pixel-shuffle", "--factor", "1", "--scale", "2"),
             "unknown option '--scale'"),
        ]
        for args, contains in cases:
            with self.subTest(args=args):
                self.assert_fails(args, 2, contains)
        self.assertFalse(os.path.exists(self.idx))
        # Errors in the options come before any file is read.
        self.assert_fails(["max-pool", self.path("missing.npy"), self.out, self.idx,
                           "--kernel-size", "x"], 2, "--kernel-size")

    def test_max_pool_errors_use_pytorch_messages(self):
        x1 = self.write("x1.npy", npy_bytes("<f4", (1, 2, 5), values_for("<f4", 10)))
        x2 = self.write("x2.npy", npy_bytes("<f4", (4, 6), values_for("<f4", 24)))
        cases = [
            (self.pool("--padding", "2"), "pad should be at most half of effective kernel size"),
            (self.pool(kernel=False) + ["--kernel-size", "5"], "Output size is too small"),
            (self.pool("--stride", "1,1,1"),
             "max_pool2d: stride must either be omitted, a single int, or a tuple of two ints"),
            (["max-pool", x1, self.out, self.idx, "--kernel-size", "2,2"],
             "max_pool1d() kernel_size must be an int, list of ints or tuple of ints of size 1"),
            (["max-pool", x2, self.out, self.idx, "--kernel-size", "2"],
             "max-pool: IN '%s' has shape [4, 6]; expected rank 3 (N, C, W), 4 (N, C, H, W) or "
             "5 (N, C, D, H, W)" % x2),
        ]
        for args, contains in cases:
            with self.subTest(args=args[4:]):
                self.assert_fails(args, 1, contains)
                self.assertFalse(os.path.exists(self.idx))

    def test_max_pool_writes_both_outputs_or_neither(self):
        # An existing OUT survives when INDICES cannot be written, and no INDICES appears when
        # OUT cannot be written.
        self.assert_fails(["max-pool", self.x, self.out, self.path("no/dir/idx.npy"),
                           "--kernel-size", "2"], 1, "No such file or directory")
        self.assert_fails(["max-pool", self.x, self.path("no/dir/out.npy"), self.idx,
                           "--kernel-size", "2"], 1, "No such file or directory", "idx.npy")
        os.remove(self.idx)
        os.mkdir(self.path("adir"))
        self.assert_fails(["max-pool", self.x, self.out, self.path("adir"),
                           "--kernel-size", "2"], 1, "is a directory")
        self.assertEqual(os.listdir(self.path("adir")), [])
        self.assert_fails(["max-pool", self.path("nope.npy"), self.out, self.idx,
                           "--kernel-size", "2"], 1, "No such file or directory")
        self.assertFalse(os.path.exists(self.idx))

    def test_bad_index(self):
        # Plane size 4 x 4 = 16 (kernel 2 on 2 x 2): index 16 is one past the end.
        x = self.write("a.npy", npy_bytes("<f4", (1, 1, 2, 2), [1, 2, 3, 4]))
        for bad, named in (([0, 16, 3, 5], 16), ([0, 3, -1, 5], -1), ([99, 3, 5, 40], 40)):
            with self.subTest(indices=bad):
                idx = self.write("bad.npy", npy_bytes("<i8", (1, 1, 2, 2), bad))
                line = self.assert_fails(["max-unpool", x, idx, self.out, "--kernel-size", "2"],
                                         1, "Found an invalid max index: %d" % named)
                self.assertIn("(output volumes are of size 4x4)", line)
                self.assertEqual(sorted(os.listdir(self.dir)),
                                 ["a.npy", "bad.npy", "i.npy", "out.npy", "x.npy", "y.npy"])
        # A fresh OUT is not created either; 1-D and 3-D name their plane sizes as PyTorch does.
        os.remove(self.out)
        x1 = self.write("a1.npy", npy_bytes("<f4", (1, 1, 2), [1, 2]))
        i1 = self.write("b1.npy", npy_bytes("<i8", (1, 1, 2), [0, 4]))
        r = run(["max-unpool", x1, i1, self.out, "--kernel-size", "2"])
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "ups: error: Found an invalid max index: 4 (output volumes "
                                   "are of size 4x1)\n")
        self.assertFalse(os.path.exists(self.out))
        x3 = self.write("a3.npy", npy_bytes("<f4", (1, 1, 1, 1, 2), [1, 2]))
        i3 = self.write("b3.npy", npy_bytes("<i8", (1, 1, 1, 1, 2), [1, 9]))
        r = run(["max-unpool", x3, i3, self.out, "--kernel-size", "1,2,2", "--deterministic"])
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "ups: error: Found an invalid max index: 9 (output volumes "
                                   "are of size 1x2x4)\n")
        self.assertFalse(os.path.exists(self.out))

    def test_max_unpool_errors_use_pytorch_messages(self):
        i32 = self.write("i32.npy", npy_bytes("<i4", (1, 2, 2, 3), [0] * 12))
        f32 = self.write("if.npy", npy_bytes("<f4", (1, 2, 2, 3), [0] * 12))
        i_shape = self.write("is.npy", npy_bytes("<i8", (1, 2, 3, 2), [0] * 12))
        cases = [
            (self.unpool(indices=i32), "elements in indices should be type int64 but got: Int"),
            (self.unpool(indices=f32), "elements in indices should be type int64 but got: Float"),
            (self.unpool(indices=i_shape),
             "Expected shape of indices to be same as that of the input tensor ([1, 2, 2, 3]) "
             "but got indices tensor with shape: [1, 2, 3, 2]"),
            # Default 4 x 6; each size must lie strictly between 4 - 2 and 4 + 2 (6 +- 2).
            (self.unpool("--output-size", "6,6"),
             'invalid output_size "(6, 6)" (dim 0 must be between 2 and 6)'),
            (self.unpool("--output-size", "4,9"),
             'invalid output_size "(4, 9)" (dim 1 must be between 4 and 8)'),
            (self.unpool("--output-size", "4,6,6"),
             "output_size should be a sequence containing 2 or 4 elements, but it has a length "
             "of '3'"),
            (self.unpool("--padding", "1,1,1"), "max_unpool2d: padding must be a single int or"),
        ]
        for args, contains in cases:
            with self.subTest(args=args[2:]):
                self.assert_fails(args, 1, contains)
        self.assert_fails(["max-unpool", self.y, self.path("nope.npy"), self.out,
                           "--kernel-size", "2"], 1, "No such file or directory")

    def test_shuffle_errors_use_pytorch_messages(self):
        x2 = self.write("x2.npy", npy_bytes("<f4", (4, 6), [0] * 24))
        cases = [
            (self.shuffle("pixel-shuffle", "--factor", "2"),
             "pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
             "square of upscale_factor, but input.size(-3)=2 is not divisible by 4"),
            (self.shuffle("pixel-unshuffle", "--factor", "3"),
             "pixel_unshuffle expects height to be divisible by downscale_factor, but "
             "input.size(-2)=4 is not divisible by 3"),
            (self.shuffle("pixel-unshuffle", "--factor", "4"),
             "pixel_unshuffle expects width to be divisible by downscale_factor, but "
             "input.size(-1)=6 is not divisible by 4"),
            (self.shuffle("pixel-shuffle", "--factor", "1", src=x2),
             "pixel_shuffle expects input to have at least 3 dimensions, but got input with 2 "
             "dimension(s)"),
            (self.shuffle("pixel-unshuffle", "--factor", "1", src=x2),
             "pixel_unshuffle expects input to have at least 3 dimensions"),
            (self.shuffle("pixel-shuffle", "--factor", "4000000000"),
             "upscale factor is too large"),
            (self.shuffle("pixel-shuffle", "--factor", "1", src=self.path("nope.npy")),
             "No such file or directory"),
        ]
        for args, contains in cases:
            with self.subTest(args=args):
                self.assert_fails(args, 1, contains)
        self.assert_fails(["pixel-shuffle", self.x, self.path("no/dir/o.npy"), "--factor", "1"],
                          1, "No such file or directory")


# ---- help and demo ----------------------------------------------------------------------------


class PoolShuffleCommandTests(unittest.TestCase):
    def ok(self, args):
        r = run(args)
        self.assertEqual(r.returncode, 0, "ups %s: %s" % (args, r.stderr))
        self.assertEqual(r.stderr, "")
        return r.stdout

    def test_help(self):
        listing = self.ok(["--help"])
        for command, usage, options in (
                ("max-pool", "usage: ups max-pool IN OUT INDICES --kernel-size K[,K...]",
                 ("--stride", "--padding", "--dilation", "--ceil-mode", "--device")),
                ("max-unpool", "usage: ups max-unpool IN INDICES OUT --kernel-size K[,K...]",
                 ("--stride", "--padding", "--output-size", "--deterministic", "--device")),
                ("pixel-shuffle", "usage: ups pixel-shuffle IN OUT --factor R",
                 ("--device",)),
                ("pixel-unshuffle", "usage: ups pixel-unshuffle IN OUT --factor R",
                 ("--device",))):
            with self.subTest(command=command):
                self.assertIn("\n  %s  " % command, listing)
                out = self.ok([command, "--help"])
                self.assertIn(usage, out)
                for option in options:
                    self.assertIn(option, out)
                self.assertEqual(self.ok(["help", command]), out)
                self.assertTrue(all(len(line) <= 92 for line in out.splitlines()), out)

    def test_demo(self):
        for args in (["demo", "--device", "cpu"], ["demo"]):
            sections = demo_sections(self.ok(args))
            pool = [s for s in sections.values() if "MaxPool2d" in s[0]]
            self.assertEqual(len(pool), 1)
            title, text, matrices = pool[0]
            self.assertIn("MaxPool2d(3, stride=1, return_indices=True)", title)
            self.assertIn("MaxUnpool2d(3, stride=1)", title)
            x = [[2.3151, -1.0391, 0.1074], [1.936, 0.2524, 2.3735], [-0.1151, 0.4684, -1.88]]
            self.assertEqual(len(matrices), 4)
            self.assertEqual(matrices[0], x)
            # The one window covers everything: the maximum 2.3735 at row 1, column 2, i.e.
            # flat index 1 * 3 + 2 = 5; unpooling puts it back there among zeros.
            self.assertEqual(matrices[1], [[2.3735]])
            self.assertEqual(matrices[2], [[5]])
            self.assertEqual(matrices[3], [[0, 0, 0], [0, 0, 2.3735], [0, 0, 0]])
            self.assertIn("1 * 3 + 2 = 5", text)
            self.assertIn("pooled [1, 1, 1, 1]", text)
            self.assertIn("unpooled [1, 1, 3, 3]", text)

            shuffle = [s for s in sections.values() if "PixelShuffle(3)" in s[0]]
            self.assertEqual(len(shuffle), 1)
            title, text, matrices = shuffle[0]
            self.assertIn("[1, 9, 4, 4] to [1, 1, 12, 12]", title)
            # Input channel k holds k: out[3h + i, 3w + j] comes from channel 3i + j.
            self.assertEqual(matrices, [[[3 * (i % 3) + j % 3 for j in range(6)]
                                         for i in range(6)]])
            self.assertIn("maps it back to [1, 9, 4, 4], equal to the input", text)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: test_cli_pool.py PATH_TO_UPS [unittest arguments]")
    test_cli.UPS = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)


if __name__ == "__main__":
    main()
