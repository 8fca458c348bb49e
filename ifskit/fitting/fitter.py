"""The collage-theorem fitter: contractive maps whose collage covers a target cloud.

Outline of :func:`fit`:

1. The cloud is centred and scaled into the unit ball (results are mapped back).
2. Starting maps: the cloud is cut into parts by k-means; each part, and the rest of
   the cloud without it, gives a map sending the cloud's principal frame onto the
   part's frame, in the orientation (rotations and reflections tried) whose image lies
   best inside the cloud; K of these maps are picked greedily by collage error.
   Several such restarts (different k-means seeds) are optimized together for the
   first fifth of the steps; the one whose attractor is nearest the cloud goes on alone.
3. Adam with a cosine learning-rate schedule on the raw parameters of
   :mod:`ifskit.ops.contractive` (contractive by construction), minimizing the Chamfer (or
   smooth Hausdorff) distance between the collage of a random subset of the cloud
   and the cloud, a fresh subset every step.
4. Probabilities: the share of the cloud each map's image covers.
5. Figures: the exact collage Hausdorff distance ``e`` (KD-tree), the contraction
   ``s``, the collage-theorem bound ``e / (1 - s)``, and the Chamfer and Hausdorff
   distances between the fitted attractor (chaos game) and the cloud.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch

from ..errors import FormatError, IfskitWarning
from ..ifs import IFS
from ..ops.contractive import (
    clamp_singular_values,
    entries_from_maps,
    maps_from_entries,
    maps_from_params,
    n_params,
    params_from_maps,
    project_entries_,
)
from ..ops.device import one_torch_thread, resolve_device
from ..ops.knn import nearest_distances
from ..ops.losses import (
    CHAIN_SHARE_FLOOR,
    attractor_chamfer,
    chamfer,
    collage,
    collage_owner,
    coverage_shares,
    map_shares,
)

#: Adam's (beta1, beta2) of refinement steps (see _optimize's ``warm``): moment estimates
#: of shorter memory suit runs of a few dozen steps; on 96 clouds (seeds 777, 778) after
#: 10 / 20 / 30 steps, mean Chamfer 0.0190 / 0.0178 / 0.0173 with torch's (0.9, 0.999),
#: 0.0186 / 0.0175 / 0.0169 with these.
_WARM_BETAS = (0.8, 0.99)
#: Largest cloud used as is; bigger ones are subsampled (with a warning).
MAX_POINTS = 20_000
#: Largest number of maps tried by ``n_maps="auto"``.
MAX_AUTO_MAPS = 6
# Cloud points whose images make the collage of one optimization step, and cloud
# points checked for coverage by it: a fresh random subset every step.
STEP_POINTS = (1024, 2048)
# Most clouds refined together in one batch (memory grows with it; the saving is made by ~10).
_REFINE_BATCH = 64
# Cloud points used to rank starting maps (cheap, fixed).
_INIT_SOURCES = 512
# Cloud points whose images score each orientation in a round of snapping maps to parts.
_SNAP_SOURCES = 256
# Best orientations per part among which a round of snapping chooses the maps together
# (3: 48 dev clouds after 10 / 20 steps 0.0196 / 0.0180; 1: 0.0207 / 0.0189; 2: 0.0197 / 0.0182).
_SNAP_KEEP = 3
# A round of snapping first ranks all orientations on 32 of its sources and scores only
# the best 6 per part on all of them: the 25 per part on all 256 sources were most of
# the round's time (96 dev clouds: 25 ms a cloud saved, quality within noise).
_SNAP_SCREEN = (32, 6)
# Weight of the overlap penalty, in units of the normalized cloud (radius 1).
_OVERLAP_WEIGHT = 0.05
# Combinations of starting maps tried exhaustively (more: greedy choice).
_MAX_COMBINATIONS = 500
# Temperature of the smooth Hausdorff loss, in units of the normalized cloud (radius 1).
_TEMPERATURE = 0.02
# Chaos-game points of the fitted attractor for the verification figures; the
# Hausdorff figure also uses ifskit.render.extent_sample (fixed points and their images), which
# reaches the attractor's extremes that random points approach slowly.
_ATTRACTOR_POINTS = 200_000
# Smallest share of probability a map gets: a map covering no sample point is still drawn.
_P_FLOOR = 1e-3


@dataclass
class FitResult:
    """The outcome of :func:`fit`; distances are in the cloud's coordinates.

    Attributes
    ----------
    ifs : IFS
        The fitted maps, probabilities from the share of the cloud each map covers.
    collage_error : float
        Exact Hausdorff distance ``e`` between the cloud ``T`` and its collage ``W(T)``.
    contraction : float
        ``s``, the largest contraction factor ``||A_i||_2`` of the fitted maps.
    bound : float
        The collage theorem's bound ``e / (1 - s)`` on the Hausdorff distance between
        the cloud and the fitted attractor.
    attractor_chamfer, attractor_hausdorff : float
        Measured distances between the fitted attractor (chaos game) and the cloud.
    history : ndarray, shape (steps,)
        Training loss per step (of the best restart), in the cloud's units.
    n_maps : int
        Number of maps; with ``n_maps="auto"``, the number that won.
    seconds : float
        Wall time of the whole fit, verification included.
    points : ndarray, shape (n, d)
        The cloud that was fitted (after subsampling a very large one).
    auto_scores : dict of int to float
        With ``n_maps="auto"``: the penalized score of every number of maps tried.
    notes : list of str
        What was done to the input (subsampling, ...).
    """

    ifs: IFS
    collage_error: float
    contraction: float
    bound: float
    attractor_chamfer: float
    attractor_hausdorff: float
    history: np.ndarray
    n_maps: int
    seconds: float
    points: np.ndarray = field(repr=False)
    auto_scores: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def figures(self) -> dict:
        """The figures as a JSON-ready dict (the ``ifskit fit --json`` output)."""
        out = {
            "collage_error": self.collage_error,
            "contraction": self.contraction,
            "bound": self.bound,
            "attractor_chamfer": self.attractor_chamfer,
            "attractor_hausdorff": self.attractor_hausdorff,
            "seconds": self.seconds,
            "n_maps": self.n_maps,
        }
        if self.auto_scores:
            out["auto_scores"] = {str(k): v for k, v in self.auto_scores.items()}
        if self.notes:
            out["notes"] = list(self.notes)
        return out

    def plot(self, path=None, overwrite: bool = False, n_points: int = 50_000, seed: int = 0):
        """Target, collage (each map's image in its own colour), attractor, and loss history.

        Parameters
        ----------
        path : str or Path, optional
            Write the figure to this PNG (atomically); else just return it.
        overwrite : bool
        n_points : int
            Chaos-game points of the attractor panel.
        seed : int

        Returns
        -------
        matplotlib.figure.Figure
        """
        from .plot import plot_fit

        return plot_fit(self, path, overwrite, n_points, seed)


def fit(
    points,
    n_maps=None,
    loss: str = "chamfer",
    steps: int = 400,
    seed: int = 0,
    max_contraction: float = 0.9,
    init=None,
    restarts: int = 4,
    lr: float = 0.03,
    device=None,
    progress: bool | None = None,
    auto_penalty: float = 0.05,
) -> FitResult:
    """Fit an IFS to a point cloud with the collage theorem.

    Parameters
    ----------
    points : array_like, shape (n, d)
        The target cloud ``T``, d = 2 or 3. Clouds above 20,000 points are subsampled.
    n_maps : int or "auto", optional
        Number of maps ``K``; default that of ``init``, else 3. ``"auto"`` fits K = 1 ... 6 and keeps the K with the
        smallest ``collage chamfer * (1 + auto_penalty * K)``; ``FitResult.n_maps`` says
        which K won and ``FitResult.auto_scores`` holds every score.
    loss : {"chamfer", "hausdorff"}
        Training loss between the collage and the cloud: Chamfer (mean distances, both
        directions) or a smooth (log-sum-exp) Hausdorff distance.
    steps : int
        Optimizer steps.
    seed : int
        Same seed, same result.
    max_contraction : float
        Bound on every singular value of every map, in (0, 1).
    init : IFS or "random", optional
        Start from this IFS (its number of maps; no restarts), or from random maps (the
        plain baseline); default: the k-means starts described in :mod:`ifskit.fitting.fitter`.
    restarts : int
        Starting points optimized together for the first fifth of the steps.
    lr : float
        Initial Adam learning rate (cosine decay to 2% of it).
    device : str or torch.device, optional
        Where the optimization runs: the CPU (default, float64) or ``"cuda"`` /
        ``"cuda:N"`` (float32). The verification figures are computed on the CPU.
    progress : bool, optional
        Progress bar; default only on a terminal.
    auto_penalty : float
        Relative penalty per map for ``n_maps="auto"``.

    Returns
    -------
    FitResult

    Raises
    ------
    FormatError
        An empty cloud, too few points, NaN/inf, all points identical, not 2D/3D, a bad
        number of maps, steps or contraction bound, an unknown device name.
    IfskitError
        ``device="cuda"`` where CUDA is not available.
    """
    start = time.perf_counter()
    cloud, notes = _check_cloud(points, seed)
    _check_settings(loss, steps, max_contraction, restarts, init)
    device = resolve_device(device, "fit")
    if isinstance(init, IFS):
        if n_maps not in (None, "auto", init.n_maps):
            raise FormatError(f"n_maps = {n_maps} differs from the {init.n_maps} maps of the starting IFS")
        if init.dim != cloud.shape[1]:
            raise FormatError(f"a {init.dim}D starting IFS cannot be fitted to a {cloud.shape[1]}D cloud")
        candidates = [init.n_maps]
    elif n_maps is None:
        candidates = [3]
    elif n_maps == "auto":
        candidates = list(range(1, MAX_AUTO_MAPS + 1))
    else:
        candidates = [_check_n_maps(n_maps, len(cloud))]
    if len(cloud) < 4 * cloud.shape[1]:
        raise FormatError(f"a {cloud.shape[1]}D fit needs at least {4 * cloud.shape[1]} points, got {len(cloud)}")
    candidates = [k for k in candidates if k <= len(cloud)] or [1]

    centre, scale, unit = _unit_ball(cloud)
    unit_init = init.conjugate(np.eye(cloud.shape[1]) / scale, -centre / scale) if isinstance(init, IFS) else init
    fits = {}
    with one_torch_thread():
        for k in candidates:
            fits[k] = _optimize(unit, k, loss, steps, seed, max_contraction, unit_init, restarts, lr, device, progress)
    scores = {}
    if len(candidates) > 1 or n_maps == "auto":
        whole = torch.as_tensor(unit)
        for k, (A_k, b_k, _) in fits.items():
            chamfer_k = float(_full_chamfer(torch.as_tensor(A_k)[None], torch.as_tensor(b_k)[None], whole)[0])
            scores[k] = chamfer_k * (1 + auto_penalty * k)
    best = min(candidates, key=lambda k: (scores.get(k, 0.0), k))
    A, b, history = fits[best]

    # back to the cloud's coordinates: x = scale * u + centre
    unit_ifs = IFS(A, b, _coverage_probabilities(unit, A, b))
    ifs = unit_ifs.conjugate(scale * np.eye(cloud.shape[1]), centre)
    result = _verify(ifs, cloud, seed)
    return FitResult(
        ifs=ifs,
        history=history * scale,
        n_maps=best,
        seconds=time.perf_counter() - start,
        points=cloud,
        auto_scores=scores if n_maps == "auto" else {},
        notes=notes,
        **result,
    )


def refine(
    points,
    ifs,
    steps: int,
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
    onto the contraction bound after each step) with Adam moments of shorter memory,
    not the fitter's angles and singular values, whose coupling slows the last part of
    the way down: from the encoder's maps, 20 such steps reach the quality of 30 of the
    fitter's parametrization (see :mod:`ifskit.ops.contractive`).
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
        on, as :func:`fit` picks among its restarts (with no steps: at once).
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
    FormatError
        Negative ``steps``, ``max_contraction`` outside (0, 1), an unknown device name.
    IfskitError
        ``device="cuda"`` where CUDA is not available.
    ValueError
        Lists of clouds and of IFS of different lengths; candidate starts with different
        numbers of maps.
    """
    single = not isinstance(points, (list, tuple)) and np.ndim(points) == 2
    clouds = [points] if single else list(points)
    systems = [ifs] if single else list(ifs)
    if len(clouds) != len(systems):
        raise ValueError(f"{len(clouds)} clouds but {len(systems)} starting IFS")
    candidates = [[system] if isinstance(system, IFS) else list(system) for system in systems]
    for i, starts in enumerate(candidates):
        if not starts or len({start.n_maps for start in starts}) > 1:
            raise ValueError(f"the candidate starts of cloud {i} must be one or more IFS with the same number of maps")
    _check_settings("chamfer", steps, max_contraction, 1, None)
    device = resolve_device(device, "fit")
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
                A, b, _ = _optimize(
                    np.stack([part[g].unit for g, _ in rows]),
                    k,
                    "chamfer",
                    steps,
                    seed,
                    max_contraction,
                    [start for _, start in rows],
                    1,
                    lr,
                    device,
                    False,
                    attractor_weight,
                    step_points,
                    warm=True,
                    groups=[g for g, _ in rows],
                )
                for i, problem, A_i, b_i in zip(chunk, part, A, b):
                    unit_ifs = IFS(A_i, b_i, _coverage_probabilities(problem.unit, A_i, b_i))
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
    """The cloud (subsampled above :data:`MAX_POINTS`) in the unit ball, and each candidate there, snapped if asked."""
    cloud = np.asarray(points, dtype=float)
    if len(cloud) > MAX_POINTS:
        cloud = cloud[np.sort(np.random.default_rng(seed).choice(len(cloud), MAX_POINTS, replace=False))]
    centre, scale, unit = _unit_ball(cloud)
    starts = []
    for ifs in candidates:
        start = ifs.conjugate(np.eye(cloud.shape[1]) / scale, -centre / scale)
        if snap_rounds:
            rng = np.random.default_rng([seed, ifs.n_maps])
            start = IFS(*_snap_to_parts(unit, start.A, start.b, max_contraction, rng, snap_rounds))
        starts.append(start)
    return _RefineProblem(centre, scale, unit, starts)


def _unit_ball(cloud: np.ndarray) -> tuple:
    """``(centre, scale, unit)``: the cloud (n, d) moved and scaled into the unit ball,
    ``cloud = scale * unit + centre``."""
    centre = 0.5 * (cloud.min(axis=0) + cloud.max(axis=0))
    scale = float(np.linalg.norm(cloud - centre, axis=1).max())
    return centre, scale, (cloud - centre) / scale


# ---- input checks ---------------------------------------------------------------------------
def _check_cloud(points, seed: int):
    try:
        cloud = np.array(points, dtype=float)
    except (TypeError, ValueError):
        raise FormatError("the points must be an array of numbers, shape (n, 2) or (n, 3)") from None
    if cloud.ndim != 2 or cloud.shape[1] not in (2, 3):
        raise FormatError(f"the points must have shape (n, 2) or (n, 3), got {cloud.shape}")
    if len(cloud) == 0:
        raise FormatError("the point cloud is empty")
    bad = ~np.all(np.isfinite(cloud), axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise FormatError(f"{bad.sum()} points have NaN or infinite coordinates (first: row {rows[0] + 1})")
    if np.ptp(cloud, axis=0).max() == 0:
        raise FormatError("all points are identical: there is no shape to fit")
    notes = []
    if len(cloud) > MAX_POINTS:
        keep = np.sort(np.random.default_rng(seed).choice(len(cloud), MAX_POINTS, replace=False))
        notes.append(f"the cloud of {len(cloud):,} points was subsampled to {MAX_POINTS:,} random points")
        warnings.warn(notes[-1], IfskitWarning, stacklevel=3)
        cloud = cloud[keep]
    return cloud, notes


def _check_n_maps(n_maps, n_points: int) -> int:
    if isinstance(n_maps, bool) or not isinstance(n_maps, (int, np.integer)) or n_maps < 1:
        raise FormatError(f"the number of maps must be a positive integer or 'auto', got {n_maps!r}")
    if n_maps > n_points:
        raise FormatError(f"{n_maps} maps need at least as many points, the cloud has {n_points}")
    return int(n_maps)


def _check_settings(loss, steps, max_contraction, restarts, init) -> None:
    if loss not in ("chamfer", "hausdorff"):
        raise FormatError(f"unknown loss {loss!r}; use 'chamfer' or 'hausdorff'")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise FormatError(f"steps must be a non-negative integer, got {steps!r}")
    if not 0 < max_contraction < 1:
        raise FormatError(f"max_contraction must be in (0, 1) for the collage bound, got {max_contraction}")
    if restarts < 1:
        raise FormatError(f"restarts must be at least 1, got {restarts}")
    if not (init is None or isinstance(init, IFS) or init == "random"):
        raise FormatError(f"init must be an IFS, 'random' or None, got {init!r}")


# ---- optimization ---------------------------------------------------------------------------
def _optimize(
    unit,
    k,
    loss,
    steps,
    seed,
    max_contraction,
    init,
    restarts,
    lr,
    device,
    progress,
    attractor_weight=0.0,
    step_points=STEP_POINTS,
    warm=False,
    groups=None,
):
    """Fit k maps to the normalized cloud ``unit`` (n, d), or each of a batch of clouds (B, n, d).

    For a batch, ``init`` is a list of B IFS and each cloud is optimized from its own
    (no restarts), drawing its subsets and chains from its own generator: the result
    for a cloud does not depend on the others. ``attractor_weight`` adds that multiple
    of :func:`~ifskit.ops.losses.attractor_chamfer` (chains started from the step's
    source points) to the collage loss; ``step_points`` is (source points, covered
    points) of each step. ``warm``: the start is near the answer (refinement); the
    steps move the matrix entries (:func:`~ifskit.ops.contractive.entries_from_maps`,
    projected onto the contraction bound after each) with Adam moments of shorter
    memory (:data:`_WARM_BETAS`), instead of the angles and singular values.
    ``groups`` (B,): for a batch, the problem 0 .. G-1 each row belongs to (default one
    row each; one cloud's restarts are one problem). A problem with several rows
    (restarts, or candidate starts for one cloud) keeps, after the first fifth of the
    steps (at once without steps), the row whose attractor is nearest its cloud.

    Returns
    -------
    A : ndarray, shape (k, d, d), or (G, k, d, d) for a batch (the row kept per group)
    b : ndarray, shape (k, d), or (G, k, d)
    history : ndarray, shape (steps,)
    """
    from tqdm.auto import tqdm

    batch = unit.ndim == 3
    dim = unit.shape[-1]
    dtype = torch.float64 if device.type == "cpu" else torch.float32
    rng = np.random.default_rng([seed, k])
    to_params = entries_from_maps if warm else params_from_maps
    if batch:
        starts = [to_params(start.A, start.b, max_contraction) for start in init]
    elif isinstance(init, IFS):
        starts = [to_params(init.A, init.b, max_contraction)]
    elif init == "random":
        starts = [torch.as_tensor(rng.normal(size=(k, n_params(dim))))]
    else:
        # more clusters than maps in some restarts: smaller parts, more candidate maps
        starts = [_kmeans_start(unit, k, k + r % 3, rng, max_contraction) for r in range(restarts)]
    raw = torch.stack(starts).to(device=device, dtype=dtype).requires_grad_()
    target = torch.as_tensor(unit, device=device, dtype=dtype)
    generator_seed = int(rng.integers(2**62))
    generators = [torch.Generator().manual_seed(generator_seed) for _ in (starts if batch else [0])]

    def to_maps(raw):
        return maps_from_entries(raw, dim) if warm else maps_from_params(raw, dim, max_contraction)

    betas = _WARM_BETAS if warm else (0.9, 0.999)  # torch's default
    optimizer = torch.optim.Adam([raw], lr=lr, betas=betas)
    if groups is None:
        groups = np.arange(len(starts)) if batch else np.zeros(len(starts), dtype=int)
    groups = np.asarray(groups)
    choose = len(np.unique(groups)) < len(groups)
    warmup = steps // 5 if choose else 0

    def choose_rows():
        """Go on with the row nearest its cloud (per group), its Adam moments kept."""
        nonlocal raw, optimizer, target, generators, choose
        with torch.no_grad():
            A, b = (t.cpu().double().numpy() for t in to_maps(raw.detach()))
        scores = _attractor_distances(A, b, unit if batch else [unit] * len(A), seed)
        rows = [int(np.flatnonzero(groups == g)[np.argmin(scores[groups == g])]) for g in np.unique(groups)]
        if batch:
            target, generators = target[rows], [generators[i] for i in rows]
        state = optimizer.state[raw]
        raw = raw[rows].detach().clone().requires_grad_()
        optimizer = torch.optim.Adam([raw], lr=lr, betas=betas)
        if state:  # a fresh Adam would take full-size first steps and jump away
            optimizer.state[raw] = {
                "step": state["step"].clone(),
                "exp_avg": state["exp_avg"][rows].clone(),
                "exp_avg_sq": state["exp_avg_sq"][rows].clone(),
            }
        choose = False

    history = np.zeros(steps)
    bar = tqdm(range(steps), desc=f"fit {k} maps", disable=(None if progress is None else not progress), leave=False)
    for step in bar:
        if step == warmup and choose:
            choose_rows()
        for group in optimizer.param_groups:
            group["lr"] = lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * step / max(1, steps))))
        sources, covered = _step_subsets(target, generators, step_points)
        A, b = to_maps(raw)
        value, nearest_image = _collage_loss(collage(sources, A, b), target, covered, loss)
        value = value + _overlap_penalty(A)
        if attractor_weight:
            # the chains' map probabilities: shares of the covered points, from the loss's own search
            p = map_shares(nearest_image // sources.shape[-2], k, CHAIN_SHARE_FLOOR / k, A.dtype)
            value = value + attractor_weight * attractor_chamfer(
                sources, A, b, generator=generators if batch else generators[0], target=covered, p=p
            )
        optimizer.zero_grad()
        value.sum().backward()
        optimizer.step()
        if warm:
            project_entries_(raw, dim, max_contraction)
        history[step] = float(value.detach().min())
    if choose:  # no steps: the rows are chosen as they are
        choose_rows()
    with torch.no_grad():
        A, b = to_maps(raw.detach())
        A, b = A.cpu().double().numpy(), b.cpu().double().numpy()
    return (A, b, history) if batch else (A[0], b[0], history)


def _step_subsets(target, generators, step_points):
    """The step's random source and covered points, ``step_points`` of each.

    Parameters
    ----------
    target : Tensor, shape (n, d) or (B, n, d)
        One cloud (its subsets are shared by every restart), or a batch of clouds.
    generators : list of torch.Generator
        One, or one per cloud of the batch: each cloud draws from its own.
    step_points : (int, int)

    Returns
    -------
    sources, covered : Tensor, shapes (m, d) and (c, d), or (B, m, d) and (B, c, d)
    """
    def draw(cloud, generator):
        return [
            cloud[torch.randperm(len(cloud), generator=generator)[:count].to(cloud.device)] for count in step_points
        ]

    if target.dim() == 2:
        return tuple(draw(target, generators[0]))
    sources, covered = zip(*(draw(cloud, generator) for cloud, generator in zip(target, generators)))
    return torch.stack(sources), torch.stack(covered)


def _collage_loss(images, target, covered, loss):
    """Loss per batch element between collages ``images`` (B, m, d) and the cloud.

    Collage points are compared with the whole cloud ``target`` (n, d); coverage is
    checked for the cloud subset ``covered`` (c, d). Returns the loss (B,) and, for
    every covered point, the index of its nearest collage point (B, c).
    """
    inside = nearest_distances(images, target)
    coverage, nearest_image = nearest_distances(covered, images, return_index=True)
    if loss == "chamfer":
        return 0.5 * (inside.mean(-1) + coverage.mean(-1)), nearest_image
    both = torch.cat([inside, coverage], dim=-1)
    return _TEMPERATURE * (torch.logsumexp(both / _TEMPERATURE, dim=-1) - math.log(both.shape[-1])), nearest_image


def _overlap_penalty(A):
    """Penalty on total image volume beyond the cloud's: ``w * relu(sum_i |det A_i| - 1)``, shape (B,).

    Maps whose images are disjoint (the open set condition) have ``sum |det A_i| <= 1``.
    The Chamfer collage error alone does not see overlap: several near-identity maps
    cover the cloud well, yet their attractor is a blur.
    """
    return _OVERLAP_WEIGHT * torch.relu(torch.linalg.det(A).abs().sum(-1) - 1)


def _full_chamfer(A, b, target):
    """Chamfer distance between the whole cloud ``target`` (n, d) and its collage, per batch element, shape (B,).

    ``A`` (B, k, d, d) and ``b`` (B, k, d) are the maps of each batch element.
    """
    return chamfer(collage(target, A, b), target)


def _attractor_distances(A, b, clouds, seed) -> np.ndarray:
    """Chamfer distance between each IFS ``(A[i], b[i])`` and its normalized cloud ``clouds[i]``, shape (B,).

    Picks among restarts (or candidate starts) after their first steps: a chaos game of
    as many points as the cloud, with the maps' coverage shares as probabilities. The
    collage error is a poor judge here: with a contraction near the bound,
    ``e / (1 - s)`` is loose and the start with the smallest collage error is often not
    the one with the closest attractor, while a chaos game of a few thousand points
    costs milliseconds.

    Parameters
    ----------
    A : ndarray, shape (B, k, d, d)
    b : ndarray, shape (B, k, d)
    clouds : sequence of B ndarrays, shapes (n, d)
    seed : int
    """
    from ..analysis import chamfer_distance
    from ..render import chaos_game, extent_sample

    scores = []
    for A_i, b_i, cloud in zip(A, b, clouds):
        ifs = IFS(A_i, b_i, _coverage_probabilities(cloud, A_i, b_i))
        scores.append(chamfer_distance(chaos_game(ifs, len(cloud), seed=seed, progress=False), cloud))
    return np.array(scores)


# ---- starting maps -----------------------------------------------------------------------------
def _kmeans_start(unit, k, clusters, rng, max_contraction):
    """Raw parameters (k, n_params) of one start from ``clusters`` k-means parts (see the module docstring)."""
    from scipy.cluster.vq import kmeans2
    from scipy.spatial import cKDTree

    dim = unit.shape[1]
    tree = cKDTree(unit)
    sources = unit[rng.choice(len(unit), min(len(unit), _INIT_SOURCES), replace=False)]
    with warnings.catch_warnings():  # an empty cluster is fine: its part is skipped
        warnings.simplefilter("ignore")
        _, labels = kmeans2(unit, clusters, minit="++", seed=rng)
    parts = [unit[labels == c] for c in range(clusters)]
    if clusters > 1:  # the cloud without one part: the fern's big map
        parts += [unit[labels != c] for c in range(clusters)]
    parts = [p for p in parts if len(p) > dim]
    A, b = _part_maps(unit, parts, sources, tree, max_contraction)
    candidates = list(zip(A[:, 0], b[:, 0]))
    chosen = _pick_maps(candidates, k, sources, tree)
    return params_from_maps(A[chosen, 0], b[chosen, 0], max_contraction)


def _part_maps(unit, parts, sources, tree, max_contraction, current=None, keep=1, screen=None):
    """For every part of the cloud, the maps sending the whole cloud onto it, by their principal frames.

    The map sends the frame of ``unit`` onto the part's frame, composed with each of
    :func:`_orientations` (the frames fix a map only up to these symmetries), singular
    values clamped to ``max_contraction``; the orientations kept are the ``keep`` whose
    image of ``sources`` lies best inside the cloud (least mean distance to it), best first.
    With ``screen = (m, g)``, only the ``g`` best on the first ``m`` sources are scored
    on all of them.

    Parameters
    ----------
    unit : ndarray, shape (n, d)
        The normalized cloud.
    parts : list of ndarray, shape (m_i, d)
        Parts of it, each with more than ``d`` points.
    sources : ndarray, shape (m, d)
        Cloud points whose images are scored.
    tree : scipy.spatial.cKDTree
        Of ``unit``.
    max_contraction : float
    current : tuple of ndarray, shapes (len(parts), d, d) and (len(parts), d), optional
        A map each part has already; it competes with the orientations on the same score.
    keep : int
        Maps kept per part.
    screen : (int, int), optional
        Sources that rank the orientations first, and orientations per part then scored
        on all ``sources`` (default: all of them on all sources).

    Returns
    -------
    A : ndarray, shape (len(parts), keep, d, d)
    b : ndarray, shape (len(parts), keep, d)
    """
    dim = unit.shape[1]
    whole_frame, whole_mean = _frame(unit)
    inverse = np.linalg.pinv(whole_frame)
    frames, means = zip(*(_frame(part) for part in parts))
    frames_to_parts = np.array(frames)[:, None] @ _orientations(dim)[None] @ inverse  # (P, g, d, d)
    A = clamp_singular_values(frames_to_parts, max_contraction)
    b = np.array(means)[:, None] - A @ whole_mean  # (P, g, d)
    if current is not None:
        A = np.concatenate([A, current[0][:, None]], axis=1)
        b = np.concatenate([b, current[1][:, None]], axis=1)
    rows = np.arange(len(parts))[:, None]
    if screen is not None and screen[1] < A.shape[1]:
        screen_sources, kept = screen
        shortlist = np.argsort(_inside(A, b, sources[:screen_sources], tree), axis=1, kind="stable")[:, :kept]
        A, b = A[rows, shortlist], b[rows, shortlist]
    best = np.argsort(_inside(A, b, sources, tree), axis=1, kind="stable")[:, :keep]
    return A[rows, best], b[rows, best]


def _inside(A, b, sources, tree):
    """Mean distance to the cloud (its ``tree``) of the images of ``sources`` (m, d) under maps (P, g, d, d), (P, g, d): (P, g)."""
    images = np.einsum("pgij,nj->pgni", A, sources) + b[:, :, None]
    return tree.query(images.reshape(-1, sources.shape[1]))[0].reshape(*A.shape[:2], -1).mean(-1)


def _snap_to_parts(unit, A, b, max_contraction, rng, rounds):
    """Maps re-derived from the parts of the cloud they cover, ``rounds`` times.

    The part of map ``i`` is the cloud points whose nearest collage point is an image
    under ``w_i``; :func:`_part_maps` gives the best few maps onto each part (the map
    itself among the candidates), and the maps are chosen among all of them together
    by the collage they make (:func:`_pick_maps`, as for the fitter's starts): one
    orientation may fit its part alone best but cover the cloud worse beside the others.
    From maps that roughly tile the cloud (the encoder's) this gives each map the shape
    and orientation of the piece it covers, as the fitter's k-means starts do, in
    milliseconds.

    Parameters
    ----------
    unit : ndarray, shape (n, d)
    A : ndarray, shape (k, d, d)
    b : ndarray, shape (k, d)
    max_contraction : float
    rng : numpy.random.Generator
    rounds : int

    Returns
    -------
    A : ndarray, shape (k, d, d)
    b : ndarray, shape (k, d)
    """
    from scipy.spatial import cKDTree

    dim = unit.shape[1]
    tree = cKDTree(unit)
    cloud = torch.as_tensor(unit)
    for _ in range(rounds):
        sources = unit[rng.choice(len(unit), min(len(unit), _SNAP_SOURCES), replace=False)]
        owner = collage_owner(cloud, torch.tensor(A)[None], torch.tensor(b)[None])[0].numpy()  # A, b may be read-only
        large = [i for i in range(len(A)) if np.count_nonzero(owner == i) > dim]
        if not large:
            break
        parts = [unit[owner == i] for i in large]
        part_A, part_b = _part_maps(
            unit, parts, sources, tree, max_contraction, (A[large], b[large]), _SNAP_KEEP, _SNAP_SCREEN
        )
        part_A, part_b = part_A.reshape(-1, dim, dim), part_b.reshape(-1, dim)
        chosen = _pick_maps(list(zip(part_A, part_b)), len(large), sources, tree)
        A, b = A.copy(), b.copy()
        A[large], b[large] = part_A[chosen], part_b[chosen]
    return A, b


def _pick_maps(candidates, k, sources, tree):
    """Indices of the k candidate maps whose collage of ``sources`` is closest to the cloud.

    Every combination when there are at most ``_MAX_COMBINATIONS``, else greedily one
    map at a time. The distances of each candidate's images are computed once: the
    collage's distance to the cloud is the mean of its maps' (equal numbers of
    images), and a source point's distance to the collage the least of its distances
    to each map's images.
    """
    from scipy.spatial import cKDTree

    images = [sources @ A.T + b for A, b in candidates]
    inside = np.array([tree.query(image)[0].mean() for image in images])  # (C,)
    cover = np.stack([cKDTree(image).query(sources)[0] for image in images])  # (C, m)
    volume = np.array([abs(np.linalg.det(A)) for A, _ in candidates])  # (C,)

    def scores(choices):
        """Score of every row of ``choices`` (c, j) of candidate indices, shape (c,)."""
        distance = 0.5 * (inside[choices].mean(-1) + cover[choices].min(-2).mean(-1))
        return distance + _OVERLAP_WEIGHT * np.maximum(0.0, volume[choices].sum(-1) - 1)

    k = min(k, len(candidates))
    if math.comb(len(candidates), k) <= _MAX_COMBINATIONS:
        choices = np.array(list(itertools.combinations(range(len(candidates)), k)))
        return choices[int(np.argmin(scores(choices)))].tolist()
    chosen = []
    for _ in range(k):
        rest = np.array([i for i in range(len(candidates)) if i not in chosen])
        choices = np.column_stack([np.tile(chosen, (len(rest), 1)).astype(int), rest])
        chosen.append(int(rest[np.argmin(scores(choices))]))
    return chosen


def _frame(points):
    """Principal frame ``U sqrt(L)`` (d, d) of a cloud (covariance ``U L U^T``) and its mean (d,)."""
    mean = points.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(points - mean, rowvar=False))
    return vectors * np.sqrt(np.clip(values, 1e-12, None)), mean


