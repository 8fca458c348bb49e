"""The neural image collage encoder (ifskit.image.encoder): its search, codes at any scale, .fic files,
training, model files and the command line."""

import dataclasses
import json
import re
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from ifskit.errors import FormatError, OutputError, ParameterError  # noqa: E402
from ifskit.image import load_code, load_fic, psnr, sample_image  # noqa: E402
from ifskit.image.collage import CollageConfig, candidates, collage_step, range_patches, sparse_collage_step  # noqa: E402
from ifskit.image.encoder import (  # noqa: E402
    CONTRAST_COSTS,
    CollageEncoder,
    TrainSettings,
    encode_image,
    load_encoder,
    neural_code,
    save_encoder,
    train_encoder,
)
from ifskit.image.encoder.neural_code import image_tiles  # noqa: E402
from ifskit.image.encoder.search import best_sizes  # noqa: E402
from ifskit.image.encoder.training import collage_loss, random_crops  # noqa: E402
from ifskit.ops.device import one_torch_thread  # noqa: E402

SMALL = CollageConfig(crop=16, range_size=4, n_aux=2, augment=True)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: one thread is fastest, and spares a loaded machine (pytest -n) from thread contention."""
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def photo():
    return sample_image("grace_hopper", 96)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return CollageEncoder(SMALL, top_k=2).eval()


@pytest.fixture(scope="module")
def code(model, photo):
    return encode_image(model, photo[:50, :70])


def test_encoder_output_is_sparse_and_contractive(model, photo):
    tiles = torch.rand(5, 1, 16, 16)
    with torch.no_grad():
        weights, bias = model(tiles)
    assert weights.shape == (5, SMALL.n_candidates, SMALL.n_ranges) and bias.shape == (5, SMALL.n_ranges)
    assert weights.abs().sum(dim=1).max() <= SMALL.s_max + 1e-6
    assert (weights != 0).sum(dim=1).max() <= 2


@pytest.mark.parametrize(
    "config",
    [
        SMALL,
        CollageConfig(crop=32, range_size=8, n_aux=3, augment=True, overlap=True),
        CollageConfig(crop=30, range_size=5, n_aux=1, augment=True),  # odd patches: a middle row and column
        CollageConfig(crop=16, range_size=4, n_aux=2, augment=False, overlap=True),
        CollageConfig(crop=8, range_size=2, n_aux=0, augment=True),
    ],
    ids=["small", "overlap-8", "odd-5", "no-isometries", "no-aux"],
)
def test_the_fast_search_equals_correlating_every_candidate(config):
    """Partial products in parity coordinates give each base's best isometry and its exact correlation."""
    torch.manual_seed(3)
    model = CollageEncoder(config).eval()
    x, aux = torch.rand(2, 1, config.crop, config.crop), model.aux().detach()
    with torch.no_grad():
        tiles = model._tiles(x, aux)
        b, _, n_ranges, mm = tiles.residual.shape
        partial = torch.bmm(tiles.residual.view(b * 4, n_ranges, mm), tiles.table.view(b * 4, mm, -1))
        partial = partial.view(b, 2, 2, n_ranges, -1)
        signed, slot, _, _ = model.orient(partial, None)
        sizes = best_sizes(partial, config.n_domains if config.augment else 0)
    cands = candidates(config, x, aux).flatten(2)
    ranges = range_patches(config, x).flatten(2)
    direct = (ranges - ranges.mean(-1, keepdim=True)) @ (cands - cands.mean(-1, keepdim=True)).transpose(1, 2)
    n_bases = config.n_domains + config.n_aux
    base = model.candidate_base.expand(b, n_ranges, -1)
    best = torch.zeros(b, n_ranges, n_bases).scatter_reduce(-1, base, direct.abs(), "amax")
    np.testing.assert_allclose(sizes, best, atol=1e-5)
    np.testing.assert_allclose(signed, direct.gather(-1, slot), atol=1e-5)  # the slot of the best isometry
    assert torch.equal(model.candidate_base[slot], torch.arange(n_bases).expand(b, n_ranges, -1))
    np.testing.assert_allclose(tiles.range_mean, ranges.mean(-1), atol=1e-6)
    np.testing.assert_allclose(tiles.base_mean[:, model.candidate_base], cands.mean(-1), atol=1e-6)


