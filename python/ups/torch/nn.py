"""``torch.nn`` modules whose forward runs ups's ops.

Each class subclasses its ``torch.nn`` namesake, so it takes the same constructor arguments,
has the same parameters, buffers and ``state_dict`` keys, and passes ``isinstance`` checks for
the PyTorch class: a model can swap ``torch.nn.X`` for ``ups.torch.nn.X`` and load the same
checkpoint. Only ``forward`` differs.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from . import (conv_transpose1d, conv_transpose2d, conv_transpose3d, interpolate, max_pool1d,
               max_pool2d, max_pool3d, max_unpool1d, max_unpool2d, max_unpool3d, pixel_shuffle,
               pixel_unshuffle)

__all__ = [
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
    "PixelShuffle",
    "PixelUnshuffle",
    "Upsample",
    "UpsamplingBilinear2d",
    "UpsamplingNearest2d",
]


class Upsample(torch.nn.Upsample):
    """``torch.nn.Upsample`` computed by ups."""

    def forward(self, input: Tensor) -> Tensor:
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)


# The torch classes come first so that their constructors run; forward comes from Upsample.
class UpsamplingNearest2d(torch.nn.UpsamplingNearest2d, Upsample):
    """``torch.nn.UpsamplingNearest2d`` computed by ups."""


class UpsamplingBilinear2d(torch.nn.UpsamplingBilinear2d, Upsample):
    """``torch.nn.UpsamplingBilinear2d`` computed by ups."""


def _conv_forward(module, fn, n: int, input: Tensor, output_size) -> Tensor:
    if module.padding_mode != "zeros":
        raise ValueError(f"Only `zeros` padding mode is supported for {type(module).__name__}")
    output_padding = module._output_padding(input, output_size, module.stride, module.padding,
                                            module.kernel_size, n, module.dilation)
    return fn(input, module.weight, module.bias, module.stride, module.padding, output_padding,
              module.groups, module.dilation)


class ConvTranspose1d(torch.nn.ConvTranspose1d):
    """``torch.nn.ConvTranspose1d`` computed by ups."""

    def forward(self, input: Tensor, output_size: Optional[list[int]] = None) -> Tensor:
        return _conv_forward(self, conv_transpose1d, 1, input, output_size)


class ConvTranspose2d(torch.nn.ConvTranspose2d):
    """``torch.nn.ConvTranspose2d`` computed by ups."""

    def forward(self, input: Tensor, output_size: Optional[list[int]] = None) -> Tensor:
        return _conv_forward(self, conv_transpose2d, 2, input, output_size)


class ConvTranspose3d(torch.nn.ConvTranspose3d):
    """``torch.nn.ConvTranspose3d`` computed by ups."""

    def forward(self, input: Tensor, output_size: Optional[list[int]] = None) -> Tensor:
        return _conv_forward(self, conv_transpose3d, 3, input, output_size)


def _pool_forward(module, fn, input: Tensor):
    return fn(input, module.kernel_size, module.stride, module.padding, module.dilation,
              ceil_mode=module.ceil_mode, return_indices=module.return_indices)


class MaxPool1d(torch.nn.MaxPool1d):
    """``torch.nn.MaxPool1d`` computed by ups."""

    def forward(self, input: Tensor):
        return _pool_forward(self, max_pool1d, input)


class MaxPool2d(torch.nn.MaxPool2d):
    """``torch.nn.MaxPool2d`` computed by ups."""

    def forward(self, input: Tensor):
        return _pool_forward(self, max_pool2d, input)


class MaxPool3d(torch.nn.MaxPool3d):
    """``torch.nn.MaxPool3d`` computed by ups."""

    def forward(self, input: Tensor):
        return _pool_forward(self, max_pool3d, input)


class MaxUnpool1d(torch.nn.MaxUnpool1d):
    """``torch.nn.MaxUnpool1d`` computed by ups."""

    def forward(self, input: Tensor, indices: Tensor,
                output_size: Optional[list[int]] = None) -> Tensor:
        return max_unpool1d(input, indices, self.kernel_size, self.stride, self.padding,
                            output_size)


class MaxUnpool2d(torch.nn.MaxUnpool2d):
    """``torch.nn.MaxUnpool2d`` computed by ups."""

    def forward(self, input: Tensor, indices: Tensor,
                output_size: Optional[list[int]] = None) -> Tensor:
        return max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding,
                            output_size)


class MaxUnpool3d(torch.nn.MaxUnpool3d):
    """``torch.nn.MaxUnpool3d`` computed by ups."""

    def forward(self, input: Tensor, indices: Tensor,
                output_size: Optional[list[int]] = None) -> Tensor:
        return max_unpool3d(input, indices, self.kernel_size, self.stride, self.padding,
                            output_size)


class PixelShuffle(torch.nn.PixelShuffle):
    """``torch.nn.PixelShuffle`` computed by ups."""

    def forward(self, input: Tensor) -> Tensor:
        return pixel_shuffle(input, self.upscale_factor)


class PixelUnshuffle(torch.nn.PixelUnshuffle):
    """``torch.nn.PixelUnshuffle`` computed by ups."""

    def forward(self, input: Tensor) -> Tensor:
        return pixel_unshuffle(input, self.downscale_factor)
