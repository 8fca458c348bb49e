"""Numba kernels of the chaos game. All of ifskit's JIT code lives in this module.

Random numbers come from SplitMix64 (Steele, Lea & Flood 2014): one 64-bit
multiply-xorshift hash of a counter per draw, fast and statistically sound
(BigCrush). Each chunk of points has its own stream, seeded from
``(seed, chunk index)``, so results never depend on which thread ran a chunk.

Each 64-bit draw chooses two maps. A map is chosen with Walker's alias method in
one multiply: ``r * k`` (``r`` a 32-bit draw) has the slot in its high 32 bits
and a uniform fraction in its low 32 bits, compared with the slot's threshold.
This is exact to 2^-32, needs no search and its table fits in L1 cache.

The kernels release the GIL (``nogil=True``) and are run on a pool of Python
threads by :mod:`ifskit.render.chaos`. The six lines that advance both chains are
written out in each kernel: a shared inline helper measured 10-20% slower.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
_S27, _S30, _S31, _S32 = np.uint64(27), np.uint64(30), np.uint64(31), np.uint64(32)
# A coordinate beyond this means the orbit escaped (a non-contractive map):
# restart the chain rather than let inf/NaN spread.
_ESCAPE = 1e100
# Let LLVM fuse multiply-adds (shorter dependency chain); results stay deterministic.
_FMA = {"contract"}


@njit(inline="always")
def _mix(z):
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(cache=True)
def chunk_seeds(seed, n_chunks):
    """Initial SplitMix64 state of each chunk's stream, shape (n_chunks,) uint64."""
    base = _mix(np.uint64(seed) * _GOLDEN + _GOLDEN)
    out = np.empty(n_chunks, dtype=np.uint64)
    for c in range(n_chunks):
        out[c] = _mix(base + np.uint64(c + 1) * _GOLDEN)
    return out


@njit(inline="always")
def _pick(r32, k, threshold, alias):
    prod = r32 * k
    slot = prod >> _S32
    if (prod & _LOW32) < threshold[slot]:
        return slot
    return alias[slot]


@njit(inline="always")
def _step(A, b, m, dim, x, y, z):
    if dim == 2:
        return (A[m, 0, 0] * x + A[m, 0, 1] * y + b[m, 0], A[m, 1, 0] * x + A[m, 1, 1] * y + b[m, 1], 0.0)
    return (
        A[m, 0, 0] * x + A[m, 0, 1] * y + A[m, 0, 2] * z + b[m, 0],
        A[m, 1, 0] * x + A[m, 1, 1] * y + A[m, 1, 2] * z + b[m, 1],
        A[m, 2, 0] * x + A[m, 2, 1] * y + A[m, 2, 2] * z + b[m, 2],
    )


@njit(inline="always")
def _escaped(x, y, z):
    # written so that NaN counts as escaped
    return not (abs(x) < _ESCAPE and abs(y) < _ESCAPE and abs(z) < _ESCAPE)


@njit(inline="always")
def _start(start, dim):
    return start[0], start[1], start[dim - 1] if dim == 3 else 0.0


@njit(nogil=True, cache=True, fastmath=_FMA)
def chaos_points(A, b, threshold, alias, start, seeds, counts, offsets, burn_in, out):
    """Run the chains of each chunk and store their points.

    Each chunk runs two interleaved chains (even and odd rows), so that the CPU
    works on one while the other waits for its multiply-adds.

    Parameters
    ----------
    A : (k, d, d) float64
    b : (k, d) float64
    threshold, alias : (k,) uint64
        Alias table (see :func:`ifskit.render.chaos.alias_table`).
    start : (d,) float64
        Starting point of every chain.
    seeds, counts, offsets : (c,) arrays
        Per chunk: stream seed, number of points, first row in ``out``.
    burn_in : int
        Steps discarded at the start of each chain.
    out : (n, d) float64
        Written in place.
    """
    dim = A.shape[1]
    k = np.uint64(A.shape[0])
    for c in range(seeds.shape[0]):
        state = seeds[c]
        x1, y1, z1 = _start(start, dim)
        x2, y2, z2 = _start(start, dim)
        first, end = offsets[c], offsets[c] + counts[c]
        for row in range(first - 2 * burn_in, end, 2):
            state += _GOLDEN
            r = _mix(state)
            m1 = _pick(r >> _S32, k, threshold, alias)
            m2 = _pick(r & _LOW32, k, threshold, alias)
            x1, y1, z1 = _step(A, b, m1, dim, x1, y1, z1)
            x2, y2, z2 = _step(A, b, m2, dim, x2, y2, z2)
            if _escaped(x1, y1, z1):
                x1, y1, z1 = _start(start, dim)
            if _escaped(x2, y2, z2):
                x2, y2, z2 = _start(start, dim)
            if row >= first:
                out[row, 0], out[row, 1] = x1, y1
                if dim == 3:
                    out[row, 2] = z1
                if row + 1 < end:
                    out[row + 1, 0], out[row + 1, 1] = x2, y2
                    if dim == 3:
                        out[row + 1, 2] = z2


