"""``ifskit fit`` on the command line: outputs, figures and every bad input."""

import json

import numpy as np
import pytest

import ifskit

torch = pytest.importorskip("torch")

FAST = ["--steps", "20", "--quiet"]


@pytest.fixture(scope="module")
def triangle_npy(tmp_path_factory):
    path = tmp_path_factory.mktemp("clouds") / "triangle.npy"
    np.save(path, ifskit.chaos_game(ifskit.catalog("sierpinski"), 1500, seed=1, progress=False))
    return path


def _one_error_line(capsys, *fragments):
    err = capsys.readouterr().err
    # (numpy's own warning about an empty table may come first, as an 'ifskit: warning:' line)
    errors = [line for line in err.splitlines() if line.startswith("ifskit: error: ")]
    assert len(errors) == 1 and err.endswith("\n") and errors[0] == err.splitlines()[-1], err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    return err


def test_fit_writes_the_ifs_and_prints_the_figures(cli, capsys, tmp_path, triangle_npy):
    out = tmp_path / "fit.yaml"
    assert cli("fit", triangle_npy, "--maps", "3", "-o", out, "--json", "--plot", tmp_path / "fit.png", *FAST) == 0
    figures = json.loads(capsys.readouterr().out)
    for key in ("collage_error", "contraction", "bound", "attractor_chamfer", "attractor_hausdorff", "iou", "seconds"):
        assert isinstance(figures[key], float)
    assert figures["n_maps"] == 3 and figures["output"] == str(out)
    assert figures["attractor_hausdorff"] <= figures["bound"] and 0.5 < figures["iou"] <= 1.0
    ifs = ifskit.load(out)
    assert ifs.n_maps == 3 and ifs.name == "fit of triangle"
    assert ifs.contraction == pytest.approx(figures["contraction"])
    assert (tmp_path / "fit.png").stat().st_size > 0


def test_text_output_names_the_figures(cli, capsys, tmp_path, triangle_npy):
    assert cli("fit", triangle_npy, "--maps", "2", "-o", tmp_path / "fit.json", *FAST) == 0
    out = capsys.readouterr().out
    assert "2 maps" in out and "collage error" in out and "bound" in out
    assert ifskit.load(tmp_path / "fit.json").n_maps == 2


def test_auto_says_which_number_of_maps_won(cli, capsys, tmp_path, triangle_npy):
    assert cli("fit", triangle_npy, "--maps", "auto", "-o", tmp_path / "fit.yaml", "--steps", "5", "--json") == 0
    figures = json.loads(capsys.readouterr().out)
    scores = figures["auto_scores"]
    assert {"1", "2", "3", "4", "5", "6"} <= set(scores)  # and the counts of the coverage fits
    assert figures["n_maps"] == int(min(scores, key=scores.get))


@pytest.mark.parametrize(("max_maps", "hint"), [("2", True), ("16", False)])
def test_auto_says_when_it_used_every_map_allowed(cli, capsys, tmp_path, triangle_npy, max_maps, hint):
    args = ["--maps", "auto", "--max-maps", max_maps, "--steps", "5", "--quiet"]
    assert cli("fit", triangle_npy, *args, "-o", tmp_path / "fit.yaml") == 0
    out = capsys.readouterr().out
    assert "maps won" in out and ("all that --max-maps allows" in out) == hint, out


@pytest.mark.parametrize("suffix", [".ply", ".pcd", ".xyz", ".csv", ".txt"])
def test_reads_every_point_cloud_format(cli, capsys, tmp_path, suffix):
    cloud = tmp_path / f"cloud{suffix}"
    ifskit.save_points(ifskit.chaos_game(ifskit.catalog("sierpinski_tetrahedron"), 600, progress=False), cloud)
    assert cli("fit", cloud, "--maps", "4", "-o", tmp_path / "fit.yaml", "--steps", "2", "--json") == 0
    assert json.loads(capsys.readouterr().out)["n_maps"] == 4
    assert ifskit.load(tmp_path / "fit.yaml").dim == 3


def test_existing_output_is_kept_without_overwrite(cli, capsys, tmp_path, triangle_npy):
    out = tmp_path / "fit.yaml"
    out.write_text("keep me")
    assert cli("fit", triangle_npy, "--maps", "3", "-o", out, *FAST) == 2
    _one_error_line(capsys, "exists already")
    assert out.read_text() == "keep me"
    assert cli("fit", triangle_npy, "--maps", "3", "-o", out, "--overwrite", *FAST) == 0
    assert ifskit.load(out).n_maps == 3


def test_existing_plot_is_checked_before_any_work(cli, capsys, tmp_path, triangle_npy):
    plot = tmp_path / "fit.png"
    plot.write_bytes(b"old")
    assert cli("fit", triangle_npy, "--maps", "3", "-o", tmp_path / "fit.yaml", "--plot", plot, *FAST) == 2
    _one_error_line(capsys, "exists already")
    assert not (tmp_path / "fit.yaml").exists() and plot.read_bytes() == b"old"


