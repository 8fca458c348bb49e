"""The extent of an attractor: its support function, tight bounds, and points that reach out to it.

The bounds of a contractive IFS come from a short best-first search over compositions
of its maps (:func:`ifskit.render.kernels.support`): tens of microseconds, nothing
drawn at random, so framing a new IFS costs far less than rendering it. An IFS that is
only contractive on average has no bounding ball; its extent comes from chaos-game
points (:func:`extent_sample`) instead.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from ..ifs import IFS
from . import kernels
from .chaos import chaos_game, kernel_arrays

#: The extent of a contractive IFS is known to this fraction of itself (a frame's margin
#: is 5%): closer than that, the search of its support function stops, and further
#: it falls back on chaos-game points.
SUPPORT_TOLERANCE = 0.025
# Compositions searched per direction at most (attractors with flat faces, the Menger
# sponge, have many compositions that reach a face: the best is already attained).
MAX_EXPANSIONS = 256
# extent_sample of the last few IFS, by id: an IFS is immutable, so its sample never
# changes (an IFS compares by value and is not hashable: a dict by id, the entry dropped
# when the IFS dies). Bounded, so that rendering many IFS one after the other keeps
# no leftovers of each.
_SAMPLES: OrderedDict[int, np.ndarray] = OrderedDict()
_MAX_SAMPLES = 8
_LOCK = threading.Lock()


def extent_sample(ifs: IFS) -> np.ndarray:
    """Points of the attractor that reach out to its extent, shape (n, d); kept for the last few IFS.

    Extreme points of an attractor are often fixed points of a map or of a short
    composition (the fern's tip is a fixed point that the chaos game approaches
    only slowly), so the sample holds the fixed points and their images under up
    to a few thousand compositions of maps, plus 2 x 150,000 chaos-game points:
    with the IFS's probabilities, and with equal ones so that rarely chosen maps
    reach their corners too (for a contractive IFS every point is on the attractor
    whatever the probabilities).
    """
    key = id(ifs)
    with _LOCK:
        sample = _SAMPLES.get(key)
        if sample is not None:
            _SAMPLES.move_to_end(key)
            return sample
    parts = [chaos_game(ifs, 150_000, seed=0, progress=False)]
    if ifs.is_contractive:
        uniform = IFS(ifs.A, ifs.b, np.full(ifs.n_maps, 1.0 / ifs.n_maps))
        parts.append(chaos_game(uniform, 150_000, seed=1, progress=False))
        images = ifs.fixed_points[np.all(np.isfinite(ifs.fixed_points), axis=1)]
        for _ in range(12):  # compositions of up to 12 maps, at most ~5000 images
            parts.append(images)
            if len(images) * ifs.n_maps > 5000:
                break
            images = ifs.apply(images).reshape(-1, ifs.dim)
    sample = np.concatenate(parts)
    sample.setflags(write=False)
    with _LOCK:
        if key not in _SAMPLES:
            _SAMPLES[key] = sample
            weakref.finalize(ifs, _SAMPLES.pop, key, None)
            while len(_SAMPLES) > _MAX_SAMPLES:
                _SAMPLES.popitem(last=False)
        return _SAMPLES[key]


class Reach(NamedTuple):
    """What the search of an attractor's support function finds on the way."""

    #: Largest ``<u, x>`` over the attractor for each direction, shape (q,) (see :func:`extent_along`).
    values: np.ndarray
    #: The IFS's largest contraction factor ``s``.
    contraction: float
    #: The fixed point of the most likely map, shape (d,): where chains start (None if ``s >= 1``).
    start: np.ndarray | None


def extent_along(ifs: IFS, directions) -> np.ndarray:
    """Largest ``<u, x>`` over the attractor for each direction ``u``, shape (q,).

    Parameters
    ----------
    ifs : IFS
    directions : array_like, shape (q, d)
        Directions, the second half the opposites of the first (``-u`` is row ``i + q/2``).

    Returns
    -------
    ndarray, shape (q,)
        The value at a point of the attractor, within :data:`SUPPORT_TOLERANCE` of the
        attractor's extent of the largest (an inner bound, like the extent of any
        sample of points). Where the search cannot get that close (a map that barely
        contracts, or only contracts on average) the extent of :func:`extent_sample`
        is taken as well.
    """
    return reach(ifs, directions).values


def reach(ifs: IFS, directions) -> Reach:
    """:func:`extent_along`, with the contraction and the chains' start found on the way (one pass over the maps)."""
    directions = np.ascontiguousarray(directions, dtype=float)
    A, b = kernel_arrays(ifs)
    lower, upper, contraction, fixed = kernels.support(A, b, directions, SUPPORT_TOLERANCE / 10, MAX_EXPANSIONS)
    if contraction < 1.0:
        # every map contracts: chain_start's choice, the fixed point of the most likely map
        start = fixed[np.argmax(ifs.p)]
        half = len(directions) // 2
        if np.all(upper - lower <= SUPPORT_TOLERANCE * np.max(lower[:half] + lower[half:])):
            return Reach(lower, float(contraction), start)
    else:
        start = None
    sample = ifs.extent_of(extent_sample(ifs) @ directions.T)[1]
    return Reach(np.maximum(lower, sample), float(contraction), start)


def tight_bounds(ifs: IFS) -> np.ndarray:
    """Tight axis-aligned bounds of the attractor, ``(xmin, xmax, ymin, ymax[, zmin, zmax])``, shape (2 d,).

    From :func:`extent_along` the axes: an inner bound, unlike :meth:`IFS.guaranteed_bounds`.
    """
    return axes_reach(ifs)[0]


def axes_reach(ifs: IFS) -> tuple[np.ndarray, Reach]:
    """:func:`tight_bounds` (read-only), and the :class:`Reach` it came from."""
    axes = np.eye(ifs.dim)
    found = reach(ifs, np.concatenate([-axes, axes]))
    bounds = np.column_stack([-found.values[: ifs.dim], found.values[ifs.dim :]]).ravel()
    bounds.setflags(write=False)
    return bounds, found
