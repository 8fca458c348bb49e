"""Fuzzing the readers and the command line with Hypothesis (issue 22).

Every generated file must either load (and then hold finite numbers of the right shape) or raise
an :class:`~ifskit.errors.IfskitError`; the command line must exit 0 or 2 with one error line.
Anything else (another exception, a native crash that kills the test process, a traceback) is a
finding, which becomes a regression test at the bottom of this file.

The strategies: YAML and JSON built from random trees (unicode, huge and non-finite numbers, deep
nesting) and mutated from valid files; Fractint ``.ifs`` text mutated; ``.npy`` with random
dtypes, declared shapes and truncations; PLY (binary and ASCII) with random header edits,
declared counts, bit flips and truncations; PCD and PNG mutated, PNG headers declaring huge sizes;
``.fic`` codes mutated (with their checksum recomputed, so the parser sees the damage) or declaring
huge images; the command's ``main()`` in-process on generated PLY, ``.npy`` and YAML files.

The examples are derived from a fixed seed (``derandomize``): the same ones on every run, under
a minute in all on one core. The longer run, to look for new findings (documented here, not in
CI): ``IFSKIT_FUZZ_SCALE=20 IFSKIT_FUZZ_SEED=1 pytest tests/test_fuzz.py`` runs 20 times as many
examples from another seed (about 5 minutes); change the seed for other examples.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import struct
import tempfile
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import ifskit  # noqa: E402
from ifskit.cli import main  # noqa: E402
from ifskit.errors import IfskitError, IfskitWarning  # noqa: E402
from ifskit.formats import load_points, parse_fractint, parse_json, parse_yaml  # noqa: E402
from ifskit.image import compress_image  # noqa: E402
from ifskit.image.files import load_code  # noqa: E402
from ifskit.image.imagefile import read_image  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")  # reprs of big examples

SCALE = float(os.environ.get("IFSKIT_FUZZ_SCALE", "1"))
SEED = int(os.environ.get("IFSKIT_FUZZ_SEED", "0"))


def fuzz(examples: int):
    """Settings of one fuzz test: ``examples`` (times ``IFSKIT_FUZZ_SCALE``), a fixed seed, no deadline."""

    def decorate(test):
        test = settings(
            max_examples=max(1, int(examples * SCALE)),
            derandomize=SEED == 0,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        )(test)
        return seed(SEED)(test) if SEED else test

    return decorate


# ---------------------------------------------------------------- strategies

SIERPINSKI_YAML = "name: s\nmaps:\n  - [0.5, 0, 0, 0.5, 0, 0]\n  - {A: [[0.5, 0], [0, 0.5]], b: [0.5, 0], p: 0.3}\n  - {scale: 0.5, rotate: 10, translate: [0.25, 0.5], p: 0.3}\n"
SIERPINSKI_JSON = json.dumps(
    {
        "name": "s",
        "maps": [{"A": [[0.5, 0], [0, 0.5]], "b": [x, y], "p": 0.3} for x, y in ((0, 0), (0.5, 0), (0.25, 0.5))],
    }
)
FRACTINT = "tri {\n 0.5 0 0 0.5 0 0 .33\n 0.5 0 0 0.5 0.5 0 .33\n 0.5 0 0 0.5 .25 .5 .34\n}\nfern3d (3D) {\n" + (
    " .5 0 0 0 .5 0 0 0 .5 0 0 0 .5\n .5 0 0 0 .5 0 0 0 .5 .5 .5 .5 .5\n}\n"
)

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(1, 10**6).map(lambda n: 10**400 + n),
    st.sampled_from([0.5, 1e308, 1e309, -1e-320, 2**64, 0]),
)
scalars = st.one_of(numbers, st.text(max_size=20), st.booleans(), st.none())
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(
            st.sampled_from(["maps", "A", "b", "p", "name", "color", "scale", "rotate", "translate", "x"]),
            children,
            max_size=5,
        ),
    ),
    max_leaves=40,
)
ifs_like = st.fixed_dictionaries(
    {
        "maps": st.lists(
            st.fixed_dictionaries(
                {
                    "A": st.lists(st.lists(numbers, min_size=2, max_size=3), min_size=2, max_size=3),
                    "b": st.lists(numbers, min_size=2, max_size=3),
                }
            ),
            min_size=1,
            max_size=4,
        )
    }
)


@st.composite
def mutated(draw, base: bytes):
    """``base`` truncated, with bits flipped, bytes inserted or a piece repeated."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["cut", "flip", "insert", "repeat", "unicode"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if kind == "cut":
            del data[at:]
        elif kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "repeat":
            data[at:at] = bytes(data[at : at + draw(st.integers(1, 20))]) * draw(st.integers(1, 50))
        else:
            data[at:at] = draw(st.text(min_size=1, max_size=5)).encode("utf-8")
    return bytes(data)


