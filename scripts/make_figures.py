#!/usr/bin/env python3
"""Draws the figures of docs/semantics.md.

Writes docs/img/align_corners.png (where output samples fall on the input grid with
align_corners=True and False) and docs/img/nearest_vs_exact.png (which input pixel each output
pixel copies under "nearest" and "nearest-exact").

Usage: python scripts/make_figures.py [--out-dir DIR] [--no-check]

Needs matplotlib and numpy. The mappings are computed with the formulas of docs/semantics.md
(transcribed below from kernels/interpolate/interp_math.hpp). When torch is importable, every
plotted mapping is also checked against torch.nn.functional.interpolate and the script fails
on any disagreement; --no-check skips that.
"""

import argparse
import io
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---- formulas of docs/semantics.md ------------------------------------------------------------


def area_pixel_compute_scale(n_in, n_out, align_corners):
    """Scale of the linear modes when the size is given (no scale_factor)."""
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return n_in / n_out


def source_index(scale, dst, align_corners):
    """area_pixel_compute_source_index before the clamp at 0 (linear modes clamp, cubic not)."""
    if align_corners:
        return scale * dst
    return scale * (dst + 0.5) - 0.5


def nearest_index(dst, n_in, n_out):
    """"nearest" with the size given: scale = in/out rounded to f32, product in f32."""
    if n_out == n_in:
        return dst
    if n_out == 2 * n_in:
        return dst >> 1
    scale = np.float32(n_in) / np.float32(n_out)
    return min(int(math.floor(np.float32(np.float32(dst) * scale))), n_in - 1)


def nearest_exact_index(dst, n_in, n_out):
    """"nearest-exact": (dst + 0.5) * scale in f64, rounded to f32 once, then floored."""
    scale = np.float32(n_in) / np.float32(n_out)
    pos = (dst + 0.5) * float(scale)
    return min(int(math.floor(np.float32(pos))), n_in - 1)


# ---- optional cross-check against PyTorch -----------------------------------------------------


def check_against_torch(align_cases, nearest_cases):
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        print("torch not importable: cross-check skipped")
        return
    for n_in, n_out in align_cases:
        for ac in (True, False):
            # A one-hot input row per input pixel recovers the interpolation weights; the
            # weighted mean of input positions is then the (clamped) source position.
            eye = torch.eye(n_in, dtype=torch.float64).reshape(n_in, 1, n_in)
            w = F.interpolate(eye, size=n_out, mode="linear", align_corners=ac)[:, 0, :]
            got = (w * torch.arange(n_in, dtype=torch.float64)[:, None]).sum(0).numpy()
            s = area_pixel_compute_scale(n_in, n_out, ac)
            want = [min(max(source_index(s, d, ac), 0.0), n_in - 1) for d in range(n_out)]
            if not np.allclose(got, want, atol=1e-12):
                sys.exit(f"mismatch: linear {n_in}->{n_out} align_corners={ac}: {got} vs {want}")
    for n_in, n_out in nearest_cases:
        x = torch.arange(n_in, dtype=torch.float64).reshape(1, 1, n_in)
        for mode, fn in (("nearest", nearest_index), ("nearest-exact", nearest_exact_index)):
            got = F.interpolate(x, size=n_out, mode=mode).flatten().long().tolist()
            want = [fn(d, n_in, n_out) for d in range(n_out)]
            if got != want:
                sys.exit(f"mismatch: {mode} {n_in}->{n_out}: torch {got} vs formula {want}")
    print(f"cross-check against torch {torch.__version__}: all plotted mappings agree")


