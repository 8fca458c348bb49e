"""Reads that validate before they allocate (:mod:`ifskit.limits`, :mod:`ifskit.formats.cloudcheck`).

Hostile or damaged files: headers that crash open3d, truncated clouds, declared sizes far beyond
the file, pickles and strings in ``.npy``, deep nesting and huge numbers in YAML and JSON, image
bombs. Each is one :class:`~ifskit.errors.FormatError` naming the file, never a crash. The cases
that would kill the test process if the check were missing run the real command in a subprocess.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ifskit
from ifskit.errors import FormatError
from ifskit.formats import load_points, parse_json, parse_yaml
from ifskit.formats.cloudcheck import check_pcd, check_ply
from ifskit.image.imagefile import read_image
from ifskit.limits import MAX_NESTING, MAX_PIXELS, MAX_POINTS

PLY_HEAD = "ply\nformat {fmt} 1.0\nelement vertex {n}\nproperty {t} x\nproperty {t} y\nproperty {t} z\nend_header\n"


def ply(n: int, data: bytes = b"", fmt: str = "binary_little_endian", t: str = "double", extra: str = "") -> bytes:
    return PLY_HEAD.format(fmt=fmt, n=n, t=t).replace("end_header", extra + "end_header").encode() + data


def ifskit_cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ifskit.cli", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def one_line_error(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ifskit: error:"), done.stderr
    for word in words:
        assert word in lines[0]


# ---------------------------------------------------------------- PLY / PCD / XYZ


def test_ply_header_line_that_aborts_open3d_is_refused(tmp_path):
    data = ply(1, np.zeros(3).tobytes(), extra="comment " + "x" * 1100 + "\n")
    (tmp_path / "long.ply").write_bytes(data)
    one_line_error(ifskit_cli("dimension", "long.ply", cwd=tmp_path), "long.ply:7:", "header line")


def test_xyz_line_too_long_is_refused(tmp_path):
    (tmp_path / "long.xyz").write_text("1 2 3\n" + "1 " * 2000 + "\n")
    one_line_error(ifskit_cli("dimension", "long.xyz", cwd=tmp_path), "long.xyz:2:")


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("1 2 3\n4 5 6\nfoo bar baz\n7 8 9\n", 3, "not a number"),
        ("1 2 3\n4 5 6\n7 8\n", 3, "2 values where the lines before have 3"),
        ("1 2 3\n# a comment\n4 5 6 7\n", 3, "4 values where the lines before have 3"),
    ],
)
def test_xyz_line_that_is_not_a_point_is_an_error_not_skipped(tmp_path, text, where, words):
    """open3d's reader skips such a line, or drops a fourth number, without a word: points lost."""
    path = tmp_path / "bad.xyz"
    path.write_text(text)
    with pytest.raises(FormatError, match=words) as caught:
        load_points(path)
    assert caught.value.line == where and caught.value.path == str(path)


def test_xyz_of_two_columns_is_a_2d_cloud(tmp_path):
    points = np.random.default_rng(0).uniform(size=(50, 2))
    np.savetxt(tmp_path / "flat.xyz", points)
    np.testing.assert_allclose(load_points(tmp_path / "flat.xyz"), points)
    (tmp_path / "empty.xyz").write_text("")
    with pytest.raises(FormatError, match="holds no points"):
        load_points(tmp_path / "empty.xyz")


@pytest.mark.parametrize("cut", [1, 8, 100])
def test_truncated_binary_ply_is_refused_not_filled_with_zeros(tmp_path, cut):
    path = tmp_path / "t.ply"
    path.write_bytes(ply(10, np.ones(30).tobytes())[:-cut])
    with pytest.raises(FormatError, match="truncated"):
        load_points(path)


def test_truncated_ascii_ply_is_refused(tmp_path):
    body = "".join(f"{i} {i} {i}\n" for i in range(1, 11))
    (tmp_path / "lines.ply").write_bytes(ply(10, body.encode()[:-20], fmt="ascii"))
    (tmp_path / "cut.ply").write_bytes(ply(10, body.encode()[:-3], fmt="ascii"))
    for name in ("lines.ply", "cut.ply"):
        with pytest.raises(FormatError, match="truncated"):
            load_points(tmp_path / name)


def test_ascii_ply_that_is_whole_still_reads(tmp_path):
    body = "".join(f"{i} {i} {i}\n" for i in range(1, 11))
    (tmp_path / "ok.ply").write_bytes(ply(10, body.encode(), fmt="ascii"))
    assert load_points(tmp_path / "ok.ply").shape == (10, 3)


