"""The benchmarks' pieces (real_shapes.py, real_metrics.py, bench_curves.py's curves) do what they claim."""

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi

import ifskit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bench_collage import shares  # noqa: E402
from bench_curves import de_rham_curve  # noqa: E402
from real_metrics import bounding_square, distances, occupancy, occupancy_iou, score_points  # noqa: E402
from real_shapes import HELD_OUT_SHAPES, SHAPES, Cells, Mesh, grid_mesh, load_shape, missing_package, spec_of  # noqa: E402


@pytest.fixture(scope="module")
def glyph_b():
    # matplotlib's own font: always there
    return load_shape("glyph_B")  # 200,000 truth points: every cell of the B on 128^2 holds some


def test_iou_of_the_truth_with_itself_is_one_and_a_shifted_copy_less(glyph_b):
    truth = glyph_b.truth
    assert occupancy_iou(truth, truth) == 1.0
    _, side = bounding_square(truth)
    shifted = occupancy_iou(truth, truth + [0.03 * side, 0.0])
    further = occupancy_iou(truth, truth + [0.10 * side, 0.0])
    assert 0.0 < further < shifted < 0.95


def test_iou_in_3d_and_of_an_independent_sample():
    rng = np.random.default_rng(0)
    cube = rng.uniform(size=(200_000, 3))
    assert occupancy_iou(cube, cube) == 1.0
    # on 16^3 voxels 200,000 points fill every voxel (on 64^3 they would not: 0.8 a voxel)
    assert occupancy_iou(cube, rng.uniform(size=(200_000, 3)), bins=16) == 1.0
    # an eighth of the cube, give or take the cells that the grid's edges (the sample's extremes) cut
    assert occupancy_iou(cube, 0.5 * rng.uniform(size=(200_000, 3)), bins=16) == pytest.approx(1 / 8, abs=0.005)


def test_occupancy_grid_is_the_bounding_square_centred_on_the_box():
    points = np.array([[0.0, 0.0], [4.0, 1.0]])  # box 4 x 1: square of side 4 over y in [-1.5, 2.5]
    lo, side = bounding_square(points)
    assert side == 4.0
    np.testing.assert_allclose(lo, [0.0, -1.5])
    grid = occupancy(points, lo, side, 4)
    # the upper corner falls in the last cell, not off the grid; y = 0 and y = 1 are in the middle cells
    assert grid.sum() == 2 and grid[0, 1] and grid[3, 2]
    assert not occupancy(np.array([[5.0, 0.0]]), lo, side, 4).any()  # outside: in no cell


def test_input_cloud_lies_in_the_shape_and_holes_stay_empty(glyph_b):
    region = SHAPES["glyph_B"].build()
    assert region.contains(glyph_b.cloud).all() and region.contains(glyph_b.truth).all()
    hausdorff, _ = distances(glyph_b.truth, glyph_b.cloud)
    assert hausdorff < 0.03 * np.linalg.norm(np.ptp(glyph_b.truth, axis=0))
    # the B's two counters are holes: the empty cells make three regions (outside and two holes); a margin of
    # empty cells joins the outside, which the B's stem cuts in two as it spans the square from top to bottom
    lo, side = bounding_square(glyph_b.truth)
    _, n_empty_regions = ndi.label(np.pad(~occupancy(glyph_b.truth, lo, side, 128), 1, constant_values=True))
    assert n_empty_regions == 3


def test_clouds_are_deterministic_by_seed():
    a = load_shape("glyph_at", n_input=500, n_truth=2000, seed=0)
    b = load_shape("glyph_at", n_input=500, n_truth=2000, seed=0)
    c = load_shape("glyph_at", n_input=500, n_truth=2000, seed=1)
    np.testing.assert_array_equal(a.cloud, b.cloud)
    np.testing.assert_array_equal(a.truth, b.truth)
    assert not np.array_equal(a.cloud, c.cloud)
    assert not np.array_equal(a.cloud, a.truth[:500])  # cloud and truth are independent draws


def test_surface_sampling_is_area_uniform():
    rng = np.random.default_rng(1)
    # two separate triangles of areas 1/2 and 3/2 (the second is the first scaled by sqrt(3))
    tri = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    mesh = Mesh(np.concatenate([tri, 5.0 + np.sqrt(3) * tri]), [[0, 1, 2], [3, 4, 5]])
    points = mesh.sample(200_000, rng)
    assert np.mean(points[:, 0] < 2.5) == pytest.approx(0.25, abs=0.005)
    # uniform inside a triangle: the mean is the centroid, and the density is flat (4 equal-area sub-triangles)
    first = points[points[:, 0] < 2.5]
    np.testing.assert_allclose(first.mean(axis=0), [1 / 3, 1 / 3, 0.0], atol=0.005)
    x, y = first[:, 0], first[:, 1]
    corners = [np.mean(x > 0.5), np.mean(y > 0.5), np.mean(x + y < 0.5)]
    np.testing.assert_allclose(corners, 0.25, atol=0.01)


def test_height_field_surface_is_its_tilted_area():
    # z = 2x over [0, 1]^2: area sqrt(5), and the samples are uniform over x (the slope is constant)
    x = np.linspace(0.0, 1.0, 11)
    mesh = grid_mesh(x, x, 2.0 * x[None, :].repeat(11, axis=0))
    assert mesh.areas.sum() == pytest.approx(np.sqrt(5.0))
    points = mesh.sample(100_000, np.random.default_rng(2))
    np.testing.assert_allclose(points[:, 2], 2.0 * points[:, 0])
    np.testing.assert_allclose(np.histogram(points[:, 0], bins=4, range=(0, 1))[0] / 100_000, 0.25, atol=0.01)


