#!/usr/bin/env python3
"""Joins `ups bench --json` results with those of its peers (bench_peers.py: PyTorch, OpenCV,
ONNX Runtime; bench_pytorch.py: PyTorch) into the results section of docs/benchmarks.md and a
plot.

Usage:
  bench_report.py --ups UPS.jsonl [...] --peers PEERS.jsonl [...] [--torch TORCH.jsonl ...]
                  [--meta META.json] [--doc docs/benchmarks.md] [--plot docs/img/bench_cpu.png]
                  [--device cpu|cuda]

Each file holds one run of the suite (one JSON object per case per line; a peer's records name
the peer in "impl"; --torch is --peers under its old name). With several runs (rounds) per side
and thread count, each case keeps, per side, the run with the lowest median: on a shared machine
the other runs are the ones another process disturbed. Records that say "skipped" give the reason
a peer does not compute a case; it becomes a note of the table.

CPU: one table per thread count found in the ups results, each with the medians of ups and of
every peer, the best (fastest) peer and best peer / ups, PyTorch / ups (above 1: ups is faster),
ups's fraction of the memcpy bandwidth `ups bench` measured in the same run, and the geometric
means of both ratios, overall and per op. CUDA: ups and PyTorch, their bandwidths and fractions
of the measured copy bandwidth.

The section between the markers <!-- bench-DEVICE:begin --> and <!-- bench-DEVICE:end --> of
the document is replaced; the rest of it is left as it is (a new document gets the markers
only). The plot (matplotlib, Agg backend) shows the ratios of every case on a log scale, one
panel per thread count.
"""

import argparse
import json
import math
import os
import sys

NAMES = {"ups": "ups", "pytorch": "PyTorch", "opencv": "OpenCV", "onnxruntime": "ONNX Runtime"}
ORDER = ["pytorch", "opencv", "onnxruntime"]


def peer_name(impl):
    return NAMES.get(impl, impl)


class Results:
    """The best record per (impl, threads, case), the reasons for skipped cases, run counts."""

    def __init__(self, by_threads):
        # CUDA runs are matched by case alone: their thread counts are the host's, not the op's.
        self.by_threads = by_threads
        self.best = {}      # (impl, threads, case) -> record
        self.skipped = {}   # (impl, threads, case) -> reason
        self.runs = {}      # (impl, threads) -> number of files with records
        self.order = []     # ups cases in suite order, per threads: (threads, case)
        self.versions = {}  # impl -> version

    def load(self, paths, default_impl):
        for path in paths:
            seen = set()
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
                    impl = rec.get("impl", default_impl)
                    threads = rec.get("threads") if self.by_threads else None
                    key = (impl, threads, rec["case"])
                    version = rec.get("version") or rec.get("torch_version")
                    if version:
                        self.versions.setdefault(impl, version)
                    if "skipped" in rec:
                        self.skipped[key] = rec["skipped"]
                        seen.add((impl, threads))
                        continue
                    if "median_ms" not in rec:
                        continue  # a --check-only record
                    seen.add((impl, threads))
                    if impl == "ups" and (threads, rec["case"]) not in self.order:
                        self.order.append((threads, rec["case"]))
                    if key not in self.best or rec["median_ms"] < self.best[key]["median_ms"]:
                        self.best[key] = rec
            for k in seen:
                self.runs[k] = self.runs.get(k, 0) + 1

    def peers(self):
        found = {impl for (impl, _, _) in list(self.best) + list(self.skipped) if impl != "ups"}
        return [p for p in ORDER if p in found] + sorted(found - set(ORDER))

    def thread_counts(self):
        out = []
        for threads, _ in self.order:
            if threads not in out:
                out.append(threads)
        return out