PCD_HEAD = (
    "# .PCD v0.7\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\n"
    "WIDTH 4\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS 4\nDATA ascii\n"
)


@pytest.mark.parametrize("suffix", [".ply", ".pcd"])
@pytest.mark.parametrize(
    ("record", "message"),
    [("foo bar baz", "not a number in 'foo bar baz'"), ("7 8", "2 values where the header declares 3")],
)
def test_ascii_record_that_is_not_a_point_is_refused_not_read_as_garbage(tmp_path, suffix, record, message):
    """open3d reads a word as 0 or as the memory that was there (1e-312), a short line into the next point."""
    body = f"1 2 3\n4 5 6\n{record}\n7 8 9\n"
    head = ply(4, fmt="ascii").decode() if suffix == ".ply" else PCD_HEAD
    path = tmp_path / f"bad{suffix}"
    path.write_text(head + body)
    with pytest.raises(FormatError, match=message) as caught:
        load_points(path)
    assert caught.value.line == head.count("\n") + 3


def test_ascii_ply_with_faces_after_the_vertices_reads(tmp_path):
    body = "0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n"
    head = ply(3, fmt="ascii", extra="element face 1\nproperty list uchar int vertex_indices\n").decode()
    (tmp_path / "mesh.ply").write_text(head + body)
    np.testing.assert_array_equal(load_points(tmp_path / "mesh.ply"), [[0, 0], [1, 0], [0, 1]])


def test_ply_declaring_billions_of_vertices_is_refused_before_allocating(tmp_path):
    (tmp_path / "bomb.ply").write_bytes(ply(2 * 10**9, b"\0" * 1000))
    with pytest.raises(FormatError, match=f"at most {MAX_POINTS:,}"):
        load_points(tmp_path / "bomb.ply")
    (tmp_path / "lie.ply").write_bytes(ply(MAX_POINTS, b"\0" * 1000))
    with pytest.raises(FormatError, match="truncated"):
        check_ply(tmp_path / "lie.ply")


@pytest.mark.parametrize("bad", ["property quad x\n", "property list uchar x\n", "element face\n", "frobnicate\n"])
def test_ply_with_unknown_header_lines_is_refused(tmp_path, bad):
    (tmp_path / "bad.ply").write_bytes(ply(1, np.zeros(3).tobytes(), extra=bad))
    with pytest.raises(FormatError, match=r"bad\.ply:\d+:"):
        load_points(tmp_path / "bad.ply")


def pcd(points: int, data: bytes, kind: str = "binary") -> bytes:
    head = (
        "# .PCD v0.7\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\n"
        f"WIDTH {points}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {points}\nDATA {kind}\n"
    )
    return head.encode() + data


def test_truncated_and_oversized_pcd_are_refused(tmp_path):
    (tmp_path / "cut.pcd").write_bytes(pcd(10, np.ones(30, np.float32).tobytes()[:-4]))
    with pytest.raises(FormatError, match="truncated"):
        load_points(tmp_path / "cut.pcd")
    (tmp_path / "bomb.pcd").write_bytes(pcd(10**12, b"\0" * 100))
    with pytest.raises(FormatError, match="at most"):
        check_pcd(tmp_path / "bomb.pcd")
    (tmp_path / "ok.pcd").write_bytes(pcd(10, np.arange(1, 31, dtype=np.float32).tobytes()))
    assert load_points(tmp_path / "ok.pcd").shape == (10, 3)


# ---------------------------------------------------------------- NPY


def npy_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "array, words",
    [
        (np.array([["a", "b"], ["c", "d"]]), "plain numbers"),
        (np.zeros(3, dtype=[("x", "f8"), ("y", "f8")]), "plain numbers"),
        (np.array([[object(), 1]], dtype=object), "plain numbers"),
        (np.zeros((4, 3), dtype=complex), "plain numbers"),
        (np.zeros((2, 2, 3)), "shape"),
    ],
)
def test_npy_of_anything_but_plain_numbers_is_refused(tmp_path, array, words):
    (tmp_path / "x.npy").write_bytes(npy_bytes(array))
    with pytest.raises(FormatError, match=words):
        load_points(tmp_path / "x.npy")


