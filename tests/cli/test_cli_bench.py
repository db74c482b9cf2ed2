#!/usr/bin/env python3
"""Tests of `ups bench` and of scripts/bench_report.py, using only the Python standard library
(the peers' scripts, which need PyTorch, OpenCV and ONNX Runtime to run, only parse their
arguments here).

Usage: test_cli_bench.py PATH_TO_UPS [unittest arguments, e.g. a test class name]

The cases run are tiny (a few thousand elements, --repeat 3), so the tests take seconds. Output
shapes and byte counts are checked against formulas written out here (PyTorch's size rules and
the minimal traffic of each op), not against what the program printed elsewhere.
"""

import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

UPS = None
HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "..", "..", "scripts")
REPORT = os.path.join(SCRIPTS, "bench_report.py")

FIELDS = ("case", "op", "device", "dtype", "layout", "shape", "out_shape", "params", "bytes")
TIMED = ("threads", "warmup", "repeat", "median_ms", "min_ms", "max_ms", "gbps", "copy_gbps",
         "bw_fraction")
SIZE = {"f32": 4, "f64": 8, "f16": 2, "bf16": 2}


def run(args, **kw):
    return subprocess.run([UPS] + list(args), capture_output=True, text=True, timeout=300, **kw)


def prod(v):
    p = 1
    for x in v:
        p *= x
    return p


def expand(v, n, default):
    if v is None:
        return [default] * n
    return v * n if len(v) == 1 else v


