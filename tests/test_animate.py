"""Interpolation between IFS, keyframe paths and movies (issue 6)."""

import json

import numpy as np
import pytest

import ifskit
from ifskit.animate import (
    KeyframePath,
    Morph,
    interpolate,
    make_movie,
    match_maps,
    padded,
    plan_movie,
    render_frame,
    render_movie_frames,
    shade_frame,
    write_movie,
)
from ifskit.errors import FormatError, ParameterError
from ifskit.neural import shipped
from ifskit.render import shade, tight_bounds
from ifskit.render.shade import to_uint8

SIZE = (96, 96)
POINTS = 100_000


def rotation(degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.array([[c, -s], [s, c]])


def rotation_angle(matrix: np.ndarray) -> float:
    """Angle in degrees of the rotation part of a 2D similarity."""
    return float(np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0])))


def random_ifs(rng, k: int, d: int) -> ifskit.IFS:
    """Random contractive maps, some of them reflections."""
    A = rng.normal(size=(k, d, d))
    A *= rng.uniform(0.2, 0.9, size=(k, 1, 1)) / np.linalg.norm(A, ord=2, axis=(1, 2))[:, None, None]
    return ifskit.IFS(A, rng.normal(size=(k, d)), rng.dirichlet(np.ones(k)))


@pytest.fixture
def keyframes():
    return [ifskit.catalog(name) for name in ("barnsley_fern", "maple_leaf", "heighway_dragon")]


