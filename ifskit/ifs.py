"""The IFS value type: a set of affine maps ``w_i(x) = A_i x + b_i`` with probabilities.

Every stage of ifskit reads or produces an :class:`IFS`; nothing else is passed
between stages. An ``IFS`` is immutable: its arrays are read-only copies.
"""

from __future__ import annotations

import warnings
from functools import cached_property

import numpy as np

from .errors import FormatError, IfskitWarning, NonContractiveError

# Share of the probability that a map with det A = 0 still gets by default, as a
# fraction of a uniform share: a line segment (the fern's stem) must be visited.
_DET_FLOOR = 0.1
# Given probabilities this close to summing to 1 are renormalized silently
# (files print them with 6 digits, e.g. 3 x .333333).
_SUM_TOLERANCE = 1e-4


class IFS:
    """An iterated function system of ``k`` affine maps in ``d`` = 2 or 3 dimensions.

    Map ``i`` sends ``x`` to ``A[i] @ x + b[i]`` and is chosen with probability
    ``p[i]`` by the chaos game.

    Parameters
    ----------
    A : array_like, shape (k, d, d)
        Linear parts.
    b : array_like, shape (k, d)
        Translations.
    p : array_like, shape (k,), optional
        Probabilities, non-negative. Normalized with an :class:`IfskitWarning`
        if they do not sum to 1. Default: ``|det A_i|`` normalized, with a floor so
        that a degenerate map (det 0) is still visited.
    name : str, optional
        A label, kept by the file formats.
    colors : array_like, shape (k, 3), optional
        Per-map RGB colours in [0, 1], used by ``--color map`` rendering.

    Raises
    ------
    FormatError
        Wrong shapes, non-finite numbers, negative or all-zero probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.repeat(0.5 * np.eye(2)[None], 3, axis=0)
    >>> ifs = IFS(A, [[0, 0], [0.5, 0], [0.25, 0.5]], name="sierpinski")
    >>> ifs.contraction
    0.5
    """

    def __init__(self, A, b, p=None, name: str | None = None, colors=None):
        A = _as_float_array(A, "A")
        b = _as_float_array(b, "b")
        if A.ndim != 3 or A.shape[1] != A.shape[2] or A.shape[1] not in (2, 3):
            raise FormatError(f"A must have shape (k, d, d) with d = 2 or 3, got {A.shape}")
        k, d = A.shape[:2]
        if k == 0:
            raise FormatError("an IFS needs at least one map")
        if b.shape != (k, d):
            raise FormatError(f"b must have shape ({k}, {d}) to match A, got {b.shape}")
        self.A = _readonly(A)
        self.b = _readonly(b)
        self.p = _readonly(_probabilities(p, A))
        self.name = None if name is None else str(name)
        if colors is not None:
            colors = _as_float_array(colors, "colors")
            if colors.shape != (k, 3) or colors.min() < 0 or colors.max() > 1:
                raise FormatError(f"colors must be {k} RGB triples in [0, 1], got shape {colors.shape}")
            colors = _readonly(colors)
        self.colors = colors

    # ---- basic facts -----------------------------------------------------------
    @property
    def n_maps(self) -> int:
        """Number of maps ``k``."""
        return self.A.shape[0]

    @property
    def dim(self) -> int:
        """Dimension ``d`` of the space (2 or 3)."""
        return self.A.shape[1]

    def __len__(self) -> int:
        return self.n_maps

    @cached_property
    def contraction_factors(self) -> np.ndarray:
        """Largest singular value ``||A_i||_2`` of each map, shape (k,)."""
        return _readonly(np.linalg.norm(self.A, ord=2, axis=(1, 2)))

    @property
    def contraction(self) -> float:
        """Largest contraction factor ``s = max_i ||A_i||_2``; the IFS is contractive iff s < 1."""
        return float(self.contraction_factors.max())

    @property
    def is_contractive(self) -> bool:
        """True when every map is a strict contraction (s < 1)."""
        return self.contraction < 1.0

    @property
    def average_contraction(self) -> float:
        """``sum_i p_i log s_i``; negative means contractive on average (Barnsley-Elton).

        Maps with ``p_i = 0`` are never applied by the chaos game and do not count.
        """
        used = self.p > 0
        with np.errstate(divide="ignore"):
            logs = np.log(self.contraction_factors[used])
        return float(np.sum(self.p[used] * logs))

    def check_contractive(self, allow_noncontractive: bool = False) -> str | None:
        """Check that the chaos game converges for this IFS.

        Returns
        -------
        str or None
            A warning message when some map has ``s_i >= 1`` but the IFS is
            contractive on average, else None.

        Raises
        ------
        NonContractiveError
            When the IFS is not contractive on average and ``allow_noncontractive`` is false.
        """
        if self.is_contractive:
            return None
        figures = (
            f"largest contraction factor s = {self.contraction:.6g} >= 1, "
            f"average contraction sum p_i log s_i = {self.average_contraction:.6g}"
        )
        if self.average_contraction < 0:
            return f"{self._label()} is not contractive ({figures}) but contractive on average: rendering anyway"
        if allow_noncontractive:
            return f"{self._label()} is not contractive on average ({figures}): rendering as asked"
        raise NonContractiveError(
            f"{self._label()} is not contractive on average ({figures}); "
            "its chaos game does not converge (use --allow-noncontractive to render it anyway)"
        )

    def _label(self) -> str:
        return f"IFS {self.name!r}" if self.name else "the IFS"

    # ---- geometry ----------------------------------------------------------------
    def apply(self, points) -> np.ndarray:
        """Images of points under every map.

        Parameters
        ----------
        points : array_like, shape (n, d)

        Returns
        -------
        ndarray, shape (k, n, d)
            ``out[i] = points @ A[i].T + b[i]``.
        """
        x = np.asarray(points, dtype=float)
        return np.einsum("kij,nj->kni", self.A, x) + self.b[:, None, :]

    @cached_property
    def fixed_points(self) -> np.ndarray:
        """Fixed point of each map, solving ``(I - A_i) x = b_i``, shape (k, d).

        A map without a unique fixed point (``A_i`` has eigenvalue 1) gets NaNs.
        """
        eye = np.eye(self.dim)
        out = np.full((self.n_maps, self.dim), np.nan)
        for i in range(self.n_maps):
            try:
                out[i] = np.linalg.solve(eye - self.A[i], self.b[i])
            except np.linalg.LinAlgError:
                pass
        return _readonly(out)

    def bounding_ball(self) -> tuple[np.ndarray, float]:
        """A ball guaranteed to contain the attractor (needs s < 1).

        With centre ``c`` and ``R = max_i ||w_i(c) - c|| / (1 - s_i)`` every map sends
        the ball into itself, so the attractor lies inside it.

        Returns
        -------
        centre : ndarray, shape (d,)
        radius : float
        """
        self._require_contractive("a guaranteed bounding ball")
        finite = np.all(np.isfinite(self.fixed_points), axis=1)
        centre = self.fixed_points[finite].mean(axis=0)
        moved = np.linalg.norm(self.apply(centre[None])[:, 0] - centre, axis=1)
        return centre, float(np.max(moved / (1.0 - self.contraction_factors)))

    def guaranteed_bounds(self) -> np.ndarray:
        """Axis-aligned box guaranteed to contain the attractor (needs s < 1).

        Returns
        -------
        ndarray, shape (2 d,)
            ``(xmin, xmax, ymin, ymax[, zmin, zmax])``.
        """
        centre, radius = self.bounding_ball()
        return np.column_stack([centre - radius, centre + radius]).ravel()

    def extent_of(self, points: np.ndarray) -> tuple:
        """Lower and upper corner of points of this IFS's attractor, each shape (d,).

        Min and max for a contractive IFS; for one only contractive on average (whose
        measure may have unbounded support) the 0.01% and 99.99% quantiles.
        """
        if self.is_contractive:
            return points.min(axis=0), points.max(axis=0)
        lo, hi = np.quantile(points, [1e-4, 1 - 1e-4], axis=0)
        return lo, hi

    def _require_contractive(self, what: str) -> None:
        if not self.is_contractive:
            raise NonContractiveError(
                f"{what} needs a contractive IFS, but {self._label()} has s = {self.contraction:.6g} >= 1"
            )

    def conjugate(self, matrix, translation=None) -> IFS:
        """The conjugated IFS ``t o w_i o t^-1`` for the affine map ``t(x) = M x + c``.

        Its attractor is ``t(attractor)``: the seed's "families of pictures" from one
        encoding. Probabilities, colours and name are kept.

        Parameters
        ----------
        matrix : array_like, shape (d, d)
            Invertible linear part ``M``.
        translation : array_like, shape (d,), optional
            ``c``; zero by default.
        """
        M = np.asarray(matrix, dtype=float)
        c = np.zeros(self.dim) if translation is None else np.asarray(translation, dtype=float)
        if M.shape != (self.dim, self.dim) or c.shape != (self.dim,):
            raise FormatError(
                f"a {self.dim}D transform needs a ({self.dim}, {self.dim}) matrix and a ({self.dim},) vector"
            )
        # singular relative to its own size (a determinant threshold would refuse a uniform scaling by 1e-4 in 3D)
        if not np.all(np.isfinite(M)) or np.linalg.cond(M) > 1e12:
            raise FormatError("the transform matrix must be invertible")
        M_inv = np.linalg.inv(M)
        A = M @ self.A @ M_inv
        # t(w(t^-1(y))) = M A M^-1 y - M A M^-1 c + M b + c
        b = self.b @ M.T + c - np.einsum("kij,j->ki", A, c)
        return IFS(A, b, self.p, name=self.name, colors=self.colors)

    # ---- comparison and display -------------------------------------------------------
    def __eq__(self, other) -> bool:
        if not isinstance(other, IFS):
            return NotImplemented
        same_colors = (self.colors is None and other.colors is None) or (
            self.colors is not None and other.colors is not None and np.array_equal(self.colors, other.colors)
        )
        return (
            self.A.shape == other.A.shape
            and np.array_equal(self.A, other.A)
            and np.array_equal(self.b, other.b)
            and np.array_equal(self.p, other.p)
            and self.name == other.name
            and same_colors
        )

    __hash__ = None

    def allclose(self, other: IFS, rtol: float = 1e-9, atol: float = 1e-12) -> bool:
        """Same maps and probabilities up to rounding (names and colours ignored)."""
        return (
            self.A.shape == other.A.shape
            and np.allclose(self.A, other.A, rtol=rtol, atol=atol)
            and np.allclose(self.b, other.b, rtol=rtol, atol=atol)
            and np.allclose(self.p, other.p, rtol=rtol, atol=atol)
        )

    def __repr__(self) -> str:
        name = f"{self.name!r}, " if self.name else ""
        return f"IFS({name}dim={self.dim}, maps={self.n_maps}, contraction={self.contraction:.4g})"

    def describe(self) -> str:
        """A multi-line table of the maps: A, b, p and contraction factor of each."""
        lines = [repr(self)]
        for i in range(self.n_maps):
            A = " ".join(f"{v: .6g}" for v in self.A[i].ravel())
            b = " ".join(f"{v: .6g}" for v in self.b[i])
            lines.append(f"  map {i}: A = [{A}]  b = [{b}]  p = {self.p[i]:.6g}  s = {self.contraction_factors[i]:.6g}")
        return "\n".join(lines)


