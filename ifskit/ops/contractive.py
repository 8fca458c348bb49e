"""Contractive affine maps from unconstrained parameters (torch).

Every map is written as a singular value decomposition ``A = U diag(sigma) V^T`` with
``U``, ``V`` rotations and bounded singular values, so ``||A||_2 <= max_contraction``
holds by construction for any parameter values: an optimizer can move freely and
never leaves the contractive maps (a penalty could not promise that).

Layout of the raw parameters of one map (``n_params(dim)`` numbers):

2D (6 numbers)
    ``[theta, phi, l1, l2, b_x, b_y]``: ``A = R(theta) diag(s1, s2) R(phi)`` with
    ``s1 = c * sigmoid(l1)`` and ``s2 = c * tanh(l2)``, ``c = max_contraction``.
    The signed ``s2`` gives the reflections (``det A < 0``) and lets a map flatten to a
    segment smoothly (``s2 = 0``, like the fern's stem).
3D (18 numbers)
    ``[u (6), v (6), l1, l2, l3, b (3)]``: ``U`` and ``V`` each from the continuous 6D
    rotation representation (two vectors, Gram-Schmidt, cross product; Zhou et al. 2019),
    ``s1, s2 = c * sigmoid(l1, l2)``, ``s3 = c * tanh(l3)`` (signed: reflections).

Translations ``b`` are free.

Matrix entries (:func:`entries_from_maps`, ``d * d + d`` numbers per map: ``A`` row by
row, then ``b``) are the other parametrization, for refinement from maps already near
the answer: there the images ``A x + b`` are linear in the parameters and a step moves
every entry on the same scale, whereas the angles of ``R(theta) diag(s) R(phi)`` are
coupled (one angle turns both frames when ``s1 ~ s2``) and slow a first-order optimizer
down. These are contractive only by projection: :func:`project_entries_` after every step.
"""

from __future__ import annotations

import numpy as np
import torch

# Singular values are clamped this far inside (0, c) by params_from_maps, so that their
# logits stay finite and have a usable gradient.
_EDGE = 1e-4


def n_params(dim: int) -> int:
    """Number of raw parameters per map: 6 in 2D, 18 in 3D.

    Parameters
    ----------
    dim : int
        2 or 3.
    """
    if dim == 2:
        return 6
    if dim == 3:
        return 18
    raise ValueError(f"maps are 2D or 3D, got dim = {dim}")


def maps_from_params(raw, dim: int, max_contraction: float = 0.9):
    """Contractive affine maps from raw parameters, differentiably.

    Parameters
    ----------
    raw : Tensor, shape (..., K, n_params(dim))
        Unconstrained parameters, laid out as in the module docstring.
    dim : int
        2 or 3.
    max_contraction : float
        Bound ``c`` on every singular value, in (0, 1].

    Returns
    -------
    A : Tensor, shape (..., K, dim, dim)
        Linear parts, each with ``||A||_2 <= max_contraction``.
    b : Tensor, shape (..., K, dim)
        Translations.
    """
    _check_contraction(max_contraction)
    if raw.shape[-1] != n_params(dim):
        raise ValueError(f"{dim}D maps need {n_params(dim)} parameters each, got {raw.shape[-1]}")
    if dim == 2:
        U = _rotation_2d(raw[..., 0])
        V_t = _rotation_2d(raw[..., 1])
        sigma = torch.stack([torch.sigmoid(raw[..., 2]), torch.tanh(raw[..., 3])], dim=-1)
        b = raw[..., 4:6]
    else:
        U = _rotation_6d(raw[..., 0:6])
        V_t = _rotation_6d(raw[..., 6:12]).transpose(-1, -2)
        sigma = torch.cat([torch.sigmoid(raw[..., 12:14]), torch.tanh(raw[..., 14:15])], dim=-1)
        b = raw[..., 15:18]
    A = U @ (max_contraction * sigma[..., :, None] * V_t)
    return A, b


