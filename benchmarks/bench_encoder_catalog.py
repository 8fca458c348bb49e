"""The encoder on clouds of the catalog's 2D attractors: the maps it keeps, and how near their attractor is.

Run from the repository root::

    .venv/bin/python benchmarks/bench_encoder_catalog.py                 # the 2D catalog (about a minute)
    .venv/bin/python benchmarks/bench_encoder_catalog.py --names heighway_dragon,barnsley_fern --json

Each fractal of :func:`ifskit.catalog_names` (2D) gives a 4096-point chaos-game cloud (``--seed``) and a
dense 200,000-point truth (another stream). ``ifskit.encode(cloud, refine=30)`` answers; the figures are
those of ``benchmarks/bench_real.py`` (:mod:`real_metrics`): occupancy IoU of 10^6 chaos-game points of the
answer against the truth at 128^2, Chamfer distance in % of the truth's diagonal, the maps kept (against
the maps that drew the cloud), and the seconds of the call after a warm-up. Real shapes ask the refinement
for copies; an attractor's cloud asks it for the few maps that drew it.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from real_metrics import score_ifs

import ifskit

N_CLOUD, N_TRUTH = 4096, 200_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", help="comma-separated catalog names (default: every 2D fractal)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the clouds (default 1)")
    parser.add_argument("--refine", type=int, default=30, help="refinement steps (default 30)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args()
    flat = [n for n in ifskit.catalog_names() if ifskit.catalog(n).dim == 2]
    names = args.names.split(",") if args.names else flat
    unknown = [n for n in names if n not in flat]
    if unknown:
        parser.error(f"not a 2D fractal of the catalog: {', '.join(unknown)} (ifskit catalog lists them)")
    ifskit.encode(np.random.default_rng(0).uniform(size=(300, 2)), refine=2)  # warm-up: torch, Numba
    rows = []
    print("| fractal | maps (true) | maps kept | IoU 128^2 | Chamfer % | seconds |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in names:
        true = ifskit.catalog(name)
        cloud = ifskit.chaos_game(true, N_CLOUD, seed=args.seed, progress=False)
        truth = ifskit.chaos_game(true, N_TRUTH, seed=args.seed + 1, progress=False)
        start = time.perf_counter()
        answer = ifskit.encode(cloud, refine=args.refine, seed=0)
        seconds = time.perf_counter() - start
        scores = score_ifs(truth, answer)
        rows.append(
            {
                "name": name,
                "true_maps": true.n_maps,
                "maps": answer.n_maps,
                "iou": scores.iou,
                "chamfer_pct": scores.chamfer_pct,
                "seconds": seconds,
            }
        )
        print(
            f"| {name} | {true.n_maps} | {answer.n_maps} | {scores.iou:.3f} | {scores.chamfer_pct:.3f} | {seconds:.2f} |",
            flush=True,
        )
    print(
        f"\n{len(rows)} fractals: mean IoU {np.mean([r['iou'] for r in rows]):.3f}, mean Chamfer "
        f"{np.mean([r['chamfer_pct'] for r in rows]):.3f}%, at most 8 maps kept for "
        f"{sum(r['maps'] <= 8 for r in rows)}, mean {np.mean([r['seconds'] for r in rows]):.2f} s a cloud"
    )
    if args.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