@st.composite
def nested(draw):
    """Text nested ``depth`` deep in brackets or YAML block lists."""
    depth = draw(st.integers(1, 3000))
    style = draw(st.sampled_from(["flow", "block", "json"]))
    if style == "block":
        return "maps:\n" + "".join("  " * (i + 1) + "-\n" for i in range(min(depth, 400))) + "  " * 401 + "1\n"
    inner = "[" * depth + "]" * depth
    return "maps: " + inner if style == "flow" else '{"maps": ' + inner + "}"


def ply_bytes(points: np.ndarray, fmt: str, comment: str = "", dtype: str = "double") -> bytes:
    head = (
        f"ply\nformat {fmt} 1.0\n{comment}element vertex {len(points)}\n"
        + "".join(f"property {dtype} {c}\n" for c in "xyz")
        + "end_header\n"
    )
    if fmt == "ascii":
        body = "".join(" ".join(repr(float(v)) for v in row) + "\n" for row in points).encode()
    else:
        body = points.astype("<f8" if dtype == "double" else "<f4").tobytes()
    return head.encode() + body


@st.composite
def ply_files(draw):
    n = draw(st.integers(1, 20))
    points = np.random.default_rng(n).random((n, 3)) + 1
    fmt = draw(st.sampled_from(["binary_little_endian", "ascii", "binary_big_endian"]))
    comment = draw(
        st.sampled_from(
            ["", "comment hi\n", "comment " + "x" * draw(st.integers(900, 3000)) + "\n", "obj_info \u00e9\n"]
        )
    )
    data = ply_bytes(points, fmt, comment, draw(st.sampled_from(["double", "float"])))
    edit = draw(st.sampled_from(["none", "count", "type", "mutate"]))
    if edit == "count":
        count = draw(
            st.one_of(st.integers(0, 40), st.integers(2**31 - 5, 2**33), st.sampled_from([-1, 10**12, 10**30]))
        )
        data = data.replace(f"element vertex {n}\n".encode(), f"element vertex {count}\n".encode())
    elif edit == "type":
        new = draw(st.sampled_from(["quad", "list uchar int", "uint8", "char", "", "double double"]))
        data = data.replace(b"property double y", f"property {new} y".encode(), 1).replace(
            b"property float y", f"property {new} y".encode(), 1
        )
    elif edit == "mutate":
        data = draw(mutated(data))
    return data


