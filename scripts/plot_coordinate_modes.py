#!/usr/bin/env python3
"""Draws docs/figures/coordinate-modes.svg: where each output sample of ONNX Resize lands on the
input axis under each coordinate_transformation_mode.

Two panels: an upscale 4 -> 6 (scale 1.5) and a downscale 5 -> 3 by scale 0.7, whose target
length 3.5 is fractional (where half_pixel_symmetric differs from half_pixel). The formulas are
those of docs/semantics.md ("ONNX Resize"), as kernels/interpolate/onnx_math.hpp computes them;
tf_crop_and_resize uses roi [-0.1, 1.1], so that its outer samples fall outside the input and
take extrapolation_value (hollow markers).

Usage: python3 scripts/plot_coordinate_modes.py [--out FILE]   (plain Python, no packages)
"""

import argparse
import math
import os

MODES = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
         "asymmetric", "tf_crop_and_resize"]
ROI = (-0.1, 1.1)


def x_original(mode, x, length_in, length_out, scale):
    """ONNX Resize's coordinate transform (length_out: the integer output length)."""
    width = length_in * scale  # the target length, fractional for some scales
    if mode == "half_pixel":
        return (x + 0.5) / scale - 0.5
    if mode == "half_pixel_symmetric":
        offset = length_in / 2 * (1 - length_out / width)
        return offset + (x + 0.5) / scale - 0.5
    if mode == "pytorch_half_pixel":
        return (x + 0.5) / scale - 0.5 if length_out > 1 else 0.0
    if mode == "align_corners":
        return 0.0 if length_out == 1 else x * (length_in - 1) / (length_out - 1)
    if mode == "asymmetric":
        return x / scale
    start, end = ROI
    if length_out > 1:
        return start * (length_in - 1) + x * (end - start) * (length_in - 1) / (length_out - 1)
    return 0.5 * (start + end) * (length_in - 1)


def panel(svg, top, left, title, length_in, length_out, scale):
    unit = 60.0  # pixels per input index
    row_h = 46.0
    label_w = 170.0
    x0 = left + label_w + unit  # input coordinate 0
    svg.append(f'<text x="{left}" y="{top + 14}" class="title">{title}</text>')
    for r, mode in enumerate(MODES):
        y = top + 40 + r * row_h
        svg.append(f'<text x="{left}" y="{y + 5}" class="mode">{mode}</text>')
        # Input pixels: cells [i - 0.5, i + 0.5] with their centres.
        for i in range(length_in):
            cx = x0 + i * unit
            svg.append(f'<rect x="{cx - unit / 2:.1f}" y="{y - 12}" width="{unit:.1f}" '
                       f'height="24" class="cell"/>')
            svg.append(f'<line x1="{cx:.1f}" y1="{y - 12}" x2="{cx:.1f}" y2="{y + 12}" '
                       'class="centre"/>')
            if r == len(MODES) - 1:
                svg.append(f'<text x="{cx:.1f}" y="{y + 30}" class="index">{i}</text>')
        for o in range(length_out):
            xo = x_original(mode, o, length_in, length_out, scale)
            px = x0 + xo * unit
            outside = mode == "tf_crop_and_resize" and (xo < 0 or xo > length_in - 1)
            cls = "outside" if outside else "sample"
            svg.append(f'<circle cx="{px:.1f}" cy="{y}" r="6" class="{cls}">'
                       f'<title>{mode}: output {o} samples x = {xo:.4g}</title></circle>')
            svg.append(f'<text x="{px:.1f}" y="{y - 16}" class="label">{o}</text>')
    return top + 40 + len(MODES) * row_h + 30


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "docs", "figures",
                                                  "coordinate-modes.svg"))
    args = ap.parse_args()
    width = 720
    body = []
    y = panel(body, 10, 10, "upscale: length_in 4 -> length_out 6 (scale 1.5)", 4, 6, 1.5)
    y = panel(body, y, 10, "downscale: length_in 5 -> length_out 3 (scale 0.7, target 3.5)", 5,
              math.floor(5 * 0.7), 0.7)
    legend = (f'<text x="10" y="{y}" class="note">Grey cells: input pixels i (centre lines at '
              'x = i). Dots: the input coordinate x_original of each output index; hollow: '
              'outside [0, length_in - 1]</text>'
              f'<text x="10" y="{y + 16}" class="note">(tf_crop_and_resize, roi [-0.1, 1.1]: '
              'extrapolation_value). Clamping to the border and the filter taps come after.'
              '</text>')
    height = y + 30
    style = ("<style>.title{font:bold 14px sans-serif}.mode{font:13px monospace}"
             ".cell{fill:#eef1f5;stroke:#8a94a6;stroke-width:1}"
             ".centre{stroke:#b6bfcc;stroke-dasharray:2,2}"
             ".index{font:11px sans-serif;fill:#555;text-anchor:middle}"
             ".sample{fill:#1f6feb;stroke:#0b3d91;stroke-width:1}"
             ".outside{fill:#fff;stroke:#d1242f;stroke-width:2}"
             ".label{font:10px sans-serif;fill:#0b3d91;text-anchor:middle}"
             ".note{font:11px sans-serif;fill:#333}</style>")
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}">\n{style}\n'
           f'<rect width="{width}" height="{height}" fill="#fff"/>\n' + "\n".join(body) + "\n"
           + legend + "\n</svg>\n")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="ascii") as f:
        f.write(svg)


if __name__ == "__main__":
    main()
