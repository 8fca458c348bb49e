"""ifskit render --method deterministic / measure: pictures, frames, start images, point sets, bad input."""

import json

import numpy as np
import pytest
from PIL import Image

import ifskit


def test_deterministic_png_with_frames(cli, tmp_path, capsys):
    out, frames = tmp_path / "s.png", tmp_path / "steps"
    args = ("render", "sierpinski", "--method", "deterministic", "--start", "ellipse", "--iterations", "5")
    assert cli(*args, "--frames", frames, "--size", "96", "-o", out, "--json") == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["iterations"] == 5 and figures["output"] == str(out)
    assert Image.open(out).size == (96, 96)
    assert sorted(p.name for p in frames.iterdir()) == [f"step_{i:03d}.png" for i in range(6)]
    # a second run into a folder holding one frame of the first: refused before anything is written
    for p in frames.iterdir():
        if p.name != "step_004.png":
            p.unlink()
    before = {p.name: p.read_bytes() for p in frames.iterdir()}
    other = tmp_path / "t.png"
    assert cli(*args, "--frames", frames, "--size", "64", "-o", other) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds frames already" in err and "--overwrite" in err
    assert {p.name: p.read_bytes() for p in frames.iterdir()} == before and not other.exists()
    # with --overwrite, every frame is the new run's
    assert cli(*args, "--frames", frames, "--size", "64", "-o", other, "--overwrite") == 0
    assert all(Image.open(p).size == (64, 64) for p in frames.iterdir())


def test_start_image_gives_the_same_attractor(cli, tmp_path):
    # a dark ring on white: any start converges to the same picture
    yy, xx = np.mgrid[:80, :80]
    ring = np.where(np.abs(np.hypot(xx - 40, yy - 40) - 25) < 4, 0, 255).astype(np.uint8)
    Image.fromarray(ring).save(tmp_path / "ring.png")
    common = ("--method", "deterministic", "--size", "96", "--iterations", "30")
    assert cli("render", "sierpinski", *common, "--start", tmp_path / "ring.png", "-o", tmp_path / "a.png") == 0
    assert cli("render", "sierpinski", *common, "--start", "square", "-o", tmp_path / "b.png") == 0
    a = np.asarray(Image.open(tmp_path / "a.png"))[..., 0] > 40
    b = np.asarray(Image.open(tmp_path / "b.png"))[..., 0] > 40
    assert np.mean(a != b) < 0.01


def test_measure_png_and_point_sets(cli, tmp_path):
    assert cli("render", "barnsley_fern", "--method", "measure", "--size", "64", "-o", tmp_path / "m.png") == 0
    assert Image.open(tmp_path / "m.png").size == (64, 64)
    assert cli("render", "sierpinski_tetrahedron", "--method", "deterministic", "-o", tmp_path / "t.npy") == 0
    points = np.load(tmp_path / "t.npy")
    assert points.shape[1] == 3 and 1000 < len(points) < 4_000_000
    assert (
        cli("render", "sierpinski_tetrahedron", "--method", "deterministic", "--size", "64", "-o", tmp_path / "t.png")
        == 0
    )


def test_aggregate_points_matches_chaos_framing():
    fern = ifskit.catalog("barnsley_fern")
    points = ifskit.chaos_game(fern, 50_000, seed=3)
    agg = ifskit.render.aggregate_points(fern, points, (40, 30))
    assert int(agg.counts.sum()) == 50_000
    # the same window as the chaos game's own picture, and the same measure in it (the density kernel
    # runs its own chains, so the counts agree in distribution, not point for point)
    chaos = ifskit.render.aggregate(fern, (40, 30), 50_000, seed=3)
    assert agg.bounds == chaos.bounds
    total_variation = 0.5 * np.abs(agg.counts / agg.counts.sum() - chaos.counts / chaos.counts.sum()).sum()
    assert total_variation < 0.05


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--iterations", "0"), "iterations"),
        (("--start", "missing.png"), "no such image"),
        (("--start", "blank.png"), "blank"),
        (("--start", "garbage.png"), "cannot read"),
        (("--color", "map"), "chaos game"),
    ],
)
def test_bad_deterministic_input(cli, tmp_path, capsys, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    Image.fromarray(np.full((10, 10), 200, np.uint8)).save("blank.png")
    (tmp_path / "garbage.png").write_bytes(b"\x00\x01 not an image")
    before = set(tmp_path.iterdir())
    capsys.readouterr()
    assert cli("render", "sierpinski", "--method", "deterministic", "--size", "32", *extra, "-o", "out.png") == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("ifskit: error:") and message in err[0]
    assert set(tmp_path.iterdir()) == before


def test_deterministic_needs_a_contractive_ifs(cli, tmp_path, capsys):
    expanding = tmp_path / "avg.yaml"
    expanding.write_text("maps:\n  - [1.2, 0, 0, 1.2, 0, 0, 0.2]\n  - [0.3, 0, 0, 0.3, 1, 0, 0.8]\n")
    capsys.readouterr()
    assert cli("render", expanding, "--method", "deterministic", "-o", tmp_path / "x.png") == 2
    assert "s < 1" in capsys.readouterr().err