def test_training_and_encoding_make_the_same_choice(photo):
    """The differentiable pass (straight-through) and the fast no-grad pass give the same parameters."""
    torch.manual_seed(0)
    model = CollageEncoder(SMALL, top_k=3)
    torch.nn.init.normal_(model.net.range_head.weight)  # a learned match that matters
    model.contrast_cost.fill_(1.0)  # and a cost of the contrast
    tiles = torch.from_numpy(photo[:32, :48].astype(np.float32) / 255).reshape(2, 16, 3, 16).permute(0, 2, 1, 3)
    tiles = tiles.reshape(6, 1, 16, 16)
    weights, bias = model(tiles)
    (weights.square().sum() + bias.sum()).backward()  # every parameter gets a gradient
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    index, sparse, means, range_mean = model.select(tiles)
    dense = torch.zeros(6, SMALL.n_ranges, SMALL.n_candidates).scatter_add_(-1, index, sparse).transpose(1, 2)
    np.testing.assert_allclose(weights.detach(), dense, atol=1e-6)
    with torch.no_grad():
        np.testing.assert_allclose(bias.detach(), model(tiles)[1], atol=1e-6)
    k = index.shape[-1]
    assert k == 2  # the first among all candidates, then among the auxiliary patches, one of them left
    assert (index[..., :, None] != index[..., None, :]).sum() == 6 * SMALL.n_ranges * k * (k - 1)  # all distinct
    assert (index[..., 1:] >= SMALL.n_candidates - SMALL.n_aux).all()


def test_sparse_and_dense_steps_agree(code):
    index, sparse, bias, aux = code.sparse_parameters()
    dense, dense_bias, dense_aux = code.parameters()
    z = torch.rand(len(bias), 1, 16, 16)
    np.testing.assert_allclose(
        sparse_collage_step(code.config, z, index, sparse, bias, aux),
        collage_step(code.config, z, dense, dense_bias, dense_aux),
        atol=1e-5,
    )


def test_decoding_reaches_the_same_fixed_point_from_any_start(code):
    from_black = code.decode().astype(float)
    noise = np.random.default_rng(0).integers(0, 256, (50, 70)).astype(np.uint8)
    from_noise = code.decode(start=noise).astype(float)
    assert np.abs(from_black - from_noise).max() <= 1
    assert code.decode(iterations=1).shape == (50, 70)


def test_decoding_at_any_scale(code, photo):
    small = code.decode()
    assert small.shape == (50, 70) and small.dtype == np.uint8
    for scale in (2, 3):
        big = code.decode(scale=scale)
        assert big.shape == (50 * scale, 70 * scale)
        shrunk = big[: 48 * scale, : 69 * scale].reshape(48, scale, 69, scale).mean(axis=(1, 3))
        assert psnr(small[:48, :69], np.rint(shrunk)) > 42.5  # the same picture, more pixels (43.2, 44.5 dB)


def test_greedy_code_is_better_than_its_block_means(code, photo):
    image = photo[:50, :70]
    blocks = np.kron(image[:48, :68].reshape(12, 4, 17, 4).mean(axis=(1, 3)), np.ones((4, 4)))
    # 19.64 dB against 15.49 dB measured
    assert psnr(image[:48, :68], code.decode()[:48, :68]) > psnr(image[:48, :68], np.rint(blocks)) + 3.9


def test_neural_code_round_trips_through_the_fic_file(code, tmp_path):
    path = code.save(tmp_path / "n.fic")
    again = load_code(path)
    assert again.to_bytes() == code.to_bytes() and path.stat().st_size == code.n_bytes
    np.testing.assert_array_equal(again.decode(), code.decode())
    assert code.bpp == pytest.approx(8 * code.n_bytes / (50 * 70))
    with pytest.raises(FormatError, match="holds a neural collage code, not a PIFS code"):
        load_fic(path)


def test_large_images_are_encoded_in_chunks_of_tiles(model, photo, monkeypatch):
    whole = encode_image(model, photo).to_bytes()  # 36 tiles in one pass
    monkeypatch.setattr(neural_code, "_TILES_PER_PASS", 5)
    assert encode_image(model, photo).to_bytes() == whole


