"""File formats: YAML (canonical, Fractint rows, geometric), JSON, Fractint ``.ifs``, point clouds.

Covers the contracts of DESIGN.md ("Conventions", "Python API contract", point-cloud files):
exact round trips, the quirks of real Fractint files, probability rules, and safe outputs.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import ifskit
from ifskit import IFS, FormatError, IfskitWarning, OutputError, UnknownNameError
from ifskit.formats import dump_fractint, parse_fractint, parse_json, parse_yaml, read_fractint

# real Fractint files written by others (Fractint's library and a collector's), copied from shared/data/ifs
DATA = Path(__file__).resolve().parents[1] / "examples"
needs_data = pytest.mark.skipif(
    not (DATA / "id.ifs").is_file() or not (DATA / "hanmer.ifs").is_file(),
    reason=f"the Fractint files id.ifs and hanmer.ifs are missing from {DATA}",
)


def yaml_ifs(text: str, path: str = "<test>") -> IFS:
    return parse_yaml(text, path)[0]


def files_in(folder: Path) -> set:
    """Every file below ``folder``, hidden ones (temporary files) included."""
    return {p.relative_to(folder) for p in folder.rglob("*")}


@contextlib.contextmanager
def no_warnings():
    """A block in which any warning is an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ---------------------------------------------------------------------------------------------
# YAML: canonical form, Fractint rows, geometric form, colours
# ---------------------------------------------------------------------------------------------
def test_yaml_canonical_form():
    ifs = yaml_ifs(
        """
name: three
description: a test
maps:
  - {A: [[0.5, 0.1], [-0.2, 0.4]], b: [1, 2], p: 0.25}
  - {A: [[0.5, 0], [0, 0.5]], b: [0.5, 0], p: 0.25}
  - A:
      - [0.3, 0]
      - [0, 0.3]
    b: [0, 1e-05]
    p: 0.5
"""
    )
    assert ifs.name == "three"
    assert ifs.dim == 2 and ifs.n_maps == 3
    np.testing.assert_array_equal(ifs.A[0], [[0.5, 0.1], [-0.2, 0.4]])
    np.testing.assert_array_equal(ifs.b[0], [1, 2])
    np.testing.assert_array_equal(ifs.b[2], [0, 1e-5])  # '1e-05' is a number, not YAML 1.1 text
    np.testing.assert_array_equal(ifs.p, [0.25, 0.25, 0.5])
    assert ifs.colors is None
    _, description = parse_yaml("description: a test\nmaps:\n  - [0.5, 0, 0, 0.5, 0, 0]\n")
    assert description == "a test"


def test_yaml_plain_list_of_maps():
    ifs = yaml_ifs("- [0.5, 0, 0, 0.5, 0, 0]\n- [0.5, 0, 0, 0.5, 0.5, 0]\n")
    assert ifs.n_maps == 2 and ifs.name is None


