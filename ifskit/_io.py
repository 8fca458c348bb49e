"""Safe output: checks before any work is done, and atomic writes."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import FormatError, OutputError


def check_output(path, overwrite: bool = False, suffixes=None) -> Path:
    """Check that ``path`` can be written, before any expensive work.

    Parameters
    ----------
    path : str or Path
    overwrite : bool
        Allow replacing an existing file.
    suffixes : iterable of str, optional
        Allowed suffixes (lower case, with the dot).

    Raises
    ------
    OutputError
        Unknown suffix, missing folder, or an existing file without ``overwrite``.
    """
    path = Path(path)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        allowed = ", ".join(sorted(suffixes))
        raise OutputError(f"{path}: unknown output type {path.suffix or '(none)'!r}; use one of {allowed}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{path}: the folder {str(parent)!r} does not exist")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder")
    if path.exists() and not overwrite:
        raise OutputError(f"{path}: exists already (use --overwrite / overwrite=True to replace it)")
    return path


@contextlib.contextmanager
def atomic_path(path, overwrite: bool = False):
    """Yield a temporary path beside ``path``; move it onto ``path`` if the block succeeds.

    A failed write leaves neither a partial file nor a temporary one behind.
    The temporary name keeps the suffix, for writers that choose a format by it.
    """
    path = check_output(path, overwrite)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent or ".")
    except OSError as exc:  # a folder we may not write in
        raise OutputError(f"{path}: cannot write: {exc.strerror}") from None
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; an output is an ordinary file
    try:
        yield Path(tmp)
        if not overwrite and path.exists():  # appeared while we worked
            raise OutputError(f"{path}: exists already (use --overwrite / overwrite=True to replace it)")
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path, text: str, overwrite: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically; failures are one-line :class:`OutputError`."""
    try:
        with atomic_path(path, overwrite) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror}") from None
    return Path(path)


def read_bytes(path) -> bytes:
    """Read a file, turning the usual failures into one-line :class:`FormatError`."""

    path = Path(path)
    if not path.exists():
        raise FormatError("no such file", path)
    if path.is_dir():
        raise FormatError("is a folder, not a file", path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", path) from None


def read_text(path) -> str:
    """Read a text file, turning the usual failures into one-line :class:`FormatError`."""

    data = read_bytes(path)
    if b"\0" in data:
        raise FormatError("binary data, not a text file", path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FormatError("not UTF-8 text (binary data?)", path, line) from None
