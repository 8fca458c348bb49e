"""Random IFS for synthetic training data (FractalDB / "Improving Fractal Pre-training" style).

Each map is ``A = R(theta) diag(sigma) D R(phi)`` with ``D`` a random reflection
(signs), singular values ``sigma`` in a band, and ``b`` chosen so that the map's
fixed point is uniform in a box. In 2D the whole system is further constrained by
its sigma-factor ``sum_i (sigma_i1 + 2 sigma_i2)``: too small and the attractor is
dust, too large and it fills the plane (Anderson & Farrell 2022 use the band
``[(5 + k) / 2, (6 + k) / 2]`` for ``k`` maps, the default here).
"""

from __future__ import annotations

import numpy as np

from ..errors import FormatError, ParameterError
from ..ifs import IFS

# Candidate singular-value sets drawn at once by the rejection sampler.
_BATCH = 4096
# Give up on a sigma-factor band after this many candidates (it is then infeasible
# or nearly so for the singular-value range).
_MAX_CANDIDATES = 1 << 22
# The fixed points must spread over at least this fraction of the box's half-width,
# else the attractor is a speck and the system is drawn again.
_MIN_SPREAD = 0.25


def default_sigma_factor(n_maps: int) -> tuple[float, float]:
    """The 2D sigma-factor band ``[(5 + k) / 2, (6 + k) / 2]`` of Anderson & Farrell (2022)."""
    return (5 + n_maps) / 2, (6 + n_maps) / 2


def random_ifs(
    n_maps: int,
    dim: int = 2,
    seed=None,
    *,
    sigma_range: tuple[float, float] = (0.2, 0.7),
    fixed_point_box: float = 0.75,
    sigma_factor: tuple[float, float] | None | str = "default",
) -> IFS:
    """Draw a random contractive IFS whose attractor is neither dust nor space-filling.

    Parameters
    ----------
    n_maps : int
        Number of maps ``k`` (at least 1).
    dim : {2, 3}
    seed : int, sequence of int or numpy.random.Generator, optional
        Anything :func:`numpy.random.default_rng` accepts; same seed, same IFS.
    sigma_range : (float, float)
        Band ``[lo, hi]`` of every singular value, ``0 < lo <= hi < 1``.
    fixed_point_box : float
        Every map's fixed point is uniform in ``[-box, box]^d``.
    sigma_factor : (float, float), None or "default"
        Band of ``sum_i sum_j j * sigma_ij`` (singular values in decreasing order,
        i.e. ``sum_i (sigma_i1 + 2 sigma_i2)`` in 2D). ``"default"``:
        :func:`default_sigma_factor` in 2D, no band in 3D (the literature gives none);
        None: no band. Singular values are drawn uniformly in ``sigma_range`` and
        rejected until the sum falls in the band.

    Returns
    -------
    IFS
        ``A`` shape (k, d, d), ``b`` shape (k, d); probabilities ``|det A_i|``
        normalized (the IFS default).

    Raises
    ------
    FormatError
        Invalid arguments, or a sigma-factor band that the singular-value range
        cannot reach.
    """
    n_maps, dim = int(n_maps), int(dim)
    if n_maps < 1:
        raise ParameterError(f"n_maps must be at least 1, got {n_maps}", "n_maps")
    if dim not in (2, 3):
        raise ParameterError(f"dim must be 2 or 3, got {dim}", "dim")
    lo, hi = (float(v) for v in sigma_range)
    if not 0 < lo <= hi < 1:
        raise ParameterError(f"sigma_range must satisfy 0 < lo <= hi < 1, got {sigma_range}", "sigma_range")
    if not fixed_point_box > 0:
        raise ParameterError(f"fixed_point_box must be positive, got {fixed_point_box}", "fixed_point_box")
    if isinstance(sigma_factor, str):
        if sigma_factor != "default":
            raise ParameterError(
                f"sigma_factor must be (lo, hi), None or 'default', got {sigma_factor!r}", "sigma_factor"
            )
        sigma_factor = default_sigma_factor(n_maps) if dim == 2 else None
    rng = np.random.default_rng(seed)
    sigmas = _singular_values(rng, n_maps, dim, lo, hi, sigma_factor)
    rotations_out = _rotations(rng, n_maps, dim)
    rotations_in = _rotations(rng, n_maps, dim)
    reflections = rng.choice([-1.0, 1.0], size=(n_maps, dim))
    A = rotations_out @ ((sigmas * reflections)[:, :, None] * rotations_in)
    while True:
        fixed = rng.uniform(-fixed_point_box, fixed_point_box, size=(n_maps, dim))
        if n_maps == 1 or np.ptp(fixed, axis=0).max() >= _MIN_SPREAD * fixed_point_box:
            break
    b = fixed - np.einsum("kij,kj->ki", A, fixed)
    return IFS(A, b)


def _singular_values(rng, n_maps: int, dim: int, lo: float, hi: float, band) -> np.ndarray:
    """Singular values, shape (k, d), decreasing along each row, with the weighted sum in ``band``."""
    weights = np.arange(1, dim + 1, dtype=float)
    if band is not None:
        band_lo, band_hi = (float(v) for v in band)
        reach = n_maps * weights.sum()
        if band_lo > band_hi or band_lo > hi * reach or band_hi < lo * reach:
            raise FormatError(
                f"sigma-factor band {band} cannot be reached with {n_maps} maps and singular values in [{lo}, {hi}]"
            )
    for _ in range(0, _MAX_CANDIDATES, _BATCH):
        draws = rng.uniform(lo, hi, size=(_BATCH, n_maps, dim))
        if dim == 2:  # the same as the sort below, ten times faster on rows of two
            candidates = np.empty_like(draws)
            np.maximum(draws[..., 0], draws[..., 1], out=candidates[..., 0])
            np.minimum(draws[..., 0], draws[..., 1], out=candidates[..., 1])
        else:
            candidates = -np.sort(-draws, axis=-1)
        if band is None:
            return candidates[0]
        factor = (candidates * weights).sum(axis=(1, 2))
        accepted = np.flatnonzero((factor >= band_lo) & (factor <= band_hi))
        if len(accepted):
            return candidates[accepted[0]]
    raise FormatError(f"sigma-factor band {band} is too narrow for singular values in [{lo}, {hi}]")


def _rotations(rng, n_maps: int, dim: int) -> np.ndarray:
    """Uniformly random rotations (det +1), shape (k, d, d)."""
    if dim == 2:
        theta = rng.uniform(0, 2 * np.pi, size=n_maps)
        c, s = np.cos(theta), np.sin(theta)
        return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
    # Haar measure: QR of a Gaussian matrix with the signs of R's diagonal moved into Q
    q, r = np.linalg.qr(rng.standard_normal((n_maps, 3, 3)))
    q = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]
    q[np.linalg.det(q) < 0, :, 0] *= -1
    return q
