"""Nearest neighbours between point clouds (torch): the one search every loss is built on.

The neighbours are found without gradient (a KD-tree on the CPU, chunked distance
matrices on other devices); :func:`nearest_distances` then recomputes the distances to
them with gradient. The gradient is the same as that of a full distance matrix (the min
picks one neighbour) but memory stays proportional to the number of points, so clouds
of 10^4 - 10^5 points fit.

Every function takes a batch of clouds ``(B, N, d)`` or one cloud ``(N, d)``; a single
cloud on one side is compared with every cloud of the batch on the other.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree

from .._parallel import query_workers

# Entries of one block of the distance matrix on non-CPU devices (float32: 64 MB).
_BLOCK = 1 << 24


def nearest(x, y):
    """Index of the nearest point of ``y`` for every point of ``x`` (no gradient).

    Parameters
    ----------
    x : Tensor, shape (B, N, d)
    y : Tensor, shape (B, M, d)

    Returns
    -------
    Tensor of int64, shape (B, N)
    """
    if x.device.type == "cpu":
        xs = x.detach().numpy()
        ys = y.detach().numpy()
        shared = y.shape[0] == 1 or y.stride(0) == 0  # one cloud broadcast over the batch: one tree
        # a tree is built for one query (a collage changes every step): the unbalanced, uncompacted
        # build costs less and the search is as exact
        trees = [_tree(ys[0])] if shared else [_tree(cloud) for cloud in ys]
        found = [
            trees[0 if shared else i].query(xs[i], k=1, workers=query_workers(len(xs[i])))[1] for i in range(len(xs))
        ]
        return torch.as_tensor(np.stack(found).astype(np.int64))
    with torch.no_grad():
        rows = max(1, _BLOCK // max(1, x.shape[0] * y.shape[1]))
        return torch.cat([torch.cdist(x[:, i : i + rows], y).argmin(-1) for i in range(0, x.shape[1], rows)], dim=1)


def _tree(points: np.ndarray) -> cKDTree:
    """A KD-tree of ``points`` (n, d) for one query: unbalanced and uncompacted, cheaper to build."""
    return cKDTree(points, balanced_tree=False, compact_nodes=False)


def nearest_distances(x, y, squared: bool = False, return_index: bool = False):
    """Distance from every point of ``x`` to the nearest point of ``y``, differentiable.

    Parameters
    ----------
    x : Tensor, shape (B, N, d) or (N, d)
    y : Tensor, shape (B, M, d) or (M, d)
    squared : bool
        Squared distances (smoother at 0).
    return_index : bool
        Also return which point of ``y`` is the nearest.

    Returns
    -------
    Tensor, shape (B, N), or (N,) when both inputs are single clouds
    index : Tensor of int64, shape (B, N)
        Only with ``return_index``.
    """
    x3, y3, single = as_batch(x, y)
    index = nearest(x3, y3)
    partner = torch.gather(y3, 1, index[..., None].expand(-1, -1, y3.shape[-1]))
    squares = ((x3 - partner) ** 2).sum(-1)
    # sqrt has an infinite gradient at 0: a point on top of its neighbour gets a zero one instead
    out = squares if squared else torch.sqrt(squares.clamp_min(1e-30))
    out = out[0] if single else out
    return (out, index) if return_index else out


def as_batch(x, y):
    """Both clouds as (B, ., d) with the same B; ``single`` when neither had a batch."""
    single = x.dim() == 2 and y.dim() == 2
    x3 = x[None] if x.dim() == 2 else x
    y3 = y[None] if y.dim() == 2 else y
    if x3.shape[-1] != y3.shape[-1]:
        raise ValueError(f"clouds of different dimensions: {x3.shape[-1]} and {y3.shape[-1]}")
    batch = max(x3.shape[0], y3.shape[0])
    return x3.expand(batch, *x3.shape[1:]), y3.expand(batch, *y3.shape[1:]), single
