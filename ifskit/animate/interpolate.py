"""Interpolation between two IFS, and paths through several keyframes.

Maps of the two IFS are paired by a Hungarian assignment; the smaller IFS is padded
by duplicating maps and splitting their probability, which changes neither its
attractor nor its invariant measure. Each paired map is then interpolated
geometrically (rotation along the shorter arc, log singular values, fixed points)
, in log-polar form per column (flam3's "log" interpolation: each column of ``A``
turns along the shorter arc while its log length moves linearly), or linearly (entries
of ``A`` and ``b``). Every in-between map is contractive when both ends are.
"""

from __future__ import annotations

import numpy as np

from ..errors import FormatError, ParameterError
from ..ifs import IFS

#: Interpolation methods of :func:`interpolate`.
METHODS = ("geometric", "log", "linear")

#: Easing functions of a path: local time ``t`` in [0, 1] to eased time in [0, 1].
EASINGS = {
    "linear": lambda t: t,
    "smoothstep": lambda t: t * t * (3.0 - 2.0 * t),
    "smootherstep": lambda t: t * t * t * (t * (6.0 * t - 15.0) + 10.0),
    "sine": lambda t: 0.5 - 0.5 * np.cos(np.pi * t),
}

# A symmetric stretch whose smallest eigenvalue is below this fraction of its largest is
# treated as singular (the fern's stem has eigenvalue 0): its log does not exist, so it
# is interpolated linearly instead of in log space.
_SINGULAR = 1e-6


def match_maps(a: IFS, b: IFS) -> tuple[np.ndarray, np.ndarray]:
    """Pair the maps of ``a`` with those of ``b`` by a Hungarian assignment.

    The cost of pairing map ``i`` of ``a`` with map ``j`` of ``b`` is
    ``||A_i - A_j||_F^2 + ||b_i - b_j||^2 + ||f_i - f_j||^2`` with ``f`` the fixed
    points (left out where a map has none). With unequal map counts every map of the
    smaller IFS gets one partner by the assignment, and each map left over in the
    larger one is paired with its cheapest partner, which is then duplicated.

    Parameters
    ----------
    a, b : IFS
        Of the same dimension.

    Returns
    -------
    index_a, index_b : ndarray, shape (m,), int
        Pair ``n`` is map ``index_a[n]`` of ``a`` with map ``index_b[n]`` of ``b``;
        ``m = max(k_a, k_b)``, sorted by ``index_a`` then ``index_b``.
    """
    from scipy.optimize import linear_sum_assignment

    _check_same_dim(a, b)
    cost = np.sum((a.A[:, None] - b.A[None]) ** 2, axis=(2, 3)) + np.sum((a.b[:, None] - b.b[None]) ** 2, axis=2)
    fixed = np.sum((a.fixed_points[:, None] - b.fixed_points[None]) ** 2, axis=2)
    cost += np.nan_to_num(fixed, nan=0.0)
    rows, cols = linear_sum_assignment(cost)
    pairs = set(zip(rows.tolist(), cols.tolist()))
    if a.n_maps < b.n_maps:
        pairs |= {(int(np.argmin(cost[:, j])), j) for j in range(b.n_maps) if j not in set(cols.tolist())}
    elif a.n_maps > b.n_maps:
        pairs |= {(i, int(np.argmin(cost[i]))) for i in range(a.n_maps) if i not in set(rows.tolist())}
    index_a, index_b = np.array(sorted(pairs)).T
    return index_a, index_b


def padded(ifs: IFS, index: np.ndarray) -> IFS:
    """The IFS with map ``index[n]`` as its map ``n``; a repeated map shares its probability.

    Every map must appear at least once; a map appearing ``c`` times gets ``p / c``
    each time, so attractor and invariant measure are those of ``ifs``.

    Parameters
    ----------
    ifs : IFS
    index : ndarray, shape (m,), int

    Returns
    -------
    IFS
        ``m`` maps.
    """
    copies = np.bincount(index, minlength=ifs.n_maps)
    if np.any(copies == 0):
        raise FormatError("padding must keep every map of the IFS")
    colors = None if ifs.colors is None else ifs.colors[index]
    return IFS(ifs.A[index], ifs.b[index], ifs.p[index] / copies[index], name=ifs.name, colors=colors)


