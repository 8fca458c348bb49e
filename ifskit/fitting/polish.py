"""The coverage fits: greedy covers of copies of the shape, polished.

:func:`cover_fits` draws the greedy cover of :mod:`~ifskit.fitting.cover` (for a surface,
:data:`SURFACE_COVERS` of them, the one whose polished attractor is nearest the cloud kept) and
returns its prefixes and its polished maps, which :func:`~ifskit.fitting.fit` compares with the
k-means fits. :func:`polish_copies` is the polish: Adam on the matrix entries
(:func:`~ifskit.fitting.optimize.optimize_maps`) with the schedule of :data:`POLISH`, the
occupancy term for filled 2D shapes and no overlap penalty; :func:`~ifskit.fitting.grow` polishes
its grown maps with it too.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np
from scipy import ndimage

from ..ops.contractive import entries_from_maps, project_entries_
from ..ops.device import one_torch_thread
from .choice import attractor_distances
from .cover import cover_maps, cover_shares
from .optimize import REFINE_BETAS, optimize_maps
from .verify import coverage_probabilities

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
#: Order of the power mean of the distances (:class:`~ifskit.fitting.optimize.OptimizerSettings` ``power``)
#: in a surface's polish, by :func:`~ifskit.fitting.fit` and :func:`~ifskit.fitting.grow`; filled shapes keep
#: the mean (order 1). A copy of the whole shape laid along a limb juts out of the cloud with the shape's
#: other limbs: a few points that the mean hardly weighs, and the attractor copies at every scale. On the
#: development surfaces (nut, ant, frog, cortex, topobathy, Jacksboro; seeds 0 and 2) the attractor's
#: Hausdorff distance to the truth fell from 6.71% to 5.32% of the diagonal on average (worst 13.55 ->
#: 7.94%, the ant), the Chamfer distance the same (0.610 -> 0.609%; worst 0.828 -> 0.850%, the nut); order
#: 2: 5.68%; order 4: the nut's Chamfer distance up to 0.96%. In the encoder's growth (30 steps;
#: benchmarks/bench_encoder_real.py --no-fitter, 3D, seeds 0 and 2): Chamfer 0.638 -> 0.624% and 0.665 ->
#: 0.659%, Hausdorff 7.33 -> 6.04% and 9.00 -> 6.23%.
SURFACE_POWER = 3.0
#: Greedy covers drawn for a surface with ``n_maps="auto"``, each polished; the one whose attractor is
#: nearest the cloud (Chamfer, :func:`~ifskit.fitting.choice.attractor_distances`) is kept. Where a
#: surface's first copies land decides what its polish reaches: with the fit's seed alone (0-4, on one
#: cloud of each) the nut's attractor Chamfer distance to the truth ranged over 0.81-1.00% of the
#: diagonal with one cover. About 10 s more per surface.
SURFACE_COVERS = 2
# Share of a 3D shape's cells inside it (eroded grid) from which it is a solid: most of them. Below, thin
# walls and folds (a pial cortex 0.45-0.49, a frog's tissues 0.40-0.41; a brain mask 0.65) fit closer
# as a surface: at 0.4, the cortex of seeds 0 and 2 Chamfer 0.869 / 0.923%, Hausdorff 5.2 / 7.1%, IoU
# 0.36 / 0.34; at 0.5, 0.731 / 0.752%, 5.7 / 5.3%, 0.41 / 0.41 (the frog of seed 2: 0.610 -> 0.531%).
_SOLID_INTERIOR = 0.5
#: Counts of maps (prefixes of the greedy choice) whose attractors ``n_maps="auto"`` compares.
PREFIXES = (2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64)


def is_filled(occ) -> bool:
    """Whether the target fills its cells: a 2D cloud, or a 3D solid (most of its cells inside it: their whole neighbourhood in the shape), not a surface."""
    if occ.dim == 2:
        return True
    return ndimage.binary_erosion(occ.grid).sum() / max(int(occ.grid.sum()), 1) >= _SOLID_INTERIOR


def cover_fits(unit, occ, count, exact, auto, settings, seed) -> list:
    """The greedy coverage fits (:mod:`~ifskit.fitting.cover`): ``(A, b, p, history)`` of each prefix, then the polished maps.

    With ``exact`` exactly ``count`` maps or none; else the prefixes of :data:`PREFIXES`
    below the number of maps chosen (``auto``). The polish moves the matrix entries with
    Adam so that the copies grow and turn to cover what the greedy choice left, without
    spilling. For a surface with ``auto``, :data:`SURFACE_COVERS` covers are drawn and
    polished, and the fits of the one whose polished attractor is nearest the cloud are
    returned.
    """
    draws = SURFACE_COVERS if auto and settings.steps and not is_filled(occ) else 1
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
    """Greedy cover number ``draw`` (0, 1, ...) of :func:`cover_fits`: its prefixes, then its polished maps."""
    # the first draw takes the stream the single cover always had: its fits are the same
    cover_rng = np.random.default_rng([seed, 0x5EED] if draw == 0 else [seed, 0x5EED, draw])
    A, b, cover = cover_maps(occ, count, cover_rng, exact=exact)
    if not len(A) or (exact and len(A) != count):  # too few copies fit: the k-means fit alone
        return []
    prefixes = sorted({k for k in PREFIXES if k < len(A)} | {len(A)}) if auto else [len(A)]
    out = [(A[:k], b[:k], cover_shares(cover[:k]), np.zeros(0)) for k in prefixes]
    if settings.steps:
        # (a second polish without the occupancy term, kept until the fine-grid choice, won on no
        # 2D development shape then: one polish)
        schedule = POLISH["filled" if is_filled(occ) else "surface"]
        polish = replace(settings, steps=max(1, round(settings.steps * schedule.share)), lr=schedule.lr)
        A_p, b_p, history = polish_copies(unit, occ, A, b, polish, occ.dim == 2 and not exact, cover_rng, seed)
        out.append((A_p, b_p, coverage_probabilities(unit, A_p, b_p), history))
    return out


def polish_copies(unit, occ, A, b, settings, occupancy: bool, rng, seed):
    """Coverage maps (k, d, d), (k, d) polished: ``settings.steps`` Adam steps on their matrix entries.

    The copies grow and turn to cover what the greedy choice left, without spilling; with
    ``occupancy`` the loss adds the occupancy term (:data:`OCCUPANCY_WEIGHT`, filled 2D
    shapes). A filled shape's maps keep the singular-value ratio :data:`MIN_RATIO` (a
    flattened map draws a streak across it); a surface's copies may flatten along its
    normal, and its distances are averaged as the power mean of order :data:`SURFACE_POWER`
    (``settings.power`` is replaced).

    Returns
    -------
    A : ndarray, shape (k, d, d)
    b : ndarray, shape (k, d)
    history : ndarray, shape (steps,)
    """
    filled = is_filled(occ)
    polish = replace(
        settings,
        parametrization="entries",
        betas=REFINE_BETAS,
        min_ratio=MIN_RATIO[occ.dim] if filled else 0.0,
        occupancy=occ if occupancy else None,
        occupancy_weight=OCCUPANCY_WEIGHT,
        overlap_weight=POLISH_OVERLAP_WEIGHT,
        power=1.0 if filled else SURFACE_POWER,
    )
    with one_torch_thread():
        start = entries_from_maps(A, b, settings.max_contraction)
        if polish.min_ratio:
            project_entries_(start, occ.dim, settings.max_contraction, polish.min_ratio)
        return optimize_maps(unit, [start], polish, rng, seed)
