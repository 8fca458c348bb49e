"""ifskit.ops.losses: differentiable distances between clouds, collages, coverage shares, chaos chains."""

import numpy as np
import pytest

import ifskit

torch = pytest.importorskip("torch")

from ifskit.ops.knn import nearest_distances  # noqa: E402
from ifskit.ops.losses import (  # noqa: E402
    attractor_chamfer,
    chamfer,
    chaos_chains,
    collage,
    coverage_shares,
    map_shares,
    smooth_hausdorff,
)


def test_chamfer_matches_the_kd_tree_distance(rng):
    x, y = rng.normal(size=(500, 3)), rng.normal(size=(300, 3)) + 0.2
    value = chamfer(torch.as_tensor(x), torch.as_tensor(y))
    assert value.shape == ()
    assert value.item() == pytest.approx(ifskit.chamfer_distance(x, y), rel=1e-12)


def test_chamfer_is_batched_and_broadcasts_one_cloud(rng):
    xs = torch.as_tensor(rng.normal(size=(4, 200, 2)))
    y = torch.as_tensor(rng.normal(size=(150, 2)))
    batched = chamfer(xs, y)
    assert batched.shape == (4,)
    for i in range(4):
        assert batched[i].item() == pytest.approx(chamfer(xs[i], y).item(), rel=1e-12)


def test_chamfer_weights_and_squared(rng):
    x = torch.as_tensor(rng.normal(size=(100, 2)))
    y = torch.as_tensor(rng.normal(size=(80, 2)))
    w = torch.zeros(100, dtype=torch.float64)
    w[:10] = 1
    d_xy = nearest_distances(x, y)
    d_yx = nearest_distances(y, x)
    assert chamfer(x, y, w).item() == pytest.approx(0.5 * (d_xy[:10].mean() + d_yx.mean()).item())
    assert chamfer(x, y, squared=True).item() == pytest.approx(0.5 * ((d_xy**2).mean() + (d_yx**2).mean()).item())


def test_chamfer_gradient_equals_the_dense_distance_matrix_gradient(rng):
    x = torch.as_tensor(rng.normal(size=(60, 2)), dtype=torch.float64).requires_grad_()
    y = torch.as_tensor(rng.normal(size=(40, 2)), dtype=torch.float64)
    chamfer(x, y).backward()
    ours = x.grad.clone()
    x.grad = None
    dense = torch.cdist(x, y)
    (0.5 * (dense.min(1).values.mean() + dense.min(0).values.mean())).backward()
    torch.testing.assert_close(ours, x.grad)


def test_smooth_hausdorff_lies_between_mean_and_hausdorff_and_converges(rng):
    x, y = rng.normal(size=(400, 2)), rng.normal(size=(300, 2)) * 1.3
    exact = ifskit.hausdorff_distance(x, y)
    tx, ty = torch.as_tensor(x), torch.as_tensor(y)
    loose = smooth_hausdorff(tx, ty, 1.0).item()
    tight = smooth_hausdorff(tx, ty, 1e-3).item()
    assert ifskit.chamfer_distance(x, y) < loose < tight <= exact + 1e-12
    assert tight == pytest.approx(exact, rel=0.05)
    with pytest.raises(ValueError):
        smooth_hausdorff(tx, ty, 0.0)


def test_collage_is_the_images_under_every_map(rng, fern):
    points = rng.normal(size=(50, 2))
    A = torch.as_tensor(np.stack([fern.A, 0.5 * fern.A]))
    b = torch.as_tensor(np.stack([fern.b, fern.b]))
    out = collage(torch.as_tensor(points), A, b)
    assert out.shape == (2, 4 * 50, 2)
    np.testing.assert_allclose(out[0].numpy(), fern.apply(points).reshape(-1, 2), atol=1e-12)
    per_batch = collage(torch.as_tensor(np.stack([points, 2 * points])), A, b)
    np.testing.assert_allclose(per_batch[0].numpy(), out[0].numpy(), atol=1e-12)
    half = ifskit.IFS(0.5 * fern.A, fern.b)
    np.testing.assert_allclose(per_batch[1].numpy(), half.apply(2 * points).reshape(-1, 2), atol=1e-12)


def test_chaos_chains_follow_the_maps_and_are_seeded(fern):
    start = torch.zeros(1, 5, 2, dtype=torch.float64)
    A, b = torch.tensor(fern.A)[None], torch.tensor(fern.b)[None]
    p = torch.tensor([[0.0, 0.5, 0.5, 0.0]])
    chains = chaos_chains(start, A, b, p, 1, torch.Generator().manual_seed(0))
    # one step from the origin lands on the translation b_i of a map drawn with p
    assert all(np.isclose(np.abs(fern.b[1:3] - point).sum(1), 0).any() for point in chains[0].numpy())
    again = chaos_chains(start, A, b, p, 1, torch.Generator().manual_seed(0))
    assert torch.equal(chains, again)
    three = (A.expand(3, -1, -1, -1), b.expand(3, -1, -1), torch.full((3, 4), 0.25))
    assert chaos_chains(start[0], *three, 4, torch.Generator().manual_seed(1)).shape == (3, 5, 2)