class Row:
    def __init__(self, ups, peers, reasons):
        self.u = ups
        self.peers = peers      # impl -> record (timed)
        self.reasons = reasons  # impl -> reason (not computed)
        self.torch = peers.get("pytorch")
        self.vs_torch = self.torch["median_ms"] / ups["median_ms"] if self.torch else None
        self.best = min(peers, key=lambda k: peers[k]["median_ms"]) if peers else None
        self.vs_best = peers[self.best]["median_ms"] / ups["median_ms"] if peers else None


def make_rows(res, threads, peers):
    rows = []
    for t, case in res.order:
        if t != threads:
            continue
        u = res.best[("ups", t, case)]
        got = {p: res.best[(p, t, case)] for p in peers if (p, t, case) in res.best}
        why = {p: res.skipped[(p, t, case)] for p in peers if (p, t, case) in res.skipped}
        if not got and not why:
            print("bench_report.py: no peer result for %s (%s threads)" % (case, t),
                  file=sys.stderr)
            continue
        rows.append(Row(u, got, why))
    return rows


def fmt_list(v):
    return ",".join(str(x) for x in v)


def group(rec):
    """The op a case is reported under: backward passes apart from the forward op."""
    return rec["op"] + (" backward" if rec["params"].get("backward") else "")


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
    if op == "resize":
        s = p["mode"] + " " + p.get("coordinate_mode", "half_pixel")
        if "scales" in p:
            s += " x" + fmt_list(p["scales"])
        if "sizes" in p:
            s += " to " + fmt_list(p["sizes"])
        if "nearest_mode" in p:
            s += ", " + p["nearest_mode"]
        if "roi" in p:
            s += ", roi " + fmt_list(p["roi"])
        for flag in ("antialias", "exclude_outside"):
            if p.get(flag):
                s += ", " + flag
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
    values = [v for v in values if v is not None and v > 0]
    if not values:
        return float("nan")
    return math.exp(sum(math.log(v) for v in values) / len(values))


def gm_text(values, digits=2):
    g = geomean(values)
    return "–" if math.isnan(g) else "%.*f" % (digits, g)


def ms(v):
    return "%.3f" % v if v < 10 else "%.2f" % v if v < 100 else "%.1f" % v


def ratio(r):
    if r is None:
        return "–"
    text = "%.2f" % r
    return "**%s (ups slower)**" % text if r < 1 else text


def ops_of(rows):
    ops = []
    for row in rows:
        if group(row.u) not in ops:
            ops.append(group(row.u))
    return ops


class Notes:
    """Numbered reasons for the cells of peers that do not compute a case."""

    def __init__(self):
        self.items = []

    def ref(self, impl, reason):
        text = "%s: %s" % (peer_name(impl), reason)
        if text not in self.items:
            self.items.append(text)
        return "(%d)" % (self.items.index(text) + 1)

    def markdown(self):
        lines = ["Cells marked – (n) are cases a peer does not compute, or not as PyTorch "
                 "does (such a peer is not timed on the case):", ""]
        lines += ["%d. %s" % (i + 1, text) for i, text in enumerate(self.items)]
        return "\n".join(lines)


