"""Collage-fit quality and time, against plain Adam from a random start measured in the same run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_fit.py            # 3 seeds per case (about 5 minutes)
    .venv/bin/python benchmarks/bench_fit.py --quick    # 1 seed, a rough check

Targets are 4096 chaos-game points of a known attractor. Quality is the Chamfer
distance between the fitted attractor (200,000 chaos-game points) and the target, as a
fraction of the target's bounding-box diagonal; time is the wall clock of the whole
``ifskit.fit`` call (starts, optimization, verification), after a warm-up fit that
loads torch and compiles the chaos game. The baseline is ``ifskit.fit(...,
init="random", restarts=1)``: the same loss, parametrization and number of steps,
from random maps instead of the k-means starts. Figures are medians over the seeds.
"""

from __future__ import annotations

import argparse
import json
import platform

import numpy as np

import ifskit

CASES = [
    # catalog name, maps, target fraction of the diagonal, time target (s)
    ("sierpinski", 3, 0.005, 10),
    ("barnsley_fern", 4, 0.015, 60),
    ("sierpinski_tetrahedron", 4, 0.01, 30),
]


def run_case(name: str, n_maps: int, seeds: list, steps: int, **settings) -> dict:
    """Median quality and time of fits of one target over several seeds."""
    cloud = ifskit.chaos_game(ifskit.catalog(name), 4096, seed=1, progress=False)
    diagonal = float(np.linalg.norm(cloud.max(axis=0) - cloud.min(axis=0)))
    quality, seconds, bound_holds = [], [], []
    for seed in seeds:
        result = ifskit.fit(cloud, n_maps, steps=steps, seed=seed, progress=False, **settings)
        quality.append(result.attractor_chamfer / diagonal)
        seconds.append(result.seconds)
        bound_holds.append(result.attractor_hausdorff <= result.bound)
    return {
        "chamfer_fraction": float(np.median(quality)),
        "worst_fraction": float(np.max(quality)),
        "seconds": float(np.median(seconds)),
        "bound_holds": all(bound_holds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed per case")
    parser.add_argument("--steps", type=int, default=400, help="optimizer steps of every fit (default 400)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    seeds = [0] if args.quick else [0, 1, 2]
    # warm-up: torch import, numba compilation of the chaos game
    ifskit.fit(ifskit.chaos_game(ifskit.catalog("sierpinski"), 500, progress=False), 3, steps=2, progress=False)

    rows = []
    for name, n_maps, target, time_target in CASES:
        ours = run_case(name, n_maps, seeds, args.steps)
        plain = run_case(name, n_maps, seeds, args.steps, init="random", restarts=1)
        rows.append(
            {"case": name, "maps": n_maps, "target": target, "time_target": time_target, "fit": ours, "plain": plain}
        )
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{platform.processor() or platform.machine()}, {len(seeds)} seed(s), {args.steps} steps per fit")
    print(
        "| target (4096 points) | maps | method | Chamfer / diagonal (median, worst) | seconds | plain Adam's Chamfer / this | target met | bound holds |"
    )
    print("|---|---:|---|---:|---:|---:|---|---|")
    for row in rows:
        base = row["plain"]["chamfer_fraction"]
        for method, figures in (("plain Adam, random start", row["plain"]), ("ifskit.fit", row["fit"])):
            met = figures["chamfer_fraction"] <= row["target"] and figures["seconds"] <= row["time_target"]
            print(
                f"| {row['case']} | {row['maps']} | {method} | "
                f"{100 * figures['chamfer_fraction']:.2f}% ({100 * figures['worst_fraction']:.2f}%) | "
                f"{figures['seconds']:.1f} | {base / figures['chamfer_fraction']:.1f}x | "
                f"{'yes' if met else 'no'} (<= {100 * row['target']:.1f}%, <= {row['time_target']} s) | "
                f"{'yes' if figures['bound_holds'] else 'NO'} |"
            )


if __name__ == "__main__":
    main()
