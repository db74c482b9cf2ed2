#!/usr/bin/env python3
"""Tests of `ups conv-transpose`, of its algorithm table in `ups info` and of its examples in
`ups demo`, using only the Python standard library.

Usage: test_cli_conv.py PATH_TO_UPS [unittest arguments, e.g. a test class name]

Expected values come from the scatter-form reference below (every input element adds its value
times the kernel into the output), which shares no code with ups, or are worked out by hand.
The .npy helpers and the error-checking test case are those of test_cli.py.
"""

import itertools
import os
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cli  # noqa: E402
from test_cli import (CliTestCase, demo_sections, npy_bytes, prod, read_npy, run,  # noqa: E402
                      sample_values, stored)


# ---- reference transposed convolution (scatter form) -------------------------------------------


def expand(value, sp, default):
    if value is None:
        return [default] * sp
    return list(value) * sp if len(value) == 1 else list(value)


def ref_conv_transpose(x, xshape, w, wshape, bias=None, stride=None, padding=None,
                       output_padding=None, dilation=None, groups=1, output_size=None):
    """Returns (output shape, output values, sum of |terms| per output element), in float64.

    out[n, g * Cout_g + co, i * s - p + k * d] += x[n, ci, i] * w[ci, co, k] for every input
    position i and tap k (per spatial dim), with g = ci // Cin_g; positions outside the output
    are dropped; then the bias of each output channel is added."""
    sp = len(xshape) - 2
    n, cin = xshape[0], xshape[1]
    inp = list(xshape[2:])
    cout_g = wshape[1]
    ks = list(wshape[2:])
    s = expand(stride, sp, 1)
    p = expand(padding, sp, 0)
    op = expand(output_padding, sp, 0)
    d = expand(dilation, sp, 1)
    base = [(inp[a] - 1) * s[a] - 2 * p[a] + d[a] * (ks[a] - 1) + 1 for a in range(sp)]
    if output_size is not None:
        size = list(output_size)[-sp:] if len(output_size) > 1 else list(output_size) * sp
        for a in range(sp):
            assert base[a] <= size[a] < base[a] + s[a], "output_size out of range in the test"
        op = [size[a] - base[a] for a in range(sp)]
    out = [base[a] + op[a] for a in range(sp)]
    cout = groups * cout_g
    cin_g = cin // groups
    plane = prod(out)
    y = [0.0] * (n * cout * plane)
    mag = [0.0] * len(y)

    def flat(idx, dims):
        f = 0
        for i, dim in zip(idx, dims):
            f = f * dim + i
        return f

    for b in range(n):
        for ci in range(cin):
            g = ci // cin_g
            for i in itertools.product(*[range(v) for v in inp]):
                xv = x[(b * cin + ci) * prod(inp) + flat(i, inp)]
                for co in range(cout_g):
                    for k in itertools.product(*[range(v) for v in ks]):
                        o = [i[a] * s[a] - p[a] + k[a] * d[a] for a in range(sp)]
                        if any(o[a] < 0 or o[a] >= out[a] for a in range(sp)):
                            continue
                        wv = w[(ci * cout_g + co) * prod(ks) + flat(k, ks)]
                        e = (b * cout + g * cout_g + co) * plane + flat(o, out)
                        y[e] += xv * wv
                        mag[e] += abs(xv * wv)
    if bias is not None:
        for e in range(len(y)):
            c = (e // plane) % cout
            y[e] += bias[c]
            mag[e] += abs(bias[c])
    return tuple([n, cout] + out), y, mag


def weight_values(count):
    return [((i * 53) % 67) / 16.0 - 2.0 for i in range(count)]


def bias_values(count):
    return [0.75 * i - 1.5 for i in range(count)]


# Each case: (input shape, weight shape, bias?, command-line options, reference keywords).
CASES = [
    ("1-D groups, stride, padding, output_padding, bias",
     (2, 4, 5), (4, 3, 3), True,
     ["--groups", "2", "--stride", "2", "--padding", "1", "--output-padding", "1"],
     dict(groups=2, stride=[2], padding=[1], output_padding=[1])),
    ("1-D dilation",
     (1, 3, 4), (3, 2, 4), False,
     ["--stride", "3", "--padding", "2", "--dilation", "2", "--output-padding", "2"],
     dict(stride=[3], padding=[2], dilation=[2], output_padding=[2])),
    ("1-D depthwise",
     (1, 3, 6), (3, 1, 3), True, ["--groups", "3", "--stride", "2"],
     dict(groups=3, stride=[2])),
    ("1-D output_padding from dilation",  # output_padding 2 >= stride 1, allowed by dilation 3
     (1, 2, 3), (2, 2, 2), False, ["--dilation", "3", "--output-padding", "2"],
     dict(dilation=[3], output_padding=[2])),
    ("2-D per-dim tuples",
     (2, 4, 3, 4), (4, 2, 2, 3), True,
     ["--groups", "2", "--stride", "2,1", "--padding", "1, 0", "--dilation", "1,2",
      "--output-padding", "1,0"],
     dict(groups=2, stride=[2, 1], padding=[1, 0], dilation=[1, 2], output_padding=[1, 0])),
    ("2-D upconv2x2",
     (1, 3, 4, 5), (3, 2, 2, 2), True, ["--stride", "2"], dict(stride=[2])),
    ("2-D output_size",
     (1, 2, 3, 3), (2, 3, 3, 3), False,
     ["--stride", "3", "--padding", "1", "--output-size", "8,9"],
     dict(stride=[3], padding=[1], output_size=[8, 9])),
    ("2-D output_size with N and C, overriding output_padding",
     (1, 2, 3, 3), (2, 3, 3, 3), True,
     ["--stride", "3", "--padding", "1", "--output-padding", "2", "--output-size", "1,3,9,7"],
     dict(stride=[3], padding=[1], output_size=[9, 7])),
    ("2-D one output_size for both dims",
     (1, 2, 3, 3), (2, 1, 3, 3), False,
     ["--stride", "3", "--padding", "1", "--output-size", "9"],
     dict(stride=[3], padding=[1], output_size=[9])),
    ("3-D",
     (1, 2, 2, 3, 2), (2, 2, 2, 2, 3), True,
     ["--stride", "2,1,2", "--padding", "0,1,1", "--output-padding", "1,0,0"],
     dict(stride=[2, 1, 2], padding=[0, 1, 1], output_padding=[1, 0, 0])),
]


class ConvTransposeCase(CliTestCase):
    def check(self, what, descr, xshape, wshape, with_bias, extra, kw):
        groups = kw.get("groups", 1)
        cout = wshape[1] * groups
        x = stored(descr, sample_values(prod(xshape)))
        w = stored(descr, weight_values(prod(wshape)))
        src = self.write("in.npy", npy_bytes(descr, xshape, x))
        wpath = self.write("w.npy", npy_bytes(descr, wshape, w))
        args = ["conv-transpose", src, self.path("out.npy"), "--weight", wpath] + extra
        b = None
        if with_bias:
            b = stored(descr, bias_values(cout))
            args += ["--bias", self.write("b.npy", npy_bytes(descr, (cout,), b))]
        r = run(args)
        self.assertEqual(r.returncode, 0, "%s: %s" % (what, r.stderr))
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr, "")
        out_descr, out_shape, out = read_npy(self.path("out.npy"))[:3]
        ref_shape, ref, mag = ref_conv_transpose(x, xshape, w, wshape, b, **kw)
        self.assertEqual(out_descr, descr, what)
        self.assertEqual(out_shape, ref_shape, what)
        self.assert_near(out, ref, mag, descr, what)
        return out

    def assert_near(self, actual, expected, mag, descr, what):
        # The bound grows with the sum of |terms| (the rounding of a sum does), plus the final
        # rounding of f16 outputs.
        rel, out_rel = {"<f8": (1e-13, 0.0), "<f4": (1e-5, 0.0), "<f2": (1e-5, 1e-3)}[descr]
        self.assertEqual(len(actual), len(expected), what)
        for i, (a, e, m) in enumerate(zip(actual, expected, mag)):
            if not abs(a - e) <= rel * m + out_rel * abs(e) + 1e-300:
                self.fail("%s %s: element %d is %r, expected %r" % (what, descr, i, a, e))


