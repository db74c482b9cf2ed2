"""ups: PyTorch's upsampling layers (interpolate, transposed convolution, max pooling with
indices and unpooling, pixel shuffle) and ONNX's Resize on the CPU and on CUDA, for any DLPack
array.

Each op takes NumPy, PyTorch, CuPy or other DLPack arrays and returns an array of the input's
own kind, computed by ups's C++ library::

    import numpy as np, ups
    x = np.random.rand(1, 3, 8, 8).astype(np.float32)
    y = ups.interpolate(x, scale_factor=2, mode="bilinear")   # a (1, 3, 16, 16) NumPy array

``ups.torch`` holds drop-in replacements for ``torch.nn.functional``'s ops and ``torch.nn``'s
modules, registered as ``torch.ops.ups.*`` with autograd and torch.compile support.
"""

from ._core import (
    Error,
    conv_transpose,
    conv_transpose_backward,
    cuda_available,
    deterministic,
    info,
    interpolate,
    interpolate_backward,
    max_pool,
    max_pool_backward,
    max_unpool,
    max_unpool_backward,
    pixel_shuffle,
    pixel_shuffle_backward,
    pixel_unshuffle,
    pixel_unshuffle_backward,
    resize,
    set_deterministic,
)
from ._ext import __version__

__all__ = [
    "Error",
    "__version__",
    "conv_transpose",
    "conv_transpose_backward",
    "cuda_available",
    "deterministic",
    "info",
    "interpolate",
    "interpolate_backward",
    "max_pool",
    "max_pool_backward",
    "max_unpool",
    "max_unpool_backward",
    "pixel_shuffle",
    "pixel_shuffle_backward",
    "pixel_unshuffle",
    "pixel_unshuffle_backward",
    "resize",
    "set_deterministic",
]
