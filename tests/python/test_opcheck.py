"""torch.library.opcheck on every torch.ops.ups op: schema, autograd registration, fake
kernel against the real one, and torch.compile (AOT dispatch with dynamic shapes)."""

import pytest
import torch

import ups.torch  # noqa: F401  (registers torch.ops.ups.*)


def _x(*shape, grad=True, channels_last=False, dtype=torch.float32):
    t = torch.randn(*shape, dtype=dtype)
    if channels_last:
        t = t.contiguous(memory_format=torch.channels_last if t.dim() == 4
                         else torch.channels_last_3d)
    return t.requires_grad_(grad)


def _pool_sample():
    values, indices = torch.nn.functional.max_pool2d(torch.randn(2, 3, 6, 6), 2,
                                                     return_indices=True)
    return values, indices


def samples():
    ops = torch.ops.ups
    values, indices = _pool_sample()
    yield "interpolate-nearest", ops.interpolate, (_x(2, 3, 5), [9], None, "nearest", None,
                                                   False, False)
    yield "interpolate-bilinear", ops.interpolate, (_x(1, 2, 4, 5), None, [1.5, 2.0], "bilinear",
                                                    True, False, False)
    yield "interpolate-bicubic-aa-cl", ops.interpolate, (_x(1, 3, 9, 8, channels_last=True),
                                                         [4, 3], None, "bicubic", False, False,
                                                         True)
    yield "interpolate-trilinear", ops.interpolate, (_x(1, 2, 3, 4, 5), None, [2.0],
                                                     "trilinear", None, True, False)
    yield "interpolate-area", ops.interpolate, (_x(1, 2, 9, 6), [4, 3], None, "area", None, False,
                                                False)
    yield "interpolate_backward", ops.interpolate_backward, (
        _x(1, 2, 8, 10, grad=False), [1, 2, 4, 5], [8, 10], None, "bilinear", False, False,
        False)
    yield "conv_transpose-2d", ops.conv_transpose, (_x(2, 4, 5, 5), _x(4, 3, 3, 3), _x(6),
                                                    [2, 2], [1, 1], [1, 1], 2, [1, 1])
    yield "conv_transpose-1d-nobias", ops.conv_transpose, (_x(2, 3, 7), _x(3, 2, 2), None, [3],
                                                           [0], [0], 1, [2])
    yield "conv_transpose-3d-cl", ops.conv_transpose, (_x(1, 2, 3, 3, 3, channels_last=True),
                                                       _x(2, 2, 2, 2, 2), _x(2), [1, 2, 1],
                                                       [0, 0, 0], [0, 1, 0], 1, [1, 1, 1])
    yield "conv_transpose_backward", ops.conv_transpose_backward, (
        _x(2, 6, 10, 10, grad=False), _x(2, 4, 5, 5, grad=False), _x(4, 3, 3, 3, grad=False),
        [2, 2], [1, 1], [1, 1], 2, [1, 1], [True, True, True])
    yield "conv_transpose_backward-mask", ops.conv_transpose_backward, (
        _x(2, 6, 10, 10, grad=False), _x(2, 4, 5, 5, grad=False), _x(4, 3, 3, 3, grad=False),
        [2, 2], [1, 1], [1, 1], 2, [1, 1], [False, True, False])
    yield "max_pool-2d", ops.max_pool, (_x(2, 3, 7, 6), [3, 2], [2, 2], [1, 0], [1, 1], True, 2)
    yield "max_pool-1d-unbatched", ops.max_pool, (_x(3, 9), [3], [], [1], [2], False, 1)
    yield "max_pool-3d-cl", ops.max_pool, (_x(1, 2, 4, 4, 4, channels_last=True), [2], [], [0],
                                           [1], False, 3)
    yield "max_pool_backward", ops.max_pool_backward, (
        _x(2, 3, 3, 3, grad=False), indices, [2, 3, 6, 6], [2, 2], [], [0, 0], [1, 1], False, 2)
    yield "max_unpool", ops.max_unpool, (values.clone().requires_grad_(), indices, [2, 2], [],
                                         [0, 0], None, 2)
    yield "max_unpool-output-size", ops.max_unpool, (values.clone().requires_grad_(), indices,
                                                     [2, 2], [2, 2], [0, 0], [7, 7], 2)
    yield "max_unpool_backward", ops.max_unpool_backward, (_x(2, 3, 6, 6, grad=False), indices,
                                                           [2, 2], [], [0, 0], None, 2)
    yield "pixel_shuffle", ops.pixel_shuffle, (_x(2, 8, 3, 4), 2)
    yield "pixel_shuffle-5d", ops.pixel_shuffle, (_x(2, 1, 9, 2, 2), 3)
    yield "pixel_unshuffle", ops.pixel_unshuffle, (_x(2, 2, 6, 4), 2)
    yield "pixel_shuffle_backward", ops.pixel_shuffle_backward, (_x(2, 2, 6, 8, grad=False), 2)
    yield "pixel_unshuffle_backward", ops.pixel_unshuffle_backward, (_x(2, 8, 3, 2, grad=False),
                                                                     2)


SAMPLES = list(samples())


def test_every_op_has_a_sample():
    # dir() of the namespace also lists its attribute "name".
    registered = {name for name in dir(torch.ops.ups) if not name.startswith("_")} - {"name"}
    assert registered == {str(op).split(".")[-1] for _, op, _ in SAMPLES}


@pytest.mark.parametrize("op,args", [pytest.param(op, args, id=name) for name, op, args in SAMPLES])
def test_opcheck(op, args):
    torch.library.opcheck(op, args)