def _write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "make, fragments",
    [
        (lambda d: _write(d / "empty.csv", ""), ["empty.csv"]),
        (lambda d: _write(d / "few.csv", "0,0\n1,0\n0,1\n"), ["few.csv", "at least 8 points"]),
        (lambda d: _write(d / "nan.csv", "0,0\n1,nan\n0,1\n" * 10), ["nan.csv", "NaN"]),
        (lambda d: _write(d / "inf.csv", "0,0\n0,1\n1,-inf\n" * 10), ["inf.csv", "infinite"]),
        (lambda d: _write(d / "same.csv", "1,2\n" * 50), ["same.csv", "identical"]),
        (lambda d: _write(d / "line.csv", "1\n2\n3\n" * 10), ["line.csv", "2 or 3"]),
        (lambda d: _write(d / "garbage.ply", "this is not a ply file\n"), ["garbage.ply"]),
        (lambda d: d / "missing.npy", ["missing.npy", "no such file"]),
        (lambda d: _write(d / "cloud.obj", "v 0 0 0\n"), ["cloud.obj", "unknown point-cloud type"]),
    ],
    ids=["empty", "too-few", "nan", "inf", "identical", "1d", "unreadable", "missing", "unknown-type"],
)
def test_bad_clouds_are_one_line_errors(cli, capsys, tmp_path, make, fragments):
    out = tmp_path / "fit.yaml"
    assert cli("fit", make(tmp_path), "--maps", "3", "-o", out, *FAST) == 2
    _one_error_line(capsys, *fragments)
    assert not out.exists()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--maps", "0"], "--maps"),
        (["--maps", "three"], "--maps"),
        (["--maps", "3", "--max-contraction", "1.5"], "--max-contraction"),
        (["--maps", "3", "--steps", "0"], "--steps"),
        (["--maps", "3", "--loss", "l1"], "--loss"),
        (["--maps", "3", "--seed", "-1"], "--seed"),
    ],
)
def test_bad_options_are_one_line_errors(cli, capsys, tmp_path, triangle_npy, args, fragment):
    out = tmp_path / "fit.yaml"
    assert cli("fit", triangle_npy, "-o", out, *args) == 2
    _one_error_line(capsys, fragment)
    assert not out.exists()


def test_bad_device_is_a_one_line_error_before_reading_the_cloud(cli, capsys, tmp_path):
    out = tmp_path / "fit.yaml"
    assert cli("fit", tmp_path / "missing.npy", "--maps", "3", "-o", out, "--device", "gpu") == 2
    err = _one_error_line(capsys, "device")
    assert "missing.npy" not in err and not out.exists()


def test_bad_setting_is_not_blamed_on_the_cloud(cli, capsys, tmp_path, triangle_npy):
    assert cli("fit", triangle_npy, "--maps", "3", "-o", tmp_path / "fit.yaml", "--max-contraction", "1.5") == 2
    err = _one_error_line(capsys, "--max-contraction")
    assert triangle_npy.name not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_a_one_line_error(cli, capsys, tmp_path, triangle_npy):
    assert cli("fit", triangle_npy, "--maps", "3", "-o", tmp_path / "fit.yaml", "--device", "cuda") == 2
    _one_error_line(capsys, "CUDA is not available")


def test_large_cloud_is_subsampled_with_a_note(cli, capsys, tmp_path):
    cloud = tmp_path / "big.npy"
    np.save(cloud, np.random.default_rng(0).uniform(size=(ifskit.fitting.checks.MAX_POINTS + 5, 2)))
    assert cli("fit", cloud, "--maps", "2", "-o", tmp_path / "fit.yaml", "--steps", "1", "--quiet", "--json") == 0
    captured = capsys.readouterr()
    assert "ifskit: warning:" in captured.err and "subsampled" in captured.err
    assert "Traceback" not in captured.err
    assert "subsampled" in json.loads(captured.out)["notes"][0]


@pytest.mark.parametrize(
    ("make", "says"),
    [
        # a 2D shape tilted into 3D: fitted in its plane
        (
            lambda rng: (
                np.column_stack([rng.uniform(size=(800, 2)), np.zeros(800)])
                @ [[0.6, 0.8, 0], [-0.8, 0.6, 0], [0, 0, 1.0]]
                @ [[1, 0, 0], [0, 0.6, 0.8], [0, -0.8, 0.6]]
            ),
            "lies in a plane",
        ),
        (lambda rng: np.repeat(rng.uniform(size=(200, 2)), 5, axis=0), "800 repeated points were dropped"),
        (lambda rng: np.concatenate([rng.uniform(size=(800, 2)), [[9.0, 9.0], [-8.0, 5.0]]]), "2 stray points"),
    ],
)
def test_what_was_done_to_the_cloud_is_a_warning_line(cli, capsys, tmp_path, make, says):
    """The notes of the fit reach a user of the text output too, one stderr line each, exit 0."""
    cloud = tmp_path / "cloud.npy"
    np.save(cloud, make(np.random.default_rng(0)))
    assert cli("fit", cloud, "--maps", "2", "-o", tmp_path / "fit.yaml", *FAST) == 0
    captured = capsys.readouterr()
    warned = [line for line in captured.err.splitlines() if line.startswith("ifskit: warning:")]
    assert len(warned) == 1 and says in warned[0], captured.err
    assert "Traceback" not in captured.err and "wrote" in captured.out


def test_bad_output_type_is_refused(cli, capsys, tmp_path, triangle_npy):
    assert cli("fit", triangle_npy, "--maps", "3", "-o", tmp_path / "fit.png", *FAST) == 2
    _one_error_line(capsys, "unknown output type")


def test_help_explains_the_collage_theorem(cli, capsys):
    assert cli("fit", "--help") == 0
    out = capsys.readouterr().out
    assert "collage" in out and "--maps" in out and "--max-contraction" in out