def test_yaml_fractint_rows_2d():
    # x' = a x + b y + e, y' = c x + d y + f
    ifs = yaml_ifs("maps:\n  - [1, 2, 3, 4, 5, 6, 0.3]\n  - [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]\n")
    np.testing.assert_array_equal(ifs.A[0], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(ifs.b[0], [5, 6])
    np.testing.assert_array_equal(ifs.A[1], [[0.1, 0.2], [0.3, 0.4]])
    np.testing.assert_array_equal(ifs.b[1], [0.5, 0.6])
    np.testing.assert_allclose(ifs.p, [0.3, 0.7])
    # the map really is x' = a x + b y + e
    np.testing.assert_allclose(ifs.apply([[1.0, 10.0]])[0, 0], [1 + 20 + 5, 3 + 40 + 6])


def test_yaml_fractint_rows_2d_without_p():
    ifs = yaml_ifs("maps:\n  - [0.5, 0, 0, 0.5, 0, 0]\n  - [0.5, 0, 0, 0.5, 0.5, 0]\n")
    np.testing.assert_array_equal(ifs.b[1], [0.5, 0])
    np.testing.assert_allclose(ifs.p, [0.5, 0.5])


def test_yaml_fractint_rows_3d():
    row = list(range(1, 13))  # 3x3 row-major then translation
    ifs = yaml_ifs(f"maps:\n  - {row + [0.5]}\n  - {[0.5, 0, 0, 0, 0.5, 0, 0, 0, 0.5, 1, 1, 1, 0.5]}\n")
    assert ifs.dim == 3
    np.testing.assert_array_equal(ifs.A[0], np.arange(1, 10).reshape(3, 3))
    np.testing.assert_array_equal(ifs.b[0], [10, 11, 12])
    np.testing.assert_allclose(ifs.p, [0.5, 0.5])
    no_p = yaml_ifs(f"maps:\n  - {row}\n  - {[0.5, 0, 0, 0, 0.5, 0, 0, 0, 0.5, 1, 1, 1]}\n")
    np.testing.assert_array_equal(no_p.A, ifs.A)
    np.testing.assert_array_equal(no_p.b, ifs.b)


@pytest.mark.parametrize("length", [5, 8, 11, 14])
def test_yaml_fractint_row_of_wrong_length(length):
    with pytest.raises(FormatError) as info:
        yaml_ifs("maps:\n  - [0.5, 0, 0, 0.5, 0, 0]\n  - " + str([0.1] * length) + "\n", "rows.yaml")
    assert "rows.yaml:3:" in str(info.value)


def test_yaml_geometric_rotate_and_scale():
    ifs = yaml_ifs("maps:\n  - {scale: 0.5, rotate: 90, translate: [1, 2]}\n")
    np.testing.assert_allclose(ifs.A[0], [[0, -0.5], [0.5, 0]], atol=1e-15)
    np.testing.assert_array_equal(ifs.b[0], [1, 2])
    # (1, 0) turns counter-clockwise onto the y axis
    np.testing.assert_allclose(ifs.apply([[1.0, 0.0]])[0, 0], [1, 2.5], atol=1e-15)


def test_yaml_geometric_shear_flip_and_axis_scales():
    ifs = yaml_ifs(
        """maps:
  - {scale: [0.5, 0.25], shear: 0.5, flip: x}
  - {scale: [0.5, 0.25], flip: y, rotate: 30}
  - {scale: 0.4}
"""
    )
    # A = R(rotate) @ Shear(shear) @ diag(scale) @ Flip
    np.testing.assert_allclose(ifs.A[0], [[-0.5, 0.125], [0, 0.25]], atol=1e-15)
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    np.testing.assert_allclose(ifs.A[1], np.array([[c, -s], [s, c]]) @ np.diag([0.5, -0.25]), atol=1e-15)
    np.testing.assert_allclose(ifs.A[2], 0.4 * np.eye(2))
    np.testing.assert_array_equal(ifs.b, np.zeros((3, 2)))


def test_yaml_geometric_3d():
    ifs = yaml_ifs(
        """maps:
  - {scale: 0.5, rotate: [0, 0, 90], translate: [1, 2, 3]}
  - {scale: [0.5, 0.25, 0.2], rotate: [90, 0, 0], flip: z, translate: [0, 0, 0]}
"""
    )
    assert ifs.dim == 3
    np.testing.assert_allclose(ifs.A[0], [[0, -0.5, 0], [0.5, 0, 0], [0, 0, 0.5]], atol=1e-15)
    np.testing.assert_array_equal(ifs.b[0], [1, 2, 3])
    rx = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]])
    np.testing.assert_allclose(ifs.A[1], rx @ np.diag([0.5, 0.25, -0.2]), atol=1e-15)


def test_yaml_geometric_errors():
    with pytest.raises(FormatError, match=r"g\.yaml:2:"):
        yaml_ifs("maps:\n  - {scale: 0.5, flip: q}\n", "g.yaml")
    with pytest.raises(FormatError, match=r"g\.yaml:2:"):
        yaml_ifs("maps:\n  - {scale: 0.5, spin: 3}\n", "g.yaml")


def test_yaml_mixed_forms_in_one_file():
    ifs = yaml_ifs(
        """maps:
  - {A: [[0.5, 0], [0, 0.5]], b: [0, 0]}
  - [0.5, 0, 0, 0.5, 0.5, 0]
  - {scale: 0.5, translate: [0.25, 0.5]}
"""
    )
    np.testing.assert_allclose(ifs.A, np.repeat(0.5 * np.eye(2)[None], 3, axis=0))
    np.testing.assert_allclose(ifs.b, [[0, 0], [0.5, 0], [0.25, 0.5]])


def test_yaml_colours():
    ifs = yaml_ifs(
        """maps:
  - {A: [[0.5, 0], [0, 0.5]], b: [0, 0], color: red}
  - {A: [[0.5, 0], [0, 0.5]], b: [0.5, 0], color: "#00ff00"}
  - {scale: 0.5, translate: [0.25, 0.5], color: [0, 0, 1]}
"""
    )
    np.testing.assert_allclose(ifs.colors, np.eye(3))


