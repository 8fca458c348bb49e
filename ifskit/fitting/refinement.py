"""Steps on maps you have: :func:`refine` (the fitter's optimization alone), :func:`grow` (more maps), :func:`kmeans_starts`.

What :func:`ifskit.encode` runs after its encoder, and the k-means starts it shares with
:func:`~ifskit.fitting.fit`. The clouds are moved into the unit ball as the fitter moves them
(:func:`~ifskit.fitting.frame.unit_ball`), and the answers mapped back.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import ParameterError
from ..ifs import IFS
from ..ops.contractive import entries_from_maps, maps_from_params
from ..ops.device import one_torch_thread, resolve_device
from .checks import (
    check_contraction,
    check_integer,
    check_max_maps,
    check_n_maps,
    check_positive,
    check_step_points,
    subsample,
)
from .choice import AUTO_PENALTY, count_figure, quality_score
from .cover import cell_cover, cover_shares, extend_cover, greedy_order
from .frame import unit_ball
from .occupancy import target_occupancy
from .optimize import REFINE_BETAS, STEP_POINTS, OptimizerSettings, optimize_maps
from .polish import PREFIXES, polish_copies
from .starts import snap_to_parts, starting_params
from .verify import coverage_probabilities

# Most clouds refined together in one batch (memory grows with it; the saving is made by ~10).
_REFINE_BATCH = 64


def kmeans_starts(points, n_maps: int, restarts: int = 2, seed: int = 0, max_contraction: float = 0.9) -> list:
    """The starts of :func:`~ifskit.fitting.fit`'s k-means fits: ``n_maps`` maps sending the cloud onto its parts, for :func:`refine`.

    Each start cuts the cloud into k-means parts (a fresh seed per start) and keeps the
    ``n_maps`` maps onto parts (or onto the cloud without a part) whose collage is nearest
    the cloud (:func:`~ifskit.fitting.starts.starting_params`): the starts from which a fit
    finds an attractor of a few maps, such as a curve's two. Drawn as :func:`~ifskit.fitting.fit` draws its
    first ``restarts`` starts for ``n_maps`` maps and ``seed`` (the same where the cloud has no
    repeated points, which :func:`~ifskit.fitting.fit` drops).

    Parameters
    ----------
    points : ndarray, shape (n, d)
        The cloud, already checked (finite, not all identical); subsampled above 20,000 points.
    n_maps : int
    restarts : int
        Starts.
    seed : int
    max_contraction : float

    Returns
    -------
    list of IFS
        ``restarts`` IFS of ``n_maps`` maps each, in the cloud's coordinates.

    Raises
    ------
    ParameterError
        A bad ``n_maps`` (more maps than points), ``restarts``, ``seed`` or ``max_contraction``.
    """
    check_integer(restarts, "restarts", minimum=1)
    check_integer(seed, "seed")
    check_contraction(max_contraction)
    cloud = subsample(np.asarray(points, dtype=float), seed)
    check_n_maps(n_maps, len(cloud))
    dim = cloud.shape[1]
    centre, scale, unit = unit_ball(cloud)
    rng = np.random.default_rng([seed, n_maps])  # as fit's k-means fit of n_maps maps
    starts = []
    for params in starting_params(unit, n_maps, None, restarts, rng, max_contraction):
        A, b = maps_from_params(params, dim, max_contraction)
        start = IFS(A.double().numpy(), b.double().numpy())
        starts.append(start.conjugate(scale * np.eye(dim), centre))
    return starts


def refine(
    points,
    ifs,
    steps: int,
    *,
    seed: int = 0,
    lr: float = 0.03,
    max_contraction: float = 0.9,
    device=None,
    attractor_weight: float = 0.0,
    snap_rounds: int = 0,
    step_points: tuple[int, int] = STEP_POINTS,
):
    """Improve maps you have with ``steps`` of the fitter's optimization, and nothing else.

    The fitter's normalization, loss (Chamfer), Adam with its cosine schedule, and
    probabilities, without its input report and verification figures (a 200,000-point
    chaos game and exact Hausdorff distances), which cost more than a few dozen steps:
    this is what :func:`ifskit.encode` runs after the encoder. Unlike
    ``fit(points, init=ifs)``, the steps move the maps' matrix entries (projected back
    onto the contraction bound after each step) with Adam moments of shorter memory
    (:data:`~ifskit.fitting.optimize.REFINE_BETAS`), not the fitter's angles and singular values, whose coupling
    slows the last part of the way down: from the encoder's maps, 20 such steps reach
    the quality of 30 of the fitter's parametrization (see :mod:`ifskit.ops.contractive`).
    Optionally the maps are first snapped to the parts of the cloud they cover.

    Many clouds at once: clouds with the same number of points and maps are optimized
    together, as one batch of independent problems (each draws its own random subsets,
    so each gets the answer it would get alone), which shares the fixed cost of a step.

    Parameters
    ----------
    points : ndarray, shape (n, d), or a list of such arrays
        Clouds already checked (finite, not all identical); subsampled above 20,000 points.
    ifs : IFS, or a list with one IFS or one list of IFS per cloud
        Starting maps, in the cloud's coordinates, d-dimensional. A list of candidate
        starts for a cloud (the same number of maps each): all are snapped and take the
        first fifth of the steps, then the one whose attractor is nearest the cloud goes
        on, as :func:`~ifskit.fitting.fit` picks among its restarts (with no steps: at once).
    steps : int
    seed : int
    lr : float
        Initial Adam learning rate.
    max_contraction : float
    device : str or torch.device, optional
    attractor_weight : float
        Weight of the attractor term added to the collage loss: the Chamfer distance
        between the cloud and short chaos-game chains started from it
        (:func:`ifskit.ops.losses.attractor_chamfer`). 0 (default) is the fitter's loss;
        from maps already near the answer (the encoder's) the term steers the steps
        towards a closer attractor rather than only a closer collage.
    snap_rounds : int
        Rounds of snapping before the steps: every map is re-derived from the part of
        the cloud it covers (the points whose nearest collage point is its image), by
        the frame matching of the fitter's starting maps, where that part is covered
        better. 0 (default): the maps are the starting point as given.
    step_points : (int, int)
        Cloud points whose images make each step's collage (and start its chains), and
        cloud points checked for coverage; a fresh random subset every step. Default
        the fitter's (1024, 2048); fewer make cheaper, noisier steps.

    Returns
    -------
    IFS, or list of IFS
        As many maps as each starting IFS, in its cloud's coordinates; a list for a list.

    Raises
    ------
    ParameterError
        Negative ``steps``, ``max_contraction`` outside (0, 1), a bad ``seed``, ``lr``,
        ``attractor_weight``, ``snap_rounds`` or ``step_points``, an unknown ``device``
        name; lists of clouds and of IFS of different lengths, candidate starts with
        different numbers of maps (``ifs``).
    IfskitError
        ``device="cuda"`` where CUDA is not available.
    """
    single = not isinstance(points, (list, tuple)) and np.ndim(points) == 2
    clouds = [points] if single else list(points)
    systems = [ifs] if single else list(ifs)
    if len(clouds) != len(systems):
        raise ParameterError(f"{len(clouds)} clouds but {len(systems)} starting IFS in ifs", "ifs")
    candidates = [[system] if isinstance(system, IFS) else list(system) for system in systems]
    for i, starts in enumerate(candidates):
        if not starts or len({start.n_maps for start in starts}) > 1:
            raise ParameterError(
                f"the candidate starts of cloud {i} in ifs must be one or more IFS with the same number of maps", "ifs"
            )
    check_integer(steps, "steps")
    check_contraction(max_contraction)
    check_integer(seed, "seed")
    check_positive(lr, "lr")
    check_positive(attractor_weight, "attractor_weight", zero=True)
    check_integer(snap_rounds, "snap_rounds")
    check_step_points(step_points)
    settings = OptimizerSettings(
        steps=steps,
        lr=lr,
        max_contraction=max_contraction,
        device=resolve_device(device, "fit"),
        parametrization="entries",
        betas=REFINE_BETAS,
        attractor_weight=attractor_weight,
        step_points=step_points,
        progress=False,
    )
    with one_torch_thread():
        problems = [
            _refine_problem(cloud, starts, seed, max_contraction, snap_rounds)
            for cloud, starts in zip(clouds, candidates)
        ]
        batches = {}
        for i, problem in enumerate(problems):
            batches.setdefault((len(problem.unit), problem.starts[0].n_maps), []).append(i)
        refined = [None] * len(problems)
        for (_, k), indices in batches.items():
            for chunk in _chunks(indices, [len(problems[i].starts) for i in indices], _REFINE_BATCH):
                part = [problems[i] for i in chunk]
                rows = [(g, start) for g, problem in enumerate(part) for start in problem.starts]
                A, b, _ = optimize_maps(
                    np.stack([part[g].unit for g, _ in rows]),
                    [entries_from_maps(start.A, start.b, max_contraction) for _, start in rows],
                    settings,
                    np.random.default_rng([seed, k]),
                    seed,
                    groups=[g for g, _ in rows],
                )
                for i, problem, A_i, b_i in zip(chunk, part, A, b):
                    unit_ifs = IFS(A_i, b_i, coverage_probabilities(problem.unit, A_i, b_i))
                    refined[i] = unit_ifs.conjugate(problem.scale * np.eye(A_i.shape[-1]), problem.centre)
    return refined[0] if single else refined


def _chunks(indices, sizes, limit):
    """Consecutive runs of ``indices`` whose ``sizes`` add up to at most ``limit`` (or a single index)."""
    chunk, total = [], 0
    for index, size in zip(indices, sizes):
        if chunk and total + size > limit:
            yield chunk
            chunk, total = [], 0
        chunk.append(index)
        total += size
    if chunk:
        yield chunk


class _RefineProblem(NamedTuple):
    """One cloud of :func:`refine`: ``cloud = scale * unit + centre``, and its candidate starting maps in the unit ball."""

    centre: np.ndarray
    scale: float
    unit: np.ndarray
    starts: list


def _refine_problem(points, candidates, seed, max_contraction, snap_rounds) -> _RefineProblem:
    """The cloud (:func:`~ifskit.fitting.checks.subsample`) in the unit ball, and each candidate there, snapped if asked."""
    cloud = subsample(np.asarray(points, dtype=float), seed)
    centre, scale, unit = unit_ball(cloud)
    starts = []
    for ifs in candidates:
        start = ifs.conjugate(np.eye(cloud.shape[1]) / scale, -centre / scale)
        if snap_rounds:
            rng = np.random.default_rng([seed, ifs.n_maps])
            start = IFS(*snap_to_parts(unit, start.A, start.b, max_contraction, rng, snap_rounds))
        starts.append(start)
    return _RefineProblem(centre, scale, unit, starts)


def grow(
    points,
    ifs: IFS,
    steps: int,
    *,
    max_maps: int = 16,
    seed: int = 0,
    lr: float = 0.03,
    max_contraction: float = 0.9,
    device=None,
    step_points: tuple[int, int] = STEP_POINTS,
    penalty: float = AUTO_PENALTY,
) -> IFS:
    """Change the number of maps: maps you have grown into a cover of the cloud, polished, the count chosen.

    The maps are taken as the first copies of the greedy cover (:func:`~ifskit.fitting.cover.extend_cover`):
    copies of the shape are added on the cells of the cloud's occupancy they miss, up to
    ``max_maps``, and the swap search may replace a map that spills or that the others make
    redundant. The grown maps then take ``steps`` of the polish of the fitter's coverage maps
    (matrix entries, Adam, with the occupancy term for 2D clouds). Last, the number of maps is
    chosen as :func:`~ifskit.fitting.fit` chooses it: the given maps, the polished maps in greedy order (each
    covering most of what the earlier ones miss) and their prefixes of :data:`~ifskit.fitting.polish.PREFIXES` maps
    (and, in 2D, the unpolished ones) are judged by :func:`~ifskit.fitting.choice.quality_score`
    of their attractors (:func:`~ifskit.fitting.choice.count_figure`: in 2D how they fill the
    shape at twice the cloud's grid, in 3D their IoU at the cloud's resolution), ``penalty`` per
    map. This is the map-count change of :func:`ifskit.encode`'s refinement: an encoder's few
    maps, grown and polished, cover a filled shape as the fitter's own cover does, in a
    fraction of its time.

    Parameters
    ----------
    points : ndarray, shape (n, d)
        The cloud, already checked (finite, not all identical); subsampled above 20,000 points.
    ifs : IFS
        The maps to grow, in the cloud's coordinates, d-dimensional.
    steps : int
        Polish steps after the growth.
    max_maps : int
        Most maps of the answer, 1 to 64 (default 16, as :func:`~ifskit.fitting.fit`; at least ``ifs.n_maps``).
    seed : int
    lr : float
        Initial Adam learning rate of the polish.
    max_contraction : float
    device : str or torch.device, optional
    step_points : (int, int)
        Cloud points per step, as for :func:`refine`.
    penalty : float
        Penalty per map of the count's choice (:func:`~ifskit.fitting.fit`'s ``auto_penalty``).

    Returns
    -------
    IFS
        From ``ifs.n_maps`` to ``max_maps`` maps, in the cloud's coordinates; ``ifs`` itself
        (the same object) where no grown count does better.

    Raises
    ------
    ParameterError
        A bad ``steps``, ``max_maps``, ``seed``, ``lr``, ``max_contraction``, ``step_points``,
        ``penalty``, an unknown ``device`` name; ``ifs`` of another dimension than the cloud.
    """
    check_integer(steps, "steps")
    check_max_maps(max_maps)
    check_integer(seed, "seed")
    check_positive(lr, "lr")
    check_contraction(max_contraction)
    check_step_points(step_points)
    check_positive(penalty, "penalty", zero=True)
    cloud = subsample(np.asarray(points, dtype=float), seed)
    dim = cloud.shape[1]
    if ifs.dim != dim:
        raise ParameterError(f"ifs is {ifs.dim}D; it cannot grow over a {dim}D cloud", "ifs")
    centre, scale, unit = unit_ball(cloud)
    occ = target_occupancy(unit)
    start = ifs.conjugate(np.eye(dim) / scale, -centre / scale)
    rng = np.random.default_rng([seed, 0x6709])
    A, b, cover = extend_cover(occ, start.A, start.b, max(max_maps, start.n_maps), rng)
    candidates = [(start.A, start.b, start.p)]  # (A, b, p) of each count compared, the given maps first
    if dim == 2 or not steps:
        candidates.append((A, b, cover_shares(cover)))
    if steps:
        settings = OptimizerSettings(
            steps=steps,
            lr=lr,
            max_contraction=max_contraction,
            device=resolve_device(device, "fit"),
            step_points=step_points,
            progress=False,
        )
        A_p, b_p, _ = polish_copies(unit, occ, A, b, settings, dim == 2, rng, seed)
        A_p, b_p, cover_p = greedy_order(A_p, b_p, cell_cover(occ, A_p, b_p, rng))
        counts = sorted({k for k in PREFIXES if start.n_maps <= k < len(A_p)})
        candidates += [(A_p[:k], b_p[:k], cover_shares(cover_p[:k])) for k in counts]
        candidates.append((A_p, b_p, coverage_probabilities(unit, A_p, b_p)))
    scores = [quality_score(count_figure(occ, *maps, len(unit), seed), len(maps[0]), penalty) for maps in candidates]
    best = int(np.argmin(scores))
    if best == 0:
        return ifs
    A, b, p = candidates[best]
    return IFS(A, b, p).conjugate(scale * np.eye(dim), centre)