# ---- interpolation ------------------------------------------------------------------------------
def test_ends_are_the_given_ifs(fern):
    maple = ifskit.catalog("maple_leaf")
    assert interpolate(fern, maple, 0.0) is fern
    assert interpolate(fern, maple, 1.0) is maple
    morph = Morph(fern, maple)
    # just inside the ends: the matched maps themselves, so the path is continuous there
    assert morph(1e-9).allclose(morph.start, rtol=1e-6, atol=1e-7)
    assert morph(1 - 1e-9).allclose(morph.end, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("method", ["geometric", "linear"])
@pytest.mark.parametrize("d", [2, 3])
def test_every_inbetween_ifs_is_contractive(method, d, rng):
    for _ in range(5):
        a, b = random_ifs(rng, 3, d), random_ifs(rng, 4, d)
        limit = max(a.contraction, b.contraction)
        for t in np.linspace(0, 1, 41):
            assert interpolate(a, b, t, method).contraction <= limit + 1e-12


def test_inbetween_catalog_ifs_are_contractive(keyframes):
    limit = max(k.contraction for k in keyframes)
    # two keyframes there and back: each map within the larger of its two ends
    frames = KeyframePath(keyframes[:2], loop=True).frames(60)
    assert all(f.contraction <= limit + 1e-12 for f in frames)
    # a looped spline may overshoot a keyframe: eased below halfway from its largest contraction to 1
    frames = KeyframePath(keyframes, loop=True).frames(60)
    assert all(f.contraction < (limit + 1) / 2 for f in frames)


@pytest.mark.parametrize("method", ["geometric", "log", "linear"])
@pytest.mark.parametrize("d", [2, 3])
def test_looped_spline_passes_the_keyframes_with_continuous_velocity(method, d, rng):
    """Three or more looped keyframes: one periodic spline, no turn at a keyframe nor at the seam."""
    keys = [random_ifs(rng, k, d) for k in (2, 3, 4)]
    path = KeyframePath(keys, method=method, loop=True)
    assert all(path.at(i) is key for i, key in enumerate(keys))
    step = 1e-5

    def parameters(u):
        ifs = path.at(u % 3 if u > 3 else u, matched=True)
        return np.concatenate([ifs.A.ravel(), ifs.b.ravel(), ifs.p])

    for k in (1, 2, 3):  # 3 is the seam
        before = (parameters(k) - parameters(k - step)) / step
        after = (parameters(k + step) - parameters(k)) / step
        assert np.abs(after - before).max() < 1e-3 * np.abs(before).max(), k
    assert all(path.at(u, matched=True).contraction < 1 for u in np.linspace(0, 3, 61))


def test_rotation_takes_the_shorter_arc_and_scale_is_geometric():
    a = ifskit.IFS([0.25 * rotation(170)], [[0.0, 0.0]])
    b = ifskit.IFS([0.64 * rotation(-170)], [[0.0, 0.0]])
    mid = interpolate(a, b, 0.5).A[0]
    assert abs(abs(rotation_angle(mid)) - 180.0) < 1e-9  # through 180 degrees, not through 0
    assert np.linalg.norm(mid, ord=2) == pytest.approx(0.4)  # sqrt(0.25 * 0.64): log singular values
    quarter = interpolate(a, b, 0.25).A[0]
    assert rotation_angle(quarter) == pytest.approx(175.0)
    # linear interpolation of the entries instead shrinks through a turn
    a, b = ifskit.IFS([0.5 * rotation(-85)], [[0.0, 0.0]]), ifskit.IFS([0.5 * rotation(85)], [[0.0, 0.0]])
    assert np.allclose(interpolate(a, b, 0.5).A[0], 0.5 * np.eye(2))
    assert np.linalg.norm(interpolate(a, b, 0.5, "linear").A[0], ord=2) < 0.05


def test_fixed_points_move_in_a_straight_line():
    A = [0.5 * rotation(30)]
    a = ifskit.IFS(A, [(np.eye(2) - A[0]) @ np.array([1.0, 0.0])])  # fixed point (1, 0)
    b = ifskit.IFS(A, [(np.eye(2) - A[0]) @ np.array([3.0, 2.0])])  # fixed point (3, 2)
    assert np.allclose(interpolate(a, b, 0.25).fixed_points[0], [1.5, 0.5])


def test_3d_rotations_by_slerp():
    from scipy.spatial.transform import Rotation

    turn = Rotation.from_euler("z", 90, degrees=True).as_matrix()
    a = ifskit.IFS([0.5 * np.eye(3)], [[0.0, 0.0, 0.0]])
    b = ifskit.IFS([0.5 * turn], [[0.0, 0.0, 0.0]])
    mid = interpolate(a, b, 0.5).A[0]
    assert np.allclose(mid, 0.5 * Rotation.from_euler("z", 45, degrees=True).as_matrix())


def test_unequal_map_counts_pad_without_changing_the_measure(fern, sierpinski):
    index_a, index_b = match_maps(sierpinski, fern)
    assert len(index_a) == 4 and set(index_a) == {0, 1, 2} and sorted(index_b) == [0, 1, 2, 3]
    padded_sierpinski = padded(sierpinski, index_a)
    # the duplicated map shares its probability: same maps, same probability per distinct map
    for i in range(3):
        assert padded_sierpinski.p[index_a == i].sum() == pytest.approx(sierpinski.p[i])
        assert all(np.array_equal(padded_sierpinski.A[j], sierpinski.A[i]) for j in np.flatnonzero(index_a == i))
    # hence the same attractor and measure: densities agree up to sampling noise
    bounds = ifskit.render.frame.window(sierpinski, (64, 64)).bounds

    def distribution(ifs, seed):
        return ifskit.density(ifs, (64, 64), 400_000, seed, bounds) / 400_000

    noise = np.abs(distribution(sierpinski, 0) - distribution(sierpinski, 1)).sum()
    assert np.abs(distribution(sierpinski, 0) - distribution(padded_sierpinski, 1)).sum() < 1.5 * noise
    # duplicating a map without splitting its probability would change the measure
    unsplit = ifskit.IFS(padded_sierpinski.A, padded_sierpinski.b)
    assert np.abs(distribution(sierpinski, 0) - distribution(unsplit, 1)).sum() > 3 * noise
    mid = interpolate(sierpinski, fern, 0.5)
    assert mid.n_maps == 4 and mid.is_contractive
    assert interpolate(fern, sierpinski, 0.5).n_maps == 4


def test_matching_pairs_like_maps():
    sierpinski = ifskit.catalog("sierpinski")
    shuffled = ifskit.IFS(sierpinski.A[[2, 0, 1]], sierpinski.b[[2, 0, 1]], sierpinski.p[[2, 0, 1]])
    index_a, index_b = match_maps(sierpinski, shuffled)
    assert index_b[index_a.argsort()].tolist() == [1, 2, 0]
    # the same IFS in another order does not move at all
    assert interpolate(sierpinski, shuffled, 0.5).allclose(sierpinski)


def test_bad_interpolation_input(fern):
    with pytest.raises(FormatError, match="2D IFS .* 3D IFS"):
        interpolate(fern, ifskit.catalog("menger_sponge"), 0.5)
    with pytest.raises(ParameterError, match="method"):
        interpolate(fern, fern, 0.5, "cubic")
    with pytest.raises(ParameterError, match=r"\[0, 1\]"):
        interpolate(fern, fern, 1.5)
    with pytest.raises(ParameterError, match="easing"):
        KeyframePath([fern, fern], easing="bounce")


# ---- paths ----------------------------------------------------------------------------------------
def test_frame_positions(keyframes):
    open_path, loop = KeyframePath(keyframes), KeyframePath(keyframes, loop=True)
    frames = open_path.frames(5)
    assert frames[0] is keyframes[0] and frames[2] is keyframes[1] and frames[4] is keyframes[2]
    looped = loop.frames(6)
    assert looped[0] is keyframes[0] and looped[2] is keyframes[1] and looped[4] is keyframes[2]
    assert looped[5] is not keyframes[0]  # seamless: the start is not repeated at the end
    there_and_back = KeyframePath(keyframes[:2]).frames(6, pingpong=True)
    assert there_and_back[3] is keyframes[1]
    assert there_and_back[1].allclose(there_and_back[5]) and there_and_back[2].allclose(there_and_back[4])
    assert KeyframePath(keyframes).frames(1) == [keyframes[0]]


def test_easing_slows_down_at_keyframes(fern):
    maple = ifskit.catalog("maple_leaf")
    linear, eased = KeyframePath([fern, maple]).frames(21), KeyframePath([fern, maple], easing="smoothstep").frames(21)
    first_step = np.abs(eased[1].A - eased[0].A[match_maps(fern, maple)[0]]).max()
    assert first_step < 0.5 * np.abs(linear[1].A - linear[0].A[match_maps(fern, maple)[0]]).max()
    assert eased[10].allclose(linear[10])  # smoothstep is symmetric: the middle is the middle


# ---- movies ---------------------------------------------------------------------------------------
def movie_frames(keys, n_frames, size=SIZE, **options):
    view, turn = options.pop("view", None), options.pop("turn", 0.0)
    path = KeyframePath(keys, **options)
    plan = plan_movie(path, n_frames, size, POINTS, 7, view=view, turn=turn)
    return plan, list(render_movie_frames(plan, size, POINTS, 7))


def test_first_frame_is_the_render_of_a_and_last_of_b(fern):
    maple = ifskit.catalog("maple_leaf")
    plan, frames = movie_frames([fern, maple], 8)
    assert len(frames) == 8 and all(f.shape == (*SIZE, 3) and f.dtype == np.uint8 for f in frames)
    assert plan.times[0] == 0 and plan.times[-1] == 1
    # the keyframes as matched (same attractor and measure, the frames' map order)
    start, end = plan.frames[0], plan.frames[-1]
    assert start.allclose(Morph(fern, maple).start) and end.allclose(Morph(fern, maple).end)
    # the chaos game of the keyframe in the frame's window (float64), shaded as render's shade()
    for i, ifs in ((0, start), (-1, end)):
        expected = ifskit.density(ifs, SIZE, POINTS, 7, plan.bounds[i], precision="float64", progress=False)
        agg = render_frame(plan, i % len(frames), SIZE, POINTS, 7)
        assert np.array_equal(agg.counts, expected)
        assert np.array_equal(frames[i], to_uint8(shade(agg))[..., :3]) and np.array_equal(frames[i], shade_frame(agg))
    # each keyframe framed by its own attractor
    for ifs, bounds in ((fern, plan.bounds[0]), (maple, plan.bounds[-1])):
        x0, x1, y0, y1 = tight_bounds(ifs)
        assert bounds[0] < x0 and x1 < bounds[1] and bounds[2] < y0 and y1 < bounds[3]


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_shading_by_a_table_of_counts_is_the_same_picture(fern, bit_depth):
    """Whole counts are shaded once per count and looked up: the same numbers as shading each pixel."""
    from dataclasses import replace

    solids = [ifskit.catalog("menger_sponge"), ifskit.catalog("sierpinski_tetrahedron")]
    for keys in ([fern, ifskit.catalog("maple_leaf")], solids):
        plan, _ = movie_frames(keys, 3)
        agg = render_frame(plan, 1, SIZE, POINTS, 7)
        assert agg.counts.dtype.kind == "u"
        each_pixel = shade_frame(replace(agg, counts=agg.counts.astype(float)), bit_depth=bit_depth)
        assert np.array_equal(shade_frame(agg, bit_depth=bit_depth), each_pixel)


def test_3d_frames_with_a_turning_camera():
    sponge, tetrahedron = ifskit.catalog("menger_sponge"), ifskit.catalog("sierpinski_tetrahedron")
    plan, frames = movie_frames([sponge, tetrahedron], 4, view=(20.0, 10.0), turn=90.0)
    assert [v[1] for v in plan.views] == [10.0, 32.5, 55.0, 77.5]
    for i, azim in ((0, 10.0), (3, 77.5)):
        agg = render_frame(plan, i, SIZE, POINTS, 7)
        # the chaos game of the frame's IFS, seen by its camera in its window
        expected = ifskit.density(plan.frames[i], SIZE, POINTS, 7, plan.bounds[i], view=(20.0, azim),
                                  precision="float64", progress=False)  # fmt: skip
        assert np.array_equal(agg.counts, expected) and np.array_equal(frames[i], shade_frame(agg))
        # the planned depth range holds the attractor: hardly a pixel clipped at the near or far end
        hit = agg.counts > 0
        assert np.mean((agg.depth[hit] <= 0.0) | (agg.depth[hit] >= 1.0)) < 0.01


def test_consecutive_frames_differ_little(fern):
    """The smoothness figure: the largest step between frames against the whole change."""
    maple = ifskit.catalog("maple_leaf")
    _, frames = movie_frames([fern, maple], 24, size=(128, 128))
    frames = [f.astype(float) for f in frames]
    steps = [np.abs(b - a).mean() for a, b in zip(frames, frames[1:])]
    # evenly paced: no step jumps (no flicker at the keyframes, no re-randomized frame)
    assert max(steps) < 2.0 * np.median(steps)


def test_same_seed_same_movie_whatever_the_threads(fern):
    maple = ifskit.catalog("maple_leaf")
    path = KeyframePath([fern, maple])
    one = list(render_movie_frames(plan_movie(path, 3, SIZE, POINTS, 3), SIZE, POINTS, 3, threads=1))
    two = list(render_movie_frames(plan_movie(path, 3, SIZE, POINTS, 3), SIZE, POINTS, 3, threads=2))
    assert all(np.array_equal(a, b) for a, b in zip(one, two))


def test_mp4_reads_back_with_the_right_frames(tmp_path, fern):
    import imageio_ffmpeg

    out = make_movie([fern, ifskit.catalog("maple_leaf")], tmp_path / "m.mp4", 10, size=(64, 96), n_points=POINTS)
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    assert tuple(meta["size"]) == (96, 64)
    assert sum(1 for _ in reader) == 10
    assert [p.name for p in tmp_path.iterdir()] == ["m.mp4"]  # no temporary file left


def test_gif_and_png_folder(tmp_path, fern):
    from PIL import Image

    keys = [fern, ifskit.catalog("maple_leaf")]
    make_movie(keys, tmp_path / "m.gif", 5, size=SIZE, n_points=POINTS, fps=10)
    with Image.open(tmp_path / "m.gif") as gif:
        assert gif.n_frames == 5 and gif.size == SIZE and gif.info["duration"] == 100
    make_movie(keys, tmp_path / "frames", 4, size=(48, 64), n_points=POINTS)
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert names == [f"frame_{i:05d}.png" for i in range(4)]
    with Image.open(tmp_path / "frames" / names[0]) as png:
        assert png.size == (64, 48)
    with pytest.raises(ifskit.OutputError, match="not empty"):
        make_movie(keys, tmp_path / "frames", 2, size=SIZE, n_points=POINTS)
    make_movie(keys, tmp_path / "frames", 2, size=SIZE, n_points=POINTS, overwrite=True)
    assert len(list((tmp_path / "frames").iterdir())) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames", "m.gif"]


@pytest.mark.parametrize("name", ["m.mp4", "m.gif", "frames"])
def test_failed_writing_leaves_no_partial_movie(tmp_path, name):
    def frames():
        yield np.zeros((16, 16, 3), dtype=np.uint8)
        raise RuntimeError("renderer failed")

    with pytest.raises(RuntimeError):
        write_movie(frames(), tmp_path / name, progress=False)
    assert list(tmp_path.iterdir()) == []


# ---- command line -------------------------------------------------------------------------------
def test_cli_writes_a_movie(cli, tmp_path, capsys):
    out = tmp_path / "loop.mp4"
    args = ["barnsley_fern", "maple_leaf", "heighway_dragon", "-o", out, "--frames", 6, "--size", "64x48"]
    code = cli("interpolate", *args, "--points", "1e5", "--loop", "--easing", "sine", "--json")
    assert code == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["frames"] == 6 and figures["output"] == str(out) and figures["size"] == [64, 48]
    assert cli("interpolate", *args) == 2  # exists already
    assert "exists already" in capsys.readouterr().err


def test_cli_pingpong_fps_seed_and_overwrite(cli, tmp_path):
    from PIL import Image

    def run(out, *extra):
        args = ["barnsley_fern", "maple_leaf", "-o", out, "--frames", 4, "--size", 32, "--points", "2e4"]
        return cli("interpolate", *args, "--pingpong", "--quiet", *extra)

    def frames(folder):
        return [np.asarray(Image.open(folder / f"frame_{i:05d}.png")) for i in range(4)]

    assert run(tmp_path / "a") == 0 and run(tmp_path / "b") == 0 and run(tmp_path / "c", "--seed", 5) == 0
    a, b, c = frames(tmp_path / "a"), frames(tmp_path / "b"), frames(tmp_path / "c")
    assert all(np.array_equal(x, y) for x, y in zip(a, b))  # same seed, same movie
    assert not np.array_equal(a[1], c[1])  # another seed, other points
    assert np.array_equal(a[1], a[3]) and not np.array_equal(a[0], a[2])  # there (a[2] is b) and back
    gif = tmp_path / "m.gif"
    assert run(gif, "--fps", 5) == 0
    with Image.open(gif) as movie:
        assert movie.n_frames == 4 and movie.info["duration"] == 200
    assert run(gif, "--fps", 25, "--overwrite") == 0
    with Image.open(gif) as movie:
        assert movie.info["duration"] == 40


def test_progress_bar(tmp_path, capsys):
    def frames():
        return (np.zeros((16, 16, 3), dtype=np.uint8) for _ in range(3))

    write_movie(frames(), tmp_path / "quiet.gif", progress=False)
    assert capsys.readouterr().err == ""
    write_movie(frames(), tmp_path / "shown.gif", n_frames=3, progress=True)
    err = capsys.readouterr().err
    assert "frames" in err and "/3" in err


def bad_input_cases(tmp_path):
    unreadable = tmp_path / "broken.yaml"
    unreadable.write_text("maps: [[[1, 2\n")
    return {
        "mixed dimensions": (["barnsley_fern", "menger_sponge", "-o", tmp_path / "m.mp4"], "2D and 3D"),
        "unknown suffix": (["barnsley_fern", "maple_leaf", "-o", tmp_path / "m.avi"], "unknown movie type"),
        "zero frames": (["barnsley_fern", "maple_leaf", "-o", tmp_path / "m.mp4", "--frames", "0"], "--frames"),
        "unreadable": ([unreadable, "maple_leaf", "-o", tmp_path / "m.gif"], "broken.yaml"),
        "missing": ([tmp_path / "none.yaml", "maple_leaf", "-o", tmp_path / "m.gif"], "no such file"),
        "odd mp4 size": (["barnsley_fern", "maple_leaf", "-o", tmp_path / "m.mp4", "--size", "63"], "even"),
        "one keyframe": (["barnsley_fern", "-o", tmp_path / "m.mp4"], "two keyframes"),
        "bad colormap": (["barnsley_fern", "maple_leaf", "-o", tmp_path / "m.mp4", "--cmap", "nope"], "colormap"),
        "2D turn": (["barnsley_fern", "maple_leaf", "-o", tmp_path / "m.mp4", "--turn", "90"], "3D"),
    }


@pytest.mark.parametrize(
    "case",
    ["mixed dimensions", "unknown suffix", "zero frames", "unreadable", "missing", "odd mp4 size", "one keyframe",
     "bad colormap", "2D turn"],
)  # fmt: skip
def test_cli_bad_input_is_one_line_and_no_movie(cli, tmp_path, capsys, case):
    args, message = bad_input_cases(tmp_path)[case]
    assert cli("interpolate", *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("ifskit: error: ") and err.count("\n") == 1 and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.yaml"]


def test_cli_picks_an_entry_of_a_fractint_file(cli, tmp_path, capsys):
    library = tmp_path / "two.ifs"
    library.write_text(
        "half { ; the Sierpinski triangle\n"
        "  0.5 0 0 0.5 0 0 0.33\n  0.5 0 0 0.5 0.5 0 0.33\n  0.5 0 0 0.5 0.25 0.5 0.34\n}\n"
        "quarter {\n  0.25 0 0 0.25 0 0 0.5\n  0.25 0 0 0.25 0.75 0 0.5\n}\n"
    )
    out = tmp_path / "m.gif"
    assert cli("interpolate", f"{library}:quarter", "maple_leaf", "-o", out, "--frames", 3, "--size", 32) == 0
    assert out.is_file()
    assert cli("interpolate", library, "maple_leaf", "-o", tmp_path / "n.gif") == 2
    assert "two.ifs:ENTRY (half, quarter)" in capsys.readouterr().err


@pytest.fixture
def triangle_cloud(tmp_path):
    cloud = tmp_path / "triangle.npy"
    np.save(cloud, ifskit.chaos_game(ifskit.catalog("sierpinski"), 2000, seed=1))
    return cloud


@pytest.fixture
def no_encoder_weights(tmp_path, monkeypatch):
    """As when the shipped encoder weights are not installed."""
    pytest.importorskip("torch")
    monkeypatch.setitem(shipped.WEIGHTS, 2, tmp_path / "not_installed" / "encoder_2d.pt")


@pytest.fixture
def tiny_encoder_weights(tmp_path, monkeypatch):
    """Installed encoder weights: a small untrained 2D model (its maps are contractive whatever the weights)."""
    pytest.importorskip("torch")
    from ifskit.neural.model import build_encoder, default_hparams, save_checkpoint

    hparams = {**default_hparams(2), "point_widths": [16, 32], "global_widths": [32], "n_input": 64}
    path = save_checkpoint(tmp_path / "tiny.pt", build_encoder(hparams))
    monkeypatch.setitem(shipped.WEIGHTS, 2, path)
    return path


@pytest.mark.slow  # imports torch and runs the fitter
def test_cli_point_cloud_keyframe_is_fitted_without_encoder_weights(cli, tmp_path, capsys, triangle_cloud,
                                                                    no_encoder_weights):  # fmt: skip
    out = tmp_path / "m.gif"
    args = [triangle_cloud, "maple_leaf", "-o", out, "--frames", 3, "--size", 48, "--points", "5e4", "--maps", 3]
    assert cli("interpolate", *args, "--fit-steps", 30, "--json") == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["keyframe_origins"] == ["fitted", "ifs"]
    assert out.is_file()
    # asking for the encoder without its weights: one line naming the cloud, no movie
    assert cli("interpolate", *args, "--clouds", "encode", "--overwrite") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "triangle.npy" in err and "encoder_2d.pt" in err and "--clouds fit" in err


def test_cli_point_cloud_keyframe_is_encoded_with_encoder_weights(cli, tmp_path, capsys, triangle_cloud,
                                                                  tiny_encoder_weights):  # fmt: skip
    from ifskit.animate.clouds import ifs_from_cloud

    points = np.load(triangle_cloud)
    encoded, how = ifs_from_cloud(points, n_maps=3, seed=2)
    assert how == "encoded" and encoded.n_maps == 3 and encoded.is_contractive
    out = tmp_path / "frames"
    args = [triangle_cloud, "maple_leaf", "-o", out, "--frames", 3, "--size", 48, "--points", "5e4", "--maps", 3]
    assert cli("interpolate", *args, "--seed", 2, "--json") == 0
    assert json.loads(capsys.readouterr().out)["keyframe_origins"] == ["encoded", "ifs"]
    # the movie is that of the encoded IFS (same seed, same encoding)
    from PIL import Image

    plan = plan_movie(KeyframePath([encoded, ifskit.catalog("maple_leaf")]), 3, (48, 48), 50_000, 2)
    expected = list(render_movie_frames(plan, (48, 48), 50_000, 2))
    for i, frame in enumerate(expected):
        with Image.open(out / f"frame_{i:05d}.png") as png:
            assert np.array_equal(np.asarray(png), frame)
    # a map count the encoder does not know: one line naming the cloud
    assert cli("interpolate", *args, "--maps", 9, "--overwrite") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "triangle.npy" in err and "not 9" in err


def test_cli_mixed_dimensions_with_a_point_cloud_before_any_fitting(cli, tmp_path, capsys):
    cloud = tmp_path / "cube.npy"
    np.save(cloud, np.random.default_rng(0).uniform(size=(500, 3)))
    assert cli("interpolate", "barnsley_fern", cloud, "-o", tmp_path / "m.mp4") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "2D and 3D" in err and "cube.npy is 3D" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.npy"]
