"""The fitter's entry points: :func:`fit` (an IFS and its figures from a cloud), :func:`refine` (steps alone) and :func:`grow` (more maps).

Outline of :func:`fit`:

1. The cloud is checked (:mod:`~ifskit.fitting.checks`), centred and scaled into the
   unit ball (results are mapped back).
2. Starting maps (:mod:`~ifskit.fitting.starts`): k-means parts of the cloud and the
   maps sending the whole cloud onto them; several restarts.
3. Adam with a cosine learning-rate schedule (:mod:`~ifskit.fitting.optimize`) on the
   raw parameters of :mod:`ifskit.ops.contractive` (contractive by construction),
   minimizing the Chamfer (or smooth Hausdorff) distance between the collage of a
   random subset of the cloud and the cloud, a fresh subset every step. The restarts
   go together for the first fifth of the steps; the one whose attractor is nearest
   the cloud goes on alone (:mod:`~ifskit.fitting.choice`).
   With ``n_maps="auto"`` (or where the k-means fit does not match the cloud), greedy
   coverage maps too (:mod:`~ifskit.fitting.cover`: copies of the shape inside it, with a
   swap search), polished (a surface's copies longer, :data:`POLISH`, and from
   :data:`SURFACE_COVERS` covers, the one whose attractor is nearest the cloud kept); the attractors
   choose, and for a filled shape (2D, a 3D solid) the choice is made again at a finer
   grid and the chosen maps go through a local search on the attractor
   (:mod:`~ifskit.fitting.search`).
4. Probabilities: the share of the cloud each map's image covers (or of the shape's
   cells, for the searched coverage maps).
5. Figures (:mod:`~ifskit.fitting.verify`): the exact collage Hausdorff distance ``e``
   (KD-tree), the contraction ``s``, the collage-theorem bound ``e / (1 - s)``, and the
   Chamfer and Hausdorff distances between the fitted attractor (chaos game) and the cloud.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from typing import NamedTuple

import numpy as np
from scipy import ndimage

from ..errors import FormatError, IfskitWarning, ParameterError
from ..ifs import IFS
from ..ops.contractive import entries_from_maps, maps_from_params, project_entries_
from ..ops.device import one_torch_thread, resolve_device
from .checks import (
    check_cloud,
    check_contraction,
    check_integer,
    check_max_maps,
    check_n_maps,
    check_positive,
    check_settings,
    check_step_points,
    subsample,
)
from .choice import (
    attractor_distances,
    attractor_iou,
    count_figure,
    fill_quality,
    filled_worst,
    fine_attractor_figures,
    quality_score,
)
from .cover import cell_cover, cover_maps, cover_shares, extend_cover, greedy_order
from .occupancy import CURVE_FILL, fine_fill, target_occupancy
from .optimize import STEP_POINTS, OptimizerSettings, optimize_maps
from .result import FitResult
from .search import attractor_search
from .starts import snap_to_parts, starting_params
from .verify import coverage_probabilities, verify

#: Largest number of maps tried by ``n_maps="auto"`` with the k-means starts.
MAX_AUTO_MAPS = 6
#: Most maps ``max_maps`` allows.
MAX_MAPS_LIMIT = 64
#: With ``n_maps="auto"``, the k-means fits are skipped when the coverage fit's attractor
#: reaches this occupancy IoU (at the fit's resolution): the cloud is a shape the copies fill,
#: and the k-means fits cost seconds per count. Not for a curve
#: (:data:`~ifskit.fitting.occupancy.CURVE_FILL`): thin copies cover a de Rham curve's cloud, whose
#: two maps the k-means fits find (16 de Rham curves, seed 5: mean IoU 0.907 -> 0.952, two of them
#: from 16 copies to 2 maps).
COVER_GOOD_ENOUGH = 0.75
#: With ``n_maps="auto"``, the k-means fits are skipped only where the coverage fit's score (its
#: attractor's IoU at the fit's resolution, less 0.005 a map) reaches this: with 16 copies, an IoU of
#: 0.98, a cloud the copies draw. Copies polished free to overlap (:data:`POLISH_OVERLAP_WEIGHT`) cover
#: fractal clouds too: the Heighway dragon's 16 copies passed the old threshold, :data:`COVER_GOOD_ENOUGH`,
#: and skipped the k-means fits (16 maps and IoU 0.81 at 128^2 in place of its 2 maps and 0.99;
#: benchmarks/bench_auto_catalog.py). The screens cost about 6 s a 2D fit; the real development shapes'
#: fits did not change (benchmarks/bench_real.py --seed 1).
KMEANS_SKIP = 0.9
#: Least ratio of the smallest to the largest singular value of the polished coverage maps
#: of filled 2D shapes and solids.
#: Measured on the 2D development shapes, any floor (0.1, 0.2) lowered the IoU: thin parts
#: (legs, serifs) need thin copies; on a solid (the brain) 0.2 helped a little.
MIN_RATIO = {2: 0.0, 3: 0.2}
#: Weight of the occupancy term (:func:`~ifskit.fitting.optimize.occupancy_loss`) in the polish
#: of the coverage maps of filled 2D shapes with ``n_maps="auto"``: the Chamfer collage loss
#: does not see the cells the copies leave uncovered or spill onto at the fit's resolution.
#: On the 6-shape 2D subset of benchmarks/bench_real.py (seed 0), mean IoU 0.770 without it,
#: 0.794 / 0.802 / 0.798 at 0.02 / 0.04 / 0.06; in 3D and for a given n_maps (fractals,
#: whose Chamfer distance it raised) it is off.
OCCUPANCY_WEIGHT = 0.04
#: Weight of the overlap penalty (:func:`~ifskit.fitting.optimize.overlap_penalty`) in the polish of
#: the coverage maps: none. The penalty keeps k-means fits from near-identity maps whose attractor is a
#: blur; copies of a filled shape, which has holes and notches of its own, must overlap to leave no gap,
#: and a gap in the collage is copied into every copy (the attractor's misses were the collage's).
#: On the 2D development shapes (benchmarks/bench_real.py) the mean IoU went 0.816 -> 0.842 (seed 0) and
#: 0.811 -> 0.838 (seed 2) without it (0.819 at 0.02, seed 0); the brain 0.844 -> 0.873; a surface's
#: flattened copies have no volume to penalize (the same fits).
POLISH_OVERLAP_WEIGHT = 0.0


class PolishSchedule(NamedTuple):
    """Steps (a share of ``steps``) and initial learning rate of the polish of the coverage maps (entries parametrization)."""

    share: float
    lr: float


#: The polish's schedule, for filled shapes (2D, 3D solids) and for surfaces. A filled shape's
#: copies start near their places and the occupancy term steers them: a short polish at a small rate.
#: A surface's flattened copies must turn into its tangent planes: on the 3D development surfaces (nut,
#: ant, topobathy, Jacksboro; seeds 0 and 2) the attractor's Chamfer distance to the truth fell by
#: 10-28% with 400 steps at 0.04 in place of 200 at 0.01 (0.02 / 0.06 / 0.08, 800 steps: no better);
#: on the 2D ones the longer, faster polish changed the mean IoU within noise (0.815 -> 0.812 / 0.821).
POLISH = {"filled": PolishSchedule(share=0.5, lr=0.01), "surface": PolishSchedule(share=1.0, lr=0.04)}
#: Greedy covers drawn for a surface with ``n_maps="auto"``, each polished; the one whose attractor is
#: nearest the cloud (Chamfer, :func:`~ifskit.fitting.choice.attractor_distances`) is kept. Where a
#: surface's first copies land decides what its polish reaches: with the fit's seed alone (0-4, on one
#: cloud of each) the nut's attractor Chamfer distance to the truth ranged over 0.81-1.00% of the
#: diagonal with one cover. About 10 s more per surface.
SURFACE_COVERS = 2
#: With ``n_maps="auto"``, the best k-means count is run in full only when its screen's score is
#: within this of the coverage fit's: the full run adds ~0.01 to the screen's IoU (Sierpinski
#: 0.864 -> 0.874 at seed 0), and on the skull ring and the coins (screens 0.31 and 0.54 against
#: copies 0.73 and 0.64) it cost seconds and lost.
SCREEN_MARGIN = 0.05
#: Fits whose score (at the cloud's resolution) is within this of the best are compared again at a
#: finer grid (:func:`~ifskit.fitting.choice.fill_quality`) when a coverage fit is among them
#: and the shape is filled: on the brain a 5-map k-means fit won by 0.05 at the cloud's resolution
#: (IoU 0.82 against 0.83, less the penalty of 11 more maps) and scored 0.73 against 0.80 at 64^3.
FINE_MARGIN = 0.1
# Share of a 3D shape's cells inside it (eroded grid) from which it is a solid: most of them. Below, thin
# walls and folds (a pial cortex 0.45-0.49, a frog's tissues 0.40-0.41; a brain mask 0.65) fit closer
# as a surface: at 0.4, the cortex of seeds 0 and 2 Chamfer 0.869 / 0.923%, Hausdorff 5.2 / 7.1%, IoU
# 0.36 / 0.34; at 0.5, 0.731 / 0.752%, 5.7 / 5.3%, 0.41 / 0.41 (the frog of seed 2: 0.610 -> 0.531%).
_SOLID_INTERIOR = 0.5
# Least steps for which n_maps="auto" screens the k-means counts by short runs.
_SCREEN_STEPS_MIN = 50
# Counts of maps (prefixes of the greedy choice) whose attractors n_maps="auto" compares.
_PREFIXES = (2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64)
#: Adam's (beta1, beta2) of refinement steps: moment estimates of shorter memory suit
#: runs of a few dozen steps; on 96 clouds (seeds 777, 778) after 10 / 20 / 30 steps,
#: mean Chamfer 0.0190 / 0.0178 / 0.0173 with torch's (0.9, 0.999), 0.0186 / 0.0175 / 0.0169 with these.
REFINE_BETAS = (0.8, 0.99)
#: Default penalty per map of ``n_maps="auto"`` (:func:`fit`'s ``auto_penalty``), and of :func:`grow`'s comparison.
AUTO_PENALTY = 0.05
# Most clouds refined together in one batch (memory grows with it; the saving is made by ~10).
_REFINE_BATCH = 64


def fit(
    points,
    n_maps=None,
    *,
    loss: str = "chamfer",
    steps: int = 400,
    seed: int = 0,
    max_contraction: float = 0.9,
    init=None,
    restarts: int = 4,
    lr: float = 0.03,
    device=None,
    progress: bool | None = None,
    auto_penalty: float = AUTO_PENALTY,
    max_maps: int = 16,
) -> FitResult:
    """Fit an IFS to a point cloud with the collage theorem.

    Parameters
    ----------
    points : array_like, shape (n, d)
        The target cloud ``T``, d = 2 or 3. Clouds above 20,000 points are subsampled;
        repeated points are dropped; a flat 3D cloud (a plane, or z = 0) is fitted in its
        own plane and the maps lifted back (:func:`lift_from_plane`); each with a note.
    n_maps : int or "auto", optional
        Number of maps ``K``; default that of ``init``, else 3. ``"auto"`` compares
        fits of up to ``max_maps`` maps by their attractors: the greedy coverage fit
        (:mod:`~ifskit.fitting.cover`) with 2, 3, 4, ... of its maps, and, unless its
        attractor is the cloud's occupancy (score :data:`KMEANS_SKIP`) and the cloud is
        no curve (:func:`~ifskit.fitting.occupancy.fine_fill`), the k-means fits
        of K = 1 ... 6 (each screened by a fifth of the steps, the best K run in full
        unless its screen trails the coverage fit by :data:`SCREEN_MARGIN`);
        the K with the smallest ``1 - IoU + auto_penalty * K / 10`` wins
        (:func:`~ifskit.fitting.choice.quality_score`). For a filled shape (2D, a 3D
        solid) where a coverage fit wins or comes within :data:`FINE_MARGIN`, those fits
        are compared again by :func:`~ifskit.fitting.choice.fill_quality` (IoU at twice
        the grid, less the farthest miss or spill) in place of the IoU, and the winner then
        goes through :func:`~ifskit.fitting.search.attractor_search`. ``FitResult.n_maps`` says which
        K won and ``FitResult.auto_scores`` holds the best score of every K compared last.
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
        plain baseline); default: both the greedy coverage maps of
        :mod:`ifskit.fitting.cover` (copies of the shape inside it that cover it: filled
        shapes, surfaces, solids) and the k-means starts of :mod:`ifskit.fitting.starts`
        optimized (attractor-like clouds: dust, fractal curves), the one whose attractor
        matches the cloud's occupancy best kept. With a given ``n_maps`` the k-means fit
        runs first and the coverage fit only where its attractor's IoU is below 0.75.
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
        Penalty per map for ``n_maps="auto"`` (see ``n_maps``).
    max_maps : int
        Most maps ``n_maps="auto"`` uses, 1 to 64 (default 16). More maps cover thin,
        curved and scattered shapes more closely, at the cost of a larger IFS.

    Returns
    -------
    FitResult

    Raises
    ------
    FormatError
        An empty cloud, too few points, NaN/inf, all points identical or on a straight
        line, not 2D/3D.
    ParameterError
        A bad ``n_maps`` (or one the starting IFS does not have), ``loss``, ``steps``,
        ``max_contraction``, ``restarts``, ``init``, ``lr``, ``seed``, ``auto_penalty``,
        ``max_maps``, an unknown ``device`` name.
    IfskitError
        ``device="cuda"`` where CUDA is not available.
    """
    start = time.perf_counter()
    check_integer(seed, "seed")  # before the cloud, which it subsamples
    cloud, notes = check_cloud(points, seed)
    check_settings(loss, steps, max_contraction, restarts, init)
    check_positive(lr, "lr")
    check_positive(auto_penalty, "auto_penalty", zero=True)
    check_max_maps(max_maps)
    settings = OptimizerSettings(
        steps=steps,
        lr=lr,
        max_contraction=max_contraction,
        device=resolve_device(device, "fit"),
        loss=loss,
        progress=progress,
    )
    plane = _plane_of(cloud) if cloud.shape[1] == 3 and not isinstance(init, IFS) else None
    if plane is not None:
        # a flat 3D cloud: fitted in its own plane, the maps lifted back (contractive as the 2D ones)
        origin, axes = plane
        flat = fit(
            (cloud - origin) @ axes,
            n_maps,
            loss=loss,
            steps=steps,
            seed=seed,
            max_contraction=max_contraction,
            init=init,
            restarts=restarts,
            lr=lr,
            device=device,
            progress=progress,
            auto_penalty=auto_penalty,
            max_maps=max_maps,
        )
        ifs = lift_from_plane(flat.ifs, origin, axes)
        figures = verify(ifs, cloud, seed)
        plane_note = "the 3D cloud lies in a plane: it was fitted in that plane and the maps lifted back"
        warnings.warn(plane_note, IfskitWarning, stacklevel=2)
        return FitResult(
            ifs=ifs,
            history=flat.history,
            n_maps=flat.n_maps,
            seconds=time.perf_counter() - start,
            points=cloud,
            auto_scores=flat.auto_scores,
            notes=[
                *notes,
                *flat.notes,
                plane_note,
            ],
            **figures,
        )
    if isinstance(init, IFS):
        if n_maps not in (None, "auto", init.n_maps):
            raise ParameterError(f"n_maps = {n_maps} differs from the {init.n_maps} maps of the starting IFS", "n_maps")
        if init.dim != cloud.shape[1]:
            raise ParameterError(
                f"init is a {init.dim}D starting IFS; it cannot be fitted to a {cloud.shape[1]}D cloud", "init"
            )
        candidates = [init.n_maps]
    elif n_maps is None:
        candidates = [3]
    elif n_maps == "auto":
        candidates = list(range(1, min(MAX_AUTO_MAPS, max_maps) + 1))
    else:
        candidates = [check_n_maps(n_maps, len(cloud))]
    if len(cloud) < 4 * cloud.shape[1]:
        raise FormatError(f"a {cloud.shape[1]}D fit needs at least {4 * cloud.shape[1]} points, got {len(cloud)}")
    candidates = [k for k in candidates if k <= len(cloud)] or [1]

    centre, scale, unit = _unit_ball(cloud)
    unit_init = init.conjugate(np.eye(cloud.shape[1]) / scale, -centre / scale) if isinstance(init, IFS) else init
    auto = n_maps == "auto" and init is None
    # each candidate fit: maps A (k, d, d), b (k, d), probabilities p (k,), loss history
    fits, scores = [], []
    occ = target_occupancy(unit)
    cover_rows = []  # indices of the coverage fits in fits

    def add_cover_fits(count, exact):
        cover_fits = _cover_fits(unit, occ, count, exact, auto, settings, seed)
        for A_i, b_i, p_i, history_i in cover_fits:
            cover_rows.append(len(fits))
            fits.append((A_i, b_i, p_i, history_i))
            iou = attractor_iou(occ, A_i, b_i, p_i, len(unit), seed)
            scores.append(quality_score(iou, len(A_i), auto_penalty))

    def add_kmeans_fit(k, settings_k):
        rng = np.random.default_rng([seed, k])  # the starts draw from it first, then the steps' subsets
        starts = starting_params(unit, k, unit_init, restarts, rng, max_contraction)
        with one_torch_thread():
            A_k, b_k, history_k = optimize_maps(unit, starts, settings_k, rng, seed)
        p_k = coverage_probabilities(unit, A_k, b_k)
        fits.append((A_k, b_k, p_k, history_k))
        iou = attractor_iou(occ, A_k, b_k, p_k, len(unit), seed) if init is None or auto else 1.0
        # one map's attractor is a point: never a shape's fit
        scores.append(quality_score(iou, k, auto_penalty) + (1.0 if k == 1 else 0.0))

    # a curve (a de Rham curve, the Koch curve): thin copies may cover its cloud, but its few maps are the
    # answer, which only the k-means fits find
    curve = auto and cloud.shape[1] == 2 and fine_fill(unit, occ) < CURVE_FILL
    if init is None and auto:
        add_cover_fits(max_maps, exact=False)
        if scores and 1 - min(scores) >= KMEANS_SKIP and not curve:
            candidates = []  # the copies draw the cloud: the k-means fits would not win, and cost seconds each
    if auto and len(candidates) > 1 and steps >= _SCREEN_STEPS_MIN:
        # dust, fractal curves, shapes the copies did not fill: every count screened by a
        # short run (a fifth of the steps), the best count alone run in full
        screen = replace(settings, steps=max(1, steps // 5))
        first = len(scores)
        for k in candidates:
            add_kmeans_fit(k, screen)
        candidates = [len(fits[first + int(np.argmin(scores[first:]))][0])]
        if first and min(scores[first:]) > min(scores[:first]) + SCREEN_MARGIN:
            candidates = []  # the full run would not catch up with the copies (ring, coins): not run
    for k in candidates:
        add_kmeans_fit(k, settings)
    if init is None and not auto:
        # a given number of maps: the coverage fit too, unless the k-means fit already matches the cloud
        if not scores or 1 - min(scores) < COVER_GOOD_ENOUGH:
            add_cover_fits(candidates[0], exact=True)
    best = min(range(len(fits)), key=lambda i: (scores[i], len(fits[i][0])))
    compared = range(len(fits))
    near = [i for i in range(len(fits)) if scores[i] <= scores[best] + FINE_MARGIN]
    search_rng = np.random.default_rng([seed, 0x5EA4C4])
    # with n_maps="auto" (a given count asks for K maps, often of a fractal, where the k-means fit is kept
    # as it is: the searched fern of 4 maps was slower, its Chamfer no better)
    if auto and any(i in cover_rows for i in near) and _is_filled(occ):
        # copies of a filled shape won or came near: among them and the fits near the best, the
        # attractor that fills the shape at a finer grid, then searched

        def judge(A_m, b_m, p_m):
            return fill_quality(occ, *fine_attractor_figures(occ, A_m, b_m, p_m, seed))

        compared = sorted(set(cover_rows) | set(near))
        for i in compared:
            scores[i] = quality_score(judge(*fits[i][:3]), len(fits[i][0]), auto_penalty)
        best = min(compared, key=lambda i: (scores[i], len(fits[i][0])))

        def worst(A_m, b_m, p_m):
            return filled_worst(occ, A_m, b_m, p_m, seed)

        fits[best], fill = _searched(unit, occ, fits[best], judge, worst, search_rng, max_contraction)
        scores[best] = quality_score(fill, len(fits[best][0]), auto_penalty)
    # (a surface's copies are not searched: an attractor search on the Chamfer and Hausdorff distances to
    # the cloud raised the Chamfer distance of the dev surfaces by 4-14% after the longer polish of POLISH)
    A, b, p, history = fits[best]
    by_count = {}
    for i in compared:
        by_count[len(fits[i][0])] = min(scores[i], by_count.get(len(fits[i][0]), np.inf))

    # back to the cloud's coordinates: x = scale * u + centre
    ifs = IFS(A, b, p).conjugate(scale * np.eye(cloud.shape[1]), centre)
    return FitResult(
        ifs=ifs,
        history=history * scale,
        n_maps=len(A),
        seconds=time.perf_counter() - start,
        points=cloud,
        auto_scores=by_count if n_maps == "auto" else {},
        notes=notes,
        **verify(ifs, cloud, seed),
    )


def _searched(unit, occ, fit, judge, worst, rng, max_contraction):
    """A fit ``(A, b, p, history)`` after :func:`~ifskit.fitting.search.attractor_search` (``judge``, ``worst``), and its ``judge``.

    The search moves the maps with their shares of the shape's cells as probabilities; the
    shares of the cloud's points (:func:`~ifskit.fitting.verify.coverage_probabilities`, the
    fitter's usual ones) cost too much to follow every move, and are kept where the judge
    prefers them.
    """
    A, b, p, quality = attractor_search(occ, fit[0], fit[1], judge, rng, max_contraction, worst=worst)
    p_cloud = coverage_probabilities(unit, A, b)
    quality_cloud = judge(A, b, p_cloud)
    if quality_cloud > quality:
        p, quality = p_cloud, quality_cloud
    return (A, b, p, fit[3]), quality


def _is_filled(occ) -> bool:
    """Whether the target fills its cells: a 2D cloud, or a 3D solid (most of its cells inside it: their whole neighbourhood in the shape), not a surface."""
    if occ.dim == 2:
        return True
    return ndimage.binary_erosion(occ.grid).sum() / max(int(occ.grid.sum()), 1) >= _SOLID_INTERIOR


def _min_ratio(occ) -> float:
    """Least singular-value ratio of the polished coverage maps: :data:`MIN_RATIO` for filled 2D shapes and solids, 0 for surfaces.

    A flattened map draws a streak across a filled 2D shape or a solid; a surface's copies
    may flatten along its normal.
    """
    return MIN_RATIO[occ.dim] if _is_filled(occ) else 0.0


def _cover_fits(unit, occ, count, exact, auto, settings, seed) -> list:
    """The greedy coverage fits (:mod:`~ifskit.fitting.cover`): ``(A, b, p, history)`` of each prefix, then the polished maps.

    With ``exact`` exactly ``count`` maps or none; else the prefixes of :data:`_PREFIXES`
    below the number of maps chosen (``auto``). The polish moves the matrix entries with
    Adam so that the copies grow and turn to cover what the greedy choice left, without
    spilling. For a surface with ``auto``, :data:`SURFACE_COVERS` covers are drawn and
    polished, and the fits of the one whose polished attractor is nearest the cloud are
    returned.
    """
    draws = SURFACE_COVERS if auto and settings.steps and not _is_filled(occ) else 1
    covers = [_cover_fit(unit, occ, count, exact, auto, settings, seed, draw) for draw in range(draws)]
    covers = [fits for fits in covers if fits]  # a cover of too few copies gives no fits
    if len(covers) <= 1:
        return covers[0] if covers else []
    polished = [fits[-1] for fits in covers]
    distances = attractor_distances(
        np.stack([A for A, _, _, _ in polished]), np.stack([b for _, b, _, _ in polished]), [unit] * len(covers), seed
    )
    return covers[int(np.argmin(distances))]


def _cover_fit(unit, occ, count, exact, auto, settings, seed, draw) -> list:
    """Greedy cover number ``draw`` (0, 1, ...) of :func:`_cover_fits`: its prefixes, then its polished maps."""
    # the first draw takes the stream the single cover always had: its fits are the same
    cover_rng = np.random.default_rng([seed, 0x5EED] if draw == 0 else [seed, 0x5EED, draw])
    A, b, cover = cover_maps(occ, count, cover_rng, exact=exact)
    if not len(A) or (exact and len(A) != count):  # too few copies fit: the k-means fit alone
        return []
    prefixes = sorted({k for k in _PREFIXES if k < len(A)} | {len(A)}) if auto else [len(A)]
    out = [(A[:k], b[:k], cover_shares(cover[:k]), np.zeros(0)) for k in prefixes]
    if settings.steps:
        # (a second polish without the occupancy term, kept until the fine-grid choice, won on no
        # 2D development shape then: one polish)
        schedule = POLISH["filled" if _is_filled(occ) else "surface"]
        polish = replace(settings, steps=max(1, round(settings.steps * schedule.share)), lr=schedule.lr)
        A_p, b_p, history = _polish(unit, occ, A, b, polish, occ.dim == 2 and not exact, cover_rng, seed)
        out.append((A_p, b_p, coverage_probabilities(unit, A_p, b_p), history))
    return out


def _polish(unit, occ, A, b, settings, occupancy: bool, rng, seed):
    """Coverage maps (k, d, d), (k, d) polished: ``settings.steps`` Adam steps on their matrix entries.

    The copies grow and turn to cover what the greedy choice left, without spilling; with
    ``occupancy`` the loss adds the occupancy term (:data:`OCCUPANCY_WEIGHT`, filled 2D
    shapes), and the maps keep :func:`_min_ratio`.

    Returns
    -------
    A : ndarray, shape (k, d, d)
    b : ndarray, shape (k, d)
    history : ndarray, shape (steps,)
    """
    polish = replace(
        settings,
        parametrization="entries",
        betas=REFINE_BETAS,
        min_ratio=_min_ratio(occ),
        occupancy=occ if occupancy else None,
        occupancy_weight=OCCUPANCY_WEIGHT,
        overlap_weight=POLISH_OVERLAP_WEIGHT,
    )
    with one_torch_thread():
        start = entries_from_maps(A, b, settings.max_contraction)
        if polish.min_ratio:
            project_entries_(start, occ.dim, settings.max_contraction, polish.min_ratio)
        return optimize_maps(unit, [start], polish, rng, seed)


#: A 3D cloud whose thickness (smallest principal standard deviation) is below this share
#: of its largest is flat: it is fitted in its own plane.
FLAT_RATIO = 1e-6


def _plane_of(cloud: np.ndarray):
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


def kmeans_starts(points, n_maps: int, restarts: int = 2, seed: int = 0, max_contraction: float = 0.9) -> list:
    """The starts of :func:`fit`'s k-means fits: ``n_maps`` maps sending the cloud onto its parts, for :func:`refine`.

    Each start cuts the cloud into k-means parts (a fresh seed per start) and keeps the
    ``n_maps`` maps onto parts (or onto the cloud without a part) whose collage is nearest
    the cloud (:func:`~ifskit.fitting.starts.starting_params`): the starts from which a fit
    finds an attractor of a few maps, such as a curve's two. Drawn as :func:`fit` draws its
    first ``restarts`` starts for ``n_maps`` maps and ``seed`` (the same where the cloud has no
    repeated points, which :func:`fit` drops).

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
    centre, scale, unit = _unit_ball(cloud)
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
    (:data:`REFINE_BETAS`), not the fitter's angles and singular values, whose coupling
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
    centre, scale, unit = _unit_ball(cloud)
    starts = []
    for ifs in candidates:
        start = ifs.conjugate(np.eye(cloud.shape[1]) / scale, -centre / scale)
        if snap_rounds:
            rng = np.random.default_rng([seed, ifs.n_maps])
            start = IFS(*snap_to_parts(unit, start.A, start.b, max_contraction, rng, snap_rounds))
        starts.append(start)
    return _RefineProblem(centre, scale, unit, starts)