@pytest.mark.parametrize(
    "color", ["notacolour", "[0, 0, 2]", "[0, 0]", "[-0.1, 0, 0]"], ids=["name", "range", "length", "negative"]
)
def test_yaml_bad_colour(color):
    with pytest.raises(FormatError, match=r"c\.yaml:2:"):
        yaml_ifs(f"maps:\n  - {{A: [[0.5, 0], [0, 0.5]], b: [0, 0], color: {color}}}\n", "c.yaml")


def test_yaml_colour_or_probability_on_some_maps_only():
    with pytest.raises(FormatError, match=r"x\.yaml:3:"):
        yaml_ifs("maps:\n  - [0.5, 0, 0, 0.5, 0, 0, 0.5]\n  - [0.5, 0, 0, 0.5, 1, 0]\n", "x.yaml")
    with pytest.raises(FormatError, match=r"x\.yaml:3:"):
        yaml_ifs("maps:\n  - {scale: 0.5, color: red}\n  - {scale: 0.5, translate: [1, 0]}\n", "x.yaml")


def test_yaml_2d_and_3d_maps_mixed():
    with pytest.raises(FormatError, match=r"x\.yaml:3:"):
        yaml_ifs(
            "maps:\n  - [0.5, 0, 0, 0.5, 0, 0]\n  - " + str([0.5, 0, 0, 0, 0.5, 0, 0, 0, 0.5, 0, 0, 0]) + "\n", "x.yaml"
        )


def test_yaml_malformed_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: t\nmaps:\n  - [0.5, 0, 0, 0.5, 0, 0]\n  - a: b: c\n")
    with pytest.raises(FormatError) as info:
        ifskit.load(path)
    assert f"{path}:4:" in str(info.value)
    assert info.value.line == 4


@pytest.mark.parametrize("value", ["nan", ".nan", "inf", "-.inf", "1e400"])
def test_yaml_non_finite_numbers(value):
    with pytest.raises(FormatError, match=r"n\.yaml:3:"):
        yaml_ifs(f"maps:\n  - [0.5, 0, 0, 0.5, 0, 0]\n  - [0.5, 0, 0, 0.5, {value}, 0]\n", "n.yaml")


# ---------------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------------
def awkward_ifs(dim: int = 2, colors: bool = False, name: str | None = "awkward") -> IFS:
    """Floats whose shortest text is long or extreme, and exact binary probabilities."""
    k = 4
    A = np.zeros((k, dim, dim))
    A[:] = np.eye(dim) / 3
    A[0, 0, 0] = 0.1 + 0.2  # 0.30000000000000004
    A[1, -1, 0] = 1e-300
    A[2, 0, -1] = -1 / 7
    A[3] = np.full((dim, dim), 2.0**-30) + np.eye(dim) * (1 / 3)
    b = np.zeros((k, dim))
    b[0, 0] = 1e-300
    b[1, 0] = -(0.1 + 0.2)
    b[2] = 1 / 3
    b[3, -1] = 12345.678901234567
    p = np.array([0.125, 0.25, 0.5, 0.125])
    c = np.array([[0.1, 0.2, 0.3], [1 / 3, 2 / 3, 1.0], [0.0, 0.0, 0.0], [0.1 + 0.2, 1e-300, 1.0]]) if colors else None
    return IFS(A, b, p, name=name, colors=c)


ROUND_TRIP_CASES = [
    pytest.param(lambda: awkward_ifs(2), id="2d"),
    pytest.param(lambda: awkward_ifs(3), id="3d"),
    pytest.param(lambda: awkward_ifs(2, colors=True), id="2d-colours"),
    pytest.param(lambda: awkward_ifs(3, colors=True), id="3d-colours"),
    pytest.param(lambda: ifskit.catalog("barnsley_fern"), id="fern"),
    pytest.param(lambda: ifskit.catalog("sierpinski"), id="sierpinski"),
    pytest.param(lambda: ifskit.catalog("menger_sponge"), id="menger"),
]


@pytest.mark.parametrize("make", ROUND_TRIP_CASES)
def test_yaml_round_trip_exact(tmp_path, make):
    ifs = make()
    path = ifskit.save(ifs, tmp_path / "x.yaml")
    with no_warnings():
        back = ifskit.load(path)
    assert back == ifs
    assert back.name == ifs.name


@pytest.mark.parametrize("make", ROUND_TRIP_CASES)
def test_json_round_trip_exact(tmp_path, make):
    ifs = make()
    ifskit.save(ifs, tmp_path / "x.json")
    with no_warnings():
        back = ifskit.load(tmp_path / "x.json")
    assert back == ifs


