#!/usr/bin/env python3
"""Regenerates tests/golden/onnx_resize.txt: ONNX Resize cases for ups::resize.

The oracle is ONNX's own reference implementation (onnx.reference.ReferenceEvaluator running a
one-node Resize model, opset 19 semantics). Every case is also computed by an independent
transcription of the specification's text (spec_resize below: dense per-dim weight matrices
written from the operator documentation, not from the reference's code). Where the two
disagree, the case follows the specification, is marked `source=spec` with the reason, and the
reason is listed in the file's header; docs/semantics.md ("ONNX Resize") explains each kind.

Usage: /root/benchenv/bin/python scripts/gen_golden_onnx_resize.py [--out FILE]
(needs onnx and numpy; dev-only). The output is deterministic: inputs come from seeds derived
from the case ids (zlib.crc32), and the values are multiples of 1/16 below 8 in magnitude (u8:
integers), exact in f16 and bf16 too.

Format: three lines per case.
  case id=... mode=M coord=C nearest=N|- cubic_a=A|- exclude=0|1 antialias=0|1 dtype=D
       in_shape=S sizes=..|- scales=..|- axes=..|- roi=..|- extrapolation=V|- policy=P
       out_shape=S source=ref|spec [why=...]
  in V V V ...     the input in C order
  out V V V ...    the expected output in C order
Scales, cubic_a and extrapolation are given as ONNX passes them (float32) and written as the
exact binary64 value of that float32 (Python repr). f32 cases carry the reference's f32 output
(shortest round-trip digits); f64, f16 and bf16 cases carry the binary64 result for the exact
input values (f16 and bf16 runs compare with the 16-bit type's tolerance), u8 cases the
reference's u8 output.
"""

import argparse
import math
import os
import sys
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

OPSET = 19
COORDS = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
          "asymmetric", "tf_crop_and_resize"]
NEAREST_MODES = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]


def f32(v):
    """The binary64 value of v rounded to float32 (how ONNX passes float attributes/scales)."""
    return float(np.float32(v))


# ---------------------------------------------------------------------------------------------
# The specification, transcribed independently of the reference implementation.
# ---------------------------------------------------------------------------------------------

def keys_cubic(d, a):
    d = abs(d)
    if d <= 1:
        return (a + 2) * d ** 3 - (a + 3) * d ** 2 + 1
    if d < 2:
        return a * d ** 3 - 5 * a * d ** 2 + 8 * a * d - 4 * a
    return 0.0


def spec_coordinate(coord, xr, length_original, length_resized, scale, output_width,
                    start, end):
    if coord == "half_pixel":
        return (xr + 0.5) / scale - 0.5
    if coord == "half_pixel_symmetric":
        adjustment = length_resized / output_width
        center = length_original / 2
        offset = center * (1 - adjustment)
        return offset + (xr + 0.5) / scale - 0.5
    if coord == "pytorch_half_pixel":
        return (xr + 0.5) / scale - 0.5 if length_resized > 1 else 0.0
    if coord == "align_corners":
        # The formula divides by length_resized - 1; a length of 1 samples coordinate 0.
        return 0.0 if length_resized == 1 else xr * (length_original - 1) / (length_resized - 1)
    if coord == "asymmetric":
        return xr / scale
    if coord == "tf_crop_and_resize":
        if length_resized > 1:
            return (start * (length_original - 1)
                    + xr * (end - start) * (length_original - 1) / (length_resized - 1))
        return 0.5 * (start + end) * (length_original - 1)
    raise ValueError(coord)


