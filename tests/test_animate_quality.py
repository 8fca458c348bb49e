"""Movies people want to watch (issue 20): even pacing, framing, loops, log interpolation, blur, colour."""

import numpy as np
import pytest

import ifskit
from ifskit.animate import KeyframePath, Morph, make_movie, movie_figures, plan_movie, render_movie_frames
from ifskit.animate.pacing import frame_times, recalibrated, survey

SIZE = (96, 96)
POINTS = 60_000
PAIRS = [("sierpinski", "barnsley_fern"), ("koch_curve", "maple_leaf"), ("menger_sponge", "sierpinski_tetrahedron")]


def figures(a, b, n_frames=24, loop=False, **options):
    path = KeyframePath([ifskit.catalog(a), ifskit.catalog(b)], loop=loop)
    plan = plan_movie(path, n_frames, SIZE, POINTS, 0, **options)
    return movie_figures(render_movie_frames(plan, SIZE, POINTS, 0), loop=loop)


@pytest.mark.parametrize("pair", PAIRS, ids=["-".join(p) for p in PAIRS])
def test_even_change_and_filled_frames(pair):
    """Largest frame-to-frame change <= 2x the median (mean absolute RGB difference); lit box >= 60%."""
    found = figures(*pair)
    assert found["max_over_median"] <= 2.0, found
    assert found["min_span"] >= 0.6, found


def test_linear_pacing_and_fixed_framing_fail_the_targets():
    """The old behaviour, for contrast: the change piles up and the triangle is a few pixels."""
    found = figures("sierpinski", "barnsley_fern", pacing="linear", framing="fixed")
    assert found["max_over_median"] > 2.0 and found["min_span"] < 0.6


@pytest.mark.parametrize("pair", PAIRS[:2], ids=["-".join(p) for p in PAIRS[:2]])
def test_loop_has_no_seam(pair):
    found = figures(*pair, loop=True)
    assert found["seam_over_median"] <= 2.0 and found["max_over_median"] <= 2.0, found


@pytest.mark.parametrize("method", ["geometric", "log", "linear"])
def test_loop_of_three_keyframes_has_no_seam(method):
    """A periodic spline through three keyframes: the seam is a step like the others."""
    keys = [ifskit.catalog(n) for n in ("barnsley_fern", "maple_leaf", "heighway_dragon")]
    plan = plan_movie(KeyframePath(keys, method=method, loop=True), 36, SIZE, POINTS, 0)
    found = movie_figures(render_movie_frames(plan, SIZE, POINTS, 0), loop=True)
    assert found["seam_over_median"] <= 2.0 and found["max_over_median"] <= 2.0, found


@pytest.mark.parametrize("d", [2, 3])
def test_log_interpolation_is_contractive_and_takes_the_shorter_arc(d, rng):
    for _ in range(5):
        k = 3
        A = rng.normal(size=(k, d, d))
        A *= rng.uniform(0.2, 0.9, size=(k, 1, 1)) / np.linalg.norm(A, ord=2, axis=(1, 2))[:, None, None]
        B = rng.normal(size=(k, d, d))
        B *= rng.uniform(0.2, 0.9, size=(k, 1, 1)) / np.linalg.norm(B, ord=2, axis=(1, 2))[:, None, None]
        a, b = ifskit.IFS(A, rng.normal(size=(k, d))), ifskit.IFS(B, rng.normal(size=(k, d)))
        morph = Morph(a, b, "log")
        bound = np.maximum(morph.start.contraction_factors, morph.end.contraction_factors)
        for t in np.linspace(0.01, 0.99, 9):
            assert np.all(morph(t).contraction_factors <= bound + 1e-12)
    # a similarity turned by 350 degrees turns back 10, its scale geometric
    c, s = np.cos(np.radians(350)), np.sin(np.radians(350))
    a = ifskit.IFS([[[0.8, 0], [0, 0.8]]], [[0.0, 0.0]])
    b = ifskit.IFS([0.2 * np.array([[c, -s], [s, c]])], [[0.0, 0.0]])
    mid = Morph(a, b, "log")(0.5).A[0]
    assert np.isclose(np.degrees(np.arctan2(mid[1, 0], mid[0, 0])), -5.0)
    assert np.isclose(np.linalg.norm(mid[:, 0]), 0.4)


