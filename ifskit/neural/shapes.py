"""Procedural shapes that are not attractors: the clouds users bring, drawn at random for training.

The encoder trained only on attractors of random IFS answers real shapes (letters,
silhouettes, scans) with scribbles. These generators draw the kinds of cloud people
have, uniformly over an area, a volume or a surface, so that training sees them:

2D (filled regions, sampled uniformly over their area)
    ``polygon``: a random star-shaped polygon with up to two polygonal holes;
    ``ellipses``: a union of 2-6 ellipses; ``strokes``: 1-4 thick curved strokes, as
    letters and symbols are drawn; ``outline``: a closed noisy band (a ring, a thin
    outline of a silhouette).
3D
    ``extrusion``: a 2D shape above given a thickness (a solid); ``revolution``: a
    solid of revolution of a random profile, sometimes hollow (a vase, a nut);
    ``blob``: a union of ellipsoids, solid or its surface; ``height_field``: a surface
    ``z = f(x, y)`` of random bumps (a terrain).

Every shape is turned and stretched at random, then centred and scaled into the unit
ball. A shape is a pure function of its generator's state: same stream, same cloud.
2D regions are rasterized on a grid (:data:`GRID`) and sampled per cell with a uniform
jitter inside the cell, which keeps every generator vectorized and a few milliseconds.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

#: Cells per side of the grid on which 2D regions are drawn.
GRID = 96
#: The kinds of shape, per dimension.
KINDS = {
    2: ("polygon", "ellipses", "strokes", "outline"),
    3: ("extrusion", "revolution", "blob", "height_field"),
}
# Least share of the grid's cells a 2D region must cover (else drawn again): specks
# carry no shape.
_MIN_AREA = 0.02


def random_shape(rng: np.random.Generator, n_points: int, dim: int = 2, kind: str | None = None) -> np.ndarray:
    """A random procedural shape sampled uniformly, in the unit ball.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_points : int
    dim : {2, 3}
    kind : str, optional
        One of :data:`KINDS` ``[dim]``; default drawn uniformly.

    Returns
    -------
    ndarray, shape (n_points, dim), float32
        Centred on its bounding box's centre, farthest point at distance 1.
    """
    kind = kind or KINDS[dim][int(rng.integers(len(KINDS[dim])))]
    if kind not in KINDS[dim]:
        raise ValueError(f"unknown {dim}D shape kind {kind!r}; one of {KINDS[dim]}")
    points = _GENERATORS[kind](rng, n_points)
    points = points @ _random_linear(rng, dim).T
    lo, hi = points.min(axis=0), points.max(axis=0)
    points = points - 0.5 * (lo + hi)
    return (points / np.linalg.norm(points, axis=1).max()).astype(np.float32)


def _random_linear(rng, dim: int) -> np.ndarray:
    """A random rotation (with reflection) times a stretch of its axes by 1 to 1/2, shape (dim, dim)."""
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)))
    q = q * np.sign(np.diag(r))
    return q @ np.diag(rng.uniform(0.5, 1.0, dim))


# ---- 2D regions on a grid


def _grid_centres() -> np.ndarray:
    """Centres of the grid's cells in [-1, 1]^2, shape (GRID * GRID, 2)."""
    axis = (np.arange(GRID) + 0.5) / GRID * 2 - 1
    x, y = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([x.ravel(), y.ravel()], axis=1)


_CENTRES = _grid_centres()


def _region(rng, kind: str) -> np.ndarray:
    """A non-trivial region of ``kind``, a mask over the grid's cells, shape (GRID * GRID,)."""
    draw = {"polygon": _polygon_mask, "ellipses": _ellipses_mask, "strokes": _strokes_mask, "outline": _outline_mask}
    while True:
        mask = draw[kind](rng)
        if mask.mean() >= _MIN_AREA:
            return mask


def _sample_cells(rng, mask: np.ndarray, n_points: int) -> np.ndarray:
    """``n_points`` points uniform over the cells of ``mask`` (GRID * GRID,), shape (n_points, 2)."""
    cells = np.flatnonzero(mask)
    chosen = _CENTRES[cells[rng.integers(len(cells), size=n_points)]]
    return chosen + rng.uniform(-1.0, 1.0, (n_points, 2)) / GRID


