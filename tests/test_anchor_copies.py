"""The encoder's anchor copies: the module, its training stage, its checkpoints and its place in encode."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ifskit.errors import FormatError, ParameterError  # noqa: E402
from ifskit.neural.encoding import encode  # noqa: E402
from ifskit.neural.model import (  # noqa: E402
    AnchorCopies,
    build_encoder,
    default_hparams,
    farthest_points,
    load_checkpoint,
    save_checkpoint,
)
from ifskit.neural.shapes import random_shape  # noqa: E402
from ifskit.neural.train import copies_loss, train_copies  # noqa: E402

TINY = {**default_hparams(2), "point_widths": [16, 32], "global_widths": [32], "n_input": 64, "k_values": [2, 3]}


@pytest.fixture(scope="module")
def heads_model(tmp_path_factory):
    """A tiny 2D encoder without copies (untrained heads: the copies stage does not care)."""
    torch.manual_seed(0)
    return save_checkpoint(tmp_path_factory.mktemp("heads") / "heads.pt", build_encoder(TINY))


@pytest.fixture(scope="module")
def copies_model(heads_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("copies") / "copies.pt"
    train_copies(path, heads_model, 4, anchors=6, batch_size=4, pool=12)
    return path


def _shape(seed=0, n=400):
    return random_shape(np.random.default_rng(seed), n, 2).astype(np.float64)


def test_copies_are_contractive_and_sit_at_their_anchors_whatever_the_weights():
    torch.manual_seed(1)
    copies = AnchorCopies(2, 10, 4)
    with torch.no_grad():
        for parameter in copies.parameters():
            parameter.mul_(30.0)  # saturated outputs
        points = torch.as_tensor(_shape(1, 200), dtype=torch.float32)[None]
        A, b = copies(points)
    assert A.shape == (1, 10, 2, 2) and b.shape == (1, 10, 2)
    norms = torch.linalg.matrix_norm(A, ord=2)
    assert torch.all(norms <= AnchorCopies.SCALE_MAX + 1e-5) and torch.all(norms >= AnchorCopies.SCALE_MIN - 1e-5)
    anchors = points[0, farthest_points(points, 10)[0]]
    assert torch.all((b[0] - anchors).abs() <= AnchorCopies.OFFSET + 1e-6)


def test_farthest_points_start_farthest_out_and_spread():
    points = torch.as_tensor(np.random.default_rng(2).normal(size=(3, 300, 2)), dtype=torch.float32)
    index = farthest_points(points, 12)
    assert index.shape == (3, 12)
    for cloud, chosen in zip(points, index):
        assert chosen[0] == cloud.norm(dim=-1).argmax() and len(set(chosen.tolist())) == 12
        # each pick is the point farthest from the picks before it
        for j in range(1, 12):
            gaps = torch.cdist(cloud, cloud[chosen[:j]]).amin(dim=1)
            assert torch.isclose(gaps[chosen[j]], gaps.max())


def test_copies_do_not_depend_on_the_order_of_the_points():
    torch.manual_seed(2)
    copies = AnchorCopies(2, 8, 4).eval()
    points = torch.as_tensor(_shape(3, 128), dtype=torch.float32)
    shuffled = points[torch.randperm(128)]
    with torch.no_grad():
        (A1, b1), (A2, b2) = copies(points[None]), copies(shuffled[None])
    assert torch.allclose(A1, A2, atol=1e-5) and torch.allclose(b1, b2, atol=1e-5)


def test_occupancy_term_prefers_copies_that_fill_the_shape_without_spilling():
    grid = np.stack(np.meshgrid(np.linspace(-0.7, 0.7, 32), np.linspace(-0.7, 0.7, 32)), -1).reshape(-1, 2)
    cloud = torch.as_tensor(grid[np.random.default_rng(0).permutation(len(grid))], dtype=torch.float32)[None]
    centres = torch.tensor([[[-0.35, -0.35], [0.35, -0.35], [-0.35, 0.35], [0.35, 0.35]]])

    def occupancy_term(scale):
        A = scale * torch.eye(2).expand(1, 4, 2, 2)
        with_term, without = (copies_loss(cloud, A, centres, cloud[:, ::4], w, 0.0).item() for w in (1.0, 0.0))
        return with_term - without

    tiling = occupancy_term(0.5)  # four quarter squares tile the square
    assert tiling < 0.5 * occupancy_term(0.15)  # small squares leave most of it empty
    assert tiling < 0.7 * occupancy_term(0.9)  # large ones spill


def test_training_is_reproducible_and_leaves_the_heads_alone(heads_model, copies_model, tmp_path):
    again = tmp_path / "again.pt"
    train_copies(again, heads_model, 4, anchors=6, batch_size=4, pool=12)
    assert again.read_bytes() == copies_model.read_bytes()
    heads, _ = load_checkpoint(heads_model)
    model, checkpoint = load_checkpoint(copies_model)
    assert model.map_counts == [2, 3, 6] and checkpoint["copies_train"]["anchors"] == 6
    copies_state = {k for k in model.state_dict() if k.startswith("copies.")}
    assert copies_state and {k: v for k, v in model.state_dict().items() if k not in copies_state}.keys() == (
        heads.state_dict().keys()
    )
    for name, value in heads.state_dict().items():
        assert torch.equal(model.state_dict()[name], value)


def test_training_refuses_bad_settings(heads_model, tmp_path):
    with pytest.raises(ParameterError, match="anchors"):
        train_copies(tmp_path / "x.pt", heads_model, 2, anchors=1)
    with pytest.raises(ParameterError, match="batch_size"):
        train_copies(tmp_path / "x.pt", heads_model, 2, batch_size=8, pool=4)
    three_d = save_checkpoint(tmp_path / "3d.pt", build_encoder({**TINY, "dim": 3}))
    with pytest.raises(FormatError, match="3D"):
        train_copies(tmp_path / "x.pt", three_d, 2)


def test_encode_offers_the_copies_as_a_map_count(copies_model):
    cloud = _shape(4)
    answer = encode(cloud, model=copies_model, n_maps=6)
    assert answer.n_maps == 6 and np.isclose(answer.p.sum(), 1)
    assert encode(cloud, model=copies_model).n_maps in (2, 3, 6)
    with pytest.raises(ParameterError, match=r"\[2, 3, 6\]"):
        encode(cloud, model=copies_model, n_maps=4)


def test_the_refinement_starts_from_the_heads_as_without_copies(heads_model, copies_model):
    cloud = _shape(5)
    with_copies = encode(cloud, model=copies_model, refine=3)
    without = encode(cloud, model=heads_model, refine=3)
    assert np.array_equal(with_copies.A, without.A) and np.array_equal(with_copies.p, without.p)


def test_version_1_checkpoints_still_load_without_copies(tmp_path):
    path = save_checkpoint(tmp_path / "v1.pt", build_encoder(TINY))
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["version"] = 1
    del checkpoint["hparams"]["anchors"]
    torch.save(checkpoint, path)
    model, _ = load_checkpoint(path)
    assert model.copies is None and model.map_counts == [2, 3]


def test_shipped_2d_one_shot_of_a_shape_is_copies_that_draw_it_better_than_any_head():
    """The shipped copies draw shapes that the heads' few maps blur (occupancy IoU at the cloud's grid)."""
    from ifskit.fitting.choice import attractor_iou
    from ifskit.fitting.occupancy import target_occupancy
    from ifskit.neural.encoding import load_model
    from ifskit.neural.shapes import KINDS

    assert load_model(dim=2).map_counts[-1] == 48 and load_model(dim=3).copies is None
    for kind in KINDS[2]:
        cloud = random_shape(np.random.default_rng(11), 4096, 2, kind).astype(float)
        occupancy = target_occupancy(cloud)
        one_shot, *heads = [encode(cloud, n_maps=k) for k in (None, 2, 3, 4, 5, 6, 7, 8)]
        iou = [attractor_iou(occupancy, f.A, f.b, f.p, len(cloud), 0) for f in [one_shot, *heads]]
        assert one_shot.n_maps == 48 and one_shot.contraction <= 0.6 + 1e-6
        # the heads come near on a filled polygon or ellipses (0.80 / 0.82 against 0.83 / 0.89), not on a
        # stroke figure or a band (0.48 / 0.32 against 0.79 / 0.73)
        assert iou[0] > max(iou[1:]) + (0.2 if kind in ("strokes", "outline") else 0.02)
