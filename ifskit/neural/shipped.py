"""The shipped encoder weights (no torch needed to find them)."""

from pathlib import Path

_FOLDER = Path(__file__).parent / "weights"

#: The shipped models by dimension (``ifskit/neural/weights/encoder_2d.pt``, ``encoder_3d.pt``);
#: :func:`ifskit.encode` loads the one of the cloud's dimension. ``scripts/train_encoder.py``
#: reproduces them.
WEIGHTS = {2: _FOLDER / "encoder_2d.pt", 3: _FOLDER / "encoder_3d.pt"}
#: The shipped 2D model.
DEFAULT_WEIGHTS = WEIGHTS[2]