@pytest.mark.parametrize("make", [c for c in ROUND_TRIP_CASES if "colours" not in c.id])
def test_fractint_round_trip_exact(tmp_path, make):
    ifs = make()
    ifskit.save(ifs, tmp_path / "x.ifs")
    with no_warnings():
        back = ifskit.load(tmp_path / "x.ifs")  # one entry: no name needed
    assert back == ifs
    text = (tmp_path / "x.ifs").read_text()
    assert ("(3D)" in text) == (ifs.dim == 3)


def test_fractint_several_entries_round_trip():
    entries = [awkward_ifs(2, name="flat one"), awkward_ifs(3, name="deep"), ifskit.catalog("barnsley_fern")]
    library = parse_fractint(dump_fractint(entries))
    assert len(library.entries) == 3 and not library.errors
    for ifs, back in zip(entries, library.entries.values()):
        assert np.array_equal(back.A, ifs.A) and np.array_equal(back.b, ifs.b) and np.array_equal(back.p, ifs.p)


def test_round_trip_without_name_uses_file_stem(tmp_path):
    ifs = awkward_ifs(2, name=None)
    ifskit.save(ifs, tmp_path / "stem.yaml")
    back = ifskit.load(tmp_path / "stem.yaml")
    assert back.name == "stem"
    assert np.array_equal(back.A, ifs.A) and np.array_equal(back.p, ifs.p)


def test_normalized_probabilities_are_stable():
    """Probabilities an IFS already holds come back unchanged when used to build an IFS.

    Normalizing p / sum(p) again must not move them by rounding, otherwise no file
    format can give an exact round trip.
    """
    p = [0.23618599, 0.17620772, 0.38606945, 0.18857221, 0.01296462]  # sums to 1 within file precision
    A = np.repeat(0.5 * np.eye(2)[None], 5, axis=0)
    b = np.arange(10.0).reshape(5, 2)
    ifs = IFS(A, b, p)
    again = IFS(ifs.A, ifs.b, ifs.p)
    np.testing.assert_array_equal(again.p, ifs.p)


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".ifs"])
def test_round_trip_random_ifs_exact(tmp_path, suffix):
    """Random maps and probabilities (seeded): the round trip is exact whatever the floats."""
    rng = np.random.default_rng(2024)
    failures = []
    for trial in range(40):
        k, dim = int(rng.integers(1, 7)), int(rng.choice([2, 3]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IfskitWarning)
            ifs = IFS(
                rng.uniform(-0.6, 0.6, (k, dim, dim)), rng.normal(size=(k, dim)), rng.uniform(0, 1, k), name=f"r{trial}"
            )
        path = tmp_path / f"r{trial}{suffix}"
        ifskit.save(ifs, path)
        with no_warnings():
            back = ifskit.load(path)
        if back != ifs:
            failures.append((trial, float(np.abs(back.p - ifs.p).max()), float(np.abs(back.A - ifs.A).max())))
    assert not failures, f"{len(failures)}/40 round trips not exact (trial, max |dp|, max |dA|): {failures[:5]}"


def test_parse_json_accepts_plain_list():
    ifs = parse_json('[{"A": [[0.5, 0], [0, 0.5]], "b": [0, 0]}, {"A": [[0.5, 0], [0, 0.5]], "b": [1, 0]}]')
    assert ifs.n_maps == 2


def test_malformed_json_names_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"maps": [\n  {"A": [[0.5, 0], [0, 0.5]], "b": [0, 0]},\n  oops\n]}\n')
    with pytest.raises(FormatError) as info:
        ifskit.load(path)
    assert f"{path}:3:" in str(info.value)


# ---------------------------------------------------------------------------------------------
# Fractint .ifs quirks
# ---------------------------------------------------------------------------------------------
@needs_data
def test_real_file_id_ifs_loads_every_entry():
    with no_warnings():
        library = read_fractint(DATA / "id.ifs")
    names = re.findall(r"^\s*([^\s;{(]+)\s*(?:\(3D\))?\s*\{", (DATA / "id.ifs").read_text(), re.MULTILINE)
    assert len(names) == 20
    assert list(library.entries) == names
    assert not library.errors
    for name, ifs in library.entries.items():
        assert ifs.dim == (3 if name.lower().startswith("3d") else 2), name
        assert ifs.name == name
        assert np.isclose(ifs.p.sum(), 1.0)
    fern = library.entries["fern"]
    np.testing.assert_array_equal(fern.A[1], [[0.85, 0.04], [-0.04, 0.85]])
    np.testing.assert_array_equal(fern.b[1], [0, 1.6])
    fern3 = library.entries["3dfern"]
    np.testing.assert_array_equal(fern3.A[1], [[0.85, 0, 0], [0, 0.85, 0.1], [0, -0.1, 0.85]])
    np.testing.assert_array_equal(fern3.b[1], [0, 1.6, 0])
    assert fern3.n_maps == 4
    assert library.entries["fractint"].n_maps == 22


