"""Neural image collage: contractivity, fixed points at any scale, .fic codes, training, CLI."""

import dataclasses
import json
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from ifskit.errors import FormatError  # noqa: E402
from ifskit.image import load_code, psnr, sample_image  # noqa: E402
from ifskit.image.collage import (  # noqa: E402
    CollageConfig,
    collage_step,
    contractive_weights,
    limit_weights,
    sparse_collage_step,
)
from ifskit.image.encoder import (  # noqa: E402
    CONTRAST_COSTS,
    CollageEncoder,
    collage_loss,
    encode_image,
    image_tiles,
    load_encoder,
    random_crops,
    save_encoder,
    train_encoder,
)

SMALL = CollageConfig(crop=16, range_size=4, n_aux=2, augment=True)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny tensors: one thread is fastest, and spares a loaded machine (pytest -n) from thread contention."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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


def test_import_and_pifs_commands_do_not_import_torch(tmp_path):
    Image.fromarray(sample_image("grace_hopper", 32)).save(tmp_path / "a.png")
    script = (
        "import sys, ifskit, ifskit.image, ifskit.commands.image\n"
        "from ifskit.cli import main\n"
        f"assert main(['compress', {str(tmp_path / 'a.png')!r}, '-o', {str(tmp_path / 'a.fic')!r}]) == 0\n"
        f"assert main(['decompress', {str(tmp_path / 'a.fic')!r}, '-o', {str(tmp_path / 'b.png')!r}]) == 0\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


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
        moved = collage_step(SMALL, x, weights, bias, aux, scale) - collage_step(SMALL, y, weights, bias, aux, scale)
        assert moved.abs().max() <= 0.9 * (x - y).abs().max() + 1e-6


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
    from ifskit.image.collage import candidates, range_patches
    from ifskit.image.encoder import _best_sizes

    torch.manual_seed(3)
    model = CollageEncoder(config).eval()
    x, aux = torch.rand(2, 1, config.crop, config.crop), model.aux().detach()
    with torch.no_grad():
        tiles = model._tiles(x, aux)
        b, _, n_ranges, mm = tiles.residual.shape
        partial = torch.bmm(tiles.residual.view(b * 4, n_ranges, mm), tiles.table.view(b * 4, mm, -1))
        partial = partial.view(b, 2, 2, n_ranges, -1)
        signed, slot, _, _ = model._orient(partial, None)
        sizes = _best_sizes(partial, config.n_domains if config.augment else 0)
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
        assert psnr(small[:48, :69], np.rint(shrunk)) > 28  # the same picture, more pixels


def test_greedy_code_is_better_than_its_block_means(code, photo):
    image = photo[:50, :70]
    blocks = np.kron(image[:48, :68].reshape(12, 4, 17, 4).mean(axis=(1, 3)), np.ones((4, 4)))
    assert psnr(image[:48, :68], code.decode()[:48, :68]) > psnr(image[:48, :68], np.rint(blocks)) + 1


def test_neural_code_round_trips_through_the_fic_file(code, tmp_path):
    path = code.save(tmp_path / "n.fic")
    again = load_code(path)
    assert again.to_bytes() == code.to_bytes() and path.stat().st_size == code.n_bytes
    np.testing.assert_array_equal(again.decode(), code.decode())
    assert code.bpp == pytest.approx(8 * code.n_bytes / (50 * 70))
    with pytest.raises(FormatError, match="not a PIFS code"):
        from ifskit.image import load_fic

        load_fic(path)


def test_large_images_are_encoded_in_chunks_of_tiles(model, photo, monkeypatch):
    import ifskit.image.encoder as encoder

    whole = encode_image(model, photo).to_bytes()  # 36 tiles in one pass
    monkeypatch.setattr(encoder, "_TILES_PER_PASS", 5)
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
    with pytest.raises(Exception, match="exists already"):
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
    assert out["kind"] == "neural" and out["bytes"] == fic.stat().st_size and out["psnr"] > 15
    assert cli("decompress", fic, "-o", png, "--scale", 3, "--json", "--frames", tmp_path / "steps") == 0
    out = json.loads(capsys.readouterr().out)
    assert Image.open(png).size == (120, 120)
    assert len(out["frames"]) == out["iterations"] == len(list((tmp_path / "steps").glob("step_*.png")))
    assert cli("compress", source, "-o", tmp_path / "q.fic", "--neural", model, "--bpp", 1) == 2
    assert "do not apply to --neural" in capsys.readouterr().err


def test_cli_fractalize(cli, capsys, tmp_path):
    source = tmp_path / "p.png"
    Image.fromarray(sample_image("grace_hopper", 32, gray=False)[:, :24]).save(source)
    out = tmp_path / "f.png"
    assert cli("fractalize", source, "-o", out, "--steps", 5, "--scale", 3, "--range-size", 4, "--json") == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["steps"] == 5 and Image.open(out).size == (72, 96) and Image.open(out).mode == "RGB"
    assert cli("fractalize", source, "-o", out, "--steps", 5) == 2
    assert "exists already" in capsys.readouterr().err
    assert cli("fractalize", source, "-o", tmp_path / "g.png", "--range-size", 16) == 2
    assert "does not fit" in capsys.readouterr().err


def test_fractalize_fits_the_picture_and_is_reproducible():
    from ifskit.image.fractalize import fractalize

    image = sample_image("grace_hopper", 32)
    short, longer = fractalize(image, 2, steps=2, range_size=4), fractalize(image, 2, steps=60, range_size=4)
    assert longer.losses[-1] < longer.losses[0] and longer.psnr > short.psnr
    np.testing.assert_array_equal(longer.image, fractalize(image, 2, steps=60, range_size=4).image)
    assert longer.image.shape == (64, 64)


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
