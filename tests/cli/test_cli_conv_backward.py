#!/usr/bin/env python3
"""Tests of `ups conv-transpose-backward`, using only the Python standard library.

Usage: test_cli_conv_backward.py PATH_TO_UPS [unittest arguments, e.g. a test class name]

The expected gradients come from the scatter form of the forward pass below, differentiated by
hand: for every input position i, tap k and output channel, the forward adds x * w into output
o = i * s - p + k * d; so grad_input[i] gathers grad_output[o] * w, grad_weight[k] gathers
x[i] * grad_output[o], and grad_bias sums grad_output. It shares no code with ups.
"""

import itertools
import os
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cli  # noqa: E402
from test_cli import CliTestCase, npy_bytes, prod, read_npy, run, sample_values, stored  # noqa: E402
from test_cli_conv import CASES, expand, weight_values  # noqa: E402


def ref_backward(gy, x, xshape, w, wshape, stride=None, padding=None, output_padding=None,
                 dilation=None, groups=1, output_size=None):
    """Returns (out shape, grad_input, grad_weight, grad_bias, and the sums of |terms| of each),
    in float64, C order."""
    sp = len(xshape) - 2
    n, cin = xshape[0], xshape[1]
    inp = list(xshape[2:])
    cout_g = wshape[1]
    ks = list(wshape[2:])
    s, p = expand(stride, sp, 1), expand(padding, sp, 0)
    op, d = expand(output_padding, sp, 0), expand(dilation, sp, 1)
    base = [(inp[a] - 1) * s[a] - 2 * p[a] + d[a] * (ks[a] - 1) + 1 for a in range(sp)]
    if output_size is not None:
        size = list(output_size)[-sp:] if len(output_size) > 1 else list(output_size) * sp
        op = [size[a] - base[a] for a in range(sp)]
    out = [base[a] + op[a] for a in range(sp)]
    cout, cin_g = groups * cout_g, cin // groups
    plane = prod(out)
    gx, gxm = [0.0] * len(x), [0.0] * len(x)
    gw, gwm = [0.0] * len(w), [0.0] * len(w)
    gb, gbm = [0.0] * cout, [0.0] * cout

    def flat(idx, dims):
        f = 0
        for i, dim in zip(idx, dims):
            f = f * dim + i
        return f

    for b in range(n):
        for ci in range(cin):
            g = ci // cin_g
            for i in itertools.product(*[range(v) for v in inp]):
                xi = (b * cin + ci) * prod(inp) + flat(i, inp)
                for co in range(cout_g):
                    for k in itertools.product(*[range(v) for v in ks]):
                        o = [i[a] * s[a] - p[a] + k[a] * d[a] for a in range(sp)]
                        if any(o[a] < 0 or o[a] >= out[a] for a in range(sp)):
                            continue
                        wi = (ci * cout_g + co) * prod(ks) + flat(k, ks)
                        g_out = gy[(b * cout + g * cout_g + co) * plane + flat(o, out)]
                        gx[xi] += g_out * w[wi]
                        gxm[xi] += abs(g_out * w[wi])
                        gw[wi] += x[xi] * g_out
                        gwm[wi] += abs(x[xi] * g_out)
    for e, v in enumerate(gy):
        c = (e // plane) % cout
        gb[c] += v
        gbm[c] += abs(v)
    return tuple([n, cout] + out), (gx, gxm), (gw, gwm), (gb, gbm)


class ConvBackwardCase(CliTestCase):
    def problem(self, descr, xshape, wshape, kw):
        x = stored(descr, sample_values(prod(xshape)))
        w = stored(descr, weight_values(prod(wshape)))
        # The forward shape, from the reference with a zero gradient.
        shape = ref_backward([0.0] * 10**6, x, xshape, w, wshape, **kw)[0]
        gy = stored(descr, [((i * 37) % 23) / 8.0 - 1.375 for i in range(prod(shape))])
        return x, w, gy, shape

    def write_problem(self, descr, xshape, wshape, x, w, gy, shape):
        return (self.write("gy.npy", npy_bytes(descr, shape, gy)),
                self.write("x.npy", npy_bytes(descr, xshape, x)),
                self.write("w.npy", npy_bytes(descr, wshape, w)))

    def assert_near(self, actual, expected, descr, what):
        values, mag = expected
        rel = {"<f8": 1e-13, "<f4": 1e-5}[descr]
        self.assertEqual(len(actual), len(values), what)
        for i, (a, e, m) in enumerate(zip(actual, values, mag)):
            if not abs(a - e) <= rel * m + 1e-300:
                self.fail("%s %s: element %d is %r, expected %r" % (what, descr, i, a, e))

    def check(self, what, descr, xshape, wshape, extra, kw, more=()):
        x, w, gy, shape = self.problem(descr, xshape, wshape, kw)
        gyp, xp, wp = self.write_problem(descr, xshape, wshape, x, w, gy, shape)
        args = ["conv-transpose-backward", gyp, xp, "--weight", wp,
                "--grad-input", self.path("gx.npy"), "--grad-weight", self.path("gw.npy"),
                "--grad-bias", self.path("gb.npy")] + extra + list(more)
        r = run(args)
        self.assertEqual(r.returncode, 0, "%s: %s" % (what, r.stderr))
        self.assertEqual((r.stdout, r.stderr), ("", ""))
        _, gx, gw, gb = ref_backward(gy, x, xshape, w, wshape, **kw)
        outs = []
        for name, ref, want_shape in (("gx", gx, tuple(xshape)), ("gw", gw, tuple(wshape)),
                                      ("gb", gb, (shape[1],))):
            got_descr, got_shape, got = read_npy(self.path(name + ".npy"))[:3]
            self.assertEqual((got_descr, got_shape), (descr, want_shape), what)
            self.assert_near(got, ref, descr, "%s %s" % (what, name))
            outs.append(got)
        return outs


class ConvTransposeBackwardTests(ConvBackwardCase):
    def test_against_reference(self):
        for what, xshape, wshape, _bias, extra, kw in CASES:
            for descr in ("<f4", "<f8"):
                with self.subTest(case=what, dtype=descr):
                    self.check(what, descr, xshape, wshape, extra, kw)

    def test_by_hand(self):
        # x = [1, 2], w = [1, 10], stride 2 gives y = [1, 10, 2, 20]; with grad_output
        # [1, 2, 3, 4]: grad_input = [1 + 20, 3 + 40], grad_weight = [1 + 6, 2 + 8],
        # grad_bias = 10.
        gy = self.write("gy.npy", npy_bytes("<f4", (1, 1, 4), [1, 2, 3, 4]))
        x = self.write("x.npy", npy_bytes("<f4", (1, 1, 2), [1, 2]))
        w = self.write("w.npy", npy_bytes("<f4", (1, 1, 2), [1, 10]))
        r = run(["conv-transpose-backward", gy, x, "--weight", w, "--stride", "2",
                 "--grad-input", self.path("gx.npy"), "--grad-weight", self.path("gw.npy"),
                 "--grad-bias", self.path("gb.npy")])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(read_npy(self.path("gx.npy"))[:3], ("<f4", (1, 1, 2), [21, 43]))
        self.assertEqual(read_npy(self.path("gw.npy"))[:3], ("<f4", (1, 1, 2), [7, 10]))
        self.assertEqual(read_npy(self.path("gb.npy"))[:3], ("<f4", (1,), [10]))

    def test_algorithms_threads_and_determinism(self):
        what, xshape, wshape, _bias, extra, kw = CASES[4]
        first = None
        for more in (["--algo", "gemm"], ["--algo", "gather"], ["--algo", "auto"],
                     ["--threads", "1"], ["--threads", "3"], ["--deterministic"]):
            with self.subTest(options=more):
                outs = self.check(what, "<f4", xshape, wshape, extra + ["--device", "cpu"], kw,
                                  more)
                if more[0] == "--threads":  # the summation order ignores the thread count
                    first = first or outs
                    self.assertEqual(outs, first)

    def test_one_gradient_at_a_time(self):
        what, xshape, wshape, _bias, extra, kw = CASES[0]
        x, w, gy, shape = self.problem("<f8", xshape, wshape, kw)
        gyp, xp, wp = self.write_problem("<f8", xshape, wshape, x, w, gy, shape)
        refs = ref_backward(gy, x, xshape, w, wshape, **kw)[1:]
        for flag, ref in zip(("--grad-input", "--grad-weight", "--grad-bias"), refs):
            with self.subTest(flag=flag):
                out = self.path("only.npy")
                if os.path.exists(out):
                    os.remove(out)
                r = run(["conv-transpose-backward", gyp, xp, "--weight", wp, flag, out] + extra)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assert_near(read_npy(out)[2], ref, "<f8", flag)
                for other in ("gx.npy", "gw.npy", "gb.npy"):
                    self.assertFalse(os.path.exists(self.path(other)))

    def test_verbose(self):
        what, xshape, wshape, _bias, extra, kw = CASES[0]
        x, w, gy, shape = self.problem("<f4", xshape, wshape, kw)
        gyp, xp, wp = self.write_problem("<f4", xshape, wshape, x, w, gy, shape)
        r = run(["conv-transpose-backward", gyp, xp, "--weight", wp, "--grad-weight",
                 self.path("gw.npy"), "--verbose", "--device", "cpu"] + extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("GRAD_OUT [2, 6, 10], IN [2, 4, 5], weight [4, 3, 3] on cpu", r.stderr)
        self.assertIn("--grad-weight -> ", r.stderr)
        self.assertIn("algorithm: gemm", r.stderr)
        self.assertNotIn("--grad-input ->", r.stderr)

    def test_cuda_device(self):
        info = run(["info"]).stdout
        what, xshape, wshape, _bias, extra, kw = CASES[4]
        if "CUDA backend: no" in info or "CUDA devices:   0 usable" in info:
            gy = self.write("gy.npy", npy_bytes("<f4", (1, 1, 3), [1, 2, 3]))
            x = self.write("x.npy", npy_bytes("<f4", (1, 1, 2), [1, 2]))
            w = self.write("w.npy", npy_bytes("<f4", (1, 1, 2), [1, 2]))
            contains = "no CUDA backend" if "CUDA backend: no" in info else "no usable CUDA"
            self.assert_fails(["conv-transpose-backward", gy, x, "--weight", w, "--grad-input",
                               self.path("gx.npy"), "--device", "cuda"], 1, contains)
            return
        algos = ["auto", "gather", "benchmark"] + (["cudnn"] if "cuDNN: yes" in info else [])
        for algo in algos:
            for descr in ("<f4", "<f8"):
                with self.subTest(algo=algo, dtype=descr):
                    self.check(what, descr, xshape, wshape,
                               extra + ["--device", "cuda", "--algo", algo], kw)


class ConvTransposeBackwardErrorTests(ConvBackwardCase):
    def setUp(self):
        super().setUp()
        # A valid 1-D problem: 4 input channels, C_out 3, stride 2 (output length 10).
        self.gy = self.write("gy.npy", npy_bytes("<f4", (1, 3, 10), sample_values(30)))
        self.x = self.write("x.npy", npy_bytes("<f4", (1, 4, 5), sample_values(20)))
        self.w = self.write("w.npy", npy_bytes("<f4", (4, 3, 2), weight_values(24)))

    def back(self, *extra):
        return ["conv-transpose-backward", self.gy, self.x, "--weight", self.w,
                "--stride", "2"] + list(extra)

    def test_the_valid_problem_runs(self):
        r = run(self.back("--grad-input", self.path("gx.npy")))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(read_npy(self.path("gx.npy"))[1], (1, 4, 5))

    def test_errors(self):
        gx = self.path("gx.npy")
        self.assert_fails(self.back(), 2, "nothing to compute: give --grad-input, "
                          "--grad-weight or --grad-bias")
        self.assert_fails(["conv-transpose-backward", self.gy, self.x, "--grad-input", gx], 2,
                          "--weight")
        self.assert_fails(self.back("--grad-input", gx, "--grad-bias", gx), 2,
                          "--grad-input and --grad-bias name the same file")
        self.assert_fails(self.back("--grad-input", gx, "--algo", "scatter"), 1,
                          "algorithm 'scatter' has no backward form")
        self.assert_fails(self.back("--grad-input", gx, "--algo", "cudnn", "--device", "cpu"),
                          1, "runs only on CUDA")
        self.assert_fails(self.back("--grad-input", gx, "--algo", "fast"), 2,
                          "unknown conv_transpose algorithm 'fast'")
        self.assert_fails(self.back("--grad-input", gx, "--padding", "1"), 1,
                          "GRAD_OUT has shape [1, 3, 10] but the transposed convolution of IN "
                          "[1, 4, 5] with the weight [4, 3, 2] gives [1, 3, 8]")
        self.assert_fails(self.back("--grad-input", gx, "--groups", "3"), 1, "groups")
        f8 = self.write("gy8.npy", npy_bytes("<f8", (1, 3, 10), sample_values(30)))
        self.assert_fails(["conv-transpose-backward", f8, self.x, "--weight", self.w,
                           "--stride", "2", "--grad-input", gx], 1, "dtype")
        missing = os.path.join(self.path("no-such-dir"), "gw.npy")
        self.assert_fails(self.back("--grad-input", gx, "--grad-weight", missing), 1,
                          "no-such-dir")
        # Nothing was written by any failing call.
        self.assertFalse(os.path.exists(gx))


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: test_cli_conv_backward.py PATH_TO_UPS [unittest arguments]")
    test_cli.UPS = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)


if __name__ == "__main__":
    main()
