"""Differentiable distances between point clouds, and the collage of a cloud (torch).

Built on the nearest-neighbour search of :mod:`ifskit.ops.knn`. The exact Hausdorff distance for reporting is
:func:`ifskit.analysis.hausdorff_distance`.

Every function takes a batch of clouds ``(B, N, d)`` or one cloud ``(N, d)``; a
single cloud on one side is compared with every cloud of the batch on the other.
"""

from __future__ import annotations

import math

import torch

from .knn import nearest, nearest_distances

#: Maps per chain of :func:`attractor_chamfer`: from the cloud, 8 maps of contraction
#: <= 0.7 bring a chain within 6% of its start's distance to the attractor.
CHAIN_STEPS = 8
#: Smallest share of a map in the chains, as a fraction of a uniform share ``1 / K``.
CHAIN_SHARE_FLOOR = 0.05


def chamfer(x, y, weights_x=None, squared: bool = False, return_index: bool = False):
    """Symmetric Chamfer distance: the mean of the two mean nearest-neighbour distances.

    ``(mean_i d(x_i, y) + mean_j d(y_j, x)) / 2``, as :func:`ifskit.chamfer_distance`.
    For a collage ``x = W(T)`` and target ``y = T``: every collage point near the target,
    and every target point covered by the collage.

    Parameters
    ----------
    x : Tensor, shape (B, N, d) or (N, d)
    y : Tensor, shape (B, M, d) or (M, d)
    weights_x : Tensor, shape (B, N) or (N,), optional
        Non-negative weights of the points of ``x`` in the mean of ``d(x_i, y)``.
    squared : bool
        Use squared distances.
    return_index : bool
        Also return, for every point of ``y``, the index of its nearest point of ``x``
        (for a collage: which map's image covers each target point).

    Returns
    -------
    Tensor, shape (B,), or () when both inputs are single clouds
    index : Tensor of int64, shape (B, M)
        Only with ``return_index``.
    """
    to_y = nearest_distances(x, y, squared)
    to_x, index = nearest_distances(y, x, squared, return_index=True)
    if weights_x is None:
        forward = to_y.mean(-1)
    else:
        weights_x = weights_x.to(to_y)
        forward = (to_y * weights_x).sum(-1) / weights_x.sum(-1)
    value = 0.5 * (forward + to_x.mean(-1))
    return (value, index) if return_index else value


def smooth_hausdorff(x, y, temperature: float):
    """Smooth Hausdorff distance: a log-sum-exp soft maximum of the nearest-neighbour distances.

    ``t * log(mean(exp(d / t)))`` over the distances of both directions; between their
    mean and their maximum, and tends to the Hausdorff distance as ``t -> 0``. Every
    point gets a gradient, the farthest ones most.

    Parameters
    ----------
    x : Tensor, shape (B, N, d) or (N, d)
    y : Tensor, shape (B, M, d) or (M, d)
    temperature : float
        ``t > 0``, in the units of the points.

    Returns
    -------
    Tensor, shape (B,), or () when both inputs are single clouds
    """
    if not temperature > 0:
        raise ValueError(f"the temperature must be positive, got {temperature}")
    return soft_maximum(torch.cat([nearest_distances(x, y), nearest_distances(y, x)], dim=-1), temperature)


def soft_maximum(distances, temperature: float):
    """Log-sum-exp soft maximum ``t * log(mean(exp(d / t)))`` of distances, over the last axis.

    Between their mean and their maximum; tends to the maximum as ``t -> 0``.

    Parameters
    ----------
    distances : Tensor, shape (..., N)
    temperature : float
        ``t > 0``, in the units of the distances.

    Returns
    -------
    Tensor, shape (...)
    """
    return temperature * (torch.logsumexp(distances / temperature, dim=-1) - math.log(distances.shape[-1]))


