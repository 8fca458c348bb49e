"""Chaos-game rendering throughput, as ratios against two Numba baselines measured in the same run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_render.py            # full figures (a few minutes)
    .venv/bin/python benchmarks/bench_render.py --quick    # smaller counts, a rough check

Every figure uses the same number of threads (``--threads``, default 2), the
baselines as much as ifskit:

- the *plain loop* is what one writes first: ``np.random.random()`` per point, a
  linear search of the cumulative probabilities, an int64 histogram per thread;
- the *tuned kernel* is what one writes next, in about 30 lines: float32
  arithmetic, a xorshift32 generator, the map picked from a 4096-entry lookup
  table, one uint32 histogram per thread.

Both run one chain per thread and add the threads' histograms at the end. The
figures are points per second (wall clock, best of a few runs) after a warm-up
that compiles the kernels.
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
from numba import njit, prange, set_num_threads

import ifskit


@njit(parallel=True, cache=True)
def plain_density(A, b, cumulative, n_points, size, bounds, seed, n_threads):
    """The first baseline: np.random, linear search of cumulative probabilities, int64 histograms."""
    hists = np.zeros((n_threads, size, size), dtype=np.int64)
    x0, x1, y0, y1 = bounds
    for t in prange(n_threads):
        np.random.seed(seed + t)
        x, y = 0.0, 0.0
        for i in range(n_points // n_threads + 100):
            r = np.random.random()
            m = 0
            while cumulative[m] < r and m < len(cumulative) - 1:
                m += 1
            x, y = A[m, 0, 0] * x + A[m, 0, 1] * y + b[m, 0], A[m, 1, 0] * x + A[m, 1, 1] * y + b[m, 1]
            if i >= 100:
                col = int((x - x0) / (x1 - x0) * size)
                row = int((y1 - y) / (y1 - y0) * size)
                if 0 <= col < size and 0 <= row < size:
                    hists[t, row, col] += 1
    return hists.sum(axis=0)


@njit(parallel=True, fastmath=True, cache=True)
def tuned_density(A, b, p, n_points, size, bounds, seed, n_threads):
    """The second baseline: float32, xorshift32 per point, a 4096-entry table of maps, uint32 histograms."""
    table = np.empty(4096, dtype=np.int64)  # entry j: the map for uniform numbers in [j, j + 1) / 4096
    edges = np.cumsum(p) * 4096.0
    m = 0
    for j in range(4096):
        while m < len(p) - 1 and j + 0.5 >= edges[m]:
            m += 1
        table[j] = m
    A32, b32 = A.astype(np.float32), b.astype(np.float32)
    x0, y1 = np.float32(bounds[0]), np.float32(bounds[3])
    sx = np.float32(size / (bounds[1] - bounds[0]))
    sy = np.float32(size / (bounds[3] - bounds[2]))
    hists = np.zeros((n_threads, size, size), dtype=np.uint32)
    for t in prange(n_threads):
        state = np.uint32(2463534242 + 7919 * (seed * n_threads + t))
        x, y = np.float32(0.0), np.float32(0.0)
        for i in range(n_points // n_threads + 100):
            state = np.uint32(state ^ (state << np.uint32(13)))  # numba widens uint32 shifts: cast back
            state = np.uint32(state ^ (state >> np.uint32(17)))
            state = np.uint32(state ^ (state << np.uint32(5)))
            m = table[state >> np.uint32(20)]
            x, y = A32[m, 0, 0] * x + A32[m, 0, 1] * y + b32[m, 0], A32[m, 1, 0] * x + A32[m, 1, 1] * y + b32[m, 1]
            col, row = np.int32((x - x0) * sx), np.int32((y1 - y) * sy)
            if i >= 100 and 0 <= col < size and 0 <= row < size:
                hists[t, row, col] += np.uint32(1)
    return hists.sum(axis=0)


def rate(function, n_points: int, repeats: int = 2) -> float:
    """Best points per second over a few runs."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return n_points / best


def interleaved_rates(functions: dict, n_points: int, repeats: int = 3, clock=time.perf_counter) -> dict:
    """Best points per second of each function, the functions run in turn (a change of load hits all)."""
    best = dict.fromkeys(functions, np.inf)
    for _ in range(repeats):
        for name, function in functions.items():
            start = clock()
            function()
            best[name] = min(best[name], clock() - start)
    return {name: n_points / seconds for name, seconds in best.items()}


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


