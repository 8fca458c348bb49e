"""The Neural Collage encoder: model, training, checkpoints, encoding, and the commands."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ifskit  # noqa: E402
from ifskit.neural.dataset import make_sample  # noqa: E402
from ifskit.neural.encoding import GROW_MAX_MAPS, encode, load_model  # noqa: E402
from ifskit.neural.model import build_encoder, default_hparams, save_checkpoint  # noqa: E402
from ifskit.neural.shapes import random_shape  # noqa: E402
from ifskit.neural.train import ATTRACTOR_WEIGHT, train_encoder, training_batch, training_loss  # noqa: E402

TINY = {**default_hparams(2), "point_widths": [16, 32], "global_widths": [32], "n_input": 64, "k_values": [2, 3, 4]}


def tiny_train(path, steps, **options):
    options = {"seed": 3, "batch_size": 6, "learning_rate": 3e-3, "checkpoint_every": 5, "hparams": TINY, **options}
    return train_encoder(path, steps, **options)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    tiny_train(path, 10)
    return path


@pytest.fixture
def cloud():
    return make_sample(0, seed=99, maps=(4, 4), n_points=2048)[1]


def test_outputs_are_contractive_whatever_the_weights(tiny_model, cloud):
    model = load_model(tiny_model)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(50.0)  # wild weights: saturated parameters
    for ifs in encode([cloud, 3 * cloud + 7, cloud[:40]], model=model):
        assert ifs.contraction <= 0.9 + 1e-6 and np.all(np.isfinite(ifs.A)) and np.all(np.isfinite(ifs.b))
        assert np.isclose(ifs.p.sum(), 1) and np.all(ifs.p > 0)


def test_permutation_invariant(tiny_model, cloud):
    model = load_model(tiny_model)
    points = cloud[: model.hparams["n_input"]]  # no subsampling: the same set in another order
    shuffled = points[np.random.default_rng(0).permutation(len(points))]
    a, b = encode(points, model=model), encode(shuffled, model=model)
    assert a.n_maps == b.n_maps and np.allclose(a.A, b.A, atol=1e-5) and np.allclose(a.b, b.b, atol=1e-5)


def test_equivariant_to_translation_and_scale(tiny_model, cloud):
    model = load_model(tiny_model)
    a = encode(cloud, model=model, n_maps=3)
    moved = encode(2.5 * cloud + np.array([10.0, -4.0]), model=model, n_maps=3)
    assert np.allclose(moved.A, a.A, atol=1e-4)
    assert np.allclose(moved.b, 2.5 * a.b + np.array([10.0, -4.0]) - a.A @ np.array([10.0, -4.0]), atol=1e-3)


@pytest.mark.parametrize("size", [16, 100, 5000])
def test_any_cloud_size(tiny_model, cloud, size):
    points = make_sample(1, seed=99, n_points=size)[1]
    ifs = encode(points, model=tiny_model)
    assert ifs.dim == 2 and ifs.n_maps in (2, 3, 4)
    assert encode(points, model=tiny_model) == ifs  # seeded subsampling


def test_batch_of_clouds_matches_one_by_one(tiny_model, cloud):
    clouds = [cloud, make_sample(2, seed=99, n_points=700)[1]]
    batch = encode(clouds, model=tiny_model, n_maps=4)
    assert isinstance(batch, list) and len(batch) == 2
    alone = encode(clouds[1], model=tiny_model, n_maps=4)
    assert np.array_equal(batch[1].A, alone.A) and np.array_equal(batch[1].b, alone.b)


def test_bad_clouds(tiny_model):
    with pytest.raises(ifskit.FormatError, match="NaN"):
        encode(np.full((50, 2), np.nan), model=tiny_model)
    with pytest.raises(ifskit.FormatError, match="at least 16"):
        encode(np.zeros((5, 2)), model=tiny_model)
    with pytest.raises(ifskit.FormatError, match="3D cloud, but the encoder is for 2D"):
        encode(np.zeros((50, 3)), model=tiny_model)
    with pytest.raises(ifskit.ParameterError, match="not 7"):
        encode(np.random.default_rng(0).random((50, 2)), model=tiny_model, n_maps=7)
    with pytest.raises(ifskit.ParameterError, match="not 9"):
        encode(np.random.default_rng(0).random((50, 2)), n_maps=9)  # the shipped model: 2 to 8


def test_training_decreases_the_loss(tmp_path):
    held_out = torch.as_tensor(training_batch(10_000, 3, 16, TINY["n_input"], 2, (2, 4)))

    def objective(model):  # the training objective, same chains every time
        with torch.no_grad():
            return training_loss(model, held_out, ATTRACTOR_WEIGHT, torch.Generator().manual_seed(0)).item()

    torch.manual_seed(3)
    before = objective(build_encoder(TINY))
    tiny_train(tmp_path / "m.pt", 40)
    assert objective(load_model(tmp_path / "m.pt")) < 0.8 * before


def test_training_resumes_deterministically(tmp_path, monkeypatch):
    straight = tmp_path / "straight.pt"
    tiny_train(straight, 12)
    # a run killed during step 8: its last checkpoint is from step 5
    import ifskit.neural.train as train_module

    real_batch = train_module.training_batch

    def dying_batch(step, *args, **mix):
        if step == 8:
            raise KeyboardInterrupt
        return real_batch(step, *args, **mix)

    monkeypatch.setattr(train_module, "training_batch", dying_batch)
    stopped = tmp_path / "stopped.pt"
    with pytest.raises(KeyboardInterrupt):
        tiny_train(stopped, 12)
    monkeypatch.undo()
    assert torch.load(stopped, weights_only=True)["step"] == 5
    tiny_train(stopped, 12, resume=True)
    a, b = (torch.load(p, weights_only=True) for p in (straight, stopped))
    assert a["step"] == b["step"] == 12
    for name, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][name]), name
    with pytest.raises(ifskit.FormatError, match="other settings"):
        tiny_train(stopped, 12, resume=True, seed=4)
    with pytest.raises(ifskit.ParameterError, match="12 steps done already"):
        tiny_train(stopped, 10, resume=True)


def test_attractor_term_adds_to_the_collage_bound():
    clouds = torch.as_tensor(training_batch(10_000, 3, 6, TINY["n_input"], 2, (2, 4)))
    torch.manual_seed(3)
    model = build_encoder(TINY)
    with torch.no_grad():
        bound = training_loss(model, clouds).item()
        both = training_loss(model, clouds, 30.0, torch.Generator().manual_seed(0)).item()
        again = training_loss(model, clouds, 30.0, torch.Generator().manual_seed(0)).item()
    assert both > bound and both == again


def test_fine_tuning_starts_from_the_init_weights_on_the_data_that_follows(tmp_path):
    first = tmp_path / "first.pt"
    tiny_train(first, 4, attractor_weight=0.0)
    tuned = tmp_path / "tuned.pt"
    tiny_train(tuned, 3, init=first, learning_rate=1e-3)
    a, b = (torch.load(p, weights_only=True) for p in (first, tuned))
    assert a["train"]["attractor_weight"] == 0.0 and b["train"]["attractor_weight"] == 30.0
    assert b["step"] == 3 and b["train"]["first_step"] == 4
    # three small steps from the first model's weights, not from a fresh start
    distance = sum((a["state_dict"][n] - v).abs().sum() for n, v in b["state_dict"].items())
    torch.manual_seed(3)
    fresh = build_encoder(TINY).state_dict()
    assert 0 < distance < 0.5 * sum((a["state_dict"][n] - v).abs().sum() for n, v in fresh.items())
    # the fine-tuning resumes like any run, and refuses another weight
    tiny_train(tuned, 5, init=first, learning_rate=1e-3, resume=True)
    assert torch.load(tuned, weights_only=True)["train"]["first_step"] == 4
    with pytest.raises(ifskit.FormatError, match="attractor_weight 30.0 -> 1.0"):
        tiny_train(tuned, 6, learning_rate=1e-3, resume=True, attractor_weight=1.0)


def test_resuming_to_more_steps_extends_training(tmp_path):
    path = tmp_path / "m.pt"
    tiny_train(path, 6)
    before = torch.load(path, weights_only=True)
    tiny_train(path, 10, resume=True)
    after = torch.load(path, weights_only=True)
    assert after["step"] == 10 and after["train"]["steps"] == 10
    assert any(not torch.equal(value, after["state_dict"][name]) for name, value in before["state_dict"].items())


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_one_clear_error(cli, tmp_path, capsys, tiny_model, cloud):
    with pytest.raises(ifskit.IfskitError, match="CUDA is not available"):
        encode(cloud, model=tiny_model, device="cuda")
    with pytest.raises(ifskit.IfskitError, match="CUDA is not available"):
        tiny_train(tmp_path / "m.pt", 2, device="cuda")
    assert cli("train-encoder", "-o", tmp_path / "m.pt", "--steps", 2, "--device", "cuda") == 2
    err = capsys.readouterr().err
    assert "CUDA is not available" in err and err.count("\n") == 1
    np.save(tmp_path / "cloud.npy", cloud)
    assert (
        cli("encode", tmp_path / "cloud.npy", "-o", tmp_path / "o.yaml", "--model", tiny_model, "--device", "cuda") == 2
    )
    assert "CUDA is not available" in capsys.readouterr().err and not (tmp_path / "o.yaml").exists()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["train-encoder", "-o", "m.pt", "--steps", "2", "--seed", "-1"], "--seed"),
        (["train-encoder", "-o", "m.pt", "--steps", "2", "--lr", "-1"], "--lr"),
        (["train-encoder", "-o", "m.pt", "--steps", "2", "--attractor-weight", "-1"], "--attractor-weight"),
        (["train-encoder", "-o", "m.pt", "--steps", "2", "--init", "none.pt"], "no such checkpoint"),
        (["train-encoder", "-o", "m.pt", "--steps", "2", "--device", "gpu"], "device must be"),
        (["train-encoder", "-o", "m.pt", "--steps", "2", "--batch", "1"], "--batch must be from 7"),
        (["train-encoder", "-o", "m.pt", "--steps", "1e9"], "--steps must be from 1 to 10,000,000"),
        (["train-encoder", "-o", "m.pt", "--steps", "2", "--shape-share", "1.5"], "--shape-share"),
        (["train-encoder", "-o", "m.pt", "--steps", "2", "--data", "nowhere"], "no such folder"),
        (["train-encoder", "-o", "m.pt", "--steps", "2", "--data", "."], "training a 2D encoder needs 2D"),
        (["encode", "cloud.npy", "-o", "o.yaml", "--n-maps", "9"], "--n-maps: this encoder gives"),
        (["encode", "cloud3.npy", "-o", "o.yaml", "--model", "m2.pt"], "cloud3.npy: a 3D cloud, but the encoder"),
        (["encode", "cloud.npy", "-o", "o.yaml", "--seed", "-1"], "--seed"),
        (["encode", "cloud.npy", "-o", "o.yaml", "--refine", "-1"], "--refine"),
        (["encode", "cloud.npy", "-o", "o.yaml", "--device", "gpu"], "device must be"),
        (["encode", "cloud.npy", "-o", "o.yaml", "--refine", "3", "--views", "5"], "views must be"),
    ],
)
def test_bad_options_are_one_line_errors(cli, capsys, tmp_path, monkeypatch, cloud, args, fragment):
    monkeypatch.chdir(tmp_path)
    np.save("cloud.npy", cloud)
    np.save("cloud3.npy", np.random.default_rng(0).random((100, 3)))
    save_checkpoint("m2.pt", build_encoder(TINY))
    assert cli(*args) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not (tmp_path / "m.pt").exists() and not (tmp_path / "o.yaml").exists()


def _write_model(path, mutate):
    model = build_encoder(TINY)
    save_checkpoint(path, model)
    checkpoint = torch.load(path, weights_only=True)
    mutate(checkpoint)
    torch.save(checkpoint, path)
    return path


def _truncate(path):
    path.write_bytes(path.read_bytes()[:5000])
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p, "no such checkpoint"),
        (lambda p: _truncate(_write_model(p, lambda c: None)), "not a readable encoder checkpoint"),
        (lambda p: p.write_text("hello") and p, "not a readable encoder checkpoint"),
        (lambda p: torch.save({"weights": 1}, p) or p, "not an ifskit encoder checkpoint"),
        (lambda p: _write_model(p, lambda c: c.update(version=99)), "version 99"),
        (lambda p: _write_model(p, lambda c: c["hparams"].update(point_widths=[16, 48])), "do not match"),
        (lambda p: _write_model(p, lambda c: c["hparams"].pop("n_input")), "architecture"),
        (lambda p: _write_model(p, lambda c: c.update(dim=3)), "architecture"),
        (lambda p: save_checkpoint(p, build_encoder({**TINY, "dim": 3})), "for 3D clouds"),
    ],
)
def test_encode_command_bad_checkpoint(cli, tmp_path, capsys, cloud, make, message):
    np.save(tmp_path / "cloud.npy", cloud)
    model = make(tmp_path / "model.pt")
    assert cli("encode", tmp_path / "cloud.npy", "-o", tmp_path / "out.yaml", "--model", model) == 2
    err = capsys.readouterr().err
    assert err.startswith("ifskit: error:") and message in err and err.count("\n") == 1
    assert not (tmp_path / "out.yaml").exists()


@pytest.mark.parametrize(
    "points, message",
    [
        (np.array([[0.0, 1.0], [np.nan, 2.0]] * 20), "NaN"),
        (np.random.default_rng(0).random((10, 2)), "at least 16"),
        (np.random.default_rng(0).random((100, 3)), "3D cloud"),
    ],
)
def test_encode_command_bad_cloud(cli, tmp_path, capsys, tiny_model, points, message):
    np.save(tmp_path / "cloud.npy", points)
    assert cli("encode", tmp_path / "cloud.npy", "-o", tmp_path / "out.yaml", "--model", tiny_model) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ifskit: error: {tmp_path / 'cloud.npy'}:") and message in err and err.count("\n") == 1


def test_encode_command(cli, tmp_path, capsys, tiny_model, cloud):
    np.save(tmp_path / "cloud.npy", cloud)
    out = tmp_path / "out.yaml"
    assert cli("encode", tmp_path / "cloud.npy", "-o", out, "--model", tiny_model, "--maps", 3, "--json") == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["attractor_chamfer"] > 0 and figures["seconds"] > 0 and figures["maps"] == 3
    assert ifskit.load(out).n_maps == 3
    assert cli("encode", tmp_path / "cloud.npy", "-o", out, "--model", tiny_model) == 2
    assert "exists already" in capsys.readouterr().err


def test_train_encoder_command(cli, tmp_path, capsys):
    out = tmp_path / "model.pt"
    assert cli("train-encoder", "-o", out, "--steps", 2, "--batch", 7, "--json") == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["steps"] == 2 and np.isfinite(figures["loss"])
    assert cli("train-encoder", "-o", out, "--steps", 2, "--batch", 7) == 2
    assert "exists already" in capsys.readouterr().err
    assert cli("train-encoder", "-o", out, "--steps", 3, "--batch", 7, "--resume", "--json") == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 3
    assert cli("train-encoder", "-o", out, "--steps", 4, "--batch", 8, "--resume") == 2
    assert "batch_size 7 -> 8" in capsys.readouterr().err
    assert cli("train-encoder", "-o", out, "--steps", 4, "--batch", 7, "--resume", "--shape-share", "0.2") == 2
    assert "shape_share 0.5 -> 0.2" in capsys.readouterr().err
    assert cli("train-encoder", "-o", tmp_path / "model.txt", "--steps", 2) == 2
    assert "unknown output type" in capsys.readouterr().err


def test_refinement_improves_the_collage_and_is_seeded(tiny_model, cloud):
    from ifskit.analysis import chamfer_distance

    def collage_error(ifs):
        return chamfer_distance(cloud, ifs.apply(cloud).reshape(-1, 2))

    one_shot = encode(cloud, model=tiny_model, n_maps=4)
    refined = encode(cloud, model=tiny_model, n_maps=4, refine=15)
    assert refined.n_maps == 4 and refined.contraction <= 0.9 + 1e-6
    assert collage_error(refined) < 0.8 * collage_error(one_shot)
    assert encode(cloud, model=tiny_model, n_maps=4, refine=15) == refined


def test_refinement_with_the_attractor_term_brings_the_attractor_closer(tiny_model, cloud):
    from ifskit.analysis import chamfer_distance
    from ifskit.fitting import refine

    def attractor_distance(ifs):
        return chamfer_distance(ifskit.chaos_game(ifs, 2048, seed=0, progress=False), cloud)

    start = encode(cloud, model=tiny_model, n_maps=4)
    refined = refine(cloud, start, 20, lr=0.1, attractor_weight=1.0)
    assert refined.contraction <= 0.9 + 1e-6
    assert attractor_distance(refined) < 0.8 * attractor_distance(start)


def test_views_are_candidate_starts_of_the_refinement(tiny_model, cloud):
    """More views: the encoder's answers for the mirrored (turned, swapped) cloud are refined too, the nearest kept."""
    from ifskit.neural.encoding import view_transforms

    transforms = view_transforms(2)
    assert len({t.tobytes() for t in transforms}) == 4
    np.testing.assert_allclose(transforms @ transforms.transpose(0, 2, 1), np.broadcast_to(np.eye(2), (4, 2, 2)))
    # without refinement only the cloud as given is read
    assert encode(cloud, model=tiny_model, views=4) == encode(cloud, model=tiny_model, views=1)
    other = cloud[::-1] * 1.5 + 0.2
    for views in (1, 2, 4):
        both = encode([cloud, other], model=tiny_model, n_maps=3, refine=5, views=views)
        assert both == [encode(c, model=tiny_model, n_maps=3, refine=5, views=views) for c in (cloud, other)]
        assert all(ifs.n_maps == 3 and ifs.contraction <= 0.9 + 1e-6 for ifs in both)
    with pytest.raises(ifskit.ParameterError, match="views"):
        encode(cloud, model=tiny_model, refine=5, views=0)


