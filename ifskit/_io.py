"""Safe output: checks before any work is done, and atomic, checked writes.

Every file ifskit writes goes through :func:`atomic_path`: the writer fills a temporary file beside
the output, which is flushed to disk (``fsync``) and checked before it is renamed onto the output.
A failure (disk full, permission, name too long) removes the temporary file and becomes a
one-line :class:`~ifskit.errors.OutputError`. Temporary files are named
``.NAME.ifskit-tmp-HOST-PID-N.SUFFIX`` (HOST: 8 hex digits of a hash of the machine's name):
they are removed on ``SIGTERM``, and the next write into the same folder removes those left by a
process of this machine that no longer runs (``SIGKILL``, power loss).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import itertools
import os
import re
import signal
import socket
import threading
from pathlib import Path

from .errors import FormatError, OutputError

#: The mark in the name of every temporary file ifskit writes.
TEMP_MARK = ".ifskit-tmp-"
#: Longest file name most file systems accept, in bytes.
NAME_MAX = 255
# the temporary name keeps this much of the output's name, so that it stays under NAME_MAX
_TEMP_NAME_KEEP = 120
# the machine is in the name too: a folder shared between machines or containers (NFS, a
# volume) holds temporary files of processes that this machine cannot see
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]
_TEMP_PATTERN = re.compile(r"^\..*" + re.escape(TEMP_MARK) + r"([0-9a-f]{8})-(\d+)-")

# temporary files of this process that exist now, removed on SIGTERM: path -> creating pid
# (a forked child inherits the dict but must not remove its parent's files)
_live_temps: dict[str, int] = {}
_cleaned_folders: set[str] = set()
# numbers of this process's temporary files (next() of a count is atomic under the GIL)
_temp_numbers = itertools.count()
_lock = threading.Lock()


def check_output(path, overwrite: bool = False, suffixes=None) -> Path:
    """Check that ``path`` can be written, before any expensive work.

    Parameters
    ----------
    path : str or Path
    overwrite : bool
        Allow replacing an existing file (a symbolic link, even a dangling one, counts as one).
    suffixes : iterable of str, optional
        Allowed suffixes (lower case, with the dot).

    Raises
    ------
    OutputError
        Unknown suffix, missing folder, a folder at ``path``, a name too long, or an existing
        file without ``overwrite``.
    """
    path = Path(path)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        allowed = ", ".join(sorted(suffixes))
        raise OutputError(f"{path}: unknown output type {path.suffix or '(none)'!r}; use one of {allowed}")
    length = len(os.fsencode(path.name))
    if length > NAME_MAX:
        raise OutputError(f"{path.name[:40]}...: the file name is {length} bytes; the limit is {NAME_MAX}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{path}: the folder {str(parent)!r} does not exist")
    if path.is_dir():  # follows a link: a link to a folder is refused too, never emptied
        raise OutputError(f"{path}: is a folder, not a file")
    if os.path.lexists(path) and not overwrite:  # lexists: a dangling link is a file we would replace
        raise OutputError(f"{path}: exists already (use --overwrite / overwrite=True to replace it)")
    return path


def temp_path(path) -> Path:
    """Create an empty temporary file beside ``path``, with ifskit's recognisable name.

    The name keeps the output's suffix, for writers that choose a format by it. The file is
    registered for removal on ``SIGTERM``; :func:`atomic_path` removes it when done.

    Raises
    ------
    OutputError
        The folder cannot be written.
    """
    path = Path(path)
    clean_stale_temps(path.parent if str(path.parent) else Path("."))
    _install_sigterm_handler()
    fd, tmp = _open_temp(path)
    os.close(fd)
    return Path(tmp)


def _open_temp(path: Path) -> tuple[int, str]:
    """Create a new temporary file beside ``path``, open for writing: ``(fd, name)``, registered.

    Named ``.NAME.ifskit-tmp-HOST-PID-N.SUFFIX`` with a counter ``N`` of this process, created
    with ``O_EXCL`` (a name left by another process under the same number is skipped) and the
    usual permissions after the umask, as any output file.
    """
    folder = path.parent if str(path.parent) else Path(".")
    prefix = f".{path.name[:_TEMP_NAME_KEEP]}{TEMP_MARK}{_HOST}-{os.getpid()}-"
    while True:
        tmp = os.path.join(folder, f"{prefix}{next(_temp_numbers)}{path.suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            continue
        except OSError as exc:  # a folder we may not write in
            raise OutputError(f"{path}: cannot write: {exc.strerror}") from None
        with _lock:
            _live_temps[tmp] = os.getpid()
        return fd, tmp


def _write_all(fd: int, data) -> None:
    """Write every byte of ``data`` to ``fd``; a file system that takes nothing is a full disk."""
    view = memoryview(data)
    while view:
        count = os.write(fd, view)
        if count <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[count:]


def write_files(files: dict) -> None:
    """Write ``{path: bytes}`` atomically, with one flush to disk for all of them.

    For the many small files of a dataset, where an ``fsync`` each costs more than making them:
    each file goes to a temporary file beside it; all are flushed to disk by one ``sync``, their
    sizes checked, then each is renamed onto its path. A file that appeared meanwhile (another
    try of the same task: the same bytes) is kept. On any failure no temporary file is left.

    Raises
    ------
    OutputError
        The disk refused (full, permission): one line naming the file.
    """
    files = {Path(path): data for path, data in files.items()}
    for folder in {path.parent for path in files}:
        clean_stale_temps(folder if str(folder) else Path("."))
    _install_sigterm_handler()
    temps = {}
    try:
        for path, data in files.items():
            fd, temps[path] = _open_temp(path)
            try:
                _write_all(fd, data)
            except OSError as exc:
                raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
            finally:
                os.close(fd)
        if not temps:
            return
        os.sync()  # one flush for all: the data is on disk before any rename
        for path, tmp in list(temps.items()):
            if os.stat(tmp).st_size != len(files[path]):
                raise OutputError(f"{path}: cannot write: not every byte reached the disk (disk full?)")
            if not os.path.lexists(path):
                os.replace(tmp, path)
                with _lock:
                    _live_temps.pop(temps.pop(path), None)
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise OutputError(f"cannot write the samples: {exc.strerror or exc}") from None
    finally:
        for tmp in temps.values():  # not renamed: failed, or the output was there already
            _remove(tmp)


@contextlib.contextmanager
def atomic_path(path, overwrite: bool = False, *, allow_empty: bool = False):
    """Yield a temporary path beside ``path``; move it onto ``path`` if the block succeeds.

    Before the rename the temporary file is flushed to disk (``fsync``) and checked not to be
    empty (no ifskit output is), so a full disk is found here and not by the next reader.
    A failed write leaves neither a partial file nor a temporary one behind, and an operating
    system error (disk full, permission, name too long) becomes a one-line :class:`OutputError`.

    Parameters
    ----------
    path : str or Path
    overwrite : bool
        Replace an existing file.
    allow_empty : bool
        Accept an empty file as the output.
    """
    path = check_output(path, overwrite)
    tmp = temp_path(path)
    try:
        try:
            yield tmp
            sync_file(tmp, allow_empty=allow_empty, output=path)
            if not overwrite and os.path.lexists(path):  # appeared while we worked
                raise OutputError(f"{path}: exists already (use --overwrite / overwrite=True to replace it)")
            if os.path.isdir(path):
                raise OutputError(f"{path}: is a folder, not a file")
            os.replace(tmp, path)
        except OutputError:
            raise
        except OSError as exc:  # disk full, permission, quota: one line, never a traceback
            raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        _remove(str(tmp))


def sync_file(tmp, *, allow_empty: bool = False, output=None, size: int | None = None) -> int:
    """Flush ``tmp`` to disk and check its size; return the size in bytes.

    Parameters
    ----------
    tmp : str or Path
        The file written.
    allow_empty : bool
        Accept a file of 0 bytes.
    output : str or Path, optional
        The final name, for the message.
    size : int, optional
        The exact size expected.

    Raises
    ------
    OutputError
        ``fsync`` fails (a full disk often shows only here), or the size is wrong.
    """
    output = tmp if output is None else output
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
        written = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if size is not None and written != size:
        raise OutputError(f"{output}: cannot write: only {written} of {size} bytes reached the disk (disk full?)")
    if written == 0 and not allow_empty:
        raise OutputError(f"{output}: cannot write: the file came out empty (disk full?)")
    return written


def check_free_space(path, n_bytes: int) -> None:
    """Refuse to start a write of ``n_bytes`` that the file system of ``path`` has no room for.

    Some writers (open3d) print a line per failed write and report success on a full disk; a
    check before is a clean message, and the check after (:func:`sync_file`) stays the guard.

    Raises
    ------
    OutputError
        Less free space than ``n_bytes``.
    """
    folder = Path(path).parent if str(Path(path).parent) else Path(".")
    try:
        stats = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs (Windows), or a folder we cannot inspect
        return
    free = stats.f_bavail * stats.f_frsize
    if free < n_bytes:
        raise OutputError(f"{path}: cannot write: needs {n_bytes:,} bytes, the disk has {free:,} free")


def write_bytes(path, data: bytes, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically, checking every byte reached the disk.

    Raises
    ------
    OutputError
        Existing file, missing folder, disk full, permission: one line.
    """
    with atomic_path(path, overwrite, allow_empty=not data) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        sync_file(tmp, size=len(data), output=path, allow_empty=not data)
    return Path(path)


