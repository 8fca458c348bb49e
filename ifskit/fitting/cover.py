"""Greedy coverage starts: shrunken, turned copies of the shape that lie inside it and together cover it.

The collage theorem's own picture: if every map's image of the shape ``T`` lies inside
``T`` (no spill) and the images cover ``T``, the attractor is ``T``. Maps whose images
are thin scribbles through the shape (a flattened map) cover little of a filled shape;
copies of the whole shape, shrunken, turned, and squashed only as much as the part they
sit in needs (a stroke of a glyph, the tangent disc of a surface), do.

A large set of candidate maps ``w(x) = c + A (x - m)`` (``m`` the centroid of the shape's
cells, ``c`` a cell of the shape, ``A = U diag(s) V^T`` with ``U`` from the principal
frame of the shape around ``c`` or random, ``V`` random, a few scales and aspect ratios)
is scored on the centres of the shape's cells (:mod:`~ifskit.fitting.occupancy`): the
share of image points outside the shape and their largest distance to it (spill), and
which cells of the shape the image covers. Among the candidates whose spill is small,
the one covering the most cells not yet covered is picked, again and again; a second
round of candidates is centred on the cells still uncovered, with smaller scales, where
the first round's copies did not fit (tips, thin parts). Maps whose cells the others
cover are dropped. Thousands of candidates are scored in about a second (a Numba pass,
:func:`~ifskit.render.kernels.score_cover_images`, over their images).

:func:`extend_cover` is the same search started from given maps (the encoder's answer):
copies are added only where those maps miss the shape, with a smaller budget.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from ..ops.contractive import clamp_singular_values
from ..render.kernels import score_cover_images
from .occupancy import Occupancy

# Scales (largest singular value) of the candidates; copies above 0.6 rarely fit and
# slow the chaos game's convergence (the collage bound e / (1 - s)).
_SCALES = (0.08, 0.12, 0.17, 0.23, 0.3, 0.38, 0.47, 0.58)
# Aspect ratios (smallest / largest singular value) of 2D candidates; the floor keeps
# every image two-dimensional (a flattened map draws a line).
_RATIOS_2D = (1.0, 0.7, 0.5, 0.33, 0.2, 0.12, 0.07)
# Ratios of the middle and the last singular value in 3D; a small last one is a disc,
# the copy of a surface around a point (squashed along the local normal).
_RATIOS_3D = ((1.0, 1.0), (1.0, 0.6), (0.7, 0.5), (1.0, 0.25), (1.0, 0.1), (0.6, 0.1))
# Least ratio of the smallest to the largest singular value of any candidate.
_FLATTEST = {2: min(_RATIOS_2D), 3: min(r[1] for r in _RATIOS_3D)}
# Candidates per round.
_CANDIDATES = {2: 4000, 3: 3000}
# Largest share of a candidate's image points outside the shape, and largest distance
# (in cells) of any of them: images one cell off the shape's edge are sampling noise.
_SPILL_SHARE = 0.02
_SPILL_MAX = 1.5
# Most source points (cell centres) whose images score a candidate.
_SOURCES = 2500
# Radius (unit-ball units) of the neighbourhood whose principal frame orients a candidate.
_LOCAL_RADIUS = 0.12
# Coverage at which the greedy choice stops, and least new cells (share) worth a map.
_ENOUGH = 0.995
_LEAST_GAIN = 0.002
# Rounds of the swap search, new copies per round, and small moves of each chosen map per round.
_SWAP_ROUNDS = 4
_SWAP_FRESH = {2: 1500, 3: 1000}
_MOVES = 60
# The budget of extend_cover: candidates per round, source points, swap rounds, new copies and
# moves of each map per round. From the shipped 2D encoder's one shot on the 2D development shapes
# of benchmarks/bench_real.py (seed 0), followed by 30 polish steps, mean IoU 0.736 with
# (1000, 1000, 2, 500, 30), 0.732 with these at two thirds of the time, 0.690 with one swap round.
_EXTEND_BUDGET = (600, 600, 2, 300, 20)
# Cost of a cell outside the shape that a map's image reaches, against a cell of the shape it
# covers, in the swap search: as in the occupancy IoU, a spilled cell costs what a missed one does.
_SPILL_COST = 1.0


def cover_maps(occ: Occupancy, max_maps: int, rng: np.random.Generator, exact: bool = False):
    """Maps whose images of the shape lie inside it and cover it, chosen greedily.

    Parameters
    ----------
    occ : Occupancy
        The target (:func:`~ifskit.fitting.occupancy.target_occupancy` of the normalized cloud).
    max_maps : int
        Most maps (exactly this many with ``exact``).
    rng : numpy.random.Generator
    exact : bool
        Pick ``max_maps`` maps even when fewer cover the shape (a given ``n_maps``).

    Returns
    -------
    A : ndarray, shape (k, d, d)
    b : ndarray, shape (k, d)
    cover : ndarray of bool, shape (k, m)
        The cells of the shape (``occ.centres``) each map's image covers, maps in the
        order they were picked (the most new cells first): a prefix of them is the
        greedy choice with fewer maps. :func:`cover_shares` gives probabilities.
    """
    dim = occ.dim
    cells = occ.centres
    sources = _sources(occ, rng, _SOURCES)
    mean = cells.mean(axis=0)
    frames = _LocalFrames(cells)
    chosen_A, chosen_b, chosen_cover = [], [], []
    covered = np.zeros(len(cells), dtype=bool)
    for round_ in range(3):
        if covered.all() or len(chosen_A) >= max_maps:
            break
        if round_ == 0:
            centres = rng.integers(len(cells), size=_CANDIDATES[dim])
            scales = _SCALES
        else:  # where the copies so far miss the shape, smaller ones
            missing = np.flatnonzero(~covered)
            centres = missing[rng.integers(len(missing), size=_CANDIDATES[dim])]
            scales = _SCALES[: len(_SCALES) - 2 * round_]
        A = _candidate_matrices(frames[centres], scales, rng)
        b = cells[centres] - A @ mean
        admissible, cover, _ = _score(occ, A, b, sources)
        A, b, cover = A[admissible], b[admissible], cover[admissible]
        while len(chosen_A) < max_maps and len(A):
            gain = cover.astype(np.float32) @ (~covered).astype(np.float32)  # new cells of each candidate
            best = int(np.argmax(gain))
            if gain[best] < _LEAST_GAIN * len(cells) and not (exact and round_ == 2):
                break
            chosen_A.append(A[best])
            chosen_b.append(b[best])
            chosen_cover.append(cover[best])
            covered |= cover[best]
            if covered.mean() >= _ENOUGH and not exact:
                break
        if covered.mean() >= _ENOUGH and not exact:
            break
    if not chosen_A:  # nothing fits inside the shape (dust, a line): the caller's other starts
        return np.zeros((0, dim, dim)), np.zeros((0, dim)), np.zeros((0, len(cells)), dtype=bool)
    A, b, cover = np.array(chosen_A), np.array(chosen_b), np.array(chosen_cover)
    if not exact:
        keep = _drop_redundant(cover)
        A, b, cover = A[keep], b[keep], cover[keep]
    A, b, cover = _swap_search(
        occ, A, b, cover, sources, frames, mean, max_maps, rng, _SWAP_ROUNDS, _SWAP_FRESH[dim], _MOVES
    )
    return greedy_order(A, b, cover)


def extend_cover(occ: Occupancy, A: np.ndarray, b: np.ndarray, max_maps: int, rng: np.random.Generator):
    """Given maps grown into a cover of the shape: copies added where they miss it, then the swap search.

    The search of :func:`cover_maps` started from maps that already cover part of the shape
    (the encoder's answer), with a smaller budget (:data:`_EXTEND_BUDGET`): candidate copies
    centred on the cells the maps miss are added greedily (a second round with smaller
    copies) while one covers :data:`_LEAST_GAIN` of the cells and there are fewer than
    ``max_maps``; then :func:`_swap_search`, which may also replace a given map that spills
    or covers what the others cover.

    Parameters
    ----------
    occ : Occupancy
        The target, as for :func:`cover_maps`.
    A : ndarray, shape (k, d, d)
    b : ndarray, shape (k, d)
        The given maps, in the frame of ``occ`` (the normalized cloud).
    max_maps : int
        Most maps of the result (at least ``k``).
    rng : numpy.random.Generator

    Returns
    -------
    A : ndarray, shape (k', d, d)
    b : ndarray, shape (k', d)
    cover : ndarray of bool, shape (k', m)
        As :func:`cover_maps` returns them (greedy order); ``k <= k' <= max_maps``.
    """
    candidates, sources_count, rounds, fresh, moves = _EXTEND_BUDGET
    cells = occ.centres
    sources = _sources(occ, rng, sources_count)
    mean = cells.mean(axis=0)
    frames = _LocalFrames(cells)
    A, b = np.array(A, dtype=float), np.array(b, dtype=float)
    cover = _score(occ, A, b, sources)[1]
    covered = cover.any(axis=0)
    for round_ in range(2):  # the second round: smaller copies where the first ones did not fit
        missing = np.flatnonzero(~covered)
        if not len(missing) or len(A) >= max_maps:
            break
        centres = missing[rng.integers(len(missing), size=candidates)]
        cand_A = _candidate_matrices(frames[centres], _SCALES[: len(_SCALES) - 2 * (round_ + 1)], rng)
        cand_b = cells[centres] - cand_A @ mean
        admissible, cand_cover, _ = _score(occ, cand_A, cand_b, sources)
        cand_A, cand_b, cand_cover = cand_A[admissible], cand_b[admissible], cand_cover[admissible]
        while len(A) < max_maps and len(cand_A):
            gain = cand_cover.astype(np.float32) @ (~covered).astype(np.float32)
            best = int(np.argmax(gain))
            if gain[best] < _LEAST_GAIN * len(cells):
                break
            A, b = np.concatenate([A, cand_A[best : best + 1]]), np.concatenate([b, cand_b[best : best + 1]])
            cover = np.concatenate([cover, cand_cover[best : best + 1]])
            covered |= cand_cover[best]
    A, b, cover = _swap_search(occ, A, b, cover, sources, frames, mean, max_maps, rng, rounds, fresh, moves)
    return greedy_order(A, b, cover)


def cover_shares(cover: np.ndarray) -> np.ndarray:
    """Share of the shape's cells of each map, a cell covered by several maps split among them: (k,) from (k, m) bool."""
    count = cover.sum(axis=0)
    share = (cover / np.maximum(count, 1)).sum(axis=1)
    share = np.maximum(share, 1e-3 * max(share.sum(), 1e-12))
    return share / share.sum()


def cell_cover(occ: Occupancy, A: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Which cells of the shape each map's image of it covers: bool (k, m), for maps (k, d, d), (k, d).

    The images of :func:`_sources`.
    """
    return _score(occ, A, b, _sources(occ, rng, _SOURCES))[1]


def _sources(occ: Occupancy, rng: np.random.Generator, count: int) -> np.ndarray:
    """At most ``count`` cell centres of the shape, jittered within their cells (no grid aliasing of the images): (S, d)."""
    cells = occ.centres
    sources = cells if len(cells) <= count else cells[rng.choice(len(cells), count, replace=False)]
    return sources + rng.uniform(-0.5, 0.5, sources.shape) * occ.cell


def _score(occ: Occupancy, A: np.ndarray, b: np.ndarray, sources: np.ndarray):
    """Which candidates spill little, and which cells of the shape each covers.

    Parameters
    ----------
    occ : Occupancy
    A : ndarray, shape (C, d, d)
    b : ndarray, shape (C, d)
    sources : ndarray, shape (S, d)

    Returns
    -------
    admissible : ndarray of bool, shape (C,)
    cover : ndarray of bool, shape (C, m)
    spilled : ndarray of int, shape (C,)
        Cells outside the shape (on the grid) that each image reaches.
    """
    m, d = len(occ.centres), occ.dim
    admissible = np.zeros(len(A), dtype=bool)
    cover = np.zeros((len(A), m), dtype=bool)
    spilled = np.zeros(len(A), dtype=np.int64)
    size, spill, index = occ.grid.shape[0], occ.spill.reshape(-1), occ.index.reshape(-1)
    chunk = max(1, 2_000_000 // max(len(sources), 1))
    for start in range(0, len(A), chunk):
        part = slice(start, start + chunk)
        # one matrix product (c*d, d) @ (d, S): the images (c, S, d) at BLAS speed
        count = len(A[part])
        images = (A[part].reshape(-1, d) @ sources.T).reshape(count, d, -1).transpose(0, 2, 1) + b[part, None]
        score_cover_images(
            images,
            occ.lo,
            occ.cell,
            size,
            spill,
            index,
            _SPILL_SHARE,
            _SPILL_MAX,
            cover[part],
            spilled[part],
            admissible[part],
        )
    return admissible, cover, spilled


def _swap_search(occ, A, b, cover, sources, frames, mean, max_maps, rng, rounds, fresh, moves):
    """Local search on the greedy choice: each map swapped for the candidate that adds most to what the others cover.

    The greedy choice is fixed once picked: an early, large copy may leave slivers that
    later ones cannot fill without spilling. Each round scores a fresh pool: small moves
    of the chosen maps (turned, scaled, shifted, squashed a little) and new copies centred
    on the cells still uncovered; then, map by map (the one covering fewest cells of its
    own first), the candidate covering most cells that the other maps miss, less the cells
    outside the shape it reaches (:data:`_SPILL_COST`), replaces it when it does better
    than the map; free slots (up to ``max_maps``) are filled while a candidate adds
    :data:`_LEAST_GAIN` of the cells. At most ``rounds`` rounds, each with ``fresh`` new copies
    and ``moves`` moves of each map.
    """
    m = len(occ.centres)
    for _ in range(rounds):
        if not len(A):
            break
        moved_A, moved_b = _moves(A, b, occ.cell, rng, moves)
        count = cover.sum(axis=0)
        missing = np.flatnonzero(count == 0)
        pool = missing if len(missing) else np.arange(m)
        centres = pool[rng.integers(len(pool), size=fresh)]
        fresh_A = _candidate_matrices(frames[centres], _SCALES[:-2], rng)
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
            value = cand_float @ (~others).astype(np.float32) - _SPILL_COST * cand_spilled
            best = int(np.argmax(value))
            if value[best] > (cover[i] & ~others).sum() - _SPILL_COST * spilled[i]:
                count += cand_cover[best].astype(count.dtype) - cover[i]
                A[i], b[i], cover[i], spilled[i] = cand_A[best], cand_b[best], cand_cover[best], cand_spilled[best]
                changed = True
        while len(A) < max_maps:
            value = cand_float @ (count == 0).astype(np.float32) - _SPILL_COST * cand_spilled
            best = int(np.argmax(value))
            if value[best] < _LEAST_GAIN * m:
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
    """Small random moves of maps (k, d, d), (k, d): ``reps`` each, turned, scaled, squashed and shifted a little."""
    k, dim = b.shape
    A = np.repeat(A, reps, axis=0)
    b = np.repeat(b, reps, axis=0)
    count = len(A)
    if dim == 2:
        turn = _rotation_2d(rng.normal(0, 0.15, count))
    else:
        turn = Rotation.from_rotvec(rng.normal(0, 0.15, (count, 3))).as_matrix()
    stretch = np.exp(rng.normal(0, 0.12, (count, dim)))
    A = turn @ A * stretch[:, None, :]
    # never larger than the largest candidate scale, nor flatter than the flattest ratio
    A = clamp_singular_values(A, _SCALES[-1], _FLATTEST[dim])
    b = b + rng.normal(0, 1.0, (count, dim)) * cell
    return A, b


def greedy_order(A, b, cover):
    """The maps in greedy order (each covering the most cells the earlier ones miss): prefixes are the best few."""
    order, covered = [], np.zeros(cover.shape[1], dtype=bool)
    left = list(range(len(A)))
    while left:
        gains = [int((cover[j] & ~covered).sum()) for j in left]
        j = left.pop(int(np.argmax(gains)))
        order.append(j)
        covered |= cover[j]
    return A[order], b[order], cover[order]


def _drop_redundant(cover: np.ndarray) -> np.ndarray:
    """Indices of the maps kept when each map whose cells the others cover (all but 1%) is dropped, smallest first."""
    keep = list(range(len(cover)))
    for i in sorted(keep, key=lambda j: cover[j].sum()):
        others = [j for j in keep if j != i]
        if not others:
            break
        own = cover[i] & ~cover[others].any(axis=0)
        if own.sum() <= 0.01 * cover[i].sum():
            keep = others
    return np.array(sorted(keep))


class _LocalFrames:
    """Principal frames (d, d) of the shape's cells around each cell (columns: major axis first), each computed when first asked for.

    ``frames[indices]`` is (n, d, d) for cell indices (n,): :func:`extend_cover`, which places
    copies only on the cells the given maps miss, pays for those cells alone.
    """

    def __init__(self, cells: np.ndarray):
        self.cells = cells
        self.tree = cKDTree(cells)
        dim = cells.shape[1]
        self.frames = np.empty((len(cells), dim, dim))
        self.known = np.zeros(len(cells), dtype=bool)

    def __getitem__(self, indices: np.ndarray) -> np.ndarray:
        new = np.unique(indices[~self.known[indices]])
        if len(new):
            self.frames[new] = self._compute(new)
            self.known[new] = True
        return self.frames[indices]

    def _compute(self, indices: np.ndarray) -> np.ndarray:
        dim = self.cells.shape[1]
        neighbours = self.tree.query_ball_point(self.cells[indices], _LOCAL_RADIUS)
        frames = np.empty((len(indices), dim, dim))
        for i, near in enumerate(neighbours):
            part = self.cells[near]
            if len(part) <= dim:
                frames[i] = np.eye(dim)
                continue
            _, vectors = np.linalg.eigh(np.cov(part, rowvar=False))
            frames[i] = vectors[:, ::-1]
        # a proper rotation: the last axis (the normal of a surface) flipped where needed
        frames[np.linalg.det(frames) < 0, :, -1] *= -1
        return frames


def _candidate_matrices(frames: np.ndarray, scales, rng: np.random.Generator) -> np.ndarray:
    """Candidate linear parts ``U diag(s) V^T`` (C, d, d), one per local frame ``U`` (C, d, d).

    Half the candidates keep the local frame (their long axes along the part they sit
    in), half turn it at random; ``V`` is a random rotation, a reflection for half.
    """
    count, dim = frames.shape[0], frames.shape[1]
    s1 = np.asarray(scales)[rng.integers(len(scales), size=count)]
    if dim == 2:
        ratio = np.asarray(_RATIOS_2D)[rng.integers(len(_RATIOS_2D), size=count)]
        sigma = np.stack([s1, s1 * ratio], axis=1)
        turn = np.where(rng.random(count) < 0.5, 0.0, rng.uniform(0, 2 * np.pi, count))
        U = frames @ _rotation_2d(turn)
        V = _rotation_2d(rng.uniform(0, 2 * np.pi, count))
    else:
        ratio = np.asarray(_RATIOS_3D)[rng.integers(len(_RATIOS_3D), size=count)]
        sigma = np.stack([s1, s1 * ratio[:, 0], s1 * ratio[:, 1]], axis=1)
        # turned about the local normal (the frame's last axis), or at random
        spin = np.zeros((count, 3, 3))
        spin[:, :2, :2] = _rotation_2d(rng.uniform(0, 2 * np.pi, count))
        spin[:, 2, 2] = 1.0
        free = rng.random(count) < 0.3
        U = frames @ spin
        U[free] = Rotation.random(int(free.sum()), random_state=rng).as_matrix()
        V = Rotation.random(count, random_state=rng).as_matrix()
    flip = rng.random(count) < 0.5
    V[flip, :, -1] *= -1
    return U @ (sigma[:, :, None] * np.swapaxes(V, -1, -2))


def _rotation_2d(angle: np.ndarray) -> np.ndarray:
    """Rotations (n, 2, 2) by ``angle`` (n,)."""
    cos, sin = np.cos(angle), np.sin(angle)
    return np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
