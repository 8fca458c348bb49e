"""The neural image collage operator (ifskit.image.collage): contractive by construction, at any scale."""

import pytest

torch = pytest.importorskip("torch")

from ifskit.image.collage import CollageConfig, collage_step, contractive_weights, limit_weights  # noqa: E402

SMALL = CollageConfig(crop=16, range_size=4, n_aux=2, augment=True)


def test_weights_are_contractive_by_construction():
    raw = torch.randn(4, 30, 50) * torch.logspace(-2, 3, 50)  # from tiny to huge free parameters
    for s_max in (0.5, 0.9, 0.99):
        sums = contractive_weights(raw, s_max).abs().sum(dim=1)
        assert sums.max() < s_max < 1
        assert limit_weights(raw, s_max).abs().sum(dim=1).max() <= s_max * (1 + 1e-6)
    small = torch.full((1, 3, 2), 0.1)
    assert torch.equal(limit_weights(small, 0.9), small)  # already contractive: unchanged


def test_collage_operator_is_a_contraction_in_the_sup_norm():
    generator = torch.Generator().manual_seed(1)
    weights = contractive_weights(torch.randn(3, SMALL.n_candidates, SMALL.n_ranges, generator=generator) * 5, 0.9)
    bias, aux = torch.rand(3, SMALL.n_ranges, generator=generator), torch.rand(2, 4, 4, generator=generator)
    a, b = (torch.rand(3, 1, 32, 32, generator=generator) for _ in range(2))
    for scale in (1, 2):
        x, y = a[..., : 16 * scale, : 16 * scale], b[..., : 16 * scale, : 16 * scale]
        moved = [collage_step(SMALL, z, weights, bias, aux, scale=scale) for z in (x, y)]
        assert (moved[0] - moved[1]).abs().max() <= 0.9 * (x - y).abs().max() + 1e-6
