"""Families of pictures (ifskit transform), several 3D views in one PNG, and ifskit view."""

import numpy as np
import pytest
from PIL import Image

import ifskit
from ifskit.geometry import linear_map


def test_linear_map_convention():
    np.testing.assert_allclose(linear_map(2, 0.5, 90), [[0, -0.5], [0.5, 0]], atol=1e-15)
    np.testing.assert_allclose(linear_map(2, 1.0, 0, shear=0.5, flip="x"), [[-1, 0.5], [0, 1]])
    np.testing.assert_allclose(linear_map(3, 2.0, (0, 0, 90)), [[0, -2, 0], [2, 0, 0], [0, 0, 2]], atol=1e-15)
    with pytest.raises(ifskit.ParameterError, match="2D maps only"):
        linear_map(3, 1.0, (0, 0, 0), shear=1.0)


def test_transform_writes_the_conjugated_ifs(cli, tmp_path, capsys):
    out = tmp_path / "fern_t.yaml"
    assert cli("transform", "barnsley_fern", "--rotate", "30", "--scale", "0.5", "--translate", "1,2", "-o", out) == 0
    moved, fern = ifskit.load(out), ifskit.catalog("barnsley_fern")
    t = linear_map(2, 0.5, 30)
    # the attractor of the new IFS is t(attractor): compare the images of the fern's points
    np.testing.assert_allclose(moved.fixed_points, fern.fixed_points @ t.T + [1, 2], atol=1e-12)
    ours = ifskit.chaos_game(moved, 50_000, seed=2)
    theirs = ifskit.chaos_game(fern, 50_000, seed=2) @ t.T + [1, 2]
    np.testing.assert_allclose(ours, theirs, atol=1e-9)  # same seed, same map choices: the same points


def test_transform_bad_input(cli, tmp_path, capsys):
    capsys.readouterr()
    assert cli("transform", "barnsley_fern", "--scale", "0", "-o", tmp_path / "z.yaml") == 2
    assert "singular" in capsys.readouterr().err
    assert cli("transform", "barnsley_fern", "--translate", "1,2,3", "-o", tmp_path / "z.yaml") == 2
    assert "2 numbers" in capsys.readouterr().err
    assert not (tmp_path / "z.yaml").exists()


def test_render_views_makes_a_grid(cli, tmp_path):
    out = tmp_path / "views.png"
    assert cli("render", "sierpinski_tetrahedron", "--views", "--size", "64", "--points", "100000", "-o", out) == 0
    assert Image.open(out).size == (128, 128)
    assert cli("render", "sierpinski", "--views", "--size", "64", "-o", tmp_path / "flat.png") == 2
    assert not (tmp_path / "flat.png").exists()


def test_view_without_display_says_so(cli, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    capsys.readouterr()
    assert cli("view", "menger_sponge") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no graphical display" in err[0]


@pytest.mark.parametrize("command", ["transform", "view"])
def test_help(cli, command):
    assert cli(command, "--help") == 0
