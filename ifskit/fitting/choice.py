"""Choices among fits: the restart (or candidate start) to go on with, and the number of maps.

A restart is judged by its attractor, which is what the user gets: with a contraction
near the bound, ``e / (1 - s)`` is loose and the start with the smallest collage error
is often not the one with the closest attractor, while a chaos game of a few thousand
points costs milliseconds. The number of maps (``n_maps="auto"``) is judged by the
attractor too (:func:`attractor_iou`, :func:`quality_score`): the collage error keeps
falling with more maps while the attractor stops improving. The older score by the
collage of the whole cloud with a penalty per map is :func:`auto_scores`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from scipy import ndimage
from scipy.spatial import cKDTree

from ..analysis import chamfer_distance
from ..ifs import IFS
from ..ops.losses import chamfer, collage
from ..render import chaos_game
from ..render.kernels import fine_occupancy_spill
from .occupancy import Occupancy, occupancy_iou
from .verify import coverage_probabilities

#: Default penalty per map of ``n_maps="auto"`` (:func:`~ifskit.fitting.fit`'s ``auto_penalty``), and of :func:`~ifskit.fitting.grow`'s comparison.
AUTO_PENALTY = 0.05


class Worst(NamedTuple):
    """Where an attractor is farthest from its target: the Hausdorff distance's two ends, one of them.

    Attributes
    ----------
    point : ndarray, shape (d,)
        An attractor point far outside the target (``spill``), or a point of the target far
        from the attractor (a miss).
    far : float
        Its distance to the other set, in cells of the target's grid.
    spill : bool
    """

    point: np.ndarray
    far: float
    spill: bool


def nearest_attractor_rows(A: np.ndarray, b: np.ndarray, clouds, groups: np.ndarray, seed: int) -> list[int]:
    """Per group of rows, the row whose attractor is nearest its cloud (:func:`attractor_distances`).

    Parameters
    ----------
    A : ndarray, shape (B, k, d, d)
    b : ndarray, shape (B, k, d)
    clouds : sequence of B ndarrays, shapes (n, d)
        The normalized cloud of each row.
    groups : ndarray of int, shape (B,)
        The problem 0 .. G-1 each row belongs to.
    seed : int

    Returns
    -------
    list of G ints
        Row indices, in the order of the groups.
    """
    scores = attractor_distances(A, b, clouds, seed)
    return [int(np.flatnonzero(groups == g)[np.argmin(scores[groups == g])]) for g in np.unique(groups)]


def attractor_distances(A: np.ndarray, b: np.ndarray, clouds, seed: int) -> np.ndarray:
    """Chamfer distance between each IFS ``(A[i], b[i])`` and its normalized cloud ``clouds[i]``.

    A chaos game of as many points as the cloud, with the maps' coverage shares as
    probabilities.

    Parameters
    ----------
    A : ndarray, shape (B, k, d, d)
    b : ndarray, shape (B, k, d)
    clouds : sequence of B ndarrays, shapes (n, d)
    seed : int

    Returns
    -------
    ndarray, shape (B,)
    """
    scores = []
    for A_i, b_i, cloud in zip(A, b, clouds):
        ifs = IFS(A_i, b_i, coverage_probabilities(cloud, A_i, b_i))
        scores.append(chamfer_distance(chaos_game(ifs, len(cloud), seed=seed, progress=False), cloud))
    return np.array(scores)


def auto_scores(unit: np.ndarray, fits: dict, penalty: float) -> dict:
    """Score of each number of maps: ``collage chamfer * (1 + penalty * k)``, the smallest wins.

    Parameters
    ----------
    unit : ndarray, shape (n, d)
        The normalized cloud.
    fits : dict of int to (A, b, history)
        The maps fitted with each number of maps ``k``: A (k, d, d), b (k, d).
    penalty : float
        Relative penalty per map.

    Returns
    -------
    dict of int to float
    """
    whole = torch.as_tensor(unit)
    scores = {}
    for k, (A_k, b_k, _) in fits.items():
        # the Chamfer distance between the whole cloud and its collage
        chamfer_k = float(chamfer(collage(whole, torch.as_tensor(A_k)[None], torch.as_tensor(b_k)[None]), whole)[0])
        scores[k] = chamfer_k * (1 + penalty * k)
    return scores


def attractor_iou(occ: Occupancy, A: np.ndarray, b: np.ndarray, p: np.ndarray, n_points: int, seed: int) -> float:
    """Occupancy IoU between the attractor of ``(A, b, p)`` and the target, like for like.

    A chaos game of as many points as the cloud, binned and closed as the cloud was
    (:func:`~ifskit.fitting.occupancy.occupancy_iou`): what a person sees of the fit at
    the fit's resolution, holes and spill included, which the collage error is not.

    Parameters
    ----------
    occ : Occupancy
        Of the normalized cloud.
    A : ndarray, shape (k, d, d)
    b : ndarray, shape (k, d)
    p : ndarray, shape (k,)
    n_points : int
        Points of the cloud.
    seed : int

    Returns
    -------
    float
        In [0, 1].
    """
    points = chaos_game(IFS(A, b, p), n_points, seed=seed, progress=False)
    return occupancy_iou(occ, points)


#: Cells of the finer grid per side of a target cell, and attractor points per cell of the
#: finer grid, of :func:`fine_attractor_figures`.
FINE_FACTOR = 2
FINE_POINTS_PER_CELL = 10
#: Weight of the attractor's farthest miss or spill (its Hausdorff distance to the target, as a
#: share of the grid's side) against its fine IoU in :func:`fill_quality`: a miss one cell
#: farther (1.4% of the side of a 70-cell grid) costs 0.028 of IoU. On the horse (seed 0) the
#: attractor search gave Hausdorff 5.7 / 3.9 / 2.7% and IoU 0.871 / 0.872 / 0.865 at weights
#: 0 / 0.7 / 2 (3 the same as 2); on the glyphs the weight changed little.
FAR_WEIGHT = 2.0


def fine_attractor_figures(occ: Occupancy, A: np.ndarray, b: np.ndarray, p: np.ndarray, seed: int):
    """Occupancy IoU of the attractor of ``(A, b, p)`` against the target at a finer grid than the cloud's, and its farthest miss or spill.

    For a filled shape: each target cell is split into ``FINE_FACTOR^d`` cells, all of the
    shape, and the attractor is drawn with enough points (:data:`FINE_POINTS_PER_CELL` per
    fine cell of the target) to fill every one it reaches. Like-for-like at the cloud's
    resolution (:func:`attractor_iou`) cannot tell an attractor that fills the shape from
    one of streaks a cell apart, which a chaos game of a million points shows as a hatched
    shape: on the glyphs and the horse of benchmarks/bench_real.py this figure ranks the
    candidate fits as the 128^2 IoU of 10^6 points does, the cloud-resolution one does not.

    Parameters
    ----------
    occ : Occupancy
        Of the normalized cloud.
    A : ndarray, shape (k, d, d)
    b : ndarray, shape (k, d)
    p : ndarray, shape (k,)
    seed : int

    Returns
    -------
    iou : float
        In [0, 1].
    far : float
        The Hausdorff distance at the target's cells, in cells: the largest distance from a
        target cell to a cell the attractor reaches, or from an attractor point to the target
        (a tip of the shape that no copy reaches, a copy that spills far).
    """
    iou, far, _, _ = _fine_figures(occ, A, b, p, seed)
    return iou, far


def filled_worst(occ: Occupancy, A: np.ndarray, b: np.ndarray, p: np.ndarray, seed: int) -> Worst:
    """Where the attractor of ``(A, b, p)`` is farthest from a filled target (:func:`fine_attractor_figures`'s ``far``).

    Returns
    -------
    Worst
        The farthest attractor point from the target (``spill``) or target cell centre from
        the attractor (a miss), and that distance in cells.
    """
    _, far, point, spill = _fine_figures(occ, A, b, p, seed)
    return Worst(point, far, spill)


def _fine_figures(occ, A, b, p, seed):
    """:func:`fine_attractor_figures`, with the point (d,) where ``far`` is measured and whether it is spill."""
    size = occ.grid.shape[0]
    target_cells = int(occ.grid.sum()) * FINE_FACTOR**occ.dim  # the target's cells, each split in FINE_FACTOR^d
    points = chaos_game(IFS(A, b, p), FINE_POINTS_PER_CELL * target_cells, seed=seed, progress=False)
    coarse = np.zeros(occ.grid.size, dtype=bool)
    spill = np.empty(len(points), dtype=np.float32)
    inside, outside = fine_occupancy_spill(
        points,
        occ.lo,
        occ.cell / FINE_FACTOR,
        FINE_FACTOR,
        occ.cell,
        size,
        occ.spill.reshape(-1),
        occ.grid.reshape(-1),
        np.zeros(occ.grid.size * FINE_FACTOR**occ.dim, dtype=bool),
        coarse,
        spill,
    )
    coarse = coarse.reshape(occ.grid.shape)
    off = spill >= 1e3  # off the grid: one cell in the union, their distance measured
    union = target_cells + outside + (1 if off.any() else 0)
    iou = float(inside / max(union, 1))
    if off.any():
        spill[off] = cKDTree(occ.centres).query(points[off])[0] / occ.cell
    if not coarse.any():
        return iou, float(size), occ.centres[0], False
    missed = ndimage.distance_transform_edt(~coarse)[occ.grid]
    worst_miss, worst_spill = int(np.argmax(missed)), int(np.argmax(spill))
    if spill[worst_spill] > missed[worst_miss]:
        return iou, float(spill[worst_spill]), points[worst_spill], True
    return iou, float(missed[worst_miss]), occ.centres[worst_miss], False


def fill_quality(occ: Occupancy, iou: float, far: float) -> float:
    """How well an attractor fills a filled shape: its fine IoU less :data:`FAR_WEIGHT` times its farthest miss or spill (share of the grid's side)."""
    return iou - FAR_WEIGHT * far / occ.grid.shape[0]


def count_figure(occ: Occupancy, A: np.ndarray, b: np.ndarray, p: np.ndarray, n_points: int, seed: int) -> float:
    """The attractor's figure by which :func:`ifskit.fitting.grow` chooses a number of maps (:func:`quality_score`'s ``iou``).

    2D: :func:`fill_quality` of :func:`fine_attractor_figures`, as :func:`ifskit.fit` chooses
    among copies of a filled shape. At the cloud's resolution, the copies that fill the gaps
    between another count's streaks gain nothing (on the 2D development shapes of
    benchmarks/bench_real.py, seeds 0 and 2, the encoder's refinement chose 24-28 of 32 maps
    there and reached mean IoU 0.81 / 0.80 at 128^2; 28-32 maps and 0.84 / 0.84 with this figure).
    3D: :func:`attractor_iou` at the cloud's resolution with ``n_points`` points, a fraction of
    the finer grid's cost.

    Parameters
    ----------
    occ : Occupancy
        Of the cloud.
    A : ndarray, shape (k, d, d)
    b : ndarray, shape (k, d)
    p : ndarray, shape (k,)
    n_points : int
        Chaos-game points in 3D (the cloud's size).
    seed : int

    Returns
    -------
    float
        At most 1; higher is better.
    """
    if occ.dim == 2:
        return fill_quality(occ, *fine_attractor_figures(occ, A, b, p, seed))
    return attractor_iou(occ, A, b, p, n_points, seed)


def quality_score(iou: float, k: int, penalty: float) -> float:
    """Score of a fit of ``k`` maps for ``n_maps="auto"``: ``1 - iou + penalty * k / 10``, the smallest wins.

    A map has to add ``penalty / 10`` to the attractor's IoU (0.5% with the default
    penalty 0.05) to be worth it. A single map's attractor is a point: it never wins
    over a shape's fit.
    """
    return 1.0 - iou + penalty * k / 10