def params_from_maps(A, b, max_contraction: float = 0.9):
    """Raw parameters of given maps: the inverse of :func:`maps_from_params`, via the SVD.

    Singular values above ``max_contraction`` are clamped to it (slightly inside),
    so any affine maps, contractive or not, give a valid starting point.

    Parameters
    ----------
    A : array_like or Tensor, shape (..., K, d, d)
    b : array_like or Tensor, shape (..., K, d)
    max_contraction : float

    Returns
    -------
    Tensor, shape (..., K, n_params(d))
        Float64 on the CPU for array input; the dtype and device of ``A`` for a tensor.
    """
    _check_contraction(max_contraction)
    like = A if isinstance(A, torch.Tensor) else None
    A = torch.as_tensor(np.array(A.detach().cpu() if like is not None else A, dtype=np.float64))
    b = torch.as_tensor(np.array(b.detach().cpu() if isinstance(b, torch.Tensor) else b, dtype=np.float64))
    dim = A.shape[-1]
    n_params(dim)  # checks dim
    U, S, V_t = torch.linalg.svd(A)
    # Make U and V proper rotations; a reflection becomes a negative last singular value.
    flip_u = torch.linalg.det(U) < 0
    U[..., :, -1] = torch.where(flip_u[..., None], -U[..., :, -1], U[..., :, -1])
    flip_v = torch.linalg.det(V_t) < 0
    V_t[..., -1, :] = torch.where(flip_v[..., None], -V_t[..., -1, :], V_t[..., -1, :])
    sign = torch.where(flip_u ^ flip_v, -1.0, 1.0)
    ratio = (S / max_contraction).clamp(_EDGE, 1 - _EDGE)
    positive = torch.logit(ratio[..., :-1])
    last = torch.atanh(ratio[..., -1] * sign)
    if dim == 2:
        theta = torch.atan2(U[..., 1, 0], U[..., 0, 0])
        phi = torch.atan2(V_t[..., 1, 0], V_t[..., 0, 0])
        raw = torch.cat([theta[..., None], phi[..., None], positive, last[..., None], b], dim=-1)
    else:
        u6 = U[..., :, :2].transpose(-1, -2).reshape(*U.shape[:-2], 6)
        v6 = V_t.transpose(-1, -2)[..., :, :2].transpose(-1, -2).reshape(*U.shape[:-2], 6)
        raw = torch.cat([u6, v6, positive, last[..., None], b], dim=-1)
    if like is not None:
        raw = raw.to(dtype=like.dtype, device=like.device)
    return raw


def entries_from_maps(A, b, max_contraction: float = 0.9):
    """Matrix-entry parameters of given maps, singular values clamped to ``max_contraction``.

    Parameters
    ----------
    A : array_like, shape (..., K, d, d)
    b : array_like, shape (..., K, d)
    max_contraction : float

    Returns
    -------
    Tensor, shape (..., K, d * d + d)
        Float64 on the CPU: each map's ``A`` row by row, then ``b``.
    """
    _check_contraction(max_contraction)
    A = clamp_singular_values(np.asarray(A, dtype=np.float64), max_contraction)
    b = np.asarray(b, dtype=np.float64)
    return torch.as_tensor(np.concatenate([A.reshape(*A.shape[:-2], -1), b], axis=-1))


def maps_from_entries(raw, dim: int):
    """The maps of matrix-entry parameters (see :func:`entries_from_maps`), differentiably.

    Parameters
    ----------
    raw : Tensor, shape (..., K, d * d + d)
    dim : int

    Returns
    -------
    A : Tensor, shape (..., K, d, d)
    b : Tensor, shape (..., K, d)
    """
    return raw[..., : dim * dim].unflatten(-1, (dim, dim)), raw[..., dim * dim :]


def project_entries_(raw, dim: int, max_contraction: float, min_ratio: float = 0.0) -> None:
    """Clamp, in place and without gradient, the singular values of the maps of entry parameters ``raw`` (..., K, d * d + d).

    Every singular value to at most ``max_contraction`` and, with ``min_ratio``, to at
    least ``min_ratio`` times the map's largest: no map flattens into a streak.
    """
    with torch.no_grad():
        A, _ = maps_from_entries(raw, dim)
        raw[..., : dim * dim] = clamp_singular_values(A, max_contraction, min_ratio).flatten(-2)


def clamp_singular_values(A, max_contraction: float, min_ratio: float = 0.0):
    """Matrices with singular values clamped to ``max_contraction``: the nearest with ``||A||_2 <= max_contraction``.

    Parameters
    ----------
    A : ndarray or Tensor, shape (..., d, d)
    max_contraction : float
    min_ratio : float
        Singular values are also raised to at least this share of the largest (after its clamp).

    Returns
    -------
    ndarray or Tensor, shape (..., d, d)
        Of ``A``'s kind.
    """
    if isinstance(A, np.ndarray):
        U, S, V_t = np.linalg.svd(A)
        S = np.minimum(S, max_contraction)
        if min_ratio:
            S = np.maximum(S, min_ratio * S[..., :1])
    else:
        U, S, V_t = torch.linalg.svd(A)
        S = S.clamp(max=max_contraction)
        if min_ratio:
            S = torch.maximum(S, min_ratio * S[..., :1])
    return U @ (S[..., None] * V_t)


def _check_contraction(max_contraction: float) -> None:
    if not 0 < max_contraction <= 1:
        raise ValueError(f"max_contraction must be in (0, 1], got {max_contraction}")


def _rotation_2d(angle):
    """Rotation matrices ``[[cos, -sin], [sin, cos]]``, shape (..., 2, 2)."""
    cos, sin = torch.cos(angle), torch.sin(angle)
    return torch.stack([torch.stack([cos, -sin], dim=-1), torch.stack([sin, cos], dim=-1)], dim=-2)


def _rotation_6d(six):
    """Rotation matrices from the 6D representation (first two columns), shape (..., 3, 3)."""
    a1, a2 = six[..., 0:3], six[..., 3:6]
    r1 = torch.nn.functional.normalize(a1, dim=-1)
    r2 = torch.nn.functional.normalize(a2 - (r1 * a2).sum(-1, keepdim=True) * r1, dim=-1)
    r3 = torch.linalg.cross(r1, r2, dim=-1)
    return torch.stack([r1, r2, r3], dim=-1)