def write_text(path, text: str, overwrite: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; failures are one-line :class:`OutputError`."""
    return write_bytes(path, text.encode("utf-8"), overwrite)


def write_torch(path, obj, overwrite: bool = False) -> Path:
    """Save a torch object (``torch.save``) to ``path`` atomically and byte-reproducibly.

    ``torch.save`` to a file stores that file's name inside the archive, so two saves of the
    same object through different temporary files differ byte for byte; saved to memory first,
    the bytes depend only on the object, then :func:`write_bytes` checks them onto the disk.

    Parameters
    ----------
    path : str or Path
    obj : object
        Anything ``torch.save`` accepts (a state dict, a dict of tensors and plain values).
    overwrite : bool

    Raises
    ------
    OutputError
        Existing file, missing folder, disk full, permission: one line.
    """
    import torch  # optional and slow to import: only the callers that save models have it

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return write_bytes(path, buffer.getvalue(), overwrite)


def clean_stale_temps(folder) -> list[Path]:
    """Remove the temporary files in ``folder`` that a process of ours left and no longer writes.

    A temporary file is stale when its name carries :data:`TEMP_MARK` and this machine's mark, it
    belongs to this user, and the process id in its name does not run. Each folder is looked at once per process.

    Returns
    -------
    list of Path
        The files removed.
    """
    key = os.path.abspath(folder)
    with _lock:
        if key in _cleaned_folders:
            return []
        _cleaned_folders.add(key)
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_PATTERN.match(entry.name)
        if match is None or match.group(1) != _HOST:
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
        except OSError:
            continue
        if _process_runs(int(match.group(2))):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def _process_runs(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process runs under this number
        return True
    except (OverflowError, ValueError):  # no process can have this number
        return False
    return True


def _remove(tmp: str) -> None:
    with _lock:
        _live_temps.pop(tmp, None)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)


def _on_sigterm(signum, frame) -> None:
    """Remove this process's temporary files, then die of ``SIGTERM`` as without the handler."""
    pid = os.getpid()
    for tmp, owner in list(_live_temps.items()):
        if owner == pid:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(pid, signal.SIGTERM)


def _install_sigterm_handler() -> None:
    # only where the default would apply: an application's own handler is left alone, and
    # signal handlers can be set from the main thread only
    if threading.current_thread() is not threading.main_thread():
        return
    with contextlib.suppress(ValueError, OSError):
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)


def read_bytes(path, limit: int | None = None, what: str = "files") -> bytes:
    """Read a file, turning the usual failures into one-line :class:`FormatError`.

    Parameters
    ----------
    path : str or Path
    limit : int, optional
        Largest size accepted, in bytes, checked before reading (see :mod:`ifskit.limits`).
    what : str
        The kind of file, for the message about ``limit``.
    """

    path = Path(path)
    if not path.exists():
        raise FormatError("no such file", path)
    if path.is_dir():
        raise FormatError("is a folder, not a file", path)
    try:
        if limit is not None and path.stat().st_size > limit:
            raise FormatError(f"is {path.stat().st_size:,} bytes; ifskit reads {what} of at most {limit:,} bytes", path)
        return path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", path) from None


def read_text(path, limit: int | None = None, what: str = "files") -> str:
    """Read a text file, turning the usual failures into one-line :class:`FormatError`; ``limit`` as :func:`read_bytes`."""

    data = read_bytes(path, limit, what)
    if b"\0" in data:
        raise FormatError("binary data, not a text file", path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FormatError("not UTF-8 text (binary data?)", path, line) from None