@needs_data
def test_real_file_hanmer_reports_the_broken_entry_and_loads_the_others():
    library = read_fractint(DATA / "hanmer.ifs")
    assert list(library.entries) == ["bmc0884x", "Sq0002d", "sq441", "td081"]
    assert list(library.errors) == ["DC022b6c"]
    error = library.errors["DC022b6c"]
    assert isinstance(error, FormatError)
    message = str(error)
    assert "DC022b6c" in message
    assert "hanmer.ifs" in message
    # the negative probability -0.1428571 is on line 21 (the entry starts on line 16)
    assert error.line in (16, 21)
    assert f":{error.line}:" in message
    assert "negative" in message.lower()
    # asking for it raises its error; the others load by name
    with pytest.raises(FormatError, match="DC022b6c"):
        library.get("dc022b6c")
    with pytest.raises(FormatError, match="DC022b6c"):
        ifskit.load(DATA / "hanmer.ifs", name="DC022b6c")
    # td081 holds an isometry (s = 1): loading never fails on contraction
    td = ifskit.load(DATA / "hanmer.ifs", name="td081")
    assert td.contraction >= 1 and td.average_contraction < 0


@pytest.mark.parametrize("header", ["deep(3D)", "deep (3D)", "deep (3d)", "deep  ( 3D )", "deep(3d)"])
def test_fractint_3d_marker(header):
    text = f"{header} {{\n  .5 0 0 0 .5 0 0 0 .5 0 0 0 .5\n  .5 0 0 0 .5 0 0 0 .5 1 1 1 .5\n}}\n"
    library = parse_fractint(text)
    assert list(library.entries) == ["deep"]
    ifs = library.get("deep")
    assert ifs.dim == 3
    np.testing.assert_array_equal(ifs.b[1], [1, 1, 1])


def test_fractint_comments_anywhere_and_numbers_over_several_lines():
    text = """; a comment before anything
spread { ; after the brace
   ; a comment line
   .5 0      ; in the middle of a map
   0 .5
   0 0 .25 .5 0 0 .5 .5 0 .25
   ; before the closing brace
   .5 0 0 .5 .25 .5
   .5
}   ; after the closing brace
; at the end
"""
    ifs = parse_fractint(text).get("spread")
    np.testing.assert_array_equal(ifs.A, np.repeat(0.5 * np.eye(2)[None], 3, axis=0))
    np.testing.assert_array_equal(ifs.b, [[0, 0], [0.5, 0], [0.25, 0.5]])
    np.testing.assert_allclose(ifs.p, [0.25, 0.25, 0.5])


def test_fractint_braces_on_their_own_lines_and_no_space():
    text = "a\n{\n.5 0 0 .5 0 0 .5\n.5 0 0 .5 1 0 .5\n}\nb{.5 0 0 .5 0 0 1}\n"
    library = parse_fractint(text)
    assert list(library.entries) == ["a", "b"]


def test_fractint_name_case_insensitive(tmp_path):
    path = tmp_path / "lib.ifs"
    path.write_text("Fern {\n .5 0 0 .5 0 0 .5\n .5 0 0 .5 1 0 .5\n}\nother {\n .5 0 0 .5 0 0 1\n}\n")
    for name in ["Fern", "fern", "FERN", "fErN"]:
        ifs = ifskit.load(path, name=name)
        assert ifs.name == "Fern" and ifs.n_maps == 2
    assert read_fractint(path).get("OTHER").n_maps == 1


def test_fractint_several_entries_need_a_name(tmp_path):
    path = tmp_path / "lib.ifs"
    path.write_text("one {\n .5 0 0 .5 0 0 1\n}\ntwo {\n .5 0 0 .5 0 0 1\n}\n")
    with pytest.raises(ifskit.ParameterError) as info:
        ifskit.load(path)
    assert "one" in str(info.value) and "two" in str(info.value) and info.value.parameter == "name"


def test_fractint_unknown_entry_suggests_close_names(tmp_path):
    path = tmp_path / "lib.ifs"
    path.write_text("fern {\n .5 0 0 .5 0 0 1\n}\ntree {\n .5 0 0 .5 0 0 1\n}\ndragon {\n .5 0 0 .5 0 0 1\n}\n")
    with pytest.raises(UnknownNameError) as info:
        ifskit.load(path, name="fren")
    message = str(info.value)
    assert "fren" in message and "fern" in message and "dragon" not in message
    with pytest.raises(UnknownNameError, match="dragon"):
        read_fractint(path).get("DRAGN")


