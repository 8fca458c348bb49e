"""The extent of an attractor: points that reach out to it, and its tight bounds.

These need a render (the chaos game), so they are functions of an :class:`~ifskit.IFS`
here rather than properties of the value type; each IFS's sample is computed once.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from ..ifs import IFS
from .chaos import chaos_game

# extent_sample of each live IFS, by id: an IFS is immutable, so its sample never changes
# (an IFS compares by value and is not hashable: a dict by id, emptied when it dies).
_SAMPLES: dict[int, np.ndarray] = {}
_LOCK = threading.Lock()


def extent_sample(ifs: IFS) -> np.ndarray:
    """Points of the attractor that reach out to its extent, shape (n, d); computed once per IFS.

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
        return _SAMPLES[key]


def tight_bounds(ifs: IFS) -> np.ndarray:
    """Tight axis-aligned bounds of the attractor, ``(xmin, xmax, ymin, ymax[, zmin, zmax])``, shape (2 d,).

    The extent of :func:`extent_sample` (:meth:`IFS.extent_of`); an inner bound, unlike
    :meth:`IFS.guaranteed_bounds`.
    """
    bounds = np.column_stack(ifs.extent_of(extent_sample(ifs))).ravel()
    bounds.setflags(write=False)
    return bounds
