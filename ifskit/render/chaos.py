"""The chaos game's points, and what the renderers share: chain starts, tasks on threads.

:func:`chaos_game` splits its points into chunks of ``CHUNK`` points (a number that
depends on ``n_points`` only); each chunk runs two chains with their own random stream
derived from ``(seed, chunk index)`` and writes its own rows, so the same seed gives
the same points whatever the thread count. Densities (:mod:`ifskit.render.aggregate`)
run their own chains, in pixel coordinates, on the same pool of threads.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._parallel import default_threads
from ..errors import FormatError, ParameterError
from ..ifs import IFS
from ..limits import check_seed
from . import kernels

#: Points per chunk of :func:`chaos_game` (one random stream and one burn-in each).
CHUNK = 1 << 20
#: Points discarded at the start of each chain of :func:`chaos_game` (and steps of each
#: chain of the torch backend).
BURN_IN = 128
# Renders this large show a progress bar by default (when stderr is a terminal).
_PROGRESS_FROM = 200_000_000


def alias_table(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias table for choosing map ``i`` with probability ``p[i]``.

    Parameters
    ----------
    p : ndarray, shape (k,)
        Probabilities summing to 1.

    Returns
    -------
    threshold : ndarray, shape (k,), uint64
        Slot ``j`` keeps map ``j`` when a uniform 32-bit fraction is below ``threshold[j]``.
    alias : ndarray, shape (k,), uint64
        Otherwise it gives ``alias[j]``.
    """
    k = len(p)
    scaled = np.asarray(p, dtype=float) * k
    threshold = np.ones(k)
    alias = np.arange(k)
    small = [i for i in range(k) if scaled[i] < 1.0]
    large = [i for i in range(k) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        threshold[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    # whatever is left is 1 up to rounding
    return np.minimum(np.round(threshold * 2.0**32), 2.0**32).astype(np.uint64), alias.astype(np.uint64)


def chain_start(ifs: IFS) -> np.ndarray:
    """Where every chain starts: the fixed point of the most likely map, shape (d,).

    For a contractive IFS that point is on the attractor already; the burn-in then
    only decorrelates the chain from it.
    """
    try:  # all maps in one call (IFS.fixed_points solves them one by one: slow for a small render)
        fixed = np.linalg.solve(np.eye(ifs.dim) - ifs.A, ifs.b[..., None])[..., 0]
    except np.linalg.LinAlgError:  # a map without a fixed point
        fixed = ifs.fixed_points
    for i in np.argsort(-ifs.p, kind="stable"):
        if np.all(np.isfinite(fixed[i])) and ifs.contraction_factors[i] < 1:
            return np.array(fixed[i])
    return np.zeros(ifs.dim)


def chunk_counts(n_points: int) -> np.ndarray:
    """Points in each chunk, shape (c,) int64: full chunks then the remainder."""
    full, rest = divmod(n_points, CHUNK)
    counts = np.full(full + (rest > 0), CHUNK, dtype=np.int64)
    if rest:
        counts[-1] = rest
    return counts


def check_count(n_points) -> int:
    if int(n_points) != n_points or n_points < 1:
        raise ParameterError(f"n_points must be a positive integer, got {n_points}", "n_points")
    return int(n_points)


def _check_memory(n_bytes: int) -> None:
    """Refuse an output array larger than most of this machine's memory, with a clear error."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if n_bytes > 0.8 * physical:
        raise FormatError(
            f"keeping these points needs {n_bytes / 2**30:.1f} GiB, more than this machine's memory "
            f"({physical / 2**30:.1f} GiB): ask for fewer points, or render a density (no memory per point)"
        )


def progress_bar(n_points: int, progress: bool | None, desc: str):
    """A tqdm bar, or None. ``progress=None`` shows one for long renders on a terminal."""
    if progress is None:
        progress = n_points >= _PROGRESS_FROM and sys.stderr.isatty()
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=n_points, desc=desc, unit="pt", unit_scale=True, leave=False)


# Worker threads kept between renders (starting threads costs more than a small render):
# one pool, replaced by a larger one when more threads are asked for. Daemon threads of
# concurrent.futures, ended with the interpreter.
_POOL: list = [None, 0]  # the pool and its size
_POOL_LOCK = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    with _POOL_LOCK:
        pool, size = _POOL
        if pool is None or size < threads:
            _POOL[:] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ifskit-render"), threads
            if pool is not None:
                pool.shutdown(wait=False)  # its running tasks finish
        return _POOL[0]


def run_tasks(n_tasks: int, threads: int, work, bar, finish=None) -> None:
    """Call ``work(task_index, thread_state)`` for every task on ``threads`` threads.

    Each thread first calls ``work(None, None)`` to make its own state, and at the
    end ``finish(state)`` when given (also after an error, so that nothing is left
    half done).
    """
    lock = threading.Lock()
    next_task = iter(range(n_tasks))

    def worker():
        state = work(None, None)
        try:
            while True:
                with lock:
                    task = next(next_task, None)
                if task is None:
                    return
                done = work(task, state)
                if bar is not None:
                    bar.update(done)
        finally:
            if finish is not None:
                finish(state)

    try:
        n_workers = min(threads, n_tasks)
        if n_workers <= 1:
            worker()
        else:
            for future in [_pool(n_workers).submit(worker) for _ in range(n_workers)]:
                future.result()
    finally:
        if bar is not None:
            bar.close()


def chaos_game(
    ifs: IFS,
    n_points: int,
    seed: int = 0,
    *,
    threads: int | None = None,
    progress: bool | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Points of the attractor drawn by the chaos game (random iteration).

    Parameters
    ----------
    ifs : IFS
    n_points : int
        Number of points returned (a burn-in per chain is discarded on top).
    seed : int
        Same seed, same points, whatever ``threads``.
    threads : int, optional
        Worker threads; default all cores.
    progress : bool, optional
        Show a progress bar; default only for long runs on a terminal.
    out : ndarray, shape (n_points, d), float64, C-contiguous, optional
        Written with the points and returned: a caller drawing many clouds reuses one array
        (a new one of megabytes is new memory pages for the kernel to map and zero).

    Returns
    -------
    ndarray, shape (n_points, d)
        Distributed as the IFS's invariant measure; ``out`` when given.
    """
    n_points = check_count(n_points)
    if out is None:
        _check_memory(n_points * ifs.dim * 8)
        out = np.empty((n_points, ifs.dim))
    elif (
        out.shape != (n_points, ifs.dim)
        or out.dtype != np.float64
        or not (out.flags.c_contiguous and out.flags.writeable)
    ):
        raise ParameterError(
            f"out must be a writable C-contiguous float64 array of shape ({n_points}, {ifs.dim}), "
            f"got {out.dtype} {out.shape}",
            "out",
        )
    counts = chunk_counts(n_points)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    seeds = kernels.chunk_seeds(check_seed(seed), len(counts))
    threshold, alias = alias_table(ifs.p)
    start = chain_start(ifs)
    A, b = kernel_arrays(ifs)

    def work(task, _state):
        if task is None:
            return None
        s = slice(task, task + 1)
        kernels.chaos_points(A, b, threshold, alias, start, seeds[s], counts[s], offsets[s], BURN_IN, out)
        return int(counts[task])

    run_tasks(len(counts), default_threads(threads), work, progress_bar(n_points, progress, "chaos game"))
    return out


def kernel_arrays(ifs: IFS) -> tuple[np.ndarray, np.ndarray]:
    """Writable copies of ``A`` and ``b`` for the kernels.

    Numba compiles read-only arrays (the IFS keeps its arrays read-only) into code
    an order of magnitude slower in the chaos-game loop, so the kernels get copies.
    """
    return np.array(ifs.A, order="C"), np.array(ifs.b, order="C")
