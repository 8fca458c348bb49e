"""Deterministic rendering: iterate the IFS's operators instead of playing the chaos game.

- :func:`hutchinson_raster` iterates the Hutchinson operator ``W(S) = U w_i(S)`` on a
  picture: from any start (a square, an ellipse, noise, a point, an image) it converges
  to the same attractor.
- :func:`hutchinson_measure` iterates the Markov operator ``M(mu) = sum p_i (w_i)_* mu``
  on a density: the invariant measure that the chaos game samples, without randomness.
- :func:`hutchinson_points` iterates ``W`` on a point set, keeping one point per grid
  cell: a point cloud of the attractor, exact to the grid's resolution, in 2D and 3D.

All three need a contractive IFS (``s < 1``). The rasters are computed on a grid
``supersample`` times finer than the output and averaged down: the raster set covers
the attractor plus a rim about a fine pixel wide (see :func:`hutchinson_raster`), so a
finer grid gives a thinner rim and grey levels for antialiasing.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from .._parallel import default_threads
from ..errors import IfskitWarning, NonContractiveError, ParameterError
from ..ifs import IFS
from . import kernels
from .chaos import kernel_arrays
from .extent import tight_bounds
from .frame import Frame, check_size, window

#: Iterations at most when iterating until the picture stops changing.
MAX_ITERATIONS = 100
#: Named starting pictures of :func:`hutchinson_raster`.
STARTS = ("square", "ellipse", "noise", "point")
# The supersampled raster's long side aims at this many pixels by default (at most
# 4 times the output): fine enough for a thin rim, one step stays in tens of ms.
_FINE_PIXELS = 2048


@dataclass
class DeterministicRender:
    """Result of :func:`hutchinson_raster`.

    Attributes
    ----------
    image : ndarray, shape (H, W), float64 in [0, 1]
        Share of each pixel covered by the attractor's raster (the supersampled set
        averaged down): 0 off the attractor, grey at its edges. Row 0 is the top.
    iterations : int
        Steps done.
    converged : bool
        Whether the last step changed at most ``tol`` of the pixels.
    bounds : tuple of 4 floats
        ``(xmin, xmax, ymin, ymax)`` of the window.
    frames : list of ndarray, shape (H, W), float64
        When asked for: the start, then the picture after each step.
    """

    image: np.ndarray
    iterations: int
    converged: bool
    bounds: tuple
    frames: list = field(default_factory=list)

    @property
    def covered(self) -> np.ndarray:
        """Pixels the attractor's raster meets, shape (H, W) bool."""
        return self.image > 0


