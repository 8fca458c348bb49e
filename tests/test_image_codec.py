"""Fractal image compression (PIFS): quality, any-scale decoding, .fic files, ifskit compress/decompress.

Also the modules under the codec: reading images (:mod:`ifskit.image.imagefile`) and ``.fic``
files (:mod:`ifskit.image.fic`, :mod:`ifskit.image.files`).
"""

import json
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from ifskit.errors import FormatError, ParameterError
from ifskit.image import CodecParams, FractalCode, compress_image, load_code, load_fic, psnr, read_image, sample_image
from ifskit.image.codec import pifs_from_bytes
from ifskit.image.fic import unpack
from ifskit.image.pifs import dequantize_s


@pytest.fixture(scope="module")
def photo256():
    return sample_image("grace_hopper", 256)


@pytest.fixture(scope="module")
def photo64():
    """A 64x64 colour crop (the face) at the scale of the 256x256 photo."""
    return sample_image("grace_hopper", 256, gray=False)[64:128, 96:160]


@pytest.fixture(scope="module")
def code256(photo256):
    return compress_image(photo256)


def test_grayscale_photo_28_db_under_one_bpp(photo256, code256):
    assert code256.bpp <= 1.0
    assert psnr(photo256, code256.decode()) >= 28.0


def test_bpp_target_is_met_and_spends_the_bits(photo256):
    code = compress_image(photo256, bpp=0.4)
    assert 0.37 < code.bpp <= 0.4


def test_quality_orders_size_and_error(photo64):
    coarse, fine = compress_image(photo64, quality=50), compress_image(photo64, quality=95)
    assert coarse.bpp < fine.bpp
    assert psnr(photo64, coarse.decode()) < psnr(photo64, fine.decode())


def test_file_round_trip_decodes_identically(photo64, tmp_path):
    code = compress_image(photo64, quality=85)
    code.save(tmp_path / "a.fic")
    again = load_fic(tmp_path / "a.fic")
    assert again.to_bytes() == code.to_bytes()
    np.testing.assert_array_equal(again.decode(), code.decode())
    assert (tmp_path / "a.fic").stat().st_size == code.n_bytes


def test_fixed_point_does_not_depend_on_the_start(photo64):
    code = compress_image(photo64[..., 0], quality=85)
    from_grey = code.decode().astype(float)
    noise = np.random.default_rng(0).integers(0, 256, (64, 64)).astype(np.uint8)
    from_noise = code.decode(start=noise).astype(float)
    assert np.abs(from_grey - from_noise).max() <= 1


def test_decoding_at_four_times_the_size(photo256, code256):
    small, big = code256.decode(), code256.decode(scale=4)
    assert big.shape == (1024, 1024)
    shrunk = big.reshape(256, 4, 256, 4).mean(axis=(1, 3))
    assert psnr(small, shrunk) > 58  # the same picture, with more detail (60.1 dB measured)
    assert psnr(photo256, shrunk) >= 28


def test_colour_and_odd_sizes(photo64):
    odd = photo64[:37, :53]
    code = compress_image(odd, quality=90)
    out = code.decode()
    assert out.shape == (37, 53, 3) and out.dtype == np.uint8
    assert code.channels == 3
    assert psnr(odd, out) > 24.8  # 25.02 dB measured
    assert code.decode(scale=3).shape == (111, 159, 3)


def test_classified_search_is_close_to_exhaustive(photo256, code256):
    classified = compress_image(photo256, classified=True)
    assert psnr(photo256, classified.decode()) > psnr(photo256, code256.decode()) - 1.5


def test_collage_theorem_bounds_the_decoding_error(photo64):
    gray = photo64[..., 1]
    code = compress_image(gray, quality=70)
    bound = code.collage_bounds(gray)[0]
    error = np.sqrt(np.mean((code.decode().astype(float) - gray) ** 2))
    assert bound.contraction_steps < 1
    assert error <= bound.bound_rmse + 0.5  # + rounding of the decoded image to 8 bits
    assert bound.collage_rmse > 0


def test_contrast_is_bounded_and_quantized(photo64):
    params = CodecParams(s_max=0.7, s_bits=5)
    code = compress_image(photo64, params=params)
    s = np.concatenate([dequantize_s(level.s_q, params) for plane in code.planes for level in plane.levels])
    assert np.abs(s).max() <= 0.7 + 1e-12
    assert len(np.unique(s)) <= 2**5 - 1


