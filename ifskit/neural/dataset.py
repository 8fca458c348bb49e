"""The encoder's synthetic samples: a random IFS and its chaos-game point cloud.

Sample ``i`` of a dataset is a pure function of ``(seed, i)`` (:func:`make_sample`):
it does not depend on which other samples were made, in which order, or where. The
training batches draw them, and :mod:`ifskit.data`'s ``clouds`` recipe writes them
(files, shards, resuming, Dask).
"""

from __future__ import annotations

import numpy as np

from ..ifs import IFS
from ..render import chaos_game
from .random import random_ifs


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