def _orientations(dim):
    """Orthogonal matrices tried between two frames: (24, 2, 2) in 2D, (48, 3, 3) in 3D."""
    if dim == 2:
        angles = np.arange(12) * np.pi / 6
        rot = np.stack(
            [np.stack([np.cos(angles), -np.sin(angles)], -1), np.stack([np.sin(angles), np.cos(angles)], -1)], 1
        )
        return np.concatenate([rot, rot @ np.diag([1.0, -1.0])])
    out = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            M = np.zeros((3, 3))
            M[np.arange(3), perm] = signs
            out.append(M)
    return np.stack(out)


# ---- results ---------------------------------------------------------------------------------
def _coverage_probabilities(unit, A, b):
    """:func:`~ifskit.ops.losses.coverage_shares` of a cloud (n, d) and maps (k, d, d), (k, d): shape (k,)."""
    return coverage_shares(torch.as_tensor(unit), torch.as_tensor(A)[None], torch.as_tensor(b)[None], _P_FLOOR)[
        0
    ].numpy()


def _verify(ifs: IFS, cloud, seed: int) -> dict:
    """Collage error, contraction, bound, and the measured attractor distances."""
    from ..analysis import chamfer_distance, hausdorff_distance
    from ..render import chaos_game, extent_sample

    collage_points = ifs.apply(cloud).reshape(-1, cloud.shape[1])
    collage_error = hausdorff_distance(cloud, collage_points)
    s = ifs.contraction
    attractor = chaos_game(ifs, _ATTRACTOR_POINTS, seed=seed, progress=False)
    dense = np.concatenate([attractor, extent_sample(ifs)])
    return {
        "collage_error": collage_error,
        "contraction": s,
        "bound": collage_error / (1 - s),
        "attractor_chamfer": chamfer_distance(attractor, cloud),
        "attractor_hausdorff": hausdorff_distance(dense, cloud),
    }