def test_a_contrast_cost_chooses_smaller_weights(photo):
    """The learned cost per unit of contrast trades some collage gain for smaller (more contractive) weights."""
    torch.manual_seed(0)
    model = CollageEncoder(SMALL).eval()
    tiles = image_tiles(photo, SMALL.crop)
    greedy = model.select(tiles)[1].abs().sum(-1)
    model.contrast_cost.fill_(4.0)
    costly = model.select(tiles)[1].abs().sum(-1)
    assert costly.mean() < 0.95 * greedy.mean()
    assert (costly <= SMALL.s_max + 1e-6).all()


def test_model_file_round_trip(model, tmp_path, photo):
    path = save_encoder(model, tmp_path / "m.pt")
    again = load_encoder(path)
    assert again.config == model.config and again.top_k == model.top_k
    assert encode_image(again, photo).to_bytes() == encode_image(model, photo).to_bytes()
    with pytest.raises(OutputError, match=f"^{re.escape(str(path))}: exists already"):
        save_encoder(model, path)


def test_a_tiny_training_run_lowers_the_loss(photo):
    images = [photo, sample_image("mri", 64)]
    batch = random_crops(images, 16, 64, np.random.default_rng(5))  # fixed crops, not seen in training
    torch.manual_seed(0)  # the initialization train_encoder(seed=0) starts from
    untrained = CollageEncoder(SMALL, top_k=2)
    result = train_encoder(images, SMALL, steps=60, batch=8, lr=3e-2, seed=0)
    assert len(result.losses) == 60
    with torch.no_grad():
        before, after = (collage_loss(m, batch, 8)[0].item() for m in (untrained, result.model))
    assert after < 0.99 * before
    assert result.psnr > result.psnr_before
    assert float(result.model.contrast_cost) in CONTRAST_COSTS  # fitted on training crops
    for steps in (1, 3, 10):  # any step count (10 once broke the learning-rate schedule)
        again = train_encoder(images, SMALL, steps=steps, batch=4, seed=0)
        assert again.losses == train_encoder(images, SMALL, steps=steps, batch=4, seed=0).losses  # same seed
    by_keywords = train_encoder(images, SMALL, steps=3, batch=4, lr=3e-2)
    settings = TrainSettings(steps=3, batch=4, lr=3e-2)  # the same run, its settings as one value
    assert train_encoder(images, SMALL, settings=settings).losses == by_keywords.losses


@pytest.mark.parametrize(
    "call, parameter, message",
    [
        (lambda m, p: encode_image(m, np.stack([p] * 3, -1)), "image", r"image must be grayscale, shape \(H, W\)"),
        (lambda m, p: encode_image(m, p, weight_bits=9), "weight_bits", "weight_bits must be within 2..8, got 9"),
        (lambda m, p: encode_image(m, p[:16, :16]).decode(scale=0), "scale", "scale must be a positive whole"),
        (lambda m, p: encode_image(m, p[:16, :16]).decode(start=p[:3]), "start", "start is 96x3 pixels"),
        (
            lambda m, p: CollageEncoder(dataclasses.replace(SMALL, whole_domain=True)),
            "config",
            "the encoder works on domain patches",
        ),
        (lambda m, p: train_encoder([p[:15]], SMALL), "images", "no image in images has both sides of at least 16"),
        (lambda m, p: train_encoder([p], SMALL, steps=0), "steps", "steps must be at least 1, got 0"),
        (lambda m, p: TrainSettings(lr=0), "lr", "lr must be positive, got 0"),
    ],
    ids=["colour", "weight-bits", "scale", "start", "whole-domain", "small-images", "steps", "lr"],
)
def test_bad_arguments_name_their_parameter(model, photo, call, parameter, message):
    with pytest.raises(ParameterError, match=message) as error:
        call(model, photo)
    assert error.value.parameter == parameter


def test_train_encoder_refuses_unknown_settings(photo):
    with pytest.raises(TypeError, match="stpes"):
        train_encoder([photo], SMALL, stpes=3)


# ---- files and the command line -------------------------------------------------------------------
@pytest.fixture
def image_folder(tmp_path, photo):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(photo).save(folder / "a.png")
    Image.fromarray(sample_image("mri", 48, gray=False)).save(folder / "b.jpg")
    (folder / "notes.txt").write_text("not an image, not read")
    return folder


