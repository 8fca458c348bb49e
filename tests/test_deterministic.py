"""Deterministic rendering: the Hutchinson operator on rasters and point sets, the Markov operator."""

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial import cKDTree

import ifskit
from ifskit import IFS, NonContractiveError, ParameterError
from ifskit.render import DeterministicRender, hutchinson_measure, hutchinson_points, hutchinson_raster, tight_bounds

SIZE = 256


def support(ifs, bounds, n_points=10**7):
    return ifskit.density(ifs, SIZE, n_points, bounds=bounds) > 0


@pytest.mark.parametrize("name", ["barnsley_fern", "heighway_dragon", "sierpinski"])
def test_starts_agree_with_each_other_and_with_the_chaos_game(name):
    ifs = ifskit.catalog(name)
    renders = {start: hutchinson_raster(ifs, SIZE, start=start) for start in ("square", "ellipse", "noise")}
    square = renders["square"]
    assert isinstance(square, DeterministicRender) and square.converged and square.iterations < 100
    assert square.image.shape == (SIZE, SIZE) and 0 <= square.image.min() and square.image.max() == 1
    covered = square.covered
    for start in ("ellipse", "noise"):
        assert renders[start].bounds == square.bounds
        assert np.count_nonzero(renders[start].covered != covered) < 0.01 * covered.sum()
    # the raster covers every pixel the chaos game hits, and not much more: a thin rim
    hit = support(ifs, square.bounds)
    assert np.count_nonzero(hit & ~covered) <= 0.001 * hit.sum()
    near_hit = ndimage.binary_dilation(hit, np.ones((3, 3), bool))
    assert np.count_nonzero(covered & ~near_hit) <= 0.002 * covered.sum()
    assert covered.sum() < 1.15 * hit.sum()


@pytest.mark.parametrize("name", ["heighway_dragon", "koch_curve", "levy_c_curve"])
@pytest.mark.parametrize("supersample", [1, None])
def test_thin_attractors_stay_connected(name, supersample):
    ifs = ifskit.catalog(name)
    render = hutchinson_raster(ifs, SIZE, supersample=supersample)
    _, pieces = ndimage.label(render.covered, np.ones((3, 3), bool))
    assert pieces == 1  # one connected curve, not dust
    hit = support(ifs, render.bounds, 2 * 10**6)
    assert render.covered.sum() >= hit.sum()


def test_same_picture_whatever_the_threads(fern):
    one = hutchinson_raster(fern, 96, threads=1)
    three = hutchinson_raster(fern, 96, threads=3)
    np.testing.assert_array_equal(one.image, three.image)
    assert one.iterations == three.iterations


def test_point_start_and_frames(sierpinski):
    render = hutchinson_raster(sierpinski, 64, start="point", iterations=4, frames=True)
    assert render.iterations == 4 and len(render.frames) == 5
    assert 0 < render.frames[0].sum() <= 1  # one pixel
    np.testing.assert_array_equal(render.frames[-1], render.image)
    assert all(frame.shape == (64, 64) for frame in render.frames)
    # three copies after one step, nine after two
    counts = [ndimage.label(frame > 0)[1] for frame in render.frames[:3]]
    assert counts == [1, 3, 9]


def test_start_images_of_any_size(sierpinski):
    square = hutchinson_raster(sierpinski, 128).covered
    tiny = np.zeros((3, 3))
    tiny[1, 1] = 1.0
    big = np.zeros((1000, 700), dtype=np.uint8)
    big[100:900:7, :] = 255  # thin lines: kept when the image is shrunk
    for image in (tiny, big, big.astype(bool)):
        render = hutchinson_raster(sierpinski, 128, start=image)
        assert render.converged
        assert np.count_nonzero(render.covered != square) < 0.03 * square.sum()
    first = hutchinson_raster(sierpinski, 128, start=big, iterations=1, frames=True).frames[0]
    assert 1 / 7 <= first.mean() < 0.3  # one row in seven, widened to whole fine rows


def test_measure_agrees_with_the_chaos_game_density(fern):
    measure = hutchinson_measure(fern, SIZE)
    assert measure.shape == (SIZE, SIZE) and measure.min() >= 0
    assert measure.sum() == pytest.approx(1.0)
    bounds = ifskit.aggregate(fern, SIZE, 1000).bounds
    chaos = ifskit.density(fern, SIZE, 5 * 10**7, bounds=bounds).astype(float)
    chaos /= chaos.sum()
    assert 0.5 * np.abs(measure - chaos).sum() < 0.02


def test_measure_does_not_depend_on_the_start_or_the_threads(sierpinski):
    uniform = hutchinson_measure(sierpinski, 64)
    corner = np.zeros((10, 10))
    corner[0, 0] = 1.0
    from_corner = hutchinson_measure(sierpinski, 64, start=corner)
    assert 0.5 * np.abs(uniform - from_corner).sum() < 1e-3
    np.testing.assert_array_equal(hutchinson_measure(sierpinski, 64, threads=1), uniform)
    np.testing.assert_array_equal(hutchinson_measure(sierpinski, 64, threads=3), uniform)
    # equal probabilities on the triangle: each third holds a third of the mass
    steps = hutchinson_measure(sierpinski, (60, 90), iterations=3, supersample=1)
    assert steps.shape == (60, 90) and steps.sum() == pytest.approx(1.0)


