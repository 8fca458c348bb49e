"""A FractalDB-style synthetic dataset: random IFS, their chaos-game point clouds, optional density PNGs.

Sample ``i`` of a dataset is a pure function of ``(seed, i)`` (:func:`make_sample`):
it does not depend on which other samples were made, in which order, or where. A
dataset can therefore be resumed (samples whose files exist are skipped) and split
over workers by index.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..formats import save_points
from ..ifs import IFS
from ..io import save
from ..render import chaos_game, render_image, save_png
from .random import random_ifs

#: File types a sample can be written as: the IFS and the cloud in several formats.
SAMPLE_FORMATS = ("yaml", "npy", "ply", "png")
#: Density pictures: points drawn per pixel of the picture.
_PNG_POINTS_PER_PIXEL = 20


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


def sample_paths(folder, index: int, formats) -> dict:
    """Files of sample ``index`` in ``folder``, ``{format: Path}`` (``sample_000042.yaml``, ...)."""
    return {fmt: Path(folder) / f"sample_{index:06d}.{fmt}" for fmt in formats}


def write_sample(folder, index: int, ifs: IFS, points: np.ndarray, formats, png_size: int = 256) -> list:
    """Write the files of one sample that do not exist yet, each atomically.

    Parameters
    ----------
    folder : str or Path
        Existing folder.
    index : int
    ifs : IFS
    points : ndarray, shape (n, d)
    formats : iterable of str
        Among :data:`SAMPLE_FORMATS`: ``yaml`` (the IFS), ``npy``/``ply`` (the cloud),
        ``png`` (a density picture of the attractor, ``png_size`` pixels square,
        drawn with the sample's own chaos-game seed so it is reproducible too).
    png_size : int

    Returns
    -------
    list of Path
        The files written (existing ones are kept as they are).
    """

    written = []
    for fmt, path in sample_paths(folder, index, formats).items():
        if path.exists():
            continue
        if fmt == "yaml":
            save(ifs, path)
        elif fmt in ("npy", "ply"):
            save_points(points, path)
        elif fmt == "png":
            n_points = _PNG_POINTS_PER_PIXEL * png_size * png_size
            save_png(render_image(ifs, png_size, n_points, seed=index, progress=False, threads=1), path)
        else:
            raise ValueError(f"unknown sample format {fmt!r}")
        written.append(path)
    return written


def generate_dataset(
    folder,
    count: int,
    seed: int = 0,
    maps: tuple[int, int] = (2, 4),
    n_points: int = 2048,
    dim: int = 2,
    formats=("yaml", "npy"),
    png_size: int = 256,
    indices=None,
    progress: bool = False,
) -> dict:
    """Make the samples of a dataset that are missing in ``folder`` (resumable).

    Parameters
    ----------
    folder : str or Path
        Existing folder.
    count : int
        Samples ``0 .. count - 1``.
    seed, maps, n_points, dim
        As in :func:`make_sample`.
    formats : iterable of str
        As in :func:`write_sample`.
    png_size : int
    indices : iterable of int, optional
        Make only these samples (a shard of the dataset); default all of ``range(count)``.
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict
        ``written`` (samples made), ``skipped`` (samples whose files all existed).
    """
    indices = range(count) if indices is None else list(indices)
    if progress:
        from tqdm.auto import tqdm

        indices = tqdm(indices, desc="dataset", unit="sample")
    written = skipped = 0
    for index in indices:
        if all(path.exists() for path in sample_paths(folder, index, formats).values()):
            skipped += 1
            continue
        ifs, points = make_sample(index, seed, maps, n_points, dim)
        write_sample(folder, index, ifs, points, formats, png_size)
        written += 1
    return {"written": written, "skipped": skipped}
