"""Image collages: fractal image compression (partitioned IFS) and its ``.fic`` files.

::

    from ifskit.image import compress_image, load_fic, read_image
    code = compress_image(read_image("photo.png"), quality=80)    # or bpp=0.5
    code.save("photo.fic")
    big = load_fic("photo.fic").decode(scale=4)                   # (4H, 4W[, 3]) uint8
"""

from .codec import FractalCode, compress_image, load_fic
from .imagefile import psnr, read_image, sample_image, save_image
from .pifs import CodecParams

__all__ = [
    "CodecParams",
    "FractalCode",
    "compress_image",
    "load_fic",
    "psnr",
    "read_image",
    "sample_image",
    "save_image",
]
