"""The fitter's entry point: :func:`fit`, an IFS and its figures from a cloud.

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
   swap search), polished (a surface's copies longer, :data:`~ifskit.fitting.polish.POLISH`, and from
   :data:`~ifskit.fitting.polish.SURFACE_COVERS` covers, the one whose attractor is nearest the cloud kept); the attractors
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

import numpy as np

from ..errors import FormatError, IfskitWarning, ParameterError
from ..ifs import IFS
from ..ops.device import one_torch_thread, resolve_device
from .checks import check_cloud, check_integer, check_max_maps, check_n_maps, check_positive, check_settings
from .choice import (
    AUTO_PENALTY,
    attractor_iou,
    fill_quality,
    filled_worst,
    fine_attractor_figures,
    quality_score,
)
from .frame import lift_from_plane, plane_of, unit_ball
from .occupancy import CURVE_FILL, fine_fill, target_occupancy
from .optimize import OptimizerSettings, optimize_maps
from .polish import cover_fits, is_filled
from .result import FitResult
from .search import attractor_search
from .starts import starting_params
from .verify import coverage_probabilities, verify

#: Largest number of maps tried by ``n_maps="auto"`` with the k-means starts.
MAX_AUTO_MAPS = 6
#: With ``n_maps="auto"``, the k-means fits are skipped when the coverage fit's attractor
#: reaches this occupancy IoU (at the fit's resolution): the cloud is a shape the copies fill,
#: and the k-means fits cost seconds per count. Not for a curve
#: (:data:`~ifskit.fitting.occupancy.CURVE_FILL`): thin copies cover a de Rham curve's cloud, whose
#: two maps the k-means fits find (16 de Rham curves, seed 5: mean IoU 0.907 -> 0.952, two of them
#: from 16 copies to 2 maps).
COVER_GOOD_ENOUGH = 0.75
#: With ``n_maps="auto"``, the k-means fits are skipped only where the coverage fit's score (its
#: attractor's IoU at the fit's resolution, less 0.005 a map) reaches this: with 16 copies, an IoU of
#: 0.98, a cloud the copies draw. Copies polished free to overlap (:data:`~ifskit.fitting.polish.POLISH_OVERLAP_WEIGHT`) cover
#: fractal clouds too: the Heighway dragon's 16 copies passed the old threshold, :data:`COVER_GOOD_ENOUGH`,
#: and skipped the k-means fits (16 maps and IoU 0.81 at 128^2 in place of its 2 maps and 0.99;
#: benchmarks/bench_auto_catalog.py). The screens cost about 6 s a 2D fit; the real development shapes'
#: fits did not change (benchmarks/bench_real.py --seed 1).
KMEANS_SKIP = 0.9
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
# Least steps for which n_maps="auto" screens the k-means counts by short runs.
_SCREEN_STEPS_MIN = 50


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
        own plane and the maps lifted back (:func:`~ifskit.fitting.frame.lift_from_plane`); each with a note.
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
    plane = plane_of(cloud) if cloud.shape[1] == 3 and not isinstance(init, IFS) else None
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

    centre, scale, unit = unit_ball(cloud)
    unit_init = init.conjugate(np.eye(cloud.shape[1]) / scale, -centre / scale) if isinstance(init, IFS) else init
    auto = n_maps == "auto" and init is None
    # each candidate fit: maps A (k, d, d), b (k, d), probabilities p (k,), loss history
    fits, scores = [], []
    occ = target_occupancy(unit)
    cover_rows = []  # indices of the coverage fits in fits

    def add_cover_fits(count, exact):
        for A_i, b_i, p_i, history_i in cover_fits(unit, occ, count, exact, auto, settings, seed):
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
    if auto and any(i in cover_rows for i in near) and is_filled(occ):
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
