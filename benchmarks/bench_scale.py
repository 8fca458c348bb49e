"""Scale-out: a density render on a local Dask cluster of 1 and 2 workers, and the torch backend.

Run from the repository root::

    .venv/bin/python benchmarks/bench_scale.py            # 4e9 points (a few minutes on 2 cores)
    .venv/bin/python benchmarks/bench_scale.py --quick    # 4e8 points, a rough check

Cases, all in the same run:

- baseline: the single-process renderer, ``ifskit.density`` on all cores;
- the same render with ``client=`` on a ``LocalCluster`` of 1 and of 2 worker processes
  (one thread each, on 127.0.0.1), each checked byte for byte against the baseline;
  the cluster start-up is not timed, and each cluster first renders a small picture
  (loading the compiled kernels in its workers);
- the torch chaos game on the CPU (``device="torch-cpu"``, one thread) against the
  Numba renderer on one thread;
- the torch chaos game on CUDA where a GPU is present (goal: >= 1e9 points/s).

Wall-clock seconds, best of one run each (the renders are long). The issue's target is
a speed-up of at least 1.7x from 1 to 2 workers on a 4e9-point render on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

import ifskit
from ifskit.distributed import connect

SIZE = (1024, 1024)
SPEEDUP_TARGET = 1.7
GPU_TARGET = 1e9


def timed(function):
    """(result, seconds) of one call."""
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def coarse(counts: np.ndarray, blocks: int = 64) -> np.ndarray:
    """Sum a (H, W) histogram over ``blocks`` x ``blocks`` tiles; H and W multiples of ``blocks``."""
    height, width = counts.shape
    return counts.reshape(blocks, height // blocks, blocks, width // blocks).sum(axis=(1, 3))


def total_variation(a: np.ndarray, b: np.ndarray) -> float:
    """Total variation distance between two histograms, each normalized to sum 1."""
    return 0.5 * float(np.abs(a / a.sum() - b / b.sum()).sum())


def _warm_up() -> None:
    """Load ifskit and its compiled kernels in this process."""
    ifskit.density(ifskit.catalog("sierpinski"), (64, 64), 1000, threads=1)


def cluster_render(ifs, n_workers: int, n_points: int, seed: int):
    """Render on a fresh local cluster of ``n_workers``; (counts, seconds, start-up seconds)."""
    startup = time.perf_counter()
    with connect(f"local:{n_workers}") as client:
        startup = time.perf_counter() - startup
        client.run(_warm_up)  # every worker loads the compiled kernels before the clock starts
        counts, seconds = timed(lambda: ifskit.density(ifs, SIZE, n_points, seed=seed, client=client, progress=False))
    return counts, seconds, startup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4e8 points instead of 4e9 (a rough check)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON as well")
    args = parser.parse_args()
    n_points = 4 * 10**8 if args.quick else 4 * 10**9
    n_torch = 4 * 10**6 if args.quick else 4 * 10**7
    n_gpu = 10**9 if args.quick else 10**10
    seed = 11
    ifs = ifskit.catalog("sierpinski")
    load_before = os.getloadavg()

    _warm_up()  # compile, or load the compiled kernels
    here, base_seconds = timed(lambda: ifskit.density(ifs, SIZE, n_points, seed=seed, progress=False))
    runs = {n: cluster_render(ifs, n, n_points, seed) for n in (1, 2)}
    identical = {n: counts.tobytes() == here.tobytes() for n, (counts, _, _) in runs.items()}
    speedup = runs[1][1] / runs[2][1]

    numba_one = ifskit.density(ifs, SIZE, 5 * n_torch, seed=seed, threads=1, progress=False)
    _, numba_seconds = timed(lambda: ifskit.density(ifs, SIZE, 5 * n_torch, seed=seed, threads=1, progress=False))
    numba_rate = 5 * n_torch / numba_seconds
    torch_rates = {}
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        ifskit.density(ifs, SIZE, 10**5, device="torch-cpu")
        torch_counts, seconds = timed(lambda: ifskit.density(ifs, SIZE, n_torch, seed=seed, device="torch-cpu"))
        torch_rates["torch-cpu"] = n_torch / seconds
        # same measure: total variation distance to the Numba histogram, on 64x64 blocks
        tv_cpu = total_variation(coarse(torch_counts), coarse(numba_one))
        if torch.cuda.is_available():
            ifskit.density(ifs, SIZE, 10**7, device="cuda")
            torch.cuda.synchronize()
            _, seconds = timed(lambda: ifskit.density(ifs, SIZE, n_gpu, seed=seed, device="cuda"))
            torch_rates[f"cuda ({torch.cuda.get_device_name()})"] = n_gpu / seconds
    load_after = os.getloadavg()

    print(f"# ifskit scale-out benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print()
    print(f"Sierpinski triangle, {SIZE[0]}x{SIZE[1]}, seed {seed}.")
    print()
    print("| case | points | seconds | Mpoints/s | vs single process | identical to single process |")
    print("|---|---:|---:|---:|---:|---|")
    print(f"| ifskit.density, one process, all cores | {n_points:.0e} | {base_seconds:.1f} | "
          f"{n_points / base_seconds / 1e6:.0f} | 1.00x | (baseline) |")  # fmt: skip
    for n, (_, seconds, startup) in runs.items():
        print(
            f"| LocalCluster, {n} worker{'s' if n > 1 else ''} x 1 thread (start-up {startup:.1f} s, not timed) | "
            f"{n_points:.0e} | {seconds:.1f} | {n_points / seconds / 1e6:.0f} | {base_seconds / seconds:.2f}x | "
            f"{'yes' if identical[n] else 'NO'} |"
        )
    print()
    print("| backend | points | Mpoints/s | vs Numba, 1 thread |")
    print("|---|---:|---:|---:|")
    print(f"| Numba renderer, 1 thread (baseline) | {5 * n_torch:.0e} | {numba_rate / 1e6:.0f} | 1.00x |")
    for name, value in torch_rates.items():
        count = n_torch if name == "torch-cpu" else n_gpu
        print(f"| torch chaos game, {name} | {count:.0e} | {value / 1e6:.1f} | {value / numba_rate:.2f}x |")
    if torch is None:
        print("| torch chaos game | - | not measured: torch is not installed | - |")
    print()
    if torch is not None:
        print(
            f"torch-cpu vs Numba 1024^2 histograms summed to 64x64: total variation distance {tv_cpu:.4f} (same measure, own random streams)."
        )
    print()
    print("| target | measured | |")
    print("|---|---|---|")
    met = "met" if speedup >= SPEEDUP_TARGET else "not met"
    print(f"| 2 workers vs 1 >= {SPEEDUP_TARGET}x on {n_points:.0e} points | {speedup:.2f}x | {met} |")
    same = all(identical.values())
    print(f"| cluster renders byte-identical to the single process | {'yes' if same else 'no'} | "
          f"{'met' if same else 'not met'} |")  # fmt: skip
    gpu = [(name, value) for name, value in torch_rates.items() if name.startswith("cuda")]
    if gpu:
        name, value = gpu[0]
        print(f"| torch on GPU >= 1e9 points/s | {value:.2e} points/s, {name} | "
              f"{'met' if value >= GPU_TARGET else 'not met'} |")  # fmt: skip
    else:
        print("| torch on GPU >= 1e9 points/s | not measured: no CUDA GPU on this machine | - |")
    print()
    print(f"Load average (1 min) before / after: {load_before[0]:.1f} / {load_after[0]:.1f} on {os.cpu_count()} cores.")
    if args.json:
        figures = {
            "points": n_points,
            "single_process_s": base_seconds,
            "cluster_s": {n: r[1] for n, r in runs.items()},
            "speedup_2_vs_1": speedup,
            "identical": same,
            "numba_1_thread_pts_s": numba_rate,
            "torch_pts_s": torch_rates,
        }
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
