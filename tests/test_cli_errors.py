"""The ``ifskit`` command on bad input, through the real console entry point in a subprocess.

Every user mistake must give exit code 2, exactly one stderr line starting with
``ifskit: error:``, no traceback, and leave no output (nor temporary) file behind.
Also: default output names, ``--json`` figures and ``--help`` of every command.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# real Fractint files written by others (Fractint's library and a collector's), copied from shared/data/ifs
DATA = Path(__file__).resolve().parents[1] / "examples"
needs_data = pytest.mark.skipif(
    not (DATA / "id.ifs").is_file() or not (DATA / "hanmer.ifs").is_file(),
    reason=f"the Fractint files id.ifs and hanmer.ifs are missing from {DATA}",
)

SMALL = ["--points", "20000", "--size", "64"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

SIERPINSKI_YAML = """name: sierpinski
maps:
  - [0.5, 0, 0, 0.5, 0, 0]
  - [0.5, 0, 0, 0.5, 0.5, 0]
  - [0.5, 0, 0, 0.5, 0.25, 0.5]
"""


def ifskit(*args, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``ifskit ARGS`` as a user would, in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "ifskit.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ifskit_in_process(*args, cwd: Path, monkeypatch, capsys) -> subprocess.CompletedProcess:
    """The same command through ``ifskit.cli.main`` in this process: for the many variants of a
    mistake, each kind of which is also run once through the real command above."""
    from ifskit.cli import main

    monkeypatch.chdir(cwd)
    capsys.readouterr()
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out, err)


def files_in(folder: Path) -> set:
    """Every file and folder below ``folder``, hidden (temporary) ones included."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def assert_user_error(result: subprocess.CompletedProcess, cwd: Path, before: set) -> str:
    """The contract for a user mistake; returns the message after 'ifskit: error: '."""
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected exactly one stderr line, got {lines!r}"
    assert lines[0].startswith("ifskit: error: "), lines[0]
    assert files_in(cwd) == before, f"files left behind: {sorted(files_in(cwd) - before)}"
    return lines[0][len("ifskit: error: ") :]


def write(folder: Path, name: str, content) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def render_error(tmp_path: Path, source: str, *extra: str, output: str = "out.png", run=ifskit) -> str:
    before = files_in(tmp_path)
    result = run("render", source, "-o", output, *SMALL, *extra, cwd=tmp_path)
    return assert_user_error(result, tmp_path, before)


def variants(*cases):
    """Parameters ``(id, *values)``, plus ``real``: True for the first case only, which runs the
    real command in a subprocess; the other variants run in-process (fast)."""
    return [pytest.param(*values, i == 0, id=case_id) for i, (case_id, *values) in enumerate(cases)]


@pytest.fixture
def runner(monkeypatch, capsys):
    """``runner(real)``: the subprocess runner, or the in-process one."""

    def in_process(*args, cwd):
        return ifskit_in_process(*args, cwd=cwd, monkeypatch=monkeypatch, capsys=capsys)

    return lambda real: ifskit if real else in_process


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------
def test_malformed_yaml_names_file_and_line(tmp_path):
    write(tmp_path, "bad.yaml", "name: t\nmaps:\n  - [0.5, 0, 0, 0.5, 0, 0]\n  - a: b: c\n  - [0.5, 0, 0, 0.5, 1, 1]\n")
    message = render_error(tmp_path, "bad.yaml")
    assert message.startswith("bad.yaml:4:"), message


def test_malformed_yaml_unclosed_bracket(tmp_path):
    write(tmp_path, "open.yaml", "maps:\n  - [0.5, 0, 0, 0.5, 0, 0\n  - [0.5, 0, 0, 0.5, 1, 0]\n")
    message = render_error(tmp_path, "open.yaml")
    assert re.match(r"open\.yaml:\d+: ", message), message


