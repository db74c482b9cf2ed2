"""ups's ops as PyTorch custom ops (``torch.ops.ups.*``).

Each op is a ``torch.library.custom_op`` whose kernel allocates its outputs with PyTorch and
hands them, with the inputs, to ups's C++ op through DLPack, on
``torch.cuda.current_stream()`` for CUDA tensors. Each has a fake kernel (output shapes, dtypes
and layouts without computing anything) for torch.compile and torch.export, and each forward op
an autograd formula (``register_autograd``) that calls ups's own backward op.

Determinism: an op runs deterministic algorithms when ``ups.set_deterministic(True)`` or
``torch.use_deterministic_algorithms(True)`` is in force.
"""

# No `from __future__ import annotations` here: torch.library.custom_op reads the annotations
# to build each op's schema, and PyTorch before 2.5 cannot resolve them as strings.
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from .. import _core, _ext

# ---- helpers --------------------------------------------------------------------------------


def _stream(t: Tensor):
    return torch.cuda.current_stream(t.device) if t.is_cuda else None


def _deterministic() -> Optional[bool]:
    # None leaves the decision to ups's own flag (ups.set_deterministic / UPS_DETERMINISTIC).
    return True if torch.are_deterministic_algorithms_enabled() else None


def _concrete(*shapes: Sequence) -> bool:
    return all(isinstance(s, int) for shape in shapes for s in shape)


def _per_dim(values: Sequence, k: int) -> List:
    values = list(values)
    return values * k if len(values) == 1 else values


def _empty(like: Tensor, shape: Sequence, index_dtype: bool = False) -> Tensor:
    # The same allocation as the real kernels' (ups._core), so fake and real layouts agree.
    return _core._empty(like, shape, index_dtype=index_dtype,
                        channels_last=_core._is_channels_last(like))


# Output shapes for the fake kernels. With concrete sizes they come from ups's C++ shape
# functions, which also validate the arguments with the messages of the real call; with symbolic
# sizes (dynamic shapes) from the same formulas written in Python.


def _interpolate_shape(shape, size, scale_factor, mode, align_corners, recompute_scale_factor,
                       antialias) -> List:
    if _concrete(shape):
        return _ext.interpolate_output_shape(list(shape), mode, list(size or []),
                                             list(scale_factor or []), align_corners,
                                             recompute_scale_factor, antialias)
    k = len(shape) - 2
    if size:
        return list(shape[:2]) + _per_dim(size, k)
    scales = _per_dim(scale_factor, k)
    return list(shape[:2]) + [
        torch.sym_int(torch.sym_float(shape[2 + i]) * scales[i]) for i in range(k)]


