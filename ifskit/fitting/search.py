"""Local search on the attractor: small moves of one map at a time, kept when the attractor fills the shape better.

The polish (:mod:`~ifskit.fitting.optimize`) moves the maps by the collage, which the
attractor follows only loosely: a gap between two copies, or a copy a little too small,
is copied again inside every copy, and the attractor of a filled shape comes out hatched.
The figure a person sees is the attractor's occupancy at a finer grid than the cloud's,
with its farthest miss or spill (:func:`~ifskit.fitting.choice.fill_quality`), and a
chaos game measures it in a few milliseconds: so the last step tries random small moves
of one map (turned, stretched along its own axes, shifted by a fraction of a cell) and
keeps those that raise it. The probabilities follow the maps (each map's share of the
shape's cells, :func:`~ifskit.fitting.cover.cover_shares`). A move never leaves the
contractive maps: singular values are clamped to the bound. Filled shapes only: a
surface's copies come from a longer polish instead (:data:`~ifskit.fitting.polish.POLISH`).

Random moves rarely remove the attractor's farthest spill or miss (its Hausdorff distance,
which a person sees as a stray streak or a bare tip): a share of the moves
(:data:`AIMED_SHARE`) is aimed at it. The map whose image of the shape comes nearest the
farthest point is the one that spills there (or the one to stretch towards a missed tip);
it is shifted towards the shape (at the missed point), or shrunk (grown) about its image's
centre.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from ..ops.contractive import clamp_singular_values
from .choice import Worst
from .cover import cell_cover, cover_shares
from .occupancy import Occupancy

#: Moves tried by :func:`attractor_search`, by dimension (one chaos game each, ~6 ms for a 2D
#: shape of 2,000 cells). On the 9 2D dev shapes (seeds 0 and 2) 1000 moves gave 0.004 more
#: mean IoU than 600 for 2-3 s more per fit; in 3D 1000 moves changed nothing but the time
#: (the brain 30 -> 42 s, the cortex 33 -> 51 s).
SEARCH_MOVES = {2: 1000, 3: 600}
# Standard deviations of a move: turn (radians), log-stretch of each axis, shift (cells).
_TURN = 0.04
_STRETCH = 0.04
_SHIFT = 0.3
#: Share of the moves aimed at the farthest spill or miss, when it is farther than
#: :data:`AIMED_FAR` cells (nearer, it is the sampling of the target's cells).
AIMED_SHARE = 0.3
AIMED_FAR = 1.5
# Shape points whose images find the map nearest the farthest point.
_AIMED_SOURCES = 400


def attractor_search(
    occ: Occupancy,
    A: np.ndarray,
    b: np.ndarray,
    judge: Callable[[np.ndarray, np.ndarray, np.ndarray], float],
    rng: np.random.Generator,
    max_contraction: float,
    moves: int | None = None,
    worst: Callable[[np.ndarray, np.ndarray, np.ndarray], Worst] | None = None,
):
    """Maps whose attractor is closer to the target, by random moves of one map at a time.

    Parameters
    ----------
    occ : Occupancy
        Of the normalized cloud.
    A : ndarray, shape (k, d, d)
    b : ndarray, shape (k, d)
    judge : callable
        ``judge(A, b, p)``, the larger the better: for a filled shape
        :func:`~ifskit.fitting.choice.fill_quality` of its fine figures, with a fixed seed
        (a move is compared with the maps it changes, not with chance).
    rng : numpy.random.Generator
        Draws the moves.
    max_contraction : float
    moves : int, optional
        Moves tried; default :data:`SEARCH_MOVES` of the dimension.
    worst : callable, optional
        ``worst(A, b, p)``: where the attractor is farthest from the target
        (:func:`~ifskit.fitting.choice.filled_worst`), with the judge's seed; given, a
        share :data:`AIMED_SHARE` of the moves aims at it. None: random moves only.

    Returns
    -------
    A : ndarray, shape (k, d, d)
    b : ndarray, shape (k, d)
    p : ndarray, shape (k,)
        The maps' shares of the shape's cells.
    quality : float
        ``judge`` of the result.
    """
    A, b = A.copy(), b.copy()
    k = len(A)
    cover = cell_cover(occ, A, b, rng)
    best = judge(A, b, cover_shares(cover))
    far = None
    if worst is not None:
        far = worst(A, b, cover_shares(cover))
        shape = occ.centres[rng.permutation(len(occ.centres))[:_AIMED_SOURCES]]
        tree = cKDTree(occ.centres)
    for _ in range(SEARCH_MOVES[occ.dim] if moves is None else moves):
        if far is not None and far.far > AIMED_FAR and rng.random() < AIMED_SHARE:
            i, A_i, b_i = _aimed_move(A, b, far, shape, tree, rng, max_contraction)
        else:
            i = int(rng.integers(k))
            A_i, b_i = _move(A[i], b[i], occ.cell, rng, max_contraction)
        A_new, b_new, cover_new = A.copy(), b.copy(), cover.copy()
        A_new[i], b_new[i] = A_i, b_i
        cover_new[i] = cell_cover(occ, A_i[None], b_i[None], rng)[0]
        quality = judge(A_new, b_new, cover_shares(cover_new))
        if quality > best:
            A, b, cover, best = A_new, b_new, cover_new, quality
            far = worst(A, b, cover_shares(cover)) if worst is not None else None
    return A, b, cover_shares(cover), best


def _aimed_move(A, b, far: Worst, shape, tree, rng, max_contraction):
    """A move of the map nearest the attractor's farthest point: ``(i, A_i, b_i)``.

    The map ``i`` whose image of the ``shape`` points (S, d) comes nearest ``far.point``
    moves so that the image point ``z`` nearest it goes (a random share of the way) to where
    it should be: for spill from ``far.point`` to the shape, for a miss to ``far.point``.
    Half the time the whole image is shifted; else it is stretched (a miss) or squeezed
    (spill) along that direction, its other end staying.
    """
    images = np.einsum("kij,sj->ksi", A, shape) + b[:, None, :]
    gaps = np.linalg.norm(images - far.point, axis=-1)  # (k, S)
    i = int(np.argmin(gaps.min(axis=1)))
    if far.spill:
        z = far.point
        goal = tree.data[tree.query(far.point)[1]]
    else:
        z, goal = images[i, int(np.argmin(gaps[i]))], far.point
    way = rng.uniform(0.3, 1.1) * (goal - z)
    if rng.random() < 0.5:
        return i, A[i], b[i] + way
    length = float(np.linalg.norm(way))
    if length == 0.0:
        return i, A[i], b[i]
    n = way / length
    along = (images[i] - z) @ n
    # the image's other end along n stays: behind z for a miss (stretched), ahead of it for spill (squeezed)
    reach = float(along.max() if far.spill else -along.min())
    if reach <= length:
        return i, A[i], b[i] + way
    anchor = z + (reach if far.spill else -reach) * n
    factor = 1.0 - length / reach if far.spill else 1.0 + length / reach
    stretch = np.eye(len(n)) + (factor - 1.0) * np.outer(n, n)
    A_i = clamp_singular_values(stretch @ A[i], max_contraction)
    return i, A_i, anchor + stretch @ (b[i] - anchor)


def _move(A_i: np.ndarray, b_i: np.ndarray, cell: float, rng: np.random.Generator, max_contraction: float):
    """One map (d, d), (d,) turned, stretched along its input axes and shifted a little, within the bound."""
    dim = len(b_i)
    if dim == 2:
        angle = rng.normal(0, _TURN)
        turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    else:
        turn = Rotation.from_rotvec(rng.normal(0, _TURN, 3)).as_matrix()
    stretch = np.exp(rng.normal(0, _STRETCH, dim))
    A_i = clamp_singular_values(turn @ A_i * stretch[None, :], max_contraction)
    return A_i, b_i + rng.normal(0, _SHIFT, dim) * cell