@pytest.mark.parametrize(
    "name, content, line, real",
    variants(
        ("A-2x3", "a23.yaml", "maps:\n  - {A: [[0.5, 0, 0], [0, 0.5, 0]], b: [0, 0]}\n", 2),
        ("row-length", "row.yaml", "maps:\n  - [0.5, 0, 0, 0.5, 0, 0]\n  - [0.5, 0, 0, 0.5, 0]\n", 3),
        ("b-length", "b3.yaml", "maps:\n  - {A: [[0.5, 0], [0, 0.5]], b: [0, 0, 0]}\n", 2),
        (
            "A-4x4",
            "a4.yaml",
            "maps:\n  - {A: [[0.5, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 0.5, 0], [0, 0, 0, 0.5]], b: [0, 0, 0, 0]}\n",
            2,
        ),
        (
            "2d-and-3d",
            "mixed.yaml",
            "maps:\n  - [0.5, 0, 0, 0.5, 0, 0]\n  - [0.5, 0, 0, 0, 0.5, 0, 0, 0, 0.5, 0, 0, 0]\n",
            3,
        ),
        ("json", "shape.json", '{"maps": [{"A": [[0.5, 0, 0], [0, 0.5, 0]], "b": [0, 0]}]}\n', None),
        ("fractint", "shape.ifs", "x {\n .5 0 0 .5 0 0 .5\n .5 0 0 .5 1 0\n}\n", None),
    ),
)
def test_wrong_matrix_shapes(tmp_path, runner, name, content, line, real):
    write(tmp_path, name, content)
    message = render_error(tmp_path, name, run=runner(real))
    assert message.startswith(f"{name}:{line}:" if line else f"{name}:"), message


@pytest.mark.parametrize(
    "name, content, line, real",
    variants(
        ("yaml-nan", "nan.yaml", "maps:\n  - [0.5, 0, 0, 0.5, 0, 0]\n  - [0.5, 0, 0, 0.5, nan, 0]\n", 3),
        ("yaml-dotnan", "dotnan.yaml", "maps:\n  - [0.5, 0, 0, 0.5, 0, 0]\n  - [0.5, 0, 0, 0.5, .nan, 0]\n", 3),
        ("yaml-inf", "inf.yaml", "maps:\n  - {A: [[0.5, 0], [0, .inf]], b: [0, 0]}\n", 2),
        ("yaml-overflow", "big.yaml", "maps:\n  - {A: [[0.5, 0], [0, 0.5]], b: [0, 1e999]}\n", 2),
        ("json-nan", "nan.json", '{"maps": [{"A": [[NaN, 0], [0, 0.5]], "b": [0, 0]}]}\n', None),
        ("json-inf", "inf.json", '{"maps": [{"A": [[0.5, 0], [0, 0.5]], "b": [Infinity, 0]}]}\n', None),
        ("fractint-nan", "nan.ifs", "x {\n .5 0 0 .5 0 0 .5\n .5 0 0 .5 nan 0 .5\n}\n", 3),
    ),
)
def test_nan_and_inf(tmp_path, runner, name, content, line, real):
    write(tmp_path, name, content)
    message = render_error(tmp_path, name, run=runner(real))
    assert message.startswith(f"{name}:{line}:" if line else f"{name}:"), message


@pytest.mark.parametrize(
    "name, content, line, real",
    variants(
        ("yaml", "neg.yaml", "maps:\n  - [0.5, 0, 0, 0.5, 0, 0, 1.5]\n  - [0.5, 0, 0, 0.5, 1, 0, -0.5]\n", 3),
        (
            "json",
            "neg.json",
            '{"maps": [{"A": [[0.5, 0], [0, 0.5]], "b": [0, 0], "p": -1}, {"A": [[0.5, 0], [0, 0.5]], "b": [1, 0], "p": 2}]}',
            None,
        ),
        ("fractint", "neg.ifs", "x {\n .5 0 0 .5 0 0 1.5\n .5 0 0 .5 1 0 -.5\n}\n", 3),
    ),
)
def test_negative_probability(tmp_path, runner, name, content, line, real):
    write(tmp_path, name, content)
    message = render_error(tmp_path, name, run=runner(real))
    assert message.startswith(f"{name}:{line}:" if line else f"{name}:"), message
    assert "negative" in message.lower()


@needs_data
def test_negative_probability_in_real_file(tmp_path):
    message = render_error(tmp_path, str(DATA / "hanmer.ifs"), "--name", "DC022b6c")
    assert "DC022b6c" in message and re.search(r"hanmer\.ifs:\d+:", message), message


NONCONTRACTIVE = "name: grow\nmaps:\n  - [1.5, 0, 0, 1.5, 0, 0, 0.5]\n  - [0.9, 0, 0, 0.9, 1, 0, 0.5]\n"


def test_not_contractive_on_average_states_both_figures(tmp_path):
    write(tmp_path, "grow.yaml", NONCONTRACTIVE)
    message = render_error(tmp_path, "grow.yaml")
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", message)]
    s = 1.5
    average = 0.5 * math.log(1.5) + 0.5 * math.log(0.9)  # 0.150052 > 0
    assert any(math.isclose(v, s, rel_tol=1e-4) for v in numbers), message
    assert any(math.isclose(v, average, rel_tol=1e-4) for v in numbers), message
    assert "--allow-noncontractive" in message