def test_even_pacing_spreads_the_measured_change():
    path = KeyframePath([ifskit.catalog("sierpinski"), ifskit.catalog("barnsley_fern")])
    found = survey(path, SIZE)
    times, _, _ = frame_times(found, 11)
    change = np.interp(times, found.u, found.change)
    assert np.allclose(np.diff(change), change[-1] / 10, rtol=1e-6)
    linear, _, _ = frame_times(found, 11, even=False)
    assert np.allclose(linear, np.linspace(0, 1, 11))


def test_recalibration_spreads_the_change_measured_between_frames():
    """Where the survey's coarse samples missed change (a chord is shorter than the arc), frames measured
    to change more get closer together."""
    path = KeyframePath([ifskit.catalog("sierpinski"), ifskit.catalog("barnsley_fern")])
    found = survey(path, SIZE)
    times, _, _ = frame_times(found, 11)
    chords = np.ones(10)
    chords[:2] = 3.0  # the first two steps change three times as much as measured
    again, _, _ = frame_times(recalibrated(found, times, chords), 11)
    assert again[0] == 0 and again[-1] == 1
    assert np.diff(again)[0] < 0.6 * np.diff(times)[0] and np.diff(again)[-1] > np.diff(times)[-1]
    corrected = recalibrated(found, times, chords)
    measured = np.interp(times, corrected.change_u, corrected.change)
    assert np.allclose(np.diff(measured), chords)


@pytest.mark.parametrize("pair", [("barnsley_fern", "tree"), ("tree", "barnsley_fern")])
def test_keyframes_fill_their_frames(pair):
    """The tree is ten times smaller than the fern: still, at its keyframe it fills the frame."""
    keys = [ifskit.catalog(name) for name in pair]
    plan = plan_movie(KeyframePath(keys), 24, SIZE, POINTS, 0)
    for key, window in ((keys[0], plan.bounds[0]), (keys[1], plan.bounds[-1])):
        x0, x1, y0, y1 = ifskit.render.tight_bounds(key)
        extent = max(x1 - x0, y1 - y0)
        assert window[0] <= x0 and x1 <= window[1] and window[2] <= y0 and y1 <= window[3]
        assert window[1] - window[0] < 1.2 * extent


def test_motion_blur_shares_the_points_and_weights(rng):
    path = KeyframePath([ifskit.catalog("sierpinski"), ifskit.catalog("barnsley_fern")])
    found = survey(path, SIZE)
    times, sub, weights = frame_times(found, 5, motion_blur=4, blur="gaussian")
    assert sub.shape == (5, 4) and np.isclose(weights.sum(), 1) and weights[1] > weights[0]
    assert np.all(np.diff(sub[2]) > 0) and sub[2, 0] < times[2] < sub[2, -1]
    plan = plan_movie(path, 3, SIZE, 40_000, 0, motion_blur=4)
    frames = list(render_movie_frames(plan, SIZE, 40_000, 0))
    plain = list(render_movie_frames(plan_movie(path, 3, SIZE, 40_000, 0), SIZE, 40_000, 0))
    assert not np.array_equal(frames[1], plain[1])
    with pytest.raises(ifskit.errors.ParameterError, match="motion_blur"):
        plan_movie(path, 3, SIZE, 40_000, 0, motion_blur=0)


def test_map_colours_follow_the_maps_and_16_bit_frames(tmp_path):
    from ifskit.animate import colored_keyframes, match_maps, palette_colors

    keys = [ifskit.catalog(n) for n in ("sierpinski", "barnsley_fern", "heighway_dragon")]
    colored = colored_keyframes(keys, "tab10")
    assert np.allclose(colored[0].colors, palette_colors("tab10", 3))
    index_a, index_b = match_maps(keys[0], keys[1])
    for i, j in zip(index_a, index_b):
        if np.sum(index_b == j) == 1:
            assert np.allclose(colored[1].colors[j], colored[0].colors[i])
    make_movie(keys[:2], tmp_path / "f", 3, size=32, n_points=20_000, color="map", bit_depth=16)
    data = (tmp_path / "f" / "frame_00001.png").read_bytes()
    assert data[24] == 16 and data[25] == 2  # IHDR: 16 bits, truecolour
    with pytest.raises(ifskit.errors.ParameterError, match="16-bit"):
        make_movie(keys[:2], tmp_path / "m.mp4", 3, size=32, n_points=20_000, bit_depth=16)
    assert not (tmp_path / "m.mp4").exists()


