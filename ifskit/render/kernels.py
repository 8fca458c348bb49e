"""Numba kernels of the chaos game, of the deterministic renderers, and (at the end) of two other users.

All of ifskit's JIT code lives in this module: besides rendering, the dataset pictures'
raster (:mod:`ifskit.data`), the scoring of the fitter's cover candidates
(:mod:`ifskit.fitting.cover`) and the fine occupancy of its attractors (:mod:`ifskit.fitting.choice`).

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

import math

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


# ---- densities: chains side by side in SIMD lanes, binned into 8-bit tiles ----
#
# A density render works in pixel coordinates: the maps are conjugated by the view
# (``x -> V x + t``), so a point *is* its (column, row[, depth]) and binning needs no
# arithmetic beyond a conversion to integers. Each chunk advances ``LANES`` chains
# side by side; every loop over the lanes below is written so that LLVM turns it into
# vector instructions (separate 1D arrays, a map chosen by selects rather than by an
# indexed load). The maps are ``float32`` or ``float64`` (the ``precision`` of the
# render): in float32 twice as many lanes fit in a vector register.

#: Chains advanced side by side in each chunk of a density render.
LANES = 64
# Steps of all lanes computed before their points are binned (cells stay in L1 cache).
_BLOCK_STEPS = 8
# A pixel coordinate beyond this means the chain escaped (a non-contractive map).
_PIXEL_ESCAPE = 1e30


@njit(inline="always")
def _draw(state, u, half):
    """Two 32-bit uniforms per SplitMix64 draw for each lane, into ``u`` (2 half,) uint32."""
    for h in range(half):
        z = _mix(state + np.uint64(h + 1) * _GOLDEN)
        u[h] = np.uint32(z >> _S32)
        u[h + half] = np.uint32(z & _LOW32)
    return state + np.uint64(half) * _GOLDEN


@njit(nogil=True, cache=True, fastmath=_FMA)
def _density_chunk(
    maps, lower, start, limits, burn_in, state, n, tile_cols, tiles, carry, depth_max, colors, color_sum
):
    """Run one chunk's ``LANES`` chains for ``n`` points and bin them; returns the wraps into ``carry``.

    See :func:`chaos_density` for the arguments; ``state`` is the chunk's stream.
    """
    dim = maps.shape[1]
    k = maps.shape[0]
    lanes, half = LANES, LANES // 2
    x = np.empty(lanes, maps.dtype)
    y = np.empty(lanes, maps.dtype)
    z = np.empty(lanes, maps.dtype)
    xn = np.empty(lanes, maps.dtype)
    yn = np.empty(lanes, maps.dtype)
    zn = np.empty(lanes, maps.dtype)
    x0, y0, z0 = start[0], start[1], start[dim - 1]
    x[:] = x0
    y[:] = y0
    z[:] = z0
    u = np.empty(lanes, np.uint32)
    block = _BLOCK_STEPS * lanes
    cells = np.empty(block, np.int32)
    shade_depth = depth_max.shape[0] > 0
    blend = color_sum.shape[0] > 0
    depths = np.empty(block if shade_depth else 0, np.uint16)
    r = np.full(lanes if blend else 0, 127.0)
    g, bl = r.copy(), r.copy()
    cr, cg, cb = np.empty_like(r), np.empty_like(r), np.empty_like(r)
    rgb = np.empty((block if blend else 0, 3), np.uint64)
    width, height, escape, zero = limits[0], limits[1], limits[2], limits[3]
    trash = np.int32(tiles.shape[0] - 1)
    wraps = 0
    n_steps = (n + lanes - 1) // lanes
    for first in range(-burn_in, n_steps, _BLOCK_STEPS):
        for s in range(_BLOCK_STEPS):
            state = _draw(state, u, half)
            # the map of a lane is the last i with u >= lower[i]: map 0 first, then overwrite
            if dim == 2:
                a, b, c, d, e, f = (
                    maps[0, 0, 0],
                    maps[0, 0, 1],
                    maps[0, 0, 2],
                    maps[0, 1, 0],
                    maps[0, 1, 1],
                    maps[0, 1, 2],
                )
                for j in range(lanes):
                    xn[j] = a * x[j] + b * y[j] + c
                    yn[j] = d * x[j] + e * y[j] + f
                for i in range(1, k):
                    a, b, c, d, e, f = (
                        maps[i, 0, 0],
                        maps[i, 0, 1],
                        maps[i, 0, 2],
                        maps[i, 1, 0],
                        maps[i, 1, 1],
                        maps[i, 1, 2],
                    )
                    t = lower[i]
                    for j in range(lanes):
                        take = u[j] >= t
                        xi = a * x[j] + b * y[j] + c
                        yi = d * x[j] + e * y[j] + f
                        xn[j] = xi if take else xn[j]
                        yn[j] = yi if take else yn[j]
            else:
                for i in range(k):
                    a, b, c, d = maps[i, 0, 0], maps[i, 0, 1], maps[i, 0, 2], maps[i, 0, 3]
                    e, f, g1, h1 = maps[i, 1, 0], maps[i, 1, 1], maps[i, 1, 2], maps[i, 1, 3]
                    p, q, r1, t1 = maps[i, 2, 0], maps[i, 2, 1], maps[i, 2, 2], maps[i, 2, 3]
                    t = lower[i]
                    for j in range(lanes):
                        take = u[j] >= t
                        xi = a * x[j] + b * y[j] + c * z[j] + d
                        yi = e * x[j] + f * y[j] + g1 * z[j] + h1
                        zi = p * x[j] + q * y[j] + r1 * z[j] + t1
                        xn[j] = xi if take else xn[j]
                        yn[j] = yi if take else yn[j]
                        zn[j] = zi if take else zn[j]
            if blend:
                for i in range(k):
                    t = lower[i]
                    c0, c1, c2 = colors[i, 0], colors[i, 1], colors[i, 2]
                    for j in range(lanes):
                        take = u[j] >= t
                        cr[j] = c0 if take else cr[j]
                        cg[j] = c1 if take else cg[j]
                        cb[j] = c2 if take else cb[j]
            row0 = s * lanes
            if dim == 3:
                # an escaped depth makes the column NaN: the loop below then restarts the chain
                for j in range(lanes):
                    gone = ~(abs(zn[j]) < escape)
                    xn[j] = limits[4] if gone else xn[j]
                    z[j] = z0 if gone else zn[j]
                if shade_depth:
                    for j in range(lanes):
                        depths[row0 + j] = np.uint16(min(max(zn[j], zero), limits[5]) * 65535)
            # cells in tile order (an 8 x 8 tile is one 64-byte cache line); off the raster: trash
            for j in range(lanes):
                col, row = xn[j], yn[j]
                inside = (col >= zero) & (col < width) & (row >= zero) & (row < height)  # false for NaN
                ic = np.int32(col if inside else zero)
                ir = np.int32(row if inside else zero)
                cell = ((ir >> 3) * tile_cols + (ic >> 3)) * 64 + (ir & 7) * 8 + (ic & 7)
                cells[row0 + j] = cell if inside else trash
                gone = ~((abs(col) < escape) & (abs(row) < escape))
                x[j] = x0 if gone else col
                y[j] = y0 if gone else row
            if blend:
                for j in range(lanes):
                    r[j] = 0.5 * (r[j] + cr[j])
                    g[j] = 0.5 * (g[j] + cg[j])
                    bl[j] = 0.5 * (bl[j] + cb[j])
                    rgb[row0 + j, 0], rgb[row0 + j, 1], rgb[row0 + j, 2] = (
                        np.uint64(r[j]),
                        np.uint64(g[j]),
                        np.uint64(bl[j]),
                    )
        if first < 0:
            continue
        # the last step of the chunk keeps only the lanes still needed
        count = min(block, n - first * lanes)
        for j in range(count):
            cell = cells[j]
            hits = tiles[cell] + 1
            if hits == 256:
                tiles[cell] = 0
                carry[cell] += np.uint32(1)
                wraps += 1
            else:
                tiles[cell] = hits
        if shade_depth:
            for j in range(count):
                depth_max[cells[j]] = max(depth_max[cells[j]], depths[j])
        if blend:
            for j in range(count):
                for ch in range(3):
                    color_sum[cells[j], ch] += rgb[j, ch]
    return wraps


@njit(inline="always")
def _chunk_state(seed, chunk):
    base = _mix(np.uint64(seed) * _GOLDEN + _GOLDEN)
    return _mix(base + np.uint64(chunk + 1) * _GOLDEN)


@njit(nogil=True, cache=True)
def chaos_density(
    maps,
    lower,
    start,
    limits,
    burn_in,
    seed,
    first,
    last,
    n_points,
    chunk,
    width,
    tiles,
    carry,
    depth_max,
    colors,
    color_sum,
):
    """Run chunks ``first`` to ``last - 1`` of a density render and bin their points, keeping no points.

    Chunk ``c`` holds the points ``c * chunk`` to ``min((c + 1) * chunk, n_points) - 1``
    and draws from its own SplitMix64 stream, derived from ``(seed, c)`` as
    :func:`chunk_seeds` does, so that results never depend on which thread ran a
    chunk. The raster is stored as 8x8 tiles of 8-bit counts (a tile is one 64-byte
    cache line, so the pixels a fractal touches pack into few lines that stay in
    cache); a count that wraps past 255 adds 1 to ``carry`` (units of 256).

    Parameters
    ----------
    maps : (k, d, d + 1) float32 or float64
        Each map in pixel coordinates, ``[A | b]``: a point is (column, row[, depth]).
    lower : (k,) uint32
        Map ``i`` is chosen when a uniform 32-bit draw ``u`` has ``lower[i] <= u < lower[i + 1]``
        (``lower[0] = 0``).
    start : (d,) maps.dtype
        Starting point of every chain, in pixel coordinates.
    limits : (6,) maps.dtype
        Width and height of the raster, the escape threshold, 0, NaN, 1 (in the maps' type).
    burn_in : int
        Steps of each chain discarded first (a multiple of the block of steps).
    seed : int
    first, last : int
        Chunks to run.
    n_points, chunk : int
        Points of the whole render, points per chunk.
    width : int
        Raster width ``W`` (sets the number of tile columns, ``ceil(W / 8)``).
    tiles : (Ht * Wt * 64 + 1,) uint8
        Counts modulo 256 in tile order, ``Ht = ceil(H / 8)``, ``Wt = ceil(W / 8)``; the
        last byte collects the points off the raster.
    carry : (Ht * Wt * 64 + 1,) uint32
        Wraps of ``tiles``; the caller keeps the points binned into one raster under 2^39.
    depth_max : (Ht * Wt * 64 + 1,) uint16, or (0,) to skip
        Depth buffer of 3D views: the largest depth (nearest the viewer) of the hits,
        quantized to 0..65535; 0 where nothing was hit.
    colors : (k, 3) float64 in [0, 255]
        Colour of each map, blended as flam3 does: ``c <- (c + colors[m]) / 2``.
    color_sum : (Ht * Wt * 64 + 1, 3) uint64, or (0, 3) to skip
        Sum of the blended colour (quantized to 0..255) per hit.

    Returns
    -------
    int
        Number of wraps into ``carry`` (0 lets the caller skip reading it).
    """
    tile_cols = (width + 7) // 8
    wraps = 0
    for c in range(first, last):
        n = min(chunk, n_points - c * chunk)
        wraps += _density_chunk(
            maps,
            lower,
            start,
            limits,
            burn_in,
            _chunk_state(seed, c),
            n,
            tile_cols,
            tiles,
            carry,
            depth_max,
            colors,
            color_sum,
        )
    return wraps


@njit(nogil=True, cache=True)
def chaos_density_batch(
    maps, offsets, lower, starts, limits, burn_ins, seeds, n_points, chunk, width, renders, slots, tiles, carry, out
):
    """Densities of several IFS in one call: each render's chunks, binned, untiled into ``out[render]``.

    Parameters
    ----------
    maps, lower : (sum of k, d, d + 1), (sum of k,)
        The maps of every IFS, one after the other; IFS ``i`` has rows ``offsets[i]:offsets[i + 1]``.
    offsets : (n + 1,) int64
    starts : (n, d)
    limits : (4,)
    burn_ins, seeds : (n,) int64, uint64
    n_points, chunk, width : int
        As in :func:`chaos_density`, the same for every IFS.
    renders : (m,) int64
        The IFS to render in this call.
    slots : (n,) int64
        IFS ``i`` goes to ``out[slots[i]]``.
    tiles, carry
        Zeroed scratch rasters as in :func:`chaos_density`; left zeroed.
    out : (N, H, W) uint64
        ``out[slots[i]]`` receives the counts of IFS ``i`` (overwritten).
    """
    n_chunks = (n_points + chunk - 1) // chunk
    none16 = np.zeros(0, np.uint16)
    no_colors = np.zeros((1, 3))
    none64 = np.zeros((0, 3), np.uint64)
    for i in renders:
        # contiguous copies: the kernel is compiled (and vectorized) for C-ordered maps
        maps_i = np.ascontiguousarray(maps[offsets[i] : offsets[i + 1]])
        lower_i = np.ascontiguousarray(lower[offsets[i] : offsets[i + 1]])
        start_i = np.ascontiguousarray(starts[i])
        wraps = 0
        for c in range(n_chunks):
            wraps += _density_chunk(
                maps_i, lower_i, start_i, limits, burn_ins[i], _chunk_state(seeds[i], c),
                min(chunk, n_points - c * chunk), (width + 7) // 8, tiles, carry, none16, no_colors, none64,
            )  # fmt: skip
        into = out[slots[i]]
        into[:] = 0
        untile(
            tiles, carry, wraps > 0, none16, none64, into, np.zeros((0, 0), np.uint16), np.zeros((0, 0, 3), np.uint64)
        )
    return 0


@njit(inline="always")
def _dot(u, v):
    total = 0.0
    for i in range(u.shape[0]):
        total += u[i] * v[i]
    return total


@njit(nogil=True, cache=True)
def support(A, b, directions, tolerance, max_expansions):
    """Largest ``<u, x>`` over the attractor for each direction ``u``: its support function.

    Best-first search over compositions of maps. The ball around the mean ``c`` of
    the fixed points with radius ``R = max_i |w_i(c) - c| / (1 - s_i)`` holds the
    attractor (every map sends it into itself); a composition ``w`` sends the
    attractor into ``w(ball)``, which bounds ``<u, w(x)>`` from above, and sends the
    fixed points (points of the attractor) to points whose ``<u, .>`` bound it from
    below. A node is the pair ``(o, v)`` with ``<u, w(x)> = o + <v, x>``; its children
    are ``w o w_i``: ``(o + <v, b_i>, A_i^T v)``. Nodes whose upper bound is within
    ``tolerance`` times the fixed points' spread of the best lower bound are dropped;
    the search ends when none is left or after ``max_expansions`` nodes.

    Parameters
    ----------
    A : (k, d, d) float64
    b : (k, d) float64
    directions : (q, d) float64
    tolerance : float
        Relative to the extent of the fixed points (to the radius of the ball if they coincide).
    max_expansions : int

    Returns
    -------
    lower : (q,)
        Attained values: ``<u, x>`` of a point of the attractor.
    upper : (q,)
        Guaranteed upper bounds.
    contraction : float
        Largest contraction factor ``s = max_i ||A_i||_2``; when it is 1 or more there is
        no ball and nothing else is computed (then it is the first ``s_i >= 1``).
    fixed : (k, d)
        The fixed point of each map (NaN when ``contraction >= 1``).
    """
    k, d = A.shape[0], A.shape[1]
    n_dir = directions.shape[0]
    lower = np.full(n_dir, -np.inf)
    upper = np.full(n_dir, np.inf)
    # contraction factors, fixed points, ball
    scale = np.empty(k)
    fixed = np.full((k, d), np.nan)
    for i in range(k):
        scale[i] = np.linalg.svd(A[i])[1][0]
        if not scale[i] < 1.0:  # also for NaN
            return lower, upper, scale[i], fixed
        fixed[i] = np.linalg.solve(np.eye(d) - A[i], b[i])
    centre = np.zeros(d)
    for i in range(k):
        centre += fixed[i] / k
    radius = 0.0
    for i in range(k):
        moved = A[i] @ centre + b[i] - centre
        radius = max(radius, np.sqrt(_dot(moved, moved)) / (1.0 - scale[i]))
    spread = 0.0
    for i in range(k):
        for j in range(i):
            spread = max(spread, np.sqrt(_dot(fixed[i] - fixed[j], fixed[i] - fixed[j])))
    tol = tolerance * (spread if spread > 0.0 else radius)
    cap = max_expansions * k + 1
    offset = np.empty(cap)
    vector = np.empty((cap, d))
    bound = np.empty(cap)
    heap = np.empty(cap, np.int64)  # node ids, a binary max-heap on bound
    child = np.empty(d)
    for q in range(n_dir):
        u = directions[q]
        best = -np.inf
        for j in range(k):
            best = max(best, _dot(u, fixed[j]))
        offset[0] = 0.0
        vector[0] = u
        bound[0] = _dot(u, centre) + radius * np.sqrt(_dot(u, u))
        heap[0] = 0
        n_nodes, n_heap = 1, 1
        for _ in range(max_expansions):
            if n_heap == 0 or bound[heap[0]] <= best + tol:
                break
            node = heap[0]
            n_heap -= 1
            heap[0] = heap[n_heap]
            _sift_down(heap, n_heap, bound)
            for i in range(k):
                o = offset[node] + _dot(vector[node], b[i])
                for r in range(d):
                    child[r] = 0.0
                    for c in range(d):
                        child[r] += A[i, c, r] * vector[node, c]
                for j in range(k):
                    best = max(best, o + _dot(child, fixed[j]))
                top = o + _dot(child, centre) + radius * np.sqrt(_dot(child, child))
                if top > best + tol:
                    offset[n_nodes] = o
                    vector[n_nodes] = child
                    bound[n_nodes] = top
                    heap[n_heap] = n_nodes
                    _sift_up(heap, n_heap, bound)
                    n_nodes += 1
                    n_heap += 1
        lower[q] = best
        upper[q] = max(best + tol, bound[heap[0]]) if n_heap > 0 else best + tol
    return lower, upper, scale.max(), fixed


@njit(inline="always")
def _sift_up(heap, at, key):
    while at > 0:
        parent = (at - 1) // 2
        if key[heap[parent]] >= key[heap[at]]:
            return
        heap[parent], heap[at] = heap[at], heap[parent]
        at = parent


@njit(inline="always")
def _sift_down(heap, size, key):
    at = 0
    while True:
        largest, left = at, 2 * at + 1
        if left < size and key[heap[left]] > key[heap[largest]]:
            largest = left
        if left + 1 < size and key[heap[left + 1]] > key[heap[largest]]:
            largest = left + 1
        if largest == at:
            return
        heap[largest], heap[at] = heap[at], heap[largest]
        at = largest


@njit(nogil=True, cache=True)
def untile(tiles, carry, with_carry, depth_max, color_sum, total, depth_total, color_total):
    """Add one thread's tiled rasters into the (H, W) totals, then zero them.

    ``tiles`` and ``carry`` are added into ``total`` (H, W) uint64, ``color_sum``
    into ``color_total`` (H, W, 3); ``depth_total`` (H, W) keeps the maximum of
    itself and ``depth_max``. Unused rasters are empty. The last cell (points off
    the raster) is dropped.
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


# ---- deterministic rendering: Hutchinson and Markov operators on rasters, point sets ----
#
# A raster kernel gets each map as a (2, 3) affine map of pixel coordinates,
# ``(col, row) -> maps[m, :, :2] @ (col, row) + maps[m, :, 2]``, pixel (r, c)
# covering [c, c + 1) x [r, r + 1). Like the chaos game's kernels they release the
# GIL and do one task of a step (rows or bands ``task``, ``task + n_tasks``, ...):
# :mod:`ifskit.render.deterministic` runs the tasks on a pool of threads, which
# share the work out even when a core is busy with something else (numba's
# ``prange`` waits for its slowest thread at every step). Tasks write disjoint
# pixels, or store the same constant, so results do not depend on the threads.

# Overlaps thinner than this (in pixels) do not count: a pixel edge that maps exactly
# onto a pixel edge (scale 1/2 or 1/3 on a matching raster) would otherwise add the
# next row or column, depending on rounding.
_EDGE = 1e-7


@njit(inline="always")
def _crossing(ax, ay, bx, by, y, lo, hi):
    """Widen [lo, hi] to where the segment a-b crosses the horizontal line at height y."""
    if ay != by and (ay - y) * (by - y) <= 0.0:
        x = ax + (bx - ax) * (y - ay) / (by - ay)
        lo, hi = min(lo, x), max(hi, x)
    return lo, hi


@njit(inline="always")
def _corner(x, y, ya, yb, lo, hi):
    if ya <= y <= yb:
        lo, hi = min(lo, x), max(hi, x)
    return lo, hi


@njit(inline="always")
def _fill_parallelogram(dst, px, py, ux, uy, vx, vy):
    """Set every pixel of dst that meets the parallelogram p + s u + t v, s, t in [0, 1].

    Row by row: the x-range of the parallelogram within a row's strip comes from
    its corners inside the strip and its edges' crossings of the strip's two lines.
    A flat parallelogram (a map with det 0, the fern's stem) still sets the pixels
    it passes through.
    """
    height, width = dst.shape
    ylo = py + min(0.0, uy) + min(0.0, vy)
    yhi = py + max(0.0, uy) + max(0.0, vy)
    r_first = int(np.floor(ylo + _EDGE))
    r_last = max(r_first, int(np.ceil(yhi - _EDGE)) - 1)
    if r_last < 0 or r_first >= height:
        return
    qx, qy = px + ux, py + uy  # the other corners, in order around the parallelogram
    sx, sy = qx + vx, qy + vy
    tx, ty = px + vx, py + vy
    for row in range(max(r_first, 0), min(r_last, height - 1) + 1):
        ya, yb = max(float(row), ylo), min(row + 1.0, yhi)
        lo, hi = np.inf, -np.inf
        lo, hi = _corner(px, py, ya, yb, lo, hi)
        lo, hi = _corner(qx, qy, ya, yb, lo, hi)
        lo, hi = _corner(sx, sy, ya, yb, lo, hi)
        lo, hi = _corner(tx, ty, ya, yb, lo, hi)
        for y in (ya, yb):
            lo, hi = _crossing(px, py, qx, qy, y, lo, hi)
            lo, hi = _crossing(qx, qy, sx, sy, y, lo, hi)
            lo, hi = _crossing(sx, sy, tx, ty, y, lo, hi)
            lo, hi = _crossing(tx, ty, px, py, y, lo, hi)
        if lo > hi:  # rounding at a corner that the strip barely touches
            continue
        c_first = int(np.floor(lo + _EDGE))
        c_last = max(c_first, int(np.ceil(hi - _EDGE)) - 1)
        for col in range(max(c_first, 0), min(c_last, width - 1) + 1):
            dst[row, col] = 1


@njit(nogil=True, cache=True)
def hutchinson_cover(src, maps, dst, task, n_tasks):
    """One task of a step of the Hutchinson operator on a raster: dst = the pixels that meet W(src).

    A destination pixel is set when it meets the image of the whole footprint of a
    set source pixel under some map (not just the image of its centre), so the set
    always covers the attractor and a thin one cannot break into dust. A run of set
    pixels along a row is mapped as one parallelogram, the union of their images.

    Parameters
    ----------
    src : (H, W) uint8
        Source set (nonzero = set).
    maps : (k, 2, 3) float64
        Each map in pixel coordinates, from ``src`` pixels to ``dst`` pixels.
    dst : (H2, W2) uint8
        Zeroed by the caller; set pixels become 1. Tasks may store 1 into the same
        byte at once, which is harmless: a store of a constant, not a read-modify-write.
    task, n_tasks : int
        This task maps source rows ``task``, ``task + n_tasks``, ...: every task
        gets its share of the attractor.
    """
    height, width = src.shape
    for row in range(task, height, n_tasks):
        col = 0
        while col < width:
            if src[row, col] == 0:
                col += 1
                continue
            start = col
            while col < width and src[row, col] != 0:
                col += 1
            run = col - start
            for m in range(maps.shape[0]):
                px = maps[m, 0, 0] * start + maps[m, 0, 1] * row + maps[m, 0, 2]
                py = maps[m, 1, 0] * start + maps[m, 1, 1] * row + maps[m, 1, 2]
                ux, uy = maps[m, 0, 0] * run, maps[m, 1, 0] * run
                _fill_parallelogram(dst, px, py, ux, uy, maps[m, 0, 1], maps[m, 1, 1])


@njit(nogil=True, cache=True)
def block_mean(fine, out):
    """Mean of each ``f x f`` block of ``fine`` (H f, W f) into ``out`` (H, W) float64."""
    height, width = out.shape
    f = fine.shape[0] // height
    scale = 1.0 / (f * f)
    for row in range(height):
        for col in range(width):
            total = 0
            for i in range(row * f, row * f + f):
                for j in range(col * f, col * f + f):
                    total += fine[i, j]
            out[row, col] = total * scale


@njit(inline="always")
def _box_parts(x, w):
    """Split the box [x - w/2, x + w/2] (w < 1) between the unit cells it meets.

    Returns the first cell, the box's share in it, and the centroids of the two
    parts (the second part is empty when the share is 1).
    """
    lo = x - 0.5 * w
    cell = np.floor(lo)
    edge = cell + 1.0
    if lo + w <= edge:
        return int(cell), 1.0, x, x
    return int(cell), (edge - lo) / w, 0.5 * (lo + edge), 0.5 * (edge + lo + w)


@njit(inline="always")
def _deposit(out, i, j, q, x, y):
    out[i, j, 0] += q
    out[i, j, 1] += q * x
    out[i, j, 2] += q * y


@njit(nogil=True, cache=True, fastmath=_FMA)
def markov_push(state, row_start, cols, maps, widths, p, out, task, n_tasks):
    """One task of a step of the Markov operator on a raster: out = sum_i p_i (w_i)_* state.

    Each pixel carries its mass and the mass's centroid, which an affine map sends
    exactly. Mass is spread over a box the size of the image of a pixel (as in
    Ulam's method), centred on the mapped centroid, and shared between the (at most
    2 x 2) pixels it meets; each part brings its own centroid. Keeping centroids
    removes most of the smearing of a pure pixel method (the fern's midribs, lines
    of mass, stay sharp): the total variation to the chaos game's density is about
    2.5 times smaller at the same resolution.

    The destination is cut into bands of rows, each written by one task that visits
    only the source pixels whose mass can reach it (an interval of columns per
    source row, as a map is affine; found among the pixels with mass by bisection):
    no two tasks add into the same pixel, and the sums do not depend on the order
    of the tasks.

    Parameters
    ----------
    state : (H, W, 3) float64
        Mass of each pixel and its centroid ``(x, y)`` in pixel coordinates (any
        where the mass is 0). Interleaved, so that a pixel is one cache line.
    row_start, cols : (H + 1,) and (n,) int64
        The pixels with mass, by row, from :func:`occupied`.
    maps : (k, 2, 3) float64
        Each map in pixel coordinates, as in :func:`hutchinson_cover`.
    widths : (k, 2) float64
        Width and height of the box of each map, in [0, 1).
    p : (k,) float64
        Probabilities.
    out : (H2, W2, 3) float64
        Zeroed by the caller; receives the mass and the mass-weighted x and y of each
        pixel (see :func:`finish_measure`). Mass leaving the raster is dropped.
    task, n_tasks : int
        This task writes bands ``task``, ``task + n_tasks``, ... of 8 rows.
    """
    height = state.shape[0]
    h2, w2 = out.shape[0], out.shape[1]
    # bands of 8 rows: a band also visits the source pixels that reach just outside it
    for band in range(task, (h2 + 7) // 8, n_tasks):
        r0, r1 = 8 * band, min(8 * band + 8, h2)
        for m in range(maps.shape[0]):
            slope = maps[m, 1, 0]  # d(dest y) / d(source x)
            # how far a centroid and its box reach from the image of the pixel centre
            reach = 0.5 * (abs(maps[m, 1, 0]) + abs(maps[m, 1, 1])) + 1.0
            for row in range(height):
                first, end = row_start[row], row_start[row + 1]
                if first == end:
                    continue
                base = slope * 0.5 + maps[m, 1, 1] * (row + 0.5) + maps[m, 1, 2]  # y = slope * col + base
                if abs(slope) < 1e-12:
                    if not (r0 - reach <= base < r1 + reach):
                        continue
                    c_lo, c_hi = 0, cols[end - 1] + 1
                else:
                    x1, x2 = (r0 - reach - base) / slope, (r1 + reach - base) / slope
                    c_lo = max(0, int(np.floor(min(x1, x2))))
                    c_hi = int(np.ceil(max(x1, x2))) + 1
                n = first + np.searchsorted(cols[first:end], c_lo)
                while n < end and cols[n] < c_hi:
                    col = cols[n]
                    n += 1
                    w = state[row, col, 0]
                    sx, sy = state[row, col, 1], state[row, col, 2]
                    x = maps[m, 0, 0] * sx + maps[m, 0, 1] * sy + maps[m, 0, 2]
                    y = maps[m, 1, 0] * sx + maps[m, 1, 1] * sy + maps[m, 1, 2]
                    if not (r0 - 1.0 <= y < r1 + 1.0 and -1.0 <= x < w2 + 1.0):  # also false for NaN
                        continue
                    i, fy, ya, yb = _box_parts(y, widths[m, 1])
                    j, fx, xa, xb = _box_parts(x, widths[m, 0])
                    w *= p[m]
                    for ii, share_y, yy in ((i, fy, ya), (i + 1, 1.0 - fy, yb)):
                        if r0 <= ii < r1 and share_y > 0.0:
                            if 0 <= j < w2:
                                _deposit(out, ii, j, w * share_y * fx, xa, yy)
                            if 0 <= j + 1 < w2 and fx < 1.0:
                                _deposit(out, ii, j + 1, w * share_y * (1.0 - fx), xb, yy)


@njit(nogil=True, cache=True)
def occupied(state, row_start, cols):
    """Fill ``row_start`` (H + 1,) and ``cols`` (H W,) with the columns of the pixels with mass, by row."""
    n = 0
    for row in range(state.shape[0]):
        row_start[row] = n
        for col in range(state.shape[1]):
            if state[row, col, 0] != 0.0:
                cols[n] = col
                n += 1
    row_start[state.shape[0]] = n


@njit(nogil=True, cache=True)
def finish_measure(out, previous):
    """Normalize the result of :func:`markov_push` in place and measure the step.

    The masses ``out[..., 0]`` are scaled to sum to 1, the weighted sums
    ``out[..., 1:]`` become centroids.

    Returns
    -------
    total : float
        Mass before scaling (what stayed on the raster).
    change : float
        Total variation distance to the masses of ``previous`` after scaling.
    """
    height, width = out.shape[0], out.shape[1]
    total = 0.0
    for row in range(height):
        for col in range(width):
            total += out[row, col, 0]
    scale = 1.0 / total if total > 0.0 else 0.0
    change = 0.0
    for row in range(height):
        for col in range(width):
            q = out[row, col, 0]
            if q > 0.0:
                out[row, col, 1] /= q
                out[row, col, 2] /= q
            q *= scale
            out[row, col, 0] = q
            change += abs(q - previous[row, col, 0])
    return total, 0.5 * change


@njit(inline="always")
def _cell_key(x, y, z, origin, inv_cell):
    """Grid cell of a point as one int64: 21 bits per axis around ``origin`` (clamped)."""
    key = np.int64(0)
    for v, o in ((x, origin[0]), (y, origin[1]), (z, origin[2])):
        c = (v - o) * inv_cell
        c = min(max(c, -1048576.0), 1048575.0)  # far-away points share the edge cells
        key = (key << 21) | (np.int64(np.floor(c)) + 1048576)
    return key


@njit(inline="always")
def _insert(table, key):
    """Add key to the open-addressing hash set; True if it was not there."""
    mask = np.uint64(table.shape[0] - 1)
    slot = _mix(np.uint64(key)) & mask
    while True:
        here = table[slot]
        if here == key:
            return False
        if here < 0:
            table[slot] = key
            return True
        slot = (slot + np.uint64(1)) & mask


@njit(nogil=True, cache=True, fastmath=_FMA)
def spread_points(A, b, points, first, last, count, origin, inv_cell, table, n_keys):
    """Append the images of ``points[first:last]`` under every map that fall in new grid cells.

    An image whose cell (side ``1 / inv_cell``) is already in ``table`` is dropped,
    so the point count stays bounded by the number of cells the attractor meets.
    Sequential: the hash set is shared, and the order of the points is then fixed.

    Parameters
    ----------
    A : (k, d, d) float64
    b : (k, d) float64
    points : (capacity, d) float64
        Rows ``count`` on receive the new points.
    first, last : int
        Rows to map.
    count : int
        Rows in use.
    origin : (3,) float64
        A point of the grid (zero-padded in 2D).
    inv_cell : float
        One over the cell size.
    table : (2^m,) int64
        Hash set of cell keys, -1 = empty.
    n_keys : int
        Keys in ``table``.

    Returns
    -------
    count, row, n_keys : int
        ``row < last`` when ``points`` or ``table`` is full: grow them and call again from ``row``.
    """
    dim = A.shape[1]
    k = A.shape[0]
    for row in range(first, last):
        if count + k > points.shape[0] or 2 * (n_keys + k) > table.shape[0]:
            return count, row, n_keys
        x, y, z = _start(points[row], dim)
        for m in range(k):
            u, v, w = _step(A, b, m, dim, x, y, z)
            if _insert(table, _cell_key(u, v, w, origin, inv_cell)):
                n_keys += 1
                points[count, 0], points[count, 1] = u, v
                if dim == 3:
                    points[count, 2] = w
                count += 1
    return count, last, n_keys


@njit(nogil=True, cache=True)
def add_cells(points, origin, inv_cell, table):
    """Put the cells of ``points`` (n, d) into ``table``; keep the first point of each cell.

    Returns
    -------
    keep : (n,) bool
        True for the first point seen in its cell.
    """
    dim = points.shape[1]
    keep = np.zeros(points.shape[0], dtype=np.bool_)
    for row in range(points.shape[0]):
        x, y, z = _start(points[row], dim)
        keep[row] = _insert(table, _cell_key(x, y, z, origin, inv_cell))
    return keep


# ---- dataset pictures ----


@njit(nogil=True, cache=True)
def light_pixels(points, size, lit):
    """FractalDB's picture of a cloud: set to 255 the pixel of every finite point, in place.

    The cloud's bounding box is stretched onto the picture, y up, the extreme points on the
    centres of the border pixels (see :func:`ifskit.data.pictures.raster`). One pass for the
    bounding box, one to bin: three times faster than whole-array numpy, whose temporaries of
    ``n`` values are most of its cost. Plain arithmetic (no fast-math), so a pixel is the one
    numpy's ``int32((x - lo) * scale + 0.5)`` gives.

    Parameters
    ----------
    points : (n, 2) float64
    size : int
        Picture side ``S``.
    lit : (S, S) uint8
        Written in place.
    """
    lo_x, hi_x, lo_y, hi_y = np.inf, -np.inf, np.inf, -np.inf
    for i in range(points.shape[0]):
        x, y = points[i, 0], points[i, 1]
        if np.isfinite(x) and np.isfinite(y):
            lo_x, hi_x = min(lo_x, x), max(hi_x, x)
            lo_y, hi_y = min(lo_y, y), max(hi_y, y)
    if lo_x > hi_x:  # no finite point
        return
    scale_x = (size - 1) / (hi_x - lo_x) if hi_x > lo_x else 0.0
    scale_y = (size - 1) / (hi_y - lo_y) if hi_y > lo_y else 0.0
    for i in range(points.shape[0]):
        x, y = points[i, 0], points[i, 1]
        if np.isfinite(x) and np.isfinite(y):
            # the nearest pixel centre (+ 0.5 and truncation: the values are not negative), y up
            lit[np.int32((hi_y - y) * scale_y + 0.5), np.int32((x - lo_x) * scale_x + 0.5)] = 255


# ---- the fitter's cover candidates (ifskit.fitting.cover) ----

# Spill of an image point that falls off the grid: far (as Occupancy.spill_of).
_OFF_GRID = np.float32(1e3)


@njit(nogil=True, cache=True, inline="always")
def _grid_cell(point, lo, cell, size):
    """Flat (row-major) cell of a point (d,) in a ``size^d`` grid, clamped to it, and whether it lies inside.

    The cell is ``floor((x - lo) / cell)`` per axis, as :meth:`ifskit.fitting.occupancy.Occupancy.cells`.
    """
    flat = 0
    inside = True
    for axis in range(point.shape[0]):
        t = int(math.floor((point[axis] - lo[axis]) / cell))
        if t < 0:
            inside = False
            t = 0
        elif t >= size:
            inside = False
            t = size - 1
        flat = flat * size + t
    return flat, inside


@njit(nogil=True, cache=True)
def score_cover_images(images, lo, cell, size, spill, index, spill_share, spill_max, cover, spilled, admissible):
    """Spill and coverage of each cover candidate's image points, written into the output arrays.

    One pass that marks the cells as it goes, in place of a dozen numpy passes over a
    (candidates, sources) array and a sort for the distinct spilled cells; the cell of a
    point is ``floor((x - lo) / cell)`` as in :meth:`ifskit.fitting.occupancy.Occupancy.cells`,
    so the answers are those of the numpy version to the bit.

    Parameters
    ----------
    images : ndarray, shape (c, S, d)
        Images of the source points under each of ``c`` candidate maps.
    lo : ndarray, shape (d,)
        Lower corner of the occupancy grid.
    cell : float
        Cell side.
    size : int
        Cells per side of the grid.
    spill : ndarray of float32, shape (size^d,)
        Distance in cells of each grid cell to the shape (flat, row-major).
    index : ndarray of int64, shape (size^d,)
        Number of each cell of the shape, -1 outside it (flat, row-major).
    spill_share, spill_max : float
        A candidate is admissible when at most ``spill_share`` of its points lie a cell or more
        outside the shape and none farther than ``spill_max`` cells.
    cover : ndarray of bool, shape (c, m)
        Out: the cells of the shape each candidate's image reaches (must be all False on entry).
    spilled : ndarray of int64, shape (c,)
        Out: distinct grid cells outside the shape each image reaches.
    admissible : ndarray of bool, shape (c,)
        Out.
    """
    count, n_sources, dim = images.shape
    stamp = np.zeros(spill.size, dtype=np.int64)  # candidate + 1 that last counted each cell
    for i in range(count):
        far = 0
        worst = np.float32(0.0)
        distinct = 0
        for s in range(n_sources):
            flat, inside = _grid_cell(images[i, s], lo, cell, size)
            distance = spill[flat] if inside else _OFF_GRID
            if distance >= 1.0:
                far += 1
            if distance > worst:
                worst = distance
            if inside:
                number = index[flat]
                if number >= 0:
                    cover[i, number] = True
                elif stamp[flat] != i + 1:
                    stamp[flat] = i + 1
                    distinct += 1
        spilled[i] = distinct
        admissible[i] = far / n_sources <= spill_share and worst <= spill_max


@njit(nogil=True, cache=True)
def fine_occupancy_spill(points, lo, fine_cell, factor, cell, size, spill, target, visited, reached, spill_of_points):
    """An attractor's occupancy at a grid ``factor`` times finer than the target's, and each point's spill.

    One pass over the points of :func:`ifskit.fitting.choice.fine_attractor_figures` in place of
    numpy passes over the fine grid (:func:`ifskit.fitting.occupancy.occupancy_grid` at the fine
    cell, the target repeated to it, their intersection and union counted, the fine grid
    reduced to the coarse one) and over the points (:meth:`ifskit.fitting.occupancy.Occupancy.spill_of`).
    The cells of a point are ``floor((x - lo) / cell)`` as there, and a fine cell's coarse cell its
    index divided by ``factor``, so the answers are theirs to the bit.

    Parameters
    ----------
    points : ndarray, shape (n, d)
    lo : ndarray, shape (d,)
        Lower corner of both grids.
    fine_cell : float
        Cell side of the fine grid (``cell / factor``).
    factor : int
        Fine cells per side of a coarse cell.
    cell : float
        Cell side of the coarse grid.
    size : int
        Cells per side of the coarse grid (the fine one has ``size * factor``).
    spill : ndarray of float32, shape (size^d,)
        Distance in cells of each coarse cell to the shape (flat, row-major).
    target : ndarray of bool, shape (size^d,)
        The coarse cells of the shape (flat, row-major); a fine cell is the shape's when its coarse cell is.
    visited : ndarray of bool, shape ((size * factor)^d,)
        Scratch, all False on entry: the fine cells holding a point.
    reached : ndarray of bool, shape (size^d,)
        Out, all False on entry: the coarse cells one of whose fine cells holds a point.
    spill_of_points : ndarray of float32, shape (n,)
        Out: each point's coarse cell's spill, 1e3 off the grid.

    Returns
    -------
    inside : int
        Fine cells of the shape that hold a point.
    outside : int
        Fine cells outside the shape, on the grid, that hold a point.
    """
    n, dim = points.shape
    fine_size = size * factor
    inside_count = 0
    outside_count = 0
    for s in range(n):
        fine_flat = 0
        of_fine = 0  # the coarse cell of the point's fine cell
        fine_inside = True
        for axis in range(dim):
            t = int(math.floor((points[s, axis] - lo[axis]) / fine_cell))
            if t < 0 or t >= fine_size:
                fine_inside = False
            else:
                fine_flat = fine_flat * fine_size + t
                of_fine = of_fine * size + t // factor
        flat, inside = _grid_cell(points[s], lo, cell, size)
        if fine_inside and not visited[fine_flat]:
            visited[fine_flat] = True
            reached[of_fine] = True
            if target[of_fine]:
                inside_count += 1
            else:
                outside_count += 1
        spill_of_points[s] = spill[flat] if inside else _OFF_GRID
    return inside_count, outside_count
