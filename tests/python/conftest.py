"""Shared fixtures and helpers of the Python tests (run by ctest with label python)."""

import random
import zlib

import pytest
import torch

import ups


def _cuda_usable() -> bool:
    return torch.cuda.is_available() and ups.cuda_available()


# Tests parametrised over DEVICES run on the CPU everywhere and on CUDA where this build of ups
# has the CUDA backend and a device is present; elsewhere the CUDA cases report Skipped.
DEVICES = [
    pytest.param("cpu", id="cpu"),
    pytest.param("cuda", id="cuda", marks=pytest.mark.skipif(
        not _cuda_usable(), reason="no CUDA device (or ups built without CUDA)")),
]

FLOATS = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
INTS = [torch.uint8, torch.int32, torch.int64]
LAYOUTS = ["contiguous", "channels_last", "strided"]


def dtype_id(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


@pytest.fixture
def rng(request):
    """A random.Random seeded from the test's id, so every case is reproducible."""
    return random.Random(request.node.nodeid)


@pytest.fixture
def gen(request):
    g = torch.Generator()
    g.manual_seed(zlib.crc32(request.node.nodeid.encode()))
    return g


def relayout(t: torch.Tensor, layout: str) -> torch.Tensor:
    """The values of @p t in a new tensor with @p layout: C-contiguous, channels-last (channels
    innermost, for any rank >= 3) or strided (every other element of a twice wider last dim)."""
    shape = list(t.shape)
    if layout == "contiguous":
        return t.contiguous().clone()
    if layout == "channels_last":
        perm = [0] + list(range(2, len(shape))) + [1]
        inverse = [perm.index(d) for d in range(len(shape))]
        return t.permute(perm).contiguous().permute(inverse)
    if layout == "strided":
        wide = torch.zeros(shape[:-1] + [shape[-1] * 2], dtype=t.dtype, device=t.device)
        out = wide[..., ::2]
        out.copy_(t)
        return out
    raise ValueError(layout)


def make(shape, dtype, layout="contiguous", device="cpu", gen=None) -> torch.Tensor:
    if dtype.is_floating_point:
        t = torch.randn(list(shape), generator=gen, dtype=torch.float32).to(dtype)
    elif dtype == torch.uint8:
        t = torch.randint(0, 256, list(shape), generator=gen).to(dtype)
    else:
        t = torch.randint(-1000, 1000, list(shape), generator=gen).to(dtype)
    return relayout(t.to(device), layout)


# (rtol, atol) per dtype for values computed by ups against PyTorch's.
TOLERANCES = {
    torch.float64: (1e-9, 1e-9),
    torch.float32: (1e-5, 1e-5),
    torch.float16: (1e-2, 1e-2),
    torch.bfloat16: (2e-2, 6e-2),
}


def assert_close(actual, expected, dtype=None, scale=1.0):
    dtype = dtype or expected.dtype
    assert actual.shape == expected.shape
    if not dtype.is_floating_point:
        assert actual.dtype == dtype
        assert torch.equal(actual.cpu(), expected.to(dtype).cpu())
        return
    rtol, atol = TOLERANCES[dtype]
    torch.testing.assert_close(actual.double().cpu(), expected.double().cpu(), rtol=rtol * scale,
                               atol=atol * scale)


def reference(fn, *args, dtype):
    """fn(*args) in PyTorch; where PyTorch rejects the layout (max_pool3d of a channels-last
    uint8 tensor), computed on contiguous copies; where it has no kernel for @p dtype, computed in
    float64 and converted."""
    try:
        return fn(*args)
    except (RuntimeError, NotImplementedError):
        pass
    dense = [a.contiguous() if isinstance(a, torch.Tensor) else a for a in args]
    try:
        return fn(*dense)
    except (RuntimeError, NotImplementedError):
        pass
    wide = [a.double() if isinstance(a, torch.Tensor) and a.dtype == dtype else a for a in dense]
    result = fn(*wide)
    if isinstance(result, tuple):
        return tuple(r.to(dtype) if r.dtype == torch.float64 else r for r in result)
    return result.to(dtype)
