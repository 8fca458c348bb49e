"""Framing: which window of the plane (or of a 3D view) a raster shows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..ifs import IFS
from .extent import axes_reach, reach

#: Margin around the attractor, as a fraction of its extent on each side.
MARGIN = 0.05
#: Default camera for 3D views, (elevation, azimuth) in degrees as in matplotlib.
DEFAULT_VIEW = (30.0, -60.0)


def projection(ifs: IFS, view=None) -> np.ndarray | None:
    """Rotation taking 3D points to (right, up, towards the viewer), shape (3, 3); None in 2D.

    Parameters
    ----------
    view : (elev, azim) in degrees, optional
        Camera elevation above the xy plane and azimuth about z, as matplotlib's
        ``view_init``. Default :data:`DEFAULT_VIEW`.
    """
    if ifs.dim == 2:
        if view is not None:
            raise ParameterError("view (a camera's elevation and azimuth) applies to 3D IFS only", "view")
        return None
    elev, azim = np.radians(DEFAULT_VIEW if view is None else view)
    towards = [np.cos(elev) * np.cos(azim), np.cos(elev) * np.sin(azim), np.sin(elev)]
    right = [-np.sin(azim), np.cos(azim), 0.0]
    up = [-np.sin(elev) * np.cos(azim), -np.sin(elev) * np.sin(azim), np.cos(elev)]
    return np.array([right, up, towards])


@dataclass
class Frame:
    """A window ``bounds = (xmin, xmax, ymin, ymax)`` on an ``(H, W)`` raster.

    ``depth_range`` is the range of depths (3D views only) mapped to [0, 1].
    ``attractor`` is the attractor's box in the picture plane, shape (2, 2): rows x
    and y, columns low and high (None when not known); ``contraction`` the IFS's
    largest contraction factor ``s`` and ``start`` the chains' starting point (None
    when not known), both found with the attractor's box.
    """

    bounds: tuple
    size: tuple
    depth_range: tuple = (0.0, 1.0)
    attractor: np.ndarray | None = None
    contraction: float = np.inf
    start: np.ndarray | None = None

    @property
    def reach(self) -> float:
        """Largest pixel coordinate (in absolute value) of a point of the attractor; inf if not known.

        Large against the raster when the window is a deep zoom into the attractor.
        """
        if self.attractor is None:
            return np.inf
        xmin, xmax, ymin, ymax = self.bounds
        height, width = self.size
        cols = (self.attractor[0] - xmin) * (width / (xmax - xmin))
        rows = (ymax - self.attractor[1]) * (height / (ymax - ymin))
        return float(max(np.abs(cols).max(), np.abs(rows).max()))

    @property
    def depth_scale(self) -> float:
        """Pixels per unit of normalized depth (depth range / pixel size)."""
        xmin, xmax = self.bounds[:2]
        return (self.depth_range[1] - self.depth_range[0]) * self.size[1] / (xmax - xmin)

    def view_matrix(self, dim: int, rotation: np.ndarray | None) -> np.ndarray:
        """Affine map from a point to (column, row, depth), shape (3, 4); see the density kernel."""
        xmin, xmax, ymin, ymax = self.bounds
        height, width = self.size
        sx, sy = width / (xmax - xmin), height / (ymax - ymin)
        # picture plane -> pixels: column grows with x, row 0 is the top (largest y)
        to_pixels = np.array([[sx, 0.0, 0.0, -xmin * sx], [0.0, -sy, 0.0, ymax * sy], [0.0, 0.0, 0.0, 0.0]])
        if rotation is None:
            return to_pixels
        dmin, dmax = self.depth_range
        to_pixels[2] = [0.0, 0.0, 1.0 / (dmax - dmin), -dmin / (dmax - dmin)]
        linear = to_pixels[:, :3] @ rotation
        return np.column_stack([linear, to_pixels[:, 3]])


def window(ifs: IFS, size, bounds=None, rotation: np.ndarray | None = None) -> Frame:
    """The frame of a render: given ``bounds``, or the attractor's with a margin, aspect kept.

    Parameters
    ----------
    ifs : IFS
    size : (H, W)
    bounds : (xmin, xmax, ymin, ymax), optional
        Used as given (in the picture plane of a 3D view).
    rotation : (3, 3) array, optional
        The 3D view, from :func:`projection`.
    """
    depth_range = (0.0, 1.0)
    if rotation is None:
        box, found = axes_reach(ifs)
        box = box.reshape(-1, 2)
    else:
        # the extent along the camera's axes: right, up, towards the viewer
        found = reach(ifs, np.concatenate([rotation, -rotation]))
        box = np.column_stack([-found.values[3:], found.values[:3]])
        depth_range = _widen(box[2, 0], box[2, 1], float(np.max(box[:, 1] - box[:, 0])))
        box = box[:2]
    if bounds is not None:
        bounds = tuple(float(v) for v in bounds)
        if len(bounds) != 4 or not all(np.isfinite(bounds)) or bounds[0] >= bounds[1] or bounds[2] >= bounds[3]:
            raise ParameterError(
                f"bounds must be xmin,xmax,ymin,ymax with xmin < xmax and ymin < ymax, got {bounds}", "bounds"
            )
        return Frame(bounds, tuple(size), depth_range, box, found.contraction, found.start)
    return Frame(fit_window(box[0], box[1], size), tuple(size), depth_range, box, found.contraction, found.start)


def fit_window(x_range, y_range, size, margin: float = MARGIN) -> tuple:
    """Window around ``x_range`` and ``y_range`` with a margin, widened to the aspect of ``size``.

    Returns
    -------
    (xmin, xmax, ymin, ymax)
    """
    height, width = size
    extent = max(x_range[1] - x_range[0], y_range[1] - y_range[0])
    x0, x1 = _widen(*x_range, extent)
    y0, y1 = _widen(*y_range, extent)
    x0, x1 = x0 - margin * (x1 - x0), x1 + margin * (x1 - x0)
    y0, y1 = y0 - margin * (y1 - y0), y1 + margin * (y1 - y0)
    # square pixels: grow the axis that has fewer units per pixel
    scale = max((x1 - x0) / width, (y1 - y0) / height)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - scale * width / 2, cx + scale * width / 2, cy - scale * height / 2, cy + scale * height / 2)


def _widen(lo: float, hi: float, extent: float) -> tuple:
    """A range of positive width: a flat attractor (a segment, a point) still gets a frame."""
    floor = max(1e-3 * extent, 1e-9 * max(abs(lo), abs(hi)), 1e-12)
    if hi - lo < floor:
        mid = (lo + hi) / 2
        return mid - floor / 2, mid + floor / 2
    return lo, hi


def check_size(size) -> tuple[int, int]:
    try:
        height, width = (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))
    except (TypeError, ValueError, IndexError):
        raise ParameterError(f"size must be N or (H, W), got {size!r}", "size") from None
    if height < 1 or width < 1 or height * width > 2**31:
        raise ParameterError(f"image size {height}x{width} is out of range", "size")
    return height, width
