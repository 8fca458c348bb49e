"""Checked writes (:mod:`ifskit._io`): full disks, folders and links at the output, leftovers.

The full disk is real where we may mount a small tmpfs (root), and otherwise an ``ENOSPC`` from
the operating system simulated by replacing ``os.write`` / ``os.fsync``: nothing that ifskit
ships is replaced, only the system's answer.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from ifskit import _io
from ifskit._io import TEMP_MARK, atomic_path, check_output, clean_stale_temps, write_text
from ifskit.errors import OutputError
from ifskit.formats import load_points, save_points


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if TEMP_MARK in p.name)


@pytest.fixture
def full_disk(tmp_path):
    """A real 64 KiB file system (tmpfs), where mounting is permitted; skipped elsewhere."""
    folder = tmp_path / "full"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


# ---------------------------------------------------------------- full disk, simulated


def test_write_text_on_full_disk_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    real_write = os.write

    def short_write(fd, data):  # the disk fills after 10 bytes
        if len(data) > 10:
            return real_write(fd, bytes(data[:10]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", short_write)
    with pytest.raises(OutputError, match="No space left on device") as caught:
        write_text(tmp_path / "a.yaml", "x" * 1000)
    assert "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_failing_fsync_is_an_output_error(tmp_path, monkeypatch):
    def no_sync(fd):  # a full disk that shows only when the data is flushed
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_sync)
    for writer in (
        lambda: write_text(tmp_path / "a.yaml", "maps: []\n"),
        lambda: save_points(np.ones((5, 3)), tmp_path / "p.npy"),
    ):
        with pytest.raises(OutputError, match="No space left"):
            writer()
    assert list(tmp_path.iterdir()) == []


def test_a_writer_that_leaves_an_empty_file_is_refused(tmp_path):
    with pytest.raises(OutputError, match="empty"), atomic_path(tmp_path / "a.png"):
        pass  # the writer wrote nothing and said nothing
    assert list(tmp_path.iterdir()) == []


def test_permission_error_at_rename_is_one_line(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OutputError, match="Permission denied"):
        write_text(tmp_path / "a.yaml", "text\n")
    assert list(tmp_path.iterdir()) == []


def test_name_too_long_is_refused_before_work(tmp_path):
    with pytest.raises(OutputError, match="the limit is 255"):
        write_text(tmp_path / ("a" * 300 + ".yaml"), "text\n")


def test_long_but_valid_name_gets_a_temporary_name_that_fits(tmp_path):
    name = "b" * 250 + ".yaml"
    write_text(tmp_path / name, "text\n")
    assert (tmp_path / name).read_text() == "text\n"


# ---------------------------------------------------------------- full disk, real (tmpfs)


@pytest.mark.parametrize("suffix", [".ply", ".pcd", ".npy", ".csv", ".xyz"])
@pytest.mark.parametrize("space", ["told", "hidden"])
def test_point_cloud_on_a_full_disk_is_never_reported_written(full_disk, suffix, space, monkeypatch):
    if space == "hidden":  # the system claims room (as a disk filled meanwhile would): the check after must catch it
        monkeypatch.setattr(os, "statvfs", lambda p: SimpleNamespace(f_bavail=2**30, f_frsize=4096))
    points = np.random.default_rng(0).random((20_000, 3))
    with pytest.raises(OutputError, match="cannot write") as caught:
        save_points(points, full_disk / f"cloud{suffix}")
    if space == "told" and suffix in (".ply", ".pcd", ".npy"):  # refused before writing: no open3d noise
        assert "the disk has" in str(caught.value)
    assert list(full_disk.iterdir()) == []


def test_render_ply_on_a_full_disk_exits_2(full_disk):
    done = subprocess.run(
        [sys.executable, "-m", "ifskit.cli", "render", "sierpinski_tetrahedron", "-o", "p.ply", "--points", "20000"],
        cwd=full_disk,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("ifskit:")]
    assert len(errors) == 1 and "cannot write" in errors[0]
    assert "Traceback" not in done.stderr and "wrote" not in done.stdout
    assert list(full_disk.iterdir()) == []


def test_small_file_on_the_small_disk_is_whole(full_disk):
    points = np.arange(30.0).reshape(10, 3)
    save_points(points, full_disk / "small.ply")
    np.testing.assert_array_equal(load_points(full_disk / "small.ply"), points)


# ---------------------------------------------------------------- what is at the output path


def test_a_folder_at_the_output_is_refused_and_never_emptied(tmp_path):
    folder = tmp_path / "movie.gif"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    for overwrite in (False, True):
        with pytest.raises(OutputError, match="is a folder"):
            write_text(folder, "x\n", overwrite=overwrite)
    assert (folder / "keep.txt").read_text() == "mine"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("dangling", [True, False])
def test_a_symlink_at_the_output_counts_as_an_existing_file(tmp_path, dangling):
    target = tmp_path / "target.yaml"
    if not dangling:
        target.write_text("theirs\n")
    link = tmp_path / "out.yaml"
    link.symlink_to(target)
    with pytest.raises(OutputError, match="exists already"):
        check_output(link)  # before any work is done
    with pytest.raises(OutputError, match="exists already"):
        write_text(link, "mine\n")
    assert link.is_symlink()
    write_text(link, "mine\n", overwrite=True)
    assert not link.is_symlink() and link.read_text() == "mine\n"
    if not dangling:  # the link is replaced, not written through
        assert target.read_text() == "theirs\n"


# ---------------------------------------------------------------- temporary files


def test_temporary_files_carry_a_recognisable_name(tmp_path):
    with atomic_path(tmp_path / "out.ply") as tmp:
        assert tmp.name.startswith(f".out.ply{TEMP_MARK}{_io._HOST}-{os.getpid()}-")
        assert tmp.suffix == ".ply"  # writers choose the format by it
        tmp.write_bytes(b"x")
    assert leftovers(tmp_path) == []


def test_stale_temporary_files_of_dead_processes_are_cleaned_by_the_next_write(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    host = _io._HOST
    stale = tmp_path / f".a.ply{TEMP_MARK}{host}-{dead_pid}-xyz.ply"
    alive = tmp_path / f".b.ply{TEMP_MARK}{host}-{os.getppid()}-xyz.ply"
    elsewhere = tmp_path / f".b.ply{TEMP_MARK}{'0' * 8 if host != '0' * 8 else '1' * 8}-{dead_pid}-xyz.ply"
    other = tmp_path / ".not-ours.tmp"
    for path in (stale, alive, elsewhere, other):
        path.write_bytes(b"partial")
    write_text(tmp_path / "c.yaml", "text\n")
    assert not stale.exists()
    assert alive.exists() and elsewhere.exists() and other.exists()


def test_stale_cleaning_looks_at_a_folder_once(tmp_path):
    assert clean_stale_temps(tmp_path) == []
    late = tmp_path / f".a.ply{TEMP_MARK}{_io._HOST}-999999999-xyz.ply"
    late.write_bytes(b"x")
    assert clean_stale_temps(tmp_path) == []  # cached: a dataset of many files scans once
    _io._cleaned_folders.discard(os.path.abspath(tmp_path))
    assert clean_stale_temps(tmp_path) == [late]


def _writer_in_a_subprocess(tmp_path):
    """A process inside ``atomic_path`` (its temporary file written, not yet renamed), and that file."""
    script = textwrap.dedent(
        f"""
        import time
        from ifskit._io import atomic_path
        with atomic_path({str(tmp_path / "big.npy")!r}) as tmp:
            tmp.write_bytes(b"partial data")
            print(tmp, flush=True)
            time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    tmp = Path(proc.stdout.readline().strip())
    return proc, tmp


def test_sigterm_removes_the_temporary_file(tmp_path):
    proc, tmp = _writer_in_a_subprocess(tmp_path)
    assert tmp.exists()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM  # still dies of the signal, as without ifskit
    assert not tmp.exists()
    assert list(tmp_path.iterdir()) == []


def test_the_temporary_file_of_a_killed_process_is_cleaned_by_the_next_write(tmp_path):
    proc, tmp = _writer_in_a_subprocess(tmp_path)
    proc.kill()  # SIGKILL: nothing of the process runs any more, its file stays
    proc.wait(timeout=30)
    assert tmp.exists()
    write_text(tmp_path / "next.yaml", "text\n")
    assert not tmp.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["next.yaml"]
