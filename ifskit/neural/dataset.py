"""The encoder's training clouds: attractors of random IFS, procedural shapes, and users' own clouds.

Sample ``i`` of a dataset is a pure function of ``(seed, i)`` (:func:`make_sample`,
:func:`training_cloud`): it does not depend on which other samples were made, in which
order, or where. The training batches draw them, and :mod:`ifskit.data`'s ``clouds``
recipe writes the IFS samples (files, shards, resuming, Dask).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import FormatError
from ..formats.pointcloud import POINT_SUFFIXES, load_points
from ..ifs import IFS
from ..render import chaos_game
from .random import random_ifs
from .shapes import random_shape


def sample_rng(index: int, seed: int) -> np.random.Generator:
    """The random stream of sample ``index`` of the dataset ``seed`` (depends on nothing else)."""
    return np.random.default_rng([int(seed), int(index)])


def make_sample(
    index: int, seed: int, maps: tuple[int, int] = (2, 4), n_points: int = 2048, dim: int = 2, **random_options
) -> tuple[IFS, np.ndarray]:
    """Sample ``index`` of the dataset ``seed``: a random IFS and points of its attractor.

    Parameters
    ----------
    index : int
        Position in the dataset (non-negative).
    seed : int
        Dataset seed.
    maps : (int, int)
        Smallest and largest number of maps, both included; drawn uniformly.
    n_points : int
        Chaos-game points.
    dim : {2, 3}
    **random_options
        Passed to :func:`ifskit.neural.random.random_ifs` (``sigma_range``,
        ``fixed_point_box``, ``sigma_factor``).

    Returns
    -------
    ifs : IFS
    points : ndarray, shape (n_points, dim), float32
    """

    rng = sample_rng(index, seed)
    n_maps = int(rng.integers(maps[0], maps[1] + 1))
    ifs = random_ifs(n_maps, dim, rng, **random_options)
    points = chaos_game(ifs, n_points, seed=int(rng.integers(2**62)), threads=1, progress=False)
    return ifs, points.astype(np.float32)


def training_cloud(
    index: int,
    seed: int,
    n_points: int,
    dim: int = 2,
    *,
    maps: tuple[int, int] = (2, 4),
    shape_share: float = 0.0,
    user_clouds=(),
    user_share: float = 0.0,
) -> np.ndarray:
    """Training cloud ``index`` of the dataset ``seed``: a user's cloud, a procedural shape, or an attractor.

    The kind is drawn first from a stream of its own, ``[seed, index, 1]``, so that with
    ``shape_share = user_share = 0`` the clouds are exactly :func:`make_sample`'s.

    Parameters
    ----------
    index, seed : int
    n_points : int
    dim : {2, 3}
    maps : (int, int)
        Map counts of the random IFS (see :func:`make_sample`).
    shape_share : float
        Share of procedural shapes (:func:`ifskit.neural.shapes.random_shape`), 0 to 1.
    user_clouds : sequence of ndarray, each shape (N_j, dim)
        The user's own clouds; a sample picks one and a random subset of it, turned by a
        random rotation about its centre (the encoder must not learn their orientation).
    user_share : float
        Share of samples from ``user_clouds`` (taken before the procedural share).

    Returns
    -------
    ndarray, shape (n_points, dim), float32
    """
    kind = np.random.default_rng([int(seed), int(index), 1])
    u = kind.random()
    if len(user_clouds) and u < user_share:
        cloud = np.asarray(user_clouds[int(kind.integers(len(user_clouds)))], dtype=float)
        cloud = cloud[kind.choice(len(cloud), n_points, replace=len(cloud) < n_points)]
        q, r = np.linalg.qr(kind.normal(size=(dim, dim)))
        return ((cloud - cloud.mean(axis=0)) @ (q * np.sign(np.diag(r))).T).astype(np.float32)
    if u < user_share * (len(user_clouds) > 0) + shape_share:
        return random_shape(kind, n_points, dim)
    return make_sample(index, seed, maps, n_points, dim)[1]


def load_user_clouds(folder, dim: int) -> list:
    """Every point cloud of dimension ``dim`` in ``folder`` (not its subfolders), sorted by name.

    Returns
    -------
    list of ndarray, each shape (N_j, dim), float64

    Raises
    ------
    FormatError
        No such folder, no cloud in it, a cloud of another dimension or of fewer than 16
        points, or an unreadable file (named).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FormatError("no such folder of training clouds", folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in POINT_SUFFIXES and p.is_file())
    if not files:
        raise FormatError(f"no point-cloud file ({', '.join(sorted(POINT_SUFFIXES))}) in this folder", folder)
    clouds = []
    for path in files:
        cloud = load_points(path)
        if cloud.ndim != 2 or cloud.shape[1] != dim:
            raise FormatError(f"a {cloud.shape[-1]}D cloud; training a {dim}D encoder needs {dim}D clouds", path)
        if len(cloud) < 16 or not np.all(np.isfinite(cloud)):
            raise FormatError("a training cloud needs at least 16 finite points", path)
        clouds.append(cloud.astype(float))
    return clouds
