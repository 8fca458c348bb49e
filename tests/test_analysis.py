"""Analysis: box-counting dimension, similarity dimension bounds, distances between attractors."""

import math

import numpy as np
import pytest

import ifskit
from ifskit import IFS, FormatError, OutputError, ParameterError
from ifskit.analysis import (
    BoxDimension,
    attractor_distance,
    box_counting,
    chamfer_distance,
    hausdorff_distance,
    similarity_dimension,
    similarity_dimension_bounds,
)

EXACT = {
    "sierpinski": math.log(3) / math.log(2),
    "sierpinski_carpet": math.log(8) / math.log(3),
    "koch_curve": math.log(4) / math.log(3),
    "menger_sponge": math.log(20) / math.log(3),
    "sierpinski_tetrahedron": 2.0,
}


def rotation(theta):
    return np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])


# ---- box-counting dimension -----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXACT))
def test_box_counting_of_catalog_fractals_within_3_percent(name):
    result = box_counting(ifskit.catalog(name), seed=0)
    assert isinstance(result, BoxDimension)
    assert float(result) == result.value
    assert abs(result.value / EXACT[name] - 1) < 0.03, (name, result)
    lo, hi = result.fit_range
    assert 0 <= lo < hi < len(result.epsilons) and result.used.sum() == hi - lo + 1
    assert result.r2 > 0.99
    # a decade of box sizes, none of them saturated
    assert result.epsilons[lo] / result.epsilons[hi] >= 5
    assert np.all(result.saturation[result.used] <= 0.04)


@pytest.mark.parametrize(
    "name, exact",
    [
        ("cantor_dust", math.log(4) / math.log(3)),
        ("vicsek", math.log(5) / math.log(3)),
        ("hexaflake", math.log(7) / math.log(3)),
    ],
)
def test_box_counting_of_more_self_similar_sets(name, exact):
    assert abs(box_counting(ifskit.catalog(name), seed=1).value / exact - 1) < 0.03


def test_box_counting_of_plain_sets(rng):
    square = rng.random((1_000_000, 2))
    assert box_counting(square).value == pytest.approx(2.0, rel=0.03)
    t = rng.random(100_000)
    segment = np.column_stack([t, 0.3 * t - 1.0])
    assert box_counting(segment).value == pytest.approx(1.0, rel=0.03)
    segment_3d = np.column_stack([t, 0.3 * t, -2.0 * t + 4.0])
    assert box_counting(segment_3d).value == pytest.approx(1.0, rel=0.03)
    angle = 2 * np.pi * rng.random(100_000)
    circle = np.column_stack([np.cos(angle), np.sin(angle)])
    assert box_counting(circle).value == pytest.approx(1.0, rel=0.03)
    plane_in_3d = np.column_stack([rng.random((500_000, 2)), np.zeros(500_000)])
    assert box_counting(plane_in_3d).value == pytest.approx(2.0, rel=0.03)


def test_box_counting_of_a_cube_volume():
    cube = IFS(
        np.repeat(0.5 * np.eye(3)[None], 8, axis=0), [[i, j, k] for i in (0, 0.5) for j in (0, 0.5) for k in (0, 0.5)]
    )
    assert box_counting(cube, n_points=2_000_000).value == pytest.approx(3.0, rel=0.04)


def test_box_counting_is_translation_and_scale_invariant():
    points = ifskit.chaos_game(ifskit.catalog("sierpinski_carpet"), 300_000, seed=2)
    base = box_counting(points, seed=5)
    moved = box_counting(points * 1000.0 + [5.0, -7.0], seed=5)
    assert moved.value == pytest.approx(base.value, rel=1e-6)
    np.testing.assert_allclose(moved.epsilons, 1000.0 * base.epsilons)
    assert moved.fit_range == base.fit_range
    shrunk = box_counting(points * 1e-6 - 3.0, seed=5)
    assert shrunk.value == pytest.approx(base.value, rel=1e-6)
    # a rotation changes the grid's view of the set, not its dimension
    turned = box_counting(points @ rotation(0.7).T, seed=5)
    assert turned.value == pytest.approx(math.log(8) / math.log(3), rel=0.03)


def test_box_counting_of_an_affine_image():
    ifs = ifskit.catalog("sierpinski")
    sheared = ifs.conjugate([[2.0, 0.8], [0.1, 0.5]], [3.0, -1.0])
    assert box_counting(sheared).value == pytest.approx(math.log(3) / math.log(2), rel=0.03)


def test_box_counting_is_deterministic_whatever_the_threads():
    ifs = ifskit.catalog("koch_curve")
    a = box_counting(ifs, n_points=300_000, seed=3, threads=1)
    b = box_counting(ifs, n_points=300_000, seed=3, threads=2)
    assert a.value == b.value
    np.testing.assert_array_equal(a.counts, b.counts)


