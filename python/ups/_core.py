"""The framework-neutral ops: DLPack arrays in, arrays of the same kind out.

Every op reads its inputs through DLPack (``__dlpack__``) or the buffer protocol, allocates its
outputs with the input's own library (NumPy, PyTorch, CuPy, or any array-API library) on the
input's device, and runs ups's C++ op on them. Outputs keep a channels-last input's layout.
"""

from __future__ import annotations

import numbers
import operator
from typing import Any, List, Optional, Sequence, Tuple, Union

from . import _ext

Error = _ext.Error

# DLPack device types (dlpack.h); kDLCUDAHost (pinned host memory) counts as the CPU.
_KDL_CPU = 1
_KDL_CUDA = 2
_KDL_CUDA_MANAGED = 13

IntOrInts = Union[int, Sequence[int]]


# ---- settings and build information ---------------------------------------------------------


def set_deterministic(on: bool) -> None:
    """Sets ups's process-wide determinism flag.

    While it is on, every op runs a deterministic algorithm (each has one) and asking for a
    nondeterministic one, such as ``conv_transpose(..., algorithm="scatter")``, raises
    :class:`ups.Error`. It starts from the environment variable ``UPS_DETERMINISTIC``. The
    ``deterministic=`` argument of an op overrides it for that call.
    """
    _ext.set_deterministic(bool(on))


def deterministic() -> bool:
    """The process-wide determinism flag (see :func:`set_deterministic`)."""
    return _ext.deterministic()


def cuda_available() -> bool:
    """True when this build has the CUDA backend and a usable CUDA device is present."""
    return _ext.cuda_available()


def info() -> dict:
    """How this copy of ups was built and what it finds at run time.

    Returns a dict with ``version``; ``build`` (``has_cuda``, ``has_cudnn``, ``cuda_version``,
    ``cuda_archs``, ``cudnn_version``, ``has_onednn``, ``onednn_version``, ``build_type``);
    ``runtime`` (the CUDA runtime, driver and cuDNN versions loaded, and ``problems``, one
    sentence per mismatch); ``cuda_available``, ``cuda_device_count``; ``deterministic``;
    ``interpolate_modes``; and ``conv_transpose_algorithms`` (name, devices, determinism,
    available, description).
    """
    return {
        "version": _ext.__version__,
        "build": _ext.build_info(),
        "runtime": _ext.runtime_info(),
        "cuda_available": _ext.cuda_available(),
        "cuda_device_count": _ext.cuda_device_count(),
        "deterministic": _ext.deterministic(),
        "interpolate_modes": _ext.interp_modes(),
        "conv_transpose_algorithms": _ext.conv_transpose_algorithms(),
    }


# ---- argument normalisation -----------------------------------------------------------------


def _ints(value: Optional[IntOrInts], name: str) -> List[int]:
    """None -> [], n -> [n], a sequence -> a list of ints (ups broadcasts a single value)."""
    if value is None:
        return []
    try:
        return [operator.index(value)]
    except TypeError:  # not a single integer (a NumPy array also has __index__, and refuses)
        pass
    try:
        return [operator.index(v) for v in value]
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence of ints, got {value!r}") from None


def _floats(value: Any, name: str) -> List[float]:
    if value is None:
        return []
    if isinstance(value, numbers.Real):
        return [float(value)]
    try:
        return [float(v) for v in value]
    except TypeError:
        raise TypeError(f"{name} must be a float or a sequence of floats, got {value!r}") from None


def _stream_handle(stream: Any) -> int:
    """A CUDA stream as an integer cudaStream_t: an int, a torch.cuda.Stream, a CuPy stream."""
    if stream is None:
        return 0
    if isinstance(stream, numbers.Integral):
        return int(stream)
    for attr in ("cuda_stream", "ptr"):
        handle = getattr(stream, attr, None)
        if isinstance(handle, numbers.Integral):
            return int(handle)
    raise TypeError(
        f"stream must be None, an int (cudaStream_t) or a stream object, got {stream!r}")


