"""Drop-in replacements for ``torch.nn.functional``'s upsampling ops, computed by ups.

Every function has the signature and defaults of its ``torch.nn.functional`` namesake and
returns the same values (see ups's documentation for the last-bit differences of some
gradients), with gradients, under torch.compile (``fullgraph=True`` works: the ops are the
custom ops ``torch.ops.ups.*``) and on CUDA tensors (on ``torch.cuda.current_stream()``).
Deterministic when ``ups.set_deterministic(True)`` or ``torch.use_deterministic_algorithms(True)``
is in force. ``ups.torch.nn`` has the matching modules.

Needs PyTorch 2.4 or newer (``torch.library.custom_op``); ups itself does not link to PyTorch.
"""

from __future__ import annotations

import operator
from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from .. import _core

if not hasattr(torch.library, "custom_op") or not hasattr(torch.library, "register_autograd"):
    raise ImportError(f"ups.torch needs PyTorch 2.4 or newer (torch.library.custom_op); this is "
                      f"PyTorch {torch.__version__}")

from . import _ops  # noqa: E402  (registers torch.ops.ups.*)

__all__ = [
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "interpolate",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "pixel_shuffle",
    "pixel_unshuffle",
]

_size_any_t = Union[int, Sequence[int]]


def _int(v):
    # Symbolic sizes (torch.compile with dynamic shapes) pass through unchanged.
    return v if isinstance(v, (int, torch.SymInt)) else operator.index(v)


def _ints(value, name: str) -> List[int]:
    # Plain isinstance tests rather than try/except: torch.compile traces this function, and
    # older versions of Dynamo cannot trace an exception raised by operator.index.
    if value is None:
        return []
    if isinstance(value, (int, torch.SymInt)):
        return [value]
    if isinstance(value, (list, tuple)):  # torch.Size is a tuple
        return [_int(v) for v in value]
    if (isinstance(value, torch.Tensor) and value.dim() == 0) or not hasattr(value, "__len__"):
        return [operator.index(value)]  # a 0-d tensor, a NumPy integer (or a TypeError)
    try:
        return [_int(v) for v in value]
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence of ints, got {value!r}") from None


def _per_dim(value, n: int, name: str) -> List[int]:
    values = _ints(value, name)
    return values * n if len(values) == 1 else values


def _error(message: str, code: str = "shape mismatch") -> _core.Error:
    error = _core.Error(message)
    error.code = code
    return error


def interpolate(input: Tensor, size: Optional[_size_any_t] = None,
                scale_factor: Optional[Union[float, Sequence[float]]] = None,
                mode: str = "nearest", align_corners: Optional[bool] = None,
                recompute_scale_factor: Optional[bool] = None, antialias: bool = False) -> Tensor:
    """``torch.nn.functional.interpolate``, computed by ups (modes nearest, nearest-exact,
    linear, bilinear, bicubic, trilinear, area, lanczos (float32/64, antialias=True, also on
    CUDA), and ups's tricubic; float32/64/16, bfloat16 and uint8 for nearest). lanczos, tricubic
    and antialiased trilinear have no gradient."""
    sizes = None if size is None else _ints(size, "size")
    if scale_factor is None:
        scales = None
    elif isinstance(scale_factor, (int, float)):
        scales = [float(scale_factor)]
    else:
        scales = [float(s) for s in scale_factor]
    return torch.ops.ups.interpolate(input, sizes, scales, mode, align_corners,
                                     bool(recompute_scale_factor), bool(antialias))


