"""Models: ups.torch.nn modules in place of torch.nn's (same constructor arguments, parameters
and checkpoints, same outputs), and torch.compile(fullgraph=True) of a decoder."""

import pytest
import torch

import ups.torch.nn as unn
from decoder import Decoder, pair

MODULES = [
    ("Upsample", dict(scale_factor=2, mode="bicubic", align_corners=True), (1, 2, 4, 5)),
    ("Upsample", dict(size=(3, 4, 5), mode="trilinear"), (1, 2, 2, 3, 2)),
    ("UpsamplingNearest2d", dict(scale_factor=3), (2, 1, 3, 3)),
    ("UpsamplingBilinear2d", dict(size=(7, 5)), (1, 3, 4, 4)),
    ("ConvTranspose1d", dict(in_channels=4, out_channels=2, kernel_size=3, stride=2, groups=2),
     (2, 4, 6)),
    ("ConvTranspose2d", dict(in_channels=3, out_channels=5, kernel_size=(2, 3), padding=1,
                             dilation=2, bias=False), (1, 3, 5, 4)),
    ("ConvTranspose3d", dict(in_channels=2, out_channels=2, kernel_size=2, stride=2,
                             output_padding=1), (1, 2, 2, 3, 2)),
    ("MaxPool1d", dict(kernel_size=3, stride=2, padding=1, return_indices=True), (2, 3, 9)),
    ("MaxPool2d", dict(kernel_size=(2, 3), ceil_mode=True), (1, 2, 5, 7)),
    ("MaxPool3d", dict(kernel_size=2, dilation=2), (1, 1, 5, 5, 5)),
    ("PixelShuffle", dict(upscale_factor=2), (1, 8, 3, 3)),
    ("PixelUnshuffle", dict(downscale_factor=3), (1, 1, 6, 9)),
]


@pytest.mark.parametrize("name,kwargs,shape", MODULES,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MODULES)])
def test_module_swap(name, kwargs, shape):
    torch.manual_seed(1)
    theirs = getattr(torch.nn, name)(**kwargs)
    ours = getattr(unn, name)(**kwargs)
    assert isinstance(ours, getattr(torch.nn, name))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(*shape, requires_grad=True)
    want, got = theirs(x), ours(x)
    if isinstance(want, tuple):
        assert torch.equal(got[1], want[1])
        want, got = want[0], got[0]
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    grads = [torch.autograd.grad(y.sum(), [x] + list(m.parameters()))
             for y, m in ((want, theirs), (got, ours))]
    for a, b in zip(*grads):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_unpool_modules(n):
    pool = getattr(torch.nn, f"MaxPool{n}d")(2, return_indices=True)
    ours, theirs = getattr(unn, f"MaxUnpool{n}d")(2), getattr(torch.nn, f"MaxUnpool{n}d")(2)
    for size in (4, 5):  # 5: the default output size (4) is too small; output_size restores it
        x = torch.randn(*([2, 3] + [size] * n))
        values, indices = pool(x)
        assert torch.equal(ours(values, indices, output_size=x.shape),
                           theirs(values, indices, output_size=x.shape))
        if size == 4:
            assert torch.equal(ours(values, indices), theirs(values, indices))


def test_conv_transpose_output_size():
    torch.manual_seed(2)
    theirs = torch.nn.ConvTranspose2d(3, 2, 3, stride=2)
    ours = unn.ConvTranspose2d(3, 2, 3, stride=2)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(1, 3, 4, 4)
    torch.testing.assert_close(ours(x, output_size=[10, 9]), theirs(x, output_size=[10, 9]))


def test_checkpoint_of_torch_decoder_loads_into_ups_decoder():
    reference, ours = pair()
    assert list(ours.state_dict()) == list(reference.state_dict())
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-5)
    # The ups decoder really runs ups's ops.
    assert isinstance(ours.deconv, unn.ConvTranspose2d) and isinstance(ours.up, unn.Upsample)


def test_compile_fullgraph_equals_eager():
    torch._dynamo.reset()
    torch.manual_seed(3)
    model = Decoder(unn).eval()
    compiled = torch.compile(model, fullgraph=True)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        eager = model(x)
        torch.testing.assert_close(compiled(x), eager, rtol=1e-5, atol=1e-5)
        # A second shape recompiles (or reuses a dynamic graph) and still agrees.
        x2 = torch.randn(1, 3, 16, 12)
        torch.testing.assert_close(compiled(x2), model(x2), rtol=1e-5, atol=1e-5)


def test_compile_fullgraph_backward_equals_eager():
    torch._dynamo.reset()
    torch.manual_seed(4)
    model = Decoder(unn)
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    x = torch.randn(2, 3, 8, 8)
    eager = torch.autograd.grad(model(x).square().sum(), list(model.parameters()))
    traced = torch.autograd.grad(compiled(x).square().sum(), list(model.parameters()))
    for a, b in zip(eager, traced):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)


def test_export_traces_the_custom_ops():
    torch.manual_seed(6)
    model = Decoder(unn).eval()
    x = torch.randn(1, 3, 8, 8)
    exported = torch.export.export(model, (x,))
    targets = {str(node.target) for node in exported.graph.nodes if node.op == "call_function"}
    assert {"ups.max_pool.default", "ups.max_unpool.default", "ups.conv_transpose.default",
            "ups.interpolate.default", "ups.pixel_shuffle.default"} <= targets, targets
    with torch.no_grad():
        torch.testing.assert_close(exported.module()(x), model(x), rtol=1e-5, atol=1e-5)
