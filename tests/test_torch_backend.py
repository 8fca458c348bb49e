"""The torch chaos game (``device=``): same statistics as the Numba renderer, on the CPU build of torch."""

import json

import numpy as np
import pytest

import ifskit
from ifskit.errors import IfskitError
from ifskit.render import aggregate, map_colors
from ifskit.render.torch_backend import torch_device

torch = pytest.importorskip("torch")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def total_variation(a: np.ndarray, b: np.ndarray) -> float:
    """Total variation distance between two histograms, each normalized to sum 1."""
    return 0.5 * float(np.abs(a / a.sum() - b / b.sum()).sum())


@pytest.mark.parametrize("name", ["sierpinski", "barnsley_fern"])
def test_same_statistics_as_numba(name):
    ifs = ifskit.catalog(name)
    numba_counts = ifskit.density(ifs, 128, 10**7, seed=1)
    torch_counts = ifskit.density(ifs, 128, 10**7, seed=1, device="torch-cpu")
    assert torch_counts.dtype == np.uint64 and torch_counts.shape == (128, 128)
    assert total_variation(numba_counts, torch_counts) < 0.02
    # a wrong measure is far off: the fern drawn with uniform map probabilities
    if name == "barnsley_fern":
        uniform = ifskit.IFS(A=ifs.A, b=ifs.b, p=np.full(ifs.n_maps, 1 / ifs.n_maps))
        assert total_variation(numba_counts, ifskit.density(uniform, 128, 10**6, device="torch-cpu")) > 0.1


def test_every_point_counted_once(sierpinski):
    # not a multiple of the chains: the last step keeps only the chains still needed
    n_points = 3 * 1024 * 7 + 5
    counts = ifskit.density(sierpinski, 32, n_points, device="torch-cpu")
    assert int(counts.sum()) == n_points  # the default frame holds the whole attractor


def test_same_seed_same_counts(fern):
    first = ifskit.density(fern, 48, 300_000, seed=7, device="torch-cpu")
    again = ifskit.density(fern, 48, 300_000, seed=7, device="torch-cpu")
    other = ifskit.density(fern, 48, 300_000, seed=8, device="torch-cpu")
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_depth_and_colors_follow_numba():
    sponge = ifskit.catalog("menger_sponge")
    here = aggregate(sponge, 64, 2_000_000, seed=2)
    there = aggregate(sponge, 64, 2_000_000, seed=2, device="torch-cpu")
    assert total_variation(here.counts, there.counts) < 0.03
    hit = (here.counts > 50) & (there.counts > 50)
    # the depth buffer keeps the nearest hit of each pixel: close, not equal, where hits are many
    assert np.median(np.abs(here.depth - there.depth)[hit]) < 0.005

    fern = ifskit.catalog("barnsley_fern")
    colors = map_colors(fern, None)
    here = aggregate(fern, 64, 2_000_000, seed=2, map_colors=colors)
    there = aggregate(fern, 64, 2_000_000, seed=2, map_colors=colors, device="torch-cpu")
    hit = (here.counts > 200) & (there.counts > 200)
    assert np.abs(here.color - there.color)[hit].mean() < 0.01


def test_escaping_chains_restart():
    # a map that is not contractive but the IFS is on average: chains that escape start over
    ifs = ifskit.IFS(A=np.array([np.eye(2) * 1.5, np.eye(2) * 0.3]), b=np.zeros((2, 2)), p=np.array([0.1, 0.9]))
    counts = ifskit.density(ifs, 16, 100_000, bounds=(-1, 1, -1, 1), device="torch-cpu")
    assert 0 < int(counts.sum()) <= 100_000


def test_cli_device_torch_cpu(cli, tmp_path, capsys):
    out = tmp_path / "fern.png"
    assert (
        cli("render", "barnsley_fern", "-o", out, "--points", 200_000, "--size", 64, "--device", "torch-cpu", "--json")
        == 0
    )
    figures = json.loads(capsys.readouterr().out)
    assert figures["device"] == "torch-cpu" and out.stat().st_size > 0


def test_cli_unknown_device(cli, tmp_path, capsys):
    assert cli("render", "sierpinski", "-o", tmp_path / "out.png", "--device", "gpu") == 2
    err = capsys.readouterr().err
    assert err.startswith("ifskit: error: --device must be one of") and err.count("\n") == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present")
def test_cuda_absent_is_a_clear_error(cli, tmp_path, capsys):
    with pytest.raises(IfskitError, match="CUDA is not available"):
        torch_device("cuda")
    assert cli("render", "sierpinski", "-o", tmp_path / "out.png", "--device", "cuda") == 2
    assert "CUDA is not available" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()


@needs_cuda
def test_cuda_same_statistics_as_numba(fern):
    numba_counts = ifskit.density(fern, 128, 10**7, seed=1)
    cuda_counts = ifskit.density(fern, 128, 10**7, seed=1, device="cuda")
    assert total_variation(numba_counts, cuda_counts) < 0.02
    assert np.array_equal(cuda_counts, ifskit.density(fern, 128, 10**7, seed=1, device="cuda"))
