"""ifskit dimension and the dimension figures of ifskit info."""

import json

import numpy as np
import pytest
from PIL import Image


def test_dimension_of_an_ifs_with_plot(cli, tmp_path, capsys):
    plot = tmp_path / "dim.png"
    assert cli("dimension", "sierpinski_carpet", "--points", "500000", "--plot", plot, "--json") == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["box_dimension"] == pytest.approx(np.log(8) / np.log(3), rel=0.03)
    assert figures["similarity_dimension"] == pytest.approx(np.log(8) / np.log(3))
    assert Image.open(plot).format == "PNG"


def test_dimension_of_a_point_cloud_file(cli, tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "square.npy", rng.random((200_000, 2)))
    assert cli("dimension", tmp_path / "square.npy", "--json") == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["box_dimension"] == pytest.approx(2.0, rel=0.03)
    assert "similarity_dimension" not in figures


def test_too_small_cloud_is_one_clear_error(cli, tmp_path, capsys):
    np.save(tmp_path / "few.npy", np.random.default_rng(0).random((10, 2)))
    capsys.readouterr()
    assert cli("dimension", tmp_path / "few.npy", "--plot", tmp_path / "p.png") == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("ifskit: error:")
    assert not (tmp_path / "p.png").exists()


def test_info_gives_similarity_bounds(cli, capsys):
    assert cli("info", "barnsley_fern", "--json") == 0
    figures = json.loads(capsys.readouterr().out)
    lower, upper = figures["similarity_dimension_bounds"]
    assert lower < upper == pytest.approx(figures["similarity_dimension"])
