"""Figures of merit of a fitted attractor against a real shape, as issue 18 defines them.

- Occupancy IoU: the dense truth and 10^6 chaos-game points of the attractor binned on a grid over the truth's
  bounding square (cube in 3D): side the larger side of the truth's bounding box, centred on the box; 128 x 128
  cells in 2D, 64^3 voxels in 3D. IoU = |A & T| / |A | T| over occupied cells. Attractor points outside the
  square fall in no cell (the Hausdorff distance sees them). For 3D surfaces the voxel IoU is harsh: a surface
  one voxel off its place shares few voxels with the truth; there Chamfer and Hausdorff are the targets.
- Hausdorff and Chamfer distances (Chamfer: the mean of the two directed mean nearest-neighbour distances)
  between the truth (at most 2 * 10^5 of its points) and 2 * 10^5 of those attractor points, in % of the
  truth's bounding-box diagonal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

# cells per side of the occupancy grid, by dimension
GRID = {2: 128, 3: 64}
N_IOU = 1_000_000  # chaos-game points binned for the IoU
N_DISTANCE = 200_000  # of those, points measured for Hausdorff and Chamfer


def bounding_square(points):
    """The truth's bounding square (cube): the larger side of its bounding box, centred on the box.

    Parameters
    ----------
    points : ndarray, shape (n, d)

    Returns
    -------
    lo : ndarray, shape (d,)
        The lower corner.
    side : float
    """
    box_lo, box_hi = points.min(axis=0), points.max(axis=0)
    side = float(np.max(box_hi - box_lo))
    return (box_lo + box_hi) / 2 - side / 2, side


def occupancy(points, lo, side: float, bins: int):
    """Which cells of a ``bins^d`` grid over the square ``[lo, lo + side]`` hold at least one point.

    Parameters
    ----------
    points : ndarray, shape (n, d)
    lo : ndarray, shape (d,)
    side : float
    bins : int

    Returns
    -------
    ndarray of bool, shape (bins,) * d
        Indexed by cell along x, y (, z): ``grid[i, j]`` is x cell i, y cell j.
    """
    t = (np.asarray(points, dtype=float) - lo) / side
    inside = np.all((t >= 0.0) & (t <= 1.0), axis=1)
    # the upper edge belongs to the last cell: the truth's own extreme points must land in the grid
    index = np.minimum((t[inside] * bins).astype(np.int64), bins - 1)
    grid = np.zeros((bins,) * points.shape[1], dtype=bool)
    grid[tuple(index.T)] = True
    return grid


def occupancy_iou(truth, attractor, bins: int | None = None) -> float:
    """IoU of the occupied cells of the attractor and the truth on the grid over the truth's bounding square.

    Parameters
    ----------
    truth : ndarray, shape (n, d)
    attractor : ndarray, shape (m, d)
    bins : int, optional
        Cells per side; default :data:`GRID` of the dimension (128 in 2D, 64 in 3D).

    Returns
    -------
    float
    """
    bins = GRID[truth.shape[1]] if bins is None else bins
    lo, side = bounding_square(truth)
    a, t = occupancy(attractor, lo, side, bins), occupancy(truth, lo, side, bins)
    return float(np.sum(a & t) / np.sum(a | t))


def diagonal(points) -> float:
    """Length of the diagonal of the bounding box.

    Parameters
    ----------
    points : ndarray, shape (n, d)

    Returns
    -------
    float
    """
    return float(np.linalg.norm(points.max(axis=0) - points.min(axis=0)))


def distances(truth, attractor, truth_tree: cKDTree | None = None) -> tuple[float, float]:
    """Hausdorff and Chamfer distances between two clouds, exact by k-d trees.

    Parameters
    ----------
    truth : ndarray, shape (n, d)
    attractor : ndarray, shape (m, d)
    truth_tree : scipy.spatial.cKDTree, optional
        A tree of ``truth`` already built.

    Returns
    -------
    hausdorff : float
        ``max(max_a d(a, T), max_t d(t, A))``.
    chamfer : float
        ``(mean_a d(a, T) + mean_t d(t, A)) / 2``.
    """
    truth_tree = cKDTree(truth) if truth_tree is None else truth_tree
    to_truth, _ = truth_tree.query(attractor, workers=-1)
    to_attractor, _ = cKDTree(attractor).query(truth, workers=-1)
    hausdorff = max(float(to_truth.max()), float(to_attractor.max()))
    return hausdorff, (float(to_truth.mean()) + float(to_attractor.mean())) / 2


@dataclass
class Scores:
    """An attractor measured against a shape's truth.

    Attributes
    ----------
    iou : float
        Occupancy IoU on the 128^2 (2D) or 64^3 (3D) grid.
    hausdorff_pct, chamfer_pct : float
        In % of the truth's bounding-box diagonal.
    truth_grid, attractor_grid : ndarray of bool, shape (bins,) * d
        The two occupancies (for pictures).
    attractor : ndarray, shape (N_DISTANCE, d)
        The attractor points measured for the distances.
    """

    iou: float
    hausdorff_pct: float
    chamfer_pct: float
    truth_grid: np.ndarray
    attractor_grid: np.ndarray
    attractor: np.ndarray


def score_points(truth, attractor) -> Scores:
    """Score chaos-game points of an attractor against a truth.

    Parameters
    ----------
    truth : ndarray, shape (n, d)
    attractor : ndarray, shape (m, d)
        Normally :data:`N_IOU` points; every ``m // N_DISTANCE``-th point is used for the distances.

    Returns
    -------
    Scores
    """
    bins = GRID[truth.shape[1]]
    lo, side = bounding_square(truth)
    t, a = occupancy(truth, lo, side, bins), occupancy(attractor, lo, side, bins)
    # a stride, not the first points: the chaos game's output may be laid out chain by chain
    subset = attractor[:: max(1, len(attractor) // N_DISTANCE)][:N_DISTANCE]
    # a solid's 10^6-point truth (dense for its voxels) is thinned to 2 * 10^5 for the distances too: from far
    # away, points of a collapsed attractor are all nearly equally near, the k-d tree prunes little, and 10^6
    # queries then take a minute; 2 * 10^5 uniform points of the shape measure the same distances
    hausdorff, chamfer = distances(truth[:: max(1, len(truth) // N_DISTANCE)][:N_DISTANCE], subset)
    scale = 100.0 / diagonal(truth)
    return Scores(float(np.sum(a & t) / np.sum(a | t)), hausdorff * scale, chamfer * scale, t, a, subset)


def score_ifs(truth, ifs, seed: int = 0) -> Scores:
    """Score a fitted IFS: :data:`N_IOU` chaos-game points of its attractor against the truth.

    Parameters
    ----------
    truth : ndarray, shape (n, d)
    ifs : ifskit.IFS
    seed : int
        Seed of the chaos game.

    Returns
    -------
    Scores
    """
    import ifskit

    return score_points(truth, ifskit.chaos_game(ifs, N_IOU, seed=seed, progress=False))