def test_cli_train_compress_decompress(cli, capsys, image_folder, tmp_path, photo):
    model = tmp_path / "m.pt"
    args = ["train-image-encoder", image_folder, "-o", model, "--steps", 4, "--batch", 4, "--crop", 16]
    assert cli(*args, "--range-size", 4, "--json") == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["images"] == 2 and figures["steps"] == 4 and model.exists()
    assert figures["contrast_cost"] in CONTRAST_COSTS
    assert cli(*args, "--range-size", 4) == 2
    assert "exists already" in capsys.readouterr().err
    source = tmp_path / "p.png"
    Image.fromarray(sample_image("grace_hopper", 40, gray=False)).save(source)
    fic, png = tmp_path / "p.fic", tmp_path / "p.png.png"
    assert cli("compress", source, "-o", fic, "--neural", model, "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "neural" and out["bytes"] == fic.stat().st_size
    assert out["psnr"] > 19.5  # 20.05 dB measured
    assert cli("decompress", fic, "-o", png, "--scale", 3, "--json", "--frames", tmp_path / "steps") == 0
    out = json.loads(capsys.readouterr().out)
    assert Image.open(png).size == (120, 120)
    assert len(out["frames"]) == out["iterations"] == len(list((tmp_path / "steps").glob("step_*.png")))
    assert cli("compress", source, "-o", tmp_path / "q.fic", "--neural", model, "--bpp", 1) == 2
    assert "do not apply to --neural" in capsys.readouterr().err


def _neural_bytes(code) -> bytes:
    return code.to_bytes()


def _reframe(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


def _too_strong(code) -> bytes:
    """A well-framed code whose first range has sum |q| = 2 * top: not contractive."""
    weights = code.weights.copy()
    weights[0, 0, :] = 2 ** (code.weight_bits - 1) - 1
    return dataclasses.replace(code, weights=weights).to_bytes()


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: d[: len(d) // 2], "checksum"),
        (lambda d: d[:30] + bytes([d[30] ^ 0x01]) + d[31:], "checksum"),
        (lambda d: _reframe(d[:-40]), "truncated payload"),
        (None, "not contractive"),
        (lambda d: _reframe(d[:-4] + b"\0\0"), "trailing bytes"),
        (lambda d: _reframe(d[:16] + b"\x07" + d[17:-4]), "impossible"),  # range size 7
    ],
    ids=["truncated", "flipped-bit", "short-payload", "not-contractive", "trailing", "header"],
)
def test_cli_refuses_damaged_neural_files(cli, capsys, tmp_path, code, damage, message):
    bad = tmp_path / "bad.fic"
    bad.write_bytes(_too_strong(code) if damage is None else damage(_neural_bytes(code)))
    out = tmp_path / "out.png"
    assert cli("decompress", bad, "-o", out) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ifskit: error: {bad}") and message in err and err.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: (p / "m.pt").write_bytes(b"garbage") and p / "m.pt", "cannot read as a torch model file"),
        (lambda p: torch.save({"format": "other"}, p / "m.pt") or p / "m.pt", "not an ifskit image encoder"),
        (lambda p: p / "missing.pt", "no such file"),
        (lambda p: torch.save({"format": "ifskit-image-encoder", "version": 1}, p / "m.pt") or p / "m.pt", "retrain"),
    ],
    ids=["garbage", "foreign-torch-file", "missing", "old-version"],
)
def test_cli_refuses_bad_models(cli, capsys, tmp_path, make, message):
    source = tmp_path / "p.png"
    Image.fromarray(sample_image("grace_hopper", 32)).save(source)
    model = make(tmp_path)
    assert cli("compress", source, "-o", tmp_path / "p.fic", "--neural", model) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ifskit: error: {model}") and message in err and err.count("\n") == 1
    assert not (tmp_path / "p.fic").exists()


def test_cli_train_refuses_bad_folders(cli, capsys, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("train-image-encoder", empty, "-o", tmp_path / "m.pt") == 2
    assert "holds no images" in capsys.readouterr().err
    (empty / "broken.png").write_text("not a png")
    assert cli("train-image-encoder", empty, "-o", tmp_path / "m.pt") == 2
    err = capsys.readouterr().err
    assert f"{empty / 'broken.png'}: cannot read as an image" in err and err.count("\n") == 1
    assert cli("train-image-encoder", tmp_path / "nowhere", "-o", tmp_path / "m.pt") == 2
    assert "no such folder" in capsys.readouterr().err
    assert not (tmp_path / "m.pt").exists()
