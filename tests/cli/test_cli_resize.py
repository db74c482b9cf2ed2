#!/usr/bin/env python3
"""Tests of `ups resize`, using only the Python standard library.

Usage: test_cli_resize.py PATH_TO_UPS [unittest arguments, e.g. a test class name]

Expected values are ONNX Resize goldens (tests/golden/onnx_resize.txt, written by
scripts/gen_golden_onnx_resize.py from ONNX's reference implementation), run through the
command line: every attribute as an option, with the golden's own numbers.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cli  # noqa: E402
from test_cli import CliTestCase, npy_bytes, read_npy, run  # noqa: E402

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden",
                      "onnx_resize.txt")
DESCR = {"f32": "<f4", "f64": "<f8", "f16": "<f2", "u8": "|u1"}


def load_goldens():
    """{case id: (fields, input values, expected values)}."""
    cases = {}
    with open(GOLDEN, encoding="ascii") as f:
        lines = [ln.rstrip("\n") for ln in f if not ln.startswith("#")]
    for i in range(0, len(lines), 3):
        fields = dict(kv.split("=", 1) for kv in lines[i].split()[1:])
        cases[fields["id"]] = (fields, [float(v) for v in lines[i + 1].split()[1:]],
                               [float(v) for v in lines[i + 2].split()[1:]])
    return cases


def options_of(f):
    """The command-line options of a golden case."""
    args = ["--mode", f["mode"], "--coordinate-mode", f["coord"]]
    for key, opt in (("nearest", "--nearest-mode"), ("cubic_a", "--cubic-coeff-a"),
                     ("sizes", "--sizes"), ("scales", "--scales"), ("axes", "--axes"),
                     ("roi", "--roi"), ("extrapolation", "--extrapolation-value")):
        if f[key] != "-":
            args += [opt, f[key]]
    if f["policy"] != "stretch":
        args += ["--keep-aspect-ratio-policy", f["policy"]]
    if f["exclude"] == "1":
        args.append("--exclude-outside")
    if f["antialias"] == "1":
        args.append("--antialias")
    return args


def shape_of(text):
    return [int(v) for v in text.split(",")] if text else []


class ResizeTests(CliTestCase):
    @classmethod
    def setUpClass(cls):
        cls.cases = load_goldens()

    def run_case(self, prefix, extra=()):
        """Runs golden case `prefix` (an id) through `ups resize` and checks the output."""
        f, values, expected = self.cases[prefix]
        descr = DESCR[f["dtype"]]
        if descr == "|u1":
            values = [int(v) for v in values]
        src = self.write("in.npy", npy_bytes(descr, shape_of(f["in_shape"]), values))
        dst = self.path("out.npy")
        args = ["resize", src, dst] + options_of(f) + list(extra)
        r = run(args)
        self.assertEqual(r.returncode, 0, "%s: %s" % (" ".join(args), r.stderr))
        out_descr, out_shape, out, _ = read_npy(dst)
        self.assertEqual(out_descr, descr)
        self.assertEqual(list(out_shape), shape_of(f["out_shape"]))
        self.assertEqual(len(out), len(expected))
        for i, (a, e) in enumerate(zip(out, expected)):
            if f["mode"] == "nearest":
                self.assertEqual(a, e, "%s: element %d" % (prefix, i))
            else:
                tol = 1e-12 * (1 + abs(e)) if descr == "<f8" else 4e-6 * (1 + abs(e)) + 4e-6
                self.assertLessEqual(abs(a - e), tol, "%s: element %d" % (prefix, i))
        return r

    def first(self, tag, pred=lambda f: True):
        """The id of the first golden case whose id ends with -tag and that satisfies pred."""
        ids = sorted(k for k, (f, _, _) in self.cases.items() if k.endswith("-" + tag) and pred(f))
        self.assertTrue(ids, tag)
        return ids[0]

    def test_goldens(self):
        # Each mode, every coordinate mode, nearest modes, antialias, exclude_outside,
        # cubic_coeff_a, axes (negative, any order, N), keep_aspect_ratio_policy, roi with
        # extrapolation and with scales, ranks 1 to 5, f32, f64 and u8.
        picks = [self.first("up1d", lambda f: f["mode"] == "nearest"),
                 self.first("sizes3d", lambda f: f["nearest"] == "round_prefer_ceil")]
        for coord in ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                      "align_corners", "asymmetric", "tf_crop_and_resize"):
            picks.append(self.first("down2d", lambda f, c=coord: f["mode"] == "linear" and
                                    f["coord"] == c))
        picks += [
            self.first("aa-down2d", lambda f: f["mode"] == "cubic" and f["exclude"] == "1"),
            self.first("aa-down3d", lambda f: f["mode"] == "linear"),
            self.first("mixed3d", lambda f: f["cubic_a"] != "-" and f["exclude"] == "1"),
            self.first("policy-axes-neg", lambda f: f["policy"] == "not_smaller"),
            self.first("policy", lambda f: f["policy"] == "not_larger"),
            self.first("axes-wh", lambda f: f["mode"] == "cubic"),
            self.first("axes-n", lambda f: f["mode"] == "linear"),
            self.first("roi-out", lambda f: f["mode"] == "linear" and f["extrapolation"] != "-"),
            self.first("roi-scales", lambda f: f["mode"] == "nearest"),
            self.first("rank1", lambda f: f["mode"] == "cubic"),
            self.first("u8", lambda f: f["coord"] == "align_corners"),
        ]
        for cid in picks:
            with self.subTest(cid):
                self.run_case(cid)

    def test_threads_and_device(self):
        self.run_case(self.first("up1d", lambda f: f["mode"] == "linear"),
                      ["--threads", "2", "--device", "cpu"])
        r = self.run_case(self.first("up1d", lambda f: f["mode"] == "nearest"),
                          ["--verbose", "--device", "cpu"])
        self.assertIn("resize (nearest, half_pixel): f32 [1, 2, 5] -> [1, 2, 8] on cpu", r.stdout)


class ResizeErrorTests(CliTestCase):
    def setUp(self):
        super().setUp()
        self.src = self.write("in.npy", npy_bytes("<f4", [1, 2, 3, 4], [0.5] * 24))

    def fails(self, extra, contains, status=2):
        return self.assert_fails(["resize", self.src, self.path("out.npy")] + extra, status,
                                 contains)

    def test_rejected_combinations(self):
        s = ["--scales", "1,1,2,2"]
        self.fails(["--mode", "linear"], "give --sizes or --scales")
        self.fails(["--mode", "linear", "--sizes", "1,2,6,8"] + s,
                   "give either --sizes or --scales, not both")
        self.fails(["--mode", "bilinear"] + s, "--mode: unknown resize mode 'bilinear'")
        self.fails(["--mode", "linear", "--coordinate-mode", "corners"] + s,
                   "--coordinate-mode: unknown coordinate_transformation_mode 'corners'")
        self.fails(["--mode", "nearest", "--nearest-mode", "round"] + s,
                   "--nearest-mode: unknown nearest_mode 'round'")
        self.fails(["--mode", "linear", "--nearest-mode", "floor"] + s,
                   "--nearest-mode applies to --mode nearest only, not to linear")
        self.fails(["--mode", "nearest", "--cubic-coeff-a", "-0.5"] + s,
                   "--cubic-coeff-a applies to --mode cubic only, not to nearest")
        self.fails(["--mode", "linear", "--cubic-coeff-a", "-0.5"] + s,
                   "--cubic-coeff-a applies to --mode cubic only, not to linear")
        self.fails(["--mode", "nearest", "--antialias"] + s,
                   "--antialias applies to --mode linear and cubic only")
        self.fails(["--mode", "nearest", "--exclude-outside"] + s,
                   "--exclude-outside applies to --mode linear and cubic only")
        self.fails(["--mode", "linear", "--roi", "0,0,0,0,1,1,1,1"] + s,
                   "--roi applies to --coordinate-mode tf_crop_and_resize only")
        self.fails(["--mode", "linear", "--extrapolation-value", "1"] + s,
                   "--extrapolation-value applies to --coordinate-mode tf_crop_and_resize")
        self.fails(["--mode", "linear", "--coordinate-mode", "tf_crop_and_resize"] + s,
                   "tf_crop_and_resize needs --roi")
        self.fails(["--mode", "linear", "--keep-aspect-ratio-policy", "not_larger"] + s,
                   "--keep-aspect-ratio-policy applies to --sizes only")
        self.fails(["--mode", "linear", "--sizes", "4,4", "--keep-aspect-ratio-policy", "fit"],
                   "--keep-aspect-ratio-policy: unknown keep_aspect_ratio_policy 'fit'")
        self.fails(["--mode", "linear", "--scales", "1,1,0,2"],
                   "--scales: every scale must be greater than 0")
        self.fails(["--mode", "linear", "--scales", "1,1,nan,2"], "--scales")
        self.fails(["--mode", "linear", "--sizes", "1,2,-3,4"], "--sizes")
        self.fails(["--mode", "linear", "--sizes", "4,4", "--axes", "2,x"], "--axes")
        self.fails(["--mode", "linear", "--sizes", "4,4", "--axes", "2,9"], "--axes")

    def test_library_errors(self):
        # Errors the library finds, reported with status 1 and the library's words.
        self.fails(["--mode", "linear", "--scales", "2,2"],
                   "resize: scales has 2 entries, but the input's rank 4 need 4", 1)
        self.fails(["--mode", "linear", "--sizes", "4,4", "--axes", "3,-1"],
                   "name dim 3 more than once", 1)
        self.fails(["--mode", "linear", "--sizes", "4,4", "--axes", "2,-5"],
                   "axis -5 is out of range", 1)
        self.fails(["--mode", "linear", "--coordinate-mode", "tf_crop_and_resize", "--roi",
                    "0,1", "--scales", "1,1,2,2"], "roi has 2 entries", 1)
        u8 = self.write("u8.npy", npy_bytes("|u1", [1, 1, 2, 2], [1, 2, 3, 4]))
        self.assert_fails(["resize", u8, self.path("out.npy"), "--mode", "cubic", "--scales",
                           "1,1,2,2"], 1, "mode cubic does not support dtype u8")


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: test_cli_resize.py PATH_TO_UPS [unittest arguments]")
    test_cli.UPS = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)


if __name__ == "__main__":
    main()