@st.composite
def npy_files(draw):
    dtype = draw(
        st.sampled_from(
            [
                "<f8",
                "<f4",
                ">f8",
                "<i4",
                "|u1",
                "|b1",
                "<c16",
                "<U3",
                "|S4",
                "|O",
                "|V8",
                "<M8[s]",
                "<f2",
                "[('x', '<f8'), ('y', '<f8')]",
            ]
        )
    )
    shape = draw(
        st.one_of(
            st.tuples(st.integers(0, 30), st.integers(0, 4)),
            st.tuples(st.integers(0, 10**13), st.sampled_from([2, 3])),
            st.tuples(st.integers(0, 5)),
            st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)),
        )
    )
    fortran = draw(st.booleans())
    descr = dtype if dtype.startswith("[") else repr(dtype)
    header = f"{{'descr': {descr}, 'fortran_order': {fortran}, 'shape': {shape!r}, }}"
    header = header.ljust(((len(header) + 11) // 64 + 1) * 64 - 11) + "\n"
    body = draw(st.binary(max_size=400))
    version = draw(st.sampled_from([b"\x01\x00", b"\x02\x00", b"\x03\x00"]))
    size = len(header).to_bytes(2 if version == b"\x01\x00" else 4, "little")
    data = b"\x93NUMPY" + version + size + header.encode() + body
    if draw(st.booleans()):
        data = draw(mutated(data))
    return data


def valid_npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.random.default_rng(0).random((10, 3)))
    return buffer.getvalue()


# ---------------------------------------------------------------- properties


def loads_or_refuses(load, *args):
    """Run a reader: it returns a sane value or raises an IfskitError, nothing else."""
    try:
        with warnings.catch_warnings():  # what ifskit fixed for the user (renormalized p) is fine
            warnings.simplefilter("ignore", IfskitWarning)
            value = load(*args)
    except IfskitError as error:
        assert "\n" not in str(error), repr(str(error))
        return None
    return value


def parse_yaml_ifs(text: str, path: str):
    return parse_yaml(text, path)[0]


def check_ifs(ifs) -> None:
    if ifs is not None:
        assert np.all(np.isfinite(ifs.A)) and np.all(np.isfinite(ifs.b)) and np.all(np.isfinite(ifs.p))


def check_points(points) -> None:
    if points is not None:
        assert points.ndim == 2 and points.shape[1] in (2, 3) and np.all(np.isfinite(points))


def in_temp(name: str, data: bytes, reader):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return reader(path)


@fuzz(300)
@given(
    st.one_of(trees, ifs_like).map(lambda t: yaml.safe_dump(t, allow_unicode=True)), st.sampled_from([".yaml", ".json"])
)
def test_fuzz_trees_as_yaml(text, suffix):
    check_ifs(loads_or_refuses(parse_yaml_ifs if suffix == ".yaml" else parse_json, text, f"f{suffix}"))


@fuzz(300)
@given(st.one_of(trees, ifs_like).map(lambda t: json.dumps(t, allow_nan=True)))
def test_fuzz_trees_as_json(text):
    check_ifs(loads_or_refuses(parse_json, text, "f.json"))
    check_ifs(loads_or_refuses(parse_yaml_ifs, text, "f.yaml"))


@fuzz(80)
@given(nested())
def test_fuzz_deep_nesting(text):
    loads_or_refuses(parse_yaml, text, "deep.yaml")
    loads_or_refuses(parse_json, text, "deep.json")


@fuzz(400)
@given(
    st.one_of(mutated(SIERPINSKI_YAML.encode()), mutated(SIERPINSKI_JSON.encode()), mutated(FRACTINT.encode())),
    st.sampled_from([".yaml", ".json", ".ifs"]),
)
def test_fuzz_mutated_ifs_files_through_load(data, suffix):
    def load(path):
        value = ifskit.load(path) if suffix != ".ifs" else parse_fractint(path.read_text("utf-8", "replace"), str(path))
        return value if suffix != ".ifs" else None

    check_ifs(in_temp(f"f{suffix}", data, lambda p: loads_or_refuses(load, p)))


@fuzz(400)
@given(npy_files())
def test_fuzz_npy(data):
    check_points(in_temp("f.npy", data, lambda p: loads_or_refuses(load_points, p)))


@fuzz(120)
@given(mutated(valid_npy()))
def test_fuzz_mutated_npy(data):
    check_points(in_temp("f.npy", data, lambda p: loads_or_refuses(load_points, p)))


@fuzz(400)
@given(ply_files())
def test_fuzz_ply(data):
    check_points(in_temp("f.ply", data, lambda p: loads_or_refuses(load_points, p)))


@fuzz(50)
@given(
    st.one_of(
        ply_files().map(lambda d: ("f.ply", d)),
        npy_files().map(lambda d: ("f.npy", d)),
        mutated(SIERPINSKI_YAML.encode()).map(lambda d: ("f.yaml", d)),
    )
)
def test_fuzz_cli_in_process(named):
    name, data = named
    command = "info" if name.endswith(".yaml") else "dimension"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        err = io.StringIO()
        with contextlib_redirect(err):
            try:
                code = main([command, str(path), "--json"])
            except SystemExit as exc:  # argparse
                code = exc.code
        assert code in (0, 2), err.getvalue()
        if code == 2:
            lines = err.getvalue().strip().splitlines()
            assert lines[-1].startswith("ifskit: error:") and "Traceback" not in err.getvalue()


def contextlib_redirect(err):
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stderr(err))
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    return stack


