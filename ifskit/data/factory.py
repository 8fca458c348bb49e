"""Write a dataset: one layout whatever runs it, resumable, described by a manifest.

The layout depends only on ``shard_size``: without it each sample is written as files
``sample_NNNNNN.<format>``; with it samples ``s * shard_size .. (s + 1) * shard_size - 1`` go
to ``shard_NNNNNN.npz``. The work is cut into units (a shard, or a block of samples) that are
pure functions of ``(recipe, seed, unit)``, run here one after the other or as Dask tasks:
the files are the same bytes either way, whatever the number of workers. Every file is
written atomically, so a stopped run leaves complete files only; a rerun skips them.

``manifest.json`` records the recipe, its settings, the seed, the layout and every category's
parameters. A folder whose manifest names another dataset is refused.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from .._io import atomic_path, write_text
from ..errors import FormatError, IfskitError, ParameterError
from .recipes import Recipe, get_recipe

#: Name of the file that describes a dataset, beside its samples or shards.
MANIFEST = "manifest.json"
#: Version of the manifest and of the layout.
LAYOUT_VERSION = "ifskit-dataset-1"
# Samples per unit of work in the files layout: enough that a Dask task is not all overhead,
# few enough that the load evens out over workers.
_BLOCK = 64
# Fixed zip member time, so that the same shard is the same bytes whenever it is written.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def sample_paths(folder, index: int, formats) -> dict:
    """Files of sample ``index`` in ``folder``, ``{format: Path}`` (``sample_000042.yaml``, ...)."""
    return {fmt: Path(folder) / f"sample_{index:06d}.{fmt}" for fmt in formats}


def shard_path(folder, shard: int) -> Path:
    """File of shard number ``shard`` in ``folder``: ``shard_000042.npz``."""
    return Path(folder) / f"shard_{shard:06d}.npz"


def manifest_of(recipe: Recipe, count: int, seed: int, shard_size: int | None, formats) -> dict:
    """The manifest of a dataset (a JSON-able dict): identity keys first, then the categories."""
    return {
        "format": LAYOUT_VERSION,
        "recipe": recipe.name,
        "settings": recipe.settings,
        "seed": int(seed),
        "layout": "files" if shard_size is None else "shards",
        "shard_size": shard_size,
        "count": int(count),
        "formats": list(formats),
        "instances": recipe.instances,
        "categories": recipe.categories(seed, count),
    }


# What makes two datasets the same: the rest (count, formats of a files layout) may grow on resume.
_IDENTITY = ("format", "recipe", "settings", "seed", "layout", "shard_size")


def read_manifest(folder) -> dict | None:
    """The manifest in ``folder``, or None when there is none.

    Raises
    ------
    FormatError
        The manifest cannot be read.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"cannot read the dataset manifest: {exc}", path) from None


def _check_manifest(folder: Path, recipe: Recipe, count: int, seed: int, shard_size, formats) -> None:
    """Write the manifest of a new dataset, or check that ``folder`` holds this one (then update it)."""
    found = read_manifest(folder)
    manifest = manifest_of(recipe, count, seed, shard_size, formats)
    if found is not None:
        identity = _IDENTITY + (("count", "formats") if shard_size is not None else ())
        different = [key for key in identity if found.get(key) != manifest[key]]
        if different:
            theirs = ", ".join(f"{key} {json.dumps(found.get(key))}" for key in different)
            raise FormatError(
                f"the folder holds another dataset ({theirs}): rerun with its settings to resume it, "
                "or choose another folder",
                Path(folder) / MANIFEST,
            )
        # a files dataset may grow and gain formats: the manifest describes all of it
        grown = max(count, int(found.get("count", 0)))
        formats = list(dict.fromkeys(list(found.get("formats", [])) + list(formats)))
        manifest = manifest_of(recipe, grown, seed, shard_size, formats)
        if manifest == found:
            return
    write_text(Path(folder) / MANIFEST, json.dumps(manifest, indent=1) + "\n", overwrite=True)


