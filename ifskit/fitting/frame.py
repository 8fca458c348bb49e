"""The frame a fit works in: the cloud in the unit ball, and the plane of a flat 3D cloud.

:func:`~ifskit.fitting.fit` and :func:`~ifskit.fitting.refine` move the cloud into the unit
ball (:func:`unit_ball`) and map the answer back; a flat 3D cloud (:func:`plane_of`) is fitted
in its plane and its 2D maps lifted back (:func:`lift_from_plane`).
"""

from __future__ import annotations

import numpy as np

from ..ifs import IFS


def unit_ball(cloud: np.ndarray) -> tuple:
    """``(centre, scale, unit)``: the cloud (n, d) moved and scaled into the unit ball,
    ``cloud = scale * unit + centre``."""
    centre = 0.5 * (cloud.min(axis=0) + cloud.max(axis=0))
    scale = float(np.linalg.norm(cloud - centre, axis=1).max())
    return centre, scale, (cloud - centre) / scale


#: A 3D cloud whose thickness (smallest principal standard deviation) is below this share
#: of its largest is flat: it is fitted in its own plane.
FLAT_RATIO = 1e-6


def plane_of(cloud: np.ndarray):
    """``(origin, axes)`` of a flat 3D cloud (n, 3): its mean (3,) and an orthonormal basis (3, 2) of its plane; else None."""
    origin = cloud.mean(axis=0)
    _, sigma, v_t = np.linalg.svd(cloud - origin, full_matrices=False)
    if sigma[-1] > FLAT_RATIO * sigma[0]:
        return None
    return origin, v_t[:2].T


def lift_from_plane(ifs: IFS, origin: np.ndarray, axes: np.ndarray) -> IFS:
    """3D maps acting on the plane ``origin + axes @ y`` as the 2D maps of ``ifs`` act on ``y``.

    ``A3 = U A2 U^T`` and ``b3 = c + U b2 - U A2 U^T c`` (``U = axes``, ``c = origin``): a
    point ``x`` goes to the plane point of ``A2 U^T (x - c) + b2``, so points off the plane
    are projected onto it, and ``||A3|| = ||A2||`` keeps the contraction.
    """
    U = np.asarray(axes, dtype=float)
    A = U @ ifs.A @ U.T
    b = origin + ifs.b @ U.T - np.einsum("kij,j->ki", A, origin)
    return IFS(A, b, ifs.p)