def test_renamed_npz_and_corrupt_headers_are_refused(tmp_path):
    np.savez(tmp_path / "a.npz", a=np.ones((3, 3)))
    (tmp_path / "a.npz").rename(tmp_path / "a.npy")
    with pytest.raises(FormatError, match="npz"):
        load_points(tmp_path / "a.npy")
    good = npy_bytes(np.ones((3, 3)))
    for i, bad in enumerate([good[:20], good.replace(b"'descr'", b"'dscr' "), b"\x93NUMPY\x01\x00\xff\xff{}"]):
        (tmp_path / f"c{i}.npy").write_bytes(bad)
        with pytest.raises(FormatError, match=f"c{i}.npy"):
            load_points(tmp_path / f"c{i}.npy")


def test_npy_declaring_a_trillion_rows_is_refused_before_allocating(tmp_path):
    header = npy_bytes(np.ones((1, 3)))
    (tmp_path / "bomb.npy").write_bytes(header.replace(b"(1, 3)", b"(1000000000000, 3)".ljust(6)))
    with pytest.raises(FormatError, match="at most"):
        load_points(tmp_path / "bomb.npy")
    (tmp_path / "short.npy").write_bytes(npy_bytes(np.ones((100, 3)))[:-8])
    with pytest.raises(FormatError, match="truncated"):
        load_points(tmp_path / "short.npy")


# ---------------------------------------------------------------- YAML / JSON


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 1000, 100_000])
def test_deeply_nested_yaml_and_json_are_one_line(depth):
    with pytest.raises(FormatError, match="nested"):
        parse_yaml("maps:\n  - " + "[" * depth + "]" * depth, "deep.yaml")
    with pytest.raises(FormatError, match=r"deep\.json:1: nested"):
        parse_json('{"maps": ' + "[" * depth + "]" * depth + "}", "deep.json")


def test_json_brackets_inside_strings_do_not_count_as_nesting():
    text = '{"name": "' + "[" * 100 + '", "maps": [{"A": [[0.5, 0], [0, 0.5]], "b": [0, 0]}]}'
    assert parse_json(text).name == "[" * 100


@pytest.mark.parametrize("number", ["1e309", "-1e400", "NaN", "Infinity", "9" * 5000, "1e300"])
def test_json_numbers_beyond_range_name_file_and_line(number):
    text = '{"maps": [\n {"A": [[0.5, 0], [0, 0.5]],\n  "b": [0, ' + number + "]}]}"
    with pytest.raises(FormatError, match=r"n\.json:3: ") as caught:
        parse_json(text, "n.json")
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 200


@pytest.mark.parametrize("number", ["1e308", "1e10", ".inf"])
def test_yaml_coefficients_beyond_range_name_the_line(number):
    with pytest.raises(FormatError, match=r"c\.yaml:3: "):
        parse_yaml(f"maps:\n  - [0.5, 0, 0, 0.5, 0, 0]\n  - [0.5, 0, 0, 0.5, {number}, 0]\n", "c.yaml")


def test_info_json_never_prints_infinity(tmp_path):
    (tmp_path / "huge.yaml").write_text("maps:\n  - {A: [[0.5, 0], [0, 0.5]], b: [1e308, 0]}\n")
    done = ifskit_cli("info", "huge.yaml", "--json", cwd=tmp_path)
    one_line_error(done, "huge.yaml:2:")
    assert "Infinity" not in done.stdout and "NaN" not in done.stdout


def test_ifs_file_over_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(ifskit.io, "MAX_IFS_FILE_BYTES", 100)
    (tmp_path / "big.yaml").write_text("maps:\n" + "  - [0.5, 0, 0, 0.5, 0, 0]\n" * 10)
    with pytest.raises(FormatError, match="at most 100 bytes"):
        ifskit.load(tmp_path / "big.yaml")


# ---------------------------------------------------------------- images


def test_image_over_the_pixel_limit_is_one_line(tmp_path):
    side = int(MAX_PIXELS**0.5) + 10
    Image.new("1", (side, side)).save(tmp_path / "big.png")
    with pytest.raises(FormatError, match="at most"):
        read_image(tmp_path / "big.png")


def test_image_over_pillows_bomb_limit_is_one_line(tmp_path):
    # a PNG header that declares 30000 x 30000 pixels: Pillow refuses it in open()
    Image.new("1", (30000, 7000)).save(tmp_path / "bomb.png")
    data = bytearray((tmp_path / "bomb.png").read_bytes())
    data[16:24] = (30000).to_bytes(4, "big") + (30000).to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")  # a valid IHDR chunk
    (tmp_path / "bomb.png").write_bytes(bytes(data))
    with pytest.raises(FormatError, match="bomb.png: declares more pixels than Pillow decodes"):
        read_image(tmp_path / "bomb.png")
