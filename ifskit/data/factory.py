"""Write a dataset: one layout whatever runs it, resumable, described by a manifest.

The layout depends only on ``shard_size`` and ``shard_format``: without a shard size each
sample is written as files ``sample_NNNNNN.<format>``; with it samples
``s * shard_size .. (s + 1) * shard_size - 1`` go to ``shard_NNNNNN.npz`` (arrays) or
``shard_NNNNNN.tar`` (the samples' files and a ``.cls`` label each: a webdataset shard). The work is cut into units (a shard, or a block of samples) that are
pure functions of ``(recipe, seed, unit)``, run on this machine's threads or as Dask tasks:
the files are the same bytes either way, whatever the number of threads or workers.

A recipe with categories first searches them, one task per category, in parallel too; each
category found is written at once as ``categories/NNNNNN.csv`` (its rows, the source's
format), so that a stopped search resumes where it was. ``manifest.json`` records the recipe,
its settings, the seed, the layout and every category's parameters; a folder whose manifest
names another dataset is refused. ``preview.png`` is a contact sheet of the first sample of
the first categories (or the first samples), for a look at what the recipe made.

Every file appears whole or not at all: a block's files are written to temporary files,
flushed to disk together (one ``sync`` for the block, where a flush per file would cost more
than making a picture), then renamed. A stopped run (``time_budget``, Ctrl-C, a lost worker)
leaves complete files only; a rerun makes the missing ones.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
import zipfile
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

import numpy as np

from .._io import atomic_path, write_bytes, write_files, write_text
from .._parallel import default_threads
from ..errors import FormatError, IfskitError, ParameterError
from .pictures import contact_sheet, png_bytes
from .recipes import CategoryRecipe, Recipe, get_recipe

#: Name of the file that describes a dataset, beside its samples or shards.
MANIFEST = "manifest.json"
#: Folder of the per-category parameter files, ``NNNNNN.csv``.
CATEGORIES = "categories"
#: Name of the contact sheet.
PREVIEW = "preview.png"
#: Version of the manifest and of the layout.
LAYOUT_VERSION = "ifskit-dataset-1"
#: Most samples of a dataset (100 million: FractalDB-10k is 10 million); the work list and
#: the check of what exists grow with the count.
MAX_COUNT = 10**8
#: Most threads of ``workers``.
MAX_WORKERS = 1024
#: Kinds of shards: numpy arrays in a zip (``np.load``), or a tar of the samples' files with a
#: ``.cls`` label each (webdataset's layout: members ``sample_NNNNNN.png``, ``sample_NNNNNN.cls``).
SHARD_FORMATS = ("npz", "tar")
#: Pictures on the contact sheet, at most.
PREVIEW_TILES = 64
# Samples per unit of work in the files layout: enough that a task is not all overhead and
# that the flush of its files is shared by many, few enough that the load evens out.
_BLOCK = 64
# Units in flight per worker: enough to keep every worker busy, few enough that a time budget
# stops the run soon after it runs out.
_IN_FLIGHT = 2
# Fixed zip member time, so that the same shard is the same bytes whenever it is written.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def sample_paths(folder, index: int, formats) -> dict:
    """Files of sample ``index`` in ``folder``, ``{format: Path}`` (``sample_000042.yaml``, ...)."""
    return {fmt: Path(folder) / f"sample_{index:06d}.{fmt}" for fmt in formats}


def shard_path(folder, shard: int, shard_format: str = "npz") -> Path:
    """File of shard number ``shard`` in ``folder``: ``shard_000042.npz`` (or ``.tar``)."""
    return Path(folder) / f"shard_{shard:06d}.{shard_format}"


def category_path(folder, category: int) -> Path:
    """Parameter file of category ``category``: ``categories/000042.csv``, one row per map."""
    return Path(folder) / CATEGORIES / f"{category:06d}.csv"


def manifest_of(recipe: Recipe, count: int, seed: int, shard_size: int | None, formats, shard_format=None) -> dict:
    """The manifest of a dataset (a JSON-able dict): identity keys first, then the categories."""
    return {
        **_identity(recipe, count, seed, shard_size, formats, shard_format),
        "instances": recipe.instances,
        "category_columns": list(recipe.columns) if isinstance(recipe, CategoryRecipe) else None,
        "categories": recipe.categories(seed, count),
    }


# What makes two datasets the same: the rest (count, formats of a files layout) may grow on resume.
_IDENTITY = ("format", "recipe", "settings", "seed", "layout", "shard_size", "shard_format")


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
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"cannot read the dataset manifest: {exc}", path) from None
    if not isinstance(manifest, dict):
        raise FormatError("not a dataset manifest (no JSON object)", path)
    return manifest


def _identity(recipe: Recipe, count: int, seed: int, shard_size, formats, shard_format=None) -> dict:
    """The keys of a manifest that say which dataset it is (and its size and formats)."""
    return {
        "format": LAYOUT_VERSION,
        "recipe": recipe.name,
        "settings": recipe.settings,
        "seed": int(seed),
        "layout": "files" if shard_size is None else "shards",
        "shard_size": shard_size,
        "shard_format": shard_format,
        "count": int(count),
        "formats": list(formats),
    }


def _check_folder(
    folder: Path, recipe: Recipe, count: int, seed: int, shard_size, formats, shard_format=None
) -> dict | None:
    """The manifest found in ``folder`` when it is this dataset's (None: a new dataset); refuse another's."""
    found = read_manifest(folder)
    if found is None:
        return None
    if found.get("layout") == "shards":  # manifests from before tar shards: npz
        found = {"shard_format": "npz", **found}
    ours = _identity(recipe, count, seed, shard_size, formats, shard_format)
    # a files dataset may grow and gain formats; shards hold all formats and a fixed count
    keys = _IDENTITY + (("count", "formats") if shard_size is not None else ())
    # settings through JSON: a manifest holds lists where a recipe may hold tuples
    different = [key for key in keys if found.get(key) != json.loads(json.dumps(ours[key]))]
    if different:
        theirs = ", ".join(f"{key} {json.dumps(found.get(key))}" for key in different)
        raise FormatError(
            f"the folder holds another dataset ({theirs}): rerun with its settings to resume it, "
            "or choose another folder",
            Path(folder) / MANIFEST,
        )
    return found


def _write_manifest(
    folder: Path, found: dict | None, recipe: Recipe, count: int, seed: int, shard_size, formats, shard_format=None
):
    if found is not None:
        # a files dataset may grow and gain formats: the manifest describes all of it
        count = max(count, int(found.get("count", 0)))
        formats = list(dict.fromkeys(list(found.get("formats", [])) + list(formats)))
    manifest = manifest_of(recipe, count, seed, shard_size, formats, shard_format)
    if manifest != found:
        write_text(folder / MANIFEST, json.dumps(manifest, indent=1) + "\n", overwrite=True)


def units(count: int, shard_size: int | None) -> list[tuple[int, int, int]]:
    """Units of work ``(number, first, last)``: shards, or blocks of samples in the files layout."""
    size = shard_size or _BLOCK
    return [(u, u * size, min(count, (u + 1) * size)) for u in range(-(-count // size))]


def check_arguments(
    recipe: Recipe, count: int, shard_size=None, formats=None, workers=None, time_budget=None, shard_format=None
):
    """Check the arguments of :func:`write_dataset` before any work.

    Returns
    -------
    count, shard_size, formats, shard_format
        Checked; ``shard_format`` is ``"npz"`` for shards when not given, None for files.

    Raises
    ------
    ParameterError
        A count out of 1 .. :data:`MAX_COUNT`, a non-positive shard size or time budget, more
        samples than the recipe makes, a format the recipe does not write, a thread count out
        of range, a shard format other than :data:`SHARD_FORMATS` or one without a shard size.
    """
    count = int(count)
    if not 1 <= count <= MAX_COUNT:
        raise ParameterError(f"count must be from 1 to {MAX_COUNT:,}, got {count:,}", "count")
    if shard_size is not None and int(shard_size) < 1:
        raise ParameterError(f"shard_size must be positive, got {shard_size}", "shard_size")
    if shard_format is not None:
        if shard_format not in SHARD_FORMATS:
            raise ParameterError(f"shard_format must be one of {', '.join(SHARD_FORMATS)}, got {shard_format!r}",
                                 "shard_format")  # fmt: skip
        if shard_size is None:
            raise ParameterError("shard_format applies to shards only: give a shard size too", "shard_format")
    if workers is not None and (
        isinstance(workers, bool) or int(workers) != workers or not 1 <= workers <= MAX_WORKERS
    ):
        raise ParameterError(f"workers must be a whole number from 1 to {MAX_WORKERS}, got {workers!r}", "workers")
    if time_budget is not None and not float(time_budget) > 0:
        raise ParameterError(f"time_budget must be a positive number of seconds, got {time_budget}", "time_budget")
    recipe.check_count(count)
    if shard_size is None:
        return count, None, recipe.check_formats(formats), None
    return count, int(shard_size), recipe.check_formats(formats), shard_format or "npz"


def write_dataset(
    folder,
    count: int,
    *,
    recipe: Recipe | str = "clouds",
    seed: int = 0,
    shard_size: int | None = None,
    shard_format: str | None = None,
    formats=None,
    client=None,
    workers: int | None = None,
    time_budget: float | None = None,
    preview: bool | None = None,
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
    shard_format : {"npz", "tar"}, optional
        With ``shard_size``: ``npz`` (default), the arrays of the samples (``index``, ``label``,
        pictures or points), or ``tar``, each sample's files (``sample_NNNNNN.png`` ...) and its
        label (``sample_NNNNNN.cls``, decimal), the layout webdataset reads.
    formats : iterable of str, optional
        File types of a sample (the recipe's ``formats``); in shards, the arrays they need.
    client : dask.distributed.Client, optional
        Run the category searches and the units on the cluster's workers; default this
        machine's threads.
    workers : int, optional
        Threads here, without ``client`` (default: the cores; at most :data:`MAX_WORKERS`).
    time_budget : float, optional
        Seconds: start no more work after this long; what is done is complete, and the same
        call again goes on from there.
    preview : bool, optional
        Write ``preview.png``, a contact sheet, when the dataset is complete; default for the
        recipes with categories (the sheet shows one sample of each).
    progress : bool
        Show progress bars (categories, samples).

    Returns
    -------
    dict
        ``written`` and ``skipped`` (samples), ``units_written``, ``units`` (shards or blocks),
        ``categories_searched``, ``complete`` (False when the time budget stopped the run).

    Raises
    ------
    ParameterError
        A non-positive count, shard size or time budget, an unknown format.
    FormatError
        ``folder`` holds another dataset.
    IfskitError
        Some units failed (after all the others were written); the message names the first.
    """
    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    count, shard_size, formats, shard_format = check_arguments(
        recipe, count, shard_size, formats, workers, time_budget, shard_format
    )
    folder = Path(folder)
    deadline = None if time_budget is None else time.monotonic() + float(time_budget)
    runner = _Runner(client, default_threads(workers), deadline)
    found = _check_folder(folder, recipe, count, seed, shard_size, formats, shard_format)
    if found is None:
        # the folder is claimed before any work: a search stopped now resumes from its files
        found = {**_identity(recipe, count, seed, shard_size, formats, shard_format), "categories": None}
        write_text(folder / MANIFEST, json.dumps(found, indent=1) + "\n")

    searched = 0
    if isinstance(recipe, CategoryRecipe):
        searched = _search_into(folder, recipe, seed, count, runner, progress)
        if searched is None:  # the time budget ran out during the search
            return {"written": 0, "skipped": 0, "units_written": 0, "units": len(units(count, shard_size)),
                    "categories_searched": 0, "complete": False}  # fmt: skip
    _write_manifest(folder, found, recipe, count, seed, shard_size, formats, shard_format)

    # samples to make, per unit, counted now: a task that Dask reruns after its worker died finds
    # its files written, and must not make them look skipped
    # one listing, not a look-up per file (a folder under a sample's name is not the sample)
    present = {entry.name for entry in os.scandir(folder) if entry.is_file()}
    missing = {u: _missing(present, u, shard_size, formats, shard_format) for u in units(count, shard_size)}
    todo = [u for u, n in missing.items() if n]
    skipped = count - sum(missing.values())
    bar = _bar(progress, count, skipped, "samples")
    failures, written, done = {}, 0, 0

    def finished(unit, error):
        nonlocal written, done
        if error is None:
            written += missing[unit]
            done += 1
        else:
            failures[unit[0]] = error
        if bar is not None:
            bar.update(missing[unit])

    try:
        complete = runner.run(_write_unit, [(folder, recipe, int(seed), shard_size, formats, shard_format, u)
                                            for u in todo],
                              finished, key=lambda args: args[-1])  # fmt: skip
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
    if preview is None:
        preview = isinstance(recipe, CategoryRecipe)
    if complete and preview:
        write_bytes(folder / PREVIEW, png_bytes(preview_sheet(recipe, seed, count)), overwrite=True)
    return {
        "written": written,
        "skipped": skipped,
        "units_written": done,
        "units": len(units(count, shard_size)),
        "categories_searched": searched,
        "complete": complete,
    }