def test_encode_command_refine(cli, tmp_path, capsys, tiny_model, cloud):
    np.save(tmp_path / "cloud.npy", cloud)
    out = tmp_path / "out.yaml"
    assert cli("encode", tmp_path / "cloud.npy", "-o", out, "--model", tiny_model, "--refine", 10, "--json") == 0
    saved, again = ifskit.load(out), encode(cloud, model=tiny_model, refine=10)
    assert np.allclose(saved.A, again.A) and np.allclose(saved.b, again.b) and np.allclose(saved.p, again.p)
    assert cli("encode", tmp_path / "cloud.npy", "-o", tmp_path / "x.yaml", "--refine", -1) == 2
    assert "--refine" in capsys.readouterr().err


def test_shipped_model_is_loaded_by_default_and_encodes_unseen_clouds():
    from ifskit.analysis import chamfer_distance
    from ifskit.neural.shipped import DEFAULT_WEIGHTS, WEIGHTS

    assert DEFAULT_WEIGHTS == WEIGHTS[2]
    assert all(WEIGHTS[d].is_file() and WEIGHTS[d].stat().st_size < 5_000_000 for d in (2, 3))
    assert [load_model(dim=d).dim for d in (2, 3)] == [2, 3] and load_model(dim=3).k_values[-1] >= 8
    systems = [ifskit.random_ifs(4, seed=[777, i]) for i in range(8)]
    clouds = [ifskit.chaos_game(ifs, 2048, seed=i, progress=False) for i, ifs in enumerate(systems)]
    found = ifskit.encode(clouds)
    distances = [chamfer_distance(ifskit.chaos_game(f, 2048, progress=False), c) for f, c in zip(found, clouds)]
    # the held-out mean of benchmarks/bench_encoder.py is about 0.037 with the shipped weights
    assert np.mean(distances) < 0.05