def _conv_transpose(n: int, input: Tensor, weight: Tensor, bias: Optional[Tensor], stride,
                    padding, output_padding, groups: int, dilation) -> Tensor:
    if input.dim() not in (n + 1, n + 2):
        raise _error(f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to "
                     f"conv_transpose{n}d, but got input of size: {list(input.shape)}")
    unbatched = input.dim() == n + 1
    if unbatched:
        input = input.unsqueeze(0)
    out = torch.ops.ups.conv_transpose(
        input, weight, bias, _per_dim(stride, n, "stride"), _per_dim(padding, n, "padding"),
        _per_dim(output_padding, n, "output_padding"), operator.index(groups),
        _per_dim(dilation, n, "dilation"))
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
                     stride: _size_any_t = 1, padding: _size_any_t = 0,
                     output_padding: _size_any_t = 0, groups: int = 1,
                     dilation: _size_any_t = 1) -> Tensor:
    """``torch.nn.functional.conv_transpose1d``, computed by ups."""
    return _conv_transpose(1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
                     stride: _size_any_t = 1, padding: _size_any_t = 0,
                     output_padding: _size_any_t = 0, groups: int = 1,
                     dilation: _size_any_t = 1) -> Tensor:
    """``torch.nn.functional.conv_transpose2d``, computed by ups."""
    return _conv_transpose(2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
                     stride: _size_any_t = 1, padding: _size_any_t = 0,
                     output_padding: _size_any_t = 0, groups: int = 1,
                     dilation: _size_any_t = 1) -> Tensor:
    """``torch.nn.functional.conv_transpose3d``, computed by ups."""
    return _conv_transpose(3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def _max_pool(n: int, input: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool,
              return_indices: bool):
    values, indices = torch.ops.ups.max_pool(
        input, _per_dim(kernel_size, n, "kernel_size"),
        [] if stride is None else _per_dim(stride, n, "stride"), _per_dim(padding, n, "padding"),
        _per_dim(dilation, n, "dilation"), bool(ceil_mode), n)
    return (values, indices) if return_indices else values


def max_pool1d(input: Tensor, kernel_size: _size_any_t, stride: Optional[_size_any_t] = None,
               padding: _size_any_t = 0, dilation: _size_any_t = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """``torch.nn.functional.max_pool1d``, computed by ups (every dtype, int64 indices)."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size: _size_any_t, stride: Optional[_size_any_t] = None,
               padding: _size_any_t = 0, dilation: _size_any_t = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """``torch.nn.functional.max_pool2d``, computed by ups (every dtype, int64 indices)."""
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input: Tensor, kernel_size: _size_any_t, stride: Optional[_size_any_t] = None,
               padding: _size_any_t = 0, dilation: _size_any_t = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """``torch.nn.functional.max_pool3d``, computed by ups (every dtype, int64 indices)."""
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _max_unpool(n: int, input: Tensor, indices: Tensor, kernel_size, stride, padding,
                output_size) -> Tensor:
    return torch.ops.ups.max_unpool(
        input, indices, _per_dim(kernel_size, n, "kernel_size"),
        [] if stride is None else _per_dim(stride, n, "stride"), _per_dim(padding, n, "padding"),
        None if output_size is None else _ints(output_size, "output_size"), n)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size: _size_any_t,
                 stride: Optional[_size_any_t] = None, padding: _size_any_t = 0,
                 output_size: Optional[_size_any_t] = None) -> Tensor:
    """``torch.nn.functional.max_unpool1d``, computed by ups (an invalid index raises
    ups.Error; duplicates resolve deterministically)."""
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: _size_any_t,
                 stride: Optional[_size_any_t] = None, padding: _size_any_t = 0,
                 output_size: Optional[_size_any_t] = None) -> Tensor:
    """``torch.nn.functional.max_unpool2d``, computed by ups."""
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size: _size_any_t,
                 stride: Optional[_size_any_t] = None, padding: _size_any_t = 0,
                 output_size: Optional[_size_any_t] = None) -> Tensor:
    """``torch.nn.functional.max_unpool3d``, computed by ups."""
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """``torch.nn.functional.pixel_shuffle``, computed by ups (any leading dims, every dtype)."""
    return torch.ops.ups.pixel_shuffle(input, operator.index(upscale_factor))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """``torch.nn.functional.pixel_unshuffle``, computed by ups."""
    return torch.ops.ups.pixel_unshuffle(input, operator.index(downscale_factor))


from . import nn  # noqa: E402,F401