def pcd_bytes(points: np.ndarray, kind: str) -> bytes:
    head = (
        "# .PCD v0.7\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\n"
        f"WIDTH {len(points)}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {len(points)}\nDATA {kind}\n"
    )
    if kind == "ascii":
        return (head + "".join(" ".join(f"{v:.6g}" for v in row) + "\n" for row in points)).encode()
    return head.encode() + points.astype("<f4").tobytes()


@fuzz(240)
@given(
    st.sampled_from(["ascii", "binary"]).flatmap(lambda k: mutated(pcd_bytes(np.arange(1.0, 31.0).reshape(10, 3), k)))
)
def test_fuzz_pcd(data):
    check_points(in_temp("f.pcd", data, lambda p: loads_or_refuses(load_points, p)))


def png_bytes(width: int, height: int, mode: str) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), 7).save(buffer, format="PNG")
    return buffer.getvalue()


@st.composite
def png_files(draw):
    """Small PNGs with mutated bytes, or with a header declaring other sizes (CRC fixed)."""
    data = bytearray(
        png_bytes(
            draw(st.integers(1, 40)),
            draw(st.integers(1, 40)),
            draw(st.sampled_from(["L", "RGB", "RGBA", "I;16", "1", "P"])),
        )
    )
    if draw(st.booleans()):
        width = draw(st.one_of(st.integers(0, 100), st.integers(2**14, 2**31 - 1)))
        height = draw(st.one_of(st.integers(0, 100), st.integers(2**14, 2**31 - 1)))
        data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
        data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
        return bytes(data)
    return draw(mutated(bytes(data)))


@fuzz(150)
@given(png_files())
def test_fuzz_images(data):
    image = in_temp("f.png", data, lambda p: loads_or_refuses(read_image, p))
    if image is not None:
        assert image.dtype == np.uint8 and image.ndim in (2, 3)


@functools.cache
def valid_fic() -> bytes:
    image = (np.add.outer(np.arange(32), np.arange(32)) * 4 % 256).astype(np.uint8)
    return compress_image(image, quality=60).to_bytes()


@st.composite
def fic_files(draw):
    """A valid PIFS code mutated, its checksum recomputed half of the time (so that the parser
    itself sees the damage), or a header declaring sizes up to 2**32 - 1 in a valid frame."""
    base = valid_fic()
    if draw(st.booleans()):
        body = bytearray(base[6:-4])
        body[0:8] = struct.pack(
            "<II", *(draw(st.one_of(st.integers(0, 64), st.integers(2**12, 2**32 - 1))) for _ in "hw")
        )
        data = bytes(base[:6] + body)
    else:
        data = draw(mutated(base))[:-4]
        if not draw(st.booleans()):
            return data
    return data + struct.pack("<I", zlib.crc32(data))


@fuzz(150)
@given(fic_files())
def test_fuzz_fic(data):
    def load_and_decode(path):
        code = load_code(path)
        return code.decode(iterations=2) if code.height * code.width <= 2**16 else None

    image = in_temp("f.fic", data, lambda p: loads_or_refuses(load_and_decode, p))
    if image is not None:
        assert image.dtype == np.uint8 and image.ndim in (2, 3)


# ---------------------------------------------------------------- findings, kept as regression tests


def test_finding_npy_header_that_numpy_cannot_tokenize(tmp_path):
    # found by test_fuzz_npy: numpy's header parser raised tokenize.TokenError, not ValueError
    data = b"\x93NUMPY\x01\x00v\x00{'descr'(: '<f8', 'fortran_order': False, 'shape': (0, 0), }" + b" " * 58 + b"\n"
    (tmp_path / "f.npy").write_bytes(data)
    with pytest.raises(IfskitError, match="corrupt .npy header"):
        load_points(tmp_path / "f.npy")


def test_finding_ascii_ply_number_longer_than_open3ds_word_buffer(tmp_path):
    # found exploring open3d: a number of over 256 characters makes it stop reading and return
    # the points read so far, as if the file were whole
    head = b"ply\nformat ascii 1.0\nelement vertex 2\nproperty double x\nproperty double y\nproperty double z\nend_header\n"
    (tmp_path / "f.ply").write_bytes(head + b"1 2 3\n1" + b"0" * 400 + b" 2 3\n")
    with pytest.raises(IfskitError, match=r"f\.ply:9: a number of over"):
        load_points(tmp_path / "f.ply")
