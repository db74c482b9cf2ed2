#!/usr/bin/env python3
"""Tests of the `ups` program, using only the Python standard library.

Usage: test_cli.py PATH_TO_UPS [unittest arguments, e.g. a test class name]

Input .npy files are written with `struct`, the program runs in a subprocess, and its output
.npy files are parsed back here (the header with `ast.literal_eval`). Expected values are
written out by hand or computed by the small reference implementation of PyTorch's index
formulas below, which shares no code with ups.
"""

import ast
import math
import os
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import unittest

UPS = None  # path of the program, set in main

# descr -> (struct code, item size, ups dtype name)
DTYPES = {
    "<f4": ("f", 4, "f32"),
    "<f8": ("d", 8, "f64"),
    "<f2": ("e", 2, "f16"),
    "|u1": ("B", 1, "u8"),
    "<i4": ("i", 4, "i32"),
    "<i8": ("q", 8, "i64"),
}
FLOAT_DESCRS = ["<f4", "<f8", "<f2"]


# ---- .npy encoding and decoding -------------------------------------------------------------


def npy_header(descr, shape, version=(1, 0), fortran=False, text=None, align=64):
    """The bytes before the data: magic, version, length field and padded dict."""
    if text is None:
        text = "{'descr': %r, 'fortran_order': %s, 'shape': %s, }" % (
            descr,
            fortran,
            repr(tuple(shape)),
        )
    prefix = 6 + 2 + (2 if version[0] == 1 else 4)
    pad = (-(prefix + len(text) + 1)) % align
    body = (text + " " * pad + "\n").encode("utf-8" if version[0] == 3 else "latin1")
    length = struct.pack("<H", len(body)) if version[0] == 1 else struct.pack("<I", len(body))
    return b"\x93NUMPY" + bytes(version) + length + body


def pack(descr, values):
    code = DTYPES[descr][0]
    return struct.pack("<%d%s" % (len(values), code), *values)


def npy_bytes(descr, shape, values, **kw):
    return npy_header(descr, shape, **kw) + pack(descr, values)


def stored(descr, values):
    """The values as the dtype stores them (rounded to f32 / f16)."""
    return list(struct.unpack("<%d%s" % (len(values), DTYPES[descr][0]), pack(descr, values)))


def read_npy(path):
    """Parses an .npy file strictly; returns (descr, shape, values, version)."""
    with open(path, "rb") as f:
        raw = f.read()
    assert raw[:6] == b"\x93NUMPY", "bad magic"
    version = (raw[6], raw[7])
    if version[0] == 1:
        (hlen,) = struct.unpack("<H", raw[8:10])
        start = 10
    else:
        (hlen,) = struct.unpack("<I", raw[8:12])
        start = 12
    text = raw[start : start + hlen].decode("latin1")
    offset = start + hlen
    assert offset % 64 == 0, "data offset %d is not 64-byte aligned" % offset
    assert text.endswith("\n"), "header does not end with a newline"
    d = ast.literal_eval(text)
    assert sorted(d) == ["descr", "fortran_order", "shape"], d
    assert d["fortran_order"] is False
    code, size, _ = DTYPES[d["descr"]]
    n = 1
    for s in d["shape"]:
        n *= s
    data = raw[offset:]
    assert len(data) == n * size, "data has %d bytes, expected %d" % (len(data), n * size)
    return d["descr"], tuple(d["shape"]), list(struct.unpack("<%d%s" % (n, code), data)), version


# ---- reference interpolation (PyTorch's index formulas) -------------------------------------


