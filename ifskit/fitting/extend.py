"""DEV (to be folded into api.py once the fitter helper is done): grow given maps into a cover, then polish."""

from __future__ import annotations

import numpy as np

from ..ifs import IFS
from ..ops.contractive import entries_from_maps, project_entries_
from ..ops.device import one_torch_thread, resolve_device
from .api import OCCUPANCY_WEIGHT, REFINE_BETAS, _min_ratio, _unit_ball
from .checks import subsample
from .choice import attractor_iou, quality_score
from .cover import cover_shares, extend_cover
from .occupancy import target_occupancy
from .optimize import OptimizerSettings, optimize_maps
from .verify import coverage_probabilities


def grow(
    points,
    ifs,
    steps,
    *,
    max_maps=16,
    seed=0,
    lr=0.03,
    max_contraction=0.9,
    device=None,
    step_points=(1024, 2048),
    force=False,
):
    cloud = subsample(np.asarray(points, dtype=float), seed)
    centre, scale, unit = _unit_ball(cloud)
    dim = cloud.shape[1]
    occ = target_occupancy(unit)
    start = ifs.conjugate(np.eye(dim) / scale, -centre / scale)
    rng = np.random.default_rng([seed, 0x6709])
    A, b, cover = extend_cover(occ, start.A, start.b, max_maps, rng)
    p = cover_shares(cover)
    before = quality_score(attractor_iou(occ, start.A, start.b, start.p, len(unit), seed), start.n_maps, 0.05)
    after = quality_score(attractor_iou(occ, A, b, p, len(unit), seed), len(A), 0.05)
    if after >= before and not force:
        return None
    settings = OptimizerSettings(
        steps=steps,
        lr=lr,
        max_contraction=max_contraction,
        device=resolve_device(device, "fit"),
        progress=False,
        parametrization="entries",
        betas=REFINE_BETAS,
        min_ratio=_min_ratio(occ),
        occupancy=occ if dim == 2 else None,
        occupancy_weight=OCCUPANCY_WEIGHT,
        step_points=step_points,
    )
    with one_torch_thread():
        entries = entries_from_maps(A, b, max_contraction)
        if settings.min_ratio:
            project_entries_(entries, dim, max_contraction, settings.min_ratio)
        A_p, b_p, _ = optimize_maps(unit, [entries], settings, rng, seed)
    p_p = coverage_probabilities(unit, A_p, b_p)
    if quality_score(attractor_iou(occ, A_p, b_p, p_p, len(unit), seed), len(A_p), 0.05) <= after or dim == 3:
        A, b, p = A_p, b_p, p_p
    return IFS(A, b, p).conjugate(scale * np.eye(dim), centre)