def preview_sheet(recipe: Recipe, seed: int, count: int, tiles: int = PREVIEW_TILES) -> np.ndarray:
    """A contact sheet (RGB uint8) of the first sample of each of the first ``tiles`` categories.

    Without categories: the first ``tiles`` samples.
    """
    step = recipe.instances or 1
    indices = list(range(0, count, step))[:tiles]
    return contact_sheet([recipe.picture(recipe.make(i, seed)) for i in indices])


def _bar(progress: bool, total: int, initial: int, unit: str):
    if not progress:
        return None
    from tqdm.auto import tqdm  # only with a progress bar

    return tqdm(total=total, initial=initial, desc=f"dataset {unit}", unit=unit[:-1])


def search_categories(
    recipe: CategoryRecipe, seed: int, count: int, *, client=None, workers: int | None = None, progress=False,
    on_found=None, deadline: float | None = None,
) -> bool:  # fmt: skip
    """Search, as parallel tasks, the categories of samples ``0 .. count - 1`` that ``recipe`` lacks.

    Each result is adopted by the recipe (and passed to ``on_found(category, rows)``) as it
    comes. The tasks run on the Dask ``client``'s workers, else on ``workers`` threads here.
    Returns False when the ``deadline`` (``time.monotonic()``) came first.
    """
    known = recipe.known(seed)
    needed = [c for c in recipe.categories_needed(count) if c not in known]
    if not needed:
        return True
    bar = _bar(progress, len(needed), 0, "categories")

    def finished(category, rows):
        if isinstance(rows, BaseException):
            raise rows
        recipe.adopt(seed, {category: rows})
        if on_found is not None:
            on_found(category, rows)
        if bar is not None:
            bar.update(1)

    runner = _Runner(client, default_threads(workers), deadline)
    try:
        return runner.run(_search, [(recipe, seed, c) for c in needed], finished, key=lambda args: args[-1],
                          results=True)  # fmt: skip
    finally:
        if bar is not None:
            bar.close()