def new_ifs_renders(n_ifs: int, n_points: int, size: int, threads: int, batch: bool = False) -> tuple:
    """Wall and CPU seconds per density of a new IFS (never rendered before: its bounds are unknown).

    The IFS are perturbed Barnsley ferns; ``batch`` renders them with one call of
    ``ifskit.render.densities`` instead of one ``ifskit.density`` each.
    """
    rng = np.random.default_rng(n_ifs + n_points)
    fern = ifskit.catalog("barnsley_fern")
    shapes = [ifskit.IFS(fern.A * (1 + 0.01 * rng.standard_normal(fern.A.shape)), fern.b) for _ in range(n_ifs)]
    wall, cpu = time.perf_counter(), time.process_time()
    if batch:
        ifskit.render.densities(shapes, (size, size), n_points, threads=threads, progress=False)
    else:
        for ifs in shapes:
            ifskit.density(ifs, (size, size), n_points, threads=threads, progress=False)
    return (time.perf_counter() - wall) / n_ifs, (time.process_time() - cpu) / n_ifs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller point counts (a rough check, not the figures)")
    parser.add_argument(
        "--threads", type=int, default=2, help="threads of every kernel, baselines included (default 2)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON as well")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    threads = args.threads
    set_num_threads(threads)

    sierpinski = ifskit.catalog("sierpinski")
    fern = ifskit.catalog("barnsley_fern")
    sponge = ifskit.catalog("menger_sponge")
    A, b, p = np.array(sierpinski.A), np.array(sierpinski.b), np.array(sierpinski.p)
    cumulative = np.cumsum(p)

    def sierpinski_cases(size: int, n: int) -> list:
        bounds = ifskit.render.frame.window(sierpinski, (size, size)).bounds
        return [
            ("plain", lambda: plain_density(A, b, cumulative, n, size, bounds, 0, threads)),
            ("tuned", lambda: tuned_density(A, b, p, n, size, bounds, 0, threads)),
            ("ifskit", lambda: ifskit.density(sierpinski, (size, size), n, threads=threads, progress=False)),
            (
                "float64",
                lambda: ifskit.density(
                    sierpinski, (size, size), n, precision="float64", threads=threads, progress=False
                ),
            ),
        ]

    # warm up (compile, or load the compiled kernels from the cache)
    for _, function in sierpinski_cases(64, 1000):
        function()
    ifskit.render_image(fern, 64, 1000, color="map")
    ifskit.render_image(sponge, 64, 1000)
    new_ifs_renders(3, 200_000, 256, threads)
    new_ifs_renders(3, 200_000, 256, threads, batch=True)

    n = 200_000_000 // scale
    figures = {}
    print(
        f"# ifskit render benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{threads} threads for every kernel, load average before: {os.getloadavg()[0]:.2f}"
    )
    print()
    print(
        "| Sierpinski density | points | plain loop Mpts/s | tuned kernel Mpts/s | ifskit Mpts/s "
        "| ifskit / tuned | ifskit / plain | ifskit float64 Mpts/s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for size in (1024, 4096):
        rates = interleaved_rates(dict(sierpinski_cases(size, n)), n)
        figures[f"sierpinski {size}"] = rates
        print(
            f"| {size}^2 | {n:.0e} | {rates['plain'] / 1e6:.0f} | {rates['tuned'] / 1e6:.0f} | {rates['ifskit'] / 1e6:.0f} "
            f"| {rates['ifskit'] / rates['tuned']:.2f}x | {rates['ifskit'] / rates['plain']:.1f}x "
            f"| {rates['float64'] / 1e6:.0f} |"
        )
    print()

    # CPU time of one thread: what the kernels cost, whatever else the machine runs
    cpu_n = 2**24
    print("| one thread, CPU time, Sierpinski | tuned kernel Mpts/s | ifskit float32 Mpts/s | ifskit float64 Mpts/s |")
    print("|---|---:|---:|---:|")
    for size in (1024, 4096):
        bounds = ifskit.render.frame.window(sierpinski, (size, size)).bounds
        cpu = {
            "tuned": lambda size=size, bounds=bounds: tuned_density(A, b, p, cpu_n, size, bounds, 0, 1),
            "float32": lambda size=size: ifskit.density(sierpinski, size, cpu_n, threads=1, progress=False),
            "float64": lambda size=size: ifskit.density(
                sierpinski, size, cpu_n, precision="float64", threads=1, progress=False
            ),
        }
        rates = interleaved_rates(cpu, cpu_n, clock=time.process_time)
        figures[f"cpu one thread {size}"] = rates
        print(
            f"| {size}^2 | {rates['tuned'] / 1e6:.0f} | {rates['float32'] / 1e6:.0f} | {rates['float64'] / 1e6:.0f} |"
        )
    print()

    print("| density of a new IFS (perturbed ferns), 256^2 | wall ms per IFS | CPU ms per IFS (all threads) |")
    print("|---|---:|---:|")
    for label, n_ifs, count, batch in (
        ("1,000 points (the fixed cost of a call)", 200, 1000, False),
        ("200,000 points, ifskit.density", 100, 200_000, False),
        ("200,000 points, ifskit.render.densities of 100", 100, 200_000, True),
    ):
        wall, cpu = new_ifs_renders(n_ifs, count, 256, threads, batch)
        figures[f"new ifs {label}"] = {"wall_ms": 1e3 * wall, "cpu_ms": 1e3 * cpu}
        print(f"| {label} | {1e3 * wall:.2f} | {1e3 * cpu:.2f} |")
    print()

    cases = [
        (
            "ifskit.density, Barnsley fern 1024^2",
            n,
            lambda: ifskit.density(fern, (1024, 1024), n, threads=threads, progress=False),
        ),
        (
            "render_image --color map, fern 1024^2",
            n // 4,
            lambda: ifskit.render_image(fern, 1024, n // 4, color="map", threads=threads, progress=False),
        ),
        (
            "render_image 3D view, Menger sponge 1024^2",
            n // 4,
            lambda: ifskit.render_image(sponge, 1024, n // 4, threads=threads, progress=False),
        ),
        (
            "ifskit.chaos_game points, fern",
            n // 10,
            lambda: ifskit.chaos_game(fern, n // 10, threads=threads, progress=False),
        ),
    ]
    print("| other case | points | Mpoints/s |")
    print("|---|---:|---:|")
    for label, count, function in cases:
        figures[label] = rate(function, count)
        print(f"| {label} | {count:.1e} | {figures[label] / 1e6:.0f} |")
    if not args.quick:
        huge = 10_000_000_000
        seconds, peak_mb = huge_render_memory(huge)
        print(
            f"| ifskit.density 1e10 points, Sierpinski 1024^2 (fresh process, all cores) | {huge:.0e} | {huge / seconds / 1e6:.0f} |"
        )
        print()
        print(f"Peak resident memory of the 1e10-point render: {peak_mb:.0f} MB (counts are uint64; no points kept).")
        figures["huge_peak_mb"] = peak_mb
    print()
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