def save_png(fig, path, **kwargs):
    """Saves at 110 dpi; with Pillow, as a 64-colour palette PNG (a third of the size)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, **kwargs)
    buf.seek(0)
    try:
        from PIL import Image
    except ImportError:
        with open(path, "wb") as f:
            f.write(buf.getvalue())
        return
    Image.open(buf).convert("RGB").quantize(colors=64).save(path, optimize=True)


# ---- drawing helpers --------------------------------------------------------------------------

IN_FACE = "#dbe8f6"
IN_EDGE = "#2b5d8a"
OUT_EDGE = "#c0392b"
OUT_FACE = "#fbe3df"


def fmt(v):
    s = f"{v:.4f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def fmt2(v):
    return fmt(round(v, 2)) if abs(v - round(v, 2)) < 1e-9 else f"≈{v:.2f}"


def draw_align_1d(ax, n_in, n_out, ac):
    """Input pixels on top, output pixels below, both in input-pixel coordinates.

    Input pixel i covers [i, i + 1) and has its centre at i + 0.5, so an index-space position
    p lies at p + 0.5 on this axis.
    """
    s = area_pixel_compute_scale(n_in, n_out, ac)
    y_in, y_out, h = 1.45, 0.0, 0.55
    for i in range(n_in):
        ax.add_patch(Rectangle((i, y_in), 1, h, fc=IN_FACE, ec=IN_EDGE, lw=1.2))
        ax.plot(i + 0.5, y_in + h / 2, "o", color=IN_EDGE, ms=6, zorder=3)
        ax.text(i + 0.5, y_in + h + 0.1, f"in {i}", ha="center", va="bottom", fontsize=8.5,
                color=IN_EDGE)
    # Output pixel j, drawn where its sample lands: centre at source_index + 0.5, width s.
    for j in range(n_out):
        p = source_index(s, j, ac)
        c = p + 0.5
        ax.add_patch(Rectangle((c - s / 2, y_out), s, h, fc=OUT_FACE, ec=OUT_EDGE, lw=1.0))
        ax.plot(c, y_out + h / 2, "x", color=OUT_EDGE, ms=7, mew=1.8, zorder=3)
        ax.annotate("", xy=(c, y_in), xytext=(c, y_out + h),
                    arrowprops=dict(arrowstyle="->", color=OUT_EDGE, lw=0.9))
        # Stagger the labels of narrow output pixels so that they never overlap.
        dy = 0.42 if (s < 0.55 and j % 2) else 0.0
        ax.text(c, y_out - 0.1 - dy, f"out {j}\nsrc {fmt2(p)}", ha="center", va="top",
                fontsize=7.5, color=OUT_EDGE)
    # What is aligned: corner pixel centres (True) or corner pixel edges (False).
    marks = [0.5, n_in - 0.5] if ac else [0.0, float(n_in)]
    for m in marks:
        ax.plot([m, m], [y_out - 0.05, y_in + h + 0.05], color="#444444", ls="--", lw=1.0,
                zorder=0)
    what = "corner pixel CENTRES aligned" if ac else "corner pixel EDGES aligned"
    ax.set_title(f"{n_in} -> {n_out}, align_corners={ac}: {what}\n"
                 f"scale = {'(in-1)/(out-1)' if ac else 'in/out'} = {fmt(s)}", fontsize=9.5)
    lo = min(0.0, 0.5 - s / 2) - 0.3
    hi = max(float(n_in), n_in - 0.5 + s / 2) + 0.3
    ax.set_xlim(lo, hi)
    ax.set_ylim(-1.35, 2.35)
    ax.set_yticks([y_out + h / 2, y_in + h / 2])
    ax.set_yticklabels(["output", "input"], fontsize=8.5)
    ax.set_xticks(range(0, n_in + 1))
    ax.tick_params(axis="x", labelsize=7.5)
    ax.set_xlabel("input coordinate (pixel i covers [i, i+1), centre i+0.5)", fontsize=7.5)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)


def draw_align_2d(ax, n_in, n_out, ac):
    s = area_pixel_compute_scale(n_in, n_out, ac)
    for i in range(n_in + 1):
        ax.plot([i, i], [0, n_in], color=IN_EDGE, lw=1.2)
        ax.plot([0, n_in], [i, i], color=IN_EDGE, lw=1.2)
    cs = np.arange(n_in) + 0.5
    gx, gy = np.meshgrid(cs, cs)
    ax.plot(gx.ravel(), gy.ravel(), "o", color=IN_EDGE, ms=9, label="input pixel centre")
    oc = np.array([source_index(s, j, ac) + 0.5 for j in range(n_out)])
    edges = np.concatenate([oc - s / 2, [oc[-1] + s / 2]])
    for e in edges:
        ax.plot([e, e], [edges[0], edges[-1]], color=OUT_EDGE, lw=0.8, ls=":")
        ax.plot([edges[0], edges[-1]], [e, e], color=OUT_EDGE, lw=0.8, ls=":")
    ox, oy = np.meshgrid(oc, oc)
    ax.plot(ox.ravel(), oy.ravel(), "x", color=OUT_EDGE, ms=7, mew=1.8, label="output sample",
            zorder=4)
    ax.plot([], [], color=OUT_EDGE, lw=0.8, ls=":", label="output pixel grid")
    ax.set_aspect("equal")
    pad = 0.45
    lo = min(0.0, edges[0]) - pad
    hi = max(float(n_in), edges[-1]) + pad
    ax.set_xlim(lo, hi)
    ax.set_ylim(hi, lo)
    ax.set_xticks(range(n_in + 1))
    ax.set_yticks(range(n_in + 1))
    ax.tick_params(labelsize=7.5)
    what = "centres of corner pixels coincide" if ac else "outer edges coincide"
    ax.set_title(f"{n_in}x{n_in} -> {n_out}x{n_out}, align_corners={ac}\n{what}", fontsize=9.5)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=3, fontsize=7.5,
              frameon=False, handlelength=1.5, columnspacing=1.0)


def make_align_corners(path):
    fig = plt.figure(figsize=(11.5, 12.8))
    gs = fig.add_gridspec(3, 2, height_ratios=[1.0, 1.0, 1.75], hspace=0.55, wspace=0.18)
    for row, (n_in, n_out) in enumerate(((3, 5), (4, 8))):
        for col, ac in enumerate((True, False)):
            draw_align_1d(fig.add_subplot(gs[row, col]), n_in, n_out, ac)
    for col, ac in enumerate((True, False)):
        draw_align_2d(fig.add_subplot(gs[2, col]), 3, 5, ac)
    fig.suptitle("Where output samples fall on the input (linear, bilinear, bicubic, trilinear)\n"
                 "src = scale*dst (True)   vs   src = scale*(dst+0.5) - 0.5 (False); "
                 "linear modes clamp src < 0 to 0", fontsize=11)
    save_png(fig, path, bbox_inches="tight")
    plt.close(fig)


def draw_nearest(ax, n_in, n_out):
    """Three strips: nearest output (top), input (middle), nearest-exact output (bottom)."""
    cmap = plt.get_cmap("tab10")
    w_out = n_in / n_out  # an output pixel's width in input coordinates
    h = 0.6
    y_near, y_in, y_exact = 2.4, 1.2, 0.0
    for i in range(n_in):
        ax.add_patch(Rectangle((i, y_in), 1, h, fc=cmap(i % 10), alpha=0.55, ec="black", lw=1))
        ax.text(i + 0.5, y_in + h / 2, f"in {i}", ha="center", va="center", fontsize=9,
                fontweight="bold")
    rows = ((y_near, nearest_index, "nearest"), (y_exact, nearest_exact_index, "nearest-exact"))
    for y, fn, _ in rows:
        for j in range(n_out):
            src = fn(j, n_in, n_out)
            x0 = j * w_out
            ax.add_patch(Rectangle((x0, y), w_out, h, fc=cmap(src % 10), alpha=0.55, ec="black",
                                   lw=1))
            ax.text(x0 + w_out / 2, y + h / 2, f"out {j}\n← in {src}", ha="center",
                    va="center", fontsize=7.5, linespacing=1.1)
            # The probe point the rule reads: left edge (nearest) or centre (nearest-exact).
            px = x0 if fn is nearest_index else x0 + w_out / 2
            y_from, y_to = (y, y_in + h) if y > y_in else (y + h, y_in)
            ax.annotate("", xy=(src + 0.5, y_to), xytext=(px, y_from),
                        arrowprops=dict(arrowstyle="->", color="#333333", lw=0.8,
                                        shrinkA=0, shrinkB=1))
            ax.plot(px, y_from, "v" if y > y_in else "^", color="#333333", ms=4)
    ax.set_xlim(-0.15, n_in + 0.15)
    ax.set_ylim(-0.25, 3.25)
    ax.set_yticks([y_near + h / 2, y_in + h / 2, y_exact + h / 2])
    ax.set_yticklabels(["nearest\nfloor(dst*s)", "input", "nearest-exact\nfloor((dst+0.5)*s)"],
                       fontsize=8.5)
    ax.set_xticks(range(n_in + 1))
    ax.tick_params(axis="x", labelsize=8)
    s = n_in / n_out
    ax.set_title(f"{n_in} -> {n_out} (s = in/out = {fmt(s)}): each output pixel and the input pixel it copies",
                 fontsize=9.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def make_nearest_vs_exact(path, cases):
    fig, axes = plt.subplots(len(cases), 1, figsize=(9.5, 3.0 * len(cases)))
    for ax, (n_in, n_out) in zip(axes, cases):
        draw_nearest(ax, n_in, n_out)
    axes[-1].set_xlabel("input coordinate: output pixels drawn at their true extent "
                        "[j*s, (j+1)*s); a marker shows the point each rule reads", fontsize=8.5)
    fig.suptitle("nearest reads the pixel under each output pixel's LEFT EDGE (shifted left);\n"
                 "nearest-exact reads the pixel under its CENTRE (centred, like Pillow)",
                 fontsize=11, y=0.995)
    fig.tight_layout(rect=(0, 0, 1, 0.975))
    save_png(fig, path)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=os.path.join(REPO, "docs", "img"))
    parser.add_argument("--no-check", action="store_true", help="skip the torch cross-check")
    args = parser.parse_args()
    align_cases = [(3, 5), (4, 8)]
    nearest_cases = [(3, 7), (4, 6), (7, 3)]
    if not args.no_check:
        check_against_torch(align_cases, nearest_cases)
    os.makedirs(args.out_dir, exist_ok=True)
    for name, draw in (("align_corners.png", make_align_corners),
                       ("nearest_vs_exact.png",
                        lambda p: make_nearest_vs_exact(p, nearest_cases))):
        path = os.path.join(args.out_dir, name)
        draw(path)
        print(f"wrote {path} ({os.path.getsize(path) // 1024} KiB)")


if __name__ == "__main__":
    main()