def expected_out_shape(op, shape, p):
    """The output shape by PyTorch's size rules (ONNX's for resize)."""
    n, c, sp = shape[0], shape[1], shape[2:]
    k = len(sp)
    if op == "resize":
        if "sizes" in p:
            return list(p["sizes"])
        return [math.floor(s * f) for s, f in zip(shape, p["scales"])]
    if op == "interpolate":
        if "size" in p:
            return [n, c] + expand(p["size"], k, None)
        return [n, c] + [math.floor(s * f) for s, f in zip(sp, expand(p["scale"], k, None))]
    if op == "conv-transpose":
        w = p["weight_shape"]
        st, pad = expand(p.get("stride"), k, 1), expand(p.get("padding"), k, 0)
        op_, dil = expand(p.get("output_padding"), k, 0), expand(p.get("dilation"), k, 1)
        out = [(sp[i] - 1) * st[i] - 2 * pad[i] + dil[i] * (w[2 + i] - 1) + op_[i] + 1
               for i in range(k)]
        return [n, p.get("groups", 1) * w[1]] + out
    if op == "max-unpool":
        ks = expand(p["kernel_size"], k, None)
        st = expand(p.get("stride", p["kernel_size"]), k, None)
        pad = expand(p.get("padding"), k, 0)
        return [n, c] + [(sp[i] - 1) * st[i] - 2 * pad[i] + ks[i] for i in range(k)]
    r = p["factor"]
    if op == "pixel-shuffle":
        return shape[:-3] + [shape[-3] // (r * r), shape[-2] * r, shape[-1] * r]
    return shape[:-3] + [shape[-3] * r * r, shape[-2] // r, shape[-1] // r]


def expected_bytes(rec):
    """Each input read once, each output written once (max-unpool: plus int64 indices)."""
    e = SIZE[rec["dtype"]]
    op, p = rec["op"], rec["params"]
    inp, out = prod(rec["shape"]) * e, prod(rec["out_shape"]) * e
    if op == "conv-transpose":
        return inp + prod(p["weight_shape"]) * e + (rec["out_shape"][1] * e if p.get("bias") else
                                                    0) + out
    if op == "max-unpool":
        return inp + prod(rec["shape"]) * 8 + out
    return inp + out


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class BenchTestCase(unittest.TestCase):
    def bench(self, args):
        r = run(["bench"] + args)
        self.assertEqual(r.returncode, 0, "ups bench %s failed: %s" % (" ".join(args), r.stderr))
        self.assertEqual(r.stderr, "")
        return r.stdout

    def check_record(self, rec, timed=True):
        for f in FIELDS + (TIMED if timed else ()):
            self.assertIn(f, rec, rec.get("case"))
        self.assertEqual(rec["out_shape"], expected_out_shape(rec["op"], rec["shape"],
                                                              rec["params"]), rec["case"])
        self.assertEqual(rec["bytes"], expected_bytes(rec), rec["case"])
        if timed:
            self.assertGreater(rec["min_ms"], 0)
            self.assertLessEqual(rec["min_ms"], rec["median_ms"])
            self.assertLessEqual(rec["median_ms"], rec["max_ms"])
            self.assertAlmostEqual(rec["gbps"], rec["bytes"] / (rec["median_ms"] * 1e6),
                                   delta=1e-6 * rec["gbps"])
            # The copy bandwidth is measured, so only its plausibility is known here: more than
            # a slow disk, less than any CPU's memory system delivers today.
            self.assertTrue(0.5 < rec["copy_gbps"] < 10000, rec["copy_gbps"])
            self.assertAlmostEqual(rec["bw_fraction"], rec["gbps"] / rec["copy_gbps"],
                                   delta=1e-6 * rec["bw_fraction"])


class BenchTests(BenchTestCase):
    # One tiny case per op, with the op options of the op's own command.
    CASES = [
        ["interpolate", "--shape", "2,3,8,8", "--mode", "bilinear", "--scale", "2"],
        ["interpolate", "--shape", "2,3,9,7", "--mode", "bicubic", "--scale", "1.5",
         "--align-corners", "--layout", "channels-last"],
        ["interpolate", "--shape", "2,3,16,16", "--mode", "area", "--size", "5,6",
         "--dtype", "bf16"],
        ["interpolate", "--shape", "2,3,16", "--mode", "linear", "--scale", "0.5",
         "--dtype", "f64"],
        ["interpolate", "--shape", "1,2,4,5,6", "--mode", "nearest", "--scale", "2",
         "--dtype", "f16", "--layout", "channels-last"],
        ["interpolate", "--shape", "1,3,16,16", "--mode", "bilinear", "--scale", "0.5",
         "--antialias"],
        ["conv-transpose", "--shape", "2,4,5,5", "--weight-shape", "4,3,4,4", "--stride", "2",
         "--padding", "1", "--bias"],
        ["conv-transpose", "--shape", "1,4,6,6", "--weight-shape", "4,1,3,3", "--stride", "2",
         "--output-padding", "1", "--groups", "4", "--dilation", "1", "--algo", "gather",
         "--layout", "channels-last"],
        ["max-unpool", "--shape", "2,3,4,5", "--kernel-size", "2", "--stride", "2"],
        ["max-unpool", "--shape", "1,2,3,3", "--kernel-size", "3", "--stride", "2",
         "--padding", "1", "--dtype", "bf16", "--layout", "channels-last"],
        ["pixel-shuffle", "--shape", "2,8,3,5", "--factor", "2"],
        ["pixel-unshuffle", "--shape", "2,2,6,9", "--factor", "3", "--layout", "channels-last"],
    ]

    def test_single_cases_json(self):
        for case in self.CASES:
            with self.subTest(case=" ".join(case)):
                recs = json_lines(self.bench(case + ["--device", "cpu", "--threads", "2",
                                                     "--repeat", "3", "--json"]))
                self.assertEqual(len(recs), 1)
                rec = recs[0]
                self.check_record(rec)
                self.assertEqual(rec["op"], case[0])
                self.assertEqual(rec["device"], "cpu")
                self.assertEqual(rec["threads"], 2)
                self.assertEqual(rec["repeat"], 3)
                self.assertEqual(rec["warmup"], 2)
                dtype = case[case.index("--dtype") + 1] if "--dtype" in case else "f32"
                layout = case[case.index("--layout") + 1] if "--layout" in case else "contiguous"
                self.assertEqual(rec["dtype"], dtype)
                self.assertEqual(rec["layout"], layout)
                self.assertEqual(rec["shape"], [int(v) for v in case[2].split(",")])
                # The case string is a command line that runs the same case.
                again = json_lines(self.bench(rec["case"].split() + [
                    "--device", "cpu", "--repeat", "1", "--warmup", "0", "--json"]))[0]
                for f in FIELDS:
                    self.assertEqual(again[f], rec[f], f)

    def test_params_in_json(self):
        rec = json_lines(self.bench(self.CASES[1] + ["--repeat", "3", "--json",
                                                     "--device", "cpu"]))[0]
        self.assertEqual(rec["params"], {"mode": "bicubic", "scale": [1.5],
                                         "align_corners": True})
        rec = json_lines(self.bench(self.CASES[7] + ["--repeat", "3", "--json",
                                                     "--device", "cpu"]))[0]
        self.assertEqual(rec["params"], {"weight_shape": [4, 1, 3, 3], "stride": [2],
                                         "output_padding": [1], "dilation": [1], "groups": 4,
                                         "algo": "gather"})
        self.assertEqual(rec["algo"], "gather")  # the algorithm that ran

    def test_text_output(self):
        out = self.bench(self.CASES[0] + ["--device", "cpu", "--threads", "1", "--repeat", "3"])
        lines = out.splitlines()
        self.assertEqual(len(lines), 3)
        m = re.fullmatch(r"ups bench on cpu \(1 threads; memcpy ([0-9.]+) GB/s\): 2 warm-up and "
                         r"3 timed runs per case", lines[0])
        self.assertTrue(m, lines[0])
        copy = float(m.group(1))
        self.assertEqual(lines[1].split(), ["median", "ms", "min", "ms", "max", "ms", "GB/s",
                                            "copy", "%", "case"])
        fields = lines[2].split(None, 5)
        med, lo, hi, gbps = (float(f) for f in fields[:4])
        self.assertTrue(0 < lo <= med <= hi)
        self.assertTrue(fields[4].endswith("%"), fields[4])
        # The printed values are rounded: 0.1 GB/s, 0.1 % and 0.001 ms.
        self.assertAlmostEqual(float(fields[4][:-1]), 100 * gbps / copy,
                               delta=0.06 + 100 * 0.05 / copy + 0.01 * float(fields[4][:-1]))
        self.assertEqual(fields[5], "interpolate --shape 2,3,8,8 --mode bilinear --scale 2 "
                                    "--dtype f32 --layout contiguous")

    def test_list_suite(self):
        recs = json_lines(self.bench(["--list-suite", "--json", "--device", "cpu"]))
        names = [r["case"] for r in recs]
        self.assertEqual(len(names), len(set(names)), "duplicate suite cases")
        self.assertEqual(self.bench(["--list-suite", "--device", "cpu"]).splitlines(), names)
        for rec in recs:
            self.check_record(rec, timed=False)
            self.assertEqual(rec["device"], "cpu")
            for f in TIMED:
                self.assertNotIn(f, rec)
        ops = {r["op"] for r in recs}
        self.assertEqual(ops, {"interpolate", "resize", "conv-transpose", "max-unpool",
                               "pixel-shuffle", "pixel-unshuffle"})
        interp = [r for r in recs if r["op"] == "interpolate"]
        for mode in ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear",
                     "area"):
            scales = [r["params"]["scale"][0] for r in interp
                      if r["params"]["mode"] == mode and "scale" in r["params"]]
            self.assertIn(2, scales, mode)
            self.assertTrue(any(s != int(s) for s in scales), mode + " at a fractional scale")
        for op in ops:
            self.assertTrue(any(r["dtype"] == "bf16" for r in recs if r["op"] == op) or
                            op in ("pixel-unshuffle", "resize"), op)
        self.assertTrue(any(r["layout"] == "channels-last" for r in interp))
        self.assertTrue(any(r["shape"][-1] <= 16 and r["shape"][0] * r["shape"][1] >= 16384
                            for r in interp), "a small-spatial, large N * C case")
        groups = [r for r in recs if r["op"] == "conv-transpose" and "groups" in r["params"]]
        self.assertTrue(any(r["params"]["groups"] == r["shape"][1] for r in groups),
                        "a depthwise transposed convolution")

    def test_list_suite_cuda_scales_the_batch(self):
        cpu = json_lines(self.bench(["--list-suite", "--json", "--device", "cpu"]))
        cuda = json_lines(self.bench(["--list-suite", "--json", "--device", "cuda"]))
        self.assertEqual(len(cpu), len(cuda))
        for a, b in zip(cpu, cuda):
            self.assertEqual(b["device"], "cuda")
            self.assertEqual(b["shape"], [a["shape"][0] * 8] + a["shape"][1:])
            self.check_record(b, timed=False)

    def test_resize_case(self):
        recs = json_lines(self.bench(["resize", "--shape", "1,2,9,8", "--mode", "cubic",
                                      "--scales", "1,1,0.5,1.5", "--antialias",
                                      "--cubic-coeff-a", "-0.5", "--exclude-outside",
                                      "--device", "cpu", "--repeat", "1", "--warmup", "0",
                                      "--json"]))
        self.assertEqual(len(recs), 1)
        self.check_record(recs[0])
        self.assertEqual(recs[0]["out_shape"], [1, 2, 4, 12])
        self.assertEqual(recs[0]["params"], {"mode": "cubic", "scales": [1, 1, 0.5, 1.5],
                                             "antialias": True, "cubic_coeff_a": [-0.5],
                                             "exclude_outside": True})
        recs = json_lines(self.bench(["resize", "--shape", "1,2,9,8", "--mode", "linear",
                                      "--sizes", "1,2,5,5", "--coordinate-mode",
                                      "tf_crop_and_resize", "--roi", "0,0,0.1,0.1,1,1,0.9,0.9",
                                      "--extrapolation-value", "1", "--device", "cpu",
                                      "--repeat", "1", "--warmup", "0", "--json"]))
        self.check_record(recs[0])

    def test_filter_runs_matching_suite_cases(self):
        recs = json_lines(self.bench(["--device", "cpu", "--filter", "pixel-unshuffle",
                                      "--repeat", "1", "--warmup", "0", "--json"]))
        self.assertEqual(len(recs), 1)
        self.assertEqual(recs[0]["op"], "pixel-unshuffle")
        self.check_record(recs[0])

    def test_copy_bandwidth_measured_once_per_run(self):
        # One copy bandwidth per process, so that every case of a run is divided by the same.
        recs = json_lines(self.bench(["--device", "cpu", "--threads", "2", "--filter",
                                      "pixel-shuffle --shape 8,256", "--repeat", "1",
                                      "--warmup", "0", "--json"]))
        self.assertGreater(len(recs), 1)
        for rec in recs:
            self.check_record(rec)
            self.assertEqual(rec["copy_gbps"], recs[0]["copy_gbps"])
            self.assertNotIn("device_name", rec)  # CUDA only, as buffer_sets and l2_flush
            self.assertNotIn("buffer_sets", rec)

    def test_help_lists_bench(self):
        out = run(["--help"]).stdout
        self.assertIn("\n  bench ", out)
        out = run(["bench", "--help"]).stdout
        self.assertTrue(out.startswith("usage: ups bench [OP] [--shape N,C,...]"), out[:80])


class BenchErrorTests(BenchTestCase):
    def fails(self, args, status, contains):
        r = run(["bench"] + args)
        self.assertEqual(r.returncode, status, "%s: %s" % (args, r.stderr))
        self.assertEqual(r.stdout, "")
        self.assertIn(contains, r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)

    def test_usage_errors(self):
        self.fails(["upsample", "--shape", "1,1,4,4"], 2, "unknown op 'upsample'")
        self.fails(["resize", "--shape", "1,1,4,4", "--scales", "1,1,2,2"], 2, "needs --mode")
        self.fails(["resize", "--shape", "1,1,4,4", "--mode", "linear", "--scales", "1,1,2,2",
                    "--align-corners"], 2, "option --align-corners does not apply to resize")
        self.fails(["resize", "--shape", "1,1,4,4", "--mode", "bilinear", "--scales", "1,1,2,2"],
                   2, "--mode: unknown resize mode 'bilinear'")
        self.fails(["resize", "--shape", "1,1,4,4", "--mode", "linear", "--scales", "2,2"], 1,
                   "resize: scales has 2 entries")
        self.fails(["interpolate", "--mode", "nearest", "--scale", "2"], 2, "needs --shape")
        self.fails(["interpolate", "--shape", "1,1,4,4", "--scale", "2"], 2, "needs --mode")
        self.fails(["interpolate", "--shape", "1,1,4,4", "--mode", "nearest", "--scale", "2",
                    "--factor", "2"], 2, "option --factor does not apply to interpolate")
        self.fails(["pixel-shuffle", "--shape", "1,4,4,4", "--factor", "2", "--stride", "2"], 2,
                   "option --stride does not apply to pixel-shuffle")
        self.fails(["interpolate", "--shape", "1,4", "--mode", "nearest", "--scale", "2"], 2,
                   "--shape: expected 3 to 5 sizes")
        self.fails(["pixel-shuffle", "--shape", "1,4,x,4", "--factor", "2"], 2,
                   "--shape: expected an integer")
        self.fails(["pixel-shuffle", "--shape", "1,4,4,4", "--factor", "2", "--dtype", "u8"], 2,
                   "--dtype: expected f32, f64, f16 or bf16")
        self.fails(["pixel-shuffle", "--shape", "1,4,4,4", "--factor", "2", "--layout", "nhwc"],
                   2, "--layout: expected contiguous or channels-last")
        self.fails(["pixel-shuffle", "--shape", "1,4,4,4", "--factor", "2", "--repeat", "0"], 2,
                   "--repeat: 0 is out of range")
        self.fails(["interpolate", "--shape", "1,1,4,4", "--mode", "cubic", "--scale", "2"], 2,
                   "--mode:")
        self.fails(["--shape", "1,1,4,4"], 2, "--shape needs OP")
        self.fails(["--factor", "2"], 2, "--factor needs OP")
        self.fails(["pixel-shuffle", "--shape", "1,4,4,4", "--factor", "2", "--list-suite"], 2,
                   "--list-suite applies to the default suite")
        self.fails(["--filter", "no such case", "--device", "cpu"], 2,
                   "--filter: no suite case contains 'no such case'")

    def test_op_errors(self):
        # The library's validation, with its exit status 1.
        self.fails(["interpolate", "--shape", "1,1,4,4", "--mode", "nearest", "--scale", "2",
                    "--size", "8", "--device", "cpu"], 1, "only one of size or scale_factor")
        self.fails(["pixel-shuffle", "--shape", "1,3,4,4", "--factor", "2", "--device", "cpu"],
                   1, "divisible")
        # The indices come from max pooling, which allows less padding than unpooling.
        self.fails(["max-unpool", "--shape", "1,1,3,3", "--kernel-size", "2", "--padding", "2",
                    "--device", "cpu"], 1, "pad should be at most half of effective kernel size")

    def test_cuda_without_cuda(self):
        info = run(["info"]).stdout
        if "CUDA backend: no" not in info:
            self.skipTest("this build has the CUDA backend")
        self.fails(["pixel-shuffle", "--shape", "1,4,4,4", "--factor", "2", "--device", "cuda"],
                   1, "CUDA")


class BenchReportTests(unittest.TestCase):
    """scripts/bench_report.py on hand-made results, and the peers' scripts' command lines."""

    A = ("interpolate --shape 1,4,8,8 --mode nearest --scale 2 --dtype f32 --layout contiguous",
         "interpolate", {"mode": "nearest", "scale": [2]})
    B = ("pixel-shuffle --shape 1,4,8,8 --factor 2 --dtype f32 --layout contiguous",
         "pixel-shuffle", {"factor": 2})

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ups-bench-report-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name, records):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")
        return path

    @staticmethod
    def record(case, op, params, median, impl=None, threads=2, device="cpu"):
        r = {"case": case, "op": op, "device": device, "dtype": "f32", "layout": "contiguous",
             "shape": [1, 4, 8, 8], "out_shape": [1, 4, 16, 16], "params": params,
             "bytes": 5120, "threads": threads, "warmup": 2, "repeat": 10, "median_ms": median,
             "min_ms": median, "max_ms": median, "gbps": 5120 / (median * 1e6)}
        if impl:
            r.update({"impl": impl, "version": "9.9." + impl})
        else:  # ups: a copy bandwidth 4 times the case's bandwidth at 1 ms
            r.update({"copy_gbps": 4 * 5120 / 1e6, "bw_fraction": r["gbps"] / (4 * 5120 / 1e6)})
        return r

    @staticmethod
    def skipped(case, op, params, impl, reason, threads=2):
        return {"case": case, "op": op, "device": "cpu", "dtype": "f32", "layout": "contiguous",
                "shape": [1, 4, 8, 8], "out_shape": [1, 4, 16, 16], "params": params,
                "bytes": 5120, "impl": impl, "version": "9.9." + impl, "threads": threads,
                "skipped": reason}

    def report(self, ups, peers, device="cpu", flag="--peers"):
        doc = os.path.join(self.dir, "bench.md")
        if not os.path.exists(doc):
            with open(doc, "w") as f:
                f.write("# Title\n\nintro\n\n<!-- bench-%s:begin -->\nold\n"
                        "<!-- bench-%s:end -->\n\ntail text\n" % (device, device))
        r = subprocess.run([sys.executable, REPORT, "--ups"] + ups + [flag] + peers +
                           ["--doc", doc, "--plot", "", "--device", device],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(doc) as f:
            text = f.read()
        self.assertTrue(text.startswith("# Title\n\nintro\n\n<!-- bench-%s:begin -->\n"
                                        % device))
        self.assertTrue(text.endswith("<!-- bench-%s:end -->\n\ntail text\n" % device))
        self.assertNotIn("\nold\n", text)
        return r.stdout, text

    @staticmethod
    def cells(text, start):
        rows = [line for line in text.splitlines() if line.startswith("| " + start)]
        return [[c.strip() for c in row.strip("|").split("|")] for row in rows]

    def test_join_ratio_geomean_and_rounds(self):
        a, b = self.A, self.B
        # Two rounds of ups; the lower median of each case counts.
        ups1 = self.write("ups1.jsonl", [self.record(*a, 2.0), self.record(*b, 1.0)])
        ups2 = self.write("ups2.jsonl", [self.record(*a, 1.0), self.record(*b, 3.0)])
        torch = self.write("torch.jsonl", [self.record(*a, 4.0, "pytorch"),
                                           self.record(*b, 0.25, "pytorch")])
        out, text = self.report([ups1, ups2], [torch], flag="--torch")
        # Ratios 4 / 1 = 4 and 0.25 / 1 = 0.25: geometric mean 1.
        self.assertIn("2 threads: 2 cases, geometric mean PyTorch / ups = 1.000, ups slower in 1"
                      "; best peer / ups = 1.000, ups slower in 1", out)
        nearest = self.cells(text, "interpolate | nearest x2")
        self.assertEqual(len(nearest), 1)
        self.assertEqual(nearest[0], ["interpolate", "nearest x2", "[1,4,8,8]", "f32", "contig",
                                      "1.000", "4.000", "PyTorch", "4.00", "4.00", "25%"])
        shuffle = self.cells(text, "pixel-shuffle | r=2")[0]
        self.assertEqual(shuffle[7:], ["PyTorch", "**0.25 (ups slower)**",
                                       "**0.25 (ups slower)**", "25%"])
        self.assertIn("| **all** | 2 | 1.00 | 1.00 | 1 | 1 | PyTorch 2 |", text)
        self.assertIn("2 of ups, 1 of PyTorch", text)
        self.assertIn("- Peers: PyTorch 9.9.pytorch", text)
        self.assertNotIn("Cells marked", text)  # no notes without skipped cases

    def test_best_peer_and_notes(self):
        a, b = self.A, self.B
        ups = self.write("ups.jsonl", [self.record(*a, 1.0), self.record(*b, 1.0)])
        torch = self.write("torch.jsonl", [self.record(*a, 4.0, "pytorch"),
                                           self.record(*b, 0.25, "pytorch")])
        cv = self.write("cv.jsonl", [self.record(*a, 2.0, "opencv"),
                                     self.skipped(*b, "opencv", "no pixel shuffle")])
        ort = self.write("ort.jsonl", [self.skipped(*a, "onnxruntime", "differs at borders"),
                                       self.record(*b, 0.5, "onnxruntime")])
        out, text = self.report([ups], [torch, cv, ort])
        # Best peers: OpenCV 2 ms on A (ratio 2), PyTorch 0.25 ms on B: geometric mean 0.71.
        self.assertIn("best peer / ups = 0.707, ups slower in 1", out)
        self.assertEqual(self.cells(text, "interpolate | nearest x2")[0][5:],
                         ["1.000", "4.000", "2.000", "– (1)", "OpenCV", "2.00", "4.00", "25%"])
        self.assertEqual(self.cells(text, "pixel-shuffle | r=2")[0][5:],
                         ["1.000", "0.250", "– (2)", "0.500", "PyTorch", "**0.25 (ups slower)**",
                          "**0.25 (ups slower)**", "25%"])
        head = self.cells(text, "op | case")[-1]
        self.assertEqual(head[5:9], ["ups ms", "PyTorch ms", "OpenCV ms", "ONNX Runtime ms"])
        self.assertIn("\n1. ONNX Runtime: differs at borders\n2. OpenCV: no pixel shuffle", text)
        self.assertIn("Cases each peer computes (of 2): PyTorch 2, OpenCV 1, ONNX Runtime 1.",
                      text)
        self.assertIn("| interpolate | 1 | 4.00 | 2.00 | 0 | 0 | OpenCV 1 |", text)
        self.assertIn("| **all** | 2 | 1.00 | 0.71 | 1 | 1 | PyTorch 1, OpenCV 1 |", text)
        self.assertIn("- Peers: PyTorch 9.9.pytorch, OpenCV 9.9.opencv, ONNX Runtime "
                      "9.9.onnxruntime", text)

    def test_one_table_per_thread_count(self):
        a = self.A
        ups = self.write("ups.jsonl", [self.record(*a, 1.0, threads=1),
                                       self.record(*a, 2.0, threads=2)])
        # Each thread count is compared with the peers' runs at the same count.
        torch = self.write("torch.jsonl", [self.record(*a, 3.0, "pytorch", threads=1),
                                           self.record(*a, 1.0, "pytorch", threads=2)])
        out, text = self.report([ups], [torch])
        self.assertIn("1 thread: 1 cases, geometric mean PyTorch / ups = 3.000", out)
        self.assertIn("2 threads: 1 cases, geometric mean PyTorch / ups = 0.500", out)
        one = text.index("### 1 thread\n")
        two = text.index("### 2 threads\n")
        self.assertLess(one, two)
        self.assertIn("| nearest x2 |", text[one:two])
        self.assertIn("| 3.00 | 3.00 |", text[one:two])
        self.assertIn("| **0.50 (ups slower)** | **0.50 (ups slower)** |", text[two:])
        self.assertIn("- Threads: 1 and 2, the same for every side", text)

    def test_cuda(self):
        a = self.A
        u = self.record(*a, 1.0, device="cuda")
        t = self.record(*a, 2.0, "pytorch", threads=8, device="cuda")
        for r, copy in ((u, 4e-2), (t, 2e-2)):
            r.update({"device_name": "Some GPU", "copy_gbps": copy,
                      "bw_fraction": r["gbps"] / copy})
        out, text = self.report([self.write("ups.jsonl", [u])],
                                [self.write("torch.jsonl", [t])], device="cuda")
        # The host's thread counts differ on CUDA; cases are matched by name.
        self.assertIn("1 cases, geometric mean PyTorch / ups = 2.000, ups slower in 0", out)
        self.assertEqual(self.cells(text, "interpolate | nearest x2")[0][5:],
                         ["1.000", "2.000", "2.00", "0.0", "0.0", "13%", "13%"])
        self.assertIn("- Device: Some GPU", text)
        self.assertIn("| **all** | 1 | 2.00 | 0 |", text)

    # The peers' scripts start and parse their arguments without PyTorch installed.
    def run_script(self, name, args):
        return subprocess.run([sys.executable, os.path.join(SCRIPTS, name)] + args,
                              capture_output=True, text=True, timeout=60)

    def test_peer_scripts_help(self):
        for name in ("bench_peers.py", "bench_pytorch.py"):
            r = self.run_script(name, ["--help"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("--ups UPS", r.stdout)
            self.assertEqual("--peers" in r.stdout, name == "bench_peers.py", name)

    def test_peer_scripts_unknown_peer(self):
        r = self.run_script("bench_peers.py", ["--ups", "ups", "--peers", "torch,tensorflow"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown peer 'tensorflow'", r.stderr)


def main():
    global UPS
    if len(sys.argv) < 2:
        sys.exit("usage: test_cli_bench.py PATH_TO_UPS [unittest arguments]")
    UPS = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)


if __name__ == "__main__":
    main()
