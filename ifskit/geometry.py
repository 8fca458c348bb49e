"""Affine maps from geometric parameters: scale, rotate, shear, flip.

Used by the YAML geometric form of a map and by ``ifskit transform``.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ParameterError


def linear_map(dim: int, scale=1.0, rotate=0.0, shear: float = 0.0, flip: str | None = None) -> np.ndarray:
    """The matrix ``A = R(rotate) @ Shear(shear) @ diag(scale) @ Flip``.

    Parameters
    ----------
    dim : {2, 3}
    scale : float or sequence of ``dim`` floats
    rotate : float, or (rx, ry, rz) in 3D
        Degrees, counter-clockwise; in 3D ``R = Rz @ Ry @ Rx``.
    shear : float
        ``k`` in ``x += k y`` (2D only).
    flip : {"x", "y", "z"}, optional
        Mirror that axis.

    Returns
    -------
    ndarray, shape (dim, dim)
    """
    scales = (
        np.broadcast_to(np.asarray(scale, dtype=float), (dim,)) if np.ndim(scale) == 0 else np.asarray(scale, float)
    )
    if scales.shape != (dim,):
        raise ParameterError(f"scale must be one number or {dim} numbers", "scale")
    if dim == 2:
        if np.ndim(rotate) != 0:
            raise ParameterError("rotate: a 2D rotation is one angle in degrees", "rotate")
        angle = math.radians(float(rotate))
        rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    else:
        angles = np.zeros(3) if np.ndim(rotate) == 0 and rotate == 0 else np.asarray(rotate, dtype=float)
        if angles.shape != (3,):
            raise ParameterError("rotate: a 3D rotation is three angles [rx, ry, rz] in degrees", "rotate")
        rotation = _euler(*np.radians(angles))
    shear_matrix = np.eye(dim)
    if shear:
        if dim == 3:
            raise ParameterError("shear is for 2D maps only", "shear")
        shear_matrix[0, 1] = shear
    flip_matrix = np.eye(dim)
    if flip is not None:
        axes = "xyz"[:dim]
        if str(flip).lower() not in axes:
            raise ParameterError(f"flip must be one of {', '.join(axes)}", "flip")
        flip_matrix[axes.index(str(flip).lower())] *= -1.0
    return rotation @ shear_matrix @ np.diag(scales) @ flip_matrix


def _euler(rx: float, ry: float, rz: float) -> np.ndarray:
    cx, sx, cy, sy, cz, sz = math.cos(rx), math.sin(rx), math.cos(ry), math.sin(ry), math.cos(rz), math.sin(rz)
    Rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    Rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return Rz @ Ry @ Rx