def _search_into(folder: Path, recipe: CategoryRecipe, seed: int, count: int, runner, progress):
    """The writer's search: categories already written in ``folder`` are read back, each new one is written.

    Returns how many were searched; None when the time budget ran out first.
    """
    listed = {entry.name for entry in os.scandir(folder / CATEGORIES)} if (folder / CATEGORIES).is_dir() else set()
    known = recipe.known(seed)
    written = [c for c in recipe.categories_needed(count) if category_path("", c).name in listed and c not in known]
    recipe.adopt(seed, {c: _read_category(folder, c) for c in written})
    known = recipe.known(seed)
    searched = sum(c not in known for c in recipe.categories_needed(count))
    if searched:
        (folder / CATEGORIES).mkdir(exist_ok=True)

    def write(category, rows):
        text = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows)
        write_text(category_path(folder, category), text, overwrite=True)

    complete = search_categories(
        recipe, seed, count, client=runner.client, workers=runner.threads, progress=progress, on_found=write,
        deadline=runner.deadline,
    )  # fmt: skip
    return searched if complete else None


def _search(recipe: CategoryRecipe, seed: int, category: int) -> np.ndarray:
    """One task: the search of one category."""
    return recipe.search(seed, category)


def _read_category(folder: Path, category: int) -> np.ndarray:
    path = category_path(folder, category)
    try:
        rows = np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as exc:
        raise FormatError(f"cannot read the category's parameters: {exc}", path) from None
    return rows