def _dlpack_device_type(x: Any) -> int:
    device = getattr(x, "__dlpack_device__", None)
    return int(device()[0]) if device is not None else _KDL_CPU


def _is_cuda(x: Any) -> bool:
    return _dlpack_device_type(x) in (_KDL_CUDA, _KDL_CUDA_MANAGED)


def _exported(x: Any, cuda: bool, handle: int) -> Any:
    """What the extension imports for @p x.

    CUDA arrays are exported here with the stream ups will run on, so that the producer orders its
    pending work on @p x before that stream, as the DLPack protocol asks of a consumer. Host
    arrays go to the extension as they are (it calls __dlpack__ or reads the buffer protocol).
    """
    if _framework(x) == "torch" and x.requires_grad:
        x = x.detach()
    if not cuda:
        return x
    # DLPack reserves 0 on CUDA; the legacy default stream is 1.
    dl_stream = handle if handle != 0 else 1
    if _framework(x) == "torch":
        import torch

        # PyTorch exports only tensors of the current device (and orders them on its streams).
        with torch.cuda.device(x.device):
            return _dlpack(x, dl_stream)
    return _dlpack(x, dl_stream)


def _dlpack(x: Any, dl_stream: int) -> Any:
    try:
        return x.__dlpack__(stream=dl_stream, max_version=(1, 0))
    except TypeError:  # a producer older than DLPack 1.0's max_version
        return x.__dlpack__(stream=dl_stream)


# ---- allocation in the input's own library --------------------------------------------------


def _framework(x: Any) -> str:
    return type(x).__module__.partition(".")[0]


