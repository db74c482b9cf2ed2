#!/usr/bin/env python3
"""Joins `ups bench --json` and bench_pytorch.py results into the results section of
docs/benchmarks.md and a plot.

Usage:
  bench_report.py --ups UPS.jsonl [UPS2.jsonl ...] --torch TORCH.jsonl [TORCH2.jsonl ...]
                  [--meta META.json] [--doc docs/benchmarks.md] [--plot docs/img/bench_cpu.png]
                  [--device cpu|cuda]

Each file holds one run of the suite (one JSON object per case per line). With several runs
(rounds) per side, each case keeps, per side, the run with the lowest median: on a shared
machine the other runs are the ones another process disturbed. The table gives per case the
ups and PyTorch medians, the ratio PyTorch / ups (above 1: ups is faster), the bandwidth of
both against the minimal traffic, on CUDA their fractions of the measured copy bandwidth, and
the geometric mean of the ratio (overall and per op).

The section between the markers <!-- bench-DEVICE:begin --> and <!-- bench-DEVICE:end --> of
the document is replaced; the rest of it is left as it is (a new document gets the markers
only). The plot (matplotlib, Agg backend) shows the ratio of every case on a log scale.
"""

import argparse
import json
import math
import os
import sys


def load(paths):
    """case -> the record with the lowest median over the files, and the number of runs seen."""
    best, runs = {}, {}
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                rec = json.loads(line)
                if "error" in rec:
                    print("bench_report.py: %s: %s: %s" % (path, rec["case"], rec["error"]),
                          file=sys.stderr)
                    continue
                key = rec["case"]
                runs[key] = runs.get(key, 0) + 1
                if key not in best or rec["median_ms"] < best[key]["median_ms"]:
                    best[key] = rec
    return best, runs


def fmt_list(v):
    return ",".join(str(x) for x in v)


def label(rec):
    """A short description of a case's op options."""
    p = rec["params"]
    op = rec["op"]
    if op == "interpolate":
        s = p["mode"]
        if "scale" in p:
            s += " x" + fmt_list(p["scale"])
        if "size" in p:
            s += " to " + fmt_list(p["size"])
        if p.get("align_corners"):
            s += ", align_corners"
        if p.get("antialias"):
            s += ", antialias"
        return s
    if op == "conv-transpose":
        s = "w " + fmt_list(p["weight_shape"])
        for key, short in (("stride", "s"), ("padding", "p"), ("output_padding", "op"),
                           ("dilation", "d")):
            if key in p:
                s += " %s%s" % (short, fmt_list(p[key]))
        if "groups" in p:
            s += " g%d" % p["groups"]
        if p.get("bias"):
            s += " +bias"
        return s
    if op == "max-unpool":
        s = "k" + fmt_list(p["kernel_size"])
        if "stride" in p:
            s += " s" + fmt_list(p["stride"])
        return s
    return "r=%d" % p["factor"]


def short_layout(rec):
    return "CL" if rec["layout"] == "channels-last" else "contig"


def geomean(values):
    values = [v for v in values if v > 0]
    if not values:
        return float("nan")
    return math.exp(sum(math.log(v) for v in values) / len(values))


def ms(v):
    return "%.3f" % v if v < 10 else "%.2f" % v if v < 100 else "%.1f" % v


def make_rows(ups, torch):
    rows = []
    for key, u in ups.items():  # suite order: files keep it, dicts keep insertion order
        t = torch.get(key)
        if t is None:
            print("bench_report.py: no PyTorch result for " + key, file=sys.stderr)
            continue
        rows.append((u, t, t["median_ms"] / u["median_ms"]))
    return rows


def table(rows, device):
    cuda = device == "cuda"
    head = ["op", "case", "shape", "dtype", "layout", "ups ms", "PyTorch ms",
            "PyTorch / ups", "ups GB/s", "PyTorch GB/s"]
    if cuda:
        head += ["ups % of copy", "PyTorch % of copy"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for u, t, ratio in rows:
        r = "%.2f" % ratio
        if ratio < 1:
            r = "**%s (ups slower)**" % r
        cells = [u["op"], label(u), "[%s]" % fmt_list(u["shape"]), u["dtype"], short_layout(u),
                 ms(u["median_ms"]), ms(t["median_ms"]), r, "%.1f" % u["gbps"],
                 "%.1f" % t["gbps"]]
        if cuda:
            cells += ["%.0f%%" % (100 * u["bw_fraction"]), "%.0f%%" % (100 * t["bw_fraction"])]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def summary(rows):
    lines = ["| op | cases | geometric mean of PyTorch / ups | cases where ups is slower |",
             "|---|---|---|---|"]
    ops = []
    for u, _, _ in rows:
        if u["op"] not in ops:
            ops.append(u["op"])
    for op in ops + ["all"]:
        sel = [r for (u, _t, r) in rows if op == "all" or u["op"] == op]
        slower = sum(1 for r in sel if r < 1)
        name = "**all**" if op == "all" else op
        lines.append("| %s | %d | %.2f | %d |" % (name, len(sel), geomean(sel), slower))
    return "\n".join(lines)


def plot(rows, path, device, meta):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(rows)
    fig, ax = plt.subplots(figsize=(9, 0.19 * n + 1.4), dpi=72)
    names = ["%s %s [%s] %s %s" % (u["op"], label(u), fmt_list(u["shape"]), u["dtype"],
                                   short_layout(u)) for u, _, _ in rows]
    ratios = [r for _, _, r in rows]
    colors = ["#2a7f3f" if r >= 1 else "#c0392b" for r in ratios]
    y = list(range(n))[::-1]
    ax.barh(y, [math.log2(r) for r in ratios], color=colors, height=0.7)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=6.5)
    lo = min(math.floor(min(math.log2(r) for r in ratios)), -1)
    hi = max(math.ceil(max(math.log2(r) for r in ratios)), 1)
    ticks = list(range(lo, hi + 1))
    ax.set_xticks(ticks)
    ax.set_xticklabels([("%d" % 2 ** k) if k >= 0 else "1/%d" % 2 ** -k for k in ticks],
                       fontsize=7)
    ax.set_xlim(lo - 0.2, hi + 0.2)
    ax.set_ylim(-0.7, n - 0.3)
    ax.grid(axis="x", linewidth=0.4, alpha=0.5)
    ax.set_xlabel("PyTorch time / ups time (log scale; right of 1: ups faster, "
                  "left: ups slower)", fontsize=8)
    title = "ups vs PyTorch %s on %s, %s threads; geometric mean %.2f" % (
        meta.get("torch_version", ""), device.upper(), meta.get("threads", "?"),
        geomean(ratios))
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=72)
    plt.close(fig)


