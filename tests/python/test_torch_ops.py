"""ups.torch's functional ops against torch.nn.functional: values and gradients on random cases
for every op, mode, dtype and layout, on the CPU (and on CUDA where present)."""

import pytest
import torch
import torch.nn.functional as F

import ups
import ups.torch as ut
from conftest import (DEVICES, FLOATS, INTS, LAYOUTS, assert_close, dtype_id, make, reference,
                      relayout)

CASES = 3  # random cases per parameter combination

# ---- interpolate ----------------------------------------------------------------------------

RANKS = {"nearest": [3, 4, 5], "nearest-exact": [3, 4, 5], "area": [3, 4, 5], "linear": [3],
         "bilinear": [4], "bicubic": [4], "trilinear": [5]}
INTERPOLATING = {"linear", "bilinear", "bicubic", "trilinear"}


def interpolate_cases(mode, rng, count=CASES):
    """(shape, kwargs) pairs: a size, a scalar scale and per-dim scales (with and without
    recompute_scale_factor), align_corners where the mode takes it, and an anti-aliased
    downscale for bilinear and bicubic."""
    cases = []
    for i in range(count):
        rank = rng.choice(RANKS[mode])
        spatial = [rng.randint(2, 7) for _ in range(rank - 2)]
        kwargs = {}
        if i % 3 == 0:
            kwargs["size"] = [rng.randint(1, 12) for _ in spatial]
        elif i % 3 == 1:
            kwargs["scale_factor"] = rng.choice([2.0, 1.5, 0.75, 3.0])
        else:
            kwargs["scale_factor"] = tuple(rng.choice([2.0, 1.25, 0.8, 2.5]) for _ in spatial)
            kwargs["recompute_scale_factor"] = rng.choice([True, False])
        if mode in INTERPOLATING:
            kwargs["align_corners"] = rng.choice([True, False, None])
        if mode in ("bilinear", "bicubic") and i == count - 1:
            spatial = [rng.randint(8, 13) for _ in spatial]
            kwargs = {"size": [rng.randint(2, 5) for _ in spatial], "antialias": True,
                      "align_corners": rng.choice([True, False])}
        cases.append(([rng.randint(1, 2), rng.randint(1, 3)] + spatial, kwargs))
    return cases


def _interp_params(dtypes):
    return [pytest.param(mode, dtype, id=f"{mode}-{dtype_id(dtype)}") for mode in RANKS
            for dtype in dtypes
            if dtype.is_floating_point or (dtype == torch.uint8 and mode.startswith("nearest"))]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("mode,dtype", _interp_params(FLOATS + INTS))
def test_interpolate_values(mode, dtype, layout, device, rng, gen):
    for shape, kwargs in interpolate_cases(mode, rng):
        x = make(shape, dtype, layout, device, gen)
        got = ut.interpolate(x, mode=mode, **kwargs)
        want = reference(lambda t: F.interpolate(t, mode=mode, **kwargs), x, dtype=dtype)
        assert got.dtype == dtype and got.device == x.device
        assert_close(got, want, dtype)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("mode,dtype", _interp_params(FLOATS))
def test_interpolate_grad(mode, dtype, layout, device, rng, gen):
    for shape, kwargs in interpolate_cases(mode, rng):
        x = make(shape, dtype, layout, device, gen).requires_grad_()
        y = ut.interpolate(x, mode=mode, **kwargs)
        g = make(y.shape, dtype, "contiguous", device, gen)
        (got,) = torch.autograd.grad(y, x, g)
        xr = x.detach().double().requires_grad_()
        (want,) = torch.autograd.grad(F.interpolate(xr, mode=mode, **kwargs), xr, g.double())
        assert_close(got, want, dtype, scale=2.0)


