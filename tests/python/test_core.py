"""The framework-neutral ups package: NumPy in, NumPy out for every op; arrays of the input's
kind; layouts; errors with the C++ message; settings; the type stubs."""

import ast
import inspect
import pathlib
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import ups

RNG = np.random.default_rng(12)
NP_DTYPES = [np.float32, np.float64, np.float16, np.uint8, np.int32, np.int64]


def rand(shape, dtype=np.float32):
    if np.issubdtype(dtype, np.floating):
        return RNG.standard_normal(shape).astype(dtype)
    return RNG.integers(0, 100, shape).astype(dtype)


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def check(got, want, rtol=1e-5, atol=1e-5):
    assert isinstance(got, np.ndarray)
    want = want.detach().numpy()
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=rtol,
                               atol=atol)


@pytest.mark.parametrize("mode,shape,kwargs", [
    ("nearest", (2, 3, 5), dict(scale_factor=2.5)),
    ("nearest-exact", (1, 2, 4, 5), dict(size=(7, 3))),
    ("linear", (2, 2, 6), dict(size=9, align_corners=True)),
    ("bilinear", (1, 3, 5, 6), dict(scale_factor=(1.5, 0.75))),
    ("bilinear", (1, 3, 9, 10), dict(size=4, antialias=True)),
    ("bicubic", (2, 1, 5, 5), dict(scale_factor=2, align_corners=False)),
    ("trilinear", (1, 2, 3, 4, 5), dict(scale_factor=2, recompute_scale_factor=True)),
    ("area", (1, 2, 9, 7), dict(size=(4, 3))),
])
def test_interpolate_numpy(mode, shape, kwargs):
    x = rand(shape)
    check(ups.interpolate(x, mode=mode, **kwargs), F.interpolate(t(x), mode=mode, **kwargs))
    xt = t(x).requires_grad_()
    y = F.interpolate(xt, mode=mode, **kwargs)
    g = rand(tuple(y.shape))
    (want,) = torch.autograd.grad(y, xt, t(g))
    got = ups.interpolate_backward(g, shape, mode=mode, **kwargs)
    check(got, want)


@pytest.mark.parametrize("dtype", NP_DTYPES, ids=lambda d: np.dtype(d).name)
def test_nearest_every_numpy_dtype(dtype):
    x = rand((1, 2, 3, 4), dtype)
    if dtype in (np.int32, np.int64):
        with pytest.raises(ups.Error, match="does not support dtype"):
            ups.interpolate(x, scale_factor=2)
        return
    got = ups.interpolate(x, scale_factor=2)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, x.repeat(2, axis=2).repeat(2, axis=3))


def test_conv_transpose_numpy():
    x, w, b = rand((2, 4, 5, 6)), rand((4, 3, 3, 2)), rand((6,))
    kwargs = dict(stride=(2, 1), padding=1, output_padding=(1, 0), groups=2, dilation=1)
    check(ups.conv_transpose(x, w, b, **kwargs), F.conv_transpose2d(t(x), t(w), t(b), **kwargs))
    got = ups.conv_transpose(x, w, b, stride=2, padding=1, groups=2, output_size=(10, 11))
    want = torch.nn.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1, groups=2)
    with torch.no_grad():
        want.weight.copy_(t(w))
        want.bias.copy_(t(b))
        check(got, want(t(x), output_size=[10, 11]))


