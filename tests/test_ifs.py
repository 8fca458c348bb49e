"""The IFS value type: validation, probabilities, contraction, fixed points, bounds, conjugation."""

import warnings

import numpy as np
import pytest

import ifskit
from ifskit import IFS, FormatError, IfskitWarning, NonContractiveError
from ifskit.render import tight_bounds


def test_shapes_and_arrays_are_read_only(sierpinski):
    assert sierpinski.A.shape == (3, 2, 2) and sierpinski.b.shape == (3, 2) and sierpinski.p.shape == (3,)
    assert sierpinski.dim == 2 and sierpinski.n_maps == len(sierpinski) == 3
    with pytest.raises(ValueError):
        sierpinski.A[0, 0, 0] = 2.0


@pytest.mark.parametrize(
    "A, b",
    [
        (np.zeros((2, 2, 3)), np.zeros((2, 2))),  # not square
        (np.zeros((2, 4, 4)), np.zeros((2, 4))),  # 4D
        (np.zeros((2, 2, 2)), np.zeros((3, 2))),  # b of another count
        (np.zeros((0, 2, 2)), np.zeros((0, 2))),  # no map
        (np.full((1, 2, 2), np.nan), np.zeros((1, 2))),
        (np.zeros((1, 2, 2)), [[np.inf, 0]]),
        ([[["a", 0], [0, 0]]], [[0, 0]]),
    ],
)
def test_invalid_arrays_are_rejected(A, b):
    with pytest.raises(FormatError):
        IFS(A, b)


def test_given_probabilities_are_normalized_with_a_warning():
    A = np.repeat(0.5 * np.eye(2)[None], 2, axis=0)
    with pytest.warns(IfskitWarning, match="sum to 2"):
        ifs = IFS(A, np.zeros((2, 2)), [1.0, 1.0])
    np.testing.assert_allclose(ifs.p, [0.5, 0.5])


