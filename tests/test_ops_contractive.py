"""ifskit.ops.contractive: affine maps that are contractive by construction, and their raw parameters."""

import numpy as np
import pytest

import ifskit

torch = pytest.importorskip("torch")

from ifskit.ops.contractive import maps_from_params, n_params, params_from_maps  # noqa: E402


def _random_maps(rng, k, d, max_singular):
    """k random affine maps with singular values in (0, max_singular), some reflections."""
    A = []
    for _ in range(k):
        U, _, Vt = np.linalg.svd(rng.normal(size=(d, d)))
        A.append(U @ np.diag(rng.uniform(0.05, max_singular, d)) @ Vt)
    return np.array(A), rng.normal(size=(k, d))


@pytest.mark.parametrize("dim", [2, 3])
def test_every_parameter_vector_gives_contractive_maps_with_reflections(dim):
    raw = torch.randn(64, 5, n_params(dim), dtype=torch.float64) * 10
    A, b = maps_from_params(raw, dim, max_contraction=0.7)
    assert A.shape == (64, 5, dim, dim) and b.shape == (64, 5, dim)
    norms = torch.linalg.matrix_norm(A, ord=2)
    assert norms.max() <= 0.7 + 1e-9
    dets = torch.linalg.det(A)
    assert (dets < 0).any() and (dets > 0).any()


@pytest.mark.parametrize("dim", [2, 3])
def test_params_from_maps_inverts_maps_from_params(rng, dim):
    A, b = _random_maps(rng, 6, dim, 0.85)
    raw = params_from_maps(A, b, max_contraction=0.9)
    assert raw.shape == (6, n_params(dim))
    A2, b2 = maps_from_params(raw, dim, max_contraction=0.9)
    np.testing.assert_allclose(A2.numpy(), A, atol=1e-9)
    np.testing.assert_allclose(b2.numpy(), b, atol=1e-12)


def test_params_from_maps_clamps_expanding_maps_and_keeps_batch_dims(rng):
    A, b = _random_maps(rng, 4, 2, 0.5)
    A = np.stack([A, 3 * A])  # (2, 4, 2, 2), the second batch expanding
    raw = params_from_maps(A, np.stack([b, b]), max_contraction=0.8)
    assert raw.shape == (2, 4, 6)
    A2, _ = maps_from_params(raw, 2, 0.8)
    norms = torch.linalg.matrix_norm(A2, ord=2)
    assert norms[1].max() <= 0.8 and norms[1].max() > 0.79
    np.testing.assert_allclose(A2[0].numpy(), A[0], atol=1e-9)


def test_fern_stem_round_trips():
    fern = ifskit.catalog("barnsley_fern")  # one map has det 0
    A, b = maps_from_params(params_from_maps(fern.A, fern.b, 0.9), 2, 0.9)
    np.testing.assert_allclose(A.numpy(), fern.A, atol=2e-4)


@pytest.mark.parametrize("dim", [2, 3])
def test_gradients_reach_every_parameter(dim):
    raw = torch.randn(3, n_params(dim), dtype=torch.float64, requires_grad=True)
    A, b = maps_from_params(raw, dim)
    (A.sum() + (A**2).sum() + b.sum()).backward()
    assert torch.isfinite(raw.grad).all() and (raw.grad.abs() > 0).all()


def test_bad_dimension_and_contraction_are_rejected():
    with pytest.raises(ValueError):
        n_params(4)
    with pytest.raises(ValueError):
        maps_from_params(torch.zeros(2, 6), 2, max_contraction=1.5)
    with pytest.raises(ValueError):
        maps_from_params(torch.zeros(2, 7), 2)