class Morph:
    """The interpolation from ``a`` to ``b``, with the map matching done once.

    ``morph(0)`` is ``a`` and ``morph(1)`` is ``b``, exactly as given; in between, the
    matched and padded maps are interpolated.

    Parameters
    ----------
    a, b : IFS
        Of the same dimension.
    method : {"geometric", "log", "linear"}
        ``geometric``: each matrix is written ``A = R S`` with ``R`` a rotation and
        ``S = V diag(sigma) V^T`` a symmetric stretch (the smallest singular value
        negative for a reflection), so ``A = (R V) diag(sigma) V^T`` is rotation ·
        diag · rotation. ``R`` moves along the shorter arc (2D: angle; 3D: slerp),
        ``S`` in log space (log singular values; linearly where a map is singular or
        the sign of its determinant changes), and the translation follows the map's
        fixed point (where both maps have one). ``||A(t)||_2`` never exceeds the
        larger of the two end contractions, so every in-between map is contractive
        when both ends are. ``log``: each column of ``A`` (the image of a basis
        vector) as a direction, turned along the shorter arc, and a log length (linear
        where a column vanishes), the translation following the fixed point as in
        ``geometric``; a matrix whose norm would exceed the larger end contraction is
        scaled back to it, so every in-between map is contractive. ``linear``: entries of ``A`` and ``b`` interpolated
        linearly (also contractive, by convexity of the norm, but a rotation shrinks
        on the way).  Probabilities and colours are interpolated linearly either way.
    """

    def __init__(self, a: IFS, b: IFS, method: str = "geometric"):
        if method not in METHODS:
            raise ParameterError(f"unknown interpolation method {method!r}; use one of {', '.join(METHODS)}", "method")
        self.a, self.b, self.method = a, b, method
        index_a, index_b = match_maps(a, b)
        self.start, self.end = padded(a, index_a), padded(b, index_b)
        if method == "geometric":
            self._rotation_a, stretch_a = _polar(self.start.A)
            rotation_b, stretch_b = _polar(self.end.A)
            self._turn = _relative_rotation(self._rotation_a, rotation_b)
            self._stretch = [_stretch_path(sa, sb) for sa, sb in zip(stretch_a, stretch_b)]
            fixed_a, fixed_b = self.start.fixed_points, self.end.fixed_points
            self._use_fixed = np.all(np.isfinite(fixed_a), axis=1) & np.all(np.isfinite(fixed_b), axis=1)
            self._fixed_a, self._fixed_b = np.nan_to_num(fixed_a), np.nan_to_num(fixed_b)
        if method == "log":
            fixed_a, fixed_b = self.start.fixed_points, self.end.fixed_points
            self._use_fixed = np.all(np.isfinite(fixed_a), axis=1) & np.all(np.isfinite(fixed_b), axis=1)
            self._fixed_a, self._fixed_b = np.nan_to_num(fixed_a), np.nan_to_num(fixed_b)
            # the bound of every in-between map: the larger of its two end contractions
            self._bound = np.maximum(self.start.contraction_factors, self.end.contraction_factors)

    def __call__(self, t: float) -> IFS:
        """The IFS at time ``t`` in [0, 1]."""
        t = float(t)
        if not 0.0 <= t <= 1.0:
            raise ParameterError(f"t (the interpolation time) must be in [0, 1], got {t}", "t")
        if t == 0.0:
            return self.a
        if t == 1.0:
            return self.b
        start, end = self.start, self.end
        p = (1 - t) * start.p + t * end.p
        colors = None
        if start.colors is not None and end.colors is not None:
            colors = (1 - t) * start.colors + t * end.colors
        if self.method == "linear":
            return IFS((1 - t) * start.A + t * end.A, (1 - t) * start.b + t * end.b, p, colors=colors)
        if self.method == "log":
            A = _log_polar_columns(start.A, end.A, t)
            norms = np.linalg.norm(A, ord=2, axis=(1, 2))
            A = A * np.minimum(1.0, self._bound / np.maximum(norms, 1e-300))[:, None, None]
        else:
            rotation = self._rotation_a @ _rotation_power(self._turn, t)
            A = rotation @ np.stack([stretch(t) for stretch in self._stretch])
        fixed = (1 - t) * self._fixed_a + t * self._fixed_b
        through_fixed = fixed - np.einsum("kij,kj->ki", A, fixed)  # b = (I - A) f
        b = np.where(self._use_fixed[:, None], through_fixed, (1 - t) * start.b + t * end.b)
        return IFS(A, b, p, colors=colors)


