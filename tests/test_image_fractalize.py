"""Fractalize (ifskit.image.fractalize): a picture as the fixed point of a whole-image collage."""

import json

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from ifskit.errors import ParameterError  # noqa: E402
from ifskit.image import sample_image  # noqa: E402
from ifskit.image.fractalize import fractalize  # noqa: E402
from ifskit.ops.device import one_torch_thread  # noqa: E402


def test_fractalize_fits_the_picture_and_is_reproducible():
    image = sample_image("grace_hopper", 32)
    with one_torch_thread():  # tiny tensors: more threads only contend (pytest -n)
        short = fractalize(image, scale=2, steps=2, range_size=4)
        longer = fractalize(image, scale=2, steps=60, range_size=4)
        again = fractalize(image, scale=2, steps=60, range_size=4)
    assert longer.losses[-1] < longer.losses[0] and longer.psnr > short.psnr
    np.testing.assert_array_equal(longer.image, again.image)
    assert longer.image.shape == (64, 64)


@pytest.mark.parametrize(
    "options, parameter, message",
    [
        ({"scale": 0}, "scale", "scale must be a positive whole number, got 0"),
        ({"s_max": 1.0}, "s_max", r"s_max must be within \(0, 1\), got 1.0"),
        ({"range_size": 17}, "range_size", "range_size 17 does not fit a 32x32 image"),
    ],
    ids=["scale", "s_max", "range_size"],
)
def test_bad_arguments_name_their_parameter(options, parameter, message):
    with pytest.raises(ParameterError, match=message) as error:
        fractalize(sample_image("grace_hopper", 32), steps=1, **options)
    assert error.value.parameter == parameter


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