def _strides_in_elements(x: Any) -> Optional[Tuple[int, ...]]:
    """NumPy-style byte strides (NumPy, CuPy) in elements, or None."""
    strides = getattr(x, "strides", None)
    itemsize = getattr(x, "itemsize", None)
    if strides is None or not itemsize:
        return None
    return tuple(s // itemsize for s in strides)


def _is_channels_last(x: Any) -> bool:
    """True for a rank-4/5 array in channels-last (N, *spatial, C) memory order that is not also
    C-contiguous: PyTorch's rule for when an op's output keeps the channels-last layout."""
    shape = tuple(x.shape)
    if len(shape) not in (4, 5):
        return False
    if _framework(x) == "torch":
        import torch

        fmt = torch.channels_last if len(shape) == 4 else torch.channels_last_3d
        return bool(x.is_contiguous(memory_format=fmt)) and not bool(x.is_contiguous())
    strides = _strides_in_elements(x)
    if strides is None:
        return False

    def matches(order: Sequence[int]) -> bool:
        expected, step = [0] * len(shape), 1
        for d in reversed(order):
            expected[d] = step
            step *= shape[d]
        return all(shape[d] == 1 or strides[d] == expected[d] for d in range(len(shape)))

    rank = len(shape)
    return matches([0] + list(range(2, rank)) + [1]) and not matches(list(range(rank)))


def _empty(like: Any, shape: Sequence[int], index_dtype: bool = False,
           channels_last: bool = False) -> Any:
    """An uninitialised array of @p shape in @p like's library and on its device, with @p like's
    dtype (int64 when @p index_dtype), channels-last when asked and the rank allows it."""
    shape = tuple(shape)  # PyTorch's symbolic sizes stay symbolic (ups.torch's fake kernels)
    rank = len(shape)
    perm = None
    if channels_last and rank in (4, 5):
        perm = [0] + list(range(2, rank)) + [1]
    inverse = None
    if perm is not None:
        inverse = [perm.index(d) for d in range(rank)]
    alloc_shape = tuple(shape[d] for d in perm) if perm is not None else shape
    kind = _framework(like)
    if kind == "torch":
        import torch

        dtype = torch.int64 if index_dtype else like.dtype
        if perm is None:
            return torch.empty(shape, dtype=dtype, device=like.device)
        fmt = torch.channels_last if rank == 4 else torch.channels_last_3d
        return torch.empty(shape, dtype=dtype, device=like.device, memory_format=fmt)
    if kind == "numpy" or (not _is_cuda(like) and not hasattr(like, "__array_namespace__")):
        import numpy

        dtype = numpy.int64 if index_dtype else numpy.asarray(like).dtype
        out = numpy.empty(alloc_shape, dtype=dtype)
        return out.transpose(inverse) if inverse is not None else out
    if kind == "cupy":
        import cupy

        with like.device:
            out = cupy.empty(alloc_shape, dtype=cupy.int64 if index_dtype else like.dtype)
        return out.transpose(inverse) if inverse is not None else out
    namespace = getattr(like, "__array_namespace__", None)
    if namespace is None:
        raise TypeError(f"ups cannot allocate an output like {type(like).__name__}: it is on a "
                        "CUDA device and has no __array_namespace__")
    xp = namespace()
    out = xp.empty(alloc_shape, dtype=xp.int64 if index_dtype else like.dtype, device=like.device)
    return xp.permute_dims(out, tuple(inverse)) if inverse is not None else out


class _Call:
    """The device, stream and determinism of one op call, and the arrays handed to C++."""

    def __init__(self, first: Any, stream: Any, deterministic: Optional[bool]):
        self.cuda = _is_cuda(first)
        self.stream = _stream_handle(stream) if self.cuda else 0
        self.deterministic = None if deterministic is None else bool(deterministic)

    def __call__(self, x: Any) -> Any:
        return _exported(x, self.cuda, self.stream)


# ---- ops ------------------------------------------------------------------------------------


def _interp_options(size: Any, scale_factor: Any, mode: str, align_corners: Optional[bool],
                    recompute_scale_factor: Optional[bool], antialias: bool) -> dict:
    return dict(mode=str(mode), size=_ints(size, "size"),
                scale_factor=_floats(scale_factor, "scale_factor"),
                align_corners=None if align_corners is None else bool(align_corners),
                recompute_scale_factor=bool(recompute_scale_factor), antialias=bool(antialias))


def interpolate(input: Any, size: Optional[IntOrInts] = None, scale_factor: Any = None,
                mode: str = "nearest", align_corners: Optional[bool] = None,
                recompute_scale_factor: Optional[bool] = None, antialias: bool = False, *,
                stream: Any = None, deterministic: Optional[bool] = None) -> Any:
    """Resamples ``input`` (N, C, *spatial) as ``torch.nn.functional.interpolate`` does.

    Modes: ``nearest``, ``nearest-exact``, ``linear`` (3-D input), ``bilinear``, ``bicubic``,
    ``lanczos`` (4-D; PyTorch 2.15's Lanczos-3, antialias=True required, float32/64 only),
    ``trilinear``, ``tricubic`` (5-D; antialias allowed) and ``area``; give exactly one of
    ``size`` and ``scale_factor`` (a number or one per spatial dim). dtypes: float32, float64,
    float16, bfloat16 (and uint8 for the nearest modes). lanczos, tricubic and antialiased
    trilinear have no backward. CUDA arrays run on ``stream`` (an int cudaStream_t, a
    ``torch.cuda.Stream`` or a CuPy stream; None is the legacy default stream), which is also
    the stream passed to the input's ``__dlpack__``. Raises :class:`ups.Error` with PyTorch's
    message for invalid arguments.
    """
    options = _interp_options(size, scale_factor, mode, align_corners, recompute_scale_factor,
                              antialias)
    shape = _ext.interpolate_output_shape(list(input.shape), **options)
    out = _empty(input, shape, channels_last=_is_channels_last(input))
    call = _Call(input, stream, deterministic)
    _ext.interpolate(call(input), call(out), **options, stream=call.stream,
                     deterministic=call.deterministic)
    return out


def interpolate_backward(grad_output: Any, input_size: Sequence[int],
                         size: Optional[IntOrInts] = None, scale_factor: Any = None,
                         mode: str = "nearest", align_corners: Optional[bool] = None,
                         recompute_scale_factor: Optional[bool] = None, antialias: bool = False,
                         *, stream: Any = None, deterministic: Optional[bool] = None) -> Any:
    """The gradient of :func:`interpolate` with respect to its input, of shape ``input_size``,
    from ``grad_output``; the other arguments are the forward call's. Deterministic: a gather
    without atomics, bit for bit the same on every run."""
    options = _interp_options(size, scale_factor, mode, align_corners, recompute_scale_factor,
                              antialias)
    grad_input = _empty(grad_output, _ints(input_size, "input_size"),
                        channels_last=_is_channels_last(grad_output))
    call = _Call(grad_output, stream, deterministic)
    _ext.interpolate_backward(call(grad_output), call(grad_input), **options, stream=call.stream,
                              deterministic=call.deterministic)
    return grad_input


def resize(input: Any, sizes: Optional[IntOrInts] = None, scales: Any = None,
           mode: str = "nearest", *, axes: Optional[IntOrInts] = None,
           coordinate_transformation_mode: str = "half_pixel", nearest_mode: Optional[str] = None,
           cubic_coeff_a: Optional[float] = None, exclude_outside: bool = False,
           antialias: bool = False, roi: Any = None, extrapolation_value: float = 0.0,
           keep_aspect_ratio_policy: str = "stretch", stream: Any = None,
           deterministic: Optional[bool] = None) -> Any:
    """Resizes ``input`` (rank 1 to 5) by ONNX's ``Resize`` operator (opset 19 and later).

    The keywords are Resize's attributes and inputs: exactly one of ``sizes`` and ``scales``,
    one entry per dim of ``input`` or per entry of ``axes`` (which may name any dims, N and C
    included); ``mode`` ``nearest``, ``linear`` or ``cubic``; ``roi`` (starts, then ends) for
    ``tf_crop_and_resize``. ``nearest_mode`` only with nearest and ``cubic_coeff_a`` only with
    cubic (None: ONNX's defaults), ``antialias`` and ``exclude_outside`` only with linear and
    cubic. dtypes: float32, float64, float16, bfloat16 (and uint8 for nearest). Streams as in
    :func:`interpolate`. Raises :class:`ups.Error` for invalid arguments.
    """
    options = dict(mode=str(mode), sizes=_ints(sizes, "sizes"), scales=_floats(scales, "scales"),
                   axes=_ints(axes, "axes"),
                   coordinate_transformation_mode=str(coordinate_transformation_mode),
                   nearest_mode=None if nearest_mode is None else str(nearest_mode),
                   cubic_coeff_a=None if cubic_coeff_a is None else float(cubic_coeff_a),
                   exclude_outside=bool(exclude_outside), antialias=bool(antialias),
                   roi=_floats(roi, "roi"), extrapolation_value=float(extrapolation_value),
                   keep_aspect_ratio_policy=str(keep_aspect_ratio_policy))
    shape = _ext.resize_output_shape(list(input.shape), **options)
    out = _empty(input, shape, channels_last=_is_channels_last(input))
    call = _Call(input, stream, deterministic)
    _ext.resize(call(input), call(out), **options, stream=call.stream,
                deterministic=call.deterministic)
    return out


def _conv_options(stride: IntOrInts, padding: IntOrInts, output_padding: IntOrInts, groups: int,
                  dilation: IntOrInts, output_size: Optional[IntOrInts]) -> dict:
    return dict(stride=_ints(stride, "stride"), padding=_ints(padding, "padding"),
                output_padding=_ints(output_padding, "output_padding"),
                dilation=_ints(dilation, "dilation"), groups=operator.index(groups),
                output_size=_ints(output_size, "output_size"))


def conv_transpose(input: Any, weight: Any, bias: Any = None, stride: IntOrInts = 1,
                   padding: IntOrInts = 0, output_padding: IntOrInts = 0, groups: int = 1,
                   dilation: IntOrInts = 1, output_size: Optional[IntOrInts] = None, *,
                   algorithm: str = "auto", stream: Any = None,
                   deterministic: Optional[bool] = None) -> Any:
    """Transposed convolution of ``input`` (N, C_in, *spatial; 1 to 3 spatial dims) with
    ``weight`` (C_in, C_out / groups, *kernel) plus ``bias`` (C_out), as
    ``torch.nn.functional.conv_transpose{1,2,3}d`` computes it; ``output_size`` (one size per
    spatial dim) replaces ``output_padding`` as in ``ConvTranspose*d.forward``. ``algorithm`` is
    one of ``auto``, ``gemm`` (CPU), ``onednn`` (CPU, builds with oneDNN), ``gather``,
    ``scatter`` (CUDA, nondeterministic), ``cudnn`` and ``benchmark`` (``info()`` lists what
    this build has). dtypes: float32, float64, float16, bfloat16, all alike."""
    options = _conv_options(stride, padding, output_padding, groups, dilation, output_size)
    shape = _ext.conv_transpose_output_shape(list(input.shape), list(weight.shape), **options)
    out = _empty(input, shape, channels_last=_is_channels_last(input))
    call = _Call(input, stream, deterministic)
    _ext.conv_transpose(call(input), call(weight), None if bias is None else call(bias), call(out),
                        **options, algorithm=str(algorithm), stream=call.stream,
                        deterministic=call.deterministic)
    return out


def conv_transpose_backward(grad_output: Any, input: Any, weight: Any, stride: IntOrInts = 1,
                            padding: IntOrInts = 0, output_padding: IntOrInts = 0,
                            groups: int = 1, dilation: IntOrInts = 1,
                            output_size: Optional[IntOrInts] = None, *,
                            output_mask: Sequence[bool] = (True, True, True),
                            algorithm: str = "auto", stream: Any = None,
                            deterministic: Optional[bool] = None) -> Tuple[Any, Any, Any]:
    """The gradients of :func:`conv_transpose` with respect to ``input``, ``weight`` and the
    bias (shape (C_out)), from ``grad_output``, as PyTorch's autograd computes them; the other
    arguments are the forward call's. ``output_mask`` says which of the three to compute; the
    others are returned as None. ``algorithm``: ``auto``, ``gemm`` (CPU), ``onednn`` (CPU),
    ``gather``, ``cudnn`` or ``benchmark`` (``scatter`` has no backward form). The native
    algorithms are deterministic whatever the flag says; ``cudnn`` keeps to deterministic
    engines when it is on."""
    options = _conv_options(stride, padding, output_padding, groups, dilation, output_size)
    want_input, want_weight, want_bias = (bool(m) for m in output_mask)
    grad_input = (_empty(input, tuple(input.shape), channels_last=_is_channels_last(input))
                  if want_input else None)
    grad_weight = (_empty(weight, tuple(weight.shape), channels_last=_is_channels_last(weight))
                   if want_weight else None)
    c_out = int(weight.shape[1]) * options["groups"] if len(weight.shape) > 1 else 0
    grad_bias = _empty(weight, (c_out,)) if want_bias else None
    call = _Call(grad_output, stream, deterministic)
    _ext.conv_transpose_backward(call(grad_output), call(input), call(weight),
                                 None if grad_input is None else call(grad_input),
                                 None if grad_weight is None else call(grad_weight),
                                 None if grad_bias is None else call(grad_bias), **options,
                                 algorithm=str(algorithm), stream=call.stream,
                                 deterministic=call.deterministic)
    return grad_input, grad_weight, grad_bias


def _pool_options(kernel_size: IntOrInts, stride: Optional[IntOrInts], padding: IntOrInts,
                  dilation: IntOrInts, ceil_mode: bool, spatial_dims: Optional[int]) -> dict:
    return dict(kernel_size=_ints(kernel_size, "kernel_size"), stride=_ints(stride, "stride"),
                padding=_ints(padding, "padding"), dilation=_ints(dilation, "dilation"),
                ceil_mode=bool(ceil_mode), spatial_dims=int(spatial_dims or 0))


def max_pool(input: Any, kernel_size: IntOrInts, stride: Optional[IntOrInts] = None,
             padding: IntOrInts = 0, dilation: IntOrInts = 1, ceil_mode: bool = False, *,
             spatial_dims: Optional[int] = None, stream: Any = None,
             deterministic: Optional[bool] = None) -> Tuple[Any, Any]:
    """Max pooling with indices, as ``torch.nn.functional.max_pool{1,2,3}d(...,
    return_indices=True)``: returns ``(values, indices)``, the indices int64 flat positions
    within each input plane, ready for :func:`max_unpool`. The pooling rank is the input rank
    minus 2, or ``spatial_dims`` for an unbatched (C, *spatial) input. Every dtype ups has."""
    options = _pool_options(kernel_size, stride, padding, dilation, ceil_mode, spatial_dims)
    shape = _ext.max_pool_output_shape(list(input.shape), **options)
    channels_last = _is_channels_last(input)
    out = _empty(input, shape, channels_last=channels_last)
    indices = _empty(input, shape, index_dtype=True, channels_last=channels_last)
    call = _Call(input, stream, deterministic)
    _ext.max_pool(call(input), call(out), call(indices), **options, stream=call.stream,
                  deterministic=call.deterministic)
    return out, indices


def max_pool_backward(grad_output: Any, indices: Any, input_size: Sequence[int],
                      kernel_size: IntOrInts, stride: Optional[IntOrInts] = None,
                      padding: IntOrInts = 0, dilation: IntOrInts = 1, ceil_mode: bool = False,
                      *, spatial_dims: Optional[int] = None, stream: Any = None,
                      deterministic: Optional[bool] = None) -> Any:
    """The gradient of :func:`max_pool` with respect to its input (shape ``input_size``), from
    ``grad_output`` and the forward's ``indices``; deterministic (a gather)."""
    options = _pool_options(kernel_size, stride, padding, dilation, ceil_mode, spatial_dims)
    grad_input = _empty(grad_output, _ints(input_size, "input_size"),
                        channels_last=_is_channels_last(grad_output))
    call = _Call(grad_output, stream, deterministic)
    _ext.max_pool_backward(call(grad_output), call(indices), call(grad_input), **options,
                           stream=call.stream, deterministic=call.deterministic)
    return grad_input


def _unpool_options(kernel_size: IntOrInts, stride: Optional[IntOrInts], padding: IntOrInts,
                    output_size: Optional[IntOrInts], spatial_dims: Optional[int]) -> dict:
    return dict(kernel_size=_ints(kernel_size, "kernel_size"), stride=_ints(stride, "stride"),
                padding=_ints(padding, "padding"), output_size=_ints(output_size, "output_size"),
                spatial_dims=int(spatial_dims or 0))


def max_unpool(input: Any, indices: Any, kernel_size: IntOrInts,
               stride: Optional[IntOrInts] = None, padding: IntOrInts = 0,
               output_size: Optional[IntOrInts] = None, *, spatial_dims: Optional[int] = None,
               stream: Any = None, deterministic: Optional[bool] = None) -> Any:
    """``torch.nn.functional.max_unpool{1,2,3}d``: a zero-filled output with each input value
    at the flat position its int64 index names in its plane. An index outside the output plane
    raises :class:`ups.Error` ("Found an invalid max index: ..."), never writes out of bounds.
    Duplicate indices resolve deterministically (the last input position wins) on the CPU, and
    on CUDA when determinism is on."""
    options = _unpool_options(kernel_size, stride, padding, output_size, spatial_dims)
    shape = _ext.max_unpool_output_shape(list(input.shape), **options)
    out = _empty(input, shape, channels_last=_is_channels_last(input))
    call = _Call(input, stream, deterministic)
    _ext.max_unpool(call(input), call(indices), call(out), **options, stream=call.stream,
                    deterministic=call.deterministic)
    return out


def max_unpool_backward(grad_output: Any, indices: Any, kernel_size: IntOrInts,
                        stride: Optional[IntOrInts] = None, padding: IntOrInts = 0,
                        output_size: Optional[IntOrInts] = None, *,
                        spatial_dims: Optional[int] = None, stream: Any = None,
                        deterministic: Optional[bool] = None) -> Any:
    """The gradient of :func:`max_unpool` with respect to its input (the shape of ``indices``):
    ``grad_output`` gathered at the indices."""
    options = _unpool_options(kernel_size, stride, padding, output_size, spatial_dims)
    grad_input = _empty(grad_output, tuple(indices.shape),
                        channels_last=_is_channels_last(grad_output))
    call = _Call(grad_output, stream, deterministic)
    _ext.max_unpool_backward(call(grad_output), call(indices), call(grad_input), **options,
                             stream=call.stream, deterministic=call.deterministic)
    return grad_input


def _reshape(x: Any, shape: Sequence[int]) -> Any:
    if hasattr(x, "reshape"):
        return x.reshape(tuple(shape))
    return x.__array_namespace__().reshape(x, tuple(shape))


def _shuffle(run, shape_of, input: Any, factor: int, stream: Any) -> Any:
    factor = operator.index(factor)
    in_shape = tuple(int(s) for s in input.shape)
    out_shape = shape_of(list(in_shape), factor)  # validates every rank, as PyTorch does
    # ups's views hold up to 5 dims; more leading dims are merged into one batch dim.
    src = input
    if len(in_shape) > 5:
        src = _reshape(input, (-1,) + in_shape[-3:])
    out = _empty(src, shape_of(list(src.shape), factor),
                 channels_last=_is_channels_last(src))
    call = _Call(src, stream, None)
    run(call(src), call(out), factor, stream=call.stream)
    return _reshape(out, out_shape) if len(in_shape) > 5 else out


def pixel_shuffle(input: Any, upscale_factor: int, *, stream: Any = None) -> Any:
    """``torch.nn.functional.pixel_shuffle``: (*, C * r^2, H, W) -> (*, C, H * r, W * r)."""
    return _shuffle(_ext.pixel_shuffle, _ext.pixel_shuffle_output_shape, input, upscale_factor,
                    stream)


def pixel_unshuffle(input: Any, downscale_factor: int, *, stream: Any = None) -> Any:
    """``torch.nn.functional.pixel_unshuffle``: (*, C, H * r, W * r) -> (*, C * r^2, H, W)."""
    return _shuffle(_ext.pixel_unshuffle, _ext.pixel_unshuffle_output_shape, input,
                    downscale_factor, stream)


def pixel_shuffle_backward(grad_output: Any, upscale_factor: int, *, stream: Any = None) -> Any:
    """The gradient of :func:`pixel_shuffle`: (*, C, H * r, W * r) -> (*, C * r^2, H, W)."""
    return _shuffle(_ext.pixel_shuffle_backward, _ext.pixel_unshuffle_output_shape, grad_output,
                    upscale_factor, stream)


def pixel_unshuffle_backward(grad_output: Any, downscale_factor: int, *,
                             stream: Any = None) -> Any:
    """The gradient of :func:`pixel_unshuffle`: (*, C * r^2, H, W) -> (*, C, H * r, W * r)."""
    return _shuffle(_ext.pixel_unshuffle_backward, _ext.pixel_shuffle_output_shape, grad_output,
                    downscale_factor, stream)
