"""Where a fitted attractor misses and spills, against what its collage and its cloud allow (2D real shapes).

Run from the repository root::

    .venv/bin/python benchmarks/bench_collage.py                              # the 2D development shapes
    .venv/bin/python benchmarks/bench_collage.py --shapes glyph_B,horse --seed 2

Per shape (:mod:`real_shapes`, 4096-point clouds of ``--seed``), ``ifskit.fit(cloud, n_maps="auto",
seed=SEED)`` and, at the 128^2 grid of :mod:`real_metrics` over the truth's bounding square, as shares of the
truth's pixels:

- the attractor (10^6 chaos-game points): IoU, missed, spilled, and missed more than two pixels inside the
  shape (gaps between copies, not the edge);
- the collage of the truth (every map applied to the dense truth): missed and spilled. The attractor's
  misses are the collage's where the two agree: a gap between copies is copied into every copy;
- the cloud's reach: the best IoU of the discs of radius r round the cloud's points (r scanned over 0.3-4
  pixels), a figure of what the 4096 points tell of the shape;
- the maps' |det| sum (above 1: the copies overlap) and their largest singular value (near 1: a near-identity
  map, whose attractor is a blur).

The notes ({doc}`/notes/fitting`, "Copies that overlap") quote this script's figures, with the code before
and after a change.
"""

from __future__ import annotations

import argparse

import numpy as np
from real_metrics import GRID, N_IOU, bounding_square, occupancy
from real_shapes import SHAPES, load_shape
from scipy import ndimage
from scipy.spatial import cKDTree

import ifskit

#: Pixels from the truth's edge beyond which a missed pixel is a gap inside the shape.
INSIDE = 2.0


def shares(shape, ifs) -> dict:
    """The figures of the module docstring for one fitted ``ifs`` of a 2D ``shape``."""
    bins = GRID[2]
    lo, side = bounding_square(shape.truth)
    truth = occupancy(shape.truth, lo, side, bins)
    area = truth.sum()
    attractor = occupancy(ifskit.chaos_game(ifs, N_IOU, seed=0, progress=False), lo, side, bins)
    collage = occupancy(ifs.apply(shape.truth).reshape(-1, 2), lo, side, bins)
    depth = ndimage.distance_transform_edt(truth)
    missed = truth & ~attractor
    centres = lo + (np.indices((bins, bins)).reshape(2, -1).T + 0.5) * side / bins
    gap = cKDTree(shape.cloud).query(centres)[0].reshape(bins, bins) / (side / bins)  # in pixels
    reach = max(float((truth & (gap <= r)).sum() / (truth | (gap <= r)).sum()) for r in np.linspace(0.3, 4.0, 38))
    return {
        "iou": float((attractor & truth).sum() / (attractor | truth).sum()),
        "missed": float(missed.sum() / area),
        "missed_inside": float((missed & (depth > INSIDE)).sum() / area),
        "spilled": float((attractor & ~truth).sum() / area),
        "collage_missed": float((truth & ~collage).sum() / area),
        "collage_spilled": float((collage & ~truth).sum() / area),
        "cloud_reach_iou": reach,
        "det_sum": float(np.abs(np.linalg.det(ifs.A)).sum()),
        "largest_singular_value": float(np.linalg.svd(ifs.A, compute_uv=False).max()),
    }


def main(argv=None) -> None:
    two_d = [name for name, spec in SHAPES.items() if spec.dim == 2]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=",".join(two_d), help="comma-separated 2D shapes (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="draws of the clouds and truths, and the fit's seed")
    args = parser.parse_args(argv)
    print(
        "shape: attractor IoU / missed (inside) / spilled | collage missed / spilled | cloud's reach | |det| sum, largest singular value"
    )
    for name in args.shapes.split(","):
        shape = load_shape(name, seed=args.seed)
        f = shares(shape, ifskit.fit(shape.cloud, n_maps="auto", seed=args.seed, progress=False).ifs)
        print(
            f"{name:16s} {f['iou']:.3f} / {f['missed']:.3f} ({f['missed_inside']:.3f}) / {f['spilled']:.3f} | "
            f"{f['collage_missed']:.3f} / {f['collage_spilled']:.3f} | {f['cloud_reach_iou']:.3f} | {f['det_sum']:.2f}, "
            f"{f['largest_singular_value']:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