# ---- results ------------------------------------------------------------------------------------


class ConvTransposeTests(ConvTransposeCase):
    def test_by_hand(self):
        # x = [1, 2, 3], w = [1, 10], stride 2: every input pixel paints its copy of the kernel,
        # [1 10 2 20 3 30]; padding 1 crops one element at each end.
        for descr in ("<f4", "<f8", "<f2"):
            src = self.write("in.npy", npy_bytes(descr, (1, 1, 3), [1, 2, 3]))
            w = self.write("w.npy", npy_bytes(descr, (1, 1, 2), [1, 10]))
            b = self.write("b.npy", npy_bytes(descr, (1,), [0.5]))
            out = self.path("out.npy")
            r = run(["conv-transpose", src, out, "--weight", w, "--stride", "2"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(read_npy(out)[:3], (descr, (1, 1, 6), [1, 10, 2, 20, 3, 30]))
            r = run(["conv-transpose", src, out, "--weight", w, "--stride=2", "--padding=1",
                     "--bias", b])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(read_npy(out)[:3], (descr, (1, 1, 4), [10.5, 2.5, 20.5, 3.5]))

    def test_against_reference(self):
        for what, xshape, wshape, with_bias, extra, kw in CASES:
            for descr in ("<f4", "<f8"):
                with self.subTest(case=what, dtype=descr):
                    self.check(what, descr, xshape, wshape, with_bias, extra, kw)

    def test_f16_against_reference(self):
        for what, xshape, wshape, with_bias, extra, kw in CASES[::3]:
            with self.subTest(case=what):
                self.check(what, "<f2", xshape, wshape, with_bias, extra, kw)

    def test_algorithms_threads_and_determinism_on_the_cpu(self):
        what, xshape, wshape, with_bias, extra, kw = CASES[4]
        first = None
        for more in (["--algo", "gemm"], ["--algo", "gather"], ["--algo", "auto"],
                     ["--algo", "benchmark"], ["--threads", "1"], ["--threads", "3"],
                     ["--deterministic", "--algo", "gather"], ["--allow-tf32"]):
            with self.subTest(options=more):
                out = self.check(what, "<f4", xshape, wshape, with_bias,
                                 extra + ["--device", "cpu"] + more, kw)
                if more[0] == "--threads":  # gemm's summation order ignores the thread count
                    first = first or out
                    self.assertEqual(out, first)

    def test_empty_batch(self):
        src = self.write("in.npy", npy_bytes("<f4", (0, 2, 3), []))
        w = self.write("w.npy", npy_bytes("<f4", (2, 3, 2), [1] * 12))
        r = run(["conv-transpose", src, self.path("out.npy"), "--weight", w, "--stride", "2"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(read_npy(self.path("out.npy"))[:3], ("<f4", (0, 3, 6), []))

    def test_verbose(self):
        what, xshape, wshape, with_bias, extra, kw = CASES[0]
        for device, algo in (("cpu", "gemm"), ("cpu", "gather")):
            x = stored("<f4", sample_values(prod(xshape)))
            src = self.write("in.npy", npy_bytes("<f4", xshape, x))
            w = self.write("w.npy", npy_bytes("<f4", wshape, weight_values(prod(wshape))))
            r = run(["conv-transpose", src, self.path("o.npy"), "--weight", w, "--verbose",
                     "--device", device, "--algo", algo] + extra)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, "")
            self.assertIn("[2, 4, 5], weight [4, 3, 3] -> [2, 6, 10] on cpu", r.stderr)
            self.assertIn("algorithm: " + algo, r.stderr)
            self.assertIn(algo + ": chosen", r.stderr)
            self.assertIn("deterministic off", r.stderr)
        # The context override and the process-wide flag both show.
        r = run(["conv-transpose", src, self.path("o.npy"), "--weight", w, "--verbose",
                 "--device", "cpu", "--deterministic"] + extra)
        self.assertIn("deterministic on", r.stderr)
        env = dict(os.environ, UPS_DETERMINISTIC="1")
        r = subprocess.run([test_cli.UPS, "conv-transpose", src, self.path("o.npy"), "--weight",
                            w, "--verbose", "--device", "cpu"] + extra,
                           capture_output=True, text=True, timeout=120, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("deterministic on", r.stderr)

    def test_cuda_device(self):
        info = run(["info"]).stdout
        what, xshape, wshape, with_bias, extra, kw = CASES[4]
        if "CUDA backend: no" in info or "CUDA devices:   0 usable" in info:
            src = self.write("in.npy", npy_bytes("<f4", (1, 1, 2), [1, 2]))
            w = self.write("w.npy", npy_bytes("<f4", (1, 1, 2), [1, 2]))
            contains = "no CUDA backend" if "CUDA backend: no" in info else "no usable CUDA"
            self.assert_fails(["conv-transpose", src, self.path("out.npy"), "--weight", w,
                               "--device", "cuda"], 1, contains)
            return
        algos = ["auto", "gather", "scatter", "benchmark"]
        if "cuDNN: yes" in info:
            algos.append("cudnn")
        for algo in algos:
            for descr in ("<f4", "<f8"):
                with self.subTest(algo=algo, dtype=descr):
                    self.check(what, descr, xshape, wshape, with_bias,
                               extra + ["--device", "cuda", "--algo", algo], kw)
        # Deterministic mode refuses scatter on CUDA too.
        src = self.write("in.npy", npy_bytes("<f4", (1, 1, 2), [1, 2]))
        w = self.write("w.npy", npy_bytes("<f4", (1, 1, 2), [1, 2]))
        self.assert_fails(["conv-transpose", src, self.path("out.npy"), "--weight", w,
                           "--device", "cuda", "--algo", "scatter", "--deterministic"], 1,
                          "nondeterministic")


# ---- errors ---------------------------------------------------------------------------------------


class ConvTransposeErrorTests(ConvTransposeCase):
    def setUp(self):
        super().setUp()
        # A valid 1-D problem: 4 input channels, groups 1 or 2, C_out 3 per group.
        self.src = self.write("in.npy", npy_bytes("<f4", (1, 4, 5), sample_values(20)))
        self.w = self.write("w.npy", npy_bytes("<f4", (4, 3, 3), weight_values(36)))
        self.out = self.path("out.npy")

    def conv(self, *extra, weight=True):
        args = ["conv-transpose", self.src, self.out]
        if weight:
            args += ["--weight", self.w]
        return args + list(extra)

    def test_the_valid_problem_runs(self):
        # The errors below come from one change each to this problem.
        r = run(self.conv("--stride", "2", "--padding", "1", "--output-padding", "1"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(read_npy(self.out)[1], (1, 3, 10))

    def test_usage_errors(self):
        cases = [
            (self.conv(weight=False), "missing required option --weight W.npy"),
            (self.conv(weight=False) + ["--weight"], "--weight needs a value"),
            (["conv-transpose", self.src, "--weight", self.w], "missing argument OUT"),
            (self.conv("--stride", "2x"), "--stride: expected an integer, got '2x'"),
            (self.conv("--stride", "2,,2"), "--stride: empty element"),
            (self.conv("--stride", "0"), "--stride: 0 is out of range"),
            (self.conv("--padding", "-1"), "--padding: expected a non-negative integer"),
            (self.conv("--padding", "1.5"), "--padding: expected an integer"),
            (self.conv("--output-padding", "a,b"), "--output-padding: expected an integer"),
            (self.conv("--output-padding", ""), "--output-padding: empty element"),
            (self.conv("--dilation", "0"), "--dilation: 0 is out of range"),
            (self.conv("--groups", "0"), "--groups: 0 is out of range"),
            (self.conv("--groups", "2,2"), "--groups: expected an integer"),
            (self.conv("--output-size", "-3"), "--output-size: expected a non-negative"),
            (self.conv("--output-size", "99999999999999999999"), "--output-size"),
            (self.conv("--algo", "fastest"), "--algo: unknown conv_transpose algorithm 'fastest'"),
            (self.conv("--device", "gpu"), "--device: expected auto, cpu or cuda"),
            (self.conv("--threads", "-1"), "--threads"),
            (self.conv("--deterministic=1"), "option --deterministic takes no value"),
            (self.conv("--mode", "nearest"), "unknown option '--mode'"),
        ]
        for args, contains in cases:
            with self.subTest(args=args[3:]):
                self.assert_fails(args, 2, contains)
        # Errors in the options are reported before any file is read.
        self.assert_fails(["conv-transpose", self.path("missing.npy"), self.out, "--weight",
                           self.w, "--stride", "x"], 2, "--stride")

    def test_shape_errors_use_pytorch_messages(self):
        w2d = self.write("w2d.npy", npy_bytes("<f4", (4, 3, 3, 3), [1] * 108))
        w5 = self.write("w5.npy", npy_bytes("<f4", (5, 3, 3), [1] * 45))
        bias = self.write("b.npy", npy_bytes("<f4", (4,), [1] * 4))
        cases = [
            (["conv-transpose", self.src, self.out, "--weight", w2d],
             "Expected 4-dimensional input for 4-dimensional weight [4, 3, 3, 3], but got "
             "3-dimensional input of size [1, 4, 5] instead"),
            (self.conv("--groups", "3"),
             "Given groups=3, expected weight to be divisible by 3 at dimension 0"),
            (self.conv("--groups", "8"),
             "Given groups=8, expected weight to be at least 8 at dimension 0"),
            (["conv-transpose", self.src, self.out, "--weight", w5],
             "expected input[1, 4, 5] to have 5 channels, but got 4 channels instead"),
            (self.conv("--stride", "2,2"),
             "expected stride to be a single integer value or a list of 1 values"),
            (self.conv("--stride", "2", "--output-padding", "2"),
             "output padding must be smaller than either stride or dilation"),
            (self.conv("--stride", "2", "--padding", "1", "--output-size", "12"),
             "requested an output size of [12], but valid sizes range from [9] to [10]"),
            (self.conv("--stride", "2", "--padding", "1", "--output-size", "8"),
             "valid sizes range from [9] to [10]"),
            (self.conv("--output-size", "7,7"), "output_size must have 1 or 3 elements"),
            (self.conv("--padding", "4"), "Output size is too small"),
            (self.conv("--bias", bias), "expected bias to be 1-dimensional with 3 elements"),
        ]
        for args, contains in cases:
            with self.subTest(args=args[3:]):
                self.assert_fails(args, 1, contains)

    def test_dtype_errors(self):
        w64 = self.write("w64.npy", npy_bytes("<f8", (4, 3, 3), weight_values(36)))
        b16 = self.write("b16.npy", npy_bytes("<f2", (3,), [1, 2, 3]))
        line = self.assert_fails(self.conv(weight=False) + ["--weight", w64], 1, "dtype mismatch")
        for part in ("--weight '%s' holds f64" % w64, "IN '%s' holds f32" % self.src,
                     "same dtype"):
            self.assertIn(part, line)
        line = self.assert_fails(self.conv("--bias", b16), 1, "dtype mismatch")
        self.assertIn("--bias '%s' holds f16" % b16, line)
        # Readable dtypes the op rejects: the output file is opened by then and must vanish.
        u8 = self.write("u8.npy", npy_bytes("|u1", (1, 4, 5), list(range(20))))
        wu8 = self.write("wu8.npy", npy_bytes("|u1", (4, 3, 3), [1] * 36))
        self.assert_fails(["conv-transpose", u8, self.out, "--weight", wu8], 1,
                          "conv_transpose does not support dtype u8")

    def test_algorithms_that_cannot_run_on_the_cpu(self):
        # scatter is nondeterministic: refused in deterministic mode whether the mode comes
        # from the option or the environment; without it, it is CUDA-only.
        self.assert_fails(self.conv("--algo", "scatter", "--deterministic", "--device", "cpu"), 1,
                          "algorithm 'scatter' is nondeterministic")
        env = dict(os.environ, UPS_DETERMINISTIC="1")
        before = self.snapshot()
        r = subprocess.run([test_cli.UPS] + self.conv("--algo", "scatter", "--device", "cpu"),
                           capture_output=True, text=True, timeout=120, env=env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("algorithm 'scatter' is nondeterministic", r.stderr)
        self.assertEqual(self.snapshot(), before)
        for algo in ("scatter", "cudnn"):
            self.assert_fails(self.conv("--algo", algo, "--device", "cpu"), 1,
                              "algorithm '%s' runs only on CUDA" % algo)

    def test_files(self):
        self.assert_fails(["conv-transpose", self.path("nope.npy"), self.out, "--weight",
                           self.w], 1, "No such file or directory")
        self.assert_fails(self.conv(weight=False) + ["--weight", self.path("nope.npy")], 1,
                          "No such file or directory")
        self.assert_fails(self.conv("--bias", self.path("nope.npy")), 1,
                          "No such file or directory")
        self.assert_fails(["conv-transpose", self.src, self.path("no/dir/out.npy"), "--weight",
                           self.w], 1, "No such file or directory")
        bad = self.write("bad.npy", b"\x93NUMPY\x01\x00")
        self.assert_fails(self.conv(weight=False) + ["--weight", bad], 1, "truncated")


# ---- help, info and demo ----------------------------------------------------------------------


class ConvTransposeCommandTests(unittest.TestCase):
    def ok(self, args):
        r = run(args)
        self.assertEqual(r.returncode, 0, "ups %s: %s" % (args, r.stderr))
        self.assertEqual(r.stderr, "")
        return r.stdout

    def test_help(self):
        self.assertIn("conv-transpose", self.ok(["--help"]))
        out = self.ok(["conv-transpose", "--help"])
        self.assertIn("usage: ups conv-transpose IN OUT --weight W.npy", out)
        for option in ("--bias", "--stride", "--padding", "--output-padding", "--dilation",
                       "--groups", "--output-size", "--algo", "--deterministic", "--allow-tf32",
                       "--device", "--threads", "--verbose"):
            self.assertIn(option, out)
        self.assertEqual(self.ok(["help", "conv-transpose"]), out)

    def test_info_lists_the_algorithms(self):
        out = self.ok(["info"])
        lines = out.splitlines()
        start = lines.index("conv_transpose algorithms (ups conv-transpose --algo):")
        rows = {}
        for line in lines[start + 2:start + 8]:
            cells = [c.strip() for c in line.strip().split("  ") if c.strip()]
            rows[cells[0]] = cells[1:]
        self.assertEqual(sorted(rows),
                         ["auto", "benchmark", "cudnn", "gather", "gemm", "scatter"])
        self.assertEqual(rows["gemm"], ["cpu", "deterministic", "yes"])
        self.assertEqual(rows["gather"], ["cpu, cuda", "deterministic", "yes"])
        self.assertEqual(rows["scatter"][:2], ["cuda", "nondeterministic"])
        self.assertEqual(rows["auto"][2], "yes")
        cuda = "CUDA backend: yes" in out
        cudnn = "cuDNN: yes" in out
        self.assertEqual(rows["scatter"][2].startswith("yes"), cuda)
        self.assertEqual(rows["benchmark"][2].startswith("yes"), cuda)
        self.assertEqual(rows["cudnn"][2].startswith("yes"), cudnn)

    def test_demo(self):
        out = self.ok(["demo", "--device", "cpu"])
        sections = demo_sections(out)
        one_d = [s for s in sections.values() if "ConvTranspose1d" in s[0]]
        self.assertEqual(len(one_d), 1)
        title, text, matrices = one_d[0]
        self.assertIn("stride=2, padding=1, output_padding=1", title)
        self.assertIn("input [1, 2, 5]", text)
        self.assertIn("output [1, 3, 10]", text)
        self.assertEqual(matrices[0], [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]])
        # By hand: all-ones weight, so each output channel is s = x[0] + x[1] = [7 9 11 13 15]
        # scattered: out[o] = sum of s[i] over 2i - 1 <= o <= 2i + 1.
        row = [7, 16, 9, 20, 11, 24, 13, 28, 15, 15]
        self.assertEqual(matrices[1], [row, row, row])

        two_d = [s for s in sections.values() if "upconv2x2" in s[0]]
        self.assertEqual(len(two_d), 1)
        title, text, matrices = two_d[0]
        self.assertIn("kernel_size=2, stride=2", title + text)
        self.assertIn("[1, 64, 28, 28] to [1, 32, 56, 56]", text)
        self.assertIn("output [1, 1, 4, 4]", text)
        weight, x, y = matrices
        self.assertEqual(weight, [[1, 0.5], [0.5, 0.25]])
        self.assertEqual(x, [[1, 2], [3, 4]])
        # Each input pixel v becomes the 2x2 block v * weight.
        expected = [[x[i // 2][j // 2] * weight[i % 2][j % 2] for j in range(4)]
                    for i in range(4)]
        self.assertEqual(y, expected)
        # The same on the default device.
        default = [s for s in demo_sections(self.ok(["demo"])).values()
                   if "ConvTranspose1d" in s[0]]
        self.assertEqual(default[0][2][1], [row, row, row])


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: test_cli_conv.py PATH_TO_UPS [unittest arguments]")
    test_cli.UPS = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)


if __name__ == "__main__":
    main()
