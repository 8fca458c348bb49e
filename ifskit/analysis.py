"""Fractal dimension figures of an IFS."""

from __future__ import annotations

import numpy as np

from .ifs import IFS


def moran_dimension(ratios) -> float:
    """The ``D`` solving Moran's equation ``sum_i r_i^D = 1``.

    Parameters
    ----------
    ratios : array_like, shape (k,)
        Contraction ratios in [0, 1); zeros are ignored.

    Returns
    -------
    float
        ``nan`` when a ratio is 1 or more (no solution).
    """
    r = np.asarray(ratios, dtype=float)
    r = r[r > 0]
    if len(r) == 0:
        return 0.0
    if np.any(r >= 1):
        return float("nan")
    # sum r^D falls strictly from len(r) at D = 0 to 0: bisection on log scale is safe
    lo, hi = 0.0, 1.0
    while np.sum(r**hi) > 1:
        hi *= 2
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.sum(r**mid) > 1 else (lo, mid)
    return (lo + hi) / 2


def similarity_dimension(ifs: IFS) -> float:
    """Similarity dimension from Moran's equation with ``s_i = ||A_i||_2``.

    Equal to the Hausdorff dimension for similitudes that satisfy the open set
    condition (Sierpinski triangle: log 3 / log 2); for general affine maps it is an
    upper bound of the singular-value dimension. ``nan`` when some ``s_i >= 1``.
    """
    return moran_dimension(ifs.contraction_factors)