def test_rounded_probabilities_are_accepted_silently():
    A = np.repeat(0.5 * np.eye(2)[None], 3, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ifs = IFS(A, np.zeros((3, 2)), [0.333333] * 3)
    assert ifs.p.sum() == pytest.approx(1.0)


def test_negative_or_zero_probabilities_are_errors():
    A = np.repeat(0.5 * np.eye(2)[None], 2, axis=0)
    with pytest.raises(FormatError, match="negative probability"):
        IFS(A, np.zeros((2, 2)), [1.1, -0.1])
    with pytest.raises(FormatError, match="zero"):
        IFS(A, np.zeros((2, 2)), [0.0, 0.0])


def test_default_probabilities_follow_det_with_a_floor(fern):
    ifs = IFS(fern.A, fern.b)  # the stem map has det 0
    dets = np.abs(np.linalg.det(fern.A))
    assert ifs.p.sum() == pytest.approx(1.0)
    assert ifs.p[0] > 0  # the degenerate stem is still visited
    assert np.argmax(ifs.p) == np.argmax(dets)
    assert ifs.p[2] / ifs.p[3] == pytest.approx(dets[2] / dets[3])


def test_contraction_factors_are_largest_singular_values():
    A = np.array([[[0.5, 0.3], [0.0, 0.2]], [[0.0, -0.9], [0.4, 0.0]]])
    ifs = IFS(A, np.zeros((2, 2)))
    expected = [np.linalg.svd(a, compute_uv=False)[0] for a in A]
    np.testing.assert_allclose(ifs.contraction_factors, expected)
    assert ifs.contraction == pytest.approx(0.9) and ifs.is_contractive


def test_contractive_on_average_warns_and_divergent_raises():
    A = np.array([1.2 * np.eye(2), 0.3 * np.eye(2)])
    averaging = IFS(A, np.zeros((2, 2)), [0.2, 0.8])  # 0.2 log 1.2 + 0.8 log 0.3 < 0
    assert not averaging.is_contractive and averaging.average_contraction < 0
    assert "contractive on average" in averaging.check_contractive()
    diverging = IFS(A, np.zeros((2, 2)), [0.9, 0.1])
    with pytest.raises(NonContractiveError, match=r"s = 1\.2.*sum p_i log s_i = 0\.0"):
        diverging.check_contractive()
    assert "as asked" in diverging.check_contractive(allow_noncontractive=True)


def test_fixed_points_are_fixed(fern):
    for i in range(fern.n_maps):
        x = fern.fixed_points[i]
        np.testing.assert_allclose(fern.A[i] @ x + fern.b[i], x, atol=1e-12)


def test_guaranteed_bounds_contain_attractor_and_tight_bounds_are_tight(fern):
    points = ifskit.chaos_game(fern, 200_000, seed=3)
    lo, hi = points.min(axis=0), points.max(axis=0)
    guaranteed = fern.guaranteed_bounds().reshape(-1, 2)
    assert np.all(guaranteed[:, 0] <= lo) and np.all(hi <= guaranteed[:, 1])
    tight = tight_bounds(fern).reshape(-1, 2)
    extent = hi - lo
    np.testing.assert_allclose(tight[:, 0], lo, atol=0.01 * extent.max())
    np.testing.assert_allclose(tight[:, 1], hi, atol=0.01 * extent.max())


def test_sierpinski_tight_bounds_are_its_triangle(sierpinski):
    np.testing.assert_allclose(tight_bounds(sierpinski), [0, 1, 0, np.sqrt(3) / 2], atol=2e-3)


def test_conjugation_moves_the_attractor(sierpinski):
    angle = np.radians(30)
    M = 2.0 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    t = np.array([3.0, -1.0])
    moved = sierpinski.conjugate(M, t)
    # the transformed fixed points are the new maps' fixed points
    np.testing.assert_allclose(moved.fixed_points, sierpinski.fixed_points @ M.T + t, atol=1e-12)
    # and chaos-game points of the new IFS are images of points of the old attractor
    points = ifskit.chaos_game(moved, 20_000, seed=1)
    back = (points - t) @ np.linalg.inv(M).T
    # every point of the Sierpinski triangle has barycentric coordinates >= 0
    assert back[:, 1].min() > -1e-9 and np.all(back[:, 1] <= np.sqrt(3) * np.minimum(back[:, 0], 1 - back[:, 0]) + 1e-9)
    with pytest.raises(FormatError, match="invertible"):
        sierpinski.conjugate(np.zeros((2, 2)))
    with pytest.raises(FormatError, match="invertible"):
        sierpinski.conjugate([[1.0, 2.0], [1.0, 2.0 + 1e-14]])
    # a small uniform scaling is invertible, whatever its determinant (the unit ball of a cloud in metres)
    tiny = sierpinski.conjugate(1e-7 * np.eye(2))
    np.testing.assert_allclose(tiny.fixed_points, 1e-7 * sierpinski.fixed_points, atol=1e-20)


def test_equality_and_repr(sierpinski):
    same = IFS(sierpinski.A.copy(), sierpinski.b.copy(), sierpinski.p.copy(), name="sierpinski")
    assert same == sierpinski
    nudged = IFS(sierpinski.A + 1e-13, sierpinski.b, sierpinski.p, name="sierpinski")
    assert nudged != sierpinski and nudged.allclose(sierpinski)
    assert not IFS(sierpinski.A * 0.9, sierpinski.b).allclose(sierpinski)
    assert repr(sierpinski) == "IFS('sierpinski', dim=2, maps=3, contraction=0.5)"
    assert "map 2" in sierpinski.describe()


def test_apply_maps_points(sierpinski):
    images = sierpinski.apply(np.array([[0.0, 0.0], [1.0, 0.0]]))
    assert images.shape == (3, 2, 2)
    np.testing.assert_allclose(images[1, 1], [1.0, 0.0])


def test_similarity_dimension(sierpinski):
    assert ifskit.similarity_dimension(sierpinski) == pytest.approx(np.log(3) / np.log(2))
    assert ifskit.similarity_dimension(ifskit.catalog("sierpinski_carpet")) == pytest.approx(np.log(8) / np.log(3))
    assert np.isnan(ifskit.moran_dimension([0.5, 1.0]))