def interpolate(a: IFS, b: IFS, t: float, method: str = "geometric") -> IFS:
    """The IFS a fraction ``t`` of the way from ``a`` to ``b``.

    Parameters
    ----------
    a, b : IFS
        Of the same dimension; the map counts may differ.
    t : float
        In [0, 1]: ``0`` gives ``a``, ``1`` gives ``b``.
    method : {"geometric", "linear"}
        See :class:`Morph`.

    Returns
    -------
    IFS
        ``max(k_a, k_b)`` maps in between; ``a`` or ``b`` itself at the ends.

    Examples
    --------
    >>> import ifskit
    >>> mid = ifskit.interpolate(ifskit.catalog("barnsley_fern"), ifskit.catalog("maple_leaf"), 0.5)
    >>> mid.is_contractive
    True
    """
    return Morph(a, b, method)(t)


def _log_polar_columns(A_a: np.ndarray, A_b: np.ndarray, t: float) -> np.ndarray:
    """Each column of the matrices as direction (slerp, shorter arc) and log length, at time ``t``.

    Parameters
    ----------
    A_a, A_b : ndarray, shape (k, d, d)

    Returns
    -------
    ndarray, shape (k, d, d)
    """
    length_a, length_b = np.linalg.norm(A_a, axis=1), np.linalg.norm(A_b, axis=1)  # (k, d): per column
    scale = np.maximum(np.maximum(length_a, length_b), 1e-300)
    # a vanishing column (the fern's stem) has no log: its length moves linearly
    positive = (length_a > _SINGULAR * scale) & (length_b > _SINGULAR * scale)
    log_length = np.exp(
        (1 - t) * np.log(np.where(positive, length_a, 1.0)) + t * np.log(np.where(positive, length_b, 1.0))
    )
    length = np.where(positive, log_length, (1 - t) * length_a + t * length_b)
    u_a = A_a / np.maximum(length_a, 1e-300)[:, None, :]
    u_b = A_b / np.maximum(length_b, 1e-300)[:, None, :]
    # a vanishing column's direction is the other end's
    u_a = np.where((length_a > 1e-300)[:, None, :], u_a, u_b)
    u_b = np.where((length_b > 1e-300)[:, None, :], u_b, u_a)
    cos = np.clip(np.sum(u_a * u_b, axis=1), -1.0, 1.0)  # (k, d)
    opposite = cos < -1.0 + 1e-9
    if np.any(opposite):  # opposite directions: half a turn through a perpendicular
        if A_a.shape[1] == 2:
            perpendicular = np.stack([-u_a[:, 1], u_a[:, 0]], axis=1)
        else:
            axis = np.zeros_like(u_a)
            axis[:, 0] = np.abs(u_a[:, 0]) < 0.9
            axis[:, 1] = ~(np.abs(u_a[:, 0]) < 0.9)
            perpendicular = np.cross(u_a, axis, axis=1)
            perpendicular /= np.linalg.norm(perpendicular, axis=1, keepdims=True)
        half_turn = np.cos(t * np.pi) * u_a + np.sin(t * np.pi) * perpendicular
    angle = np.arccos(cos)
    sine = np.sin(angle)
    small = sine < 1e-9
    weight_a = np.where(small, 1 - t, np.sin((1 - t) * angle) / np.where(small, 1.0, sine))
    weight_b = np.where(small, t, np.sin(t * angle) / np.where(small, 1.0, sine))
    direction = weight_a[:, None, :] * u_a + weight_b[:, None, :] * u_b
    direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-300)
    if np.any(opposite):
        direction = np.where(opposite[:, None, :], half_turn, direction)
    return direction * length[:, None, :]


