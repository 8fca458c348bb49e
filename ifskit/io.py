"""Load and save an IFS from any source: a file (YAML, Fractint ``.ifs``, JSON), a catalog name, or an IFS."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ._io import read_text, write_text
from .builtin import catalog
from .errors import FormatError, ParameterError
from .formats import (
    IFS_SUFFIXES,
    FractintFile,
    dump_fractint,
    dump_json,
    dump_yaml,
    parse_fractint,
    parse_json,
    parse_yaml,
)
from .ifs import IFS
from .limits import MAX_COEFFICIENT, MAX_IFS_FILE_BYTES

__all__ = ["is_catalog_name", "load", "save"]


def is_catalog_name(source) -> bool:
    """True when ``source`` names a built-in rather than a file (no suffix, no folder)."""
    text = str(source)
    return not Path(text).suffix and "/" not in text and "\\" not in text and not Path(text).is_file()


def load(source, name: str | None = None) -> IFS:
    """Load an IFS from a file, a catalog name, or pass an IFS through.

    Parameters
    ----------
    source : str, Path or IFS
        ``.yaml``/``.yml``, ``.ifs`` (Fractint), ``.json`` file, or a catalog name
        such as ``"barnsley_fern"`` (see :func:`ifskit.catalog_names`).
    name : str, optional
        The entry of a multi-entry ``.ifs`` file (case-insensitive).

    Raises
    ------
    FormatError
        Missing or malformed file, unknown suffix; the message names file and line.
    UnknownNameError
        Unknown catalog name or ``.ifs`` entry, with the closest names.
    """
    if isinstance(source, IFS):
        return source
    if is_catalog_name(source):
        if name is not None:
            raise ParameterError(f"name picks an entry of a .ifs file, but {source!r} is a catalog name", "name")
        return catalog(str(source))
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix not in IFS_SUFFIXES:
        raise FormatError(f"unknown IFS file type {path.suffix!r}; use .yaml, .ifs or .json", path)
    text = read_text(path, MAX_IFS_FILE_BYTES, "IFS files")
    if suffix == ".ifs":
        return _pick_entry(parse_fractint(text, str(path)), name)
    if name is not None:
        raise ParameterError(f"{path}: name picks an entry of a .ifs file; this file holds one IFS", "name")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ifs = parse_json(text, str(path)) if suffix == ".json" else parse_yaml(text, str(path))[0]
    for w in caught:
        warnings.warn(f"{path}: {w.message}", w.category, stacklevel=2)
    if ifs.name is None:
        ifs = IFS(ifs.A, ifs.b, ifs.p, name=path.stem, colors=ifs.colors)
    return ifs


def _pick_entry(library: FractintFile, name: str | None) -> IFS:
    if name is not None:
        return library.get(name)
    names = list(library.entries) + list(library.errors)
    if len(names) == 1:
        return library.get(names[0])
    raise ParameterError(
        f"{library.path}: holds {len(names)} entries; choose one with name ({', '.join(names)})", "name"
    )


def save(ifs: IFS, path, overwrite: bool = False) -> Path:
    """Write an IFS; the format follows the suffix (``.yaml``/``.yml``, ``.ifs``, ``.json``).

    The file is written atomically; an existing file is replaced only with ``overwrite=True``.

    Raises
    ------
    FormatError
        An unknown suffix, or a coefficient that :func:`load` would refuse (not finite, or over
        :data:`~ifskit.limits.MAX_COEFFICIENT` in size): ifskit writes only what it reads back.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    dump = {".yaml": dump_yaml, ".yml": dump_yaml, ".json": dump_json, ".ifs": dump_fractint}.get(suffix)
    if dump is None:
        raise FormatError(f"unknown IFS file type {path.suffix!r}; use .yaml, .ifs or .json", path)
    largest = float(np.max(np.abs(np.concatenate([ifs.A.ravel(), ifs.b.ravel()]))))
    if not largest <= MAX_COEFFICIENT:  # NaN fails too
        raise FormatError(
            f"cannot write an IFS with a coefficient of {largest:g}: ifskit reads back maps with coefficients "
            f"of at most {MAX_COEFFICIENT:g}",
            path,
        )
    return write_text(path, dump(ifs), overwrite)
