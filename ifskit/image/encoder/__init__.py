"""The Neural Collage image encoder: collage parameters of an image in one forward pass (torch).

:class:`CollageEncoder` chooses, for every range patch, a few candidate patches and their
weights by a vectorized matching pursuit whose scores a small CNN learns. Training
(:func:`train_encoder`) uses random crops of the user's images; the loss is the
reconstruction after a few decoding steps from black plus the collage error of one step
from the crop itself (the collage theorem's bound). Sparsity (``top_k`` weights per range)
keeps the bit-packed code small.

An image of any size is padded to whole crops and every crop is encoded independently
(one batched forward pass): :func:`encode_image` returns a :class:`NeuralCode`, stored in
the same ``.fic`` family as PIFS codes (kind 1), self-contained (it carries the learned
auxiliary patches), and decoded at any scale without the model.

::

    from ifskit.image.encoder import encode_image, train_encoder
    model = train_encoder([photo], steps=100, seed=0).model
    code = encode_image(model, photo)                 # NeuralCode
    code.save("photo.fic")

Modules: :mod:`~ifskit.image.encoder.model` (the network, its default geometry, its file),
:mod:`~ifskit.image.encoder.search` (the candidate search), :mod:`~ifskit.image.encoder.training`
and :mod:`~ifskit.image.encoder.neural_code` (encoding, the code and its ``.fic`` payload).
"""

from .model import DEFAULT_CONFIG, CollageEncoder, load_encoder, save_encoder
from .neural_code import NeuralCode, encode_image
from .training import CONTRAST_COSTS, TrainResult, TrainSettings, train_encoder

__all__ = [
    "CONTRAST_COSTS",
    "DEFAULT_CONFIG",
    "CollageEncoder",
    "NeuralCode",
    "TrainResult",
    "TrainSettings",
    "encode_image",
    "load_encoder",
    "save_encoder",
    "train_encoder",
]