def test_coverage_shares_are_the_invariant_measure_of_disjoint_maps():
    sierpinski = ifskit.catalog("sierpinski")
    cloud = torch.as_tensor(ifskit.chaos_game(sierpinski, 3000, seed=0, progress=False).copy())
    A, b = torch.tensor(sierpinski.A)[None], torch.tensor(sierpinski.b)[None]
    shares = coverage_shares(cloud, A, b)
    assert shares.shape == (1, 3) and np.allclose(shares.sum(), 1)
    assert np.allclose(shares.numpy(), 1 / 3, atol=0.03)
    # a map whose image covers nothing still gets the floor
    far = b.clone()
    far[0, 0] += 100.0
    floored = coverage_shares(cloud, A, far, floor=0.01)[0]
    assert floored[0] >= 0.0099 and np.isclose(floored.sum(), 1)


def test_map_shares_from_the_chamfer_search_equal_coverage_shares(fern):
    cloud = torch.as_tensor(ifskit.chaos_game(fern, 1000, seed=0, progress=False).copy())[None]
    A, b = torch.tensor(fern.A)[None], torch.tensor(fern.b)[None]
    value, nearest_image = chamfer(collage(cloud, A, b), cloud, return_index=True)
    assert torch.equal(value, chamfer(collage(cloud, A, b), cloud)) and nearest_image.shape == (1, 1000)
    shares = map_shares(nearest_image // 1000, 4, 0.01, torch.float64)
    torch.testing.assert_close(shares, coverage_shares(cloud, A, b, 0.01))


def test_attractor_chamfer_scores_the_true_maps_at_the_sampling_floor(fern):
    """The maps of the cloud's IFS score as a second sample of the attractor would
    (the chains draw maps with the cloud's coverage); shifted maps score far worse,
    and the gradient reaches them."""
    cloud = torch.as_tensor(ifskit.chaos_game(fern, 2000, seed=0, progress=False).copy())
    floor = ifskit.chamfer_distance(ifskit.chaos_game(fern, 2000, seed=1, progress=False), cloud.numpy())
    A, b = torch.tensor(fern.A)[None], torch.tensor(fern.b)[None]
    true = attractor_chamfer(cloud, A, b, generator=torch.Generator().manual_seed(0))
    assert true.shape == (1,) and true.item() < 1.3 * floor
    moved = b.clone().requires_grad_()
    shifted = attractor_chamfer(cloud, A, moved + torch.tensor([0.5, 0.0]), generator=torch.Generator().manual_seed(0))
    assert shifted.item() > 3 * true.item()
    shifted.sum().backward()
    assert torch.isfinite(moved.grad).all() and moved.grad.abs().sum() > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_chamfer_on_cuda_matches_cpu(rng):
    x, y = rng.normal(size=(3, 2000, 3)), rng.normal(size=(3, 1500, 3))
    cpu = chamfer(torch.as_tensor(x), torch.as_tensor(y))
    gpu = chamfer(torch.as_tensor(x, device="cuda"), torch.as_tensor(y, device="cuda"))
    torch.testing.assert_close(gpu.cpu(), cpu)


def test_splat_keeps_the_mass_and_puts_it_where_the_points_are():
    from ifskit.ops.losses import splat

    points = torch.tensor([[[1.5, 2.5], [0.25, 3.75], [3.5, 0.5]]], dtype=torch.float64, requires_grad=True)
    mass = torch.tensor([[1.0, 2.0, 0.5]], dtype=torch.float64)
    grid = splat(points, mass, torch.zeros(2, dtype=torch.float64), 1.0, 4)
    assert grid.shape == (1, 16) and torch.isclose(grid.sum(), mass.sum())
    # a point at a cell's centre is all in that cell (flat index x * size + y); the edge keeps ~all of it
    assert float(grid[0, 1 * 4 + 2].detach()) == pytest.approx(1.0, abs=1e-5)
    assert float(grid[0, 3 * 4 + 0].detach()) == pytest.approx(0.5, abs=1e-5)
    # differentiable in the positions: moving a point moves its mass
    grid[0, 1 * 4 + 2].backward()
    assert points.grad is not None and points.grad.abs().sum() > 0


def test_occupancy_loss_sees_missed_cells_and_spill():
    from ifskit.fitting.occupancy import target_occupancy
    from ifskit.fitting.optimize import occupancy_loss

    rng = np.random.default_rng(0)
    square = rng.uniform(-1, 1, size=(3000, 2))
    occ = target_occupancy(square)
    half = torch.tensor([[[0.5, 0.0], [0.0, 0.5]]] * 4, dtype=torch.float64)
    corners = torch.tensor([[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5], [0.5, 0.5]], dtype=torch.float64)

    def loss(A, b):
        return float(occupancy_loss(A[None], b[None], occ, torch.Generator().manual_seed(0))[0])

    tiled = loss(half, corners)  # four half-size copies tile the square
    assert tiled < 0.15
    assert loss(half[:2], corners[:2]) > tiled + 0.3  # half the square missed
    assert loss(half, corners + 1.0) > tiled + 0.3  # shifted: spill outside, cells missed