def cpu_table(rows, peers, notes):
    head = (["op", "case", "shape", "dtype", "layout", "ups ms"] +
            ["%s ms" % peer_name(p) for p in peers] +
            ["best peer", "best peer / ups", "PyTorch / ups", "ups % of copy"])
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        u = row.u
        cells = [group(u), label(u), "[%s]" % fmt_list(u["shape"]), u["dtype"], short_layout(u),
                 ms(u["median_ms"])]
        for p in peers:
            if p in row.peers:
                cells.append(ms(row.peers[p]["median_ms"]))
            elif p in row.reasons:
                cells.append("– " + notes.ref(p, row.reasons[p]))
            else:
                cells.append("n/a")
        cells += [peer_name(row.best) if row.best else "–", ratio(row.vs_best),
                  ratio(row.vs_torch),
                  "%.0f%%" % (100 * u["bw_fraction"]) if "bw_fraction" in u else "–"]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def cpu_summary(rows, peers):
    lines = ["| op | cases | PyTorch / ups | best peer / ups | ups slower than PyTorch | "
             "ups slower than the best peer | best peer (cases) |",
             "|---|---|---|---|---|---|---|"]
    for op in ops_of(rows) + ["all"]:
        sel = [r for r in rows if op == "all" or group(r.u) == op]
        counts = {}
        for r in sel:
            if r.best:
                counts[r.best] = counts.get(r.best, 0) + 1
        winners = ", ".join("%s %d" % (peer_name(p), counts[p]) for p in peers if p in counts)
        lines.append("| %s | %d | %s | %s | %d | %d | %s |" % (
            "**all**" if op == "all" else op, len(sel),
            gm_text([r.vs_torch for r in sel]), gm_text([r.vs_best for r in sel]),
            sum(1 for r in sel if r.vs_torch is not None and r.vs_torch < 1),
            sum(1 for r in sel if r.vs_best is not None and r.vs_best < 1), winners or "–"))
    return "\n".join(lines)


def coverage(rows, peers):
    parts = []
    for p in peers:
        n = sum(1 for r in rows if p in r.peers)
        parts.append("%s %d" % (peer_name(p), n))
    return "Cases each peer computes (of %d): %s." % (len(rows), ", ".join(parts))


