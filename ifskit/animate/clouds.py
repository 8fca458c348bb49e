"""Point clouds as keyframes: encoded by the neural encoder when it can, else fitted."""

from __future__ import annotations

import importlib.util

import numpy as np

from .. import fitting, neural
from ..errors import IfskitError, ParameterError
from ..ifs import IFS
from ..neural import shipped

#: How :func:`ifs_from_cloud` turns a cloud into an IFS.
CLOUD_METHODS = ("auto", "encode", "fit")
#: Maps of a fitted keyframe when none are asked for.
DEFAULT_FIT_MAPS = 4


def encoder_available(dim: int) -> bool:
    """True when torch is installed and the neural encoder has shipped weights for ``dim``-D clouds.

    Only the check: neither torch nor the weights are loaded.
    """
    weights = shipped.WEIGHTS.get(dim)
    return weights is not None and _has_torch() and weights.is_file()


def ifs_from_cloud(
    points, *, method: str = "auto", n_maps: int | None = None, steps: int = 300, seed: int = 0, model=None
) -> tuple[IFS, str]:
    """An IFS whose attractor approximates a point cloud.

    Parameters
    ----------
    points : array_like, shape (n, d)
        d = 2 or 3.
    method : {"auto", "encode", "fit"}
        ``encode``: one forward pass of the neural encoder (:func:`ifskit.neural.encode`);
        ``fit``: the collage-theorem fitter (:func:`ifskit.fit`); ``auto``: the encoder
        when ``model`` is given or shipped weights for d-D clouds are installed
        (:func:`encoder_available`), else the fitter.
    n_maps : int, optional
        Number of maps. Default: the encoder picks its own (its predicted attractor
        quality), the fitter uses :data:`DEFAULT_FIT_MAPS`. The encoder only knows its
        model's map counts (2 to 8 for the shipped ones, and 48 anchor copies in 2D).
    steps : int
        Fitter steps.
    seed : int
        Same seed, same IFS.
    model : str, Path or PointCloudEncoder, optional
        Encoder model instead of the shipped weights.

    Returns
    -------
    ifs : IFS
    how : {"encoded", "fitted"}

    Raises
    ------
    FormatError
        A cloud the encoder or fitter refuses, an unknown method or map count, or
        ``encode`` without an encoder for d-D clouds.
    IfskitError
        torch is not installed.
    """
    if method not in CLOUD_METHODS:
        raise ParameterError(f"method must be one of {', '.join(CLOUD_METHODS)}, got {method!r}", "method")
    points = np.asarray(points, dtype=float)
    if not _has_torch():
        raise IfskitError("point-cloud keyframes need torch (fitter or encoder): pip install 'ifskit[torch]'")
    dim = points.shape[1]
    encoded = model is not None or encoder_available(dim)
    if method == "encode" and not encoded:
        weights = shipped.WEIGHTS.get(dim)
        missing = (
            f"the neural encoder's weights for {dim}D clouds ({weights.name if weights else 'none'}) are not installed"
        )
        raise ParameterError(f"{missing}; fit the cloud instead (method fit)", "method")
    # fitting and neural load their torch modules on first use (lazy packages)
    if method == "encode" or (method == "auto" and encoded):
        return neural.encode(points, model=model, n_maps=n_maps, seed=seed), "encoded"
    n_maps = DEFAULT_FIT_MAPS if n_maps is None else n_maps
    return fitting.fit(points, n_maps=n_maps, steps=steps, seed=seed, progress=False).ifs, "fitted"


def _has_torch() -> bool:
    return importlib.util.find_spec("torch") is not None