@needs_data
def test_real_file_unknown_entry_suggests(tmp_path):
    with pytest.raises(UnknownNameError, match="fern"):
        ifskit.load(DATA / "id.ifs", name="fernn")


@pytest.mark.parametrize(
    "text, line",
    [
        ("a {\n .5 0 0 .5 0 0 1\n", 1),  # no closing brace
        ("a {\n .5 0 0 .5 0 0 1\n}\n}\n", 4),  # stray closing brace
        ("{\n .5 0 0 .5 0 0 1\n}\n", 1),  # no name
        ("; nothing but comments\n", 1),
    ],
    ids=["unclosed", "stray", "no-name", "empty"],
)
def test_fractint_broken_structure(text, line):
    with pytest.raises(FormatError) as info:
        parse_fractint(text, "s.ifs")
    assert f"s.ifs:{line}:" in str(info.value)


def test_fractint_bad_entry_does_not_spoil_the_others():
    text = "good {\n .5 0 0 .5 0 0 1\n}\nbad {\n .5 0 0 .5 0 0 oops\n}\nshort {\n .5 0 0 .5 0 0\n}\nalso {\n .5 0 0 .5 0 0 1\n}\n"
    library = parse_fractint(text, "m.ifs")
    assert list(library.entries) == ["good", "also"]
    assert set(library.errors) == {"bad", "short"}
    assert "m.ifs:5:" in str(library.errors["bad"]) and "oops" in str(library.errors["bad"])
    assert "short" in str(library.errors["short"])


# ---------------------------------------------------------------------------------------------
# Probabilities
# ---------------------------------------------------------------------------------------------
def test_given_probabilities_are_normalized_with_a_warning():
    A = np.repeat(0.5 * np.eye(2)[None], 3, axis=0)
    b = [[0, 0], [1, 0], [0, 1]]
    with pytest.warns(IfskitWarning, match="normalized"):
        ifs = IFS(A, b, [1, 1, 2])
    np.testing.assert_allclose(ifs.p, [0.25, 0.25, 0.5])
    assert math.isclose(ifs.p.sum(), 1.0)


def test_probabilities_summing_to_one_give_no_warning():
    A = np.repeat(0.5 * np.eye(2)[None], 3, axis=0)
    with no_warnings():
        IFS(A, np.zeros((3, 2)), [0.2, 0.3, 0.5])
        IFS(A, np.zeros((3, 2)), [0.333333, 0.333333, 0.333333])  # 6 digits, as files print them