def section(rows, device, meta, ups_runs, torch_runs, plot_path, doc_path):
    cuda = device == "cuda"
    lines = []
    lines.append("<!-- Generated by scripts/bench_report.py; edit the text outside the "
                 "markers. -->")
    lines.append("")
    info = []
    if meta.get("machine"):
        info.append("- Machine: %s" % meta["machine"])
    if meta.get("device_name"):
        info.append("- Device: %s" % meta["device_name"])
    if meta.get("date"):
        info.append("- Date: %s" % meta["date"])
    if meta.get("torch_version"):
        info.append("- PyTorch: %s (from `%s`)" % (meta["torch_version"],
                                                   meta.get("torch_python", "python")))
    if meta.get("ups_version"):
        info.append("- ups: %s" % meta["ups_version"])
    if not cuda:
        info.append("- Threads: %s for both (`ups bench --threads`, `torch.set_num_threads`)"
                    % meta.get("threads", "?"))
    u0 = rows[0][0] if rows else {}
    info.append("- Runs: %s warm-up and %s timed calls per case and run; %d run(s) of ups and "
                "%d of PyTorch, alternating; per case and side the lowest median is kept"
                % (u0.get("warmup", "?"), u0.get("repeat", "?"), max(ups_runs.values()),
                   max(torch_runs.values())))
    if meta.get("load"):
        info.append("- Load average (1 min) before, between and after the runs: %s"
                    % meta["load"])
    if cuda and rows:
        info.append("- Copy bandwidth (device-to-device, read + write): ups %.0f GB/s, "
                    "PyTorch %.0f GB/s" % (rows[0][0]["copy_gbps"], rows[0][1]["copy_gbps"]))
    if meta.get("command"):
        info.append("- Command: `%s`" % meta["command"])
    lines += info
    lines.append("")
    lines.append("Geometric mean of PyTorch time / ups time (above 1: ups is faster):")
    lines.append("")
    lines.append(summary(rows))
    lines.append("")
    if plot_path:
        rel = os.path.relpath(os.path.abspath(plot_path),
                              os.path.dirname(os.path.abspath(doc_path)))
        lines.append("![PyTorch time / ups time per case](%s)" % rel)
        lines.append("")
    lines.append(table(rows, device))
    return "\n".join(lines)


def update_doc(doc_path, device, body):
    begin = "<!-- bench-%s:begin -->" % device
    end = "<!-- bench-%s:end -->" % device
    block = begin + "\n" + body + "\n" + end
    if os.path.exists(doc_path):
        with open(doc_path) as f:
            text = f.read()
        if begin in text and end in text:
            a = text.index(begin)
            b = text.index(end) + len(end)
            text = text[:a] + block + text[b:]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    else:
        text = "# Benchmarks\n\n" + block + "\n"
    with open(doc_path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ups", nargs="+", required=True, help="ups bench --json outputs")
    ap.add_argument("--torch", nargs="+", required=True, help="bench_pytorch.py outputs")
    ap.add_argument("--meta", help="JSON object describing the run (machine, date, ...)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--doc", default="docs/benchmarks.md")
    ap.add_argument("--plot", default=None,
                    help="PNG to write (default docs/img/bench_DEVICE.png; '' for none)")
    args = ap.parse_args()
    meta = {}
    if args.meta:
        with open(args.meta) as f:
            meta = json.load(f)
    ups, ups_runs = load(args.ups)
    torch, torch_runs = load(args.torch)
    rows = make_rows(ups, torch)
    if not rows:
        sys.exit("bench_report.py: no case has results on both sides")
    if "torch_version" not in meta:
        meta["torch_version"] = rows[0][1].get("torch_version", "")
    if "threads" not in meta:
        meta["threads"] = rows[0][0].get("threads")
    if rows[0][0].get("device_name"):
        meta.setdefault("device_name", rows[0][0]["device_name"])
    plot_path = args.plot if args.plot is not None else "docs/img/bench_%s.png" % args.device
    if plot_path:
        plot(rows, plot_path, args.device, meta)
    update_doc(args.doc, args.device,
               section(rows, args.device, meta, ups_runs, torch_runs, plot_path, args.doc))
    ratios = [r for _, _, r in rows]
    print("bench_report.py: %d cases, geometric mean PyTorch / ups = %.3f, ups slower in %d; "
          "wrote %s%s" % (len(rows), geomean(ratios), sum(1 for r in ratios if r < 1), args.doc,
                          " and " + plot_path if plot_path else ""))


if __name__ == "__main__":
    main()