def hutchinson_raster(
    ifs: IFS,
    size=(1024, 1024),
    start="square",
    iterations: int | None = None,
    bounds=None,
    frames: bool = False,
    tol: float = 1e-5,
    *,
    supersample: int | None = None,
    seed: int = 0,
    threads: int | None = None,
) -> DeterministicRender:
    """Render a 2D attractor by iterating the Hutchinson operator on a raster.

    Each step maps the whole footprint of every set pixel by every map and sets the
    pixels its image meets (not just the pixel of its centre's image), so the set
    always contains the pixels of the attractor and thin attractors (dragons, the
    Koch curve) stay connected instead of falling into dust. The price is a rim
    around the attractor, about one pixel of the supersampled grid wide (it grows
    by up to a pixel per step and shrinks by the contraction), hence the default
    supersampling.

    Parameters
    ----------
    ifs : IFS
        A 2D IFS with contraction factor ``s < 1``.
    size : int or (H, W)
        Output size in pixels.
    start : {"square", "ellipse", "noise", "point"} or array_like, shape (h, w)
        The starting picture, relative to the frame: the whole frame, the ellipse
        inscribed in it, random pixels (half of them, from ``seed``), the pixel at
        its centre; or an image of any size (row 0 at the top), resampled to the
        raster, whose pixels above half its maximum are set. The limit does not
        depend on the start.
    iterations : int, optional
        Steps to do; default: until a step changes at most ``tol`` of the pixels
        (at most :data:`MAX_ITERATIONS`).
    bounds : (xmin, xmax, ymin, ymax), optional
        The window; default the attractor's bounds with a margin, aspect kept.
    frames : bool
        Keep the picture after each step in ``frames`` (8 H W bytes each: for
        movies of a few steps, or small sizes).
    tol : float
        Share of the (supersampled) pixels that may still change at convergence.
    supersample : int, optional
        Iterate on a grid this many times finer (1 to 8); default up to 4, so that
        the fine grid's long side is about 2048 pixels.
    seed : int
        Seed of the ``"noise"`` start.
    threads : int, optional
        Worker threads; default all cores. The result does not depend on them.

    Returns
    -------
    DeterministicRender

    Raises
    ------
    NonContractiveError
        When ``s >= 1``.
    FormatError
        A 3D IFS, an unknown or empty start, iterations below 1, a bad size or bounds.
    """
    _check_ifs(ifs, "the deterministic raster renderer")
    iterations = _check_iterations(iterations)
    height, width = check_size(size)
    factor = _check_supersample(supersample, height, width)
    if not 0 <= tol < 1:
        raise ParameterError(f"tol must be in [0, 1), got {tol}", "tol")
    frame = window(ifs, (height, width), bounds)
    fine_size = (height * factor, width * factor)
    maps = _pixel_maps(ifs, Frame(frame.bounds, fine_size))
    src = _start_raster(start, (height, width), factor, seed)

    def picture(raster):
        out = np.empty((height, width))
        kernels.block_mean(raster, out)
        return out

    kept = [picture(src)] if frames else []
    limit = iterations or MAX_ITERATIONS
    allowed = tol * src.size
    done, converged = 0, False
    dst = np.empty_like(src)
    with _pool(threads) as run:
        while done < limit:
            dst[:] = 0
            run(kernels.hutchinson_cover, (src, maps, dst), fine_size[0])
            changed = np.count_nonzero(src != dst)
            src, dst = dst, src
            done += 1
            if frames:
                kept.append(picture(src))
            converged = changed <= allowed
            if converged and iterations is None:
                break
    image = kept[-1] if frames else picture(src)
    return DeterministicRender(image, done, converged, frame.bounds, kept)


