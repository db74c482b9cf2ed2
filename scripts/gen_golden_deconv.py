#!/usr/bin/env python3
"""Writes the conv_transpose goldens: tests/golden/deconv_cases.txt and deconv_errors.txt.

Run with a Python that has PyTorch (it is needed only here, never by the build or the tests):

    /root/torchenv/bin/python scripts/gen_golden_deconv.py

Tensor values are k / 64 with k a small integer drawn by a SplitMix64-based generator that the
C++ test reimplements (deconv_value in tests/cpu/test_conv_transpose.cpp), so the files hold no
inputs. Such values are exact in f16, bf16, f32 and f64, and every product and sum of the
small cases is a multiple of 1 / 4096 below 2^11, hence exact in f32 as well: the expected
outputs are stored as integers (output * 4096), and each dtype's expected value is the exact one
rounded once to that dtype.

Valid cases run F.conv_transpose{1,2,3}d in float64 on the CPU, with output_size resolved by
nn.ConvTranspose*d's own _output_padding. Error cases record the first line of PyTorch's message.
"""

import os
import random
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.conv import _ConvTransposeNd

MASK = (1 << 64) - 1
HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "..", "tests", "golden")


def deconv_value(seed, i):
    """Integer k in [-64, 64]; the tensor element is k / 64 (SplitMix64 finaliser)."""
    x = (seed * 0x9E3779B97F4A7C15 + (i + 1) * 0xBF58476D1CE4E5B9) & MASK
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & MASK
    x ^= x >> 31
    return int(x % 129) - 64


def make_tensor(shape, seed):
    n = 1
    for s in shape:
        n *= s
    vals = [deconv_value(seed, i) / 64.0 for i in range(n)]
    return torch.tensor(vals, dtype=torch.float64).reshape(shape)


