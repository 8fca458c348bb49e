"""The chaos-game renderer: statistics, determinism across threads, orientation, framing, memory."""

import subprocess
import sys

import numpy as np
import pytest

import ifskit
from ifskit import IFS, FormatError, ParameterError
from ifskit.render.chaos import CHUNK, alias_table


def test_points_lie_on_the_sierpinski_triangle(sierpinski):
    points = ifskit.chaos_game(sierpinski, 100_000, seed=0)
    assert points.shape == (100_000, 2) and np.all(np.isfinite(points))
    # a point of the triangle at depth 20 has binary digits of x, y with no (1, 1) pair
    # in skewed coordinates: u = x - y/sqrt3, v = 2y/sqrt3, and u AND v == 0 bitwise
    u = points[:, 0] - points[:, 1] / np.sqrt(3)
    v = 2 * points[:, 1] / np.sqrt(3)
    scale = 2**16
    iu, iv = np.floor(u * scale + 1e-9).astype(np.int64), np.floor(v * scale + 1e-9).astype(np.int64)
    assert np.mean((iu & iv) == 0) > 0.999


def test_map_frequencies_follow_probabilities():
    # maps with distinct images: the share of points in each image is its probability
    p = np.array([0.05, 0.15, 0.3, 0.5])
    A = np.repeat(0.25 * np.eye(2)[None], 4, axis=0)
    b = np.array([[0.0, 0.0], [0.75, 0.0], [0.0, 0.75], [0.75, 0.75]])
    points = ifskit.chaos_game(IFS(A, b, p), 400_000, seed=7)
    quadrant = (points[:, 0] > 0.5).astype(int) + 2 * (points[:, 1] > 0.5)
    shares = np.bincount(quadrant, minlength=4) / len(points)
    np.testing.assert_allclose(shares, p, atol=0.003)
    # the density kernel picks maps its own way (by thresholds, in SIMD lanes): same shares
    counts = ifskit.density(IFS(A, b, p), 2, 400_000, seed=7, bounds=(0, 1, 0, 1))
    shares = counts[::-1].ravel() / 400_000  # row 0 is the top: flip to (y, x) quadrant order
    np.testing.assert_allclose(shares, p, atol=0.003)


def test_maps_of_probability_zero_are_never_applied():
    # the second map sends everything far away: a single point of it would show
    ifs = IFS([0.5 * np.eye(2), 0.5 * np.eye(2), 0.5 * np.eye(2)], [[0, 0], [100, 100], [0.5, 0]], [0.5, 0.0, 0.5])
    counts = ifskit.density(ifs, 8, 200_000, bounds=(-1, 200, -1, 200))
    assert int(counts.sum()) == 200_000 and int(counts[:-1, :].sum()) == 0  # all in the bottom row
    colored = ifskit.aggregate(ifs, 8, 20_000, bounds=(-1, 200, -1, 200), map_colors=np.eye(3))
    assert np.all(colored.color[..., 1] == 0)  # green is the colour of the second map


def test_alias_table_is_exact():
    p = np.array([0.01, 0.6, 0.09, 0.3])
    threshold, alias = alias_table(p)
    k = len(p)
    share = threshold.astype(float) / 2**32 / k
    for j in range(k):
        share[alias[j]] += (1 - threshold[j] / 2**32) / k
    np.testing.assert_allclose(share, p, atol=1e-9)


def test_density_counts_every_point_and_follows_the_points(sierpinski):
    n = 1_000_000
    bounds = (-0.1, 1.1, -0.1, 1.1)
    counts = ifskit.density(sierpinski, size=(12, 16), n_points=n, seed=5, bounds=bounds)
    assert counts.shape == (12, 16) and counts.dtype == np.uint64
    assert int(counts.sum()) == n  # every point falls inside these bounds
    # the density kernel runs its own chains (in pixel coordinates, side by side): its
    # counts follow the same measure as chaos_game's points binned by hand
    points = ifskit.chaos_game(sierpinski, n, seed=5)
    cols = np.floor((points[:, 0] + 0.1) / 1.2 * 16).astype(int)
    rows = np.floor((1.1 - points[:, 1]) / 1.2 * 12).astype(int)
    by_hand = np.zeros((12, 16))
    np.add.at(by_hand, (rows, cols), 1)
    assert 0.5 * np.abs(by_hand - counts).sum() / n < 0.01  # sampling noise is about 0.4%


