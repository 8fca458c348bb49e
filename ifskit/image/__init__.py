"""Image collages: fractal image compression (partitioned IFS) and its ``.fic`` files.

::

    from ifskit.image import compress_image, load_fic, read_image
    code = compress_image(read_image("photo.png"), quality=80)    # or bpp=0.5
    code.save("photo.fic")
    big = load_fic("photo.fic").decode(scale=4)                   # (4H, 4W[, 3]) uint8

The neural image collage (torch, imported only by these modules, and by :func:`load_code`
when the file holds a neural code)::

    from ifskit.image.encoder import encode_image, load_encoder, train_encoder
    from ifskit.image.fractalize import fractalize

Modules, bottom up: :mod:`~ifskit.image.color` (RGB <-> YCbCr), :mod:`~ifskit.image.imagefile`
(photos and PNGs), :mod:`~ifskit.image.fic` (the ``.fic`` frame); the PIFS codec
(:mod:`~ifskit.image.pifs` one plane, :mod:`~ifskit.image.codec` whole images) and, with torch,
the collage operator (:mod:`~ifskit.image.collage`), the encoder (:mod:`ifskit.image.encoder`)
and :mod:`~ifskit.image.fractalize`; on top, :mod:`~ifskit.image.files` reads a ``.fic`` of
either kind.
"""

from .codec import FractalCode, compress_image
from .files import load_code, load_fic
from .imagefile import psnr, read_image, sample_image, save_image
from .pifs import CodecParams

__all__ = [
    "CodecParams",
    "FractalCode",
    "compress_image",
    "load_code",
    "load_fic",
    "psnr",
    "read_image",
    "sample_image",
    "save_image",
]