def test_allow_noncontractive_renders(tmp_path):
    write(tmp_path, "grow.yaml", NONCONTRACTIVE)
    result = ifskit("render", "grow.yaml", "-o", "out.png", *SMALL, "--allow-noncontractive", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "out.png").read_bytes().startswith(PNG_MAGIC)
    assert all(line.startswith("ifskit: warning:") for line in result.stderr.splitlines()), result.stderr


def test_map_with_s_at_least_one_but_contractive_on_average_renders_with_warning(tmp_path):
    write(tmp_path, "avg.yaml", "maps:\n  - [1.2, 0, 0, 1.2, 0, 0, 0.1]\n  - [0.5, 0, 0, 0.5, 1, 0.5, 0.9]\n")
    result = ifskit("render", "avg.yaml", "-o", "out.png", *SMALL, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("ifskit: warning:")]
    assert warnings, result.stderr
    assert "error" not in result.stderr
    assert (tmp_path / "out.png").read_bytes().startswith(PNG_MAGIC)


@needs_data
def test_real_isometry_entry_renders_with_warning(tmp_path):
    result = ifskit("render", DATA / "hanmer.ifs", "--name", "td081", "-o", "td.png", *SMALL, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ifskit: warning:" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "td.png").is_file()


@pytest.mark.parametrize(
    "name, real",
    variants(*[(name, name) for name in ["empty.yaml", "empty.ifs", "empty.json", "blank.yaml", "comment.yaml"]]),
)
def test_empty_file(tmp_path, runner, name, real):
    content = {"blank.yaml": "\n\n   \n", "comment.yaml": "# nothing here\n"}.get(name, "")
    write(tmp_path, name, content)
    message = render_error(tmp_path, name, run=runner(real))
    assert message.startswith(f"{name}:"), message


@pytest.mark.parametrize(
    "name, content, real",
    variants(
        ("nul-bytes", "nul.yaml", bytes(range(256)) * 8),
        ("not-utf8", "latin.yaml", b"name: caf\xe9\nmaps: \xff\xfe\n"),
        ("png-as-ifs", "png.ifs", PNG_MAGIC + b"\x00\x00\x00\rIHDR" + bytes(64)),
        ("random-json", "random.json", np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()),
    ),
)
def test_binary_garbage(tmp_path, runner, name, content, real):
    write(tmp_path, name, content)
    message = render_error(tmp_path, name, run=runner(real))
    assert message.startswith(f"{name}:"), message


def test_unknown_catalog_name_suggests_closest(tmp_path, runner):
    message = render_error(tmp_path, "sierpinsky")
    assert "sierpinsky" in message
    suggestions = message.split("did you mean", 1)[-1] if "did you mean" in message else message
    assert "sierpinski" in suggestions
    message = render_error(tmp_path, "barnsly_fern", run=runner(False))
    assert "barnsley_fern" in message


def test_unknown_entry_of_ifs_file_suggests_closest(tmp_path):
    write(tmp_path, "lib.ifs", "fern {\n .5 0 0 .5 0 0 1\n}\ndragon {\n .5 0 0 .5 0 0 1\n}\n")
    message = render_error(tmp_path, "lib.ifs", "--name", "fren")
    assert "fren" in message and "fern" in message


def test_unknown_input_extension(tmp_path):
    write(tmp_path, "sierpinski.toml", SIERPINSKI_YAML)
    message = render_error(tmp_path, "sierpinski.toml")
    assert "sierpinski.toml" in message and ".toml" in message


def test_unknown_output_extension(tmp_path):
    write(tmp_path, "s.yaml", SIERPINSKI_YAML)
    message = render_error(tmp_path, "s.yaml", output="out.bmp")
    assert "out.bmp" in message and ".bmp" in message


def test_missing_input(tmp_path, runner):
    message = render_error(tmp_path, "missing.yaml")
    assert message.startswith("missing.yaml:"), message
    message = render_error(tmp_path, "missing.ifs", "--name", "fern", run=runner(False))
    assert message.startswith("missing.ifs:"), message


def test_missing_input_folder_is_not_a_catalog_name(tmp_path):
    message = render_error(tmp_path, "nowhere/sierpinski.yaml")
    assert "nowhere/sierpinski.yaml" in message


def test_missing_output_folder(tmp_path):
    write(tmp_path, "s.yaml", SIERPINSKI_YAML)
    message = render_error(tmp_path, "s.yaml", output="nodir/out.png")
    assert "nodir" in message
    assert not (tmp_path / "nodir").exists()


def test_existing_output_without_overwrite_is_untouched(tmp_path):
    write(tmp_path, "s.yaml", SIERPINSKI_YAML)
    write(tmp_path, "out.png", b"precious")
    message = render_error(tmp_path, "s.yaml")
    assert "out.png" in message and "--overwrite" in message
    assert (tmp_path / "out.png").read_bytes() == b"precious"


def test_existing_output_with_overwrite_is_replaced(tmp_path):
    write(tmp_path, "s.yaml", SIERPINSKI_YAML)
    write(tmp_path, "out.png", b"precious")
    result = ifskit("render", "s.yaml", "-o", "out.png", *SMALL, "--overwrite", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert (tmp_path / "out.png").read_bytes().startswith(PNG_MAGIC)
    assert files_in(tmp_path) == {"s.yaml", "out.png"}


@pytest.mark.parametrize(
    "args, real",
    variants(
        ("bad-points", ["render", "sierpinski", "--points", "lots"]),
        ("no-source", ["render"]),
        ("bad-size", ["render", "sierpinski", "--size", "0"]),
        ("bad-method", ["render", "sierpinski", "--method", "magic"]),
        ("negative-seed", ["render", "sierpinski", "--seed", "-1"]),
        ("negative-seed-movie", ["interpolate", "sierpinski", "maple_leaf", "-o", "m.gif", "--seed", "-1"]),
        ("unknown-command", ["frobnicate"]),
        ("no-command", []),
    ),
)
def test_usage_mistakes_are_one_line(tmp_path, runner, args, real):
    before = files_in(tmp_path)
    assert_user_error(runner(real)(*args, cwd=tmp_path), tmp_path, before)


@pytest.mark.parametrize(
    "make, real",
    variants(
        ("malformed", lambda d: ("info", write(d, "bad.yaml", "maps:\n  - a: b: c\n").name)),
        ("catalog", lambda d: ("info", "sierpinsky")),
        ("missing", lambda d: ("info", "missing.json")),
        ("binary", lambda d: ("info", write(d, "bin.ifs", bytes(range(256))).name)),
    ),
)
def test_info_errors_are_one_line(tmp_path, runner, make, real):
    args = make(tmp_path)
    before = files_in(tmp_path)
    assert_user_error(runner(real)(*args, cwd=tmp_path), tmp_path, before)


# ---------------------------------------------------------------------------------------------
# Default output names, --json, --help
# ---------------------------------------------------------------------------------------------
def test_default_output_name(tmp_path, runner):
    (tmp_path / "examples").mkdir()
    write(tmp_path / "examples", "sierpinski.yaml", SIERPINSKI_YAML)
    result = ifskit("render", "examples/sierpinski.yaml", *SMALL, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sierpinski.png").read_bytes().startswith(PNG_MAGIC)
    assert files_in(tmp_path) == {"examples", "examples/sierpinski.yaml", "sierpinski.png"}
    # a second run refuses to replace it
    before = files_in(tmp_path)
    assert_user_error(runner(False)("render", "examples/sierpinski.yaml", *SMALL, cwd=tmp_path), tmp_path, before)


def test_default_output_name_without_name_field_and_for_catalog(tmp_path, runner):
    write(tmp_path, "tri.yaml", SIERPINSKI_YAML.replace("name: sierpinski\n", ""))
    assert ifskit("render", "tri.yaml", *SMALL, cwd=tmp_path).returncode == 0
    assert (tmp_path / "tri.png").is_file()
    assert runner(False)("render", "koch_curve", *SMALL, cwd=tmp_path).returncode == 0
    assert (tmp_path / "koch_curve.png").is_file()


def test_name_option_is_case_insensitive(tmp_path):
    write(tmp_path, "lib.ifs", "Fern {\n .5 0 0 .5 0 0 .5\n .5 0 0 .5 1 0 .5\n}\ndragon {\n .5 0 0 .5 0 0 1\n}\n")
    result = ifskit("render", "lib.ifs", "--name", "FERN", "-o", "f.png", *SMALL, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "f.png").is_file()


def test_render_json(tmp_path):
    write(tmp_path, "s.yaml", SIERPINSKI_YAML)
    result = ifskit("render", "s.yaml", "-o", "s.png", *SMALL, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert isinstance(figures, dict)
    assert {"points", "seconds", "output"} <= set(figures)
    assert figures["points"] == 20000
    assert figures["seconds"] >= 0
    assert (tmp_path / figures["output"]).resolve() == (tmp_path / "s.png").resolve()
    from PIL import Image

    with Image.open(tmp_path / "s.png") as image:
        assert image.size == (64, 64)


def test_render_json_point_cloud(tmp_path):
    result = ifskit("render", "sierpinski", "-o", "s.npy", "--points", "1000", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["points"] == 1000
    assert np.load(tmp_path / "s.npy").shape == (1000, 2)


def test_info_json(tmp_path):
    write(tmp_path, "s.yaml", SIERPINSKI_YAML)
    result = ifskit("info", "s.yaml", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert {"maps", "dim", "contraction", "similarity_dimension", "bounds"} <= set(figures)
    assert figures["maps"] == 3 and figures["dim"] == 2
    assert math.isclose(figures["contraction"], 0.5)
    assert math.isclose(figures["similarity_dimension"], math.log(3) / math.log(2), rel_tol=1e-6)
    xmin, xmax, ymin, ymax = figures["bounds"]
    assert -0.01 < xmin < 0.01 and 0.99 < xmax < 1.01 and -0.01 < ymin < 0.01 and 0.99 < ymax < 1.01


def test_info_json_3d_catalog(tmp_path):
    result = ifskit("info", "menger_sponge", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["dim"] == 3 and figures["maps"] == 20 and len(figures["bounds"]) == 6


def test_catalog_json(tmp_path):
    result = ifskit("catalog", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    names = figures["names"]
    assert names == sorted(names)
    for expected in ["sierpinski", "sierpinski_carpet", "barnsley_fern", "maple_leaf", "heighway_dragon",
                     "koch_curve", "sierpinski_tetrahedron", "menger_sponge"]:  # fmt: skip
        assert expected in names


@pytest.mark.parametrize(
    "command", [[], ["render"], ["info"], ["catalog"], ["gallery"]], ids=["top", "render", "info", "catalog", "gallery"]
)
def test_help(tmp_path, command):
    result = ifskit(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout.lower()
    assert result.stderr == ""
    assert files_in(tmp_path) == set()


# ---------------------------------------------------------------- the one error path (issue 22)


def _broken_render(args):
    raise TypeError("something ifskit got wrong\nsecond line")


def test_an_unexpected_error_is_one_line_saying_it_is_a_bug(tmp_path, monkeypatch, capsys):
    from ifskit.cli import render

    monkeypatch.setattr(render, "cmd_render", _broken_render)
    result = ifskit_in_process(
        "render", "sierpinski", "-o", "x.png", cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ifskit: error: internal error, a bug in ifskit"), lines
    assert "TypeError: something ifskit got wrong" in lines[0] and "--debug" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback_of_a_bug(tmp_path, monkeypatch, capsys, where):
    from ifskit.cli import render

    monkeypatch.setattr(render, "cmd_render", _broken_render)
    args = ["render", "sierpinski", "-o", "x.png"]
    args = ["--debug", *args] if where == "before" else [*args, "--debug"]
    result = ifskit_in_process(*args, cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "_broken_render" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("ifskit: error: internal error")


def test_user_errors_stay_exit_2_without_traceback_under_debug(tmp_path, monkeypatch, capsys):
    result = ifskit_in_process("--debug", "info", "missing.yaml", cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert_user_error(result, tmp_path, set())


def test_an_output_folder_that_cannot_be_written_is_one_line(tmp_path):
    result = ifskit("render", "sierpinski", "-o", "/proc/x.png", *SMALL, cwd=tmp_path)
    message = assert_user_error(result, tmp_path, set())
    assert "/proc/x.png" in message


def test_an_output_name_over_255_bytes_is_one_line(tmp_path):
    result = ifskit("render", "sierpinski", "-o", "n" * 300 + ".png", *SMALL, cwd=tmp_path)
    assert "255" in assert_user_error(result, tmp_path, set())


@pytest.mark.parametrize("command", [["render", "sierpinski", "-o", "x.png"], ["dimension", "sierpinski"]])
def test_a_seed_over_64_bits_is_one_line(cli, tmp_path, command, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli(*command, "--seed", 2**64) == 2
    err = capsys.readouterr().err
    assert "--seed" in err and "2**63 - 1" in err and err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()