def test_cells_sample_inside_their_cells_through_the_affine():
    mask = np.zeros((3, 4), dtype=bool)
    mask[0, 1] = mask[2, 3] = True
    affine = np.array([[2.0, 0.0, 10.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # cell (i, j) -> (10 + 2i, j)
    points = Cells(mask, affine).sample(10_000, np.random.default_rng(3))
    in_first = (np.abs(points[:, 0] - 10.0) <= 1.0) & (np.abs(points[:, 1] - 1.0) <= 0.5)
    in_second = (np.abs(points[:, 0] - 14.0) <= 1.0) & (np.abs(points[:, 1] - 3.0) <= 0.5)
    assert (in_first | in_second).all() and np.mean(in_first) == pytest.approx(0.5, abs=0.02)
    # uniform over the whole cell, not its centre: a quarter of the points in each quadrant of the first cell
    quadrant = (points[in_first, 0] > 10.0) & (points[in_first, 1] > 1.0)
    assert np.mean(quadrant) == pytest.approx(0.25, abs=0.02)


def test_distances_are_ifskits():
    rng = np.random.default_rng(4)
    p, q = rng.normal(size=(300, 3)), rng.normal(size=(500, 3)) + 0.2
    hausdorff, chamfer = distances(p, q)
    assert hausdorff == pytest.approx(ifskit.hausdorff_distance(p, q))
    assert chamfer == pytest.approx(ifskit.chamfer_distance(p, q))


def test_an_independent_sample_of_the_shape_scores_near_perfect():
    shape = load_shape("glyph_A", n_truth=200_000)
    other = load_shape("glyph_A", n_truth=200_000, seed=5).truth
    scores = score_points(shape.truth, other)
    assert scores.iou > 0.97
    assert scores.hausdorff_pct < 1.0 and scores.chamfer_pct < 0.1


@pytest.mark.parametrize("name", [*SHAPES, *HELD_OUT_SHAPES])
def test_every_shape_builds(name):
    missing = missing_package(name)
    if missing is not None:
        pytest.skip(f"shape {name} needs the package {missing}")
    spec = spec_of(name)
    shape = load_shape(name, n_input=64, n_truth=256)
    assert shape.cloud.shape == (64, spec.dim) and shape.truth.shape == (256, spec.dim)
    assert np.isfinite(shape.cloud).all() and np.isfinite(shape.truth).all()
    assert shape.kind in ("filled 2D", "surface", "solid") and (shape.kind == "filled 2D") == (spec.dim == 2)


@pytest.mark.parametrize("reflected", [False, True])
def test_de_rham_curves_join_their_ends_0_and_1(reflected):
    """Two contracting similitudes, one fixing 0, the other 1, each image meeting the other at a: a curve from 0 to 1."""
    rng = np.random.default_rng(0)
    for _ in range(5):
        curve = de_rham_curve(rng, reflected)
        assert curve.n_maps == 2 and curve.contraction < 0.85 and np.isclose(curve.p.sum(), 1.0)
        for A in curve.A:  # a similitude: A^T A = s^2 I, orientation as asked
            gram = A.T @ A
            assert np.allclose(gram, gram[0, 0] * np.eye(2)) and (np.linalg.det(A) < 0) == reflected
        fixed = [np.linalg.solve(np.eye(2) - A, b) for A, b in zip(curve.A, curve.b)]
        assert np.allclose(fixed[0], [0.0, 0.0]) and np.allclose(fixed[1], [1.0, 0.0])
        # the first map's image of the end 1 is the second's image of the end 0: the halves join
        assert np.allclose(curve.A[0] @ [1.0, 0.0] + curve.b[0], curve.b[1])
        cloud = ifskit.chaos_game(curve, 20_000, seed=1, progress=False)
        for end in ([0.0, 0.0], [1.0, 0.0]):  # the curve reaches both ends (it may bulge beyond them)
            assert np.linalg.norm(cloud - end, axis=1).min() < 0.02


def test_bench_collage_sees_the_gap_that_a_missing_copy_leaves(glyph_b):
    """Four quarter copies tile the B's bounding square; three leave the fourth quarter's gap in every copy."""
    lo, side = bounding_square(glyph_b.truth)
    square = np.random.default_rng(0).uniform(lo, lo + side, (200_000, 2))
    shape = replace(glyph_b, truth=square, cloud=square[:4096])
    corners = lo + side * np.array([[0.0, 0.0], [0.5, 0.0], [0.0, 0.5], [0.5, 0.5]])
    tiles = ifskit.IFS(np.array([0.5 * np.eye(2)] * 4), corners - 0.5 * lo, np.full(4, 0.25))
    whole = shares(shape, tiles)
    assert whole["iou"] > 0.99 and whole["missed_inside"] == 0.0 and whole["collage_missed"] < 0.01
    assert whole["det_sum"] == pytest.approx(1.0) and whole["largest_singular_value"] == pytest.approx(0.5)
    three = shares(shape, ifskit.IFS(tiles.A[:3], tiles.b[:3], np.full(3, 1 / 3)))
    assert three["collage_missed"] == pytest.approx(0.25, abs=0.01)  # the fourth quarter
    assert three["missed_inside"] > 0.4 and three["iou"] < 0.5  # the gap copied into every copy: a Sierpinski triangle
    assert whole["cloud_reach_iou"] > 0.95