def _star_polygon(rng, centre, radius: float, n_vertices: int) -> np.ndarray:
    """Vertices (n, 2) of a star-shaped polygon: sorted random angles, radii varying by up to a factor 3."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, n_vertices))
    radii = radius * rng.uniform(0.35, 1.0, n_vertices)
    return np.asarray(centre) + radii[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _inside_polygon(points: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Even-odd rule: which of ``points`` (m, 2) lie inside the polygon ``vertices`` (n, 2), shape (m,)."""
    a, b = vertices, np.roll(vertices, -1, axis=0)
    x, y = points[:, :1], points[:, 1:]
    straddles = (a[:, 1] > y) != (b[:, 1] > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
    return (straddles & (x < crossing)).sum(axis=1) % 2 == 1


def _polygon_mask(rng) -> np.ndarray:
    mask = _inside_polygon(_CENTRES, _star_polygon(rng, (0.0, 0.0), 0.95, int(rng.integers(3, 14))))
    for _ in range(int(rng.integers(0, 3))):  # holes
        centre = rng.uniform(-0.4, 0.4, 2)
        mask &= ~_inside_polygon(_CENTRES, _star_polygon(rng, centre, rng.uniform(0.1, 0.35), int(rng.integers(3, 9))))
    return mask


def _ellipses_mask(rng) -> np.ndarray:
    mask = np.zeros(len(_CENTRES), dtype=bool)
    for _ in range(int(rng.integers(2, 7))):
        centre = rng.uniform(-0.6, 0.6, 2)
        axes = rng.uniform(0.08, 0.5, 2)
        angle = rng.uniform(0, np.pi)
        turn = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
        local = (_CENTRES - centre) @ turn.T / axes
        mask |= (local**2).sum(axis=1) <= 1
    return mask


def _curve(rng, n_samples: int = 64) -> np.ndarray:
    """A random quadratic or cubic Bezier curve in [-0.8, 0.8]^2, sampled, shape (n_samples, 2)."""
    controls = rng.uniform(-0.8, 0.8, (int(rng.integers(3, 5)), 2))
    t = np.linspace(0, 1, n_samples)[:, None]
    degree = len(controls) - 1
    weights = [math.comb(degree, i) * t**i * (1 - t) ** (degree - i) for i in range(degree + 1)]
    return sum(w * c for w, c in zip(weights, controls))


def _distance_to(path: np.ndarray) -> np.ndarray:
    """Distance of every cell centre to the polyline ``path`` (n, 2), shape (GRID * GRID,).

    The path is drawn densely into the grid and the Euclidean distance transform gives
    every cell's distance to the drawn cells (exact up to half a cell).
    """
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    fine = np.linspace(0, 1, max(2, int(steps.sum() * GRID * 2)))
    arc = np.concatenate([[0.0], np.cumsum(steps)]) / max(steps.sum(), 1e-12)
    dense = np.column_stack([np.interp(fine, arc, path[:, 0]), np.interp(fine, arc, path[:, 1])])
    cells = np.clip(((dense + 1) / 2 * GRID).astype(int), 0, GRID - 1)
    drawn = np.ones((GRID, GRID), dtype=bool)
    drawn[cells[:, 0], cells[:, 1]] = False
    return ndimage.distance_transform_edt(drawn).ravel() * (2 / GRID)


def _strokes_mask(rng) -> np.ndarray:
    mask = np.zeros(len(_CENTRES), dtype=bool)
    width = rng.uniform(0.05, 0.16)  # one pen for the whole figure, as a letter
    for _ in range(int(rng.integers(1, 5))):
        mask |= _distance_to(_curve(rng)) <= width
    return mask


def _outline_mask(rng) -> np.ndarray:
    n = int(rng.integers(5, 12))
    angles = np.linspace(0, 2 * np.pi, 256, endpoint=False)
    # a smooth closed curve: radius a few random harmonics around 0.7
    radius = 0.7 + sum(
        rng.uniform(-0.3, 0.3) / (1 + j) * np.cos((j + 1) * angles + rng.uniform(0, 2 * np.pi)) for j in range(n)
    )
    path = radius[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return _distance_to(np.concatenate([path, path[:1]])) <= rng.uniform(0.03, 0.12)


def _generate_2d(kind: str):
    def generate(rng, n_points):
        return _sample_cells(rng, _region(rng, kind), n_points)

    return generate


# ---- 3D solids and surfaces


def _extrusion(rng, n_points: int) -> np.ndarray:
    base = _sample_cells(rng, _region(rng, KINDS[2][int(rng.integers(4))]), n_points)
    height = rng.uniform(0.1, 0.8)
    return np.column_stack([base, rng.uniform(-height, height, n_points)])


def _profile(rng, z: np.ndarray) -> np.ndarray:
    """A smooth positive radius over heights ``z`` in [-1, 1], shape like ``z``."""
    radius = 0.5 + sum(
        rng.uniform(-0.25, 0.25) * np.cos(j * np.pi * (z + 1) / 2 + rng.uniform(0, np.pi)) for j in range(1, 4)
    )
    return np.clip(radius, 0.08, 1.0)


def _revolution(rng, n_points: int) -> np.ndarray:
    """A solid of revolution about the z axis, sometimes hollow (inner radius a share of the outer)."""
    hollow = rng.uniform(0.4, 0.85) if rng.random() < 0.4 else 0.0
    seed = rng.integers(2**62)
    out = []
    while sum(len(o) for o in out) < n_points:
        candidates = rng.uniform(-1, 1, (4 * n_points, 3))
        outer = _profile(np.random.default_rng(seed), candidates[:, 2])
        r = np.linalg.norm(candidates[:, :2], axis=1)
        out.append(candidates[(r <= outer) & (r >= hollow * outer)])
    return np.concatenate(out)[:n_points]


def _blob(rng, n_points: int) -> np.ndarray:
    """A union of 2-6 ellipsoids: the solid, or (half of the time) its outer surface."""
    count = int(rng.integers(2, 7))
    centres = rng.uniform(-0.5, 0.5, (count, 3))
    axes = rng.uniform(0.15, 0.6, (count, 3))
    turns = np.stack([_random_linear(rng, 3) for _ in range(count)])
    turns = turns / np.linalg.norm(turns, axis=1, keepdims=True)  # orthogonal columns scaled to 1: a rotation

    def inside(points):  # (m, 3) -> (count, m) bool
        local = np.einsum("kij,kmj->kmi", turns.transpose(0, 2, 1), points[None] - centres[:, None]) / axes[:, None]
        return (local**2).sum(axis=-1) <= 1

    out = []
    if rng.random() < 0.5:
        while sum(len(o) for o in out) < n_points:
            candidates = rng.uniform(-1.2, 1.2, (4 * n_points, 3))
            out.append(candidates[inside(candidates).any(axis=0)])
    else:
        # points on each ellipsoid's surface (by area, roughly), kept where no other ellipsoid covers them
        while sum(len(o) for o in out) < n_points:
            which = rng.integers(count, size=4 * n_points)
            direction = rng.normal(size=(4 * n_points, 3))
            direction /= np.linalg.norm(direction, axis=1, keepdims=True)
            surface = centres[which] + np.einsum("mij,mj->mi", turns[which], direction * axes[which])
            covered = inside(surface)
            covered[which, np.arange(len(which))] = False
            out.append(surface[~covered.any(axis=0)])
    return np.concatenate(out)[:n_points]


def _height_field(rng, n_points: int) -> np.ndarray:
    """A terrain ``z = f(x, y)``: a sum of random Gaussian bumps over a square, points uniform in (x, y)."""
    count = int(rng.integers(2, 9))
    centres = rng.uniform(-1, 1, (count, 2))
    widths = rng.uniform(0.15, 0.6, count)
    heights = rng.uniform(-0.4, 0.4, count)
    xy = rng.uniform(-1, 1, (n_points, 2))
    z = (heights * np.exp(-(((xy[:, None] - centres) ** 2).sum(axis=-1)) / (2 * widths**2))).sum(axis=1)
    return np.column_stack([xy, z])


_GENERATORS = {
    **{kind: _generate_2d(kind) for kind in KINDS[2]},
    "extrusion": _extrusion,
    "revolution": _revolution,
    "blob": _blob,
    "height_field": _height_field,
}
