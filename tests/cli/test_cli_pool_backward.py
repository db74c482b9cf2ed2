#!/usr/bin/env python3
"""Tests of `ups max-pool-backward` and `ups max-unpool-backward`, using only the Python standard
library.

Usage: test_cli_pool_backward.py PATH_TO_UPS [unittest arguments, e.g. a test class name]

Expected values come from small references written from PyTorch's definitions, which share no
code with ups: max pooling's gradient scatters each output gradient to the input element its
index names (grad_input[index] += grad_output); max unpooling's gradient gathers, for each input
element, the output gradient at its index. Gradients are small integers, so every sum is exact
in every dtype and the comparisons are exact.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cli  # noqa: E402
from test_cli import CliTestCase, npy_bytes, prod, read_npy, run  # noqa: E402
from test_cli_pool import pool_args, ref_max_pool, values_for  # noqa: E402

DESCRS = ["<f4", "<f8", "<f2", "|u1", "<i4", "<i8"]


def grads_for(descr, count, seed=0):
    """Small integer gradients (non-negative for u8; at most 27 terms of 7 stay below 256)."""
    base = [((i * 29 + seed * 7) % 8) for i in range(count)]
    if descr in ("|u1",):
        return base
    vals = [v - 3 for v in base]
    return [float(v) for v in vals] if descr[1] == "f" else vals


def ref_max_pool_backward(grad, indices, in_shape):
    plane_in = prod(in_shape[2:])
    planes = in_shape[0] * in_shape[1]
    plane_out = len(grad) // planes if planes else 0
    gi = [0] * (planes * plane_in)
    for e, (g, i) in enumerate(zip(grad, indices)):
        assert 0 <= i < plane_in, "invalid index in the test"
        gi[(e // plane_out) * plane_in + i] += g
    return gi


def ref_max_unpool_backward(grad, indices, in_shape, out_spatial):
    plane_in = prod(in_shape[2:])
    plane_out = prod(out_spatial)
    return [grad[(e // plane_in) * plane_out + i] for e, i in enumerate(indices)]


# name, input shape, kernel, stride, padding, dilation, ceil_mode
POOL_CASES = [
    ("1d", (2, 3, 11), [2], None, None, None, False),
    ("1d-overlap", (1, 2, 10), [3], [1], [1], None, False),
    ("2d-overlap", (1, 2, 6, 7), [3], [1], [1], None, False),
    ("2d-dilation-ceil", (2, 1, 7, 8), [3], [2], [1], [2], True),
    ("2d-per-dim", (1, 3, 5, 9), [2, 3], [1, 2], [1, 0], [1, 2], False),
    ("3d", (1, 2, 4, 5, 6), [2], [1], [1], None, True),
    # Windows that share a tap are dilation / gcd(stride, dilation) apart: 2 and 3 here.
    ("1d-dilation", (1, 2, 13), [3], [1], [1], [2], False),
    ("2d-dilation", (1, 1, 9, 10), [2, 3], [2, 1], [0, 1], [3, 3], True),
]


class MaxPoolBackwardTests(CliTestCase):
    def pool(self, descr, shape, x, extra):
        src = self.write("x.npy", npy_bytes(descr, shape, x))
        r = run(["max-pool", src, self.path("y.npy"), self.path("i.npy")] + extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        return read_npy(self.path("i.npy"))

    def backward(self, descr, out_shape, grad, in_shape, extra):
        g = self.write("gy.npy", npy_bytes(descr, out_shape, grad))
        r = run(["max-pool-backward", g, self.path("i.npy"), self.path("gx.npy"),
                 "--input-size", ",".join(str(v) for v in in_shape)] + extra)
        self.assertEqual(r.returncode, 0, "%s: %s" % (extra, r.stderr))
        self.assertEqual((r.stdout, r.stderr), ("", ""))
        out = read_npy(self.path("gx.npy"))
        self.assertEqual(out[0], descr)
        return out[1], out[2]

    def check_case(self, descr, case, extra=()):
        what, shape, kernel, stride, padding, dilation, ceil_mode = case
        opts = pool_args(kernel, stride, padding, dilation, ceil_mode)
        x = values_for(descr, prod(shape), ties=True)
        idx = self.pool(descr, shape, x, opts)
        out_shape, _, want_idx = ref_max_pool(x, shape, kernel, stride, padding, dilation,
                                              ceil_mode)
        self.assertEqual(idx[2], want_idx)
        grad = grads_for(descr, prod(out_shape))
        got = self.backward(descr, out_shape, grad, shape, opts + list(extra))
        self.assertEqual(got, (tuple(shape), ref_max_pool_backward(grad, want_idx, shape)),
                         "%s %s" % (what, descr))

    def test_by_hand(self):
        # x = [3 1 3 0 2], kernel 3, stride 1, padding 1: windows [-, 3, 1] [3, 1, 3] [1, 3, 0]
        # [3, 0, 2] [0, 2, -]; maxima at 0, 0, 2, 2, 4 (the first of equal maxima wins). The
        # gradients 1, 2, 4, 8, 16 add up at 0 (1 + 2), 2 (4 + 8) and 4 (16).
        self.pool("<f4", (1, 1, 5), [3, 1, 3, 0, 2], ["--kernel-size", "3", "--stride", "1",
                                                     "--padding", "1"])
        got = self.backward("<f4", (1, 1, 5), [1, 2, 4, 8, 16], (1, 1, 5),
                            ["--kernel-size", "3", "--stride", "1", "--padding", "1"])
        self.assertEqual(got, ((1, 1, 5), [3, 0, 12, 0, 16]))

    def test_against_reference(self):
        for case in POOL_CASES:
            for descr in DESCRS:
                with self.subTest(case=case[0], dtype=descr):
                    self.check_case(descr, case)

    def test_threads_and_determinism_flag(self):
        case = POOL_CASES[2]
        for extra in (["--threads", "1"], ["--threads", "3", "--deterministic"],
                      ["--device", "cpu", "--threads", "2"]):
            with self.subTest(extra=extra):
                self.check_case("<f4", case, extra)

    def test_empty_batch(self):
        self.write("i.npy", npy_bytes("<i8", (0, 2, 2), []))
        got = self.backward("<f4", (0, 2, 2), [], (0, 2, 4), ["--kernel-size", "2"])
        self.assertEqual(got, ((0, 2, 4), []))

    def test_cuda_device(self):
        info = run(["info"]).stdout
        if "CUDA backend: no" in info or "CUDA devices:   0 usable" in info:
            self.write("i.npy", npy_bytes("<i8", (1, 1, 1), [0]))
            g = self.write("gy.npy", npy_bytes("<f4", (1, 1, 1), [1]))
            contains = "no CUDA backend" if "CUDA backend: no" in info else "no usable CUDA"
            self.assert_fails(["max-pool-backward", g, self.path("i.npy"), self.path("out.npy"),
                               "--input-size", "1,1,2", "--kernel-size", "2", "--device",
                               "cuda"], 1, contains)
            return
        for case in POOL_CASES:
            for descr in ("<f4", "<f2", "<i8"):
                with self.subTest(case=case[0], dtype=descr):
                    self.check_case(descr, case, ["--device", "cuda"])


class MaxUnpoolBackwardTests(CliTestCase):
    def backward(self, descr, out_shape, grad, in_shape, indices, extra):
        g = self.write("gy.npy", npy_bytes(descr, out_shape, grad))
        i = self.write("i.npy", npy_bytes("<i8", in_shape, indices))
        r = run(["max-unpool-backward", g, i, self.path("gx.npy")] + extra)
        self.assertEqual(r.returncode, 0, "%s: %s" % (extra, r.stderr))
        self.assertEqual((r.stdout, r.stderr), ("", ""))
        out = read_npy(self.path("gx.npy"))
        self.assertEqual(out[0], descr)
        return out[1], out[2]

    def test_by_hand(self):
        # Output plane 4 (kernel 2 on 2 elements): indices 3, 3 (a duplicate) and 0, 1.
        got = self.backward("<f4", (1, 2, 4), [10, 11, 12, 13, 20, 21, 22, 23], (1, 2, 2),
                            [3, 3, 0, 1], ["--kernel-size", "2"])
        self.assertEqual(got, ((1, 2, 2), [13, 13, 20, 21]))

    def test_against_reference(self):
        for in_shape, out_spatial, extra in (
                ((2, 3, 5), (10,), ["--kernel-size", "2"]),
                ((1, 2, 3, 4), (7, 9), ["--kernel-size", "3", "--stride", "2", "--padding", "1",
                                        "--output-size", "6,8"]),
                ((1, 2, 2, 3, 2), (4, 6, 4), ["--kernel-size", "2", "--threads", "3"]),
                ((1, 1, 3, 3), (7, 7), ["--kernel-size", "3", "--stride", "2", "--padding", "1",
                                        "--output-size", "6"])):
            if "--output-size" in extra:
                size = extra[extra.index("--output-size") + 1].split(",")
                out_spatial = tuple(int(v) for v in size) * (1 if len(size) > 1 else
                                                              len(in_shape) - 2)
            for descr in DESCRS:
                with self.subTest(shape=in_shape, dtype=descr):
                    plane = prod(out_spatial)
                    idx = [(e * 7) % plane for e in range(prod(in_shape))]
                    out_shape = tuple(in_shape[:2]) + tuple(out_spatial)
                    grad = values_for(descr, prod(out_shape))
                    got = self.backward(descr, out_shape, grad, in_shape, idx,
                                        extra + ["--deterministic"])
                    self.assertEqual(got, (tuple(in_shape), ref_max_unpool_backward(
                        grad, idx, in_shape, out_spatial)))


class BackwardErrorTests(CliTestCase):
    def setUp(self):
        super().setUp()
        # Valid problems: max pooling of (1, 2, 4, 4) with kernel 2, and its unpooling.
        self.g = self.write("g.npy", npy_bytes("<f4", (1, 2, 2, 2), [1] * 8))
        self.i = self.write("i.npy", npy_bytes("<i8", (1, 2, 2, 2), [0, 2, 8, 10] * 2))
        self.gu = self.write("gu.npy", npy_bytes("<f4", (1, 2, 4, 4), [1] * 32))
        self.out = self.path("out.npy")

    def pool(self, *extra, grad=None, indices=None, size="1,2,4,4"):
        return (["max-pool-backward", grad or self.g, indices or self.i, self.out,
                 "--input-size", size, "--kernel-size", "2"] + list(extra))

    def unpool(self, *extra, grad=None, indices=None):
        return (["max-unpool-backward", grad or self.gu, indices or self.i, self.out,
                 "--kernel-size", "2"] + list(extra))

    def test_the_valid_problems_run(self):
        for args in (self.pool(), self.unpool()):
            with self.subTest(command=args[0]):
                r = run(args)
                self.assertEqual(r.returncode, 0, r.stderr)

    def test_usage_errors(self):
        self.assert_fails(self.pool(size="4,4"), 2,
                          "--input-size: expected N, C and 1 to 3 spatial sizes (3 to 5 values), "
                          "got 2")
        self.assert_fails(self.pool(size="1,1,1,1,1,1"), 2, "got 6")
        self.assert_fails(self.pool(size="1,-2,4,4"), 2, "--input-size")
        self.assert_fails(["max-pool-backward", self.g, self.i, self.out, "--kernel-size", "2"],
                          2, "--input-size")
        self.assert_fails(self.pool("--threads", "x"), 2, "--threads")
        self.assert_fails(self.unpool("--bogus"), 2, "--bogus")

    def test_invalid_indices(self):
        bad = self.write("bad.npy", npy_bytes("<i8", (1, 2, 2, 2), [0, 2, 8, 10, 16, 2, 8, 10]))
        self.assert_fails(self.pool(indices=bad), 1,
                          "max_pool_backward: invalid max index 16 at position 4 of indices (C "
                          "order): outside the input plane of size 4x4")
        off = self.write("off.npy", npy_bytes("<i8", (1, 2, 2, 2), [0, 2, 8, 10, 0, 0, 8, 10]))
        self.assert_fails(self.pool(indices=off), 1,
                          "max_pool_backward: invalid max index 0 at position 5 of indices (C "
                          "order): not an element of its pooling window")
        self.assert_fails(self.unpool(indices=bad), 1,
                          "Found an invalid max index: 16 (output volumes are of size 4x4)")
        self.assertFalse(os.path.exists(self.path("gx.npy")))

    def test_shape_and_dtype_errors(self):
        self.assert_fails(self.pool(size="1,2,6,4"), 1,
                          "max-pool-backward: GRAD_OUT '%s' has shape [1, 2, 2, 2] but the "
                          "pooling of an input of shape [1, 2, 6, 4] has output shape "
                          "[1, 2, 3, 2]" % self.g)
        i32 = self.write("i32.npy", npy_bytes("<i4", (1, 2, 2, 2), [0] * 8))
        self.assert_fails(self.pool(indices=i32), 1,
                          "max_pool_backward: indices must have dtype i64, but got i32")
        self.assert_fails(self.pool(size="1,2,1,4"), 1, "Output size is too small")
        gbad = self.write("gb.npy", npy_bytes("<f4", (1, 2, 4, 5), [0] * 40))
        self.assert_fails(self.unpool(grad=gbad), 1,
                          "max_unpool_backward: expected grad_output of shape [1, 2, 4, 4] (the "
                          "max_unpool output shape for grad_input of shape [1, 2, 2, 2]) but got "
                          "[1, 2, 4, 5]")
        self.assert_fails(self.unpool(indices=i32), 1,
                          "elements in indices should be type int64 but got: Int")
        self.assert_fails(["max-pool-backward", self.path("nope.npy"), self.i, self.out,
                           "--input-size", "1,2,4,4", "--kernel-size", "2"], 1,
                          "No such file or directory")

    def test_help(self):
        for command in ("max-pool-backward", "max-unpool-backward"):
            r = run([command, "--help"])
            self.assertEqual(r.returncode, 0)
            for flag in ("--device", "--threads", "--deterministic", "--kernel-size",
                         "--stride", "--padding"):
                self.assertIn(flag, r.stdout)
        self.assertIn("--dilation", run(["max-pool-backward", "--help"]).stdout)
        self.assertIn("--ceil-mode", run(["max-pool-backward", "--help"]).stdout)
        self.assertIn("--input-size", run(["max-pool-backward", "--help"]).stdout)
        self.assertIn("--output-size", run(["max-unpool-backward", "--help"]).stdout)
        listing = run(["--help"]).stdout
        self.assertIn("max-pool-backward", listing)
        self.assertIn("max-unpool-backward", listing)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: test_cli_pool_backward.py PATH_TO_UPS [unittest arguments]")
    test_cli.UPS = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)


if __name__ == "__main__":
    main()
