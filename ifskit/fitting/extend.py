"""DEV (to be folded into cover.py once the fitter helper is done): grow given maps into a cover."""

from __future__ import annotations

import numpy as np

from ..ifs import IFS
from ..ops.contractive import entries_from_maps, project_entries_
from ..ops.device import one_torch_thread, resolve_device
from ..render.kernels import score_cover_images
from . import cover as C
from .api import OCCUPANCY_WEIGHT, REFINE_BETAS, _min_ratio, _unit_ball
from .checks import subsample
from .choice import attractor_iou, quality_score
from .cover import cover_shares
from .occupancy import Occupancy, target_occupancy
from .optimize import OptimizerSettings, optimize_maps
from .verify import coverage_probabilities

_EXTEND_CANDIDATES = 600
_EXTEND_SOURCES = 600
_EXTEND_SWAP_ROUNDS = 2
_EXTEND_SWAP_FRESH = 300
_EXTEND_MOVES = 20


def _sources(occ, rng, count):
    cells = occ.centres
    sources = cells if len(cells) <= count else cells[rng.choice(len(cells), count, replace=False)]
    return sources + rng.uniform(-0.5, 0.5, sources.shape) * occ.cell


def _swap_search(occ, A, b, cover, sources, frames, mean, max_maps, rng, rounds, fresh, moves):
    m = len(occ.centres)
    for _ in range(rounds):
        if not len(A):
            break
        moved_A, moved_b = _moves(A, b, occ.cell, rng, moves)
        count = cover.sum(axis=0)
        missing = np.flatnonzero(count == 0)
        pool = missing if len(missing) else np.arange(m)
        centres = pool[rng.integers(len(pool), size=fresh)]
        fresh_A = C._candidate_matrices(frames[centres], C._SCALES[:-2], rng)
        fresh_b = occ.centres[centres] - fresh_A @ mean
        cand_A, cand_b = np.concatenate([moved_A, fresh_A]), np.concatenate([moved_b, fresh_b])
        admissible, cand_cover, cand_spilled = _score(occ, cand_A, cand_b, sources)
        cand_A, cand_b, cand_cover = cand_A[admissible], cand_b[admissible], cand_cover[admissible]
        cand_spilled = cand_spilled[admissible].astype(np.float32)
        if not len(cand_A):
            break
        spilled = _score(occ, A, b, sources)[2]
        cand_float = cand_cover.astype(np.float32)
        changed = False
        own = (cover & (count == 1)).sum(axis=1)
        for i in np.argsort(own, kind="stable"):
            others = count - cover[i] > 0
            value = cand_float @ (~others).astype(np.float32) - C._SPILL_COST * cand_spilled
            best = int(np.argmax(value))
            if value[best] > (cover[i] & ~others).sum() - C._SPILL_COST * spilled[i]:
                count += cand_cover[best].astype(count.dtype) - cover[i]
                A[i], b[i], cover[i], spilled[i] = cand_A[best], cand_b[best], cand_cover[best], cand_spilled[best]
                changed = True
        while len(A) < max_maps:
            value = cand_float @ (count == 0).astype(np.float32) - C._SPILL_COST * cand_spilled
            best = int(np.argmax(value))
            if value[best] < C._LEAST_GAIN * m:
                break
            A, b = np.concatenate([A, cand_A[best : best + 1]]), np.concatenate([b, cand_b[best : best + 1]])
            cover = np.concatenate([cover, cand_cover[best : best + 1]])
            spilled = np.append(spilled, cand_spilled[best])
            count += cand_cover[best]
            changed = True
        if not changed:
            break
    return A, b, cover


def _moves(A, b, cell, rng, reps):
    k, dim = b.shape
    A = np.repeat(A, reps, axis=0)
    b = np.repeat(b, reps, axis=0)
    count = len(A)
    if dim == 2:
        turn = C._rotation_2d(rng.normal(0, 0.15, count))
    else:
        turn = C.Rotation.from_rotvec(rng.normal(0, 0.15, (count, 3))).as_matrix()
    stretch = np.exp(rng.normal(0, 0.12, (count, dim)))
    A = turn @ A * stretch[:, None, :]
    A = C.clamp_singular_values(A, C._SCALES[-1], C._FLATTEST[dim])
    b = b + rng.normal(0, 1.0, (count, dim)) * cell
    return A, b


