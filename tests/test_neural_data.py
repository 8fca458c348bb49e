"""Random IFS generator and the synthetic dataset command."""

import json

import numpy as np
import pytest

import ifskit
from ifskit.data.factory import sample_paths
from ifskit.neural.dataset import make_sample


@pytest.mark.parametrize("n_maps", [2, 3, 4, 6])
def test_random_ifs_constraints(n_maps):
    for seed in range(20):
        ifs = ifskit.random_ifs(n_maps, seed=seed)
        sigmas = np.linalg.svd(ifs.A, compute_uv=False)  # (k, 2), decreasing
        assert ifs.n_maps == n_maps and ifs.dim == 2
        assert sigmas.min() >= 0.2 - 1e-12 and sigmas.max() <= 0.7 + 1e-12
        factor = (sigmas[:, 0] + 2 * sigmas[:, 1]).sum()
        assert (5 + n_maps) / 2 - 1e-9 <= factor <= (6 + n_maps) / 2 + 1e-9
        assert np.all(np.abs(ifs.fixed_points) <= 0.75 + 1e-12)
        assert ifs.is_contractive


def test_random_ifs_options_and_3d():
    ifs = ifskit.random_ifs(3, dim=3, seed=1, sigma_range=(0.3, 0.5), fixed_point_box=2.0)
    sigmas = np.linalg.svd(ifs.A, compute_uv=False)
    assert ifs.dim == 3 and sigmas.min() >= 0.3 - 1e-12 and sigmas.max() <= 0.5 + 1e-12
    assert np.all(np.abs(ifs.fixed_points) <= 2.0 + 1e-12)
    # reflections: some maps reverse orientation over a few draws
    dets = np.concatenate([np.linalg.det(ifskit.random_ifs(4, seed=s).A) for s in range(5)])
    assert (dets < 0).any() and (dets > 0).any()


def test_random_ifs_reproducible():
    assert ifskit.random_ifs(4, seed=7) == ifskit.random_ifs(4, seed=7)
    assert ifskit.random_ifs(4, seed=7) != ifskit.random_ifs(4, seed=8)


def test_random_ifs_bad_arguments():
    with pytest.raises(ifskit.IfskitError, match="cannot be reached"):
        ifskit.random_ifs(2, seed=0, sigma_factor=(10, 11))
    with pytest.raises(ifskit.IfskitError, match="sigma_range"):
        ifskit.random_ifs(2, seed=0, sigma_range=(0.5, 1.2))


def test_make_sample_is_a_function_of_seed_and_index():
    ifs_a, points_a = make_sample(5, seed=3, n_points=500)
    make_sample(4, seed=3, n_points=500)  # other samples in between change nothing
    ifs_b, points_b = make_sample(5, seed=3, n_points=500)
    assert ifs_a == ifs_b and np.array_equal(points_a, points_b)
    assert points_a.dtype == np.float32 and points_a.shape == (500, 2)
    assert make_sample(6, seed=3, n_points=500)[0] != ifs_a
    assert all(2 <= make_sample(i, seed=0, n_points=10)[0].n_maps <= 4 for i in range(20))


def test_dataset_command_deterministic_and_resumable(cli, tmp_path, capsys):
    first, second = tmp_path / "a", tmp_path / "b"
    assert cli("dataset", "-o", first, "--count", 6, "--points", 300, "--seed", 2, "--json") == 0
    assert json.loads(capsys.readouterr().out)["written"] == 6
    # the same dataset made in two runs, the first one stopped early
    assert cli("dataset", "-o", second, "--count", 2, "--points", 300, "--seed", 2) == 0
    sample_paths(second, 1, ["npy"])["npy"].unlink()  # as if killed before this file
    capsys.readouterr()
    assert cli("dataset", "-o", second, "--count", 6, "--points", 300, "--seed", 2, "--json") == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["written"] == 5 and figures["skipped"] == 1
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir()) and len(names) == 13  # with manifest.json
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes()
    ifs = ifskit.load(first / "sample_000003.yaml")
    points = np.load(first / "sample_000003.npy")
    assert ifs.allclose(make_sample(3, seed=2, n_points=300)[0]) and points.shape == (300, 2)


def test_dataset_command_formats(cli, tmp_path):
    pytest.importorskip("open3d")
    assert cli("dataset", "-o", tmp_path, "--count", 1, "--points", 200, "--dim", 3, "--format", "ply,png,yaml",
               "--size", 32, "--maps", 3) == 0  # fmt: skip
    assert ifskit.load_points(tmp_path / "sample_000000.ply").shape == (200, 3)
    assert ifskit.load(tmp_path / "sample_000000.yaml").n_maps == 3
    assert (tmp_path / "sample_000000.png").stat().st_size > 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--maps", "4-2"], "K1-K2"),
        (["--format", "npy,jpg"], "some of"),
        (["--count", "0"], "positive"),
        (["--recipe", "nope"], "invalid choice"),
        (["--recipe", "svd", "--dim", "3"], "does not take --dim"),
        (["--recipe", "fractaldb", "--format", "npy"], "writes some of png"),
    ],
)
def test_dataset_command_bad_input(cli, tmp_path, capsys, args, message):
    assert cli("dataset", "-o", tmp_path / "d", "--count", 2, *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("ifskit: error:") and message in err and err.count("\n") == 1


def test_dataset_command_output_is_a_file(cli, tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert cli("dataset", "-o", target, "--count", 1) == 2
    assert "is a file" in capsys.readouterr().err


def test_dataset_command_refuses_another_recipes_folder(cli, tmp_path, capsys):
    assert cli("dataset", "-o", tmp_path, "--count", 2, "--points", 100) == 0
    capsys.readouterr()
    assert cli("dataset", "-o", tmp_path, "--count", 2, "--recipe", "svd", "--size", 16, "--points", 100) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'recipe "clouds"' in err and "choose another folder" in err