def test_box_counting_of_a_point_cloud_and_of_an_ifs_with_uneven_probabilities():
    points = ifskit.chaos_game(ifskit.catalog("koch_curve"), 200_000, seed=4)
    assert box_counting(points).value == pytest.approx(math.log(4) / math.log(3), rel=0.03)
    sierpinski = ifskit.catalog("sierpinski")
    uneven = IFS(sierpinski.A, sierpinski.b, [0.8, 0.15, 0.05])
    # a cloud drawn with uneven probabilities: its rare corners are sparse, the support is the same set
    cloud = ifskit.chaos_game(uneven, 500_000, seed=0)
    assert box_counting(cloud).value == pytest.approx(math.log(3) / math.log(2), rel=0.03)
    # an IFS is sampled with even probabilities whatever its own: the same figure as the even IFS
    assert box_counting(uneven, n_points=300_000).value == box_counting(sierpinski, n_points=300_000).value


def test_small_clouds_still_give_a_figure(rng):
    # 150 points are few for box counting: a filled square reads about 1.8, a segment about 1
    assert 1.6 < box_counting(rng.random((150, 2))).value < 2.05
    t = rng.random(150)
    assert box_counting(np.column_stack([t, 0.3 * t])).value == pytest.approx(1.0, abs=0.08)


def test_plot_writes_a_png(tmp_path):
    result = box_counting(ifskit.catalog("sierpinski"), n_points=200_000)
    out = result.plot(tmp_path / "fit.png")
    assert out == tmp_path / "fit.png"
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    from PIL import Image

    with Image.open(out) as image:
        assert image.size[0] > 300 and image.size[1] > 200
    with pytest.raises(OutputError):
        result.plot(out)
    assert out.read_bytes() == data
    result.plot(out, overwrite=True)
    with pytest.raises(OutputError):
        result.plot(tmp_path / "fit.jpg")
    with pytest.raises(OutputError):
        result.plot(tmp_path / "missing" / "fit.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.png"]  # no temporary files left


