"""Numba kernel of the greedy cover's candidate scoring (:mod:`ifskit.fitting.cover`).

Scoring a few thousand candidate maps on a thousand or two source points each is most of
the cover's time. In numpy it is a dozen passes over a (candidates, sources) array and a
sort for the distinct spilled cells; here it is one pass that marks the cells as it goes.
Same arithmetic as the numpy version it replaced (the images come from the caller's matrix
product, the cell of a point is ``floor((x - lo) / cell)``), so the same answers to the bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Spill of an image point that falls off the grid: far (as Occupancy.spill_of).
_OFF_GRID = np.float32(1e3)


@njit(nogil=True, cache=True)
def score_images(images, lo, cell, size, spill, index, spill_share, spill_max, cover, spilled, admissible):
    """Spill and coverage of each candidate's image points, written into the output arrays.

    Parameters
    ----------
    images : ndarray, shape (c, S, d)
        Images of the source points under each of ``c`` candidate maps.
    lo : ndarray, shape (d,)
        Lower corner of the occupancy grid.
    cell : float
        Cell side.
    size : int
        Cells per side of the grid.
    spill : ndarray of float32, shape (size^d,)
        Distance in cells of each grid cell to the shape (flat, row-major).
    index : ndarray of int64, shape (size^d,)
        Number of each cell of the shape, -1 outside it (flat, row-major).
    spill_share, spill_max : float
        A candidate is admissible when at most ``spill_share`` of its points lie a cell or more
        outside the shape and none farther than ``spill_max`` cells.
    cover : ndarray of bool, shape (c, m)
        Out: the cells of the shape each candidate's image reaches (must be all False on entry).
    spilled : ndarray of int64, shape (c,)
        Out: distinct grid cells outside the shape each image reaches.
    admissible : ndarray of bool, shape (c,)
        Out.
    """
    count, n_sources, dim = images.shape
    stamp = np.zeros(spill.size, dtype=np.int64)  # candidate + 1 that last counted each cell
    for i in range(count):
        far = 0
        worst = np.float32(0.0)
        distinct = 0
        for s in range(n_sources):
            flat = 0
            inside = True
            for axis in range(dim):
                t = int(math.floor((images[i, s, axis] - lo[axis]) / cell))
                if t < 0:
                    inside = False
                    t = 0
                elif t >= size:
                    inside = False
                    t = size - 1
                flat = flat * size + t
            distance = spill[flat] if inside else _OFF_GRID
            if distance >= 1.0:
                far += 1
            if distance > worst:
                worst = distance
            if inside:
                number = index[flat]
                if number >= 0:
                    cover[i, number] = True
                elif stamp[flat] != i + 1:
                    stamp[flat] = i + 1
                    distinct += 1
        spilled[i] = distinct
        admissible[i] = far / n_sources <= spill_share and worst <= spill_max
