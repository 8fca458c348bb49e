"""Colour planes: RGB <-> YCbCr (JPEG's full-range matrix) and resampling one plane.

Both codecs code luminance and chroma planes rather than RGB, and decode from a start
image resized to the output: one place for these conversions, below both.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

_RGB_TO_YCC = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
_YCC_OFFSET = np.array([0.0, 128.0, 128.0])


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB 0..255 -> (H, W, 3) float64 YCbCr 0..255 (JPEG full range)."""
    return np.asarray(rgb, np.float64) @ _RGB_TO_YCC.T + _YCC_OFFSET


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """(H, W, 3) YCbCr -> (H, W, 3) float64 RGB, not clipped."""
    return (ycc - _YCC_OFFSET) @ np.linalg.inv(_RGB_TO_YCC).T


def resize_plane(plane: np.ndarray, width: int, height: int) -> np.ndarray:
    """One plane (h, w) resampled bilinearly (Pillow, in float32) to (height, width) float32."""
    return np.asarray(Image.fromarray(plane.astype(np.float32)).resize((width, height), Image.BILINEAR))
