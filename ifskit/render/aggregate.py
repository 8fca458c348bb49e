"""Densities: the chaos game binned on a raster (no points kept), what :func:`ifskit.shade` shades.

The work is :mod:`~ifskit.render.chaos`'s chunks, each binned into integer counts; the
sum of integer counts does not depend on the order, so the same seed gives the same
raster whatever the thread count, and whatever runs the chunks: this process's
threads, a backend registered with :func:`register_backend` (the Dask cluster of
:mod:`ifskit.distributed`), or the torch chaos game (:mod:`~ifskit.render.torch_backend`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .._parallel import default_threads
from ..errors import IfskitError, ParameterError
from ..ifs import IFS
from ..limits import check_seed
from . import kernels
from .chaos import BURN_IN, alias_table, chain_start, check_count, chunk_counts, kernel_arrays, progress_bar, run_tasks
from .frame import check_size, projection, window

# Chunks a thread bins into its own raster before adding it to the shared uint64
# one: far below 2^32 * 256 points, so its 8-bit counts and carries cannot overflow.
_MAX_TASK_CHUNKS = 64
# Executors that bin a DensityJob elsewhere than in this process's threads, by the
# argument of aggregate() that hands one over: the module that brings one registers
# its binning function here (ifskit.distributed registers "client"), so the renderer
# never imports what runs it.
_BACKENDS = {}


def register_backend(argument: str, bin_job) -> None:
    """Let ``aggregate(..., argument=executor)`` bin its job with ``bin_job(job, executor, bar)``.

    Parameters
    ----------
    argument : str
        The keyword of :func:`aggregate` that hands the executor over (``"client"``).
    bin_job : callable
        ``bin_job(job: DensityJob, executor, bar) -> Totals``: identical totals to
        ``job.bin_chunks(0, job.n_chunks)``.
    """
    _BACKENDS[argument] = bin_job


def _backend(argument: str):
    try:
        return _BACKENDS[argument]
    except KeyError:
        raise ParameterError(
            f"{argument}: no backend registered for it; import ifskit.distributed (it registers the Dask backend)",
            argument,
        ) from None


@dataclass
class Aggregate:
    """What the chaos game leaves on a raster; input of :func:`ifskit.shade`.

    Attributes
    ----------
    counts : ndarray, shape (H, W), uint64
        Hits per pixel; row 0 is the top of the picture.
    bounds : tuple of 4 floats
        ``(xmin, xmax, ymin, ymax)`` of the window in the picture plane.
    n_points : int
        Points drawn (including those outside the window).
    depth : ndarray, shape (H, W), float, optional
        3D views: depth buffer, the nearness of the nearest hit in [0, 1] (1 = nearest
        the viewer, 0 where nothing was hit).
    depth_scale : float
        3D views: pixels per unit of ``depth`` (for surface normals from its gradient).
    color : ndarray, shape (H, W, 3), float, optional
        Mean blended map colour of the hits in [0, 1], for ``color by map``.
    """

    counts: np.ndarray
    bounds: tuple
    n_points: int
    depth: np.ndarray | None = None
    color: np.ndarray | None = None
    depth_scale: float = 1.0


def aggregate(
    ifs: IFS,
    size=(1024, 1024),
    n_points: int = 10_000_000,
    seed: int = 0,
    bounds=None,
    *,
    view=None,
    map_colors=None,
    threads: int | None = None,
    progress: bool | None = None,
    client=None,
    device=None,
) -> Aggregate:
    """Bin the chaos game into a raster without keeping points (memory independent of n_points).

    Parameters
    ----------
    ifs : IFS
    size : (H, W)
        Raster size in pixels.
    n_points : int
    seed : int
    bounds : (xmin, xmax, ymin, ymax), optional
        Window in the picture plane; default the attractor's tight bounds with a 5%
        margin, widened to the raster's aspect ratio.
    view : (elev, azim) in degrees, optional
        For a 3D IFS, the camera (as matplotlib's ``view_init``); default (30, -60).
        The result then carries a mean depth per pixel.
    map_colors : ndarray, shape (k, 3), optional
        RGB in [0, 1] per map: the result carries the mean flam3-blended colour.
    threads, progress
        As in :func:`chaos_game`.
    client : dask.distributed.Client, optional
        Spread the chunks over the cluster's workers (:mod:`ifskit.distributed`); the
        result is identical to the single-process one.
    device : str, optional
        ``"cuda"``, ``"cuda:N"`` or ``"torch-cpu"``: the torch chaos game
        (:mod:`ifskit.render.torch_backend`), same statistics, its own random stream.
        Default: the Numba renderer.

    Returns
    -------
    Aggregate
    """
    n_points = check_count(n_points)
    height, width = check_size(size)
    if client is not None and device is not None:
        raise ParameterError(
            "client (a Dask cluster) and device (the torch backend) exclude each other: choose one", "client"
        )
    rotation = projection(ifs, view)
    frame = window(ifs, (height, width), bounds, rotation)
    A, b = kernel_arrays(ifs)
    job = DensityJob(
        A=A, b=b, p=np.array(ifs.p), start=chain_start(ifs), view_matrix=frame.view_matrix(ifs.dim, rotation),
        size=(height, width), n_points=n_points, seed=check_seed(seed),
        colors255=None if map_colors is None else np.asarray(map_colors, dtype=float) * 255.0,
    )  # fmt: skip
    bar = progress_bar(n_points, progress, "chaos game")
    if client is not None:
        totals = _backend("client")(job, client, bar)
    elif device is not None:
        # the torch backend, imported on first use only: torch is optional and slow to import
        try:
            from .torch_backend import bin_on_device
        except ModuleNotFoundError as missing:
            if missing.name != "torch":
                raise
            raise IfskitError("the torch backend (device) needs torch: pip install 'ifskit[torch]'") from None

        totals = bin_on_device(job, device, bar)
    else:
        totals = job.bin_chunks(0, job.n_chunks, default_threads(threads), bar)
    total, depth_total, color_total = totals
    return Aggregate(
        counts=total,
        bounds=frame.bounds,
        n_points=n_points,
        depth=None if depth_total is None else depth_total / 65535.0,
        depth_scale=frame.depth_scale,
        color=None if color_total is None else color_total / np.maximum(total, 1)[..., None] / 255.0,
    )


#: What a density render accumulates: counts (H, W) uint64; for 3D the depth buffer
#: (H, W) uint16 (largest quantized nearness per pixel), else None; with map colours the
#: sum of the quantized blended colours (H, W, 3) uint64, else None.
Totals = tuple


@dataclass(frozen=True)
class DensityJob:
    """One chaos-game density render: its maps, frame and chunks, ready to bin in pieces.

    Small and picklable, so that a Dask worker can bin any range of its chunks
    (:mod:`ifskit.distributed`) and the torch backend can read the same frame.

    Attributes
    ----------
    A : ndarray, shape (k, d, d)
    b : ndarray, shape (k, d)
    p : ndarray, shape (k,)
        Map probabilities.
    start : ndarray, shape (d,)
        Starting point of every chain (:func:`chain_start`).
    view_matrix : ndarray, shape (3, 4)
        Point to (column, row, depth), see :func:`ifskit.render.kernels.chaos_density`.
    size : (H, W)
    n_points : int
    seed : int
    colors255 : ndarray, shape (k, 3), optional
        Map colours in [0, 255] to blend along the chains, or None.
    """

    A: np.ndarray
    b: np.ndarray
    p: np.ndarray
    start: np.ndarray
    view_matrix: np.ndarray
    size: tuple
    n_points: int
    seed: int
    colors255: np.ndarray | None = None

    @property
    def n_chunks(self) -> int:
        """Number of chunks (random streams) of the render."""
        return len(chunk_counts(self.n_points))

    def chunk_points(self, first: int, last: int) -> int:
        """Points drawn by chunks ``first`` to ``last - 1``."""
        return int(chunk_counts(self.n_points)[first:last].sum())

    def empty_totals(self) -> Totals:
        """Zeroed totals of the job's raster (see :data:`Totals`)."""
        height, width = self.size
        return (
            np.zeros((height, width), dtype=np.uint64),
            np.zeros((height, width), dtype=np.uint16) if self.A.shape[1] == 3 else None,
            np.zeros((height, width, 3), dtype=np.uint64) if self.colors255 is not None else None,
        )

    def bin_chunks(self, first: int, last: int, threads: int = 1, bar=None) -> Totals:
        """Run chunks ``first`` to ``last - 1`` and bin their points; the same counts in any split.

        Parameters
        ----------
        first, last : int
            Range of chunk indices, ``0 <= first < last <= n_chunks``.
        threads : int
            Threads sharing the chunks (each bins into its own tiled raster).
        bar : tqdm, optional
            Advanced by the points of each finished piece; closed at the end.

        Returns
        -------
        Totals
        """
        height, width = self.size
        counts = chunk_counts(self.n_points)[first:last]
        seeds = kernels.chunk_seeds(self.seed, last)[first:]
        threshold, alias = alias_table(self.p)
        shade_depth = self.A.shape[1] == 3
        blend = self.colors255 is not None
        colors255 = self.colors255 if blend else np.zeros((len(self.p), 3))
        total, depth_total, color_total = totals = self.empty_totals()
        depth_into = depth_total if shade_depth else np.zeros((0, 0), dtype=np.uint16)
        color_into = color_total if blend else np.zeros((0, 0, 3), dtype=np.uint64)
        n_cells = ((height + 7) // 8) * ((width + 7) // 8) * 64
        per_task = int(np.clip(np.ceil(len(counts) / (4 * threads)), 1, _MAX_TASK_CHUNKS))
        tasks = [slice(s, s + per_task) for s in range(0, len(counts), per_task)]
        lock = threading.Lock()

        def work(task, state):
            if task is None:  # this thread's own rasters
                return (
                    np.zeros(n_cells, dtype=np.uint8),
                    np.zeros(n_cells, dtype=np.uint32),
                    np.zeros(n_cells if shade_depth else 0, dtype=np.uint16),
                    np.zeros((n_cells if blend else 0, 3), dtype=np.uint64),
                )
            tiles, carry, depth_max, color_sum = state
            s = tasks[task]
            wraps = kernels.chaos_density(
                self.A, self.b, threshold, alias, self.start, seeds[s], counts[s], BURN_IN, self.view_matrix,
                height, width, tiles, carry, depth_max, colors255, color_sum,
            )  # fmt: skip
            with lock:
                kernels.untile(tiles, carry, wraps > 0, depth_max, color_sum, total, depth_into, color_into)
            return int(counts[s].sum())

        run_tasks(len(tasks), threads, work, bar)
        return totals


def add_totals(into: Totals, more: Totals) -> Totals:
    """Add the totals ``more`` of some chunks into ``into`` (in place) and return it.

    Counts and colour sums add, depth buffers keep the maximum: integer operations
    that give the same result in any order, so any split of the chunks gives the
    same totals.
    """
    np.add(into[0], more[0], out=into[0])
    if into[1] is not None:
        np.maximum(into[1], more[1], out=into[1])
    if into[2] is not None:
        np.add(into[2], more[2], out=into[2])
    return into


def aggregate_points(ifs: IFS, points: np.ndarray, size=(1024, 1024), bounds=None, *, view=None) -> Aggregate:
    """Bin given points of an IFS's attractor (e.g. a deterministic point set) like :func:`aggregate`.

    Parameters
    ----------
    ifs : IFS
        Frames the picture as :func:`aggregate` does.
    points : ndarray, shape (n, d)
    size, bounds, view
        As in :func:`aggregate`.

    Returns
    -------
    Aggregate
        Counts, and for 3D the depth buffer; no colour.
    """
    height, width = check_size(size)
    rotation = projection(ifs, view)
    frame = window(ifs, (height, width), bounds, rotation)
    view_matrix = frame.view_matrix(ifs.dim, rotation)
    pixel = np.asarray(points, dtype=float) @ view_matrix[:, : ifs.dim].T + view_matrix[:, 3]
    inside = (pixel[:, 0] >= 0) & (pixel[:, 0] < width) & (pixel[:, 1] >= 0) & (pixel[:, 1] < height)
    cell = pixel[inside, 1].astype(np.int64) * width + pixel[inside, 0].astype(np.int64)
    counts = np.bincount(cell, minlength=height * width).astype(np.uint64).reshape(height, width)
    depth = None
    if ifs.dim == 3:
        nearest = np.zeros(height * width)
        np.maximum.at(nearest, cell, np.clip(pixel[inside, 2], 0.0, 1.0))
        depth = np.where(counts.ravel() > 0, nearest, 0.0).reshape(height, width)
    return Aggregate(counts, frame.bounds, len(points), depth=depth, depth_scale=frame.depth_scale)


def density(
    ifs: IFS,
    size=(1024, 1024),
    n_points: int = 10_000_000,
    seed: int = 0,
    bounds=None,
    *,
    view=None,
    threads: int | None = None,
    progress: bool | None = None,
    client=None,
    device=None,
) -> np.ndarray:
    """Chaos-game hit counts on a raster, without keeping the points.

    Memory is independent of ``n_points`` and counts cannot overflow (uint64).

    Parameters
    ----------
    ifs : IFS
    size : (H, W)
    n_points : int
    seed : int
    bounds : (xmin, xmax, ymin, ymax), optional
        Default: the attractor's tight bounds with a small margin, aspect kept.
    view : (elev, azim), optional
        Camera for a 3D IFS (the density is then of the projection).
    threads, progress
        As in :func:`chaos_game`.
    client, device
        As in :func:`aggregate`: a Dask cluster (same counts), or the torch backend.

    Returns
    -------
    ndarray, shape (H, W), uint64
        Row 0 is the top of the picture (largest y).
    """
    return aggregate(
        ifs, size, n_points, seed, bounds, view=view, threads=threads, progress=progress, client=client, device=device
    ).counts
