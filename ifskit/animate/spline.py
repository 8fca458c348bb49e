"""A looped path through three or more keyframes: a periodic cubic spline, velocity matched everywhere.

Going from keyframe to keyframe by separate two-keyframe interpolations turns sharply at
each keyframe (the velocity jumps). A loop through ``n >= 3`` keyframes is instead one
periodic C1 cubic through them (Hermite pieces with PCHIP's tangents, which do not overshoot
the keyframes), in the parameters of the chosen interpolation:

- ``geometric``: each map ``A = R S`` (:func:`~ifskit.animate.interpolate._polar`): the
  rotation's angle (2D, unwrapped along the shorter arcs) or rotation vector relative
  to the first keyframe's (3D), the stretch's matrix logarithm (its entries where a map
  is singular or reflects), and the fixed point;
- ``log``: each column of ``A`` as a direction (2D: an unwrapped angle; 3D: a unit
  vector, normalized after the spline) and a log length, and the fixed point;
- ``linear``: the entries of ``A`` and ``b``.

Probabilities and colours follow splines too (kept positive and in range). The maps of
all keyframes are first put in one order, "tracks": consecutive keyframes are matched
as :func:`~ifskit.animate.interpolate.match_maps` matches two, a track splitting in two
where a keyframe has more maps (a duplicated map shares its probability, which changes
neither attractor nor measure); the seam goes from the last keyframe's maps back to the
first one's along the same tracks. Where the spline overshoots the largest contraction
``s`` of a track's keyframes, the map's norm is eased (smoothly, so the velocity stays
continuous) below ``(s + 1) / 2``: every frame is contractive when the keyframes are.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicHermiteSpline
from scipy.spatial.transform import Rotation

from ..ifs import IFS
from .interpolate import _SINGULAR, _polar, _symmetric_function, match_maps, padded

# Smallest probability of a track along the spline, as a fraction of the largest (a spline
# through small probabilities may dip below 0).
_MIN_PROBABILITY = 1e-4


def match_tracks(keyframes) -> np.ndarray:
    """One order of maps for all keyframes: ``tracks[i, j]`` is the map of keyframe ``i`` on track ``j``.

    Parameters
    ----------
    keyframes : list of IFS
        Of one dimension.

    Returns
    -------
    ndarray, shape (n_keyframes, n_tracks), int
        Every map of every keyframe is on at least one track.
    """
    rows = [np.arange(keyframes[0].n_maps)]
    for previous, following in zip(keyframes, keyframes[1:]):
        index_track, index_map = match_maps(padded(previous, rows[-1]), following)
        rows = [row[index_track] for row in rows] + [index_map]
    return np.array(rows)


def _unwrapped(angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Angles along the keyframes, each step the shorter arc; and the winding of the way back to the first.

    Parameters
    ----------
    angles : ndarray, shape (n, ...)

    Returns
    -------
    unwrapped : ndarray, shape (n, ...)
    winding : ndarray, shape (...)
        ``2 pi m``: the unwrapped angle after the seam, less the first angle.
    """
    steps = np.angle(np.exp(1j * np.diff(angles, axis=0)))
    unwrapped = np.concatenate([angles[:1], angles[:1] + np.cumsum(steps, axis=0)])
    back = np.angle(np.exp(1j * (angles[0] - unwrapped[-1])))
    return unwrapped, unwrapped[-1] + back - angles[0]


class _Periodic:
    """A periodic C1 cubic through ``values`` at ``0, 1, ..., n - 1`` (and ``values[0] + winding`` at ``n``).

    Hermite pieces with the tangents of PCHIP (Fritsch and Carlson): the harmonic mean of
    the two secants at a knot, 0 where they differ in sign. Unlike an interpolating cubic
    spline it never overshoots its keyframes' values (a spline's overshoot makes maps
    less contractive and the pictures blurry), and its velocity is still continuous.
    """

    def __init__(self, values: np.ndarray, winding=0.0):
        n = len(values)
        self.ramp = np.asarray(winding, dtype=float) / n  # an angle that winds: a ramp plus a periodic part
        knots = np.arange(n + 1, dtype=float).reshape(-1, *([1] * (values.ndim - 1)))
        residual = np.concatenate([values, values[:1] + winding]) - self.ramp * knots
        secant = np.diff(residual, axis=0)  # (n, ...): secant k goes from knot k to k + 1
        before, after = np.roll(secant, 1, axis=0), secant  # around knot k, periodically
        same_sign = before * after > 0
        harmonic = 2.0 * before * after / np.where(same_sign, before + after, 1.0)
        tangent = np.where(same_sign, harmonic, 0.0)
        self.spline = CubicHermiteSpline(np.arange(n + 1), residual, np.concatenate([tangent, tangent[:1]]), axis=0)

    def __call__(self, u: float) -> np.ndarray:
        return self.spline(u) + self.ramp * u


