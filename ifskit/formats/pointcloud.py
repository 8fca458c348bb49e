"""Point clouds in and out: ``.ply``, ``.pcd`` (open3d), ``.xyz`` (written by open3d, read here), ``.npy``, ``.csv``/``.txt`` (numpy).

2D clouds are stored with z = 0 in the 3D formats and read back as 2D when every z is 0.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .._io import atomic_path, check_free_space
from ..errors import FormatError, OutputError
from ..limits import MAX_POINTS, MAX_TEXT_FILE_BYTES, check_count, check_file_size
from .cloudcheck import CHECKS, check_records, check_written

#: Suffixes read and written through open3d.
OPEN3D_SUFFIXES = {".ply", ".pcd", ".xyz"}
#: All point-cloud suffixes.
POINT_SUFFIXES = OPEN3D_SUFFIXES | {".npy", ".csv", ".txt"}


def save_points(points, path, overwrite: bool = False) -> Path:
    """Write a point cloud atomically; the format follows the suffix.

    Parameters
    ----------
    points : array_like, shape (n, 2) or (n, 3)
    path : str or Path
        ``.ply``/``.pcd``/``.xyz`` (open3d; 2D gets z = 0), ``.npy``, ``.csv``/``.txt``.
    """
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] not in (2, 3):
        raise FormatError(f"points must have shape (n, 2) or (n, 3), got {points.shape}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in POINT_SUFFIXES:
        raise FormatError(
            f"{path}: unknown point-cloud type {suffix!r}; use one of {', '.join(sorted(POINT_SUFFIXES))}"
        )
    # the binary formats' exact sizes (8-byte floats; PCD 4-byte) and a header
    per_point = {".npy": 8 * points.shape[1], ".ply": 24, ".pcd": 12}.get(suffix, 0)
    check_free_space(path, len(points) * per_point)
    with atomic_path(path, overwrite) as tmp:
        if suffix == ".npy":
            with open(tmp, "wb") as fh:
                np.save(fh, points)
        elif suffix in (".csv", ".txt"):
            header = "x,y" if points.shape[1] == 2 else "x,y,z"
            np.savetxt(tmp, points, delimiter=",", header=header, comments="", fmt="%.17g")
        else:
            o3d = _open3d()
            xyz = points if points.shape[1] == 3 else np.column_stack([points, np.zeros(len(points))])
            cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(xyz))
            if not o3d.io.write_point_cloud(str(tmp), cloud, write_ascii=False):
                raise OutputError(f"{path}: cannot write: open3d could not write the point cloud (disk full?)")
        # open3d reports success on a full disk: read the header back and check the size
        check_written(tmp, len(points), path)
    return path


def load_points(path) -> np.ndarray:
    """Read a point cloud; shape (n, 2) when every z is 0 (or the file has two columns), else (n, 3).

    The header is checked by ifskit before anything is allocated or open3d sees the file
    (:mod:`ifskit.formats.cloudcheck`): declared sizes against :mod:`ifskit.limits` and against
    the size of the file.

    Raises
    ------
    FormatError
        A missing, malformed, truncated or oversized file, naming the file (and line).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in POINT_SUFFIXES:
        raise FormatError(f"unknown point-cloud type {suffix!r}; use one of {', '.join(sorted(POINT_SUFFIXES))}", path)
    if not path.is_file():
        raise FormatError("no such file", path)
    if suffix in CHECKS:
        CHECKS[suffix](path)
    try:
        if suffix == ".npy":
            points = np.load(path, allow_pickle=False)
        elif suffix in (".csv", ".txt"):
            points = _load_table(path)
        elif suffix == ".xyz":
            points = _load_xyz(path)
        else:
            points = np.asarray(_open3d().io.read_point_cloud(str(path)).points)
    except FormatError:
        raise
    except (ValueError, OSError) as exc:
        raise FormatError(f"cannot read the point cloud: {exc}", path) from None
    points = np.asarray(points, dtype=float)
    if points.size == 0:
        raise FormatError("holds no points", path)
    if points.ndim != 2 or points.shape[1] not in (2, 3):
        raise FormatError(f"expected n points of 2 or 3 coordinates, got shape {points.shape}", path)
    if not np.all(np.isfinite(points)):
        raise FormatError("the point cloud contains NaN or infinite values", path)
    if points.shape[1] == 3 and not np.any(points[:, 2]):
        points = points[:, :2]
    return points


def _load_table(path: Path) -> np.ndarray:
    """A numeric table, comma or white-space separated, with or without a header line."""
    check_file_size(path.stat().st_size, MAX_TEXT_FILE_BYTES, "text point clouds", path)
    text = path.read_text(encoding="utf-8")
    check_count(text.count("\n"), MAX_POINTS, "lines", path)
    delimiter = "," if "," in text else None
    try:
        return np.loadtxt(path, delimiter=delimiter, ndmin=2)
    except ValueError:
        return np.loadtxt(path, delimiter=delimiter, skiprows=1, ndmin=2)


def _load_xyz(path: Path) -> np.ndarray:
    """A ``.xyz`` cloud: 2 or 3 numbers a line, white-space separated, ``#`` comments.

    Read here, not by open3d, whose reader skips a line it cannot read (text, two numbers)
    and drops a fourth number without a word: a cloud that loses points must be an error.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # numpy's "empty input file": the caller says so
        try:
            return np.loadtxt(path, ndmin=2)
        except ValueError:
            pass
    # the fast reader failed: find the first line at fault, for a message that names it
    with open(path, encoding="utf-8", errors="replace") as lines:
        check_records(path, lines, 1, comment="#")
    raise FormatError("cannot read the point cloud", path)


def _open3d():
    try:
        import open3d
    except ImportError:
        raise FormatError("reading and writing .ply/.pcd/.xyz needs open3d: pip install 'ifskit[all]'") from None
    return open3d