# ---- files and the command line -------------------------------------------------------------------
@pytest.fixture
def photo_png(tmp_path, photo64):
    path = tmp_path / "photo.png"
    Image.fromarray(photo64).save(path)
    return path


def test_cli_round_trip_with_json(cli, capsys, photo_png, tmp_path):
    fic, png = tmp_path / "p.fic", tmp_path / "p.png"
    assert cli("compress", photo_png, "-o", fic, "--json") == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["bytes"] == fic.stat().st_size
    assert figures["bpp"] == pytest.approx(8 * fic.stat().st_size / 64**2)
    assert figures["psnr"] > 25.2 and figures["seconds"] > 0  # 25.37 dB measured
    assert cli("decompress", fic, "-o", png, "--scale", 2, "--json", "--frames", tmp_path / "steps") == 0
    out = json.loads(capsys.readouterr().out)
    assert Image.open(png).size == (128, 128)
    assert len(out["frames"]) == out["iterations"] == len(list((tmp_path / "steps").glob("step_*.png")))
    assert out["seconds"] > 0


def test_cli_bpp_and_iterations(cli, capsys, photo_png, tmp_path):
    fic = tmp_path / "p.fic"
    assert cli("compress", photo_png, "-o", fic, "--bpp", "0.5", "--gray", "--json") == 0
    assert json.loads(capsys.readouterr().out)["bpp"] <= 0.5
    assert cli("decompress", fic, "-o", tmp_path / "p.png", "--iterations", 2, "--json") == 0
    assert json.loads(capsys.readouterr().out)["iterations"] == 2


def _fic_bytes(photo64) -> bytes:
    return compress_image(photo64[..., 0], quality=60).to_bytes()


def _reframe(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: d[: len(d) // 2], "checksum"),
        (lambda d: d[:5], "truncated"),
        (lambda d: d[:20] + bytes([d[20] ^ 0x10]) + d[21:], "checksum"),
        (lambda d: b"GIF89a" + d[6:], "wrong magic"),
        (lambda d: _reframe(d[:4] + bytes([9]) + d[5:-4]), "version 9"),
        (lambda d: _reframe(d[:-20]), "truncated payload"),
        (lambda d: b"", "wrong magic"),
    ],
    ids=["truncated", "too-short", "flipped-bit", "magic", "version", "short-payload", "empty"],
)
def test_cli_refuses_damaged_files(cli, capsys, tmp_path, photo64, damage, message):
    bad = tmp_path / "bad.fic"
    bad.write_bytes(damage(_fic_bytes(photo64)))
    out = tmp_path / "out.png"
    assert cli("decompress", bad, "-o", out) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ifskit: error: {bad}") and message in err and err.count("\n") == 1
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.fic"]


def test_parser_checks_the_header_fields(photo64):
    kind, rest = unpack(_fic_bytes(photo64))
    with pytest.raises(FormatError, match="impossible"):
        pifs_from_bytes(rest[:10] + bytes([3]) + rest[11:])  # min block 3: not a power of two


def _write(path, array, mode=None):
    Image.fromarray(array, mode).save(path)
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: _write(p / "one.png", np.zeros((1, 1), np.uint8)), "1x1 pixels"),
        (lambda p: _write(p / "alpha.png", np.zeros((16, 16, 4), np.uint8)), "alpha channel"),
        (lambda p: _write(p / "deep.png", np.zeros((16, 16), np.uint16)), "more than 8 bits"),
        (lambda p: (p / "text.png").write_text("not an image") and p / "text.png", "cannot read as an image"),
        (lambda p: p / "missing.png", "no such file"),
    ],
    ids=["1x1", "alpha", "16-bit", "not-an-image", "missing"],
)
def test_cli_refuses_bad_images(cli, capsys, tmp_path, make, message):
    source = make(tmp_path)
    before = sorted(tmp_path.iterdir())
    assert cli("compress", source, "-o", tmp_path / "out.fic") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ifskit: error: {source}") and message in err and err.count("\n") == 1
    assert sorted(tmp_path.iterdir()) == before