def cell_count(points, origin, resolution):
    cells = np.floor((points - origin) / resolution).astype(np.int64) + 2**20
    return len(np.unique(cells @ (2 ** np.arange(0, 21 * points.shape[1], 21))))


@pytest.mark.parametrize(
    "name, n_sample", [("barnsley_fern", 10**6), ("sierpinski_tetrahedron", 300_000), ("menger_sponge", 300_000)]
)
def test_point_sets_lie_on_the_attractor_and_stay_bounded(name, n_sample):
    ifs = ifskit.catalog(name)
    extent = np.ptp(np.asarray(tight_bounds(ifs)).reshape(-1, 2), axis=1).max()
    resolution = extent / (256 if ifs.dim == 2 else 40)
    points = hutchinson_points(ifs, resolution=resolution)
    assert points.shape[1] == ifs.dim and len(points) > 1000
    sample = ifskit.chaos_game(ifs, n_sample, seed=3)
    # on the attractor: near a dense chaos-game sample ...
    assert cKDTree(sample).query(points)[0].max() < resolution
    # ... and all of it: the sample is near the points
    assert cKDTree(points).query(sample[:100_000])[0].max() < 3 * resolution
    # one point per grid cell, no more cells than the attractor meets
    centre = ifs.bounding_ball()[0]
    assert cell_count(points, centre, resolution) == len(points)
    assert len(points) < 1.2 * cell_count(sample, centre, resolution)  # the sample misses cells barely met
    # iterating W from the fixed points saturates at that count instead of growing as k^n
    iterated = hutchinson_points(ifs, iterations=30 if ifs.dim == 2 else 8, resolution=resolution)
    assert len(iterated) <= 1.05 * len(points)


def test_point_sets_from_a_start_off_the_attractor(sierpinski):
    start = np.array([[5.0, -3.0], [0.3, 0.9]])
    one = hutchinson_points(sierpinski, iterations=1, start=start)
    assert one.shape == (6, 2)
    np.testing.assert_allclose(one[0], 0.5 * start[0] + sierpinski.b[0])
    resolution = 1 / 128
    cloud = hutchinson_points(sierpinski, start=start, resolution=resolution)
    sample = ifskit.chaos_game(sierpinski, 300_000, seed=1)
    assert cKDTree(sample).query(cloud)[0].max() < 1.5 * resolution
    assert cKDTree(cloud).query(sample)[0].max() < 3 * resolution


def test_max_points_warns_and_stops(sierpinski):
    with pytest.warns(ifskit.IfskitWarning, match="max_points"):
        points = hutchinson_points(sierpinski, resolution=1e-4, max_points=5000)
    assert len(points) <= 5000


@pytest.mark.parametrize("iterations", [0, -1, 2.5, True])
def test_bad_iteration_counts(sierpinski, iterations):
    for render in (hutchinson_raster, hutchinson_measure):
        with pytest.raises(ParameterError, match="iterations"):
            render(sierpinski, 16, iterations=iterations)
    with pytest.raises(ParameterError, match="iterations"):
        hutchinson_points(sierpinski, iterations=iterations)


def test_non_contractive_ifs_is_refused():
    # contractive on average (the chaos game renders it), but one map expands
    ifs = IFS([1.2 * np.eye(2), 0.1 * np.eye(2)], [[0.0, 0.0], [1.0, 0.0]], [0.1, 0.9])
    for render in (hutchinson_raster, hutchinson_measure, hutchinson_points):
        with pytest.raises(NonContractiveError, match=r"s < 1.*s = 1\.2"):
            render(ifs)


@pytest.mark.parametrize(
    "start, message",
    [
        (np.zeros((0, 5)), "empty"),
        (np.zeros((8, 8)), "blank"),
        (np.ones((8, 8, 3)), "2D"),
        (np.ones(8), "2D"),
        (np.full((4, 4), np.nan), "NaN"),
        ("circle", "unknown start"),
        ([["a", "b"]], "numbers"),
    ],
)
def test_bad_start_images(sierpinski, start, message):
    with pytest.raises(ParameterError, match=message):
        hutchinson_raster(sierpinski, 16, start=start)


def test_other_bad_input(sierpinski):
    tetra = ifskit.catalog("sierpinski_tetrahedron")
    for render in (hutchinson_raster, hutchinson_measure):
        with pytest.raises(ParameterError, match="hutchinson_points"):
            render(tetra, 16)
    with pytest.raises(ParameterError, match="supersample"):
        hutchinson_raster(sierpinski, 16, supersample=0)
    with pytest.raises(ParameterError, match="negative"):
        hutchinson_measure(sierpinski, 16, start=np.array([[1.0, -1.0]]))
    with pytest.raises(ParameterError, match="window"):  # no mass stays in these bounds
        hutchinson_measure(sierpinski, 16, bounds=(5, 6, 5, 6))
    with pytest.raises(ParameterError, match="start points"):
        hutchinson_points(sierpinski, start=np.zeros((3, 3)))
    with pytest.raises(ParameterError, match="resolution"):
        hutchinson_points(sierpinski, resolution=0)