@pytest.mark.parametrize(
    "points, message",
    [
        (np.zeros((50, 2)), "at least 100 points"),
        (np.ones((500, 2)), "no extent"),
        (np.tile([[1.0, 2.0, 3.0]], (1000, 1)), "no extent"),
        (np.zeros((500, 4)), "2 or 3 coordinates"),
        (np.zeros(500), "(n, d) array"),
        (np.full((500, 2), np.nan), "NaN"),
        ([["a", "b"]] * 200, "array of numbers"),
        (np.zeros((0, 2)), "empty"),
    ],
)
def test_box_counting_rejects_bad_clouds(points, message):
    with pytest.raises(FormatError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        box_counting(points)
    assert "\n" not in str(info.value)


def test_box_counting_rejects_too_few_chaos_game_points():
    with pytest.raises(FormatError, match="at least 100 points"):
        box_counting(ifskit.catalog("sierpinski"), n_points=10)


# ---- similarity dimension bounds ----------------------------------------------------------


def test_similarity_bounds_are_equal_for_similitudes():
    for name in ("sierpinski", "sierpinski_carpet", "koch_curve", "menger_sponge", "heighway_dragon"):
        ifs = ifskit.catalog(name)
        lower, upper = similarity_dimension_bounds(ifs)
        assert lower == upper == similarity_dimension(ifs)
    lower, upper = similarity_dimension_bounds(ifskit.catalog("sierpinski"))
    assert lower == pytest.approx(math.log(3) / math.log(2))


def test_similarity_bounds_for_affine_maps(fern):
    lower, upper = similarity_dimension_bounds(fern)
    assert lower < upper
    assert upper == similarity_dimension(fern)
    # diagonal maps: the singular values are the diagonal entries
    A = np.repeat(np.diag([0.5, 0.25])[None], 4, axis=0)
    ifs = IFS(A, [[0, 0], [0.5, 0], [0, 0.75], [0.5, 0.75]])
    lower, upper = similarity_dimension_bounds(ifs)
    assert lower == pytest.approx(1.0)  # 4 * 0.25^D = 1
    assert upper == pytest.approx(2.0)  # 4 * 0.5^D = 1
    # the box dimension lies between them
    assert lower - 0.03 < box_counting(ifs, n_points=500_000).value < upper + 0.03


def test_similarity_bounds_without_a_solution():
    ifs = IFS([[[1.2, 0], [0, 0.3]], [[0.5, 0], [0, 0.5]]], [[0, 0], [1, 1]], [0.1, 0.9])
    lower, upper = similarity_dimension_bounds(ifs)
    assert math.isnan(upper) and lower > 0


# ---- distances ----------------------------------------------------------------------------


def test_distances_of_identical_clouds_are_zero(rng):
    p = rng.random((2000, 2))
    assert chamfer_distance(p, p) == 0.0 and hausdorff_distance(p, p) == 0.0
    assert chamfer_distance(p, p[::-1]) == 0.0


def test_distances_of_shifted_grids():
    g = np.stack(np.meshgrid(np.arange(10.0), np.arange(10.0)), axis=-1).reshape(-1, 2)
    shifted = g + [0.1, 0.0]
    assert chamfer_distance(g, shifted) == pytest.approx(0.1)
    assert hausdorff_distance(g, shifted) == pytest.approx(0.1)
    # one far point: Hausdorff sees it, Chamfer averages it
    q = np.vstack([g, [[30.0, 0.0]]])
    assert hausdorff_distance(g, q) == pytest.approx(21.0)
    assert chamfer_distance(g, q) == pytest.approx(0.5 * 21.0 / len(q))


def test_distances_are_symmetric(rng):
    p, q = rng.random((500, 3)), rng.random((800, 3)) + 0.2
    assert chamfer_distance(p, q) == chamfer_distance(q, p)
    assert hausdorff_distance(p, q) == hausdorff_distance(q, p)
    assert attractor_distance(p, q) == attractor_distance(q, p)
    assert chamfer_distance(p, q) <= hausdorff_distance(p, q)


def test_distances_reject_bad_clouds(rng):
    with pytest.raises(FormatError, match="different dimensions"):
        chamfer_distance(rng.random((10, 2)), rng.random((10, 3)))
    with pytest.raises(FormatError, match="different dimensions"):
        hausdorff_distance(rng.random((10, 3)), rng.random((10, 2)))
    with pytest.raises(FormatError, match="empty"):
        chamfer_distance(np.zeros((0, 2)), rng.random((10, 2)))
    with pytest.raises(FormatError, match="NaN"):
        hausdorff_distance([[np.nan, 0.0]], [[0.0, 0.0]])
    with pytest.raises(FormatError):
        attractor_distance(ifskit.catalog("sierpinski"), ifskit.catalog("menger_sponge"), n_points=1000)
    with pytest.raises(FormatError, match="3D point cloud"):
        attractor_distance(ifskit.catalog("sierpinski"), rng.random((100, 3)), n_points=1000)
    with pytest.raises(FormatError):
        attractor_distance(rng.random((100, 3)), ifskit.catalog("sierpinski"), n_points=1000)
    with pytest.raises(ParameterError, match="n_points"):
        attractor_distance(ifskit.catalog("sierpinski"), ifskit.catalog("sierpinski"), n_points=0)


def test_attractor_distance_of_two_codes_of_one_attractor_is_small(sierpinski):
    # the Sierpinski maps composed with a turn of 120 degrees about the triangle's centre:
    # another code of the same triangle (its maps send the triangle onto the same three corners)
    centre = np.array([0.5, np.sqrt(3) / 6])
    turn = rotation(2 * np.pi / 3)
    turned = IFS(sierpinski.A @ turn, sierpinski.b + np.einsum("kij,j->ki", sierpinski.A, centre - turn @ centre))
    assert not turned.allclose(sierpinski)
    same_set = attractor_distance(sierpinski, turned, n_points=50_000, seed=1)
    assert 0 < same_set["chamfer"] < 0.004 and same_set["hausdorff"] < 0.03
    other_set = attractor_distance(sierpinski, ifskit.catalog("sierpinski_carpet"), n_points=50_000, seed=1)
    assert other_set["chamfer"] > 10 * same_set["chamfer"]


def test_conjugated_attractor_is_the_transformed_attractor(fern):
    M = 1.7 * rotation(0.6) @ np.array([[1.0, 0.4], [0.0, 1.0]])
    t = np.array([2.0, -3.0])
    conjugated = fern.conjugate(M, t)
    n = 100_000
    transformed = ifskit.chaos_game(fern, n, seed=0) @ M.T + t
    diameter = np.ptp(transformed, axis=0).max()
    # same seed, same maps drawn: the orbits agree point by point
    same = attractor_distance(conjugated, transformed, n_points=n, seed=0)
    assert same["hausdorff"] < 1e-9 * diameter
    # independent samples of the same set are close too
    other = attractor_distance(conjugated, transformed, n_points=n, seed=1)
    assert other["chamfer"] < 0.005 * diameter and other["hausdorff"] < 0.05 * diameter
    # ... and far from the untransformed attractor
    far = attractor_distance(fern, transformed, n_points=n, seed=1)
    assert far["chamfer"] > 20 * other["chamfer"]


def test_attractor_distance_between_different_attractors():
    a, b = ifskit.catalog("sierpinski"), ifskit.catalog("sierpinski_carpet")
    d = attractor_distance(a, b, n_points=50_000)
    assert 0 < d["chamfer"] < d["hausdorff"] < 1.5
    # an IFS against its own chaos-game points
    points = ifskit.chaos_game(a, 50_000, seed=9)
    assert attractor_distance(a, points, n_points=50_000)["chamfer"] < 0.01


def test_box_dimension_is_a_float():
    value = ifskit.analysis.box_dimension(ifskit.catalog("sierpinski"), n_points=300_000)
    assert isinstance(value, float) and value == pytest.approx(np.log(3) / np.log(2), rel=0.03)
