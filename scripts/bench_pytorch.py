#!/usr/bin/env python3
"""Times the cases of `ups bench`'s default suite with PyTorch (2.x), for comparison with ups.

Usage:
  bench_pytorch.py --ups build/bench/ups [--device auto|cpu|cuda] [--threads T]
                   [--repeat R] [--warmup W] [--filter TEXT] [--out FILE]

This is scripts/bench_peers.py with PyTorch as the only peer (the GPU check runs it on CUDA,
where PyTorch is the only peer); see that script for the cases, the timing on the CPU and on
CUDA, and the fields of its JSON lines (those of `ups bench --json` plus "impl": "pytorch",
"version" and "torch_version").
"""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_peers  # noqa: E402

if __name__ == "__main__":
    bench_peers.reexec_with_malloc_tunables()
    bench_peers.main(sys.argv[1:], peers=["torch"], prog="bench_pytorch.py",
                     description=__doc__.split("\n\n")[0])