def test_interpolate_channels_last_output_layout():
    x = make([2, 3, 5, 6], torch.float32, "channels_last")
    y = ut.interpolate(x, scale_factor=2, mode="bilinear")
    assert y.is_contiguous(memory_format=torch.channels_last)
    assert y.stride() == F.interpolate(x, scale_factor=2, mode="bilinear").stride()

# ---- conv_transpose -------------------------------------------------------------------------


def conv_cases(n, rng, count=CASES):
    """(input shape, weight shape, bias, kwargs) with random stride, padding, output_padding,
    dilation and groups, all valid."""
    cases = []
    while len(cases) < count:
        groups = rng.choice([1, 1, 2])
        c_in, c_out = groups * rng.randint(1, 3), groups * rng.randint(1, 3)
        k = [rng.randint(1, 3) for _ in range(n)]
        s = [rng.randint(1, 3) for _ in range(n)]
        d = [rng.randint(1, 2) for _ in range(n)]
        p = [rng.randint(0, 1) for _ in range(n)]
        op = [rng.randint(0, max(si, di) - 1) for si, di in zip(s, d)]
        spatial = [rng.randint(1, 5) for _ in range(n)]
        out = [(i - 1) * si - 2 * pi + di * (ki - 1) + oi + 1
               for i, si, pi, di, ki, oi in zip(spatial, s, p, d, k, op)]
        if min(out) < 1:
            continue
        kwargs = dict(stride=s, padding=p, output_padding=op, groups=groups, dilation=d)
        if all(v == s[0] for v in s) and rng.random() < 0.5:
            kwargs["stride"] = s[0]  # a single int, as callers often write it
        cases.append(([rng.randint(1, 2), c_in] + spatial, [c_in, c_out // groups] + k,
                      rng.choice([True, False]), kwargs))
    return cases


CONV = {1: (ut.conv_transpose1d, F.conv_transpose1d), 2: (ut.conv_transpose2d, F.conv_transpose2d),
        3: (ut.conv_transpose3d, F.conv_transpose3d)}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_conv_transpose_values(n, dtype, layout, device, rng, gen):
    ours, theirs = CONV[n]
    for in_shape, w_shape, has_bias, kwargs in conv_cases(n, rng):
        x = make(in_shape, dtype, layout, device, gen)
        w = make(w_shape, dtype, layout, device, gen)
        b = make([w_shape[1] * kwargs["groups"]], dtype, "contiguous", device, gen) \
            if has_bias else None
        got = ours(x, w, b, **kwargs)
        want = reference(lambda *t: theirs(*t, **kwargs), x, w, b, dtype=dtype)
        assert_close(got, want, dtype, scale=4.0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_conv_transpose_grad(n, dtype, layout, device, rng, gen):
    ours, theirs = CONV[n]
    for in_shape, w_shape, has_bias, kwargs in conv_cases(n, rng):
        x = make(in_shape, dtype, layout, device, gen).requires_grad_()
        w = make(w_shape, dtype, layout, device, gen).requires_grad_()
        b = make([w_shape[1] * kwargs["groups"]], dtype, "contiguous", device, gen) \
            .requires_grad_() if has_bias else None
        inputs = [t for t in (x, w, b) if t is not None]
        y = ours(x, w, b, **kwargs)
        g = make(y.shape, dtype, "contiguous", device, gen)
        got = torch.autograd.grad(y, inputs, g)
        wide = [t.detach().double().requires_grad_() for t in inputs]
        xr, wr, br = wide[0], wide[1], (wide[2] if has_bias else None)
        want = torch.autograd.grad(theirs(xr, wr, br, **kwargs), wide, g.double())
        for a, e in zip(got, want):
            assert_close(a, e, dtype, scale=8.0)


def test_conv_transpose_unbatched():
    x, w = make([3, 5, 4], torch.float32), make([3, 2, 3, 3], torch.float32)
    assert_close(ut.conv_transpose2d(x, w, stride=2), F.conv_transpose2d(x, w, stride=2))

# ---- max_pool -------------------------------------------------------------------------------


def pool_cases(n, rng, count=CASES):
    cases = []
    for _ in range(count):
        k = [rng.randint(1, 3) for _ in range(n)]
        kwargs = dict(kernel_size=k if rng.random() < 0.7 else k[0],
                      stride=rng.choice([None, [rng.randint(1, 3) for _ in range(n)]]),
                      padding=[rng.randint(0, ki // 2) for ki in k] if rng.random() < 0.7 else 0,
                      dilation=[rng.randint(1, 2) for _ in range(n)],
                      ceil_mode=rng.choice([True, False]))
        if not isinstance(kwargs["kernel_size"], list):
            k = [k[0]] * n
            kwargs["padding"] = 0
        spatial = [rng.randint(5, 8) for _ in range(n)]
        cases.append(([rng.randint(1, 2), rng.randint(1, 3)] + spatial, kwargs))
    return cases


POOL = {1: (ut.max_pool1d, F.max_pool1d), 2: (ut.max_pool2d, F.max_pool2d),
        3: (ut.max_pool3d, F.max_pool3d)}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", FLOATS + INTS, ids=dtype_id)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_pool_values(n, dtype, layout, device, rng, gen):
    ours, theirs = POOL[n]
    for shape, kwargs in pool_cases(n, rng):
        x = make(shape, dtype, layout, device, gen)
        values, indices = ours(x, **kwargs, return_indices=True)
        # Integer references come from a contiguous copy: PyTorch 2.4's channels-last integer
        # kernel returns 0 where a window's maximum is negative.
        want_values, want_indices = reference(
            lambda t: theirs(t, **kwargs, return_indices=True),
            x if dtype.is_floating_point else x.contiguous(), dtype=dtype)
        assert torch.equal(values, want_values)
        assert torch.equal(indices, want_indices)
        assert torch.equal(ours(x, **kwargs), want_values)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_pool_grad(n, dtype, layout, device, rng, gen):
    ours, theirs = POOL[n]
    for shape, kwargs in pool_cases(n, rng):
        x = make(shape, dtype, layout, device, gen).requires_grad_()
        y = ours(x, **kwargs)
        g = make(y.shape, dtype, "contiguous", device, gen)
        (got,) = torch.autograd.grad(y, x, g)
        xr = x.detach().double().requires_grad_()
        (want,) = torch.autograd.grad(theirs(xr, **kwargs), xr, g.double())
        assert_close(got, want, dtype)


def test_max_pool_unbatched():
    x = make([3, 6, 7], torch.float32)
    v, i = ut.max_pool2d(x, 3, stride=2, return_indices=True)
    wv, wi = F.max_pool2d(x, 3, stride=2, return_indices=True)
    assert torch.equal(v, wv) and torch.equal(i, wi)

# ---- max_unpool -----------------------------------------------------------------------------


def unpool_cases(n, rng, count=CASES):
    """(pool input shape, kwargs, output_size or None): the pooled size is chosen so that the
    default unpooled size is the pool input's size, and output_size may add up to stride - 1."""
    cases = []
    for _ in range(count):
        k = [rng.randint(1, 3) for _ in range(n)]
        s = [rng.randint(1, 3) for _ in range(n)]
        p = [rng.randint(0, ki // 2) for ki in k]
        pooled = [rng.randint(1, 4) for _ in range(n)]
        spatial = [(o - 1) * si - 2 * pi + ki for o, si, pi, ki in zip(pooled, s, p, k)]
        if min(spatial) < 1:
            continue
        output_size = None
        if rng.random() < 0.5:
            output_size = [sp + rng.randint(0, si - 1) for sp, si in zip(spatial, s)]
        cases.append(([rng.randint(1, 2), rng.randint(1, 3)] + spatial,
                      dict(kernel_size=k, stride=s, padding=p), output_size))
    return cases


UNPOOL = {1: (ut.max_unpool1d, F.max_unpool1d, F.max_pool1d),
          2: (ut.max_unpool2d, F.max_unpool2d, F.max_pool2d),
          3: (ut.max_unpool3d, F.max_unpool3d, F.max_pool3d)}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", FLOATS + INTS, ids=dtype_id)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_unpool_values(n, dtype, layout, device, rng, gen):
    ours, theirs, pool = UNPOOL[n]
    for shape, kwargs, output_size in unpool_cases(n, rng):
        values, indices = pool(make(shape, dtype, "contiguous", device, gen), **kwargs,
                               return_indices=True)
        values, indices = relayout(values, layout), relayout(indices, layout)
        got = ours(values, indices, **kwargs, output_size=output_size)
        want = reference(lambda v: theirs(v, indices, **kwargs, output_size=output_size),
                         values, dtype=dtype)
        assert_close(got, want, dtype)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_unpool_grad(n, dtype, layout, device, rng, gen):
    ours, theirs, pool = UNPOOL[n]
    for shape, kwargs, output_size in unpool_cases(n, rng):
        values, indices = pool(make(shape, dtype, "contiguous", device, gen), **kwargs,
                               return_indices=True)
        values = relayout(values, layout).requires_grad_()
        indices = relayout(indices, layout)
        y = ours(values, indices, **kwargs, output_size=output_size)
        g = make(y.shape, dtype, "contiguous", device, gen)
        (got,) = torch.autograd.grad(y, values, g)
        vr = values.detach().double().requires_grad_()
        (want,) = torch.autograd.grad(theirs(vr, indices, **kwargs, output_size=output_size), vr,
                                      g.double())
        assert_close(got, want, dtype)


def test_max_unpool_invalid_index_raises():
    values = torch.ones(1, 1, 2, 2)
    indices = torch.tensor([[[[0, 1], [2, 99]]]])
    with pytest.raises(ups.Error, match="Found an invalid max index: 99"):
        ut.max_unpool2d(values, indices, 2)

# ---- pixel_shuffle / pixel_unshuffle --------------------------------------------------------


def shuffle_cases(rng, count=CASES):
    cases = []
    for i in range(count):
        r = rng.randint(1, 3)
        lead = [rng.randint(1, 2) for _ in range([0, 1, 2, 3][i % 4])]
        cases.append((lead, rng.randint(1, 2), rng.randint(1, 3), rng.randint(1, 3), r))
    return cases


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", FLOATS + INTS, ids=dtype_id)
def test_pixel_shuffle_values(dtype, layout, device, rng, gen):
    for lead, c, h, w, r in shuffle_cases(rng, count=4):
        x = make(lead + [c * r * r, h, w], dtype, layout, device, gen)
        # PyTorch rejects some channels-last layouts of ranks other than 4; reference() then
        # shuffles a contiguous copy.
        want = reference(lambda t: F.pixel_shuffle(t, r), x, dtype=dtype)
        assert torch.equal(ut.pixel_shuffle(x, r), want)
        y = make(lead + [c, h * r, w * r], dtype, layout, device, gen)
        want = reference(lambda t: F.pixel_unshuffle(t, r), y, dtype=dtype)
        assert torch.equal(ut.pixel_unshuffle(y, r), want)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", FLOATS, ids=dtype_id)
def test_pixel_shuffle_grad(dtype, layout, device, rng, gen):
    for lead, c, h, w, r in shuffle_cases(rng, count=4):
        for ours, theirs, shape in ((ut.pixel_shuffle, F.pixel_shuffle, [c * r * r, h, w]),
                                    (ut.pixel_unshuffle, F.pixel_unshuffle, [c, h * r, w * r])):
            x = make(lead + shape, dtype, layout, device, gen).requires_grad_()
            y = ours(x, r)
            g = make(y.shape, dtype, "contiguous", device, gen)
            (got,) = torch.autograd.grad(y, x, g)
            xr = x.detach().contiguous().requires_grad_()
            (want,) = torch.autograd.grad(theirs(xr, r), xr, g)
            assert torch.equal(got, want)

# ---- signatures, errors, determinism --------------------------------------------------------

SIGNATURES = {
    "interpolate": "(input, size=None, scale_factor=None, mode='nearest', align_corners=None, "
                   "recompute_scale_factor=None, antialias=False)",
    "conv_transpose1d": "(input, weight, bias=None, stride=1, padding=0, output_padding=0, "
                        "groups=1, dilation=1)",
    "max_pool1d": "(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, "
                  "return_indices=False)",
    "max_unpool1d": "(input, indices, kernel_size, stride=None, padding=0, output_size=None)",
    "pixel_shuffle": "(input, upscale_factor)",
    "pixel_unshuffle": "(input, downscale_factor)",
}


@pytest.mark.parametrize("name", ["interpolate", "conv_transpose1d", "conv_transpose2d",
                                  "conv_transpose3d", "max_pool1d", "max_pool2d", "max_pool3d",
                                  "max_unpool1d", "max_unpool2d", "max_unpool3d", "pixel_shuffle",
                                  "pixel_unshuffle"])
def test_signature_is_torch_nn_functional(name):
    import inspect

    sig = inspect.signature(getattr(ut, name))
    plain = "(" + ", ".join(
        p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
        for p in sig.parameters.values()) + ")"
    assert plain == SIGNATURES[name.replace("2d", "1d").replace("3d", "1d")]


def test_errors_carry_the_cpp_message():
    x = torch.randn(1, 1, 4, 4)
    with pytest.raises(ups.Error, match="only one of size or scale_factor should be defined"):
        ut.interpolate(x, size=8, scale_factor=2)
    with pytest.raises(ups.Error, match="align_corners option can only be set with the "
                                        "interpolating modes"):
        ut.interpolate(x, size=8, align_corners=True)
    with pytest.raises(ValueError):  # ups.Error is a ValueError, as PyTorch's errors here are
        ut.pixel_shuffle(torch.randn(1, 3, 2, 2), 2)
    with pytest.raises(ups.Error) as info:
        ut.conv_transpose2d(x, torch.randn(2, 1, 3, 3))
    assert info.value.code == "shape mismatch" or info.value.code == "invalid argument"


def test_deterministic_flags_reach_ups(monkeypatch):
    seen = []
    real = ups._ext.interpolate

    def spy(*args, **kwargs):
        seen.append(kwargs["deterministic"])
        return real(*args, **kwargs)

    monkeypatch.setattr(ups._ext, "interpolate", spy)
    x = torch.randn(1, 1, 3, 3)
    ut.interpolate(x, scale_factor=2)
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        ut.interpolate(x, scale_factor=2)
    finally:
        torch.use_deterministic_algorithms(previous)
    assert seen == [None, True]  # None: ups's own flag (ups.set_deterministic) decides


def test_set_deterministic_round_trip():
    before = ups.deterministic()
    try:
        ups.set_deterministic(True)
        assert ups.deterministic() is True
        x = torch.randn(1, 2, 4, 4)
        v, i = ut.max_pool2d(x, 2, return_indices=True)
        assert torch.equal(ut.max_unpool2d(v, i, 2), F.max_unpool2d(v, i, 2))
    finally:
        ups.set_deterministic(before)


@pytest.mark.skipif(not torch.cuda.is_available() or not ups.cuda_available(),
                    reason="no CUDA device (or ups built without CUDA)")
def test_cuda_runs_on_the_current_stream():
    stream = torch.cuda.Stream()
    x = torch.randn(4, 8, 64, 64, device="cuda")
    with torch.cuda.stream(stream):
        y = ut.interpolate(x, scale_factor=2, mode="bilinear")
    stream.synchronize()
    assert_close(y, F.interpolate(x, scale_factor=2, mode="bilinear"))