def _conv_transpose_shape(shape, weight_shape, stride, padding, output_padding, groups,
                          dilation) -> List:
    if _concrete(shape, weight_shape):
        return _ext.conv_transpose_output_shape(list(shape), list(weight_shape), stride, padding,
                                                output_padding, dilation, groups, [])
    k = len(shape) - 2
    s, p, o, d = (_per_dim(v, k) for v in (stride, padding, output_padding, dilation))
    spatial = [(shape[2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (weight_shape[2 + i] - 1) + o[i] + 1
               for i in range(k)]
    return [shape[0], weight_shape[1] * groups] + spatial


def _max_pool_shape(shape, kernel_size, stride, padding, dilation, ceil_mode,
                    spatial_dims) -> List:
    if _concrete(shape):
        return _ext.max_pool_output_shape(list(shape), kernel_size, stride, padding, dilation,
                                          ceil_mode, spatial_dims)
    k = spatial_dims
    lead = len(shape) - k
    ks = _per_dim(kernel_size, k)
    st = _per_dim(stride or kernel_size, k)
    pd, dl = _per_dim(padding, k), _per_dim(dilation, k)
    out = []
    for i in range(k):
        size = shape[lead + i]
        span = size + 2 * pd[i] - dl[i] * (ks[i] - 1) - 1 + (st[i] - 1 if ceil_mode else 0)
        o = span // st[i] + 1
        if ceil_mode and (o - 1) * st[i] >= size + pd[i]:
            o = o - 1
        out.append(o)
    return list(shape[:lead]) + out


def _max_unpool_shape(shape, kernel_size, stride, padding, output_size, spatial_dims) -> List:
    if _concrete(shape, output_size or []):
        return _ext.max_unpool_output_shape(list(shape), kernel_size, stride, padding,
                                            list(output_size or []), spatial_dims)
    k = spatial_dims
    lead = len(shape) - k
    if output_size:
        return list(shape[:lead]) + list(output_size)[-k:]
    ks = _per_dim(kernel_size, k)
    st = _per_dim(stride or kernel_size, k)
    pd = _per_dim(padding, k)
    return list(shape[:lead]) + [(shape[lead + i] - 1) * st[i] - 2 * pd[i] + ks[i]
                                 for i in range(k)]


def _shuffle_shape(shape, factor: int, up: bool) -> List:
    if _concrete(shape):
        f = _ext.pixel_shuffle_output_shape if up else _ext.pixel_unshuffle_output_shape
        return f(list(shape), factor)
    c, h, w = shape[-3:]
    if up:
        return list(shape[:-3]) + [c // (factor * factor), h * factor, w * factor]
    return list(shape[:-3]) + [c * factor * factor, h // factor, w // factor]


# ---- interpolate ----------------------------------------------------------------------------


@torch.library.custom_op("ups::interpolate", mutates_args=())
def interpolate(input: Tensor, size: Optional[List[int]], scale_factor: Optional[List[float]],
                mode: str, align_corners: Optional[bool], recompute_scale_factor: bool,
                antialias: bool) -> Tensor:
    return _core.interpolate(input, size, scale_factor, mode, align_corners,
                             recompute_scale_factor, antialias, stream=_stream(input),
                             deterministic=_deterministic())


@interpolate.register_fake
def _(input, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias):
    return _empty(input, _interpolate_shape(input.shape, size, scale_factor, mode, align_corners,
                                            recompute_scale_factor, antialias))


@torch.library.custom_op("ups::interpolate_backward", mutates_args=())
def interpolate_backward(grad_output: Tensor, input_size: List[int], size: Optional[List[int]],
                         scale_factor: Optional[List[float]], mode: str,
                         align_corners: Optional[bool], recompute_scale_factor: bool,
                         antialias: bool) -> Tensor:
    return _core.interpolate_backward(grad_output, input_size, size, scale_factor, mode,
                                      align_corners, recompute_scale_factor, antialias,
                                      stream=_stream(grad_output),
                                      deterministic=_deterministic())


@interpolate_backward.register_fake
def _(grad_output, input_size, size, scale_factor, mode, align_corners, recompute_scale_factor,
      antialias):
    return _empty(grad_output, input_size)


def _interpolate_setup(ctx, inputs, output):
    input, *options = inputs
    ctx.input_size = list(input.shape)
    ctx.options = options


def _interpolate_grad(ctx, grad):
    grad_input = torch.ops.ups.interpolate_backward(grad, ctx.input_size, *ctx.options)
    return (grad_input,) + (None,) * len(ctx.options)


torch.library.register_autograd("ups::interpolate", _interpolate_grad,
                                setup_context=_interpolate_setup)

# ---- conv_transpose -------------------------------------------------------------------------


@torch.library.custom_op("ups::conv_transpose", mutates_args=())
def conv_transpose(input: Tensor, weight: Tensor, bias: Optional[Tensor], stride: List[int],
                   padding: List[int], output_padding: List[int], groups: int,
                   dilation: List[int]) -> Tensor:
    return _core.conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                                dilation, stream=_stream(input), deterministic=_deterministic())


@conv_transpose.register_fake
def _(input, weight, bias, stride, padding, output_padding, groups, dilation):
    return _empty(input, _conv_transpose_shape(input.shape, weight.shape, stride, padding,
                                               output_padding, groups, dilation))


@torch.library.custom_op("ups::conv_transpose_backward", mutates_args=())
def conv_transpose_backward(grad_output: Tensor, input: Tensor, weight: Tensor,
                            stride: List[int], padding: List[int], output_padding: List[int],
                            groups: int, dilation: List[int],
                            output_mask: List[bool]) -> Tuple[Tensor, Tensor, Tensor]:
    grads = _core.conv_transpose_backward(
        grad_output, input, weight, stride, padding, output_padding, groups, dilation,
        output_mask=output_mask, stream=_stream(grad_output), deterministic=_deterministic())
    # Gradients that were not asked for are empty tensors: custom ops return tensors only.
    return tuple(g if g is not None else grad_output.new_empty(0) for g in grads)


@conv_transpose_backward.register_fake
def _(grad_output, input, weight, stride, padding, output_padding, groups, dilation,
      output_mask):
    return (_empty(input, input.shape) if output_mask[0] else grad_output.new_empty(0),
            _empty(weight, weight.shape) if output_mask[1] else grad_output.new_empty(0),
            weight.new_empty((weight.shape[1] * groups,)) if output_mask[2] else
            grad_output.new_empty(0))


def _conv_transpose_setup(ctx, inputs, output):
    input, weight, bias, stride, padding, output_padding, groups, dilation = inputs
    ctx.save_for_backward(input, weight)
    ctx.has_bias = bias is not None
    ctx.options = (stride, padding, output_padding, groups, dilation)


def _conv_transpose_grad(ctx, grad):
    input, weight = ctx.saved_tensors
    mask = [ctx.needs_input_grad[0], ctx.needs_input_grad[1],
            ctx.has_bias and ctx.needs_input_grad[2]]
    grad_input, grad_weight, grad_bias = torch.ops.ups.conv_transpose_backward(
        grad, input, weight, *ctx.options, mask)
    return (grad_input if mask[0] else None, grad_weight if mask[1] else None,
            grad_bias if mask[2] else None, None, None, None, None, None)


torch.library.register_autograd("ups::conv_transpose", _conv_transpose_grad,
                                setup_context=_conv_transpose_setup)

# ---- max_pool -------------------------------------------------------------------------------


@torch.library.custom_op("ups::max_pool", mutates_args=())
def max_pool(input: Tensor, kernel_size: List[int], stride: List[int], padding: List[int],
             dilation: List[int], ceil_mode: bool, spatial_dims: int) -> Tuple[Tensor, Tensor]:
    return _core.max_pool(input, kernel_size, stride, padding, dilation, ceil_mode,
                          spatial_dims=spatial_dims, stream=_stream(input),
                          deterministic=_deterministic())


@max_pool.register_fake
def _(input, kernel_size, stride, padding, dilation, ceil_mode, spatial_dims):
    shape = _max_pool_shape(input.shape, kernel_size, stride, padding, dilation, ceil_mode,
                            spatial_dims)
    return _empty(input, shape), _empty(input, shape, index_dtype=True)


@torch.library.custom_op("ups::max_pool_backward", mutates_args=())
def max_pool_backward(grad_output: Tensor, indices: Tensor, input_size: List[int],
                      kernel_size: List[int], stride: List[int], padding: List[int],
                      dilation: List[int], ceil_mode: bool, spatial_dims: int) -> Tensor:
    return _core.max_pool_backward(grad_output, indices, input_size, kernel_size, stride, padding,
                                   dilation, ceil_mode, spatial_dims=spatial_dims,
                                   stream=_stream(grad_output), deterministic=_deterministic())


@max_pool_backward.register_fake
def _(grad_output, indices, input_size, kernel_size, stride, padding, dilation, ceil_mode,
      spatial_dims):
    return _empty(grad_output, input_size)


def _max_pool_setup(ctx, inputs, output):
    input, *options = inputs
    ctx.mark_non_differentiable(output[1])
    ctx.save_for_backward(output[1])
    ctx.input_size = list(input.shape)
    ctx.options = options


def _max_pool_grad(ctx, grad, grad_indices):
    (indices,) = ctx.saved_tensors
    grad_input = torch.ops.ups.max_pool_backward(grad, indices, ctx.input_size, *ctx.options)
    return (grad_input,) + (None,) * len(ctx.options)


torch.library.register_autograd("ups::max_pool", _max_pool_grad, setup_context=_max_pool_setup)

# ---- max_unpool -----------------------------------------------------------------------------


@torch.library.custom_op("ups::max_unpool", mutates_args=())
def max_unpool(input: Tensor, indices: Tensor, kernel_size: List[int], stride: List[int],
               padding: List[int], output_size: Optional[List[int]], spatial_dims: int) -> Tensor:
    return _core.max_unpool(input, indices, kernel_size, stride, padding, output_size,
                            spatial_dims=spatial_dims, stream=_stream(input),
                            deterministic=_deterministic())


@max_unpool.register_fake
def _(input, indices, kernel_size, stride, padding, output_size, spatial_dims):
    return _empty(input, _max_unpool_shape(input.shape, kernel_size, stride, padding, output_size,
                                           spatial_dims))


@torch.library.custom_op("ups::max_unpool_backward", mutates_args=())
def max_unpool_backward(grad_output: Tensor, indices: Tensor, kernel_size: List[int],
                        stride: List[int], padding: List[int], output_size: Optional[List[int]],
                        spatial_dims: int) -> Tensor:
    return _core.max_unpool_backward(grad_output, indices, kernel_size, stride, padding,
                                     output_size, spatial_dims=spatial_dims,
                                     stream=_stream(grad_output), deterministic=_deterministic())


@max_unpool_backward.register_fake
def _(grad_output, indices, kernel_size, stride, padding, output_size, spatial_dims):
    return _empty(grad_output, indices.shape)


def _max_unpool_setup(ctx, inputs, output):
    input, indices, *options = inputs
    ctx.save_for_backward(indices)
    ctx.options = options


def _max_unpool_grad(ctx, grad):
    (indices,) = ctx.saved_tensors
    grad_input = torch.ops.ups.max_unpool_backward(grad, indices, *ctx.options)
    return (grad_input, None) + (None,) * len(ctx.options)


torch.library.register_autograd("ups::max_unpool", _max_unpool_grad,
                                setup_context=_max_unpool_setup)

# ---- pixel_shuffle / pixel_unshuffle --------------------------------------------------------


@torch.library.custom_op("ups::pixel_shuffle", mutates_args=())
def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    return _core.pixel_shuffle(input, upscale_factor, stream=_stream(input))


@pixel_shuffle.register_fake
def _(input, upscale_factor):
    return _empty(input, _shuffle_shape(input.shape, upscale_factor, up=True))


@torch.library.custom_op("ups::pixel_unshuffle", mutates_args=())
def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    return _core.pixel_unshuffle(input, downscale_factor, stream=_stream(input))


@pixel_unshuffle.register_fake
def _(input, downscale_factor):
    return _empty(input, _shuffle_shape(input.shape, downscale_factor, up=False))


@torch.library.custom_op("ups::pixel_shuffle_backward", mutates_args=())
def pixel_shuffle_backward(grad_output: Tensor, upscale_factor: int) -> Tensor:
    return _core.pixel_shuffle_backward(grad_output, upscale_factor, stream=_stream(grad_output))


@pixel_shuffle_backward.register_fake
def _(grad_output, upscale_factor):
    return _empty(grad_output, _shuffle_shape(grad_output.shape, upscale_factor, up=False))


@torch.library.custom_op("ups::pixel_unshuffle_backward", mutates_args=())
def pixel_unshuffle_backward(grad_output: Tensor, downscale_factor: int) -> Tensor:
    return _core.pixel_unshuffle_backward(grad_output, downscale_factor,
                                          stream=_stream(grad_output))


@pixel_unshuffle_backward.register_fake
def _(grad_output, downscale_factor):
    return _empty(grad_output, _shuffle_shape(grad_output.shape, downscale_factor, up=True))


def _shuffle_setup(ctx, inputs, output):
    ctx.factor = inputs[1]


torch.library.register_autograd(
    "ups::pixel_shuffle",
    lambda ctx, grad: (torch.ops.ups.pixel_shuffle_backward(grad, ctx.factor), None),
    setup_context=_shuffle_setup)
torch.library.register_autograd(
    "ups::pixel_unshuffle",
    lambda ctx, grad: (torch.ops.ups.pixel_unshuffle_backward(grad, ctx.factor), None),
    setup_context=_shuffle_setup)