def cuda_table(rows):
    head = ["op", "case", "shape", "dtype", "layout", "ups ms", "PyTorch ms", "PyTorch / ups",
            "ups GB/s", "PyTorch GB/s", "ups % of copy", "PyTorch % of copy"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        u, t = row.u, row.torch
        cells = [group(u), label(u), "[%s]" % fmt_list(u["shape"]), u["dtype"], short_layout(u),
                 ms(u["median_ms"]), ms(t["median_ms"]), ratio(row.vs_torch),
                 "%.1f" % u["gbps"], "%.1f" % t["gbps"], "%.0f%%" % (100 * u["bw_fraction"]),
                 "%.0f%%" % (100 * t["bw_fraction"])]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def cuda_summary(rows):
    lines = ["| op | cases | geometric mean of PyTorch / ups | cases where ups is slower |",
             "|---|---|---|---|"]
    for op in ops_of(rows) + ["all"]:
        sel = [r.vs_torch for r in rows if op == "all" or group(r.u) == op]
        lines.append("| %s | %d | %s | %d |" % ("**all**" if op == "all" else op, len(sel),
                                                 gm_text(sel), sum(1 for r in sel if r < 1)))
    return "\n".join(lines)


def plot(panels, path, device, meta):
    """panels: [(threads, rows)]. Bars: best peer / ups; dots: PyTorch / ups (CPU)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(len(rows) for _, rows in panels)
    cols = len(panels)
    fig, axes = plt.subplots(1, cols, figsize=(6.5 + 3.2 * (cols - 1), 0.19 * n + 1.6), dpi=72,
                             sharey=True, squeeze=False)
    all_ratios = [v for _, rows in panels for r in rows for v in (r.vs_best, r.vs_torch)
                  if v is not None and v > 0]
    logs = [math.log2(v) for v in all_ratios] or [0.0]
    lo = min(math.floor(min(logs)), -1)
    hi = max(math.ceil(max(logs)), 1)
    cuda = device == "cuda"
    for ax, (threads, rows) in zip(axes[0], panels):
        names = ["%s %s [%s] %s %s" % (group(r.u), label(r.u), fmt_list(r.u["shape"]),
                                       r.u["dtype"], short_layout(r.u)) for r in rows]
        y = list(range(len(rows)))[::-1]
        bars = [r.vs_torch if cuda else r.vs_best for r in rows]
        ax.barh(y, [math.log2(v) if v else 0 for v in bars],
                color=["#2a7f3f" if v and v >= 1 else "#c0392b" for v in bars], height=0.7)
        if not cuda:
            pts = [(math.log2(r.vs_torch), yy) for r, yy in zip(rows, y) if r.vs_torch]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o", color="black",
                    markersize=2.5)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels(names, fontsize=6.5)
        ticks = list(range(lo, hi + 1))
        ax.set_xticks(ticks)
        ax.set_xticklabels([("%d" % 2 ** k) if k >= 0 else "1/%d" % 2 ** -k for k in ticks],
                           fontsize=7)
        ax.set_xlim(lo - 0.2, hi + 0.2)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.grid(axis="x", linewidth=0.4, alpha=0.5)
        if cuda:
            ax.set_title("geometric mean %.2f" % geomean(bars), fontsize=8)
        else:
            ax.set_title("%s thread%s: best peer / ups %.2f, PyTorch / ups %.2f" % (
                threads, "" if threads == 1 else "s", geomean(bars),
                geomean([r.vs_torch for r in rows])), fontsize=8)
    if cuda:
        xlabel = "PyTorch time / ups time (log scale; right of 1: ups faster)"
        title = "ups vs PyTorch %s on CUDA" % meta.get("torch_version", "")
    else:
        xlabel = ("bars: best peer time / ups time; dots: PyTorch time / ups time "
                  "(log scale; right of 1: ups faster)")
        title = "ups vs %s on the CPU" % ", ".join(meta.get("peer_names", []))
    fig.supxlabel(xlabel, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=72)
    plt.close(fig)


def plot_link(plot_path, doc_path, text):
    rel = os.path.relpath(os.path.abspath(plot_path), os.path.dirname(os.path.abspath(doc_path)))
    return "![%s](%s)" % (text, rel)


def header(meta, res, device, panels):
    info = []
    if meta.get("machine"):
        info.append("- Machine: %s" % meta["machine"])
    if meta.get("device_name"):
        info.append("- Device: %s" % meta["device_name"])
    if meta.get("date"):
        info.append("- Date: %s" % meta["date"])
    versions = ["%s %s" % (peer_name(p), res.versions.get(p, "?")) for p in res.peers()]
    if versions:
        info.append("- Peers: %s%s" % (", ".join(versions), " (from `%s`)" % meta["python"]
                                       if meta.get("python") else ""))
    if meta.get("ups_version"):
        info.append("- ups: %s" % meta["ups_version"])
    counts = [t for t, _ in panels]
    if device == "cpu":
        info.append("- Threads: %s, the same for every side (`ups bench --threads`, "
                    "`torch.set_num_threads`, `cv2.setNumThreads`, ONNX Runtime's "
                    "`intra_op_num_threads`)" % " and ".join(str(t) for t in counts))
    u0 = panels[0][1][0].u if panels and panels[0][1] else {}
    runs = []
    for t in counts:
        sides = ["%d of %s" % (res.runs.get((impl, t), 0), peer_name(impl))
                 for impl in ["ups"] + res.peers()]
        runs.append(("%s thread%s: " % (t, "" if t == 1 else "s") if device == "cpu" else "") +
                    ", ".join(sides))
    info.append("- Runs: %s warm-up and %s timed calls per case and run; runs (alternating): "
                "%s; per case and side the lowest median is kept"
                % (u0.get("warmup", "?"), u0.get("repeat", "?"), "; ".join(runs)))
    if device == "cpu":
        copies = []
        for t, rows in panels:
            if rows and "copy_gbps" in rows[0].u:
                copies.append("%.1f GB/s with %s thread%s" % (rows[0].u["copy_gbps"], t,
                                                              "" if t == 1 else "s"))
        if copies:
            info.append("- Copy bandwidth (`ups bench`: memcpy of 256 MiB, read + write): %s"
                        % ", ".join(copies))
    elif panels and panels[0][1]:
        row = panels[0][1][0]
        info.append("- Copy bandwidth (device-to-device, read + write): ups %.0f GB/s, "
                    "PyTorch %.0f GB/s" % (row.u["copy_gbps"], row.torch["copy_gbps"]))
    if meta.get("load"):
        info.append("- Load average (1 min) before, between and after the runs: %s"
                    % meta["load"])
    if meta.get("command"):
        info.append("- Command: `%s`" % meta["command"])
    return info


def section(res, device, meta, panels, plot_path, doc_path):
    lines = ["<!-- Generated by scripts/bench_report.py; edit the text outside the markers. -->",
             ""]
    lines += header(meta, res, device, panels)
    lines.append("")
    if device == "cuda":
        rows = panels[0][1]
        lines += ["Geometric mean of PyTorch time / ups time (above 1: ups is faster):", "",
                  cuda_summary(rows), ""]
        if plot_path:
            lines += [plot_link(plot_path, doc_path, "PyTorch time / ups time per case"), ""]
        lines.append(cuda_table(rows))
        return "\n".join(lines)
    peers = res.peers()
    notes = Notes()
    lines += ["Ratios are peer time / ups time (above 1: ups is faster); the best peer is the "
              "fastest peer that computes the case.", ""]
    if plot_path:
        lines += [plot_link(plot_path, doc_path, "best peer time / ups time per case"), ""]
    for threads, rows in panels:
        lines += ["### %s thread%s" % (threads, "" if threads == 1 else "s"), "",
                  "Geometric means:", "", cpu_summary(rows, peers), "",
                  coverage(rows, peers), "", cpu_table(rows, peers, notes), ""]
    if notes.items:
        lines.append(notes.markdown())
    return "\n".join(lines).rstrip("\n")


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
    ap.add_argument("--peers", nargs="+", default=[],
                    help="bench_peers.py or bench_pytorch.py outputs")
    ap.add_argument("--torch", nargs="+", default=[], help="the same as --peers")
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
    res = Results(by_threads=args.device == "cpu")
    res.load(args.ups, "ups")
    res.load(args.peers + args.torch, "pytorch")
    peers = res.peers()
    if args.device == "cuda":
        peers = [p for p in peers if p == "pytorch"]
    panels = []
    for threads in res.thread_counts():
        rows = make_rows(res, threads, peers)
        if args.device == "cuda":
            rows = [r for r in rows if r.torch]
        if rows:
            panels.append((threads, rows))
    if not panels:
        sys.exit("bench_report.py: no case has results from ups and a peer")
    if args.device == "cuda":
        panels = panels[:1]
        meta.setdefault("torch_version", res.versions.get("pytorch", ""))
        if panels[0][1][0].u.get("device_name"):
            meta.setdefault("device_name", panels[0][1][0].u["device_name"])
    meta["peer_names"] = [peer_name(p) for p in peers]
    plot_path = args.plot if args.plot is not None else "docs/img/bench_%s.png" % args.device
    if plot_path:
        plot(panels, plot_path, args.device, meta)
    update_doc(args.doc, args.device, section(res, args.device, meta, panels, plot_path,
                                              args.doc))
    for threads, rows in panels:
        vs_torch = [r.vs_torch for r in rows if r.vs_torch is not None]
        where = "" if args.device == "cuda" else "%s thread%s: " % (threads, "" if threads == 1
                                                                     else "s")
        line = "bench_report.py: %s%d cases, geometric mean PyTorch / ups = %s, " \
               "ups slower in %d" % (where, len(rows), gm_text(vs_torch, 3),
                                     sum(1 for r in vs_torch if r < 1))
        if args.device == "cpu":
            vs_best = [r.vs_best for r in rows if r.vs_best is not None]
            line += "; best peer / ups = %s, ups slower in %d" % (
                gm_text(vs_best, 3), sum(1 for r in vs_best if r < 1))
        print(line)
    print("bench_report.py: wrote %s%s" % (args.doc, " and " + plot_path if plot_path else ""))


if __name__ == "__main__":
    main()
