# Type stubs of the ups package's public API. Arrays are typed as Any: ups takes any DLPack
# array (NumPy, PyTorch, CuPy, ...) and returns an array of the input's own kind.
from typing import Any, Dict, Optional, Sequence, Tuple, Union

__version__: str

IntOrInts = Union[int, Sequence[int]]
FloatOrFloats = Union[float, Sequence[float]]

class Error(ValueError):
    """Raised by ups's ops; the message is the C++ library's."""

    code: str

def set_deterministic(on: bool) -> None: ...
def deterministic() -> bool: ...
def cuda_available() -> bool: ...
def info() -> Dict[str, Any]: ...
def interpolate(
    input: Any,
    size: Optional[IntOrInts] = None,
    scale_factor: Optional[FloatOrFloats] = None,
    mode: str = "nearest",
    align_corners: Optional[bool] = None,
    recompute_scale_factor: Optional[bool] = None,
    antialias: bool = False,
    *,
    stream: Any = None,
    deterministic: Optional[bool] = None,
) -> Any: ...
def resize(
    input: Any,
    sizes: Optional[IntOrInts] = None,
    scales: Optional[FloatOrFloats] = None,
    mode: str = "nearest",
    *,
    axes: Optional[IntOrInts] = None,
    coordinate_transformation_mode: str = "half_pixel",
    nearest_mode: Optional[str] = None,
    cubic_coeff_a: Optional[float] = None,
    exclude_outside: bool = False,
    antialias: bool = False,
    roi: Optional[Sequence[float]] = None,
    extrapolation_value: float = 0.0,
    keep_aspect_ratio_policy: str = "stretch",
    stream: Any = None,
    deterministic: Optional[bool] = None,
) -> Any: ...
def interpolate_backward(
    grad_output: Any,
    input_size: Sequence[int],
    size: Optional[IntOrInts] = None,
    scale_factor: Optional[FloatOrFloats] = None,
    mode: str = "nearest",
    align_corners: Optional[bool] = None,
    recompute_scale_factor: Optional[bool] = None,
    antialias: bool = False,
    *,
    stream: Any = None,
    deterministic: Optional[bool] = None,
) -> Any: ...
def conv_transpose(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrInts = 1,
    padding: IntOrInts = 0,
    output_padding: IntOrInts = 0,
    groups: int = 1,
    dilation: IntOrInts = 1,
    output_size: Optional[IntOrInts] = None,
    *,
    algorithm: str = "auto",
    stream: Any = None,
    deterministic: Optional[bool] = None,
) -> Any: ...
def conv_transpose_backward(
    grad_output: Any,
    input: Any,
    weight: Any,
    stride: IntOrInts = 1,
    padding: IntOrInts = 0,
    output_padding: IntOrInts = 0,
    groups: int = 1,
    dilation: IntOrInts = 1,
    output_size: Optional[IntOrInts] = None,
    *,
    output_mask: Sequence[bool] = (True, True, True),
    algorithm: str = "auto",
    stream: Any = None,
    deterministic: Optional[bool] = None,
) -> Tuple[Any, Any, Any]: ...
def max_pool(
    input: Any,
    kernel_size: IntOrInts,
    stride: Optional[IntOrInts] = None,
    padding: IntOrInts = 0,
    dilation: IntOrInts = 1,
    ceil_mode: bool = False,
    *,
    spatial_dims: Optional[int] = None,
    stream: Any = None,
    deterministic: Optional[bool] = None,
) -> Tuple[Any, Any]: ...
def max_pool_backward(
    grad_output: Any,
    indices: Any,
    input_size: Sequence[int],
    kernel_size: IntOrInts,
    stride: Optional[IntOrInts] = None,
    padding: IntOrInts = 0,
    dilation: IntOrInts = 1,
    ceil_mode: bool = False,
    *,
    spatial_dims: Optional[int] = None,
    stream: Any = None,
    deterministic: Optional[bool] = None,
) -> Any: ...
def max_unpool(
    input: Any,
    indices: Any,
    kernel_size: IntOrInts,
    stride: Optional[IntOrInts] = None,
    padding: IntOrInts = 0,
    output_size: Optional[IntOrInts] = None,
    *,
    spatial_dims: Optional[int] = None,
    stream: Any = None,
    deterministic: Optional[bool] = None,
) -> Any: ...
def max_unpool_backward(
    grad_output: Any,
    indices: Any,
    kernel_size: IntOrInts,
    stride: Optional[IntOrInts] = None,
    padding: IntOrInts = 0,
    output_size: Optional[IntOrInts] = None,
    *,
    spatial_dims: Optional[int] = None,
    stream: Any = None,
    deterministic: Optional[bool] = None,
) -> Any: ...
def pixel_shuffle(input: Any, upscale_factor: int, *, stream: Any = None) -> Any: ...
def pixel_unshuffle(input: Any, downscale_factor: int, *, stream: Any = None) -> Any: ...
def pixel_shuffle_backward(grad_output: Any, upscale_factor: int, *, stream: Any = None) -> Any: ...
def pixel_unshuffle_backward(
    grad_output: Any, downscale_factor: int, *, stream: Any = None
) -> Any: ...