@pytest.mark.parametrize(
    "extra, message",
    [(["--motion-blur", "0"], "--motion-blur"), (["--motion-blur", "-1"], "--motion-blur"),
     (["--framing", "zoom"], "--framing"), (["--interpolation", "cubic"], "--interpolation")],
)  # fmt: skip
def test_cli_bad_movie_options(cli, tmp_path, capsys, extra, message):
    assert cli("interpolate", "sierpinski", "barnsley_fern", "-o", tmp_path / "m.mp4", *extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("ifskit: error: ") and err.count("\n") == 1 and message in err
    assert list(tmp_path.iterdir()) == []


def test_cli_loop_of_one_keyframe(cli, tmp_path, capsys):
    assert cli("interpolate", "sierpinski", "--loop", "-o", tmp_path / "m.gif") == 2
    assert "two keyframes" in capsys.readouterr().err and list(tmp_path.iterdir()) == []


def test_cli_new_options(cli, tmp_path):
    args = ["koch_curve", "maple_leaf", "-o", tmp_path / "m.gif", "--frames", 4, "--size", 32, "--points", "2e4"]
    extra = ["--interpolation", "log", "--framing", "normalize", "--motion-blur", 2, "--color", "map", "--loop"]
    assert cli("interpolate", *args, *extra, "--quiet") == 0


@pytest.mark.parametrize(
    "extra, message",
    [(["--fps", "inf"], "--fps"), (["--fps", "1e-9"], "--fps"), (["--fps", "nan"], "--fps"),
     (["--frames", "1e6"], "--frames"), (["--frames", "4000", "-o", "m.gif"], "GIF")],
)  # fmt: skip
def test_cli_absurd_movie_arguments(cli, tmp_path, capsys, monkeypatch, extra, message):
    """Refused before any work: one line, exit 2, nothing written (issue 22)."""
    monkeypatch.chdir(tmp_path)
    assert cli("interpolate", "sierpinski", "barnsley_fern", "-o", "m.mp4", *extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("ifskit: error: ") and err.count("\n") == 1 and message in err
    assert list(tmp_path.iterdir()) == []


def test_cli_folder_named_like_a_movie_is_never_emptied(cli, tmp_path, capsys):
    folder = tmp_path / "movie.gif"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    args = ["sierpinski", "barnsley_fern", "-o", folder, "--frames", 2, "--size", 16, "--points", 1000]
    assert cli("interpolate", *args, "--overwrite") == 2
    assert "is a folder" in capsys.readouterr().err
    assert [p.name for p in folder.iterdir()] == ["keep.txt"] and sorted(tmp_path.iterdir()) == [folder]


def test_ffmpeg_failure_is_an_error_and_leaves_nothing(tmp_path):
    """ffmpeg's status is checked: a frame rate it refuses is an error, never a 0-byte movie reported written."""
    from ifskit.animate.movie import _write_mp4

    frames = [np.zeros((16, 16, 3), dtype=np.uint8)] * 2
    with pytest.raises(ifskit.errors.OutputError, match="ffmpeg could not write"):
        _write_mp4(frames, tmp_path / "m.mp4", 1e-9, tmp_path / "m.mp4")
    with pytest.raises(ifskit.errors.ParameterError, match="fps"):
        ifskit.animate.write_movie(frames, tmp_path / "n.mp4", fps=float("inf"))
    ifskit.animate.write_movie(frames, tmp_path / "n.mp4", fps=1000.0)
    assert [p.name for p in tmp_path.iterdir() if p.name != "m.mp4"] == ["n.mp4"]