@njit(inline="always")
def _cell(view, x, y, z, height, width, tile_cols):
    """Index of the raster cell (tile order) that a point falls in, or -1 outside the raster."""
    col = view[0, 0] * x + view[0, 1] * y + view[0, 2] * z + view[0, 3]
    row = view[1, 0] * x + view[1, 1] * y + view[1, 2] * z + view[1, 3]
    # the comparisons are false for NaN, so no NaN reaches the int conversion
    if col >= 0.0 and col < width and row >= 0.0 and row < height:
        ic, ir = int(col), int(row)
        return ((ir >> 3) * tile_cols + (ic >> 3)) * 64 + (ir & 7) * 8 + (ic & 7)
    return -1


@njit(nogil=True, cache=True, fastmath=_FMA)
def chaos_density(
    A,
    b,
    threshold,
    alias,
    start,
    seeds,
    counts,
    burn_in,
    view,
    height,
    width,
    tiles,
    carry,
    depth_max,
    colors,
    color_sum,
):
    """Run the chains of each chunk and bin their points into a raster, keeping no points.

    Each chunk runs two interleaved chains, as in :func:`chaos_points`, for a block
    of steps into small buffers; a second loop then bins the block (its memory
    accesses are independent, so the CPU overlaps their cache misses). The raster
    is stored as 8x8 tiles of 8-bit counts (a tile is one 64-byte cache line, so the
    pixels a fractal touches pack into few lines that stay in cache); a count that
    wraps past 255 adds 1 to ``carry`` (units of 256).

    Parameters
    ----------
    A, b, threshold, alias, start, seeds, counts, burn_in
        As in :func:`chaos_points`.
    view : (3, 4) float64
        Affine map from a point to ``(column, row, depth)``: ``view[:, :d] @ x + view[:, 3]``.
        Columns and rows are pixel coordinates; depth is in [0, 1] for 3D views.
    height, width : int
        Raster size ``H, W``.
    tiles : (Ht * Wt * 64,) uint8
        Counts modulo 256 in tile order, ``Ht = ceil(H / 8)``, ``Wt = ceil(W / 8)``.
    carry : (Ht * Wt * 64,) uint32
        Wraps of ``tiles``; the caller keeps one call under 2^32 * 256 points.
    depth_max : (Ht * Wt * 64,) uint16, or (0,) to skip
        Depth buffer of 3D views: the largest depth (nearest the viewer) of the hits,
        quantized to 0..65535; 0 where nothing was hit.
    colors : (k, 3) float64 in [0, 255]
        Colour of each map, blended as flam3 does: ``c <- (c + colors[m]) / 2``.
    color_sum : (Ht * Wt * 64, 3) uint64, or (0, 3) to skip
        Sum of the blended colour (quantized to 0..255) per hit.

    Returns
    -------
    int
        Number of wraps into ``carry`` (0 lets the caller skip reading it).
    """
    dim = A.shape[1]
    k = np.uint64(A.shape[0])
    tile_cols = (width + 7) // 8
    shade_depth = depth_max.shape[0] > 0
    blend = color_sum.shape[0] > 0
    block = 256
    cells = np.empty(block, dtype=np.int64)
    depths = np.empty(block)
    rgb = np.empty((block, 3))
    wraps = 0
    for c in range(seeds.shape[0]):
        state = seeds[c]
        x1, y1, z1 = _start(start, dim)
        x2, y2, z2 = _start(start, dim)
        r1, g1, b1 = 127.0, 127.0, 127.0
        r2, g2, b2 = 127.0, 127.0, 127.0
        n = counts[c]
        # the burn-in is rounded up to whole blocks, so a block is all burn-in or all points
        for first in range(-block * ((2 * burn_in + block - 1) // block), n, block):
            steps = min(block, n - first)
            # 1. advance both chains, storing the points of this block
            for j in range(0, steps, 2):
                state += _GOLDEN
                r = _mix(state)
                m1 = _pick(r >> _S32, k, threshold, alias)
                m2 = _pick(r & _LOW32, k, threshold, alias)
                x1, y1, z1 = _step(A, b, m1, dim, x1, y1, z1)
                x2, y2, z2 = _step(A, b, m2, dim, x2, y2, z2)
                cells[j] = _cell(view, x1, y1, z1, height, width, tile_cols)
                cells[j + 1] = _cell(view, x2, y2, z2, height, width, tile_cols)
                # a point on the raster is finite: test for escape only off the raster
                if cells[j] < 0 and _escaped(x1, y1, z1):
                    x1, y1, z1 = _start(start, dim)
                if cells[j + 1] < 0 and _escaped(x2, y2, z2):
                    x2, y2, z2 = _start(start, dim)
                if shade_depth:
                    depths[j] = view[2, 0] * x1 + view[2, 1] * y1 + view[2, 2] * z1 + view[2, 3]
                    depths[j + 1] = view[2, 0] * x2 + view[2, 1] * y2 + view[2, 2] * z2 + view[2, 3]
                if blend:
                    r1, g1, b1 = 0.5 * (r1 + colors[m1, 0]), 0.5 * (g1 + colors[m1, 1]), 0.5 * (b1 + colors[m1, 2])
                    r2, g2, b2 = 0.5 * (r2 + colors[m2, 0]), 0.5 * (g2 + colors[m2, 1]), 0.5 * (b2 + colors[m2, 2])
                    rgb[j, 0], rgb[j, 1], rgb[j, 2] = r1, g1, b1
                    rgb[j + 1, 0], rgb[j + 1, 1], rgb[j + 1, 2] = r2, g2, b2
            if first < 0:
                continue
            # 2. bin the block
            for j in range(steps):
                cell = cells[j]
                if cell < 0:
                    continue
                if tiles[cell] == 255:
                    tiles[cell] = 0
                    carry[cell] += np.uint32(1)
                    wraps += 1
                else:
                    tiles[cell] += np.uint8(1)
                if shade_depth:
                    nearness = np.uint16(min(max(depths[j], 0.0), 1.0) * 65535.0)
                    if nearness > depth_max[cell]:
                        depth_max[cell] = nearness
                if blend:
                    color_sum[cell, 0] += np.uint64(rgb[j, 0])
                    color_sum[cell, 1] += np.uint64(rgb[j, 1])
                    color_sum[cell, 2] += np.uint64(rgb[j, 2])
    return wraps


@njit(nogil=True, cache=True)
def untile(tiles, carry, with_carry, depth_max, color_sum, total, depth_total, color_total):
    """Add one thread's tiled rasters into the (H, W) totals, then zero them.

    ``tiles`` and ``carry`` are added into ``total`` (H, W) uint64, ``color_sum``
    into ``color_total`` (H, W, 3); ``depth_total`` (H, W) keeps the maximum of
    itself and ``depth_max``. Unused rasters are empty.
    """
    height, width = total.shape
    tile_cols = (width + 7) // 8
    for ir in range(height):
        for ic in range(width):
            cell = ((ir >> 3) * tile_cols + (ic >> 3)) * 64 + (ir & 7) * 8 + (ic & 7)
            total[ir, ic] += np.uint64(tiles[cell])
            if with_carry:
                total[ir, ic] += np.uint64(carry[cell]) << np.uint64(8)
            if depth_max.shape[0] > 0:
                depth_total[ir, ic] = max(depth_total[ir, ic], depth_max[cell])
            if color_sum.shape[0] > 0:
                for ch in range(3):
                    color_total[ir, ic, ch] += color_sum[cell, ch]
    tiles[:] = 0
    if with_carry:
        carry[:] = 0
    depth_max[:] = 0
    color_sum[:] = 0