class _Runner:
    """Runs tasks on this machine's threads or on a Dask cluster, a few in flight per worker.

    ``run(function, tasks, finished)`` calls ``function(*args)`` for each ``args`` in ``tasks``
    and ``finished(key(args), outcome)`` here, in the caller's thread, as each ends: outcome is
    the result (``results=True``) or None, or the exception of a failed task (a user's error,
    :class:`IfskitError` or :class:`OSError`; other exceptions are bugs and propagate). After
    the deadline no task is started; ``run`` returns False when some were left.
    """

    def __init__(self, client, threads: int, deadline: float | None):
        self.client, self.threads, self.deadline = client, threads, deadline

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def run(self, function, tasks, finished, key, results: bool = False) -> bool:
        pending = list(reversed(tasks))  # popped from the end: in order
        if self.client is not None:
            return self._run_dask(function, pending, finished, key, results)
        if self.threads == 1:
            while pending and not self.out_of_time():
                args = pending.pop()
                finished(key(args), self._call(function, args, results))
            return not pending
        with ThreadPoolExecutor(self.threads) as pool:
            running = {}
            try:
                while running or (pending and not self.out_of_time()):
                    while pending and len(running) < _IN_FLIGHT * self.threads and not self.out_of_time():
                        args = pending.pop()
                        running[pool.submit(self._call, function, args, results)] = args
                    ended, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in ended:
                        finished(key(running.pop(future)), future.result())
            finally:  # Ctrl-C or a bug: let the threads end their tasks, start no other
                for future in running:
                    future.cancel()
        return not pending

    @staticmethod
    def _call(function, args, results: bool):
        try:
            value = function(*args)
        except (IfskitError, OSError) as error:  # as a worker's failure: the other tasks go on
            return error
        return value if results else None

    def _run_dask(self, function, pending, finished, key, results: bool) -> bool:
        from dask.distributed import as_completed  # dask: only with a cluster

        n_threads = max(1, sum(self.client.nthreads().values()))
        running = {}
        ended = as_completed()

        def submit():
            while pending and len(running) < _IN_FLIGHT * n_threads and not self.out_of_time():
                args = pending.pop()
                future = self.client.submit(function, *args, pure=False)
                running[future.key] = args
                ended.add(future)

        submit()
        for future in ended:
            args = running.pop(future.key)
            if future.status == "error":
                error = future.exception()
                if not isinstance(error, (IfskitError, OSError)):
                    raise IfskitError(f"a dataset task failed on the Dask cluster: {type(error).__name__}: {error}")
                outcome = error
            else:
                outcome = future.result() if results else None
            del future  # the result is freed on its worker
            finished(key(args), outcome)
            submit()
        return not pending