def units(count: int, shard_size: int | None) -> list[tuple[int, int, int]]:
    """Units of work ``(number, first, last)``: shards, or blocks of samples in the files layout."""
    size = shard_size or _BLOCK
    return [(u, u * size, min(count, (u + 1) * size)) for u in range(-(-count // size))]


def write_dataset(
    folder,
    count: int,
    *,
    recipe: Recipe | str = "clouds",
    seed: int = 0,
    shard_size: int | None = None,
    formats=None,
    client=None,
    progress: bool = False,
) -> dict:
    """Make the samples of a dataset that are missing in ``folder`` (resumable).

    Parameters
    ----------
    folder : str or Path
        Existing folder; with a remote cluster, one the workers see at the same path.
    count : int
        Samples ``0 .. count - 1``.
    recipe : Recipe or str
        A recipe (:func:`ifskit.data.get_recipe`) or a recipe name with default settings.
    seed : int
        Dataset seed.
    shard_size : int, optional
        Write shards of this many samples (``shard_NNNNNN.npz``); default files per sample.
    formats : iterable of str, optional
        File types of a sample (the recipe's ``formats``); in shards, the arrays they need.
    client : dask.distributed.Client, optional
        Run the units on the cluster's workers; default one after the other here.
    progress : bool
        Show a progress bar (samples).

    Returns
    -------
    dict
        ``written`` and ``skipped`` (samples), ``units_written``, ``units`` (shards or blocks).

    Raises
    ------
    ParameterError
        A non-positive count or shard size, an unknown format.
    FormatError
        ``folder`` holds another dataset.
    IfskitError
        Some units failed (after all the others were written); the message names the first.
    """
    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    count = int(count)
    if count < 1:
        raise ParameterError(f"count must be positive, got {count}", "count")
    if shard_size is not None and int(shard_size) < 1:
        raise ParameterError(f"shard_size must be positive, got {shard_size}", "shard_size")
    shard_size = None if shard_size is None else int(shard_size)
    formats = recipe.check_formats(formats)
    folder = Path(folder)
    recipe.check_count(count)
    _check_manifest(folder, recipe, count, seed, shard_size, formats)
    # samples to make, per unit, counted now: a task that Dask reruns after its worker died finds
    # its files written, and must not make them look skipped
    missing = {u: _missing(folder, u, shard_size, formats) for u in units(count, shard_size)}
    todo = [u for u, n in missing.items() if n]
    skipped = count - sum(missing.values())
    bar = None
    if progress:
        from tqdm.auto import tqdm  # only with a progress bar

        bar = tqdm(total=count, initial=skipped, desc="dataset", unit="sample")
    task = (folder, recipe, int(seed), shard_size, formats)
    failures, written = {}, 0
    try:
        if client is None:
            for unit in todo:
                try:
                    _write_unit(*task, unit)
                    written += missing[unit]
                except (IfskitError, OSError) as error:  # as a worker's failure: the other units go on
                    failures[unit[0]] = error
                if bar is not None:
                    bar.update(unit[2] - unit[1])
        else:
            from dask.distributed import as_completed  # dask: only with a cluster

            futures = {client.submit(_write_unit, *task, unit, pure=False): unit for unit in todo}
            for future in as_completed(futures):
                unit = futures[future]
                if future.status == "error":
                    failures[unit[0]] = future.exception()
                else:
                    written += missing[unit]
                if bar is not None:
                    bar.update(unit[2] - unit[1])
    finally:
        if bar is not None:
            bar.close()
    if failures:
        number, error = min(failures.items())
        kind = "shards" if shard_size else "blocks of samples"
        raise IfskitError(
            f"{len(failures)} of {len(units(count, shard_size))} {kind} failed (first: {number}: "
            f"{type(error).__name__}: {error}); the others are written: run the same command again to make "
            "the missing ones"
        )
    return {
        "written": written,
        "skipped": skipped,
        "units_written": len(todo),
        "units": len(units(count, shard_size)),
    }


def _missing(folder: Path, unit, shard_size, formats) -> int:
    """Samples of ``unit`` that are not written yet (a shard is written whole or not at all)."""
    number, first, last = unit
    if shard_size is not None:
        return 0 if shard_path(folder, number).is_file() else last - first
    paths = (sample_paths(folder, i, formats).values() for i in range(first, last))
    return sum(not all(p.is_file() for p in files) for files in paths)


def _write_unit(folder: Path, recipe: Recipe, seed: int, shard_size, formats, unit) -> int:
    """Make and write one unit (a shard, or the missing samples of a block); returns the samples written."""
    number, first, last = unit
    if shard_size is None:
        written = 0
        for index in range(first, last):
            missing = {f: p for f, p in sample_paths(folder, index, formats).items() if not p.is_file()}
            if missing:
                recipe.write_files(recipe.make(index, seed), missing)
                written += 1
        return written
    path = shard_path(folder, number)
    if path.is_file():  # written by an earlier try of this task (its worker died before saying so)
        return 0
    indices = np.arange(first, last, dtype=np.int64)
    arrays = recipe.shard_arrays(indices, [recipe.make(i, seed) for i in indices], formats)
    # overwrite: a shard that appears meanwhile was written by another try of this task
    # (Dask may run a task twice when a worker is lost): the same samples, the same bytes
    with atomic_path(path, overwrite=True) as tmp, zipfile.ZipFile(tmp, "w") as archive:
        for name, array in arrays.items():
            with archive.open(zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME), "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
    return last - first