def hutchinson_measure(
    ifs: IFS,
    size=(1024, 1024),
    iterations: int | None = None,
    bounds=None,
    start=None,
    *,
    supersample: int | None = None,
    tol: float = 1e-4,
    threads: int | None = None,
) -> np.ndarray:
    """The invariant measure of a 2D IFS on a raster, by iterating the Markov operator.

    ``M(mu) = sum_i p_i (w_i)_* mu``: each pixel's mass goes through each map,
    weighted by its probability, and lands spread over the image of the pixel (see
    :func:`ifskit.render.kernels.markov_push`). No randomness: the result is what the
    chaos game's density (:func:`ifskit.density`) tends to, normalized, up to a
    smoothing of about a supersampled pixel.

    Parameters
    ----------
    ifs : IFS
        A 2D IFS with ``s < 1``.
    size : int or (H, W)
    iterations : int, optional
        Steps to do; default: until a step moves less than ``tol`` of the mass (total
        variation), at most 2 x :data:`MAX_ITERATIONS`.
    bounds : (xmin, xmax, ymin, ymax), optional
        As in :func:`hutchinson_raster`. Mass mapped outside is dropped (none is, for
        a window around the attractor, once the iteration has converged).
    start : array_like, shape (h, w), optional
        Non-negative starting mass of any size (resampled); default uniform.
    supersample : int, optional
        As in :func:`hutchinson_raster`; the masses are summed down.
    tol : float
        Total variation between steps at which to stop.
    threads : int, optional
        Worker threads; default all cores. The result does not depend on them.

    Returns
    -------
    ndarray, shape (H, W), float64
        Mass per pixel, summing to 1. Row 0 is the top.
    """
    _check_ifs(ifs, "the deterministic measure")
    iterations = _check_iterations(iterations)
    height, width = check_size(size)
    factor = _check_supersample(supersample, height, width)
    frame = window(ifs, (height, width), bounds)
    # Without a step count, converge on grids 2, 4, ... times coarser first (down to
    # about 128 pixels), each result starting the next grid: the fine grid, where a
    # step costs most, then needs a few steps only.
    shapes = [(height * factor, width * factor)]
    while iterations is None and shapes[0][0] % 2 == 0 and shapes[0][1] % 2 == 0 and max(shapes[0]) >= 256:
        shapes.insert(0, (shapes[0][0] // 2, shapes[0][1] // 2))
    state = np.empty(shapes[0] + (3,))  # mass and its centroid (x, y) per pixel
    state[..., 0] = _start_mass(start, shapes[0])
    state[..., 2], state[..., 1] = np.indices(shapes[0]) + 0.5
    with _pool(threads) as run:
        for level, shape in enumerate(shapes):
            if level > 0:
                state = _refine(state, 2)
            state = _markov(ifs, Frame(frame.bounds, shape), state, iterations, tol, run)
    result = state[..., 0].reshape(height, factor, width, factor).sum(axis=(1, 3))
    return result / result.sum()


def _markov(ifs: IFS, frame: Frame, state: np.ndarray, iterations, tol, run) -> np.ndarray:
    """Steps of the Markov operator on a frame's raster: ``iterations``, or until one moves less than ``tol``."""
    maps = _pixel_maps(ifs, frame)
    # spread a pixel's mass over a box with the variance of the pixel's image in x and
    # in y (a box of width w has variance w^2 / 12)
    widths = np.minimum(np.sqrt(np.sum(maps[:, :, :2] ** 2, axis=2)), 0.999)
    p = np.array(ifs.p)
    out = np.empty_like(state)
    row_start, cols = np.empty(state.shape[0] + 1, dtype=np.int64), np.empty(state[..., 0].size, dtype=np.int64)
    for _ in range(iterations or 2 * MAX_ITERATIONS):
        out[:] = 0.0
        kernels.occupied(state, row_start, cols)
        run(kernels.markov_push, (state, row_start, cols, maps, widths, p, out), (state.shape[0] + 7) // 8)
        total, change = kernels.finish_measure(out, state)
        if total <= 0:
            raise ParameterError(
                f"the measure leaves the window {frame.bounds} (bounds): it does not contain the attractor", "bounds"
            )
        state, out = out, state
        if iterations is None and change < tol:
            break
    return state


def _refine(state: np.ndarray, ratio: int) -> np.ndarray:
    """A measure with centroids on a grid ``ratio`` times finer: each pixel's mass goes to its centroid's pixel."""
    rows, cols = np.nonzero(state[..., 0])
    mass, x, y = state[rows, cols].T * [[1.0], [ratio], [ratio]]
    # the centroid lies in its pixel; clip so that rounding keeps it there
    j = np.clip(np.floor(x).astype(np.int64), cols * ratio, cols * ratio + ratio - 1)
    i = np.clip(np.floor(y).astype(np.int64), rows * ratio, rows * ratio + ratio - 1)
    fine = np.zeros((state.shape[0] * ratio, state.shape[1] * ratio, 3))
    fine[i, j] = np.column_stack([mass, x, y])
    return fine


def hutchinson_points(
    ifs: IFS,
    iterations: int | None = None,
    resolution: float | None = None,
    max_points: int = 4_000_000,
    start=None,
) -> np.ndarray:
    """A point cloud of the attractor: ``W^n(S)`` of a point set, one point per grid cell.

    Each step maps every point by every map and keeps the first image in each cell
    of a grid of side ``resolution`` (with a corner at the centre of
    :meth:`IFS.bounding_ball`), so the count stays bounded by the number of cells
    the attractor meets. Every point of the attractor is then within about
    ``resolution * sqrt(d) / (1 - s)`` of a point of the cloud.

    Parameters
    ----------
    ifs : IFS
        With ``s < 1``, 2D or 3D.
    iterations : int, optional
        Steps: the result is ``W^n(S)`` with duplicates removed. Default: the whole
        attractor to the grid's resolution: from the default start (points of the
        attractor) the closure of ``S`` under the maps, found by mapping each new
        point once; from another start, first enough steps to bring it within
        ``resolution`` of the attractor.
    resolution : float, optional
        Grid cell side, in the IFS's units. Default the attractor's largest extent
        / 1000 in 2D, / 128 in 3D.
    max_points : int
        Stop there with an :class:`~ifskit.IfskitWarning` (use a coarser resolution).
    start : array_like, shape (n, d), optional
        Starting points; default the maps' fixed points (on the attractor).

    Returns
    -------
    ndarray, shape (n, d), float64
        Points on (or, from a start off it, within ``s^n`` of) the attractor.
    """
    _check_ifs(ifs, "the deterministic point set", allow_3d=True)
    iterations = _check_iterations(iterations)
    if int(max_points) != max_points or max_points < 1:
        raise ParameterError(f"max_points must be a positive integer, got {max_points}", "max_points")
    max_points = int(max_points)
    if resolution is None:
        extent = np.ptp(np.asarray(tight_bounds(ifs)).reshape(-1, 2), axis=1).max()
        resolution = max(extent, 1e-12) / (1000 if ifs.dim == 2 else 128)
    if not (np.isfinite(resolution) and resolution > 0):
        raise ParameterError(f"resolution must be a positive number, got {resolution}", "resolution")
    centre, radius = ifs.bounding_ball()
    if start is None:
        points = np.array(ifs.fixed_points)
        on_attractor = True
    else:
        points = np.array(start, dtype=float, ndmin=2)
        if points.ndim != 2 or points.shape[1] != ifs.dim or len(points) == 0 or not np.all(np.isfinite(points)):
            raise ParameterError(
                f"start points must be a non-empty ({ifs.dim}-column) array of finite numbers", "start"
            )
        on_attractor = False
    grid = _Grid(ifs, centre, 1.0 / resolution, max_points)
    if iterations is not None:
        points = grid.steps(points, iterations)
    else:
        if not on_attractor:
            # first bring the start within a cell of the attractor: dist(W^n(S), A) <= s^n dist(S, A)
            far = np.linalg.norm(points - centre, axis=1).max() + radius
            if far > resolution:
                steps = np.log(resolution / far) / np.log(max(ifs.contraction, 1e-300))
                points = grid.steps(points, int(np.ceil(steps)))
        points = grid.closure(points)
    if grid.full:
        warnings.warn(
            f"stopped at max_points = {max_points} points, the attractor is not complete: "
            "use a coarser resolution or a larger max_points",
            IfskitWarning,
            stacklevel=2,
        )
    return points


class _Grid:
    """Points deduplicated on a grid of cells, with the kernels' hash set of cell keys."""

    def __init__(self, ifs: IFS, centre: np.ndarray, inv_cell: float, max_points: int):
        self.A, self.b = kernel_arrays(ifs)
        self.k = ifs.n_maps
        self.origin = np.zeros(3)
        self.origin[: ifs.dim] = centre
        self.inv_cell = float(inv_cell)
        self.max_points = max_points
        self.full = False  # set when max_points was reached

    @staticmethod
    def _table(n: int) -> np.ndarray:
        """An empty hash set for about n keys (kept at most half full)."""
        return np.full(1 << max(10, int(np.ceil(np.log2(4 * n + 4)))), -1, dtype=np.int64)

    def _map(self, points, first, count, base, table, n_keys):
        """Append the images in new cells of rows first..count-1 of ``points``.

        The output starts at row ``base``; ``table`` holds the cells of rows
        ``base..count-1``. Arrays grow as needed; the output stops at max_points.

        Returns
        -------
        points, count, table, n_keys
        """
        last = count
        while True:
            count, row, n_keys = kernels.spread_points(
                self.A, self.b, points, first, last, count, self.origin, self.inv_cell, table, n_keys
            )
            if count - base > self.max_points or (row < last and count - base + self.k > self.max_points):
                self.full = True
                return points, min(count, base + self.max_points), table, n_keys
            if row == last:
                return points, count, table, n_keys
            first = row
            if count + self.k > len(points):
                points = np.concatenate([points, np.empty_like(points)])
            if 2 * (n_keys + self.k) > len(table):
                table = self._table(2 * n_keys)
                kernels.add_cells(points[base:count], self.origin, self.inv_cell, table)

    def steps(self, points: np.ndarray, n: int) -> np.ndarray:
        """``W^n(points)``, keeping one point per cell after each step."""
        for _ in range(n):
            count = len(points)
            buffer = np.empty((count + min(count * self.k, self.max_points, 1 << 20), points.shape[1]))
            buffer[:count] = points
            buffer, end, _, _ = self._map(buffer, 0, count, count, self._table(count * self.k), 0)
            points = buffer[count:end].copy()
            if self.full:
                break
        return points

    def closure(self, points: np.ndarray) -> np.ndarray:
        """The points and their images under all compositions of maps, one per cell.

        Breadth first: each round maps only the points found by the round before.
        """
        table = self._table(len(points))
        keep = kernels.add_cells(np.ascontiguousarray(points), self.origin, self.inv_cell, table)
        count = int(keep.sum())
        buffer = np.empty((max(16 * count, 1 << 16), points.shape[1]))
        buffer[:count] = points[keep]
        first, n_keys = 0, count
        while first < count and not self.full:
            before = count
            buffer, count, table, n_keys = self._map(buffer, first, count, 0, table, n_keys)
            first = before
        return buffer[:count].copy()


# ---- helpers ---------------------------------------------------------------------------


@contextmanager
def _pool(threads: int | None):
    """A function ``run(kernel, args, n_items)`` that calls ``kernel(*args, task, n_tasks)`` for every task.

    Tasks run on a pool of threads (the kernels release the GIL); there are a few per
    thread, so that a thread slowed down by another process hands its share to the
    others, and at most ``n_items`` (rows or bands).
    """
    threads = default_threads(threads)

    def serial(kernel, args, n_items):
        kernel(*args, 0, 1)

    if threads == 1:
        yield serial
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:

        def run(kernel, args, n_items):
            n_tasks = max(1, min(4 * threads, n_items))
            for future in [pool.submit(kernel, *args, task, n_tasks) for task in range(n_tasks)]:
                future.result()

        yield run


def _check_ifs(ifs: IFS, what: str, allow_3d: bool = False) -> None:
    if not isinstance(ifs, IFS):
        raise ParameterError(f"{what} needs an IFS, got {type(ifs).__name__}", "ifs")
    if ifs.dim == 3 and not allow_3d:
        raise ParameterError(
            f"{what} works on 2D IFS; for a 3D IFS use deterministic points (hutchinson_points) or the chaos game",
            "ifs",
        )
    if not ifs.is_contractive:
        raise NonContractiveError(
            f"{what} needs a contractive IFS (s < 1), but {ifs._label()} has s = {ifs.contraction:.6g}; "
            "the chaos game renders IFS that are only contractive on average"
        )


def _check_iterations(iterations) -> int | None:
    if iterations is None:
        return None
    if isinstance(iterations, bool) or int(iterations) != iterations or iterations < 1:
        raise ParameterError(f"iterations must be a positive integer, got {iterations}", "iterations")
    return int(iterations)


def _check_supersample(supersample, height: int, width: int) -> int:
    if supersample is None:
        return int(np.clip(_FINE_PIXELS // max(height, width), 1, 4))
    if isinstance(supersample, bool) or int(supersample) != supersample or not 1 <= supersample <= 8:
        raise ParameterError(f"supersample must be an integer from 1 to 8, got {supersample}", "supersample")
    return int(supersample)


def _pixel_maps(ifs: IFS, frame: Frame) -> np.ndarray:
    """Each map of the IFS in the pixel coordinates of a frame, shape (k, 2, 3)."""
    to_pixels = np.vstack([frame.view_matrix(2, None)[:2, [0, 1, 3]], [0.0, 0.0, 1.0]])
    maps = np.zeros((ifs.n_maps, 3, 3))
    maps[:, :2, :2], maps[:, :2, 2], maps[:, 2, 2] = ifs.A, ifs.b, 1.0
    return np.ascontiguousarray((to_pixels @ maps @ np.linalg.inv(to_pixels))[:, :2])


def _start_raster(start, size: tuple, factor: int, seed: int) -> np.ndarray:
    """The starting set on the supersampled raster, shape (H f, W f) uint8."""
    height, width = size
    fine = (height * factor, width * factor)
    if isinstance(start, str):
        if start == "square":
            return np.ones(fine, dtype=np.uint8)
        if start == "ellipse":
            rows, cols = np.ogrid[: fine[0], : fine[1]]
            u = (cols + 0.5) / fine[1] * 2 - 1
            v = (rows + 0.5) / fine[0] * 2 - 1
            return (u**2 + v**2 <= 1).astype(np.uint8)
        if start == "noise":  # noise of output pixels, as a picture of it would show
            coarse = np.random.default_rng(seed).random(size) < 0.5
            return np.kron(coarse, np.ones((factor, factor), dtype=bool)).astype(np.uint8)
        if start == "point":
            raster = np.zeros(fine, dtype=np.uint8)
            r, c = height // 2 * factor, width // 2 * factor
            raster[r : r + factor, c : c + factor] = 1
            return raster
        raise ParameterError(f"unknown start {start!r}: use one of {', '.join(STARTS)} or an image", "start")
    image = _start_image(start)
    return _resample(image > 0.5 * image.max(), fine).astype(np.uint8)


def _start_image(start) -> np.ndarray:
    try:
        image = np.asarray(start, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("a start image must be a 2D array of numbers", "start") from None
    if image.ndim != 2:
        raise ParameterError(f"a start image must be a 2D (grey) array, got shape {image.shape}", "start")
    if image.size == 0:
        raise ParameterError("the start image is empty (no pixels)", "start")
    if not np.all(np.isfinite(image)):
        raise ParameterError("the start image contains NaN or infinite values", "start")
    if not image.max() > 0:
        raise ParameterError("the start image is blank: no pixel is set", "start")
    return image


def _resample(mask: np.ndarray, size: tuple) -> np.ndarray:
    """A boolean image of any size on an (H, W) raster: a pixel is set if any source pixel under it is."""
    for axis, n in enumerate(size):
        starts = np.arange(n) * mask.shape[axis] // n  # enlarging repeats a start: the nearest pixel
        mask = np.maximum.reduceat(mask, starts, axis=axis)
    return mask


def _start_mass(start, fine: tuple) -> np.ndarray:
    if start is None:
        return np.full(fine, 1.0 / (fine[0] * fine[1]))
    image = _start_image(start)
    if image.min() < 0:
        raise ParameterError("a start measure must not be negative", "start")
    rows = np.arange(fine[0]) * image.shape[0] // fine[0]
    cols = np.arange(fine[1]) * image.shape[1] // fine[1]
    mass = np.ascontiguousarray(image[np.ix_(rows, cols)])
    if not mass.sum() > 0:
        raise ParameterError("the start measure is zero on the raster", "start")
    return mass / mass.sum()
