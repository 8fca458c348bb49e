"""``fit(n_maps="auto")`` on clouds of the catalog's 2D fractals: does it find their few maps?

Run from the repository root::

    .venv/bin/python benchmarks/bench_auto_catalog.py                      # ten 2D fractals (about 4 minutes)
    .venv/bin/python benchmarks/bench_auto_catalog.py --names heighway_dragon,barnsley_fern

Each fractal of the catalog gives a 4096-point cloud (chaos game, seed 1) and a 200,000-point truth (seed
2); ``ifskit.fit(cloud, n_maps="auto", seed=0)`` answers. Figures as in ``benchmarks/bench_real.py``
(:mod:`real_metrics`): occupancy IoU at 128^2 of 10^6 chaos-game points of the answer against the truth,
Hausdorff distance in % of the diagonal; the maps of the answer beside the fractal's own; seconds. Copies of
the shape (the fitter's real-shape path) can cover a fractal's cloud as well; its own few maps are the
better answer where the k-means fits find them.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from real_metrics import score_ifs

import ifskit

#: Filled 2D fractals and dragons of the catalog, of 2 to 8 maps.
NAMES = (
    "heighway_dragon",
    "twin_dragon",
    "terdragon",
    "golden_dragon",
    "barnsley_fern",
    "maple_leaf",
    "sierpinski_carpet",
    "koch_snowflake",
    "pentaflake",
    "hexaflake",
)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", default=",".join(NAMES), help="comma-separated catalog names")
    args = parser.parse_args(argv)
    ious = []
    print("| fractal | its maps | fitted maps | IoU | Hausdorff % | seconds |\n|---|---:|---:|---:|---:|---:|")
    for name in args.names.split(","):
        ifs = ifskit.catalog(name)
        cloud = ifskit.chaos_game(ifs, 4096, seed=1, progress=False)
        truth = ifskit.chaos_game(ifs, 200_000, seed=2, progress=False)
        start = time.perf_counter()
        result = ifskit.fit(cloud, n_maps="auto", seed=0, progress=False)
        seconds = time.perf_counter() - start
        scores = score_ifs(truth, result.ifs, seed=0)
        ious.append(scores.iou)
        print(
            f"| {name} | {ifs.n_maps} | {result.n_maps} | {scores.iou:.3f} | {scores.hausdorff_pct:.2f} | {seconds:.1f} |",
            flush=True,
        )
    print(f"\n{len(ious)} fractals: mean IoU {np.mean(ious):.3f}")


if __name__ == "__main__":
    main()