def test_yaml_probabilities_normalized_with_a_warning_naming_the_file(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("maps:\n  - [0.5, 0, 0, 0.5, 0, 0, 1]\n  - [0.5, 0, 0, 0.5, 1, 0, 3]\n")
    with pytest.warns(IfskitWarning) as record:
        ifs = ifskit.load(path)
    np.testing.assert_allclose(ifs.p, [0.25, 0.75])
    assert any("p.yaml" in str(w.message) for w in record)


def test_fractint_probabilities_normalized_with_a_warning():
    with pytest.warns(IfskitWarning, match="w.ifs"):
        ifs = parse_fractint("x {\n .5 0 0 .5 0 0 2\n .5 0 0 .5 1 0 2\n}\n", "w.ifs").get("x")
    np.testing.assert_allclose(ifs.p, [0.5, 0.5])


def test_absent_probabilities_default_to_abs_det():
    A = np.array([[[0.5, 0], [0, 0.5]], [[-0.5, 0.0], [0.0, 0.25]]])  # |det| 0.25 and 0.125
    with no_warnings():
        ifs = IFS(A, np.zeros((2, 2)))
    np.testing.assert_allclose(ifs.p, [2 / 3, 1 / 3])


def test_absent_probabilities_floor_for_degenerate_maps():
    fern = yaml_ifs(
        """maps:
  - [0, 0, 0, 0.16, 0, 0]
  - [0.85, 0.04, -0.04, 0.85, 0, 1.6]
  - [0.2, -0.26, 0.23, 0.22, 0, 1.6]
  - [-0.15, 0.28, 0.26, 0.24, 0, 0.44]
"""
    )
    assert fern.p[0] > 0  # the stem (det 0) is still visited
    assert math.isclose(fern.p.sum(), 1.0)
    assert fern.p[1] == fern.p.max()
    # all maps degenerate: still a valid distribution
    flat = IFS([[[1, 0], [0, 0]], [[0, 0], [0, 0.5]]], [[0, 0], [1, 1]])
    assert np.all(flat.p > 0) and math.isclose(flat.p.sum(), 1.0)


def test_negative_probability_is_an_error():
    A = np.repeat(0.5 * np.eye(2)[None], 2, axis=0)
    with pytest.raises(FormatError, match="negative"):
        IFS(A, np.zeros((2, 2)), [-0.5, 1.5])
    with pytest.raises(FormatError, match=r"neg\.yaml:3:.*negative"):
        yaml_ifs("maps:\n  - [0.5, 0, 0, 0.5, 0, 0, 1.5]\n  - [0.5, 0, 0, 0.5, 1, 0, -0.5]\n", "neg.yaml")
    with pytest.raises(FormatError, match="negative"):
        parse_json('{"maps": [{"A": [[0.5, 0], [0, 0.5]], "b": [0, 0], "p": -1}]}')
    library = parse_fractint("x {\n .5 0 0 .5 0 0 -1\n .5 0 0 .5 1 0 2\n}\n", "n.ifs")
    assert "x" in library.errors and "negative" in str(library.errors["x"])


def test_all_zero_probabilities_is_an_error():
    with pytest.raises(FormatError):
        IFS(np.repeat(0.5 * np.eye(2)[None], 2, axis=0), np.zeros((2, 2)), [0, 0])


# ---------------------------------------------------------------------------------------------
# Point clouds
# ---------------------------------------------------------------------------------------------
def _cloud(dim: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    pts = rng.normal(size=(500, dim)) * [1.0, 1e-3, 1e3][:dim]
    pts[0] = [0.1 + 0.2, 1 / 3, -1e-300][:dim]
    return pts


@pytest.mark.parametrize("suffix", [".npy", ".csv", ".ply"])
@pytest.mark.parametrize("dim", [2, 3])
def test_point_cloud_round_trip(tmp_path, suffix, dim):
    if suffix == ".ply":
        pytest.importorskip("open3d")
    pts = _cloud(dim)
    path = ifskit.save_points(pts, tmp_path / f"cloud{suffix}")
    back = ifskit.load_points(path)
    assert back.shape == pts.shape
    if suffix == ".ply":
        np.testing.assert_allclose(back, pts, rtol=1e-12, atol=0)
    else:
        np.testing.assert_array_equal(back, pts)


def test_point_cloud_2d_stored_with_zero_z_reads_back_2d(tmp_path):
    pytest.importorskip("open3d")
    import open3d as o3d

    pts = _cloud(2)
    ifskit.save_points(pts, tmp_path / "flat.ply")
    stored = np.asarray(o3d.io.read_point_cloud(str(tmp_path / "flat.ply")).points)
    assert stored.shape == (len(pts), 3) and not np.any(stored[:, 2])
    assert ifskit.load_points(tmp_path / "flat.ply").shape == (len(pts), 2)
    # a 3D cloud with z = 0 written explicitly also reads back as 2D
    np.save(tmp_path / "z0.npy", np.column_stack([pts, np.zeros(len(pts))]))
    back = ifskit.load_points(tmp_path / "z0.npy")
    np.testing.assert_array_equal(back, pts)
    # but a single non-zero z keeps it 3D
    pts3 = np.column_stack([pts, np.zeros(len(pts))])
    pts3[10, 2] = 1e-9
    ifskit.save_points(pts3, tmp_path / "almost.ply")
    assert ifskit.load_points(tmp_path / "almost.ply").shape == (len(pts), 3)


def test_point_cloud_of_a_render_round_trips(tmp_path):
    pts = ifskit.chaos_game(ifskit.catalog("sierpinski"), 2000, seed=0)
    ifskit.save_points(pts, tmp_path / "s.npy")
    np.testing.assert_array_equal(ifskit.load_points(tmp_path / "s.npy"), pts)


def test_point_cloud_errors(tmp_path):
    with pytest.raises(FormatError):
        ifskit.save_points(np.zeros((5, 4)), tmp_path / "x.npy")
    with pytest.raises(FormatError):
        ifskit.save_points(np.zeros((5, 2)), tmp_path / "x.bmp")
    with pytest.raises(FormatError):
        ifskit.load_points(tmp_path / "missing.npy")
    (tmp_path / "nan.csv").write_text("x,y\n1,2\nnan,3\n")
    with pytest.raises(FormatError):
        ifskit.load_points(tmp_path / "nan.csv")
    assert files_in(tmp_path) == {Path("nan.csv")}


# ---------------------------------------------------------------------------------------------
# load(): catalog names, sources, errors
# ---------------------------------------------------------------------------------------------
def test_load_catalog_names():
    names = ifskit.catalog_names()
    for expected in ["sierpinski", "sierpinski_carpet", "barnsley_fern", "maple_leaf", "heighway_dragon",
                     "koch_curve", "sierpinski_tetrahedron", "menger_sponge"]:  # fmt: skip
        assert expected in names
    for name in names:
        ifs = ifskit.load(name)
        assert ifs == ifskit.catalog(name)
        assert ifs.name == name
    assert ifskit.load("sierpinski_tetrahedron").dim == 3
    fern = ifskit.load("barnsley_fern")
    assert ifskit.load(fern) is fern


def test_load_unknown_catalog_name_suggests():
    with pytest.raises(UnknownNameError) as info:
        ifskit.load("sierpinsky")
    assert "sierpinski" in str(info.value)
    with pytest.raises(UnknownNameError, match="barnsley_fern"):
        ifskit.catalog("barnsly_fern")


def test_load_file_errors(tmp_path):
    with pytest.raises(FormatError, match="missing.yaml"):
        ifskit.load(tmp_path / "missing.yaml")
    (tmp_path / "x.toml").write_text("a = 1\n")
    with pytest.raises(FormatError, match="toml"):
        ifskit.load(tmp_path / "x.toml")
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(FormatError, match="empty.yaml"):
        ifskit.load(tmp_path / "empty.yaml")
    (tmp_path / "bin.yaml").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(FormatError, match="bin.yaml"):
        ifskit.load(tmp_path / "bin.yaml")
    (tmp_path / "latin.ifs").write_bytes(b"caf\xe9 {\n .5 0 0 .5 0 0 1\n}\n")
    with pytest.raises(FormatError, match="latin.ifs"):
        ifskit.load(tmp_path / "latin.ifs")
    (tmp_path / "one.yaml").write_text("maps:\n  - [0.5, 0, 0, 0.5, 0, 0]\n")
    with pytest.raises(ifskit.ParameterError, match="one.yaml"):
        ifskit.load(tmp_path / "one.yaml", name="x")  # name is for .ifs files


# ---------------------------------------------------------------------------------------------
# Safe outputs
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".yaml", ".json", ".ifs"])
def test_save_does_not_overwrite_without_permission(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    path.write_text("precious\n")
    with pytest.raises(OutputError):
        ifskit.save(ifskit.catalog("sierpinski"), path)
    assert path.read_text() == "precious\n"
    assert files_in(tmp_path) == {Path(path.name)}
    ifskit.save(ifskit.catalog("sierpinski"), path, overwrite=True)
    assert ifskit.load(path).allclose(ifskit.catalog("sierpinski"))
    assert files_in(tmp_path) == {Path(path.name)}


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_save_points_does_not_overwrite_without_permission(tmp_path, suffix):
    path = tmp_path / f"pts{suffix}"
    path.write_text("precious\n")
    with pytest.raises(OutputError):
        ifskit.save_points(np.zeros((3, 2)) + 1, path)
    assert path.read_text() == "precious\n"
    ifskit.save_points(np.ones((3, 2)), path, overwrite=True)
    np.testing.assert_array_equal(ifskit.load_points(path), np.ones((3, 2)))
    assert files_in(tmp_path) == {Path(path.name)}


def test_save_errors_leave_nothing_behind(tmp_path):
    with pytest.raises(FormatError):
        ifskit.save(ifskit.catalog("sierpinski"), tmp_path / "x.toml")
    with pytest.raises(OutputError):
        ifskit.save(ifskit.catalog("sierpinski"), tmp_path / "no" / "x.yaml")
    assert files_in(tmp_path) == set()


def test_saved_files_get_ordinary_permissions(tmp_path):
    """Atomic writes must not leave files readable by their owner only (mkstemp's 0600)."""
    reference = tmp_path / "reference.txt"
    reference.write_text("x")  # created the ordinary way: 0666 & ~umask
    expected = reference.stat().st_mode & 0o777
    ifskit.save(ifskit.catalog("sierpinski"), tmp_path / "s.yaml")
    ifskit.save_points(np.ones((3, 2)), tmp_path / "s.npy")
    for name in ["s.yaml", "s.npy"]:
        assert oct((tmp_path / name).stat().st_mode & 0o777) == oct(expected), name
    assert os.access(tmp_path / "s.yaml", os.R_OK)
