"""Reading ``.fic`` files: a code of either kind, chosen by the file's kind byte.

This module sits above both codecs: the PIFS codec (:mod:`ifskit.image.codec`, numpy only)
and the neural collage code (:mod:`ifskit.image.encoder`, torch) each parse their own
payload and know nothing of the other.
"""

from __future__ import annotations

from ..errors import FormatError
from . import fic
from .codec import FractalCode, pifs_from_bytes


def load_fic(path) -> FractalCode:
    """Read a PIFS ``.fic`` file written by :meth:`FractalCode.save`.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    FractalCode

    Raises
    ------
    FormatError
        Not a ``.fic`` file, unsupported version, truncated or corrupted (CRC32), or a
        neural collage code (read it with :func:`load_code`).
    """
    kind, rest = fic.read_fic(path)
    if kind != fic.KIND_PIFS:
        raise FormatError(f"holds a {fic.kind_name(kind)} code, not a PIFS code (use load_code)", path)
    return pifs_from_bytes(rest, path)


def load_code(path):
    """Read any ``.fic`` file: a :class:`FractalCode` or a :class:`~ifskit.image.encoder.NeuralCode`.

    Both decode with ``.decode(scale, iterations=..., start=...)`` and ``.decode_steps(...)``;
    reading a neural code imports torch.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    FractalCode or NeuralCode

    Raises
    ------
    FormatError
        As :func:`load_fic`, and a damaged neural code.
    """
    kind, rest = fic.read_fic(path)
    if kind == fic.KIND_NEURAL:
        # torch is optional and takes a second to import: only a neural code needs it, and a
        # PIFS file (the command line's compress/decompress) must load without it
        from .encoder.neural_code import neural_from_bytes

        return neural_from_bytes(rest, path)
    return pifs_from_bytes(rest, path)