def fn_for(sp):
    return {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[sp]


def resolve_output_padding(x, output_size, stride, padding, kernel, sp, dilation):
    # nn.ConvTranspose*d.forward's own derivation (it does not use self).
    return _ConvTransposeNd._output_padding(
        None, x, output_size, stride, padding, kernel, sp, dilation)


def lst(v):
    return ",".join(str(int(a)) for a in v) if v is not None else "-"


class Case:
    def __init__(self, name, n, cin, cout_g, spatial, kernel, stride=1, padding=0,
                 output_padding=0, dilation=1, groups=1, bias=False, output_size=None, seed=1):
        sp = len(spatial)
        per = lambda v: list(v) if isinstance(v, (list, tuple)) else [v] * sp
        self.name = name
        self.input = [n, cin] + list(spatial)
        self.weight = [cin, cout_g] + per(kernel)
        self.stride, self.padding = per(stride), per(padding)
        self.output_padding, self.dilation = per(output_padding), per(dilation)
        self.groups, self.bias, self.output_size, self.seed = groups, bias, output_size, seed
        self.sp = sp


def run_case(c):
    x = make_tensor(c.input, c.seed)
    w = make_tensor(c.weight, c.seed + 1)
    b = make_tensor([c.weight[1] * c.groups], c.seed + 2) if c.bias else None
    op = c.output_padding
    if c.output_size is not None:
        op = resolve_output_padding(x, c.output_size, c.stride, c.padding, c.weight[2:], c.sp,
                                    c.dilation)
    y = fn_for(c.sp)(x, w, b, stride=c.stride, padding=c.padding, output_padding=list(op),
                     groups=c.groups, dilation=c.dilation)
    scaled = (y * 4096).flatten().tolist()
    ints = [int(round(v)) for v in scaled]
    assert all(abs(v - i) == 0 for v, i in zip(scaled, ints)), c.name
    assert max(abs(i) for i in ints) < (1 << 23), c.name  # exact in f32
    return list(y.shape), ints


def valid_cases():
    cs = [
        # The seed examples: length 5 -> 10, and k=2 s=2 doubling H and W.
        Case("seed_1d_len5_to_10", 1, 2, 3, [5], 3, stride=2, padding=1, output_padding=1,
             bias=True, seed=11),
        Case("seed_2d_k2s2_doubles", 2, 3, 2, [4, 5], 2, stride=2, bias=True, seed=12),
        # 1-D
        Case("1d_k4s2p1", 2, 3, 2, [6], 4, stride=2, padding=1, bias=True, seed=13),
        Case("1d_s3d2op2_g2", 1, 4, 3, [5], 3, stride=3, padding=1, output_padding=2,
             dilation=2, groups=2, bias=True, seed=14),
        Case("1d_op_ge_stride", 2, 2, 2, [4], 3, stride=1, padding=0, output_padding=2,
             dilation=3, seed=15),
        Case("1d_stride_gt_kernel", 1, 3, 2, [4], 2, stride=5, seed=16),
        Case("1d_gcd2", 1, 2, 3, [6], 5, stride=6, padding=3, dilation=4, bias=True, seed=17),
        Case("1d_s4d6", 2, 2, 2, [5], 7, stride=4, padding=5, output_padding=3, dilation=6,
             seed=18),
        Case("1d_big_padding", 1, 2, 2, [8], 3, stride=1, padding=2, seed=19),
        Case("1d_depthwise", 2, 4, 2, [5], 3, stride=2, padding=1, groups=4, bias=True,
             seed=20),
        Case("1d_output_size", 1, 2, 2, [5], 3, stride=3, padding=1, output_size=[14],
             seed=21),
        Case("1d_output_size_nc", 2, 2, 3, [4], 4, stride=2, padding=1, output_size=[2, 3, 9],
             bias=True, seed=22),
        # 2-D
        Case("2d_k3s2p1op1", 1, 3, 4, [4, 4], 3, stride=2, padding=1, output_padding=1,
             bias=True, seed=23),
        Case("2d_mixed", 2, 4, 2, [3, 4], [3, 5], stride=[2, 3], padding=[1, 2],
             output_padding=[1, 0], dilation=[1, 2], groups=2, bias=True, seed=24),
        Case("2d_k4s2p1_g3", 1, 6, 1, [3, 3], 4, stride=2, padding=1, groups=3, seed=25),
        Case("2d_op_ge_stride", 1, 2, 2, [3, 4], 3, stride=[3, 2], dilation=[2, 3],
             output_padding=[2, 2], seed=26),
        Case("2d_1x1_s2", 2, 3, 2, [3, 3], 1, stride=2, bias=True, seed=27),
        Case("2d_row", 1, 2, 3, [1, 7], [1, 3], stride=[1, 2], padding=[0, 1], seed=28),
        Case("2d_output_size", 1, 2, 3, [3, 4], 3, stride=2, padding=1, output_size=[6, 8],
             bias=True, seed=29),
        Case("2d_s1_same", 1, 3, 3, [5, 5], 3, stride=1, padding=1, bias=True, seed=30),
        # 3-D
        Case("3d_k2s2", 1, 2, 2, [2, 3, 2], 2, stride=2, bias=True, seed=31),
        Case("3d_k3s2p1op1_g2", 1, 4, 1, [2, 2, 3], 3, stride=2, padding=1, output_padding=1,
             groups=2, bias=True, seed=32),
        Case("3d_mixed", 2, 2, 2, [2, 3, 2], [2, 3, 3], stride=[1, 2, 3], padding=[1, 0, 2],
             output_padding=[1, 1, 2], dilation=[2, 1, 2], seed=33),
        Case("3d_output_size", 1, 2, 2, [2, 2, 2], 3, stride=[2, 3, 1], padding=1,
             dilation=[1, 2, 1], output_size=[4, 8, 2], seed=34),
    ]
    # A seeded random sweep over every parameter.
    rng = random.Random(20260)
    made = 0
    while made < 30:
        sp = rng.choice([1, 1, 2, 2, 2, 3])
        groups = rng.choice([1, 1, 2, 3])
        cin = groups * rng.randint(1, 2)
        cout_g = rng.randint(1, 3)
        limit = {1: 7, 2: 4, 3: 3}[sp]
        spatial = [rng.randint(1, limit) for _ in range(sp)]
        kernel = [rng.randint(1, 4) for _ in range(sp)]
        stride = [rng.randint(1, 4) for _ in range(sp)]
        dilation = [rng.randint(1, 3) for _ in range(sp)]
        padding = [rng.randint(0, 3) for _ in range(sp)]
        op = [rng.randint(0, max(stride[i], dilation[i]) - 1) for i in range(sp)]
        out = [(spatial[i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) +
               op[i] + 1 for i in range(sp)]
        if min(out) < 1:
            continue
        n = rng.randint(1, 2)
        numel = n * cout_g * groups
        for o in out:
            numel *= o
        if numel > 1500:
            continue
        use_size = rng.random() < 0.25
        size = None
        if use_size:
            size = [out[i] - op[i] + rng.randint(0, stride[i] - 1) for i in range(sp)]
            op = [0] * sp
        cs.append(Case("sweep_%02d" % made, n, cin, cout_g, spatial, kernel, stride=stride,
                       padding=padding, output_padding=op, dilation=dilation, groups=groups,
                       bias=rng.random() < 0.5, output_size=size, seed=100 + made))
        made += 1
    return cs


# (name, input, weight, bias shape or None, options...) -> PyTorch's message.
def error_cases():
    E = []

    def add(name, inp, w, bias=None, stride=None, padding=None, output_padding=None,
            dilation=None, groups=1, output_size=None, padding_mode="zeros"):
        E.append(dict(name=name, input=inp, weight=w, bias=bias, stride=stride,
                      padding=padding, output_padding=output_padding, dilation=dilation,
                      groups=groups, output_size=output_size, padding_mode=padding_mode))

    add("channels", [1, 4, 5], [2, 3, 3])
    add("groups_not_dividing", [1, 4, 5, 5], [4, 3, 3, 3], groups=3)
    add("groups_not_dividing_1d", [1, 6, 5], [6, 3, 3], groups=4)
    add("groups_zero", [1, 4, 5], [4, 3, 3], groups=0)
    add("groups_negative", [1, 4, 5], [4, 3, 3], groups=-1)
    add("weight_dim0_below_groups", [1, 0, 5], [0, 3, 3])
    add("bias_size", [1, 4, 5], [4, 3, 3], bias=[4])
    add("bias_rank", [1, 4, 5, 5], [4, 3, 3, 3], bias=[3, 1])
    add("bias_groups", [1, 4, 5, 5], [4, 3, 3, 3], bias=[3], groups=2)
    add("stride_zero", [1, 4, 5], [4, 3, 3], stride=[0])
    add("stride_negative", [1, 4, 5, 5], [4, 3, 3, 3], stride=[1, -1])
    add("padding_negative", [1, 4, 5], [4, 3, 3], padding=[-1])
    add("output_padding_negative", [1, 4, 5], [4, 3, 3], output_padding=[-1])
    add("output_padding_1d", [1, 4, 5], [4, 3, 3], output_padding=[1])
    add("output_padding_2d", [1, 4, 5, 5], [4, 3, 3, 3], stride=[2, 1], output_padding=[1, 1])
    add("output_padding_2d_dil", [1, 4, 5, 5], [4, 3, 3, 3], stride=[2, 2],
        output_padding=[3, 0], dilation=[3, 1])
    add("output_padding_3d", [1, 4, 5, 5, 5], [4, 3, 3, 3, 3], output_padding=[1, 0, 0])
    add("output_padding_3d_w", [1, 4, 5, 5, 5], [4, 3, 3, 3, 3], output_padding=[0, 0, 1])
    add("dilation_zero_1d", [1, 4, 5], [4, 3, 3], dilation=[0])
    add("dilation_zero_2d", [1, 4, 5, 5], [4, 3, 3, 3], dilation=[0, 1])
    add("dilation_zero_3d", [1, 4, 5, 5, 5], [4, 3, 3, 3, 3], dilation=[1, 0, 1])
    add("dilation_negative", [1, 4, 5, 5, 5], [4, 3, 3, 3, 3], dilation=[1, -1, 1])
    add("too_small_1d", [1, 4, 1], [4, 3, 3], padding=[3])
    add("zero_output_1d", [1, 4, 1], [4, 3, 2], padding=[1])
    add("too_small_2d", [1, 4, 1, 1], [4, 3, 2, 2], padding=[1, 1])
    add("too_small_3d", [1, 4, 1, 1, 1], [4, 3, 2, 2, 2], padding=[0, 1, 0])
    add("kernel_zero_1d", [1, 4, 5], [4, 3, 0])
    add("kernel_zero_2d", [1, 4, 2, 1], [4, 3, 0, 2])
    add("kernel_zero_3d", [1, 4, 2, 1, 1], [4, 3, 2, 2, 0])
    add("cout_zero_1d", [1, 4, 5], [4, 0, 3])
    add("cout_zero_3d", [1, 4, 3, 3, 3], [4, 0, 2, 2, 2])
    add("input_empty_1d", [1, 4, 0], [4, 3, 3])
    add("input_empty_2d", [1, 4, 2, 0], [4, 3, 2, 2])
    add("input_empty_3d", [1, 4, 2, 0, 1], [4, 3, 2, 2, 2])
    add("weight_rank", [1, 4, 5], [4, 3, 3, 3])
    add("stride_length", [1, 4, 5, 5], [4, 3, 3, 3], stride=[1, 2, 3])
    add("padding_length", [1, 4, 5, 5], [4, 3, 3, 3], padding=[1, 2, 3])
    add("output_padding_length", [1, 4, 5, 5], [4, 3, 3, 3], output_padding=[1, 2, 3])
    add("dilation_length", [1, 4, 5, 5], [4, 3, 3, 3], dilation=[1, 2, 3])
    add("stride_length_1d", [1, 4, 5], [4, 3, 3], stride=[1, 2])
    add("output_size_high", [1, 4, 5, 5], [4, 6, 3, 3], stride=[2, 2], padding=[1, 1],
        dilation=[1, 1], output_size=[11, 11])
    add("output_size_low", [1, 4, 5, 5], [4, 6, 3, 3], stride=[2, 2], padding=[1, 1],
        dilation=[1, 1], output_size=[8, 10])
    add("output_size_3d", [2, 4, 3, 4, 5], [4, 6, 3, 3, 3], stride=[2, 3, 1],
        padding=[1, 1, 1], dilation=[1, 2, 1], output_size=[6, 12, 50])
    add("output_size_1d", [2, 4, 5], [4, 6, 3], stride=[3], padding=[1], dilation=[1],
        output_size=[16])
    add("output_size_length", [1, 4, 5, 5], [4, 6, 3, 3], stride=[2, 2], padding=[1, 1],
        dilation=[1, 1], output_size=[10])
    add("output_size_length_1d", [2, 4, 5], [4, 6, 3], stride=[3], padding=[1], dilation=[1],
        output_size=[2, 4, 5, 7])
    add("padding_mode_reflect", [1, 4, 5, 5], [4, 3, 3, 3], padding_mode="reflect")
    add("padding_mode_circular_1d", [1, 4, 5], [4, 3, 3], padding_mode="circular")
    add("padding_mode_replicate_3d", [1, 4, 5, 5, 5], [4, 3, 3, 3, 3],
        padding_mode="replicate")
    return E


def torch_error(e):
    sp = len(e["input"]) - 2
    try:
        if e["padding_mode"] != "zeros":
            cls = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[sp]
            cls(1, 1, 1, padding_mode=e["padding_mode"])
            return None
        x = torch.zeros(e["input"], dtype=torch.float64)
        w = torch.zeros(e["weight"], dtype=torch.float64)
        b = torch.zeros(e["bias"], dtype=torch.float64) if e["bias"] is not None else None
        kw = {}
        for key in ("stride", "padding", "output_padding", "dilation"):
            if e[key] is not None:
                kw[key] = e[key]
        if e["output_size"] is not None:
            kw["output_padding"] = list(resolve_output_padding(
                x, e["output_size"], e["stride"], e["padding"], e["weight"][2:], sp,
                e["dilation"]))
        fn_for(sp)(x, w, b, groups=e["groups"], **kw)
        return None
    except (RuntimeError, ValueError) as ex:
        msg = str(ex).split("\n")[0]
        # ups prints sizes as [a, b], not torch.Size([a, b]).
        while "torch.Size(" in msg:
            i = msg.index("torch.Size(")
            j = msg.index(")", i)
            msg = msg[:i] + msg[i + len("torch.Size("):j] + msg[j + 1:]
        return msg


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    header = ("# Generated by scripts/gen_golden_deconv.py with torch %s; do not edit.\n"
              % torch.__version__)
    lines = [header,
             "# case: tensor values are deconv_value(seed, i) / 64 for input (seed), weight\n"
             "# (seed + 1) and bias (seed + 2); the next line holds output * 4096 as integers.\n"]
    for c in valid_cases():
        shape, ints = run_case(c)
        lines.append("case name=%s input=%s weight=%s bias=%d stride=%s padding=%s "
                     "output_padding=%s dilation=%s groups=%d output_size=%s seed=%d out=%s\n"
                     % (c.name, lst(c.input), lst(c.weight), int(c.bias), lst(c.stride),
                        lst(c.padding), lst(c.output_padding), lst(c.dilation), c.groups,
                        lst(c.output_size), c.seed, lst(shape)))
        lines.append(" ".join(str(i) for i in ints) + "\n")
    with open(os.path.join(OUT_DIR, "deconv_cases.txt"), "w") as f:
        f.writelines(lines)

    err_lines = [header, "# error: arguments, then PyTorch's message on the next line.\n"]
    for e in error_cases():
        msg = torch_error(e)
        if msg is None:
            sys.exit("error case %s did not raise in PyTorch" % e["name"])
        err_lines.append(
            "error name=%s input=%s weight=%s bias=%s stride=%s padding=%s output_padding=%s "
            "dilation=%s groups=%d output_size=%s padding_mode=%s\n"
            % (e["name"], lst(e["input"]), lst(e["weight"]), lst(e["bias"]), lst(e["stride"]),
               lst(e["padding"]), lst(e["output_padding"]), lst(e["dilation"]), e["groups"],
               lst(e["output_size"]), e["padding_mode"]))
        err_lines.append(msg + "\n")
    with open(os.path.join(OUT_DIR, "deconv_errors.txt"), "w") as f:
        f.writelines(err_lines)


if __name__ == "__main__":
    main()
