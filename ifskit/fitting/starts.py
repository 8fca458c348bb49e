"""Starting maps: maps sending the whole cloud onto its parts, by their principal frames.

The cloud is cut into parts by k-means; each part, and the rest of the cloud without
it, gives a map sending the cloud's principal frame onto the part's frame, in the
orientation (rotations and reflections tried) whose image lies best inside the cloud;
K of these maps are picked by the collage they make. Several such restarts (different
k-means seeds) are optimized together. The same frame matching snaps given maps (the
encoder's) to the parts of the cloud they cover, for :func:`~ifskit.fitting.refine`.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import torch
from scipy.cluster.vq import kmeans2
from scipy.spatial import cKDTree

from .._parallel import query_workers
from ..ifs import IFS
from ..ops.contractive import clamp_singular_values, n_params, params_from_maps
from ..ops.losses import collage_owner
from .optimize import OVERLAP_WEIGHT

# Cloud points used to rank starting maps (cheap, fixed).
_INIT_SOURCES = 512
# Cloud points whose images score each orientation in a round of snapping maps to parts.
_SNAP_SOURCES = 256
# Best orientations per part among which a round of snapping chooses the maps together
# (3: 48 dev clouds after 10 / 20 steps 0.0196 / 0.0180; 1: 0.0207 / 0.0189; 2: 0.0197 / 0.0182).
_SNAP_KEEP = 3
# A round of snapping first ranks all orientations on 32 of its sources and scores only
# the best 6 per part on all of them: the 25 per part on all 256 sources were most of
# the round's time (96 dev clouds: 25 ms a cloud saved, quality within noise).
_SNAP_SCREEN = (32, 6)
# Combinations of starting maps tried exhaustively (more: greedy choice).
_MAX_COMBINATIONS = 500


def starting_params(unit: np.ndarray, k: int, init, restarts: int, rng: np.random.Generator, max_contraction: float):
    """Raw parameters (:func:`~ifskit.ops.contractive.params_from_maps`) of each start of a fit.

    Parameters
    ----------
    unit : ndarray, shape (n, d)
        The normalized cloud.
    k : int
        Maps per start.
    init : IFS, "random" or None
        An IFS in the unit ball's coordinates (one start); random parameters (one start,
        the plain baseline); or ``restarts`` k-means starts.
    restarts : int
    rng : numpy.random.Generator
        Draws the random parameters, or the k-means seeds and ranking points.
    max_contraction : float

    Returns
    -------
    list of Tensor, shapes (k, n_params(d))
    """
    if isinstance(init, IFS):
        return [params_from_maps(init.A, init.b, max_contraction)]
    if isinstance(init, str) and init == "random":
        return [torch.as_tensor(rng.normal(size=(k, n_params(unit.shape[1]))))]
    # more clusters than maps in some restarts: smaller parts, more candidate maps
    return [_kmeans_start(unit, k, k + r % 3, rng, max_contraction) for r in range(restarts)]


def _kmeans_start(unit, k, clusters, rng, max_contraction):
    """Raw parameters (k, n_params(d)) of one start from ``clusters`` k-means parts of ``unit`` (n, d).

    The candidate maps are those onto each part and onto the cloud without each part
    (the fern's big map); the ``k`` whose collage is closest to the cloud are kept.
    """
    dim = unit.shape[1]
    tree = cKDTree(unit)
    sources = unit[rng.choice(len(unit), min(len(unit), _INIT_SOURCES), replace=False)]
    with warnings.catch_warnings():  # an empty cluster is fine: its part is skipped
        warnings.simplefilter("ignore")
        _, labels = kmeans2(unit, clusters, minit="++", seed=rng)
    parts = [unit[labels == c] for c in range(clusters)]
    if clusters > 1:  # the cloud without one part: the fern's big map
        parts += [unit[labels != c] for c in range(clusters)]
    parts = [p for p in parts if len(p) > dim]
    A, b = _part_maps(unit, parts, sources, tree, max_contraction)
    candidates = list(zip(A[:, 0], b[:, 0]))
    chosen = _pick_maps(candidates, k, sources, tree)
    return params_from_maps(A[chosen, 0], b[chosen, 0], max_contraction)


def _part_maps(unit, parts, sources, tree, max_contraction, current=None, keep=1, screen=None):
    """For every part of the cloud, the maps sending the whole cloud onto it, by their principal frames.

    The map sends the frame of ``unit`` onto the part's frame, composed with each of
    :func:`_orientations` (the frames fix a map only up to these symmetries), singular
    values clamped to ``max_contraction``; the orientations kept are the ``keep`` whose
    image of ``sources`` lies best inside the cloud (least mean distance to it), best first.
    With ``screen = (m, g)``, only the ``g`` best on the first ``m`` sources are scored
    on all of them.

    Parameters
    ----------
    unit : ndarray, shape (n, d)
        The normalized cloud.
    parts : list of ndarray, shape (m_i, d)
        Parts of it, each with more than ``d`` points.
    sources : ndarray, shape (m, d)
        Cloud points whose images are scored.
    tree : scipy.spatial.cKDTree
        Of ``unit``.
    max_contraction : float
    current : tuple of ndarray, shapes (len(parts), d, d) and (len(parts), d), optional
        A map each part has already; it competes with the orientations on the same score.
    keep : int
        Maps kept per part.
    screen : (int, int), optional
        Sources that rank the orientations first, and orientations per part then scored
        on all ``sources`` (default: all of them on all sources).

    Returns
    -------
    A : ndarray, shape (len(parts), keep, d, d)
    b : ndarray, shape (len(parts), keep, d)
    """
    dim = unit.shape[1]
    whole_frame, whole_mean = _frame(unit)
    inverse = np.linalg.pinv(whole_frame)
    frames, means = zip(*(_frame(part) for part in parts))
    frames_to_parts = np.array(frames)[:, None] @ _orientations(dim)[None] @ inverse  # (P, g, d, d)
    A = clamp_singular_values(frames_to_parts, max_contraction)
    b = np.array(means)[:, None] - A @ whole_mean  # (P, g, d)
    if current is not None:
        A = np.concatenate([A, current[0][:, None]], axis=1)
        b = np.concatenate([b, current[1][:, None]], axis=1)
    rows = np.arange(len(parts))[:, None]
    if screen is not None and screen[1] < A.shape[1]:
        screen_sources, kept = screen
        shortlist = np.argsort(_inside(A, b, sources[:screen_sources], tree), axis=1, kind="stable")[:, :kept]
        A, b = A[rows, shortlist], b[rows, shortlist]
    best = np.argsort(_inside(A, b, sources, tree), axis=1, kind="stable")[:, :keep]
    return A[rows, best], b[rows, best]


def _inside(A, b, sources, tree):
    """Mean distance to the cloud (its ``tree``) of the images of ``sources`` (m, d) under maps (P, g, d, d), (P, g, d): (P, g)."""
    images = (np.einsum("pgij,nj->pgni", A, sources) + b[:, :, None]).reshape(-1, sources.shape[1])
    return tree.query(images, workers=query_workers(len(images)))[0].reshape(*A.shape[:2], -1).mean(-1)


def snap_to_parts(unit, A, b, max_contraction, rng, rounds):
    """Maps re-derived from the parts of the cloud they cover, ``rounds`` times.

    The part of map ``i`` is the cloud points whose nearest collage point is an image
    under ``w_i``; :func:`_part_maps` gives the best few maps onto each part (the map
    itself among the candidates), and the maps are chosen among all of them together
    by the collage they make (:func:`_pick_maps`, as for the fitter's starts): one
    orientation may fit its part alone best but cover the cloud worse beside the others.
    From maps that roughly tile the cloud (the encoder's) this gives each map the shape
    and orientation of the piece it covers, as the fitter's k-means starts do, in
    milliseconds.

    Parameters
    ----------
    unit : ndarray, shape (n, d)
    A : ndarray, shape (k, d, d)
    b : ndarray, shape (k, d)
    max_contraction : float
    rng : numpy.random.Generator
    rounds : int

    Returns
    -------
    A : ndarray, shape (k, d, d)
    b : ndarray, shape (k, d)
    """
    dim = unit.shape[1]
    tree = cKDTree(unit)
    cloud = torch.as_tensor(unit)
    for _ in range(rounds):
        sources = unit[rng.choice(len(unit), min(len(unit), _SNAP_SOURCES), replace=False)]
        owner = collage_owner(cloud, torch.tensor(A)[None], torch.tensor(b)[None])[0].numpy()  # A, b may be read-only
        large = [i for i in range(len(A)) if np.count_nonzero(owner == i) > dim]
        if not large:
            break
        parts = [unit[owner == i] for i in large]
        part_A, part_b = _part_maps(
            unit, parts, sources, tree, max_contraction, (A[large], b[large]), _SNAP_KEEP, _SNAP_SCREEN
        )
        part_A, part_b = part_A.reshape(-1, dim, dim), part_b.reshape(-1, dim)
        chosen = _pick_maps(list(zip(part_A, part_b)), len(large), sources, tree)
        A, b = A.copy(), b.copy()
        A[large], b[large] = part_A[chosen], part_b[chosen]
    return A, b


def _pick_maps(candidates, k, sources, tree):
    """Indices of the k candidate maps whose collage of ``sources`` is closest to the cloud.

    Every combination when there are at most ``_MAX_COMBINATIONS``, else greedily one
    map at a time. The distances of each candidate's images are computed once: the
    collage's distance to the cloud is the mean of its maps' (equal numbers of
    images), and a source point's distance to the collage the least of its distances
    to each map's images.
    """
    images = [sources @ A.T + b for A, b in candidates]
    inside = np.array([tree.query(image)[0].mean() for image in images])  # (C,)
    cover = np.stack([cKDTree(image).query(sources)[0] for image in images])  # (C, m)
    volume = np.array([abs(np.linalg.det(A)) for A, _ in candidates])  # (C,)

    def scores(choices):
        """Score of every row of ``choices`` (c, j) of candidate indices, shape (c,)."""
        distance = 0.5 * (inside[choices].mean(-1) + cover[choices].min(-2).mean(-1))
        return distance + OVERLAP_WEIGHT * np.maximum(0.0, volume[choices].sum(-1) - 1)

    k = min(k, len(candidates))
    if math.comb(len(candidates), k) <= _MAX_COMBINATIONS:
        choices = np.array(list(itertools.combinations(range(len(candidates)), k)))
        return choices[int(np.argmin(scores(choices)))].tolist()
    chosen = []
    for _ in range(k):
        rest = np.array([i for i in range(len(candidates)) if i not in chosen])
        choices = np.column_stack([np.tile(chosen, (len(rest), 1)).astype(int), rest])
        chosen.append(int(rest[np.argmin(scores(choices))]))
    return chosen


def _frame(points):
    """Principal frame ``U sqrt(L)`` (d, d) of a cloud (covariance ``U L U^T``) and its mean (d,)."""
    mean = points.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(points - mean, rowvar=False))
    return vectors * np.sqrt(np.clip(values, 1e-12, None)), mean


def _orientations(dim):
    """Orthogonal matrices tried between two frames: (24, 2, 2) in 2D, (48, 3, 3) in 3D."""
    if dim == 2:
        angles = np.arange(12) * np.pi / 6
        rot = np.stack(
            [np.stack([np.cos(angles), -np.sin(angles)], -1), np.stack([np.sin(angles), np.cos(angles)], -1)], 1
        )
        return np.concatenate([rot, rot @ np.diag([1.0, -1.0])])
    out = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            M = np.zeros((3, 3))
            M[np.arange(3), perm] = signs
            out.append(M)
    return np.stack(out)