def _check_same_dim(a: IFS, b: IFS) -> None:
    if a.dim != b.dim:
        label_a, label_b = a.name or "the first IFS", b.name or "the second IFS"
        raise FormatError(f"cannot interpolate between a {a.dim}D IFS ({label_a}) and a {b.dim}D IFS ({label_b})")


def _polar(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Write each matrix as rotation · symmetric stretch, ``A = R S``.

    Parameters
    ----------
    A : ndarray, shape (k, d, d)

    Returns
    -------
    R : ndarray, shape (k, d, d)
        Rotations (det +1).
    S : ndarray, shape (k, d, d)
        Symmetric, eigenvalues the singular values of ``A``; the smallest negative
        when ``det A < 0`` (a reflection lives in the stretch, not in the rotation).
    """
    U, sigma, Vt = np.linalg.svd(A)
    flip = np.linalg.det(U @ Vt) < 0
    U[flip, :, -1] *= -1.0
    sigma[flip, -1] *= -1.0
    R = U @ Vt
    S = np.einsum("kji,kj,kjl->kil", Vt, sigma, Vt)
    return R, S


def _relative_rotation(R_a: np.ndarray, R_b: np.ndarray) -> np.ndarray:
    """The rotation from ``R_a`` to ``R_b`` as an angle (2D, shape (k,)) or rotation vector (3D, (k, 3)).

    The angle is in (-pi, pi] (rotation vector norm at most pi): the shorter arc.
    """
    relative = np.swapaxes(R_a, 1, 2) @ R_b
    if R_a.shape[1] == 2:
        return np.arctan2(relative[:, 1, 0], relative[:, 0, 0])
    from scipy.spatial.transform import Rotation

    return Rotation.from_matrix(relative).as_rotvec()


def _rotation_power(turn: np.ndarray, t: float) -> np.ndarray:
    """Rotation matrices for the fraction ``t`` of :func:`_relative_rotation`'s turns, shape (k, d, d)."""
    if turn.ndim == 1:
        c, s = np.cos(t * turn), np.sin(t * turn)
        return np.stack([np.stack([c, -s], axis=-1), np.stack([s, c], axis=-1)], axis=-2)
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(t * turn).as_matrix()


def _stretch_path(S_a: np.ndarray, S_b: np.ndarray):
    """Interpolant ``t -> S(t)`` between two symmetric stretches, shape (d, d) each.

    Log-Euclidean (``exp((1-t) log S_a + t log S_b)``: log singular values) when both
    are positive definite; its largest eigenvalue is at most ``s_a^(1-t) s_b^t``
    (lambda_max is convex). Linear otherwise; its norm is at most ``(1-t) s_a + t s_b``.
    """
    eig_a, eig_b = np.linalg.eigvalsh(S_a), np.linalg.eigvalsh(S_b)
    if eig_a[0] > _SINGULAR * eig_a[-1] and eig_b[0] > _SINGULAR * eig_b[-1]:
        log_a, log_b = _symmetric_function(S_a, np.log), _symmetric_function(S_b, np.log)
        return lambda t: _symmetric_function((1 - t) * log_a + t * log_b, np.exp)
    return lambda t: (1 - t) * S_a + t * S_b


def _symmetric_function(S: np.ndarray, function) -> np.ndarray:
    """``V f(diag) V^T`` for a symmetric matrix ``S = V diag V^T``, shape (d, d)."""
    values, vectors = np.linalg.eigh(S)
    return (vectors * function(values)) @ vectors.T