def collage(points, A, b):
    """The collage ``W(T)``: the images of a cloud under every map, concatenated.

    Parameters
    ----------
    points : Tensor, shape (B, N, d) or (N, d)
    A : Tensor, shape (B, K, d, d)
    b : Tensor, shape (B, K, d)

    Returns
    -------
    Tensor, shape (B, K * N, d)
        ``out[:, k * N + n] = A[:, k] @ points[:, n] + b[:, k]``.
    """
    if points.dim() == 2:
        images = torch.einsum("bkij,nj->bkni", A, points)
    else:
        images = torch.einsum("bkij,bnj->bkni", A, points)
    images = images + b[:, :, None, :]
    return images.reshape(images.shape[0], -1, images.shape[-1])


def map_shares(owner, n_maps: int, floor: float = 0.0, dtype=None):
    """Share of the points each map owns, floored and renormalized (no gradient).

    Parameters
    ----------
    owner : Tensor of int64, shape (B, N)
        The map (0 .. K-1) whose image covers each point (its nearest collage point's map).
    n_maps : int
    floor : float
        Smallest share a map gets (then all are renormalized): a map that covers
        no point is still drawn.
    dtype : torch.dtype, optional
        Of the result (default float32).

    Returns
    -------
    Tensor, shape (B, K)
        Rows sum to 1.
    """
    counts = torch.zeros(owner.shape[0], n_maps, dtype=dtype, device=owner.device).scatter_add_(
        1, owner, torch.ones(owner.shape, dtype=dtype, device=owner.device)
    )
    share = (counts / owner.shape[1]).clamp_min(floor)
    return share / share.sum(-1, keepdim=True)


def collage_owner(points, A, b, sources=None):
    """Which map's image covers each point of a cloud: the map of its nearest collage point (no gradient).

    Parameters
    ----------
    points : Tensor, shape (B, N, d) or (N, d)
        The cloud (one cloud is shared by every batch element of the maps).
    A : Tensor, shape (B, K, d, d)
    b : Tensor, shape (B, K, d)
    sources : Tensor, shape (B, S, d), optional
        The points whose images make the collage (default ``points``): a sample of the
        cloud, for many maps.

    Returns
    -------
    Tensor of int64, shape (B, N)
        Map indices 0 .. K-1, on the device of ``A``.
    """
    with torch.no_grad():
        clouds = points.expand(A.shape[0], *points.shape[-2:]) if points.dim() == 2 else points
        sources = clouds if sources is None else sources
        return nearest(clouds, collage(sources, A, b)).to(A.device) // sources.shape[1]


def coverage_shares(points, A, b, floor: float = 0.0):
    """Share of each cloud whose nearest collage point comes from each map (no gradient).

    When the maps' images do not overlap, this is the invariant measure's
    ``mu(w_i(A)) = p_i``: the probabilities that make a chaos game of the maps
    reproduce the cloud's density. (Where the collage's nearest neighbours are
    computed anyway, :func:`chamfer` with ``return_index`` and :func:`map_shares`
    give the same without a second search.)

    Parameters
    ----------
    points : Tensor, shape (B, N, d) or (N, d)
        The cloud (one cloud is shared by every batch element of the maps).
    A : Tensor, shape (B, K, d, d)
    b : Tensor, shape (B, K, d)
    floor : float
        See :func:`map_shares`.

    Returns
    -------
    Tensor, shape (B, K)
        Rows sum to 1.
    """
    return map_shares(collage_owner(points, A, b), A.shape[1], floor, A.dtype)