def extend_cover(occ: Occupancy, A, b, max_maps: int, rng: np.random.Generator):
    cells = occ.centres
    sources = _sources(occ, rng, _EXTEND_SOURCES)
    mean = cells.mean(axis=0)
    frames = _LocalFrames(cells)
    A, b = np.array(A, dtype=float), np.array(b, dtype=float)
    cover = _score(occ, A, b, sources)[1]
    covered = cover.any(axis=0)
    for round_ in range(2):
        missing = np.flatnonzero(~covered)
        if not len(missing) or len(A) >= max_maps:
            break
        centres = missing[rng.integers(len(missing), size=_EXTEND_CANDIDATES)]
        cand_A = C._candidate_matrices(frames[centres], C._SCALES[: len(C._SCALES) - 2 * (round_ + 1)], rng)
        cand_b = cells[centres] - cand_A @ mean
        admissible, cand_cover, _ = _score(occ, cand_A, cand_b, sources)
        cand_A, cand_b, cand_cover = cand_A[admissible], cand_b[admissible], cand_cover[admissible]
        while len(A) < max_maps and len(cand_A):
            gain = cand_cover.astype(np.float32) @ (~covered).astype(np.float32)
            best = int(np.argmax(gain))
            if gain[best] < C._LEAST_GAIN * len(cells):
                break
            A, b = np.concatenate([A, cand_A[best : best + 1]]), np.concatenate([b, cand_b[best : best + 1]])
            cover = np.concatenate([cover, cand_cover[best : best + 1]])
            covered |= cand_cover[best]
    A, b, cover = _swap_search(
        occ, A, b, cover, sources, frames, mean, max_maps, rng, _EXTEND_SWAP_ROUNDS, _EXTEND_SWAP_FRESH, _EXTEND_MOVES
    )
    return C._greedy_order(A, b, cover)


class _LocalFrames:
    def __init__(self, cells):
        self.cells = cells
        self.tree = C.cKDTree(cells)
        dim = cells.shape[1]
        self.frames = np.empty((len(cells), dim, dim))
        self.known = np.zeros(len(cells), dtype=bool)

    def __getitem__(self, indices):
        new = np.unique(indices[~self.known[indices]])
        if len(new):
            self.frames[new] = self._compute(new)
            self.known[new] = True
        return self.frames[indices]

    def _compute(self, indices):
        dim = self.cells.shape[1]
        neighbours = self.tree.query_ball_point(self.cells[indices], C._LOCAL_RADIUS)
        frames = np.empty((len(indices), dim, dim))
        for i, near in enumerate(neighbours):
            part = self.cells[near]
            if len(part) <= dim:
                frames[i] = np.eye(dim)
                continue
            _, vectors = np.linalg.eigh(np.cov(part, rowvar=False))
            frames[i] = vectors[:, ::-1]
        frames[np.linalg.det(frames) < 0, :, -1] *= -1
        return frames


def _score(occ, A, b, sources):
    m, d = len(occ.centres), occ.dim
    admissible = np.zeros(len(A), dtype=bool)
    cover = np.zeros((len(A), m), dtype=bool)
    spilled = np.zeros(len(A), dtype=np.int64)
    chunk = max(1, 2_000_000 // max(len(sources), 1))
    for start in range(0, len(A), chunk):
        part = slice(start, start + chunk)
        count = len(A[part])
        images = (A[part].reshape(-1, d) @ sources.T).reshape(count, d, -1).transpose(0, 2, 1) + b[part, None]
        score_cover_images(
            np.ascontiguousarray(images),
            occ.lo,
            occ.cell,
            occ.grid.shape[0],
            occ.spill.reshape(-1),
            occ.index.reshape(-1),
            C._SPILL_SHARE,
            C._SPILL_MAX,
            cover[part],
            spilled[part],
            admissible[part],
        )
    return admissible, cover, spilled


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
