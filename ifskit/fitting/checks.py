"""Checks of what :func:`~ifskit.fitting.fit` and :func:`~ifskit.fitting.refine` are given.

Problems of the cloud itself (empty, NaN, all points identical, not 2D/3D) are
:class:`~ifskit.errors.FormatError`; bad arguments are :class:`~ifskit.errors.ParameterError`
naming the Python parameter (the command line shows its flag instead).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ..errors import FormatError, IfskitWarning, ParameterError
from ..ifs import IFS

#: Most maps ``max_maps`` allows (:func:`~ifskit.fitting.fit`, :func:`~ifskit.fitting.grow`).
MAX_MAPS_LIMIT = 64
#: Largest cloud used as is; bigger ones are subsampled (with a warning).
MAX_POINTS = 20_000
#: Share of repeated points above which they are dropped (with a note).
DUPLICATE_SHARE = 0.01
#: Stray points (:func:`stray_points`): groups of at most ``STRAY_GROUP`` points, each point linked
#: to its ``2 d`` nearest neighbours within ``STRAY_LINK`` times the cloud's median distance to its
#: ``2 d``-th neighbour, lying farther than ``STRAY_GAP`` of the diagonal of the larger groups
#: from every one of them, together at most ``STRAY_SHARE`` of the cloud. The sparse trunk of the catalog's
#: tree forms such groups too, 1-7% of its size from the rest (chaos games of 1000-20,000 points).
STRAY_GROUP = 10
STRAY_LINK = 10.0
STRAY_GAP = 0.1
STRAY_SHARE = 0.01
#: A cloud whose second principal standard deviation is below this share of the first lies on a line.
LINE_RATIO = 1e-6
#: The training losses between the collage and the cloud.
LOSSES = ("chamfer", "hausdorff")


def check_cloud(points, seed: int) -> tuple[np.ndarray, list[str]]:
    """The cloud as a float array, subsampled to :data:`MAX_POINTS` (with a warning and a note).

    Parameters
    ----------
    points : array_like, shape (n, d)
        d = 2 or 3.
    seed : int
        Of the subsample.

    Returns
    -------
    cloud : ndarray, shape (m, d)
        ``m = min(n, MAX_POINTS)``.
    notes : list of str
        What was done to the cloud.

    Raises
    ------
    FormatError
        Not numbers, not of shape (n, 2) or (n, 3), empty, NaN or infinite coordinates,
        all points identical.
    """
    try:
        cloud = np.array(points, dtype=float)
    except (TypeError, ValueError):
        raise FormatError("the points must be an array of numbers, shape (n, 2) or (n, 3)") from None
    if cloud.ndim != 2 or cloud.shape[1] not in (2, 3):
        raise FormatError(f"the points must have shape (n, 2) or (n, 3), got {cloud.shape}")
    if len(cloud) == 0:
        raise FormatError("the point cloud is empty")
    bad = ~np.all(np.isfinite(cloud), axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise FormatError(f"{bad.sum()} points have NaN or infinite coordinates (first: row {rows[0] + 1})")
    if np.ptp(cloud, axis=0).max() == 0:
        raise FormatError("all points are identical: there is no shape to fit")
    notes = []
    if len(cloud) > MAX_POINTS:
        notes.append(f"the cloud of {len(cloud):,} points was subsampled to {MAX_POINTS:,} random points")
        warnings.warn(notes[-1], IfskitWarning, stacklevel=3)  # the caller of fit
        cloud = subsample(cloud, seed)
    unique, first = np.unique(cloud, axis=0, return_index=True)
    if len(cloud) - len(unique) > DUPLICATE_SHARE * len(cloud):
        # repeated points add nothing to a shape and make its sampling look finer than it is
        notes.append(f"{len(cloud) - len(unique):,} repeated points were dropped, {len(unique):,} distinct points kept")
        warnings.warn(notes[-1], IfskitWarning, stacklevel=3)
        cloud = cloud[np.sort(first)]
    stray = stray_points(cloud)
    if len(stray):
        # a scan's stray returns: the fit would stretch its copies over the empty space between
        notes.append(
            f"{len(stray):,} stray points, far from the rest of the cloud, were dropped "
            f"(groups of at most {STRAY_GROUP} points, over {STRAY_GAP:.0%} of its size from any larger group)"
        )
        warnings.warn(notes[-1], IfskitWarning, stacklevel=3)
        cloud = np.delete(cloud, stray, axis=0)
    centred = cloud - cloud.mean(axis=0)
    sigma = np.linalg.svd(centred, compute_uv=False)
    if sigma[1] <= LINE_RATIO * sigma[0]:
        raise FormatError(
            f"the {len(cloud):,} points lie on a straight line: an IFS fit needs a shape that spans a plane or space"
        )
    return cloud, notes


def stray_points(cloud: np.ndarray) -> np.ndarray:
    """Indices of the cloud's stray points: small groups far from the rest (see :data:`STRAY_GROUP`).

    Parameters
    ----------
    cloud : ndarray, shape (n, d)
        Without repeated points.

    Returns
    -------
    ndarray of int, shape (m,)
        Sorted; empty when there are none, or more than :data:`STRAY_SHARE` of the cloud.
    """
    n, dim = cloud.shape
    neighbours = 2 * dim
    if n * STRAY_SHARE < 1 or n <= neighbours:
        return np.zeros(0, dtype=np.int64)
    tree = cKDTree(cloud)
    distances, index = tree.query(cloud, k=neighbours + 1)
    link = STRAY_LINK * float(np.median(distances[:, -1]))
    near = distances[:, 1:] <= link
    rows = np.repeat(np.arange(n), neighbours)[near.ravel()]
    graph = coo_matrix((np.ones(len(rows)), (rows, index[:, 1:].ravel()[near.ravel()])), shape=(n, n))
    _, group = connected_components(graph, directed=False)
    sizes = np.bincount(group)
    small = sizes[group] <= STRAY_GROUP
    if not small.any() or small.all() or small.sum() > STRAY_SHARE * n:
        return np.zeros(0, dtype=np.int64)
    rest = cloud[~small]
    gap = cKDTree(rest).query(cloud[small])[0]
    far = gap > STRAY_GAP * np.linalg.norm(rest.max(axis=0) - rest.min(axis=0))
    return np.flatnonzero(small)[far]


def subsample(cloud: np.ndarray, seed: int) -> np.ndarray:
    """At most :data:`MAX_POINTS` points of ``cloud`` (n, d), a random subset kept in its order."""
    if len(cloud) <= MAX_POINTS:
        return cloud
    return cloud[np.sort(np.random.default_rng(seed).choice(len(cloud), MAX_POINTS, replace=False))]


def check_n_maps(n_maps, n_points: int) -> int:
    """``n_maps`` as an int, checked against the size of the cloud.

    Raises
    ------
    ParameterError
        Not a positive integer, or more maps than points.
    """
    if isinstance(n_maps, bool) or not isinstance(n_maps, (int, np.integer)) or n_maps < 1:
        raise ParameterError(f"n_maps must be a positive integer or 'auto', got {n_maps!r}", "n_maps")
    if n_maps > n_points:
        raise ParameterError(
            f"n_maps = {n_maps}: that many maps need at least as many points, the cloud has {n_points}", "n_maps"
        )
    return int(n_maps)


def check_settings(loss, steps, max_contraction, restarts, init) -> None:
    """Check :func:`~ifskit.fitting.fit`'s settings, before any work.

    The command line calls this before it reads the cloud, so that a bad option is not
    reported as a problem of the cloud's file.

    Raises
    ------
    ParameterError
        An unknown ``loss``, negative ``steps``, ``max_contraction`` outside (0, 1),
        ``restarts`` below 1, an ``init`` that is neither an IFS, ``"random"`` nor None.
    """
    if loss not in LOSSES:
        raise ParameterError(f"unknown loss {loss!r}; use 'chamfer' or 'hausdorff'", "loss")
    check_integer(steps, "steps")
    check_contraction(max_contraction)
    check_integer(restarts, "restarts", minimum=1)
    if not (init is None or isinstance(init, IFS) or (isinstance(init, str) and init == "random")):
        raise ParameterError(f"init must be an IFS, 'random' or None, got {init!r}", "init")


def check_integer(value, parameter: str, minimum: int = 0) -> None:
    """Raise a :class:`~ifskit.errors.ParameterError` unless ``value`` is an integer >= ``minimum`` (0 or 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        kind = "a non-negative integer" if minimum == 0 else "a positive integer"
        raise ParameterError(f"{parameter} must be {kind}, got {value!r}", parameter)


def check_step_points(step_points) -> None:
    """Raise a :class:`~ifskit.errors.ParameterError` unless ``step_points`` is two positive integers."""
    if not (isinstance(step_points, (tuple, list)) and len(step_points) == 2):
        raise ParameterError(f"step_points must be two positive integers, got {step_points!r}", "step_points")
    for count in step_points:
        check_integer(count, "step_points", minimum=1)


def check_contraction(max_contraction) -> None:
    """Raise a :class:`~ifskit.errors.ParameterError` unless ``0 < max_contraction < 1``."""
    if not 0 < max_contraction < 1:
        raise ParameterError(
            f"max_contraction must be in (0, 1) for the collage bound, got {max_contraction}", "max_contraction"
        )


def check_positive(value, parameter: str, zero: bool = False) -> None:
    """Raise a :class:`~ifskit.errors.ParameterError` unless ``value`` is a finite number > 0 (>= 0 with ``zero``)."""
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not (number and math.isfinite(value) and (value > 0 or (zero and value == 0))):
        kind = "a finite number >= 0" if zero else "a positive finite number"
        raise ParameterError(f"{parameter} must be {kind}, got {value!r}", parameter)


def check_max_maps(max_maps) -> None:
    """Raise a :class:`~ifskit.errors.ParameterError` unless ``max_maps`` is an integer from 1 to :data:`MAX_MAPS_LIMIT`."""
    if isinstance(max_maps, bool) or not isinstance(max_maps, (int, np.integer)) or not 1 <= max_maps <= MAX_MAPS_LIMIT:
        raise ParameterError(f"max_maps must be an integer from 1 to {MAX_MAPS_LIMIT}, got {max_maps!r}", "max_maps")