def spec_matrix(n_in, n_out, scale, output_width, c):
    """The (n_out, n_in) weights of one resized dim and its extrapolation mask."""
    m = np.zeros((n_out, n_in))
    outside = np.zeros(n_out, dtype=bool)
    for o in range(n_out):
        x = spec_coordinate(c["coord"], o, n_in, n_out, scale, output_width, c["start"],
                            c["end"])
        if c["coord"] == "tf_crop_and_resize" and (x < 0 or x > n_in - 1):
            outside[o] = True
            continue
        if c["mode"] == "nearest":
            fl = math.floor(x)
            frac = x - fl
            nm = c["nearest"] or "round_prefer_floor"
            if frac == 0:
                i = fl
            elif nm == "round_prefer_floor":
                i = fl + 1 if frac > 0.5 else fl
            elif nm == "round_prefer_ceil":
                i = fl + 1 if frac >= 0.5 else fl
            elif nm == "floor":
                i = fl
            else:
                i = fl + 1
            m[o, min(max(i, 0), n_in - 1)] = 1.0
            continue
        # Linear / cubic: the kernel, stretched by max(1, 1 / scale) with antialias, evaluated
        # at every integer j within its support around x.
        support = 1.0 if c["mode"] == "linear" else 2.0
        stretch = max(1.0, 1.0 / scale) if c["antialias"] else 1.0
        if c["mode"] == "linear":
            kern = lambda d: max(0.0, 1.0 - abs(d))  # noqa: E731
        else:
            kern = lambda d: keys_cubic(d, c["cubic_a"])  # noqa: E731
        lo = math.floor(x - support * stretch) - 1
        hi = math.ceil(x + support * stretch) + 1
        js = [j for j in range(lo, hi + 1) if abs(j - x) / stretch < support]
        ws = [kern((j - x) / stretch) for j in js]
        if c["antialias"]:
            total = sum(ws)
            ws = [w / total for w in ws]
        if c["exclude"]:
            ws = [0.0 if (j < 0 or j >= n_in) else w for j, w in zip(js, ws)]
            total = sum(ws)
            if total != 0:
                ws = [w / total for w in ws]
        for j, w in zip(js, ws):
            m[o, min(max(j, 0), n_in - 1)] += w
    return m, outside


def spec_geometry(in_shape, c):
    """Per dim: (out, scale, output_width, start, end), or None for dims left alone."""
    r = len(in_shape)
    axes = [a % r for a in c["axes"]] if c["axes"] is not None else list(range(r))
    n = len(axes)
    dims = [None] * r
    if c["sizes"] is not None:
        if c["policy"] == "stretch":
            for i, d in enumerate(axes):
                o = c["sizes"][i]
                dims[d] = (o, o / in_shape[d], float(o))
        else:
            ratios = [c["sizes"][i] / in_shape[d] for i, d in enumerate(axes)]
            s = min(ratios) if c["policy"] == "not_larger" else max(ratios)
            for d in axes:
                dims[d] = (math.floor(s * in_shape[d] + 0.5), s, s * in_shape[d])
    else:
        for i, d in enumerate(axes):
            s = c["scales"][i]
            # floor(input_dimension * scale): the operator's text multiplies by
            # (roi_end - roi_start) too, but its own shape inference does not, nor do the
            # reference and ONNX Runtime; ups follows the shape inference (docs/semantics.md).
            dims[d] = (math.floor(in_shape[d] * s), s, in_shape[d] * s)
    out = []
    for d in range(r):
        if dims[d] is None:
            out.append(None)
            continue
        i = axes.index(d)
        start, end = (c["roi"][i], c["roi"][n + i]) if c["roi"] is not None else (0.0, 1.0)
        out.append(dims[d] + (start, end))
    return out


def spec_resize(x, c):
    x = x.astype(np.float64)
    geo = spec_geometry(x.shape, c)
    mask = np.zeros((), dtype=bool)
    y = x
    for d, g in enumerate(geo):
        if g is None:
            continue
        n_out, scale, width, start, end = g
        m, outside = spec_matrix(x.shape[d], n_out, scale, width, dict(c, start=start, end=end))
        y = np.moveaxis(np.tensordot(m, np.moveaxis(y, d, 0), axes=(1, 0)), 0, d)
        shape = [1] * x.ndim
        shape[d] = n_out
        mask = mask | outside.reshape(shape)
    return np.where(mask, c["extrapolation"] if c["extrapolation"] is not None else 0.0, y)


# ---------------------------------------------------------------------------------------------
# ONNX's reference implementation.
# ---------------------------------------------------------------------------------------------

NP_TYPES = {np.float32: TensorProto.FLOAT, np.float64: TensorProto.DOUBLE,
            np.float16: TensorProto.FLOAT16, np.uint8: TensorProto.UINT8}