def _missing(present: set, unit, shard_size, formats, shard_format) -> int:
    """Samples of ``unit`` whose files are not all among the names ``present`` (a shard is whole or absent)."""
    number, first, last = unit
    if shard_size is not None:
        return 0 if shard_path("", number, shard_format).name in present else last - first
    return sum(not all(p.name in present for p in sample_paths("", i, formats).values()) for i in range(first, last))


def _write_unit(folder: Path, recipe: Recipe, seed: int, shard_size, formats, shard_format, unit) -> int:
    """Make and write one unit (a shard, or the missing samples of a block); returns the samples written."""
    number, first, last = unit
    if shard_size is None:
        files, written = {}, 0
        for index in range(first, last):
            missing = {f: p for f, p in sample_paths(folder, index, formats).items() if not p.is_file()}
            if missing:
                data = recipe.files(recipe.make(index, seed), list(missing))
                files.update({missing[fmt]: data[fmt] for fmt in missing})
                written += 1
        write_files(files)
        return written
    path = shard_path(folder, number, shard_format)
    if path.is_file():  # written by an earlier try of this task (its worker died before saying so)
        return 0
    # overwrite: a shard that appears meanwhile was written by another try of this task
    # (Dask may run a task twice when a worker is lost): the same samples, the same bytes
    with atomic_path(path, overwrite=True) as tmp:
        if shard_format == "tar":
            _write_tar(tmp, recipe, seed, formats, range(first, last))
        else:
            indices = np.arange(first, last, dtype=np.int64)
            arrays = recipe.shard_arrays(indices, [recipe.make(i, seed) for i in indices], formats)
            with zipfile.ZipFile(tmp, "w") as archive:
                for name, array in arrays.items():
                    info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
                    with archive.open(info, "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
    return last - first


def _write_tar(path, recipe: Recipe, seed: int, formats, indices) -> None:
    """A webdataset shard at ``path``: each sample's files, then its label as ``.cls`` (decimal).

    The members are the bytes the files layout writes, under the same names; the headers carry
    no time, owner or user name, so the same shard is the same bytes whenever it is written.
    """
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as archive:
        for index in indices:
            names = {fmt: p.name for fmt, p in sample_paths("", index, (*formats, "cls")).items()}
            data = recipe.files(recipe.make(index, seed), list(formats))
            data["cls"] = str(recipe.label(index)).encode()
            members = [(names[fmt], data[fmt]) for fmt in (*formats, "cls")]
            for name, content in members:
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(content), 0o644
                archive.addfile(info, io.BytesIO(content))
