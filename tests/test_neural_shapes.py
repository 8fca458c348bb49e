"""Procedural training shapes and the encoder's training mix (attractors, shapes, users' clouds)."""

import numpy as np
import pytest

import ifskit
from ifskit.neural.dataset import load_user_clouds, make_sample, training_cloud
from ifskit.neural.shapes import KINDS, random_shape


@pytest.mark.parametrize("dim, kind", [(d, k) for d in (2, 3) for k in KINDS[d]])
def test_every_kind_is_a_seeded_cloud_in_the_unit_ball(dim, kind):
    a = random_shape(np.random.default_rng(5), 2000, dim, kind)
    b = random_shape(np.random.default_rng(5), 2000, dim, kind)
    assert a.shape == (2000, dim) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert np.isclose(np.linalg.norm(a, axis=1).max(), 1, atol=1e-6)
    assert not np.array_equal(a, random_shape(np.random.default_rng(6), 2000, dim, kind))


def test_filled_regions_are_sampled_evenly_over_their_area():
    # an attractor's cloud piles up where maps overlap; a region is uniform: every cell of it holds
    # about the same number of points
    points = random_shape(np.random.default_rng(0), 200_000, 2, "polygon")
    counts, _, _ = np.histogram2d(points[:, 0], points[:, 1], bins=24)
    inner = counts[counts > 0.8 * np.median(counts[counts > 0])]
    assert inner.std() / inner.mean() < 0.1


def test_outlines_have_a_hole_and_height_fields_are_surfaces():
    ring = random_shape(np.random.default_rng(1), 5000, 2, "outline")
    assert np.linalg.norm(ring, axis=1).min() > 0.2  # nothing near the centre of a closed band
    terrain = random_shape(np.random.default_rng(1), 5000, 3, "height_field")
    # a surface: no thickness across its normal (the smallest principal axis) beyond its bumps
    _, sigma, _ = np.linalg.svd(terrain - terrain.mean(axis=0), full_matrices=False)
    assert sigma[-1] < 0.6 * sigma[0]


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown 2D shape kind"):
        random_shape(np.random.default_rng(0), 10, 2, "blob")


def test_training_mix():
    # no shapes: exactly the attractor samples of before
    np.testing.assert_array_equal(training_cloud(4, 9, 300, 2), make_sample(4, 9, (2, 4), 300, 2)[1])
    shapes = [training_cloud(i, 9, 300, 2, shape_share=1.0) for i in range(4)]
    assert all(not np.array_equal(s, make_sample(i, 9, (2, 4), 300, 2)[1]) for i, s in enumerate(shapes))
    np.testing.assert_array_equal(shapes[2], training_cloud(2, 9, 300, 2, shape_share=1.0))
    # a user's cloud: a subset of it, turned about its centre (its distances kept)
    mine = np.random.default_rng(0).random((50, 3)) * [1, 2, 3]
    taken = training_cloud(0, 9, 50, 3, user_clouds=[mine], user_share=1.0)
    np.testing.assert_allclose(
        np.sort(np.linalg.norm(taken, axis=1)), np.sort(np.linalg.norm(mine - mine.mean(axis=0), axis=1)), rtol=1e-5
    )


def test_user_clouds_folder(tmp_path):
    with pytest.raises(ifskit.FormatError, match="no such folder"):
        load_user_clouds(tmp_path / "nope", 2)
    with pytest.raises(ifskit.FormatError, match="no point-cloud file"):
        load_user_clouds(tmp_path, 2)
    np.save(tmp_path / "b.npy", np.random.default_rng(0).random((40, 2)))
    np.save(tmp_path / "a.npy", np.random.default_rng(1).random((30, 2)))
    (tmp_path / "notes.md").write_text("not a cloud")
    clouds = load_user_clouds(tmp_path, 2)
    assert [len(c) for c in clouds] == [30, 40]
    with pytest.raises(ifskit.FormatError, match="training a 3D encoder needs 3D clouds") as error:
        load_user_clouds(tmp_path, 3)
    assert "a.npy" in str(error.value)
