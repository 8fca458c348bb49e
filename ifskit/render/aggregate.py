"""Densities: the chaos game binned on a raster (no points kept), what :func:`ifskit.shade` shades.

A render is cut into chunks (:func:`points_per_chunk`, a function of the point count
only), each with its own random stream derived from ``(seed, chunk index)`` and its own
chains (:func:`ifskit.render.kernels.chaos_density`), binned into integer counts; the
sum of integer counts does not depend on the order, so the same seed gives the same
raster whatever the thread count, and whatever runs the chunks: this process's
threads, a backend registered with :func:`register_backend` (the Dask cluster of
:mod:`ifskit.distributed`), or the torch chaos game (:mod:`~ifskit.render.torch_backend`).
:func:`densities` renders many IFS in one call.
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
from .chaos import chain_start, check_count, kernel_arrays, progress_bar, run_tasks
from .frame import Frame, check_size, projection, window

#: Precisions of the density kernels' arithmetic (``precision=`` of :func:`density`).
PRECISIONS = ("float32", "float64")
# float32 is used while the attractor's largest pixel coordinate, over (1 - s), stays
# under this: a chain's rounding errors (2^-24 of a coordinate per step, summed over
# steps that shrink them by s) then stay under 2^-8 of a pixel. Deep zooms (the window
# small against the attractor) and maps that barely contract get float64.
_FLOAT32_REACH = 2.0**16
# Points a thread bins into its own 8-bit tiles before adding them to the shared uint64
# counts: under 2^32 * 256 hits per pixel, so the uint32 carries cannot overflow.
_MAX_THREAD_POINTS = 1 << 39
# Chunks per task at most: a task is about a second of work, so that the progress bar moves.
_MAX_TASK_CHUNKS = 2048
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
    precision: str = "float32",
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
    precision : {"float32", "float64"}
        Arithmetic of the chains. float32 (the default) is faster and keeps the
        measure (rounding stays under 1/256 of a pixel); it switches to float64 by
        itself where it would not: a window small against the attractor (a deep
        zoom), maps that barely contract. float64 always uses float64.
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
    job, frame = _job(ifs, (height, width), n_points, seed, bounds, view, precision, map_colors)
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


def _job(ifs: IFS, size, n_points, seed, bounds, view, precision, map_colors=None) -> tuple:
    """The DensityJob of a render and its Frame."""
    if precision not in PRECISIONS:
        raise ParameterError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}", "precision")
    rotation = projection(ifs, view)
    frame = window(ifs, size, bounds, rotation)
    A, b = kernel_arrays(ifs)
    job = DensityJob(
        A=A, b=b, p=np.array(ifs.p), start=chain_start(ifs) if frame.start is None else frame.start,
        view_matrix=frame.view_matrix(ifs.dim, rotation),
        size=size, n_points=n_points, seed=check_seed(seed),
        colors255=None if map_colors is None else np.asarray(map_colors, dtype=float) * 255.0,
        precision=_safe_precision(precision, frame), burn_in=burn_in_steps(frame.contraction, size),
    )  # fmt: skip
    return job, frame


def _safe_precision(precision: str, frame: Frame) -> str:
    """``precision``, or float64 where float32 would not keep the pixels (see :data:`_FLOAT32_REACH`)."""
    if precision == "float32" and frame.contraction < 1.0 and frame.reach / (1.0 - frame.contraction) <= _FLOAT32_REACH:
        return "float32"
    return "float64"


def burn_in_steps(s: float, size) -> int:
    """Steps each chain of a density render discards first (a multiple of the kernel's block of steps).

    Chains start at a point of the attractor (:func:`chain_start`); after ``t`` steps
    a chain's law is within ``s^t`` times the attractor's extent of the invariant
    measure, so ``t`` makes that under an eighth of a pixel. Between 8 and 128 steps
    (128 for maps that do not all contract).

    Parameters
    ----------
    s : float
        The IFS's largest contraction factor.
    size : (H, W)
    """
    block = kernels._BLOCK_STEPS
    steps = np.log(8.0 * max(size)) / -np.log(s) if 0.0 < s < 1.0 else (1.0 if s == 0.0 else np.inf)
    return int(block * np.clip(np.ceil(steps / block), 1, 128 // block))


def points_per_chunk(n_points: int) -> int:
    """Points in each chunk (one random stream, ``LANES`` chains) of a density render of ``n_points``.

    2^18, or a quarter of a small render (at least 2^14 points), so that small
    renders are still shared between threads. Depends on ``n_points`` only.
    """
    return int(min(1 << 18, max(1 << 14, -(-n_points // 4))))


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
        Point to (column, row, depth): ``view_matrix[:, :d] @ x + view_matrix[:, 3]``.
        Columns and rows are pixel coordinates; depth is in [0, 1] for 3D views.
    size : (H, W)
    n_points : int
    seed : int
    colors255 : ndarray, shape (k, 3), optional
        Map colours in [0, 255] to blend along the chains, or None.
    precision : {"float32", "float64"}
        Arithmetic of the chains (already checked to be safe for this frame).
    burn_in : int
        Steps each chain discards first (:func:`burn_in_steps`).
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
    precision: str = "float64"
    burn_in: int = 128

    @property
    def chunk(self) -> int:
        """Points per chunk (:func:`points_per_chunk`)."""
        return points_per_chunk(self.n_points)

    @property
    def n_chunks(self) -> int:
        """Number of chunks (random streams) of the render."""
        return -(-self.n_points // self.chunk)

    def chunk_points(self, first: int, last: int) -> int:
        """Points drawn by chunks ``first`` to ``last - 1``."""
        return max(0, min(last * self.chunk, self.n_points) - first * self.chunk)

    def empty_totals(self) -> Totals:
        """Zeroed totals of the job's raster (see :data:`Totals`)."""
        height, width = self.size
        return (
            np.zeros((height, width), dtype=np.uint64),
            np.zeros((height, width), dtype=np.uint16) if self.A.shape[1] == 3 else None,
            np.zeros((height, width, 3), dtype=np.uint64) if self.colors255 is not None else None,
        )

    def pixel_maps(self) -> tuple:
        """The kernel's view of the job: maps, thresholds, start and limits in pixel coordinates.

        Returns
        -------
        maps : (m, d, d + 1), lower : (m,) uint32, start : (d,), limits : (6,)
            As :func:`ifskit.render.kernels.chaos_density` takes them, in the job's precision;
            the ``m`` maps of nonzero probability only (the others are never chosen).
        """
        dtype = np.dtype(self.precision)
        dim = self.A.shape[1]
        linear, shift = self.view_matrix[:dim, :dim], self.view_matrix[:dim, 3]
        # conjugate each map by the view x -> V x + t: A' = V A V^-1, b' = V b + t - A' t
        inverse = np.linalg.inv(linear)
        A = linear @ self.A @ inverse
        b = self.b @ linear.T + shift - A @ shift
        used = self.p > 0
        maps = np.concatenate([A, b[:, :, None]], axis=2)[used].astype(dtype)
        cumulative = np.concatenate([[0.0], np.cumsum(self.p[used])[:-1]])
        lower = np.minimum(np.round(cumulative * 2.0**32), 2.0**32 - 1).astype(np.uint32)
        start = (linear @ self.start + shift).astype(dtype)
        height, width = self.size
        limits = np.array([width, height, kernels._PIXEL_ESCAPE, 0.0, np.nan, 1.0], dtype=dtype)
        return maps, lower, start, limits

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
        maps, lower, start, limits = self.pixel_maps()
        shade_depth = self.A.shape[1] == 3
        blend = self.colors255 is not None
        colors255 = self.colors255[self.p > 0] if blend else np.zeros((len(lower), 3))
        total, depth_total, color_total = totals = self.empty_totals()
        depth_into = depth_total if shade_depth else np.zeros((0, 0), dtype=np.uint16)
        color_into = color_total if blend else np.zeros((0, 0, 3), dtype=np.uint64)
        n_cells = ((height + 7) // 8) * ((width + 7) // 8) * 64 + 1  # and one for the points off the raster
        n_chunks = last - first
        per_task = int(np.clip(-(-n_chunks // (4 * threads)), 1, _MAX_TASK_CHUNKS))
        lock = threading.Lock()

        def flush(state):
            tiles, carry, depth_max, color_sum, binned = state
            if binned[0] > 0:
                with lock:
                    kernels.untile(tiles, carry, binned[1] > 0, depth_max, color_sum, total, depth_into, color_into)
                binned[:] = 0

        def work(task, state):
            if task is None:  # this thread's own rasters, and its points and wraps since the last flush
                return (
                    np.zeros(n_cells, dtype=np.uint8),
                    np.zeros(n_cells, dtype=np.uint32),
                    np.zeros(n_cells if shade_depth else 0, dtype=np.uint16),
                    np.zeros((n_cells if blend else 0, 3), dtype=np.uint64),
                    np.zeros(2, dtype=np.int64),
                )
            tiles, carry, depth_max, color_sum, binned = state
            a = first + task * per_task
            b = min(a + per_task, last)
            points = self.chunk_points(a, b)
            if binned[0] + points > _MAX_THREAD_POINTS:
                flush(state)
            binned[1] += kernels.chaos_density(
                maps, lower, start, limits, self.burn_in, self.seed, a, b, self.n_points, self.chunk, width,
                tiles, carry, depth_max, colors255, color_sum,
            )  # fmt: skip
            binned[0] += points
            return points

        run_tasks(-(-n_chunks // per_task), threads, work, bar, finish=flush)
        return totals


def densities(
    ifs_list,
    size=(256, 256),
    n_points: int = 200_000,
    seed=0,
    *,
    bounds=None,
    precision: str = "float32",
    threads: int | None = None,
    progress: bool | None = None,
) -> np.ndarray:
    """Densities of many 2D IFS at once: one kernel call per thread renders a share of them.

    For datasets and training: the per-render costs of :func:`density` (framing,
    starting threads) are paid once, and each IFS is rendered whole by one thread.
    ``densities(list)[i]`` equals ``density(list[i], ...)`` with the same arguments.

    Parameters
    ----------
    ifs_list : sequence of IFS
        2D IFS.
    size : (H, W)
    n_points : int
        Points per IFS.
    seed : int or sequence of int
        One seed for all, or one per IFS.
    bounds : (xmin, xmax, ymin, ymax), optional
        One window for all; default each attractor's own frame.
    precision : {"float32", "float64"}
        As in :func:`aggregate`.
    threads, progress
        As in :func:`chaos_game`.

    Returns
    -------
    ndarray, shape (n, H, W), uint64
    """
    n_points = check_count(n_points)
    height, width = check_size(size)
    ifs_list = list(ifs_list)
    seeds = [seed] * len(ifs_list) if np.isscalar(seed) else list(seed)
    if len(seeds) != len(ifs_list):
        raise ParameterError(f"seed: {len(seeds)} seeds for {len(ifs_list)} IFS", "seed")
    if any(ifs.dim != 2 for ifs in ifs_list):
        raise ParameterError("densities renders 2D IFS; render a 3D IFS with aggregate(view=...)", "ifs_list")
    out = np.empty((len(ifs_list), height, width), dtype=np.uint64)
    if not ifs_list:
        return out
    jobs = [_job(ifs, (height, width), n_points, s, bounds, None, precision)[0] for ifs, s in zip(ifs_list, seeds)]
    for wanted in PRECISIONS:  # the kernel takes maps of one type: one batch per type
        group = [i for i, job in enumerate(jobs) if job.precision == wanted]
        if group:
            bar = progress_bar(n_points * len(group), progress, "chaos game")
            _render_batch([jobs[i] for i in group], out, np.array(group), default_threads(threads, len(group)), bar)
    return out


def _render_batch(jobs: list, out: np.ndarray, slots: np.ndarray, threads: int, bar) -> None:
    """Render density jobs of one precision, size and point count: job ``j`` into ``out[slots[j]]``; closes ``bar``."""
    height, width = jobs[0].size
    n_points, chunk = jobs[0].n_points, jobs[0].chunk
    parts = [job.pixel_maps() for job in jobs]
    maps = np.concatenate([part[0] for part in parts])
    lower = np.concatenate([part[1] for part in parts])
    offsets = np.concatenate([[0], np.cumsum([len(part[1]) for part in parts])]).astype(np.int64)
    starts = np.stack([part[2] for part in parts])
    limits = parts[0][3]
    burn_ins = np.array([job.burn_in for job in jobs], dtype=np.int64)
    seeds = np.array([job.seed for job in jobs], dtype=np.uint64)
    n_cells = ((height + 7) // 8) * ((width + 7) // 8) * 64 + 1
    per_task = max(1, -(-len(jobs) // (8 * threads)))

    def work(task, state):
        if task is None:  # this thread's tiled rasters, zeroed again after each IFS
            return np.zeros(n_cells, dtype=np.uint8), np.zeros(n_cells, dtype=np.uint32)
        renders = np.arange(task * per_task, min(task * per_task + per_task, len(jobs)), dtype=np.int64)
        kernels.chaos_density_batch(
            maps, offsets, lower, starts, limits, burn_ins, seeds, n_points, chunk, width, renders, slots, *state, out
        )
        return len(renders) * n_points

    run_tasks(-(-len(jobs) // per_task), threads, work, bar)


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
    precision: str = "float32",
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
    precision : {"float32", "float64"}
        As in :func:`aggregate` (float32 falls back to float64 where it would not keep the pixels).
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
        ifs, size, n_points, seed, bounds, view=view, precision=precision, threads=threads, progress=progress,
        client=client, device=device,
    ).counts  # fmt: skip
