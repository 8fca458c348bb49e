"""Chaos-game rendering throughput, as ratios against a plain Numba loop measured in the same run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_render.py            # full figures (about 2 minutes)
    .venv/bin/python benchmarks/bench_render.py --quick    # smaller counts, a rough check

The baseline is what one writes first: a single-threaded Numba loop with
``np.random.random()`` per point, a linear search of the cumulative probabilities,
and an int64 histogram. The figures are points per second (wall clock, all cores),
after a warm-up run that compiles the kernels.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
from numba import njit

import ifskit


@njit(cache=True)
def plain_density(A, b, cumulative, n_points, size, bounds, seed):
    """The baseline: np.random, linear search of cumulative probabilities, int64 histogram."""
    np.random.seed(seed)
    hist = np.zeros((size, size), dtype=np.int64)
    x0, x1, y0, y1 = bounds
    x, y = 0.0, 0.0
    for i in range(n_points + 100):
        r = np.random.random()
        m = 0
        while cumulative[m] < r and m < len(cumulative) - 1:
            m += 1
        x, y = A[m, 0, 0] * x + A[m, 0, 1] * y + b[m, 0], A[m, 1, 0] * x + A[m, 1, 1] * y + b[m, 1]
        if i >= 100:
            col = int((x - x0) / (x1 - x0) * size)
            row = int((y1 - y) / (y1 - y0) * size)
            if 0 <= col < size and 0 <= row < size:
                hist[row, col] += 1
    return hist


def rate(function, n_points: int, repeats: int = 2) -> float:
    """Best points per second over a few runs."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return n_points / best


def huge_render_memory(n_points: int) -> tuple:
    """Render n_points at 1024^2 in a fresh process; (seconds, peak resident MB).

    The peak is the process's VmHWM: unlike ru_maxrss, it is not inherited from the
    parent across fork and exec.
    """
    code = (
        "import time, ifskit\n"
        "ifs = ifskit.catalog('sierpinski')\n"
        "ifskit.density(ifs, (64, 64), 1000)\n"
        "t = time.perf_counter()\n"
        f"h = ifskit.density(ifs, (1024, 1024), {n_points}, progress=False)\n"
        f"assert int(h.sum()) == {n_points}\n"
        "peak = [line for line in open('/proc/self/status') if line.startswith('VmHWM')][0].split()[1]\n"
        "print(time.perf_counter() - t, int(peak) / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller point counts (a rough check, not the figures)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON as well")
    args = parser.parse_args()
    scale = 10 if args.quick else 1

    sierpinski = ifskit.catalog("sierpinski")
    fern = ifskit.catalog("barnsley_fern")
    sponge = ifskit.catalog("menger_sponge")
    bounds = ifskit.render.frame.window(sierpinski, (1024, 1024)).bounds
    A, b, cumulative = np.array(sierpinski.A), np.array(sierpinski.b), np.cumsum(sierpinski.p)

    # warm up (compile, or load the compiled kernels from the cache)
    plain_density(A, b, cumulative, 1000, 1024, bounds, 0)
    ifskit.density(sierpinski, (64, 64), 1000)
    ifskit.render_image(fern, 64, 1000, color="map")
    ifskit.render_image(sponge, 64, 1000)

    n_base = 20_000_000 // scale
    baseline = rate(lambda: plain_density(A, b, cumulative, n_base, 1024, bounds, 0), n_base)
    n = 200_000_000 // scale
    rows = [("plain Numba loop (1 thread), Sierpinski 1024^2", n_base, baseline)]
    cases = [
        ("ifskit.density, Sierpinski 1024^2", n, lambda: ifskit.density(sierpinski, (1024, 1024), n, progress=False)),
        ("ifskit.density, Sierpinski 4096^2", n, lambda: ifskit.density(sierpinski, (4096, 4096), n, progress=False)),
        ("ifskit.density, Barnsley fern 1024^2", n, lambda: ifskit.density(fern, (1024, 1024), n, progress=False)),
        (
            "render_image --color map, fern 1024^2",
            n // 4,
            lambda: ifskit.render_image(fern, 1024, n // 4, color="map", progress=False),
        ),
        (
            "render_image 3D view, Menger sponge 1024^2",
            n // 4,
            lambda: ifskit.render_image(sponge, 1024, n // 4, progress=False),
        ),
        ("ifskit.chaos_game points, fern", n // 10, lambda: ifskit.chaos_game(fern, n // 10, progress=False)),
    ]
    for label, count, function in cases:
        rows.append((label, count, rate(function, count)))

    print(
        f"# ifskit render benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numba threads via Python pool"
    )
    print()
    print("| case | points | Mpoints/s | vs plain loop |")
    print("|---|---:|---:|---:|")
    for label, count, value in rows:
        print(f"| {label} | {count:.1e} | {value / 1e6:.0f} | {value / baseline:.1f}x |")
    figures = {label: value for label, _, value in rows}
    if not args.quick:
        huge = 10_000_000_000
        seconds, peak_mb = huge_render_memory(huge)
        print(
            f"| ifskit.density 1e10 points, Sierpinski 1024^2 (fresh process) | {huge:.0e} | {huge / seconds / 1e6:.0f} | {huge / seconds / baseline:.1f}x |"
        )
        print()
        print(f"Peak resident memory of the 1e10-point render: {peak_mb:.0f} MB (counts are uint64; no points kept).")
        figures["huge_peak_mb"] = peak_mb
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