def resize_model(x, c, roi_type=TensorProto.DOUBLE):
    """A one-node Resize model of case c for input x, and its feeds."""
    attrs = {"mode": c["mode"], "coordinate_transformation_mode": c["coord"]}
    if c["nearest"] is not None:
        attrs["nearest_mode"] = c["nearest"]
    if c["cubic_a"] is not None:
        attrs["cubic_coeff_a"] = c["cubic_a"]
    if c["exclude"]:
        attrs["exclude_outside"] = 1
    if c["antialias"]:
        attrs["antialias"] = 1
    if c["extrapolation"] is not None:
        attrs["extrapolation_value"] = c["extrapolation"]
    if c["axes"] is not None:
        attrs["axes"] = c["axes"]
    if c["policy"] != "stretch":
        attrs["keep_aspect_ratio_policy"] = c["policy"]
    feeds = {"X": x}
    inputs = ["X", "", "", ""]
    vis = [helper.make_tensor_value_info("X", NP_TYPES[x.dtype.type], None)]
    if c["roi"] is not None:
        inputs[1] = "roi"
        feeds["roi"] = np.array(c["roi"], dtype=helper.tensor_dtype_to_np_dtype(roi_type))
        vis.append(helper.make_tensor_value_info("roi", roi_type, None))
    if c["scales"] is not None:
        inputs[2] = "scales"
        feeds["scales"] = np.array(c["scales"], dtype=np.float32)
        vis.append(helper.make_tensor_value_info("scales", TensorProto.FLOAT, None))
    if c["sizes"] is not None:
        inputs[3] = "sizes"
        feeds["sizes"] = np.array(c["sizes"], dtype=np.int64)
        vis.append(helper.make_tensor_value_info("sizes", TensorProto.INT64, None))
    while inputs[-1] == "":
        inputs.pop()
    node = helper.make_node("Resize", inputs, ["Y"], **attrs)
    graph = helper.make_graph([node], "resize", vis,
                              [helper.make_tensor_value_info("Y", NP_TYPES[x.dtype.type], None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    return model, feeds


def reference_resize(x, c):
    model, feeds = resize_model(x, c)
    return ReferenceEvaluator(model).run(None, feeds)[0]


def ort_agrees(x, c, spec, ref, tol):
    """For a case where the reference and the specification disagree: which one ONNX Runtime's
    CPU provider agrees with (spec, ref, neither or fails), or None without onnxruntime.
    Informative only (the header's summary); ORT takes a float32 roi."""
    try:
        import onnxruntime
    except ImportError:
        return None
    model, feeds = resize_model(x, c, TensorProto.FLOAT)
    model.ir_version = min(model.ir_version, 9)
    onnxruntime.set_default_logger_severity(4)  # its refusals are counted, not printed
    try:
        opts = onnxruntime.SessionOptions()
        opts.log_severity_level = 4
        sess = onnxruntime.InferenceSession(model.SerializeToString(), opts,
                                            providers=["CPUExecutionProvider"])
        out = sess.run(None, feeds)[0].astype(np.float64)
    except Exception:  # noqa: BLE001
        return "fails"
    if out.shape == spec.shape and np.allclose(out, spec, rtol=tol, atol=tol):
        return "spec"
    if ref is not None and out.shape == ref.shape and np.allclose(out, ref, rtol=tol, atol=tol):
        return "ref"
    return "neither"


# ---------------------------------------------------------------------------------------------
# Cases.
# ---------------------------------------------------------------------------------------------

def classify(why, in_shape, c):
    """Names the kind of a disagreement (docs/semantics.md lists each)."""
    if why.startswith("reference-fails") and c["axes"] and min(c["axes"]) < 0:
        return "negative-axes"  # the reference cannot transpose by negative axes
    if why == "precision":
        return "cubic-f32-weights"  # the reference's cubic weights are float32
    if c["scales"] is not None:
        r = len(in_shape)
        axes = [a % r for a in c["axes"]] if c["axes"] is not None else list(range(r))
        widths = [in_shape[d] * s for d, s in zip(axes, c["scales"])]
        if c["coord"] == "pytorch_half_pixel" and any(
                math.floor(wd) == 1 for wd in widths):
            return "pytorch-half-pixel-length-1"  # -0.5 or the general formula, not 0
        if c["coord"] in ("align_corners", "tf_crop_and_resize") and any(
                wd != math.floor(wd) for wd in widths):
            return "fractional-length"  # divides by in * scale - 1, not length_resized - 1
    if c["coord"] == "pytorch_half_pixel":
        return "pytorch-half-pixel-length-1"
    return "other-" + why


def fmt_list(v, conv=repr):
    return "-" if v is None else ",".join(conv(e) for e in v)


class Writer:
    def __init__(self):
        self.lines = []
        self.count = 0
        self.disagreements = {}  # reason -> case ids
        self.ort = {}  # reason -> {ORT's verdict: count}

    def add(self, mode, in_shape, dtype="f32", coord="half_pixel", nearest=None, cubic_a=None,
            exclude=False, antialias=False, sizes=None, scales=None, axes=None, roi=None,
            extrapolation=None, policy="stretch", tag=""):
        self.count += 1
        cid = f"{self.count:04d}-{mode}-{coord}-r{len(in_shape)}-{dtype}" + (f"-{tag}" if tag
                                                                            else "")
        c = dict(mode=mode, coord=coord, nearest=nearest,
                 cubic_a=None if cubic_a is None else f32(cubic_a), exclude=exclude,
                 antialias=antialias, sizes=sizes,
                 scales=None if scales is None else [f32(s) for s in scales], axes=axes,
                 roi=roi, extrapolation=None if extrapolation is None else f32(extrapolation),
                 policy=policy)
        spec_c = dict(c, cubic_a=-0.75 if cubic_a is None else c["cubic_a"])
        rng = np.random.default_rng(zlib.crc32(cid.encode()))
        if dtype == "u8":
            x = rng.integers(0, 256, size=in_shape).astype(np.uint8)
        else:
            x = rng.integers(-127, 128, size=in_shape).astype(np.float64) / 16.0
        run_dtype = {"f32": np.float32, "f64": np.float64, "f16": np.float64,
                     "bf16": np.float64, "u8": np.uint8}[dtype]
        xin = x.astype(run_dtype)
        spec = spec_resize(x, spec_c)
        why = None
        try:
            ref = reference_resize(xin, c).astype(np.float64)
        except Exception as e:  # noqa: BLE001
            ref, why = None, f"reference-fails:{type(e).__name__}"
        if ref is not None:
            if ref.shape != spec.shape:
                why = "output-shape"
            else:
                want = spec
                if dtype == "f32":
                    want = spec.astype(np.float32).astype(np.float64)
                elif dtype == "u8":
                    want = np.clip(np.rint(spec), 0, 255)
                tol = {"f32": 2e-6, "u8": 0.0}.get(dtype, 1e-12)
                if not np.allclose(ref, want, rtol=tol, atol=tol * 8):
                    # The reference evaluates cubic weights in float32 (cubic_coeff_a is a
                    # float32 attribute, and NumPy keeps float32 arithmetic with Python
                    # floats), an error of about 1e-7 that f64 outputs reveal.
                    close = np.allclose(ref, want, rtol=1e-5, atol=1e-4)
                    why = "precision" if close and mode == "cubic" else "values"
        if why is None:
            expected, source = ref, "ref"
        else:
            if dtype == "f32":
                expected = spec.astype(np.float32).astype(np.float64)
            elif dtype == "u8":
                expected = np.clip(np.rint(spec), 0, 255)
            else:
                expected = spec
            source = "spec"
            why = classify(why, in_shape, c)
            self.disagreements.setdefault(why, []).append(cid)
            if dtype in ("f32", "f64"):
                verdict = ort_agrees(xin, c, spec, ref, 1e-4)
                if verdict is not None:
                    counts = self.ort.setdefault(why, {})
                    counts[verdict] = counts.get(verdict, 0) + 1
        if dtype == "f32":
            out_vals = " ".join(str(np.float32(v)) for v in expected.ravel())
        elif dtype == "u8":
            out_vals = " ".join(str(int(v)) for v in expected.ravel())
        else:
            out_vals = " ".join(repr(float(v)) for v in expected.ravel())
        in_vals = " ".join((str(int(v)) if dtype == "u8" else repr(float(v))) for v in
                           x.ravel())
        head = (f"case id={cid} mode={mode} coord={coord} nearest={nearest or '-'} "
                f"cubic_a={'-' if cubic_a is None else repr(c['cubic_a'])} "
                f"exclude={int(exclude)} antialias={int(antialias)} dtype={dtype} "
                f"in_shape={fmt_list(in_shape, str)} sizes={fmt_list(sizes, str)} "
                f"scales={fmt_list(c['scales'])} axes={fmt_list(axes, str)} "
                f"roi={fmt_list(roi)} "
                f"extrapolation={'-' if extrapolation is None else repr(c['extrapolation'])} "
                f"policy={policy} out_shape={fmt_list(expected.shape, str)} source={source}")
        if why is not None:
            head += f" why={why}"
        self.lines += [head, "in " + in_vals, "out " + out_vals]


def roi_for(rank, axes=None, lo=0.1, hi=0.85):
    n = rank if axes is None else len(axes)
    starts = [lo + 0.05 * i for i in range(n)]
    ends = [hi - 0.05 * i for i in range(n)]
    return starts + ends


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests",
                                                  "golden", "onnx_resize.txt"))
    args = ap.parse_args()
    w = Writer()

    # Rank 3 to 5 (1-D to 3-D spatial), with N and C left alone (scale 1), upscales by
    # non-integer factors, downscales, and sizes. Alternating f32 / f64.
    geoms = [
        ("up1d", (1, 2, 5), dict(scales=[1.0, 1.0, 1.7])),
        ("down2d", (1, 2, 9, 7), dict(scales=[1.0, 1.0, 0.6, 0.45])),
        ("sizes2d", (2, 1, 4, 6), dict(sizes=[2, 1, 7, 4])),
        ("mixed3d", (1, 1, 3, 5, 4), dict(scales=[1.0, 1.0, 1.5, 0.7, 2.25])),
        ("sizes3d", (1, 1, 4, 3, 5), dict(sizes=[1, 1, 2, 5, 3])),
    ]

    def with_roi(coord, kw, rank):
        if coord != "tf_crop_and_resize":
            return kw
        return dict(kw, roi=[0.0] * 2 + [0.1 + 0.07 * i for i in range(rank - 2)]
                    + [1.0] * 2 + [0.9 - 0.06 * i for i in range(rank - 2)]
                    if "scales" not in kw else
                    [0.0] * rank + [1.0] * rank)

    # Nearest: every coordinate mode x nearest mode x geometry.
    k = 0
    for coord in COORDS:
        for nm in NEAREST_MODES:
            for tag, shape, kw in geoms:
                k += 1
                w.add("nearest", shape, dtype="f32" if k % 2 else "f64", coord=coord, nearest=nm,
                      tag=tag, **with_roi(coord, kw, len(shape)))
    # The default nearest_mode (unset).
    for coord in COORDS:
        w.add("nearest", (1, 1, 7, 5), coord=coord, tag="default-nearest",
              **with_roi(coord, dict(scales=[1.0, 1.0, 1.6, 0.75]), 4))

    # Linear and cubic: every coordinate mode x geometry x exclude_outside; cubic with
    # several coefficients.
    for mode, coeffs in (("linear", [None]), ("cubic", [None, -0.5, -0.6])):
        for coord in COORDS:
            for a in coeffs:
                for exclude in (False, True):
                    for tag, shape, kw in geoms:
                        k += 1
                        w.add(mode, shape, dtype="f32" if k % 2 else "f64", coord=coord,
                              cubic_a=a, exclude=exclude, tag=tag,
                              **with_roi(coord, kw, len(shape)))

    # Antialias (linear, cubic) under every coordinate mode, downscales and an upscale dim,
    # with and without exclude_outside.
    for mode in ("linear", "cubic"):
        for coord in COORDS:
            for exclude in (False, True):
                for tag, shape, kw in [
                    ("aa-down2d", (1, 2, 11, 9), dict(scales=[1.0, 1.0, 0.4, 0.7])),
                    ("aa-sizes2d", (1, 1, 12, 5), dict(sizes=[1, 1, 5, 8])),
                    ("aa-down3d", (1, 1, 6, 7, 8), dict(scales=[1.0, 1.0, 0.5, 0.3, 1.25])),
                ]:
                    k += 1
                    w.add(mode, shape, dtype="f32" if k % 2 else "f64", coord=coord,
                          exclude=exclude, antialias=True, tag=tag,
                          **with_roi(coord, kw, len(shape)))
        w.add(mode, (1, 1, 40), antialias=True, scales=[1.0, 1.0, 0.13], tag="aa-strong")
        w.add(mode, (1, 1, 40), antialias=True, exclude=True, scales=[1.0, 1.0, 0.13],
              tag="aa-strong-excl")

    # Output sizes of 1 (and inputs of 1) under every coordinate mode and mode.
    for mode in ("nearest", "linear", "cubic"):
        for coord in COORDS:
            roi = [0.0, 0.0, 0.2, 1.0, 1.0, 0.7] if coord == "tf_crop_and_resize" else None
            w.add(mode, (1, 2, 7), coord=coord, sizes=[1, 2, 1], roi=roi, tag="size1")
            w.add(mode, (1, 2, 7), coord=coord, dtype="f64", scales=[1.0, 1.0, 0.2],
                  roi=None if roi is None else [0.0, 0.0, 0.0, 1.0, 1.0, 1.0], tag="scale-to-1")
            w.add(mode, (1, 1, 1), coord=coord, sizes=[1, 1, 4],
                  roi=None if roi is None else [0.0, 0.0, 0.0, 1.0, 1.0, 1.0], tag="from1")

    # Scales whose target length is fractional (in * scale not an integer), where
    # half_pixel_symmetric differs from half_pixel, and the same through sizes.
    for mode in ("nearest", "linear", "cubic"):
        for coord in ("half_pixel", "half_pixel_symmetric", "align_corners", "asymmetric",
                      "pytorch_half_pixel"):
            w.add(mode, (1, 1, 5, 7), coord=coord, scales=[1.0, 1.0, 1.3, 0.55], tag="frac")
            w.add(mode, (1, 1, 5, 7), coord=coord, sizes=[1, 1, 6, 3], tag="frac-sizes")

    # keep_aspect_ratio_policy with sizes, with and without axes.
    for mode in ("nearest", "linear", "cubic"):
        for policy in ("stretch", "not_larger", "not_smaller"):
            w.add(mode, (1, 1, 6, 9), sizes=[1, 1, 8, 10], policy=policy, tag="policy")
            w.add(mode, (1, 2, 5, 8), dtype="f64", sizes=[3, 7], axes=[2, 3], policy=policy,
                  tag="policy-axes")
            w.add(mode, (2, 7, 3), sizes=[4, 5], axes=[-1, 1], policy=policy,
                  coord="asymmetric", tag="policy-axes-neg")

    # Axes: subsets, any order, negative values, resizing N or C.
    for mode in ("nearest", "linear", "cubic"):
        w.add(mode, (1, 2, 5, 6), scales=[1.6, 0.5], axes=[2, 3], tag="axes-hw")
        w.add(mode, (1, 2, 5, 6), scales=[0.5, 1.6], axes=[3, 2], tag="axes-wh")
        w.add(mode, (1, 2, 5, 6), dtype="f64", sizes=[9], axes=[-1], tag="axes-last")
        w.add(mode, (3, 2, 4), scales=[1.7], axes=[0], tag="axes-n")
        w.add(mode, (2, 5, 3), sizes=[3], axes=[1], coord="align_corners", tag="axes-c")
        w.add(mode, (2, 3, 4), scales=[1.5, 2.0, 0.75], coord="asymmetric", tag="all-nc")

    # Ranks 1 and 2: Resize has no batch or channel dims.
    for mode in ("nearest", "linear", "cubic"):
        w.add(mode, (6,), scales=[1.75], tag="rank1")
        w.add(mode, (5,), dtype="f64", sizes=[3], coord="align_corners", tag="rank1-sizes")
        w.add(mode, (4, 5), scales=[1.5, 0.8], tag="rank2")
        w.add(mode, (4, 5), sizes=[7, 2], coord="pytorch_half_pixel", tag="rank2-sizes")

    # tf_crop_and_resize: regions partly outside the input, extrapolation values, crops with
    # scales (whose output size includes the roi's extent), axes.
    for mode in ("nearest", "linear", "cubic"):
        for extrap in (None, -1.5, 7.25):
            w.add(mode, (1, 1, 6, 5), coord="tf_crop_and_resize", sizes=[1, 1, 7, 6],
                  roi=[0, 0, -0.2, 0.1, 1, 1, 1.3, 0.8], extrapolation=extrap, tag="roi-out")
        w.add(mode, (1, 1, 8, 6), coord="tf_crop_and_resize", scales=[1.0, 1.0, 1.5, 2.0],
              roi=[0, 0, 0.2, 0.25, 1, 1, 0.8, 0.75], tag="roi-scales")
        w.add(mode, (1, 1, 8, 6), coord="tf_crop_and_resize", scales=[1.0, 1.0, 1.5, 2.0],
              roi=[0, 0, 0, 0, 1, 1, 1, 1], tag="roi-scales-full")
        w.add(mode, (1, 2, 6, 7), coord="tf_crop_and_resize", sizes=[4, 9], axes=[3, 2],
              roi=[0.3, -0.1, 0.9, 0.6], extrapolation=2.5, tag="roi-axes")
        w.add(mode, (1, 1, 4, 5, 6), coord="tf_crop_and_resize", dtype="f64",
              sizes=[1, 1, 3, 6, 4], roi=[0, 0, 0.1, -0.3, 0.2, 1, 1, 0.7, 1.2, 1.0],
              extrapolation=-3.0, tag="roi-3d")
        w.add(mode, (1, 1, 6, 5), coord="tf_crop_and_resize", sizes=[1, 1, 5, 4],
              roi=[0, 0, 0.9, 0.8, 1, 1, 0.1, 0.2], extrapolation=1.0, tag="roi-flipped")
    w.add("linear", (1, 1, 9, 8), coord="tf_crop_and_resize", sizes=[1, 1, 4, 3],
          roi=[0, 0, 0.1, 0.2, 1, 1, 0.9, 0.7], antialias=True, tag="roi-aa")
    w.add("cubic", (1, 1, 9, 8), coord="tf_crop_and_resize", sizes=[1, 1, 4, 3], exclude=True,
          roi=[0, 0, -0.1, 0.2, 1, 1, 0.9, 1.1], antialias=True, tag="roi-aa-excl")

    # Empty outputs (a scale that floors to 0, sizes of 0).
    w.add("linear", (1, 2, 3), scales=[1.0, 1.0, 0.3], tag="empty-scale")
    w.add("nearest", (1, 2, 3), sizes=[1, 0, 3], tag="empty-sizes")

    # f16, bf16 (linear, cubic, nearest) and u8 (nearest).
    for dtype in ("f16", "bf16"):
        w.add("linear", (1, 2, 6, 5), dtype=dtype, scales=[1.0, 1.0, 1.5, 0.6], tag="half")
        w.add("cubic", (1, 2, 6, 5), dtype=dtype, scales=[1.0, 1.0, 1.5, 0.6], tag="half")
        w.add("cubic", (1, 1, 10, 9), dtype=dtype, scales=[1.0, 1.0, 0.5, 0.7], antialias=True,
              tag="half-aa")
        w.add("nearest", (1, 2, 6, 5), dtype=dtype, coord="asymmetric", nearest="floor",
              scales=[1.0, 1.0, 1.5, 0.6], tag="half")
        w.add("linear", (1, 1, 3, 4, 5), dtype=dtype, coord="tf_crop_and_resize",
              sizes=[1, 1, 4, 3, 6], roi=[0, 0, -0.1, 0.1, 0, 1, 1, 1, 0.9, 1.2],
              extrapolation=0.5, tag="half-roi")
    for coord in COORDS:
        w.add("nearest", (1, 3, 5, 4), dtype="u8", coord=coord, nearest="round_prefer_ceil",
              **with_roi(coord, dict(scales=[1.0, 1.0, 1.7, 0.75]), 4), tag="u8")
    w.add("nearest", (2, 6), dtype="u8", sizes=[3, 13], coord="tf_crop_and_resize",
          roi=[0, -0.2, 1, 1.1], extrapolation=200, tag="u8-roi")

    header = [
        "# ups::resize golden cases (ONNX Resize), generated by "
        "scripts/gen_golden_onnx_resize.py.",
        f"# onnx={onnx.__version__} numpy={np.__version__} opset={OPSET}. Expected outputs come "
        "from onnx.reference (source=ref),",
        "# except where the reference disagrees with the specification's text (source=spec: "
        "the specification, transcribed",
        "# independently in the generator). Disagreements (docs/semantics.md, ONNX Resize):",
    ]
    for reason, ids in sorted(w.disagreements.items()):
        ort = ", ".join(f"{k} {v}" for k, v in sorted(w.ort.get(reason, {}).items()))
        header.append(f"#   {reason}: {len(ids)} cases, e.g. {ids[0]}"
                      + (f"; ONNX Runtime agrees with: {ort}" if ort else ""))
    text = "\n".join(header + w.lines) + "\n"
    with open(args.out, "w", encoding="ascii") as f:
        f.write(text)
    print(f"{w.count} cases, {len(text)} bytes, "
          f"{sum(len(v) for v in w.disagreements.values())} follow the specification",
          file=sys.stderr)
    for reason, ids in sorted(w.disagreements.items()):
        print(f"  {reason}: {len(ids)} {w.ort.get(reason)}: {' '.join(ids)}", file=sys.stderr)


if __name__ == "__main__":
    main()