def test_density_row_zero_is_the_top(sierpinski):
    counts = ifskit.density(sierpinski, size=64, n_points=200_000)
    top, bottom = counts[:8].sum(), counts[-8:].sum()
    assert bottom > 5 * top  # the triangle's wide base is at the bottom


def test_same_seed_same_output_whatever_the_threads(fern):
    n = 3 * CHUNK + 12345  # several chunks and a remainder
    one = ifskit.density(fern, size=(128, 96), n_points=n, seed=11, threads=1)
    two = ifskit.density(fern, size=(128, 96), n_points=n, seed=11, threads=2)
    three = ifskit.density(fern, size=(128, 96), n_points=n, seed=11, threads=3)
    assert np.array_equal(one, two) and np.array_equal(one, three)
    p1 = ifskit.chaos_game(fern, n, seed=11, threads=1)
    p2 = ifskit.chaos_game(fern, n, seed=11, threads=2)
    assert np.array_equal(p1, p2)
    assert not np.array_equal(one, ifskit.density(fern, size=(128, 96), n_points=n, seed=12))


def test_images_are_deterministic_across_threads_in_colour_and_3d(fern):
    a = ifskit.render_image(fern, 64, 2 * CHUNK + 5, color="map", threads=1)
    b = ifskit.render_image(fern, 64, 2 * CHUNK + 5, color="map", threads=2)
    assert np.array_equal(a, b)
    sponge = ifskit.catalog("menger_sponge")
    assert np.array_equal(
        ifskit.render_image(sponge, 64, 2 * CHUNK + 5, threads=1),
        ifskit.render_image(sponge, 64, 2 * CHUNK + 5, threads=2),
    )


def test_huge_counts_do_not_wrap():
    # a single point attractor: every hit lands in one pixel, far past 8-bit and 32-bit tile counts
    point = IFS([[[0.0, 0.0], [0.0, 0.0]]], [[0.5, 0.5]])
    n = 5_000_000
    counts = ifskit.density(point, size=16, n_points=n, bounds=(0, 1, 0, 1))
    assert int(counts.max()) == n and int(counts.sum()) == n


def test_escaping_orbits_are_restarted_not_propagated():
    A = np.array([3.0 * np.eye(2), 0.1 * np.eye(2)])
    ifs = IFS(A, [[1.0, 1.0], [0.0, 0.0]], [0.5, 0.5])  # diverges on average
    points = ifskit.chaos_game(ifs, 100_000, seed=0)
    assert np.all(np.isfinite(points))
    counts = ifskit.density(ifs, size=32, n_points=100_000, bounds=(-1, 1, -1, 1))
    assert counts.sum() > 0


def test_3d_points_and_view(sierpinski):
    tetra = ifskit.catalog("sierpinski_tetrahedron")
    points = ifskit.chaos_game(tetra, 10_000, seed=0)
    assert points.shape == (10_000, 3)
    agg = ifskit.aggregate(tetra, (64, 64), 200_000, view=(20, 30))
    assert agg.depth is not None and agg.depth.shape == (64, 64)
    hit = agg.counts > 0
    assert np.all(agg.depth[hit] > 0) and np.all(agg.depth[~hit] == 0)
    with pytest.raises(ParameterError, match="3D"):
        ifskit.aggregate(sierpinski, (8, 8), 1000, view=(20, 30))


def test_framing_keeps_aspect_and_margin(sierpinski):
    agg = ifskit.aggregate(sierpinski, (100, 300), 100_000)
    xmin, xmax, ymin, ymax = agg.bounds
    assert (xmax - xmin) / (ymax - ymin) == pytest.approx(3.0)
    assert xmin < 0 and ymin < 0 and ymax > np.sqrt(3) / 2
    assert int(agg.counts.sum()) == 100_000


def test_flat_attractor_gets_a_frame():
    cantor_line = IFS([np.diag([1 / 3, 0.0]), np.diag([1 / 3, 0.0])], [[0.0, 0.0], [2 / 3, 0.0]])
    counts = ifskit.density(cantor_line, size=32, n_points=10_000)
    assert int(counts.sum()) == 10_000