def _unit_ball(cloud: np.ndarray) -> tuple:
    """``(centre, scale, unit)``: the cloud (n, d) moved and scaled into the unit ball,
    ``cloud = scale * unit + centre``."""
    centre = 0.5 * (cloud.min(axis=0) + cloud.max(axis=0))
    scale = float(np.linalg.norm(cloud - centre, axis=1).max())
    return centre, scale, (cloud - centre) / scale


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
    chosen as :func:`fit` chooses it: the given maps, the polished maps in greedy order (each
    covering most of what the earlier ones miss) and their prefixes of :data:`_PREFIXES` maps
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
        Most maps of the answer, 1 to 64 (default 16, as :func:`fit`; at least ``ifs.n_maps``).
    seed : int
    lr : float
        Initial Adam learning rate of the polish.
    max_contraction : float
    device : str or torch.device, optional
    step_points : (int, int)
        Cloud points per step, as for :func:`refine`.
    penalty : float
        Penalty per map of the count's choice (:func:`fit`'s ``auto_penalty``).

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
    centre, scale, unit = _unit_ball(cloud)
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
        A_p, b_p, _ = _polish(unit, occ, A, b, settings, dim == 2, rng, seed)
        A_p, b_p, cover_p = greedy_order(A_p, b_p, cell_cover(occ, A_p, b_p, rng))
        counts = sorted({k for k in _PREFIXES if start.n_maps <= k < len(A_p)})
        candidates += [(A_p[:k], b_p[:k], cover_shares(cover_p[:k])) for k in counts]
        candidates.append((A_p, b_p, coverage_probabilities(unit, A_p, b_p)))
    scores = [quality_score(count_figure(occ, *maps, len(unit), seed), len(maps[0]), penalty) for maps in candidates]
    best = int(np.argmin(scores))
    if best == 0:
        return ifs
    A, b, p = candidates[best]
    return IFS(A, b, p).conjugate(scale * np.eye(dim), centre)