class LoopSpline:
    """The periodic spline through ``keyframes`` and back to the first.

    Parameters
    ----------
    keyframes : list of IFS
        Three or more, of one dimension.
    method : {"geometric", "log", "linear"}
        The interpolation space (see :class:`~ifskit.animate.interpolate.Morph`).

    Attributes
    ----------
    keyframes : list of IFS
        Each as padded onto the tracks (same attractor and measure as given).
    """

    def __init__(self, keyframes, method: str = "geometric"):
        tracks = match_tracks(keyframes)
        self.keyframes = [padded(k, row) for k, row in zip(keyframes, tracks)]
        self.method = method
        self.dim = dim = keyframes[0].dim
        A = np.stack([k.A for k in self.keyframes])  # (n, T, d, d)
        b = np.stack([k.b for k in self.keyframes])
        self._largest = np.max([k.contraction_factors for k in self.keyframes], axis=0)  # (T,)
        self._room = np.maximum((1.0 - self._largest) / 2, 0.0)
        self._p = _Periodic(np.stack([k.p for k in self.keyframes]))
        colored = all(k.colors is not None for k in self.keyframes)
        self._colors = _Periodic(np.stack([k.colors for k in self.keyframes])) if colored else None
        fixed = np.stack([k.fixed_points for k in self.keyframes])  # (n, T, d)
        # the translation follows the fixed point where every keyframe's map has one
        self._use_fixed = np.all(np.isfinite(fixed), axis=(0, 2)) & (method != "linear")
        self._origin = _Periodic(np.where(self._use_fixed[None, :, None], np.nan_to_num(fixed), b))
        if method == "linear":
            self._linear = _Periodic(A)
        elif method == "geometric":
            rotation, stretch = _polar(A.reshape(-1, dim, dim))
            rotation, stretch = rotation.reshape(A.shape), stretch.reshape(A.shape)
            eigen = np.linalg.eigvalsh(stretch)  # (n, T, d), ascending
            self._log_stretch = np.all(eigen[..., 0] > _SINGULAR * eigen[..., -1], axis=0)  # (T,)
            logs = np.stack([[_symmetric_function(s, np.log) if ok else s for s, ok in zip(row, self._log_stretch)]
                             for row in stretch])  # fmt: skip
            self._stretch = _Periodic(logs)
            if dim == 2:
                angles, winding = _unwrapped(np.arctan2(rotation[..., 1, 0], rotation[..., 0, 0]))
                self._rotation = _Periodic(angles, winding)
            else:  # rotation vectors relative to the first keyframe's rotation of each track
                self._base = rotation[0]
                relative = np.einsum("tji,ntjk->ntik", rotation[0], rotation)
                vectors = Rotation.from_matrix(relative.reshape(-1, 3, 3)).as_rotvec().reshape(len(A), -1, 3)
                self._rotation = _Periodic(vectors)
        else:  # log: each column as direction and log length
            length = np.linalg.norm(A, axis=2)  # (n, T, d)
            self._log_length = np.all(length > _SINGULAR * length.max(axis=2, keepdims=True), axis=0)  # (T, d)
            self._length = _Periodic(np.where(self._log_length, np.log(np.maximum(length, 1e-300)), length))
            direction = A / np.maximum(length, 1e-300)[:, :, None, :]
            if dim == 2:
                angles, winding = _unwrapped(np.arctan2(direction[:, :, 1, :], direction[:, :, 0, :]))
                self._direction = _Periodic(angles, winding)
            else:
                self._direction = _Periodic(direction)

    def __call__(self, u: float) -> IFS:
        """The IFS at path time ``u`` in ``[0, n]``: keyframe ``i`` (padded) at ``u = i``."""
        n = len(self.keyframes)
        if u == round(u):
            return self.keyframes[int(round(u)) % n]
        A = self._matrices(u)
        # a norm above the track's largest keyframe contraction s is eased (C1, so the velocity
        # stays continuous) towards (s + 1) / 2: contractive like the keyframes
        norms = np.linalg.norm(A, ord=2, axis=(1, 2))
        s, room = self._largest, self._room
        eased = s + room * np.tanh((norms - s) / np.maximum(room, 1e-300))
        target = np.where(norms > s, np.where(room > 0, eased, s), norms)
        A = A * (target / np.maximum(norms, 1e-300))[:, None, None]
        origin = self._origin(u)
        b = np.where(self._use_fixed[:, None], origin - np.einsum("kij,kj->ki", A, origin), origin)
        p = self._p(u)
        p = np.maximum(p, _MIN_PROBABILITY * p.max())
        colors = None if self._colors is None else np.clip(self._colors(u), 0.0, 1.0)
        return IFS(A, b, p / p.sum(), colors=colors)

    def _matrices(self, u: float) -> np.ndarray:
        """The maps' matrices on the spline at ``u``, before the contraction bound, shape (T, d, d)."""
        if self.method == "linear":
            return self._linear(u)
        if self.method == "geometric":
            stretch = self._stretch(u)
            stretch = np.stack([_symmetric_function(s, np.exp) if ok else s
                                for s, ok in zip(stretch, self._log_stretch)])  # fmt: skip
            if self.dim == 2:
                angle = self._rotation(u)
                c, s = np.cos(angle), np.sin(angle)
                rotation = np.stack([np.stack([c, -s], axis=-1), np.stack([s, c], axis=-1)], axis=-2)
            else:
                rotation = self._base @ Rotation.from_rotvec(self._rotation(u)).as_matrix()
            return rotation @ stretch
        length = self._length(u)
        length = np.where(self._log_length, np.exp(length), length)  # through 0: the column turns over, smoothly
        if self.dim == 2:
            angle = self._direction(u)
            direction = np.stack([np.cos(angle), np.sin(angle)], axis=1)  # (T, 2 rows, 2 columns)
        else:
            direction = self._direction(u)
            direction = direction / np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-300)
        return direction * length[:, None, :]