def test_render_image_options(fern):
    image = ifskit.render_image(fern, (40, 60), 200_000)
    assert image.shape == (40, 60, 4) and image.dtype == np.uint8
    assert np.all(image[..., 3] == 255)  # opaque on black
    clear = ifskit.render_image(fern, (40, 60), 200_000, transparent=True)
    assert clear[0, 0, 3] == 0 and clear[..., 3].max() == 255
    white = ifskit.render_image(fern, (40, 60), 200_000, background="white")
    assert tuple(white[0, 0, :3]) == (255, 255, 255)
    smooth = ifskit.render_image(fern, (40, 60), 200_000, supersample=3)
    assert smooth.shape == (40, 60, 4)
    colored = ifskit.render_image(fern, (40, 60), 200_000, color="map")
    assert len(np.unique(colored[..., :3].reshape(-1, 3), axis=0)) > 50
    with pytest.raises(ParameterError, match="colormap"):
        ifskit.render_image(fern, 8, 1000, cmap="no_such_map")
    with pytest.raises(ParameterError, match="supersample"):
        ifskit.render_image(fern, 8, 1000, supersample=0)


def test_tone_mapping_is_log_density():
    counts = np.array([[0, 1, 10, 100]])
    level = ifskit.render.tone_map(counts, gamma=1.0)
    expected = np.log1p(counts / counts[counts > 0].mean())
    np.testing.assert_allclose(level, expected / expected.max())


@pytest.mark.parametrize("n_points", [0, -5, 2.5])
def test_bad_point_counts(sierpinski, n_points):
    with pytest.raises(ParameterError, match="n_points") as caught:
        ifskit.chaos_game(sierpinski, n_points)
    assert caught.value.parameter == "n_points"


@pytest.mark.slow
def test_memory_is_independent_of_point_count():
    code = (
        "import ifskit\n"
        "ifs = ifskit.catalog('sierpinski')\n"
        "h = ifskit.density(ifs, (1024, 1024), {n}, progress=False)\n"
        "assert int(h.sum()) == {n}\n"
        "print([line for line in open('/proc/self/status') if line.startswith('VmHWM')][0].split()[1])\n"
    )
    small = int(
        subprocess.run([sys.executable, "-c", code.format(n=10**6)], capture_output=True, text=True, check=True).stdout
    )
    large = int(
        subprocess.run(
            [sys.executable, "-c", code.format(n=3 * 10**8)], capture_output=True, text=True, check=True
        ).stdout
    )
    assert large < small + 50_000  # kB: 300x the points, no more memory


def test_point_arrays_larger_than_memory_are_refused(sierpinski):
    with pytest.raises(FormatError, match="memory"):
        ifskit.chaos_game(sierpinski, 10**13)


@pytest.mark.parametrize("seed", [-1, 2**64, 1.5, True, "3"])
def test_seeds_outside_the_64_bit_range_are_parameter_errors(sierpinski, seed):
    with pytest.raises(ParameterError, match="seed must be a whole number") as caught:
        ifskit.chaos_game(sierpinski, 100, seed=seed)
    assert caught.value.parameter == "seed"
    with pytest.raises(ParameterError, match="seed"):
        ifskit.density(sierpinski, 16, 1000, seed=seed)


def test_the_largest_seed_renders(sierpinski):
    assert ifskit.chaos_game(sierpinski, 100, seed=2**63 - 1).shape == (100, 2)


def test_shading_memory_stays_near_the_picture_itself():
    # a 4096^2 render must stay within the documented 1.5 GB: the colormap and blend work in bands of
    # rows, so shading holds the picture (32 bytes a pixel) plus the tone map, not many picture-sized
    # temporaries (112 bytes a pixel before)
    import tracemalloc

    from ifskit.render import Aggregate, shade

    rng = np.random.default_rng(0)
    size = 1024
    counts = rng.integers(0, 5, (size, size)).astype(np.uint64)
    depth = rng.random((size, size))
    for agg in (Aggregate(counts, (0, 1, 0, 1), int(counts.sum())),
                Aggregate(counts, (0, 1, 0, 1), int(counts.sum()), depth=depth, depth_scale=10.0)):  # fmt: skip
        tracemalloc.start()
        image = shade(agg)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert image.shape == (size, size, 4)
        assert peak / size**2 < 85, peak / size**2


def test_chaos_game_draws_into_a_given_array():
    fern = ifskit.catalog("barnsley_fern")
    buffer = np.full((5000, 2), np.nan)
    points = ifskit.chaos_game(fern, 5000, seed=3, threads=1, out=buffer)
    assert points is buffer
    np.testing.assert_array_equal(buffer, ifskit.chaos_game(fern, 5000, seed=3, threads=2))
    for wrong in (np.empty((4999, 2)), np.empty((5000, 3)), np.empty((5000, 2), np.float32), np.empty((2, 5000)).T):
        with pytest.raises(ParameterError, match="out must be"):
            ifskit.chaos_game(fern, 5000, out=wrong)
