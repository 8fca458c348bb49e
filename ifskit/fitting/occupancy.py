"""The target as a grid of occupied cells, at a resolution matched to the cloud's sampling, and its figures.

A cloud of a few thousand points over a filled shape leaves gaps between its points: the
shape itself is the cells holding points, closed over those gaps. The cell side is a
multiple (:data:`_CELL_PER_SPACING`) of the median nearest-neighbour spacing, so that a
cell of the shape holds a few points on average (filled 2D shapes and surfaces: about 2,
solids: about 4): then a closing by one cell fills the empty cells inside, and a hole or a
notch wider than two cells stays. The distance transform of the complement measures how
far a point spills out of the shape.

The same processing applied to a chaos game of the fitted attractor with as many points
as the cloud gives a like-for-like comparison (:func:`occupancy_iou`): the fitter chooses
among its candidate fits by it, since the attractor is what a user sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

# Cell side in units of the median nearest-neighbour spacing of the cloud.
_CELL_PER_SPACING = 3.0
# Cells per side of the cloud's bounding square, least and most, by dimension.
_RESOLUTION = {2: (32, 112), 3: (16, 40)}
# Empty cells around the bounding square: room for the closing and for spill.
_PAD = 3
#: A 2D cloud whose :func:`fine_fill` is below this is a curve (a thin, fractal line: the Koch
#: curve 0.62, thin de Rham curves 0.49-0.64), not a filled shape (the 2D development shapes of
#: benchmarks/bench_real.py 0.93-1.04, the catalog's other 2D attractors 0.78-1.03), at 4096 points.
#: With a few hundred points a curve's cells hold too few to tell (300 on a circle: 0.96).
CURVE_FILL = 0.75


@dataclass(frozen=True)
class Occupancy:
    """The target's occupancy grid.

    Attributes
    ----------
    lo : ndarray, shape (d,)
        Lower corner of the grid (cell ``(0, ..., 0)`` starts there).
    cell : float
        Cell side.
    grid : ndarray of bool, shape (g,) * d
        Cells of the shape: those holding cloud points, closed over the sampling gaps.
    spill : ndarray of float32, shape (g,) * d
        Distance, in cells, from each cell to the nearest cell of the shape (0 inside).
    index : ndarray of int64, shape (g,) * d
        Number of each cell of the shape among them (row-major order), -1 outside.
    centres : ndarray, shape (m, d)
        Centres of the cells of the shape, in their ``index`` order.
    """

    lo: np.ndarray
    cell: float
    grid: np.ndarray
    spill: np.ndarray
    index: np.ndarray
    centres: np.ndarray

    @property
    def dim(self) -> int:
        return self.grid.ndim

    def cells(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat cell numbers of ``points`` (..., d), and whether each lies in the grid: two arrays of shape (...)."""
        ijk = np.floor((points - self.lo) / self.cell).astype(np.int64)
        size = self.grid.shape[0]
        inside = np.all((ijk >= 0) & (ijk < size), axis=-1)
        ijk = np.clip(ijk, 0, size - 1)
        flat = ijk[..., 0]
        for axis in range(1, self.dim):
            flat = flat * size + ijk[..., axis]
        return flat, inside

    def spill_of(self, points: np.ndarray) -> np.ndarray:
        """Distance in cells (..., ) of ``points`` (..., d) to the shape; points off the grid count as far."""
        flat, inside = self.cells(points)
        return np.where(inside, self.spill.reshape(-1)[flat], np.float32(1e3))


def target_occupancy(cloud: np.ndarray, resolution: int | None = None) -> Occupancy:
    """The occupancy of a cloud at a resolution matched to its sampling (see the module docstring).

    Parameters
    ----------
    cloud : ndarray, shape (n, d)
    resolution : int, optional
        Cells per side of the bounding square; default from the nearest-neighbour spacing.

    Returns
    -------
    Occupancy
    """
    dim = cloud.shape[1]
    box_lo, box_hi = cloud.min(axis=0), cloud.max(axis=0)
    side = float(np.max(box_hi - box_lo))
    if resolution is None:
        spacing = float(np.median(cKDTree(cloud).query(cloud, k=2)[0][:, 1]))
        low, high = _RESOLUTION[dim]
        resolution = int(np.clip(round(side / max(_CELL_PER_SPACING * spacing, 1e-12)), low, high))
    cell = side / resolution
    lo = (box_lo + box_hi) / 2 - side / 2 - _PAD * cell
    size = resolution + 2 * _PAD
    grid = occupancy_grid(cloud, lo, cell, size)
    grid = ndimage.binary_closing(grid, structure=ndimage.generate_binary_structure(dim, dim)) | grid
    spill = ndimage.distance_transform_edt(~grid).astype(np.float32)
    index = np.full(grid.shape, -1, dtype=np.int64)
    index[grid] = np.arange(int(grid.sum()))
    centres = lo + (np.argwhere(grid) + 0.5) * cell
    return Occupancy(lo=lo, cell=cell, grid=grid, spill=spill, index=index, centres=centres)


def fine_fill(points: np.ndarray, occ: Occupancy) -> float:
    """How fully ``points`` (n, d) fill the cells of ``occ`` they reach: about 1 for a filled shape, 0.5-0.7 for a curve.

    Each cell holding points is cut into ``2^d`` cells of half the side; the share of those
    the points reach, against the share that points spread uniformly over the cells at the
    same density would reach (a Poisson expectation, ``1 - exp(-lambda / 2^d)`` with
    ``lambda`` points per cell). Points on a line through a cell reach about half of its
    halves, whatever their density. ``occ`` is the occupancy of ``points``
    (:func:`target_occupancy`).
    """
    dim = points.shape[1]
    coarse = np.unique(np.floor((points - occ.lo) / occ.cell).astype(np.int64), axis=0)
    fine = np.unique(np.floor((points - occ.lo) / (occ.cell / 2)).astype(np.int64), axis=0)
    per_cell = len(points) / len(coarse)
    return float(len(fine) / (2**dim * len(coarse)) / -np.expm1(-per_cell / 2**dim))


def occupancy_grid(points: np.ndarray, lo: np.ndarray, cell: float, size: int) -> np.ndarray:
    """Cells of a ``size^d`` grid (corner ``lo``, side ``cell``) holding at least one of ``points`` (n, d): bool (size,) * d."""
    ijk = np.floor((points - lo) / cell).astype(np.int64)
    ijk = ijk[np.all((ijk >= 0) & (ijk < size), axis=1)]
    grid = np.zeros((size,) * points.shape[1], dtype=bool)
    grid[tuple(ijk.T)] = True
    return grid


def occupancy_iou(target: Occupancy, points: np.ndarray) -> float:
    """IoU of the target's occupancy and that of ``points`` (n, d) processed the same way (binned, closed).

    Points off the grid count in the union (one cell each at most), so spill lowers the figure.
    """
    grid = occupancy_grid(points, target.lo, target.cell, target.grid.shape[0])
    grid = ndimage.binary_closing(grid, structure=ndimage.generate_binary_structure(grid.ndim, grid.ndim)) | grid
    _, inside = target.cells(points)
    outside = min(int(np.count_nonzero(~inside)), len(points))
    union = np.count_nonzero(grid | target.grid) + (1 if outside else 0)
    return float(np.count_nonzero(grid & target.grid) / max(union, 1))