def test_3d_encoder_trains_and_encodes(tmp_path):
    path = tmp_path / "m3.pt"
    tiny_train(path, 3, dim=3, hparams={**TINY, "dim": 3})
    cloud = make_sample(0, seed=99, maps=(3, 3), n_points=500, dim=3)[1]
    ifs = encode(cloud, model=path)
    assert ifs.dim == 3 and ifs.contraction <= 0.9 + 1e-6 and np.isclose(ifs.p.sum(), 1)
    with pytest.raises(ifskit.FormatError, match="2D cloud"):
        encode(cloud[:, :2], model=path)
    # the 3D path through the refinement: ten fitter steps bring the attractor much nearer the cloud
    # (an untrained model's one shot is ~0.18 of the extent away, refined ~0.04)
    extent = np.ptp(cloud, axis=0).max()
    one_shot, refined = (
        ifskit.chamfer_distance(ifskit.chaos_game(encode(cloud, model=path, refine=r), 5000, seed=0), cloud) / extent
        for r in (0, 10)
    )
    assert refined < 0.5 * one_shot and refined < 0.08


def test_shipped_3d_model_encodes_a_solid_it_never_saw():
    from ifskit.neural.shapes import random_shape

    # a procedural blob of a seed the training never drew (its stream is [0, index, 1])
    cloud = random_shape(np.random.default_rng(12345), 4096, 3, "blob").astype(float) * 5.0 + 2.0
    extent = np.linalg.norm(np.ptp(cloud, axis=0))
    one_shot, refined = (encode(cloud, refine=r) for r in (0, 30))
    assert one_shot.dim == refined.dim == 3 and 2 <= one_shot.n_maps <= 8
    distances = [
        ifskit.chamfer_distance(ifskit.chaos_game(f, 4096, seed=0), cloud) / extent for f in (one_shot, refined)
    ]
    # benchmarks/bench_encoder_real.py: refined about 1% of the diagonal on real 3D shapes
    assert distances[1] < 0.025 and distances[1] < distances[0]


