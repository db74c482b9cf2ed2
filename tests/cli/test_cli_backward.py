#!/usr/bin/env python3
"""Tests of `ups interpolate-backward`, using only the Python standard library.

Usage: test_cli_backward.py PATH_TO_UPS [unittest arguments, e.g. a test class name]

The expected gradients are the transposes of test_cli.py's per-axis tap lists (written from
PyTorch's formulas, sharing no code with ups): grad_input[i] is the sum, over every output o and
every tap combination that reads i, of the product of the taps' weights times grad_output[o].
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cli  # noqa: E402
from test_cli import (REFERENCE_CASES, CliTestCase, axis_taps, npy_bytes, prod, read_npy,  # noqa: E402
                      run, sample_values, stored)


def ref_backward(grad_out, in_shape, mode, size=None, scale=None, align_corners=False,
                 recompute=False, antialias=False):
    """grad_input (float64, C order) of interpolate for grad_out over the forward's output."""
    n, c = in_shape[0], in_shape[1]
    spatial = list(in_shape[2:])
    k = len(spatial)
    if size is not None:
        out = list(size) * k if len(size) == 1 else list(size)
        sfs = [None] * k
    else:
        sc = list(scale) * k if len(scale) == 1 else list(scale)
        out = [int(i * s // 1) for i, s in zip(spatial, sc)]
        sfs = [None] * k if (recompute or mode == "area") else sc
    taps = [axis_taps(mode, spatial[a], out[a], sfs[a], align_corners, antialias)
            for a in range(k)]
    in_plane = prod(spatial)
    out_plane = prod(out)
    grad_in = [0.0] * (n * c * in_plane)
    for nc in range(n * c):
        for o in range(out_plane):
            # the output's coordinates
            rem, idx = o, []
            for a in range(k - 1, -1, -1):
                idx.append(rem % out[a])
                rem //= out[a]
            idx.reverse()
            combos = [(0, 1.0)]
            for a in range(k):
                combos = [(p * spatial[a] + i, w * wt) for p, w in combos
                          for i, wt in taps[a][idx[a]]]
            g = grad_out[nc * out_plane + o]
            for p, w in combos:
                grad_in[nc * in_plane + p] += w * g
    return tuple([n, c] + out), grad_in


class InterpolateBackwardTests(CliTestCase):
    def test_modes_against_reference(self):
        for mode, shape, extra, kw in REFERENCE_CASES:
            if mode in ("lanczos", "tricubic") or "--antialias" in extra and len(shape) == 5:
                continue  # no backward (InterpolateBackwardErrorTests)
            for descr in ("<f8", "<f4"):
                with self.subTest(mode=mode, shape=shape, extra=extra, descr=descr):
                    # The forward's output shape, from the reference's own size rule.
                    k = len(shape) - 2
                    if "size" in kw:
                        s = kw["size"]
                        out = list(s) * k if len(s) == 1 else list(s)
                    else:
                        s = kw["scale"]
                        sc = list(s) * k if len(s) == 1 else list(s)
                        out = [int(i * f // 1) for i, f in zip(shape[2:], sc)]
                    go_shape = tuple(list(shape[:2]) + out)
                    grad = stored(descr, sample_values(prod(go_shape)))
                    src = self.write("go.npy", npy_bytes(descr, go_shape, grad))
                    dst = self.path("gi.npy")
                    r = run(["interpolate-backward", src, dst, "--input-size",
                             ",".join(map(str, shape)), "--mode", mode] + extra)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertEqual(r.stderr, "")
                    got_descr, got_shape, got, _ = read_npy(dst)
                    self.assertEqual(got_descr, descr)
                    self.assertEqual(got_shape, tuple(shape))
                    _, want = ref_backward(grad, shape, mode, **kw)
                    if descr == "<f4":
                        want = stored(descr, want)
                    scale = max(1.0, max(abs(v) for v in want))
                    rtol = 1e-12 if descr == "<f8" else 1e-5
                    for i, (a, e) in enumerate(zip(got, want)):
                        self.assertLessEqual(abs(a - e), rtol * scale,
                                             "%s element %d: %r vs %r" % (mode, i, a, e))

    def test_threads_give_identical_bytes(self):
        shape = (2, 3, 9, 11)
        go_shape = (2, 3, 20, 16)
        grad = stored("<f4", sample_values(prod(go_shape)))
        src = self.write("go.npy", npy_bytes("<f4", go_shape, grad))
        outputs = []
        for threads in ("1", "3", "8"):
            dst = self.path("gi%s.npy" % threads)
            r = run(["interpolate-backward", src, dst, "--input-size", "2,3,9,11", "--mode",
                     "bicubic", "--size", "20,16", "--threads", threads, "--deterministic"])
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(dst, "rb") as f:
                outputs.append(f.read())
        self.assertEqual(outputs[0], outputs[1])
        self.assertEqual(outputs[0], outputs[2])


class InterpolateBackwardErrorTests(CliTestCase):
    def test_wrong_grad_out_shape(self):
        src = self.write("go.npy", npy_bytes("<f4", (1, 2, 8, 9), [0.0] * 144))
        self.assert_fails(["interpolate-backward", src, self.path("out.npy"), "--input-size",
                           "1,2,4,5", "--mode", "bilinear", "--scale", "2"], 1,
                          "GRAD_OUT has shape [1, 2, 8, 9] but the interpolation of an input of "
                          "shape [1, 2, 4, 5] gives [1, 2, 8, 10]")

    def test_u8_has_no_gradient(self):
        src = self.write("go.npy", npy_bytes("|u1", (1, 1, 4, 4), [0] * 16))
        self.assert_fails(["interpolate-backward", src, self.path("out.npy"), "--input-size",
                           "1,1,2,2", "--mode", "nearest", "--scale", "2"], 1,
                          "has no gradient for dtype u8")

    def test_engine_modes_have_no_backward(self):
        src = self.write("go.npy", npy_bytes("<f4", (1, 1, 4, 4), [0.0] * 16))
        self.assert_fails(["interpolate-backward", src, self.path("out.npy"), "--input-size",
                           "1,1,8,8", "--mode", "lanczos", "--size", "4", "--antialias"], 1,
                          "interpolate_backward: mode 'lanczos' with antialias has no backward")

    def test_input_size_is_required(self):
        src = self.write("go.npy", npy_bytes("<f4", (1, 1, 4, 4), [0.0] * 16))
        self.assert_fails(["interpolate-backward", src, self.path("out.npy"), "--mode",
                           "nearest", "--scale", "2"], 2, "--input-size")

    def test_forward_option_errors(self):
        src = self.write("go.npy", npy_bytes("<f4", (1, 1, 4, 4), [0.0] * 16))
        self.assert_fails(["interpolate-backward", src, self.path("out.npy"), "--input-size",
                           "1,1,2,2", "--mode", "nearest", "--scale", "2", "--align-corners"], 1,
                          "align_corners option can only be set with the interpolating modes")


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: test_cli_backward.py PATH_TO_UPS [unittest arguments]")
    test_cli.UPS = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)


if __name__ == "__main__":
    main()