def chaos_chains(points, A, b, p, n_steps: int, generator=None):
    """Short differentiable chaos game: every point of a cloud starts a chain of ``n_steps`` random maps.

    ``x <- A[i] x + b[i]`` with ``i`` drawn with probabilities ``p``, independently per
    chain and step. After ``n`` steps a chain is within ``s^n`` times its start's
    distance of the attractor (``s`` the largest contraction), so from a cloud near
    the attractor a few steps give points of it, with gradients to the maps through
    the products of ``n`` maps.

    Parameters
    ----------
    points : Tensor, shape (B, N, d) or (N, d)
        Starting points (one cloud is shared by every batch element of the maps).
    A : Tensor, shape (B, K, d, d)
    b : Tensor, shape (B, K, d)
    p : Tensor, shape (B, K)
        Map probabilities (no gradient flows to them).
    n_steps : int
    generator : torch.Generator or list of B of them, optional
        CPU generator of the map choices (same generator state, same chains); a list
        gives each batch element its own, so its chains do not depend on the others.

    Returns
    -------
    Tensor, shape (B, N, d)
    """
    batch = A.shape[0]
    x = points.expand(batch, *points.shape[-2:]) if points.dim() == 2 else points
    rows = torch.arange(batch, device=A.device)[:, None]
    weights = p.detach().float().cpu()
    for _ in range(n_steps):
        if isinstance(generator, (list, tuple)):  # one per cloud: each draws its own maps
            choice = torch.cat(
                [torch.multinomial(weights[i : i + 1], x.shape[1], True, generator=g) for i, g in enumerate(generator)]
            ).to(A.device)
        else:
            choice = torch.multinomial(weights, x.shape[1], replacement=True, generator=generator).to(A.device)
        x = (A[rows, choice] @ x[..., None])[..., 0] + b[rows, choice]
    return x


def attractor_chamfer(points, A, b, n_steps: int = CHAIN_STEPS, generator=None, target=None, p=None):
    """Chamfer distance between a cloud and points of the attractor drawn by :func:`chaos_chains` from it.

    The distance the collage bound only bounds from above, measured directly (the
    "attractor term" of the Neural Collages objective): it sees where the maps'
    attractor lies, not only how well one application of the maps covers the cloud.
    The chains draw the maps with the cloud's :func:`coverage_shares` (floored at
    5% of a uniform share, :data:`CHAIN_SHARE_FLOOR`), so their density follows the cloud's.

    Parameters
    ----------
    points : Tensor, shape (B, N, d) or (N, d)
        Chain starts, and the cloud whose coverage gives the probabilities.
    A : Tensor, shape (B, K, d, d)
    b : Tensor, shape (B, K, d)
    n_steps : int
        Maps per chain.
    generator : torch.Generator or list of them, optional
        See :func:`chaos_chains`.
    target : Tensor, shape (B, M, d) or (M, d), optional
        The cloud compared with the chains (default ``points``).
    p : Tensor, shape (B, K), optional
        The map probabilities, when the caller has them (:func:`map_shares` of the
        collage's nearest neighbours); default: computed here.

    Returns
    -------
    Tensor, shape (B,)
    """
    if p is None:
        p = coverage_shares(points, A, b, CHAIN_SHARE_FLOOR / A.shape[1])
    chains = chaos_chains(points, A, b, p, n_steps, generator)
    return chamfer(chains, points if target is None else target)


def splat(points, mass, lo, cell: float, size: int):
    """Bilinear (trilinear) splat of weighted points onto a ``size^d`` grid of cell side ``cell``, corner ``lo``.

    Differentiable in the points and their masses: each point spreads its mass over the
    ``2^d`` cells whose centres surround it. Points off the grid are clamped to its edge.

    Parameters
    ----------
    points : Tensor, shape (B, N, d)
    mass : Tensor, shape (B, N)
    lo : Tensor, shape (d,)
    cell : float
    size : int

    Returns
    -------
    Tensor, shape (B, size ** d)
        The mass of each cell, flat in row-major order.
    """
    batch, _, dim = points.shape
    u = ((points - lo) / cell - 0.5).clamp(0.0, size - 1.000001)
    base = torch.floor(u.detach())
    frac = u - base
    base = base.long()
    out = points.new_zeros(batch, size**dim)
    for corner in range(2**dim):
        weight = mass
        flat = torch.zeros_like(base[..., 0])
        for axis in range(dim):
            bit = (corner >> (dim - 1 - axis)) & 1
            f = frac[..., axis]
            weight = weight * (f if bit else 1 - f)
            flat = flat * size + (base[..., axis] + bit).clamp(max=size - 1)
        out = out.scatter_add(1, flat, weight)
    return out