def test_refinement_keeps_the_attractor_that_matches_the_occupancy_better():
    from ifskit.fitting.occupancy import target_occupancy
    from ifskit.neural.encoding import _best_attractor

    true = ifskit.catalog("sierpinski")
    cloud = ifskit.chaos_game(true, 4096, seed=1)
    occupancy = target_occupancy(cloud)
    blurred = ifskit.IFS(true.A * 1.15, true.b, true.p)  # fills the holes
    assert _best_attractor(cloud, occupancy, [blurred, true], 0) is true
    assert _best_attractor(cloud, occupancy, [true, blurred], 0) is true


def test_training_gives_the_same_bytes_whatever_the_thread_count(tmp_path):
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            tiny_train(tmp_path / f"t{threads}.pt", 4)
    finally:
        torch.set_num_threads(before)
    assert (tmp_path / "t1.pt").read_bytes() == (tmp_path / "t2.pt").read_bytes()


def test_encode_help_gives_the_most_maps_of_the_growth(cli, capsys):
    """The CLI does not import torch to build its help, so it states the constant: the two must agree."""
    assert cli("encode", "--help") == 0
    assert f"up to {GROW_MAX_MAPS} copies" in " ".join(capsys.readouterr().out.split())


def test_one_shot_of_a_batch_is_each_cloud_alone_to_the_bit():
    """The shipped model's float32 products must not see the rows of other clouds (their rounding may)."""
    rng = np.random.default_rng(12346)
    clouds = [
        ifskit.chaos_game(ifskit.catalog("koch_curve"), 4096, seed=1, progress=False),
        random_shape(rng, 4096, 2, "outline").astype(float) * 3.0 + 1.0,
        ifskit.chaos_game(ifskit.catalog("sierpinski"), 2000, seed=1, progress=False),
    ]
    for answer, cloud in zip(encode(clouds), clouds):
        alone = encode(cloud)
        assert np.array_equal(answer.A, alone.A) and np.array_equal(answer.b, alone.b)
        assert np.array_equal(answer.p, alone.p)