def test_conv_transpose_backward_numpy():
    x, w = rand((2, 4, 5, 6)), rand((4, 3, 3, 2))
    xt, wt, bt = t(x).requires_grad_(), t(w).requires_grad_(), torch.zeros(6, requires_grad=True)
    y = F.conv_transpose2d(xt, wt, bt, stride=2, padding=1, groups=2)
    g = rand(tuple(y.shape))
    want = torch.autograd.grad(y, (xt, wt, bt), t(g))
    got = ups.conv_transpose_backward(g, x, w, stride=2, padding=1, groups=2)
    for a, e in zip(got, want):
        check(a, e, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", NP_DTYPES, ids=lambda d: np.dtype(d).name)
def test_pool_unpool_numpy(dtype):
    x = rand((2, 3, 7, 6), dtype)
    kwargs = dict(kernel_size=3, stride=2, padding=1)
    values, indices = ups.max_pool(x, **kwargs, ceil_mode=True)
    want_values, want_indices = F.max_pool2d(t(x), **kwargs, ceil_mode=True, return_indices=True)
    check(values, want_values)
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(indices, want_indices.numpy())
    unpooled = ups.max_unpool(values, indices, **kwargs, output_size=(7, 6))
    expected = F.max_unpool2d(t(values).double(), want_indices, **kwargs, output_size=(7, 6))
    check(unpooled, expected.to(t(values).dtype))
    g = rand(values.shape, dtype)
    grad = ups.max_pool_backward(g, indices, x.shape, **kwargs, ceil_mode=True)
    assert grad.shape == x.shape and grad.dtype == dtype
    g2 = rand(unpooled.shape, dtype)
    np.testing.assert_array_equal(
        ups.max_unpool_backward(g2, indices, **kwargs, output_size=(7, 6)),
        np.take_along_axis(g2.reshape(2, 3, -1), indices.reshape(2, 3, -1), 2).reshape(
            indices.shape))


def test_pool_backward_numpy_matches_torch():
    x = rand((1, 2, 6, 6), np.float64)
    xt = t(x).requires_grad_()
    y, indices = F.max_pool2d(xt, 3, stride=1, return_indices=True)
    g = rand(tuple(y.shape), np.float64)
    (want,) = torch.autograd.grad(y, xt, t(g))
    check(ups.max_pool_backward(g, indices.numpy(), x.shape, 3, stride=1), want)


@pytest.mark.parametrize("dtype", NP_DTYPES, ids=lambda d: np.dtype(d).name)
def test_pixel_shuffle_numpy(dtype):
    x = rand((2, 1, 3, 8, 2, 3), dtype)  # rank 6: leading dims are merged into one batch dim
    check(ups.pixel_shuffle(x, 2), F.pixel_shuffle(t(x), 2))
    check(ups.pixel_unshuffle(ups.pixel_shuffle(x, 2), 2), t(x))
    check(ups.pixel_shuffle_backward(ups.pixel_shuffle(x, 2), 2), t(x))
    check(ups.pixel_unshuffle_backward(ups.pixel_unshuffle(x[..., :2, :2], 2), 2),
          t(x[..., :2, :2]))


def test_channels_last_numpy_stays_channels_last():
    x = np.ascontiguousarray(rand((2, 5, 6, 3))).transpose(0, 3, 1, 2)  # NHWC memory
    y = ups.interpolate(x, size=(7, 8), mode="bicubic")
    assert y.transpose(0, 2, 3, 1).flags.c_contiguous
    check(y, F.interpolate(t(x), size=(7, 8), mode="bicubic"))


def test_read_only_and_strided_inputs():
    x = rand((1, 2, 4, 8))
    x.setflags(write=False)
    strided = x[..., ::2]
    check(ups.interpolate(strided, scale_factor=2), F.interpolate(t(strided), scale_factor=2))


def test_torch_in_torch_out():
    x = torch.randn(1, 2, 3, 3)
    y = ups.interpolate(x, scale_factor=2, mode="bilinear")
    assert isinstance(y, torch.Tensor)
    assert torch.allclose(y, F.interpolate(x, scale_factor=2, mode="bilinear"), atol=1e-6)
    values, indices = ups.max_pool(x, 2)
    assert isinstance(indices, torch.Tensor) and indices.dtype == torch.int64


def test_errors():
    x = rand((1, 1, 4, 4))
    with pytest.raises(ups.Error, match="only one of size or scale_factor should be defined") as e:
        ups.interpolate(x, size=8, scale_factor=2)
    assert isinstance(e.value, ValueError) and e.value.code == "invalid argument"
    with pytest.raises(ups.Error, match="Got 4D input, but trilinear mode needs 5D input"):
        ups.interpolate(x, size=8, mode="trilinear")
    with pytest.raises(ups.Error, match="unsupported element type"):
        ups.interpolate(x.astype(np.complex64), size=8)
    with pytest.raises(ups.Error, match="should be a 3d or 4d Tensor, but got a tensor with 6"):
        ups.max_unpool(rand((1, 1, 1, 1, 2, 2)), np.zeros((1, 1, 1, 1, 2, 2), np.int64), 2,
                       spatial_dims=2)
    with pytest.raises(ups.Error, match="Found an invalid max index: 99"):
        ups.max_unpool(x, np.full(x.shape, 99, np.int64), 2)
    with pytest.raises(ups.Error, match="pixel_shuffle expects its input's 'channel' dimension"):
        ups.pixel_shuffle(rand((1, 3, 2, 2)), 2)
    with pytest.raises(ups.Error) as e:
        ups.conv_transpose(x, rand((1, 1, 3, 3)), algorithm="scatter")
    assert e.value.code in ("unsupported device", "invalid argument")
    with pytest.raises(ups.Error, match="unknown|not a|algorithm"):
        ups.conv_transpose(x, rand((1, 1, 3, 3)), algorithm="fastest")


def test_settings_and_info():
    before = ups.deterministic()
    try:
        ups.set_deterministic(True)
        assert ups.deterministic() is True
        assert ups.info()["deterministic"] is True
        ups.set_deterministic(False)
        assert ups.deterministic() is False
    finally:
        ups.set_deterministic(before)
    info = ups.info()
    assert info["version"] == ups.__version__
    cmake = (pathlib.Path(__file__).parents[2] / "CMakeLists.txt").read_text()
    assert re.search(r"project\(ups VERSION ([0-9.]+)", cmake).group(1) == ups.__version__
    assert {"has_cuda", "has_cudnn", "cuda_version", "has_onednn", "build_type"} <= \
        info["build"].keys()
    assert "bilinear" in info["interpolate_modes"]
    assert {a["name"] for a in info["conv_transpose_algorithms"]} >= {"auto", "gemm", "gather"}
    assert isinstance(ups.cuda_available(), bool)


def test_stubs_match_the_package():
    stub = pathlib.Path(ups.__file__).with_name("__init__.pyi")
    assert stub.with_name("py.typed").exists()
    tree = ast.parse(stub.read_text())
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert set(functions) | {"Error", "__version__"} == set(ups.__all__)
    for name, node in functions.items():
        args = node.args
        stub_params = [a.arg for a in args.args] + [a.arg for a in args.kwonlyargs]
        assert stub_params == list(inspect.signature(getattr(ups, name)).parameters), name


class _CudaLike:
    """An array that says it lives on CUDA device 0 (DLPack device type 2) and records the
    streams its consumer passes to __dlpack__; its memory is a NumPy array's, so ups runs it on
    the CPU. It checks the consumer side of the DLPack stream protocol without a GPU."""

    streams = []

    def __init__(self, array):
        self.array = array
        self.shape, self.dtype = array.shape, array.dtype

    def __dlpack_device__(self):
        return (2, 0)

    def __dlpack__(self, *, stream=None, max_version=None):
        _CudaLike.streams.append(stream)
        return self.array.__dlpack__(max_version=max_version)

    def __array_namespace__(self):
        import types

        return types.SimpleNamespace(
            int64=np.int64,
            empty=lambda shape, dtype, device: _CudaLike(np.empty(shape, dtype)),
            permute_dims=lambda a, axes: _CudaLike(a.array.transpose(axes)))

    @property
    def device(self):
        return "cuda:0"


class _Stream:
    def __init__(self, handle):
        self.cuda_stream = handle


@pytest.mark.parametrize("stream,expected", [(None, 1), (0, 1), (1234, 1234),
                                             (_Stream(0), 1), (_Stream(77), 77)],
                         ids=["none", "zero", "int", "torch-default", "torch-stream"])
def test_cuda_arrays_are_exported_on_the_op_stream(stream, expected):
    """Inputs and outputs on CUDA are exported with the stream the op runs on (1, DLPack's legacy
    default stream, for None and for handle 0, which DLPack reserves)."""
    _CudaLike.streams = []
    x = rand((1, 2, 3, 3))
    y = ups.interpolate(_CudaLike(x), scale_factor=2, stream=stream)
    assert isinstance(y, _CudaLike)
    assert _CudaLike.streams == [expected, expected]
    np.testing.assert_array_equal(y.array, x.repeat(2, axis=2).repeat(2, axis=3))


def _resize_goldens():
    """The ONNX Resize goldens (tests/golden/onnx_resize.txt) as (fields, input, expected)."""
    path = pathlib.Path(__file__).parents[1] / "golden" / "onnx_resize.txt"
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("#")]
    for i in range(0, len(lines), 3):
        fields = dict(kv.split("=", 1) for kv in lines[i].split()[1:])
        yield (fields, [float(v) for v in lines[i + 1].split()[1:]],
               [float(v) for v in lines[i + 2].split()[1:]])