def cubic_weights(t, a=-0.75):
    def cc1(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def cc2(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [cc2(t + 1), cc1(t), cc1(1 - t), cc2(2 - t)]


def aa_triangle(x):
    return max(0.0, 1.0 - abs(x))


def aa_keys(x):  # Keys' cubic with a = -0.5 (Pillow)
    x, a = abs(x), -0.5
    if x < 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return 0.0


def lanczos3(x):  # sinc(x) * sinc(x / 3) for |x| < 3
    def sinc(v):
        return 1.0 if v == 0 else math.sin(math.pi * v) / (math.pi * v)
    x = abs(x)
    return sinc(x) * sinc(x / 3) if x < 3 else 0.0


def axis_taps(mode, n_in, n_out, sf, align_corners, antialias):
    """For each output index along one axis, a list of (input index, weight)."""
    taps = []
    if mode == "area":
        for d in range(n_out):
            b = (d * n_in) // n_out
            e = -(-((d + 1) * n_in) // n_out)
            taps.append([(i, 1.0 / (e - b)) for i in range(b, e)])
        return taps
    # area_pixel_compute_scale
    if align_corners:
        scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        scale = 1.0 / sf if sf else n_in / n_out
    for d in range(n_out):
        if mode == "nearest":
            taps.append([(min(int(math.floor(d * scale)), n_in - 1), 1.0)])
        elif mode == "nearest-exact":
            taps.append([(min(int(math.floor((d + 0.5) * scale)), n_in - 1), 1.0)])
        elif antialias and n_in == n_out:  # PyTorch's anti-aliasing skips such a dim
            taps.append([(d, 1.0)])
        elif antialias:  # Pillow-style filters widened by the scale
            half, filt = {"bilinear": (1.0, aa_triangle), "trilinear": (1.0, aa_triangle),
                          "bicubic": (2.0, aa_keys), "tricubic": (2.0, aa_keys),
                          "lanczos": (3.0, lanczos3)}[mode]
            support = half * scale if scale >= 1.0 else half
            inv = 1.0 / scale if scale >= 1.0 else 1.0
            center = scale * (d + 0.5)
            lo = max(int(center - support + 0.5), 0)
            hi = min(int(center + support + 0.5), n_in)
            ws = [filt((j - center + 0.5) * inv) for j in range(lo, hi)]
            total = sum(ws)
            taps.append([(lo + k, w / total) for k, w in enumerate(ws)])
        elif mode in ("bicubic", "tricubic"):
            s = scale * d if align_corners else scale * (d + 0.5) - 0.5
            i = math.floor(s)
            ws = cubic_weights(s - i)
            taps.append([(min(max(i - 1 + k, 0), n_in - 1), ws[k]) for k in range(4)])
        else:  # linear, bilinear, trilinear
            s = scale * d if align_corners else max(scale * (d + 0.5) - 0.5, 0.0)
            i0 = int(math.floor(s))
            i1 = min(i0 + 1, n_in - 1)
            lam = s - i0
            taps.append([(i0, 1.0 - lam), (i1, lam)])
    return taps


def ref_interpolate(values, shape, mode, size=None, scale=None, align_corners=False,
                    recompute=False, antialias=False):
    """Returns (output shape, output values) in float64."""
    n, c = shape[0], shape[1]
    spatial = list(shape[2:])
    k = len(spatial)
    if size is not None:
        out = list(size) * k if len(size) == 1 else list(size)
        sfs = [None] * k
    else:
        sc = list(scale) * k if len(scale) == 1 else list(scale)
        out = [int(math.floor(i * s)) for i, s in zip(spatial, sc)]
        sfs = [None] * k if (recompute or mode == "area") else sc
    taps = [axis_taps(mode, spatial[a], out[a], sfs[a], align_corners, antialias)
            for a in range(k)]
    strides = [1] * k
    for a in range(k - 2, -1, -1):
        strides[a] = strides[a + 1] * spatial[a + 1]
    plane = strides[0] * spatial[0]
    result = []
    for nc in range(n * c):
        src = values[nc * plane : (nc + 1) * plane]

        def walk(axis, idx):
            if axis == k:
                # sum over the tensor product of the taps
                total = 0.0
                combos = [(0, 1.0)]
                for a in range(k):
                    combos = [(o + i * strides[a], w * wt) for o, w in combos
                              for i, wt in taps[a][idx[a]]]
                for o, w in combos:
                    total += w * src[o]
                result.append(total)
                return
            for d in range(out[axis]):
                walk(axis + 1, idx + [d])

        walk(0, [])
    return tuple([n, c] + out), result


# `ups interpolate` runs against ref_interpolate: (mode, input shape, options, ref_interpolate's
# arguments). Every mode of the program is here (ModeTableTests checks that), in every dtype,
# with u8 too for the nearest modes.
REFERENCE_CASES = [
    ("nearest", (2, 3, 5), ["--size", "9"], dict(size=[9])),
    ("nearest", (1, 2, 4, 5), ["--scale", "1.5,2"], dict(scale=[1.5, 2])),
    ("nearest", (1, 1, 2, 3, 4), ["--size", "4,6,8"], dict(size=[4, 6, 8])),
    ("nearest-exact", (1, 2, 5, 3), ["--size", "7,8"], dict(size=[7, 8])),
    ("nearest-exact", (1, 2, 8), ["--size", "3"], dict(size=[3])),
    ("linear", (2, 2, 7), ["--scale", "0.5"], dict(scale=[0.5])),
    ("linear", (1, 3, 5), ["--size", "11", "--align-corners"],
     dict(size=[11], align_corners=True)),
    ("bilinear", (1, 2, 3, 4), ["--size", "7,5"], dict(size=[7, 5])),
    ("bilinear", (2, 1, 5, 4), ["--scale", "1.5", "--align-corners"],
     dict(scale=[1.5], align_corners=True)),
    ("bilinear", (1, 2, 8, 9), ["--size", "3,4", "--antialias"],
     dict(size=[3, 4], antialias=True)),
    ("bicubic", (1, 2, 4, 4), ["--size", "6,9"], dict(size=[6, 9])),
    ("bicubic", (1, 1, 3, 5), ["--size", "7", "--align-corners"],
     dict(size=[7], align_corners=True)),
    ("trilinear", (1, 2, 2, 3, 4), ["--size", "3,5,6"], dict(size=[3, 5, 6])),
    ("trilinear", (1, 1, 3, 3, 2), ["--scale", "2", "--align-corners"],
     dict(scale=[2], align_corners=True)),
    ("area", (1, 2, 7, 9), ["--size", "3,4"], dict(size=[3, 4])),
    ("area", (1, 2, 7), ["--scale", "0.5"], dict(scale=[0.5])),
    ("area", (1, 1, 4, 4, 6), ["--size", "2,3,4"], dict(size=[2, 3, 4])),
    ("lanczos", (1, 2, 9, 7), ["--size", "4,10", "--antialias"],
     dict(size=[4, 10], antialias=True)),
    ("tricubic", (1, 1, 2, 3, 4), ["--size", "3,5,6"], dict(size=[3, 5, 6])),
    ("tricubic", (1, 1, 3, 2, 2), ["--scale", "1.5", "--align-corners"],
     dict(scale=[1.5], align_corners=True)),
    ("tricubic", (1, 1, 6, 7, 5), ["--size", "3,2,5", "--antialias"],
     dict(size=[3, 2, 5], antialias=True)),
    ("trilinear", (1, 2, 5, 6, 4), ["--size", "2,3,4", "--antialias"],
     dict(size=[2, 3, 4], antialias=True)),
]


# ---- utilities ------------------------------------------------------------------------------


def run(args, **kw):
    return subprocess.run([UPS] + list(args), capture_output=True, text=True, timeout=120, **kw)


def info_interpolate_modes():
    """The table of interpolation modes that `ups info` prints (the library's
    ups::interp_modes()), as {name: {"ranks": [...], "align_corners": bool, "antialias": bool,
    "dtypes": [...]}} in the program's order."""
    r = run(["info"])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    start = lines.index("interpolate modes (ups interpolate --mode):")
    assert lines[start + 1].split() == ["name", "ranks", "align_corners", "antialias", "dtypes"]
    modes = {}
    for line in lines[start + 2:]:
        if not line.strip():
            break
        name, ranks, align, aa, dtypes = line.split()
        lo, _, hi = ranks.partition("-")
        assert name not in modes, name
        modes[name] = {"ranks": list(range(int(lo), int(hi or lo) + 1)),
                       "align_corners": {"yes": True, "no": False}[align],
                       "antialias": {"yes": True, "no": False}[aa],
                       "dtypes": dtypes.split(",")}
    return modes


def python_literal(path, name):
    """The value of the top-level assignment `name = <literal>` in the Python file at path, read
    without running the file (scripts/gen_golden.py needs PyTorch to run)."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == name):
            return ast.literal_eval(node.value)
    raise AssertionError("%s assigns no literal to %s" % (path, name))


REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def sample_values(count, integers=False):
    if integers:
        return [(i * 37 + 11) % 256 for i in range(count)]
    return [((i * 37) % 101) / 7.0 - 6.0 for i in range(count)]


def slurp(path):
    with open(path, "rb") as f:
        return f.read()


def prod(shape):
    p = 1
    for s in shape:
        p *= s
    return p


def demo_sections(out):
    """Splits the output of `ups demo` into {number: (title, text, matrices)}: a section starts
    at a line "N) title"; its matrices are the runs of lines "[a  b  c]", each a list of rows."""
    sections = {}
    current = None
    run_open = False
    for line in out.splitlines():
        s = line.strip()
        head = s.split(")", 1)
        if not line.startswith(" ") and len(head) == 2 and head[0].isdigit():
            current = (head[1].strip(), [], [])
            sections[int(head[0])] = current
            run_open = False
        elif current is not None and s.startswith("[") and s.endswith("]"):
            if not run_open:
                current[2].append([])
                run_open = True
            current[2][-1].append([float(v) for v in s[1:-1].split()])
        elif current is not None:
            current[1].append(line)
            run_open = False
    return {k: (t, "\n".join(text), m) for k, (t, text, m) in sections.items()}


class CliTestCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ups-cli-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, data):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def assert_close(self, actual, expected, descr, what="", input_max=0.0):
        self.assertEqual(len(actual), len(expected), what)
        if descr in ("|u1", "<i4", "<i8"):
            self.assertEqual(actual, expected, what)
            return
        # f32 and f16 results are computed in f32, in another order than the f64 reference.
        # PyTorch's CPU kernels also round some f16 weights to f16, an error that scales with
        # the input values rather than the output (input_max is the largest |input|).
        rtol = {"<f8": 1e-12, "<f4": 1e-5, "<f2": 2e-3}[descr]
        atol = 2e-3 * input_max if descr == "<f2" else 0.0
        for i, (a, e) in enumerate(zip(actual, expected)):
            if not abs(a - e) <= rtol * max(1.0, abs(e)) + atol:
                self.fail("%s: element %d is %r, expected %r" % (what, i, a, e))

    def interpolate(self, descr, shape, values, extra, version=(1, 0)):
        """Runs `ups interpolate` and returns (descr, shape, values) of the output."""
        src = self.write("in.npy", npy_bytes(descr, shape, values, version=version))
        dst = self.path("out.npy")
        r = run(["interpolate", src, dst] + extra)
        self.assertEqual(r.returncode, 0, "ups %s failed: %s" % (" ".join(extra), r.stderr))
        self.assertEqual(r.stderr, "")
        out_descr, out_shape, out_values, out_version = read_npy(dst)
        self.assertEqual(out_version, (1, 0))
        self.assertEqual(sorted(os.listdir(self.dir)), ["in.npy", "out.npy"])
        return out_descr, out_shape, out_values

    def check_against_reference(self, descr, shape, mode, extra, size=None, scale=None,
                                align_corners=False, recompute=False, antialias=False):
        values = stored(descr, sample_values(prod(shape), integers=descr == "|u1"))
        out_descr, out_shape, out = self.interpolate(descr, shape, values, ["--mode", mode] + extra)
        ref_shape, ref = ref_interpolate(values, shape, mode, size, scale, align_corners,
                                         recompute, antialias)
        self.assertEqual(out_descr, descr)
        self.assertEqual(out_shape, ref_shape)
        if descr in ("<f4", "<f2"):
            ref = stored(descr, ref)
        self.assert_close(out, ref, descr, "%s %s %s" % (mode, descr, extra),
                          input_max=max(abs(v) for v in values))
        return out

    def snapshot(self):
        """The contents of the regular files in the test folder (None where unreadable)."""
        files = {}
        for n in os.listdir(self.dir):
            if os.path.isfile(self.path(n)):
                try:
                    files[n] = slurp(self.path(n))
                except PermissionError:
                    files[n] = None
        return files

    def assert_fails(self, args, status, contains, out_name="out.npy"):
        """Runs ups with args in which OUT is an existing file that must survive, and checks the
        single error line, the exit status and that no file appeared or changed."""
        out = self.path(out_name)
        if not os.path.exists(out):
            with open(out, "wb") as f:
                f.write(b"precious contents")
        names = sorted(os.listdir(self.dir))
        before = self.snapshot()
        r = run(args)
        self.assertEqual(r.returncode, status,
                         "ups %s: status %d, stderr %r" % (args, r.returncode, r.stderr))
        self.assertEqual(r.stdout, "", "stdout of a failing command")
        lines = r.stderr.split("\n")
        self.assertEqual(len(lines), 2, "expected exactly one line, got %r" % r.stderr)
        self.assertEqual(lines[1], "")
        self.assertTrue(lines[0].startswith("ups: error: "), lines[0])
        self.assertIn(contains, lines[0])
        after = self.snapshot()
        self.assertEqual(after, before, "files changed or appeared")
        self.assertEqual(sorted(os.listdir(self.dir)), names)
        return lines[0]


# ---- results --------------------------------------------------------------------------------


class InterpolateTests(CliTestCase):
    def test_nearest_2x_every_dtype(self):
        # [[1, 2], [3, 4]] doubled: every value becomes a 2x2 block.
        expected = [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]
        for descr in ["<f4", "<f8", "<f2", "|u1"]:
            for how in (["--scale", "2"], ["--size", "4"], ["--size", "4,4"], ["--scale", "2,2"]):
                d, shape, out = self.interpolate(descr, (1, 1, 2, 2), [1, 2, 3, 4],
                                                 ["--mode", "nearest"] + how)
                self.assertEqual(d, descr)
                self.assertEqual(shape, (1, 1, 4, 4))
                self.assertEqual(out, expected, "%s %s" % (descr, how))

    def test_demo_align_corners_true(self):
        # The tutorial's 3x3 -> 5x5 bilinear example with align_corners=True, by hand: the
        # samples sit 0.5 input pixels apart, so each value is the mean of its neighbours.
        expected = [1, 1.5, 2, 2.5, 3,
                    2.5, 3, 3.5, 4, 4.5,
                    4, 4.5, 5, 5.5, 6,
                    5.5, 6, 6.5, 7, 7.5,
                    7, 7.5, 8, 8.5, 9]
        for descr in FLOAT_DESCRS:
            d, shape, out = self.interpolate(descr, (1, 1, 3, 3), list(range(1, 10)),
                                             ["--mode", "bilinear", "--size", "5",
                                              "--align-corners"])
            self.assertEqual(shape, (1, 1, 5, 5))
            self.assert_close(out, expected, descr, "align_corners=True " + descr)

    def test_bilinear_2x_align_corners_false(self):
        # The tutorial's 2x example: source coordinate (i + 0.5) / 2 - 0.5, clamped at 0.
        expected = [1, 1.25, 1.75, 2,
                    1.5, 1.75, 2.25, 2.5,
                    2.5, 2.75, 3.25, 3.5,
                    3, 3.25, 3.75, 4]
        for descr in FLOAT_DESCRS:
            _, shape, out = self.interpolate(descr, (1, 1, 2, 2), [1, 2, 3, 4],
                                             ["--mode", "bilinear", "--scale", "2"])
            self.assertEqual(shape, (1, 1, 4, 4))
            self.assert_close(out, expected, descr, "bilinear 2x " + descr)

    def test_linear_1d_by_hand(self):
        # in = [0, 10, 20, 40], out size 8: source x = (i + 0.5) / 2 - 0.5 clamped to [0, 3].
        expected = [0, 2.5, 7.5, 12.5, 17.5, 25, 35, 40]
        for descr in FLOAT_DESCRS:
            _, shape, out = self.interpolate(descr, (1, 1, 4), [0, 10, 20, 40],
                                             ["--mode", "linear", "--size", "8"])
            self.assertEqual(shape, (1, 1, 8))
            self.assert_close(out, expected, descr, "linear " + descr)
        # align_corners=True, 4 -> 7: x = i * 3 / 6 = i / 2.
        _, _, out = self.interpolate("<f8", (1, 1, 4), [0, 10, 20, 40],
                                     ["--mode", "linear", "--size", "7", "--align-corners"])
        self.assert_close(out, [0, 5, 10, 15, 20, 30, 40], "<f8", "linear align_corners")

    def test_modes_against_reference(self):
        modes = info_interpolate_modes()
        for mode, shape, extra, kw in REFERENCE_CASES:
            for descr in FLOAT_DESCRS:
                if DTYPES[descr][2] in modes[mode]["dtypes"]:
                    self.check_against_reference(descr, shape, mode, extra, **kw)
            if "u8" in modes[mode]["dtypes"]:
                self.check_against_reference("|u1", shape, mode, extra, **kw)


    def test_scale_is_used_unless_recomputed(self):
        # 3 * 1.5 = 4.5 -> 4 outputs. The index math uses 1/1.5 by default and 3/4 with
        # --recompute-scale-factor; the two give different values.
        plain = self.check_against_reference("<f8", (1, 1, 3), "linear", ["--scale", "1.5"],
                                             scale=[1.5])
        recomputed = self.check_against_reference(
            "<f8", (1, 1, 3), "linear", ["--scale", "1.5", "--recompute-scale-factor"],
            scale=[1.5], recompute=True)
        self.assertNotEqual(plain, recomputed)

    def test_threads_and_cpu_device_give_identical_results(self):
        shape = (2, 3, 40, 50)
        values = stored("<f4", sample_values(prod(shape)))
        outs = []
        for extra in (["--threads", "1"], ["--threads", "3"], ["--device", "cpu"],
                      ["--threads=0", "--device=cpu"]):
            outs.append(self.interpolate("<f4", shape, values,
                                         ["--mode", "bicubic", "--scale", "2.5"] + extra))
        for o in outs[1:]:
            self.assertEqual(o, outs[0])

    def test_header_versions_and_layouts(self):
        values = [1, 2, 3, 4]
        expected = [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]
        variants = [
            dict(version=(2, 0)),
            dict(version=(3, 0)),
            dict(align=16),  # NumPy before 1.14 aligned the data to 16 bytes
            dict(text='{"shape": (1, 1, 2, 2), "fortran_order": False, "descr": "<f4"}'),
            dict(text="{'descr':'<f4','fortran_order':False,'shape':(1,1,2,2)}"),
        ]
        for kw in variants:
            src = self.write("in.npy", npy_header("<f4", (1, 1, 2, 2), **kw) + pack("<f4", values))
            dst = self.path("out.npy")
            r = run(["interpolate", src, dst, "--mode", "nearest", "--scale", "2"])
            self.assertEqual(r.returncode, 0, "%s: %s" % (kw, r.stderr))
            self.assertEqual(read_npy(dst)[2], expected, kw)

    def test_empty_batch(self):
        d, shape, out = self.interpolate("<f4", (0, 2, 3, 3), [],
                                         ["--mode", "bilinear", "--size", "5"])
        self.assertEqual(shape, (0, 2, 5, 5))
        self.assertEqual(out, [])

    def test_replaces_existing_output_keeping_its_mode(self):
        out = self.write("out.npy", b"old contents")
        os.chmod(out, 0o640)
        self.interpolate("<f4", (1, 1, 2), [1, 2], ["--mode", "nearest", "--size", "4"])
        self.assertEqual(read_npy(out)[2], [1, 1, 2, 2])
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o640)

    def test_termination_removes_the_temporary_file(self):
        # SIGTERM while the output is being produced: OUT keeps its old contents and the
        # temporary file next to it is removed.
        import signal
        import time

        shape = (1, 1, 1500, 1500)
        src = self.write("in.npy", npy_header("<f4", shape) + bytes(4 * prod(shape)))
        out = self.write("out.npy", b"old")
        proc = subprocess.Popen([UPS, "interpolate", src, out, "--mode", "bicubic", "--scale",
                                 "3", "--threads", "1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        seen = False
        while time.time() < deadline and proc.poll() is None:
            if any(n.startswith(".ups-tmp-") for n in os.listdir(self.dir)):
                seen = True
                break
            time.sleep(0.002)
        if not seen:
            proc.wait(60)
            self.skipTest("the run ended before it could be interrupted")
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(60)
        if status == 0:
            self.skipTest("the run ended before the signal arrived")
        self.assertEqual(status, -signal.SIGTERM)
        self.assertEqual(sorted(os.listdir(self.dir)), ["in.npy", "out.npy"])
        self.assertEqual(slurp(out), b"old")

    def test_verbose(self):
        src = self.write("in.npy", npy_bytes("<f4", (1, 1, 2), [1, 2]))
        r = run(["interpolate", src, self.path("o.npy"), "--mode", "nearest", "--size", "4",
                 "--verbose", "--device", "cpu"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("[1, 1, 2] -> [1, 1, 4] on cpu", r.stdout)

    def test_cuda_device(self):
        info = run(["info"]).stdout
        src = self.write("in.npy", npy_bytes("<f4", (1, 1, 2, 2), [1, 2, 3, 4]))
        dst = self.path("out.npy")
        args = ["interpolate", src, dst, "--mode", "bilinear", "--scale", "2", "--device", "cuda"]
        if "CUDA backend: no" in info:
            self.assert_fails(args, 1, "no CUDA backend")
        elif "CUDA devices:   0 usable" in info:
            self.assert_fails(args, 1, "no usable CUDA device")
        else:
            r = run(args)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assert_close(read_npy(dst)[2],
                              [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5,
                               2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4], "<f4", "cuda")


# ---- malformed and unsupported .npy files -----------------------------------------------------


class NpyErrorTests(CliTestCase):
    def fails_on(self, data, contains, extra=("--mode", "nearest", "--scale", "2")):
        src = self.write("in.npy", data)
        return self.assert_fails(["interpolate", src, self.path("out.npy")] + list(extra), 1,
                                 contains)

    def test_missing_and_unreadable_input(self):
        self.assert_fails(["interpolate", self.path("nope.npy"), self.path("out.npy"),
                           "--mode", "nearest", "--scale", "2"], 1, "No such file or directory")
        os.mkdir(self.path("sub"))
        self.assert_fails(["interpolate", self.path("sub"), self.path("out.npy"),
                           "--mode", "nearest", "--scale", "2"], 1, "is a directory")
        if os.geteuid() != 0:  # root reads files whatever their mode
            p = self.write("locked.npy", npy_bytes("<f4", (1, 1, 1), [1]))
            os.chmod(p, 0)
            self.assert_fails(["interpolate", p, self.path("out.npy"),
                               "--mode", "nearest", "--scale", "2"], 1, "Permission denied")

    def test_bad_magic_version_and_truncation(self):
        good = npy_bytes("<f4", (1, 1, 2), [1, 2])
        self.fails_on(b"", "is empty")
        self.fails_on(b"\x93NUMP", "not an .npy file")
        self.fails_on(b"PK\x03\x04" + good[4:], "not an .npy file")
        self.fails_on(good[:7], "truncated")
        self.fails_on(good[:9], "truncated")
        self.fails_on(good[:40], "truncated .npy header")
        self.fails_on(good[:-1], "truncated .npy data")
        self.fails_on(good[:-8], "truncated .npy data")
        self.fails_on(good + b"\0", "1 unexpected trailing bytes")
        for version in [(4, 0), (1, 1), (0, 0), (2, 5)]:
            bad = good[:6] + bytes(version) + good[8:]
            self.fails_on(bad, "unsupported .npy format version %d.%d" % version)
        # A v2 length field that claims 4 GiB.
        self.fails_on(b"\x93NUMPY\x02\x00\xff\xff\xff\xff{}", "truncated .npy header")

    def test_malformed_header_dicts(self):
        cases = [
            ("[1, 2, 3]", "not a Python dict"),
            ("'descr'", "not a Python dict"),
            ("{'descr': '<f4', 'fortran_order': False}", "no 'shape' key"),
            ("{'descr': '<f4', 'shape': (1, 1, 2)}", "no 'fortran_order' key"),
            ("{'fortran_order': False, 'shape': (1, 1, 2)}", "no 'descr' key"),
            ("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2)}",
             "appears twice"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2), 'x': 1}",
             "unexpected key 'x'"),
            ("{'descr': '<f4', 'fortran_order': 0, 'shape': (1, 1, 2)}", "True or False"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': [1, 1, 2]}", "not a tuple"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", "not a tuple"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1, -1, 2)}", "negative"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1.0, 2)}", "malformed"),
            ("{'descr': '<f4' 'fortran_order': False, 'shape': (1, 1, 2)}", "malformed"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2)", "malformed"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2)} x", "after the header"),
            ("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1, 1, 2)}",
             "structured"),
            ("{'descr': '<f4, 'fortran_order': False, 'shape': (1, 1, 2)}", "malformed"),
        ]
        for text, contains in cases:
            with self.subTest(text=text):
                self.fails_on(npy_header(None, None, text=text) + pack("<f4", [1, 2]), contains)

    def test_unsupported_layouts_and_dtypes(self):
        self.fails_on(npy_bytes("<f4", (1, 1, 2), [1, 2], fortran=True), "Fortran-order")
        self.fails_on(npy_header(">f4", (1, 1, 2)) + struct.pack(">2f", 1, 2), "big-endian")
        self.fails_on(npy_header(">f8", (1, 1, 1)) + struct.pack(">d", 1), "big-endian")
        for descr, size in [("<c8", 8), ("|b1", 1), ("<u2", 2), ("|i1", 1), ("<U3", 12),
                            ("|O", 8), ("float32", 4)]:
            with self.subTest(descr=descr):
                self.fails_on(npy_header(descr, (1, 1, 2)) + b"\0" * (2 * size),
                              "unsupported .npy dtype")

    @unittest.skipIf(os.environ.get("UPS_TEST_SANITIZER"),
                     "sanitizer runtimes reserve terabytes and abort on huge allocations")
    def test_absurd_shapes_fail_before_allocating(self):
        # Reported from the header and the file size alone: a program that allocated first would
        # run out of the 1 GiB of address space it gets here and say "out of memory".
        huge = [
            ((10 ** 30, 1, 1), "exceeds the int64 range"),
            ((1, 2 ** 32, 2 ** 32), "more than 2^63 bytes"),
            ((2 ** 61, 1, 4), "more than 2^63 bytes"),  # elements fit int64, bytes do not
            ((1, 100000, 100000), "truncated .npy data"),
            ((1, 1, 2 ** 40), "truncated .npy data"),
        ]
        for shape, contains in huge:
            with self.subTest(shape=shape):
                src = self.write("in.npy", npy_header("<f4", shape) + pack("<f4", [1, 2]))
                line = self.assert_fails_limited(src, contains)
                self.assertNotIn("out of memory", line)

    def assert_fails_limited(self, src, contains):
        import resource

        def limit():
            resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

        out = self.path("out.npy")
        r = subprocess.run([UPS, "interpolate", src, out, "--mode", "nearest", "--scale", "2"],
                           capture_output=True, text=True, timeout=120, preexec_fn=limit)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        self.assertTrue(r.stderr.startswith("ups: error: "), r.stderr)
        self.assertIn(contains, r.stderr)
        self.assertFalse(os.path.exists(out))
        return r.stderr

    def test_ranks_that_do_not_fit(self):
        for shape in [(), (4,), (2, 2), (1, 1, 1, 1, 1, 1)]:
            with self.subTest(shape=shape):
                self.fails_on(npy_bytes("<f4", shape, [1] * prod(shape)),
                              "Only 3D, 4D and 5D input Tensors supported")
        self.fails_on(npy_bytes("<f4", (1, 1, 2), [1, 2]), "bilinear mode needs 4D input",
                      extra=("--mode", "bilinear", "--scale", "2"))
        self.fails_on(npy_bytes("<f4", (1, 1, 2, 2), [1, 2, 3, 4]), "linear mode needs 3D input",
                      extra=("--mode", "linear", "--scale", "2"))

    def test_dtypes_the_op_rejects(self):
        # i32 and i64 files are read (the dtype reaches the op), but interpolate rejects them.
        self.fails_on(npy_bytes("<i4", (1, 1, 2), [1, 2]), "does not support dtype i32")
        self.fails_on(npy_bytes("<i8", (1, 1, 2), [1, 2]), "does not support dtype i64")
        self.fails_on(npy_bytes("|u1", (1, 1, 2, 2), [1, 2, 3, 4]), "does not support dtype u8",
                      extra=("--mode", "bilinear", "--scale", "2"))


# ---- command-line and semantic errors -----------------------------------------------------------


class UsageErrorTests(CliTestCase):
    def setUp(self):
        super().setUp()
        self.src = self.write("in.npy", npy_bytes("<f4", (1, 1, 2, 2), [1, 2, 3, 4]))
        self.out = self.path("out.npy")

    def interp(self, *extra):
        return ["interpolate", self.src, self.out] + list(extra)

    def test_commands_and_options(self):
        self.assert_fails([], 2, "no command given")
        self.assert_fails(["frobnicate"], 2, "unknown command 'frobnicate'")
        self.assert_fails(["--frobnicate"], 2, "unknown option '--frobnicate'")
        self.assert_fails(["help", "frobnicate"], 2, "unknown command 'frobnicate'")
        self.assert_fails(["--version", "x"], 2, "unexpected argument")
        self.assert_fails(["info", "extra"], 2, "unexpected argument 'extra'")
        self.assert_fails(self.interp("--mode", "nearest", "--scale", "2", "--bogus"), 2,
                          "unknown option '--bogus'")
        self.assert_fails(self.interp("--mode", "nearest", "--scale", "2", "-x"), 2,
                          "unknown option '-x'")
        self.assert_fails(self.interp("--scale", "2"), 2, "missing required option --mode")
        self.assert_fails(["interpolate", self.src, "--mode", "nearest", "--scale", "2"], 2,
                          "missing argument OUT")
        self.assert_fails(["interpolate", "--mode", "nearest"], 2, "missing argument IN")
        self.assert_fails(self.interp("extra", "--mode", "nearest", "--scale", "2"), 2,
                          "unexpected argument 'extra'")
        self.assert_fails(self.interp("--mode", "nearest", "--scale", "2", "--scale", "3"), 2,
                          "more than once")
        self.assert_fails(self.interp("--mode", "nearest", "--scale", "2", "--antialias=1"), 2,
                          "takes no value")
        self.assert_fails(self.interp("--mode", "bogus", "--scale", "2"), 2,
                          "unknown interpolation mode 'bogus'")
        self.assert_fails(self.interp("--mode", "nearest", "--scale", "2", "--device", "gpu"), 2,
                          "--device")

    def test_missing_values(self):
        self.assert_fails(self.interp("--mode", "nearest", "--scale"), 2, "needs a value")
        self.assert_fails(self.interp("--mode", "nearest", "--size", "--scale", "2"), 2,
                          "--size needs a value")
        self.assert_fails(self.interp("--mode"), 2, "--mode needs a value")

    def test_malformed_numbers(self):
        for flag, value, contains in [
            ("--size", "2x", "expected an integer, got '2x'"),
            ("--size", "", "empty element"),
            ("--size", "2,,3", "empty element"),
            ("--size", "2,", "empty element"),
            ("--size", "-3", "non-negative"),
            ("--size", "2.5", "expected an integer"),
            ("--size", "nan", "expected an integer"),
            ("--size", "99999999999999999999", "out of range"),
            ("--scale", "nan", "expected a finite number, got 'nan'"),
            ("--scale", "inf", "expected a finite number"),
            ("--scale", "-inf", "expected a finite number"),
            ("--scale", "1e999", "out of range"),
            ("--scale", "2x", "expected a finite number"),
            ("--scale", "0x10", "expected a finite number"),
            ("--scale", "", "empty element"),
            ("--scale", ".", "expected a finite number"),
            ("--scale", "1e", "expected a finite number"),
        ]:
            with self.subTest(flag=flag, value=value):
                self.assert_fails(self.interp("--mode", "nearest", flag + "=" + value), 2,
                                  contains)
        for value in ["-1", "x", "", "100000"]:
            with self.subTest(threads=value):
                self.assert_fails(self.interp("--mode", "nearest", "--scale", "2",
                                              "--threads=" + value), 2, "--threads")

    def test_semantic_errors_use_pytorch_messages(self):
        cases = [
            (("--mode", "nearest", "--size", "4", "--scale", "2"),
             "only one of size or scale_factor should be defined"),
            (("--mode", "nearest"), "either size or scale_factor should be defined"),
            (("--mode", "nearest", "--scale", "2", "--align-corners"),
             "align_corners option can only be set with the interpolating modes"),
            (("--mode", "nearest", "--scale", "2", "--antialias"),
             "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes"),
            (("--mode", "nearest", "--size", "4", "--recompute-scale-factor"),
             "recompute_scale_factor is not meaningful with an explicit size"),
            (("--mode", "nearest", "--size", "4,4,4"),
             "Input and output must have the same number of spatial dimensions"),
            (("--mode", "nearest", "--scale", "2,2,2"),
             "Input and scale_factor must have the same number of spatial dimensions"),
            (("--mode", "nearest", "--size", "0"),
             "Input and output sizes should be greater than 0"),
            (("--mode", "nearest", "--scale", "0.1"),
             "Input and output sizes should be greater than 0"),
            (("--mode", "nearest", "--scale", "-2"),
             "Input and output sizes should be greater than 0"),
        ]
        for extra, contains in cases:
            with self.subTest(extra=extra):
                self.assert_fails(self.interp(*extra), 1, contains)

    def test_unwritable_output(self):
        ok = ("--mode", "nearest", "--scale", "2")
        self.assert_fails(["interpolate", self.src, self.path("no/such/dir/out.npy")] + list(ok),
                          1, "No such file or directory")
        os.mkdir(self.path("adir"))
        self.assert_fails(["interpolate", self.src, self.path("adir")] + list(ok), 1,
                          "is a directory")
        self.assert_fails(["interpolate", self.src, self.path("adir") + "/"] + list(ok), 1,
                          "is a directory")
        self.assertEqual(os.listdir(self.path("adir")), [])
        self.assert_fails(["interpolate", self.src, ""] + list(ok), 1, "empty")
        if os.geteuid() != 0:  # root writes anywhere
            os.mkdir(self.path("ro"))
            os.chmod(self.path("ro"), 0o500)
            self.addCleanup(os.chmod, self.path("ro"), 0o700)
            self.assert_fails(["interpolate", self.src, self.path("ro/out.npy")] + list(ok), 1,
                              "Permission denied")

    @unittest.skipIf(os.environ.get("UPS_TEST_SANITIZER"),
                     "sanitizer runtimes reserve terabytes and abort on huge allocations")
    def test_output_too_large_to_allocate(self):
        # 10 * 1e6 squared f32 elements: 400 TB, more than any address space.
        src = self.write("sq.npy", npy_bytes("<f4", (1, 1, 10, 10), [1] * 100))
        self.assert_fails(["interpolate", src, self.out, "--mode", "nearest", "--scale", "1e6"],
                          1, "out of memory: cannot allocate 400000000000000 bytes")

    def test_failing_op_leaves_no_temporary_file(self):
        # The output file is opened before the op runs; the op's failure must remove it.
        src = self.write("u8.npy", npy_bytes("|u1", (1, 1, 2, 2), [1, 2, 3, 4]))
        self.assert_fails(["interpolate", src, self.out, "--mode", "bicubic", "--scale", "2"], 1,
                          "does not support dtype u8")
        self.assertEqual(sorted(os.listdir(self.dir)), ["in.npy", "out.npy", "u8.npy"])


# ---- info, demo, help ---------------------------------------------------------------------------


class CommandTests(unittest.TestCase):
    def ok(self, args):
        r = run(args)
        self.assertEqual(r.returncode, 0, "ups %s: %s" % (args, r.stderr))
        self.assertEqual(r.stderr, "")
        return r.stdout

    def test_help(self):
        for args in (["--help"], ["-h"], ["help"]):
            out = self.ok(args)
            self.assertIn("usage: ups COMMAND", out)
            for command in ("interpolate", "conv-transpose", "info", "demo"):
                self.assertIn(command, out)
        for args in (["interpolate", "--help"], ["help", "interpolate"], ["interpolate", "-h"],
                     ["interpolate", "--bogus", "--help"]):
            out = self.ok(args)
            self.assertIn("usage: ups interpolate IN OUT --mode M", out)
            for option in ("--size", "--scale", "--align-corners", "--antialias",
                           "--recompute-scale-factor", "--device", "--threads"):
                self.assertIn(option, out)
        self.assertIn("usage: ups info", self.ok(["info", "--help"]))
        self.assertIn("usage: ups demo", self.ok(["demo", "--help"]))

    def test_version(self):
        out = self.ok(["--version"])
        self.assertRegex(out, r"^ups \d+\.\d+\.\d+\n$")
        self.assertEqual(self.ok(["-V"]), out)
        self.assertIn(out.split()[1], self.ok(["info"]))

    def test_info(self):
        out = self.ok(["info"])
        for key in ("build:", "CUDA devices:", "cuDNN:", "deterministic:", "CPU threads:"):
            self.assertIn(key, out)
        if "CUDA backend: no" in out:
            self.assertIn("CUDA devices:   0", out)
        if "cuDNN: no" in out:
            self.assertIn("not built with cuDNN", out)
        if "cuDNN: yes" in out:
            # The cuDNN loaded at run time next to the headers it was built with.
            self.assertRegex(out, r"cuDNN: +\d+\.\d+\.\d+ at build time; \d+\.\d+\.\d+ at run time, "
                                  r"built for CUDA \d+\.\d+")
            self.assertNotIn("mismatch:", out)
        env = dict(os.environ, UPS_DETERMINISTIC="1")
        r = subprocess.run([UPS, "info"], capture_output=True, text=True, timeout=60, env=env)
        self.assertIn("deterministic:  on", r.stdout)

    def test_demo(self):
        out = self.ok(["demo"])
        self.assertRegex(out, r"computed by ups on device (cpu|cuda)")
        # The interpolation sections; other sections belong to other ops' tests.
        sections = demo_sections(out)
        title, _, matrices = sections[1]
        self.assertIn("align_corners=True", title)
        self.assertEqual(len(matrices), 2)
        self.assertEqual(matrices[0], [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
        self.assertEqual(matrices[1], [[1, 1.5, 2, 2.5, 3], [2.5, 3, 3.5, 4, 4.5],
                                       [4, 4.5, 5, 5.5, 6], [5.5, 6, 6.5, 7, 7.5],
                                       [7, 7.5, 8, 8.5, 9]])
        title, _, matrices = sections[2]
        self.assertIn("align_corners=False", title)
        self.assertEqual(len(matrices), 2)
        self.assertEqual(matrices[0], [[1, 2], [3, 4]])
        self.assertEqual(matrices[1], [[1, 1.25, 1.75, 2], [1.5, 1.75, 2.25, 2.5],
                                       [2.5, 2.75, 3.25, 3.5], [3, 3.25, 3.75, 4]])
        self.assertIn("computed by ups on device cpu", self.ok(["demo", "--device", "cpu"]))

    def test_unwritable_stdout(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full")
        with open("/dev/full", "w") as full:
            r = subprocess.run([UPS, "--help"], stdout=full, stderr=subprocess.PIPE, text=True,
                               timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "ups: error: cannot write to standard output\n")


# ---- the table of interpolation modes ----------------------------------------------------------


class ModeTableTests(unittest.TestCase):
    """The Python-side mode lists against the library's table, as `ups info` prints it."""

    def test_every_mode_runs_under_its_name(self):
        with tempfile.TemporaryDirectory(prefix="ups-cli-test-") as d:
            for name, m in info_interpolate_modes().items():
                for rank in m["ranks"]:
                    with self.subTest(mode=name, rank=rank):
                        shape = (1, 1) + (3,) * (rank - 2)
                        src = os.path.join(d, "in.npy")
                        with open(src, "wb") as f:
                            f.write(npy_bytes("<f4", shape, sample_values(prod(shape))))
                        # lanczos requires antialias.
                        aa = ["--antialias"] if name == "lanczos" else []
                        r = run(["interpolate", src, os.path.join(d, "out.npy"), "--mode", name,
                                 "--size", "2"] + aa)
                        self.assertEqual(r.returncode, 0, r.stderr)
                        self.assertEqual(read_npy(os.path.join(d, "out.npy"))[1],
                                         (1, 1) + (2,) * (rank - 2))
        help_text = run(["interpolate", "--help"]).stdout
        for name in info_interpolate_modes():
            self.assertIn(name, help_text)

    def test_gen_golden_agrees_with_the_library(self):
        # scripts/gen_golden.py keeps its own MODE_TRAITS (it runs without ups); a mode added,
        # removed or changed on one side only must fail here.
        path = os.path.join(REPO, "scripts", "gen_golden.py")
        traits = python_literal(path, "MODE_TRAITS")
        float_dtypes = python_literal(path, "FLOAT_DTYPES")
        # The modes on the resampling engine have goldens of their own
        # (scripts/gen_golden_engine.py), and ups adds antialias to trilinear.
        modes = {k: v for k, v in info_interpolate_modes().items()
                 if k not in ("lanczos", "tricubic")}
        modes["trilinear"] = dict(modes["trilinear"], antialias=False)
        self.assertEqual(sorted(traits), sorted(modes), "modes of %s vs ups info" % path)
        for name, t in traits.items():
            if name not in modes:
                continue
            m = modes[name]
            with self.subTest(mode=name):
                self.assertEqual([s + 2 for s in t["spatial"]], m["ranks"])
                self.assertEqual(t["align_corners"], m["align_corners"])
                self.assertEqual(t["antialias"], m["antialias"])
                self.assertEqual(sorted(float_dtypes + (["u8"] if t["u8"] else [])),
                                 sorted(m["dtypes"]))

    def test_reference_cases_cover_every_mode(self):
        modes = info_interpolate_modes()
        covered = {mode for mode, _, _, _ in REFERENCE_CASES}
        self.assertEqual(sorted(covered), sorted(modes))
        for mode, shape, extra, _ in REFERENCE_CASES:
            with self.subTest(mode=mode, shape=shape):
                self.assertIn(len(shape), modes[mode]["ranks"])
                if "--align-corners" in extra:
                    self.assertTrue(modes[mode]["align_corners"])
                if "--antialias" in extra:
                    self.assertTrue(modes[mode]["antialias"])


def main():
    global UPS
    if len(sys.argv) < 2:
        sys.exit("usage: test_cli.py PATH_TO_UPS [unittest arguments]")
    UPS = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)


if __name__ == "__main__":
    main()
