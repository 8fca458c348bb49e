"""Partitioned IFS (fractal image compression): quadtree encoder and any-scale decoder.

Each *range* block of a plane (a square of ``r`` pixels, from ``max_size`` down to
``min_size`` by quadtree splitting) is coded as an affine copy of a *domain* block twice
as large, pooled 2x2, under one of 8 isometries::

    range  ~  s * (D - mean(D)) + m

with the contrast ``|s| <= s_max < 1`` and the range mean ``m`` quantized. Subtracting the
domain mean (Oien's orthogonalized variant) makes ``m`` exact and the decoding converge in
a few iterations. The search is exhaustive: one matrix product of the centred range blocks
against every pooled domain block in its 8 isometries, per block size and in chunks; the
classified search only compares blocks whose quadrant brightness orders agree.

A code knows nothing of pixel sizes beyond its block grid, so :func:`decode_plane` renders
its fixed point at any integer scale, from any start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Number of isometries of a square block (4 rotations, each optionally mirrored).
N_ISOMETRIES = 8
#: Ranges compared with all domains at once (bounds the (chunk, candidates) matrices).
_CHUNK = 64


@dataclass(frozen=True)
class CodecParams:
    """Parameters of the PIFS codec shared by encoder, decoder and file header.

    Attributes
    ----------
    min_size, max_size : int
        Smallest and largest range block (powers of two, pixels).
    s_bits, mean_bits : int
        Bits of the quantized contrast and range mean.
    s_max : float
        Largest contrast magnitude, < 1.
    domain_step : int
        Domain blocks start every ``r / domain_step`` pixels of the pooled plane (1: not
        overlapping; 2: half overlapping, a larger pool, more bits per block).
    """

    min_size: int = 4
    max_size: int = 32
    s_bits: int = 4
    mean_bits: int = 7
    s_max: float = 0.9
    domain_step: int = 2

    def sizes(self) -> list:
        """Range block sizes, largest first."""
        sizes, size = [], self.max_size
        while size >= self.min_size:
            sizes.append(size)
            size //= 2
        return sizes


@dataclass
class Level:
    """The leaves of one block size: positions and quantized parameters.

    Attributes
    ----------
    size : int
        Range block size ``r`` (pixels at scale 1).
    ys, xs : ndarray of int, shape (m,)
        Top-left corners of the range blocks.
    s_q, mean_q, domain : ndarray of int, shape (m,)
        Quantized contrast, quantized mean, and candidate index ``domain_block * 8 + isometry``
        (ignored where the contrast is 0).
    """

    size: int
    ys: np.ndarray
    xs: np.ndarray
    s_q: np.ndarray
    mean_q: np.ndarray
    domain: np.ndarray


@dataclass
class PlaneCode:
    """The code of one image plane: its padded size and the leaves, one :class:`Level` per size."""

    height: int
    width: int
    params: CodecParams
    levels: list = field(default_factory=list)

    @property
    def n_blocks(self) -> int:
        return sum(len(level.ys) for level in self.levels)


# ---- quantization ---------------------------------------------------------------------------------
def _s_centre(params: CodecParams) -> int:
    return 2 ** (params.s_bits - 1) - 1  # odd number of levels: 0 is exact


def quantize_s(s: np.ndarray, params: CodecParams) -> np.ndarray:
    c = _s_centre(params)
    return np.clip(np.rint(s / params.s_max * c), -c, c).astype(np.int64) + c


def dequantize_s(q: np.ndarray, params: CodecParams) -> np.ndarray:
    c = _s_centre(params)
    return (np.asarray(q, dtype=np.float64) - c) / c * params.s_max


def quantize_mean(m: np.ndarray, params: CodecParams) -> np.ndarray:
    top = 2**params.mean_bits - 1
    return np.clip(np.rint(m / 255.0 * top), 0, top).astype(np.int64)


def dequantize_mean(q: np.ndarray, params: CodecParams) -> np.ndarray:
    return np.asarray(q, dtype=np.float64) * (255.0 / (2**params.mean_bits - 1))


# ---- geometry of blocks ---------------------------------------------------------------------------
def isometry_indices(n: int) -> np.ndarray:
    """Flat indices into an n x n block for each of the 8 isometries.

    Returns
    -------
    ndarray of int, shape (8, n * n)
        ``block.ravel()[idx[t]]`` is the block under isometry ``t`` (raveled).
    """
    grid = np.arange(n * n).reshape(n, n)
    views = []
    for flip in (False, True):
        base = grid[:, ::-1] if flip else grid
        views.extend(np.rot90(base, k).ravel() for k in range(4))
    return np.stack(views)


def domain_grid(height: int, width: int, size: int, params: CodecParams) -> tuple:
    """Top-left corners (in the pooled plane) of the domain blocks for ranges of ``size``.

    Parameters
    ----------
    height, width : int
        The padded plane at scale 1 (the pooled plane is half of it).

    Returns
    -------
    (ys, xs) : two ndarrays of int, shape (n_domains,)
    """
    step = max(size // params.domain_step, 1)
    ph, pw = height // 2, width // 2
    ys = np.arange(0, ph - size + 1, step)
    xs = np.arange(0, pw - size + 1, step)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    return yy.ravel(), xx.ravel()


def domain_count(height: int, width: int, size: int, params: CodecParams) -> int:
    """Number of candidates (domain block and isometry) for ranges of ``size``: the length of
    :func:`domain_grid` times 8, counted without making the grid (a reader checks a file's
    declared size with it before allocating anything)."""
    step = max(size // params.domain_step, 1)
    ph, pw = height // 2, width // 2
    rows, columns = len(range(0, ph - size + 1, step)), len(range(0, pw - size + 1, step))
    return rows * columns * N_ISOMETRIES


def domain_bits(height: int, width: int, size: int, params: CodecParams) -> int:
    """Bits of a candidate index (domain block and isometry) for ranges of ``size``."""
    return max(1, math.ceil(math.log2(domain_count(height, width, size, params))))


def pool(plane: np.ndarray) -> np.ndarray:
    """2x2 average: (H, W) -> (H/2, W/2)."""
    h, w = plane.shape
    return plane.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def padded_shape(height: int, width: int, params: CodecParams) -> tuple:
    """The plane size the codec works on: a multiple of the largest block (and at least 2 of them)."""
    m = params.max_size
    return max(2 * m, -(-height // m) * m), max(2 * m, -(-width // m) * m)


def pad_plane(plane: np.ndarray, params: CodecParams) -> np.ndarray:
    """Extend a plane by repeating its edges to :func:`padded_shape`."""
    h, w = padded_shape(*plane.shape, params)
    return np.pad(plane, ((0, h - plane.shape[0]), (0, w - plane.shape[1])), mode="edge")


# ---- encoder --------------------------------------------------------------------------------------
def _blocks(plane: np.ndarray, ys: np.ndarray, xs: np.ndarray, size: int) -> np.ndarray:
    """Gather square blocks: (n, size * size) float32."""
    offsets = np.arange(size)
    rows = (ys[:, None] + offsets)[:, :, None]
    cols = (xs[:, None] + offsets)[:, None, :]
    return plane[rows, cols].reshape(len(ys), size * size).astype(np.float32)


def _quadrant_classes(blocks: np.ndarray, size: int) -> tuple:
    """Fisher's classes: the rank order of the 4 quadrant means, as one of 24 codes.

    Returns
    -------
    (classes, reversed_classes) : two ndarrays of int, shape (n,)
        The code of each block, and the code of the reverse order (the class of the block
        with its contrast negated).
    """
    h = size // 2
    means = blocks.reshape(-1, 2, h, 2, h).mean(axis=(2, 4)).reshape(-1, 4)
    order = np.argsort(means, axis=1, kind="stable")
    weights = np.array([64, 16, 4, 1])
    return order @ weights, order[:, ::-1] @ weights


@dataclass
class LevelSearch:
    """The best code of every block of one size (exhaustive over candidates).

    Attributes
    ----------
    ys, xs : ndarray of int, shape (m,)
    s_q, mean_q, domain : ndarray of int, shape (m,)
    sse : ndarray of float, shape (m,)
        Squared error of the quantized code against the block (the collage error).
    """

    size: int
    ys: np.ndarray
    xs: np.ndarray
    s_q: np.ndarray
    mean_q: np.ndarray
    domain: np.ndarray
    sse: np.ndarray


def search_level(
    plane: np.ndarray, size: int, params: CodecParams, classified: bool = False, which: np.ndarray | None = None
) -> LevelSearch:
    """Find the best domain, isometry, contrast and mean for every range block of ``size``.

    Parameters
    ----------
    plane : ndarray, shape (H, W)
        Padded plane, values 0..255; H and W multiples of ``params.max_size``.
    size : int
        Range block size.
    classified : bool
        Compare a range only with candidates of the same quadrant-brightness order (or the
        reverse order, for a negative contrast): about 12 times fewer products, a little worse.
    which : ndarray of bool, shape (n_blocks,), optional
        Search only these blocks of the raster-ordered grid (the others get an infinite error).

    Returns
    -------
    LevelSearch
        For the blocks of the grid of ``size`` in raster order.
    """
    height, width = plane.shape
    grid_ys, grid_xs = np.meshgrid(np.arange(0, height, size), np.arange(0, width, size), indexing="ij")
    grid_ys, grid_xs = grid_ys.ravel(), grid_xs.ravel()
    which = np.ones(len(grid_ys), bool) if which is None else which
    ys, xs = grid_ys[which], grid_xs[which]
    ranges = _blocks(plane, ys, xs, size)
    range_mean = ranges.mean(axis=1)
    mean_q = quantize_mean(range_mean, params)
    centred = ranges - range_mean[:, None]
    range_energy = np.einsum("ij,ij->i", centred, centred)

    dys, dxs = domain_grid(height, width, size, params)
    domains = _blocks(pool(plane.astype(np.float64)), dys, dxs, size)
    domains -= domains.mean(axis=1, keepdims=True)
    candidates = domains[:, isometry_indices(size)].reshape(-1, size * size)  # index = domain * 8 + isometry
    energy = np.einsum("ij,ij->i", candidates, candidates)

    n = len(ys)
    best = np.zeros(n, dtype=np.int64)
    best_s = np.zeros(n)
    if classified:
        range_class, reverse = _quadrant_classes(ranges, size)
        cand_class = _quadrant_classes(candidates, size)[0]
        groups = []
        for c in np.unique(range_class):
            rows = np.flatnonzero(range_class == c)
            r = reverse[rows[0]]
            groups.append((rows, np.flatnonzero((cand_class == c) | (cand_class == r))))
    else:
        all_candidates = np.arange(len(candidates))
        groups = [(np.arange(start, min(start + _CHUNK, n)), all_candidates) for start in range(0, n, _CHUNK)]
    centre = _s_centre(params)
    for rows, cols in groups:
        if len(cols) == 0:
            continue
        # in place, on chunks small enough to stay in cache: this loop is the encoder's cost
        e = energy[cols]
        products = centred[rows] @ candidates[cols].T  # (rows, cols): <range, candidate>
        s = products * (centre / params.s_max / np.maximum(e, 1e-6))
        np.rint(s, out=s)
        np.clip(s, -centre, centre, out=s)
        s *= params.s_max / centre  # the quantized contrast of each pair
        error = s * e
        error -= products
        error -= products
        error *= s  # sse - range_energy
        pick = np.argmin(error, axis=1)
        best[rows] = cols[pick]
        best_s[rows] = s[np.arange(len(rows)), pick]
    products = np.einsum("ij,ij->i", centred, candidates[best])
    sse = range_energy - 2 * best_s * products + best_s**2 * energy[best]
    sse += size * size * (range_mean - dequantize_mean(mean_q, params)) ** 2
    s_q = quantize_s(best_s, params)
    domain = np.where(s_q == centre, 0, best)
    result = LevelSearch(
        size, grid_ys, grid_xs, *(np.zeros(len(grid_ys), np.int64) for _ in range(3)), np.full(len(grid_ys), np.inf)
    )
    result.s_q[which], result.mean_q[which], result.domain[which], result.sse[which] = (
        s_q,
        mean_q,
        domain,
        np.maximum(sse, 0.0),
    )
    return result


def search_plane(
    plane: np.ndarray, params: CodecParams, classified: bool = False, threshold: float | None = None
) -> list:
    """:func:`search_level` for every block size of ``params``, largest first.

    With a ``threshold`` (as :func:`build_quadtree`), a block is searched only when its
    parent's error calls for a split: the quadtree for that threshold, at a fraction of the
    cost. Without, every block is searched (for rate control, which tries many thresholds).
    """
    searches, which = [], None
    for depth, size in enumerate(params.sizes()):
        search = search_level(plane, size, params, classified, which)
        searches.append(search)
        if threshold is not None and depth < len(params.sizes()) - 1:
            which = _children_of(search, _split(search, threshold), *plane.shape)
    return searches


def _split(search: LevelSearch, threshold: float) -> np.ndarray:
    """Blocks whose collage RMS error exceeds the threshold: (n_blocks,) bool."""
    return np.sqrt(search.sse / search.size**2) > threshold


def _children_of(search: LevelSearch, split: np.ndarray, height: int, width: int) -> np.ndarray:
    """For the grid of half the size (raster order): whether each block's parent is split."""
    half = search.size // 2
    ys, xs = np.meshgrid(np.arange(0, height, half), np.arange(0, width, half), indexing="ij")
    parent = (ys.ravel() // search.size) * (width // search.size) + xs.ravel() // search.size
    return split[parent]


def build_quadtree(searches: list, params: CodecParams, threshold: float, height: int, width: int) -> PlaneCode:
    """Choose the leaves: split a block while its collage RMS error exceeds ``threshold``.

    Parameters
    ----------
    searches : list of LevelSearch
        From :func:`search_plane`, largest size first.
    threshold : float
        Largest RMS error (0..255 scale) of a block kept whole.
    """
    code = PlaneCode(height, width, params)
    in_tree = np.ones(len(searches[0].ys), bool)
    for depth, search in enumerate(searches):
        last = depth == len(searches) - 1
        split = in_tree & _split(search, threshold) & (not last)
        leaf = in_tree & ~split
        code.levels.append(
            Level(
                search.size,
                search.ys[leaf],
                search.xs[leaf],
                search.s_q[leaf],
                search.mean_q[leaf],
                search.domain[leaf],
            )
        )
        if not last:
            in_tree = _children_of(search, split, height, width)
    return code


# ---- decoder --------------------------------------------------------------------------------------
@dataclass
class _Gather:
    """Index arrays of one decoding step at one scale (computed once, used every iteration)."""

    src: np.ndarray  # (n_pixels,) flat indices into the pooled plane, grouped per range
    dst: np.ndarray  # (n_pixels,) flat indices into the output plane
    block: np.ndarray  # (n_pixels,) range number of each pixel
    counts: np.ndarray  # (n_ranges,) pixels per range
    s: np.ndarray  # (n_ranges,)
    mean: np.ndarray  # (n_ranges,)


def _gather(code: PlaneCode, scale: int) -> _Gather:
    params = code.params
    pooled_width = code.width * scale // 2
    src, dst, block, counts, s, mean = [], [], [], [], [], []
    first = 0
    for level in code.levels:
        m = len(level.ys)
        if m == 0:
            continue
        n = level.size * scale
        dys, dxs = domain_grid(code.height, code.width, level.size, params)
        d_index, iso = level.domain // N_ISOMETRIES, level.domain % N_ISOMETRIES
        within = isometry_indices(n)[iso]  # (m, n*n) flat index within an n x n block
        wy, wx = within // n, within % n
        # the pixel tables hold 32-bit indices (a decoded plane has fewer than 2**31 pixels, see
        # ifskit.limits.MAX_DECODE_PIXELS): half the memory of a large decode
        src.append(
            (((dys[d_index] * scale)[:, None] + wy) * pooled_width + (dxs[d_index] * scale)[:, None] + wx).astype(
                np.int32
            )
        )
        offsets = np.arange(n * n)
        dst.append(
            (
                ((level.ys * scale)[:, None] + offsets // n) * (code.width * scale)
                + (level.xs * scale)[:, None]
                + offsets % n
            ).astype(np.int32)
        )
        block.append(np.repeat(np.arange(first, first + m, dtype=np.int32), n * n))
        counts.append(np.full(m, n * n))
        s.append(dequantize_s(level.s_q, params))
        mean.append(dequantize_mean(level.mean_q, params))
        first += m
    return _Gather(*(np.concatenate([v.ravel() for v in a]) for a in (src, dst, block, counts, s, mean)))


def _step(plane: np.ndarray, g: _Gather) -> np.ndarray:
    """One application of the PIFS operator W: (H, W) -> (H, W)."""
    values = pool(plane).ravel()[g.src]
    domain_mean = np.bincount(g.block, values, minlength=len(g.counts)) / g.counts
    # s * (values - domain mean) + mean, in place: a large decode holds few full-size temporaries
    values -= domain_mean[g.block]
    values *= g.s[g.block]
    values += g.mean[g.block]
    out = np.empty(plane.size)
    out[g.dst] = values
    return out.reshape(plane.shape)


def decode_plane(code: PlaneCode, scale: int = 1, iterations: int | None = None, start=None, tol: float = 0.05):
    """Iterate the code's operator from ``start`` to its fixed point, at ``scale`` times the size.

    Parameters
    ----------
    code : PlaneCode
    scale : int
        Output is (scale * H, scale * W) for the padded plane size (H, W).
    iterations : int, optional
        Fixed number of steps; by default, iterate until no pixel moves by more than ``tol``
        (at most 64 steps).
    start : ndarray, shape (scale * H, scale * W), optional
        Any start plane; mid-grey by default.

    Yields
    ------
    ndarray of float, shape (scale * H, scale * W)
        The plane after each step, the last one being the result.
    """
    g = _gather(code, scale)
    shape = (code.height * scale, code.width * scale)
    plane = np.full(shape, 128.0) if start is None else np.asarray(start, dtype=np.float64)
    limit = 64 if iterations is None else iterations
    for _ in range(limit):
        new = _step(plane, g)
        change = np.abs(new - plane).max()
        plane = new
        yield plane
        if iterations is None and change <= tol:
            break


def _operator_norm(g: _Gather, shape: tuple, steps: int, iterations: int = 6, seed: int = 0) -> float:
    """``||L^steps||_2`` for the linear part L of the operator (power iteration on its Gram matrix)."""
    linear = _Gather(g.src, g.dst, g.block, g.counts, g.s, np.zeros_like(g.mean))
    x = np.random.default_rng(seed).standard_normal(shape)
    norm = 0.0
    for _ in range(iterations):
        x /= np.linalg.norm(x)
        for _ in range(steps):
            x = _step(x, linear)
        norm = float(np.linalg.norm(x))
        if norm == 0:
            break
        for _ in range(steps):
            x = _adjoint(x, linear, shape)
    return norm


@dataclass
class CollageBound:
    """The collage theorem applied to a code and the plane it was made from.

    Attributes
    ----------
    contraction : float
        ``||L||_2`` of the operator's linear part (it may exceed 1: domains are shared).
    steps : int
        The power m of the operator used for the bound.
    contraction_steps : float
        ``||L^m||_2``, below 1 (the operator is eventually contractive).
    collage_rmse : float
        RMS of ``x - W(x)``: how far one step of the code moves the original.
    bound_rmse : float
        ``RMS(x - W^m(x)) / (1 - ||L^m||)``: the decoded fixed point is at most this far
        (RMS) from the original, without decoding.
    """

    contraction: float
    steps: int
    contraction_steps: float
    collage_rmse: float
    bound_rmse: float


def collage_bound(code: PlaneCode, plane: np.ndarray, max_steps: int = 16) -> CollageBound:
    """Bound the decoding error of ``code`` from ``plane`` (the padded original) by the collage theorem.

    For any m with ``||L^m|| < 1``, ``W^m`` is a contraction with the same fixed point x*, so
    ``||x - x*|| <= ||x - W^m(x)|| / (1 - ||L^m||)``. m is doubled from 1 until ``||L^m||``
    falls below 0.1 (or m exceeds ``max_steps``); the norms are power-iteration estimates.

    Parameters
    ----------
    code : PlaneCode
    plane : ndarray, shape (H, W)
        The plane the code was made from (padded), values 0..255.
    """
    g = _gather(code, 1)
    x = np.asarray(plane, dtype=np.float64)
    rms = float(np.sqrt(x.size))
    moved, moves = x, [x]
    first = _operator_norm(g, x.shape, 1)
    m, norm = 1, first
    while True:
        while len(moves) <= m:
            moved = _step(moved, g)
            moves.append(moved)
        if norm < 0.1 or 2 * m > max_steps:
            break
        m *= 2
        norm = _operator_norm(g, x.shape, m)
    collage = float(np.linalg.norm(x - moves[1])) / rms
    if norm >= 1:
        return CollageBound(first, m, norm, collage, float("inf"))
    return CollageBound(first, m, norm, collage, float(np.linalg.norm(x - moves[m])) / rms / (1 - norm))


def _adjoint(y: np.ndarray, g: _Gather, shape: tuple) -> np.ndarray:
    """L^T y for the linear part L of :func:`_step` (scatter back through mean removal and pooling)."""
    r = y.ravel()[g.dst] * g.s[g.block]
    r -= (np.bincount(g.block, r, minlength=len(g.counts)) / g.counts)[g.block]  # centring is symmetric
    pooled = np.bincount(g.src, r, minlength=(shape[0] // 2) * (shape[1] // 2)).reshape(shape[0] // 2, shape[1] // 2)
    return np.repeat(np.repeat(pooled / 4.0, 2, axis=0), 2, axis=1)