def test_cli_never_overwrites_without_asking(cli, capsys, photo_png, tmp_path):
    fic = tmp_path / "p.fic"
    fic.write_bytes(b"keep")
    assert cli("compress", photo_png, "-o", fic) == 2
    assert "exists already" in capsys.readouterr().err and fic.read_bytes() == b"keep"
    assert cli("compress", photo_png, "-o", fic, "--overwrite") == 0
    assert load_fic(fic).channels == 3
    png = tmp_path / "p.png"
    png.write_bytes(b"keep")
    assert cli("decompress", fic, "-o", png) == 2
    assert png.read_bytes() == b"keep"


def test_cli_usage_errors(cli, capsys, photo_png, tmp_path):
    assert cli("compress", photo_png, "-o", tmp_path / "p.fic", "--quality", 150) == 2
    assert "1..100" in capsys.readouterr().err
    assert cli("compress", photo_png, "-o", tmp_path / "p.fic", "--quality", 50, "--bpp", 1) == 2
    assert cli("compress", photo_png, "-o", tmp_path / "p.jpg") == 2
    assert "unknown output type" in capsys.readouterr().err
    assert cli("compress", photo_png, "-o", tmp_path / "p.fic", "--bpp", "0.001") == 2
    assert "cannot reach" in capsys.readouterr().err
    assert not (tmp_path / "p.fic").exists()


def test_read_image_gray_and_colour(photo_png):
    assert read_image(photo_png).shape == (64, 64, 3)
    assert read_image(photo_png, gray=True).shape == (64, 64)


def test_sample_images_need_no_download():
    assert sample_image("mri", 128).shape == (128, 128)
    assert sample_image("grace_hopper", 32, gray=False).shape == (32, 32, 3)
    with pytest.raises(ParameterError, match="unknown sample image 'lena'") as error:
        sample_image("lena")
    assert error.value.parameter == "name"


@pytest.mark.parametrize(
    "call, parameter, message",
    [
        (lambda p: compress_image(p, quality=150), "quality", "quality must be within 1..100, got 150"),
        (lambda p: compress_image(p, bpp=0), "bpp", "bpp must be positive, got 0"),
        (lambda p: compress_image(p, bpp=0.001), "bpp", "cannot reach bpp 0.001: the coarsest code"),
        (lambda p: compress_image(p[:3]), "image", "image is 64x3 pixels; need at least 4 on each side"),
        (lambda p: compress_image(p[..., :2]), "image", r"image must have shape \(H, W\) or \(H, W, 3\)"),
        (lambda p: compress_image(p - 1.0), "image", "image values must be finite and within 0..255"),
        (lambda p: compress_image(p[:8, :8]).decode(scale=0), "scale", "scale must be a positive whole number"),
        (lambda p: compress_image(p[:8, :8]).decode(start=p[:2]), "start", "start is 64x2 pixels"),
    ],
    ids=["quality", "bpp", "unreachable-bpp", "small", "two-channels", "negative", "scale", "start"],
)
def test_bad_arguments_name_their_parameter(photo64, call, parameter, message):
    with pytest.raises(ParameterError, match=message) as error:
        call(photo64)
    assert error.value.parameter == parameter


def test_reading_pifs_codes_needs_no_torch(tmp_path):
    """Compressing, decompressing and load_code of a PIFS file never import torch (optional, slow to import)."""
    Image.fromarray(sample_image("grace_hopper", 32)).save(tmp_path / "a.png")
    script = (
        "import sys, ifskit, ifskit.image\n"
        "from ifskit.cli import main\n"
        "from ifskit.image import FractalCode, load_code\n"
        f"assert main(['compress', {str(tmp_path / 'a.png')!r}, '-o', {str(tmp_path / 'a.fic')!r}]) == 0\n"
        f"assert main(['decompress', {str(tmp_path / 'a.fic')!r}, '-o', {str(tmp_path / 'b.png')!r}]) == 0\n"
        f"assert isinstance(load_code({str(tmp_path / 'a.fic')!r}), FractalCode)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_load_code_reads_a_pifs_file(photo64, tmp_path):
    code = compress_image(photo64, quality=60)
    again = load_code(code.save(tmp_path / "a.fic"))
    assert isinstance(again, FractalCode) and again.to_bytes() == code.to_bytes()