@pytest.mark.parametrize("tag", ["up1d", "aa-down2d", "policy-axes-neg", "roi-out", "axes-n",
                                 "rank1", "u8"])
def test_resize_numpy_goldens(tag):
    dtypes = {"f32": np.float32, "f64": np.float64, "u8": np.uint8}
    cases = [c for c in _resize_goldens() if c[0]["id"].endswith("-" + tag)]
    assert cases
    for f, values, expected in cases:
        shape = [int(v) for v in f["in_shape"].split(",")]
        x = np.array(values, dtype=dtypes[f["dtype"]]).reshape(shape)
        kw = {"mode": f["mode"], "coordinate_transformation_mode": f["coord"],
              "exclude_outside": f["exclude"] == "1", "antialias": f["antialias"] == "1",
              "keep_aspect_ratio_policy": f["policy"]}
        for key, conv in (("sizes", int), ("scales", float), ("axes", int), ("roi", float)):
            if f[key] != "-":
                kw[key] = [conv(v) for v in f[key].split(",")]
        if f["nearest"] != "-":
            kw["nearest_mode"] = f["nearest"]
        if f["cubic_a"] != "-":
            kw["cubic_coeff_a"] = float(f["cubic_a"])
        if f["extrapolation"] != "-":
            kw["extrapolation_value"] = float(f["extrapolation"])
        y = ups.resize(x, **kw)
        assert isinstance(y, np.ndarray) and y.dtype == x.dtype, f["id"]
        assert list(y.shape) == [int(v) for v in f["out_shape"].split(",")], f["id"]
        tol = 0 if f["mode"] == "nearest" else (1e-12 if f["dtype"] == "f64" else 1e-5)
        np.testing.assert_allclose(y.ravel().astype(np.float64), expected, rtol=tol, atol=tol,
                                   err_msg=f["id"])


def test_resize_torch_and_errors():
    x = torch.arange(24, dtype=torch.float32).reshape(1, 2, 3, 4)
    y = ups.resize(x, scales=[1, 1, 2, 2], mode="linear")
    assert isinstance(y, torch.Tensor) and y.shape == (1, 2, 6, 8)
    # half_pixel linear at scale 2 is F.interpolate's bilinear with align_corners=False.
    ref = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    torch.testing.assert_close(y, ref)
    with pytest.raises(ups.Error, match="cubic_coeff_a applies to mode cubic only"):
        ups.resize(x, scales=[1, 1, 2, 2], mode="linear", cubic_coeff_a=-0.5)
    with pytest.raises(ups.Error, match="unknown coordinate_transformation_mode 'corners'"):
        ups.resize(x, sizes=[1, 2, 4, 4], coordinate_transformation_mode="corners")