def _as_float_array(value, what: str) -> np.ndarray:
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise FormatError(f"{what} must be an array of numbers") from None
    if not np.all(np.isfinite(arr)):
        raise FormatError(f"{what} contains NaN or infinite values")
    return arr


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr = np.array(arr, dtype=float)
    arr.setflags(write=False)
    return arr


def _probabilities(p, A: np.ndarray) -> np.ndarray:
    k = A.shape[0]
    if p is None:
        weights = np.abs(np.linalg.det(A))
        if weights.sum() <= 0:
            return np.full(k, 1.0 / k)
        weights = np.maximum(weights / weights.sum(), _DET_FLOOR / k)
        return weights / weights.sum()
    p = _as_float_array(p, "p")
    if p.shape != (k,):
        raise FormatError(f"p must have one probability per map ({k}), got shape {p.shape}")
    if np.any(p < 0):
        i = int(np.argmax(p < 0))
        raise FormatError(f"negative probability {p[i]:g} for map {i}")
    total = p.sum()
    if total <= 0:
        raise FormatError("probabilities sum to zero")
    if abs(total - 1.0) > _SUM_TOLERANCE:
        warnings.warn(f"probabilities sum to {total:.6g}, not 1: normalized", IfskitWarning, stacklevel=3)
    if abs(total - 1.0) <= 1e-12:  # normalized already: dividing again would change the last digits
        return p
    return p / total
