"""The shipped encoder weights (no torch needed to find them)."""

from pathlib import Path

#: The shipped 2D model, loaded when no other is given (``ifskit/neural/weights/encoder_2d.pt``).
DEFAULT_WEIGHTS = Path(__file__).parent / "weights" / "encoder_2d.pt"
