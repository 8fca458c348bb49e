"""
Fit an IFS to a letter
======================

A letter is no attractor, but the collage theorem says how close an IFS can get: cover the shape
with small copies of itself. This fits the glyph "B" of DejaVu Sans Bold (a font that ships with
matplotlib) with ``n_maps="auto"``: candidate copies are scored on the letter's occupied cells,
picked greedily where it is still uncovered, polished by gradient steps, and the number of maps is
chosen by how well the *attractor* fills the letter (its counters kept as holes).

Run from the repository root:  ``.venv/bin/python examples/fit_glyph.py [CLOUD.npy]``. With
CLOUD.npy the letter's points are saved too, for the command line::

    ifskit fit CLOUD.npy --maps auto -o b.yaml --plot b_fit.png
    ifskit render b.yaml -o b.png
"""

import sys

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path
from matplotlib.textpath import TextPath

import ifskit


def glyph(char: str, n_points: int, seed: int = 0) -> np.ndarray:
    """Points filling a letter of DejaVu Sans Bold uniformly, (n_points, 2).

    A point is inside when an odd number of the glyph's outlines hold it: the counters of a B are
    outlines inside the outline, so they stay holes.
    """
    path = TextPath((0, 0), char, size=1, prop=FontProperties(family="DejaVu Sans", weight="bold"))
    lo, hi = path.vertices.min(axis=0), path.vertices.max(axis=0)
    candidates = np.random.default_rng(seed).uniform(lo, hi, size=(20 * n_points, 2))
    inside = np.zeros(len(candidates), dtype=bool)
    for outline in path.to_polygons():
        inside ^= Path(outline).contains_points(candidates)
    return candidates[inside][:n_points]


letter = glyph("B", 2048)
if len(sys.argv) > 1:
    np.save(sys.argv[1], letter)
    print("wrote", sys.argv[1])

# %%
# 100 gradient steps per candidate count keep this quick; the default is 400.
result = ifskit.fit(letter, n_maps="auto", steps=100, seed=0, progress=False)
print(
    f"{result.n_maps} maps, occupancy IoU {result.iou:.2f}, attractor Chamfer {result.attractor_chamfer:.4f}, "
    f"collage bound {result.bound:.3f} >= attractor Hausdorff {result.attractor_hausdorff:.3f}"
)

# %%
# Target, collage (each map's image in its own colour), attractor, and the loss.
# ``result.plot()`` returns a matplotlib Figure of its own (``result.plot("b_fit.png")`` writes it);
# here it is drawn into a pyplot window, which is what the gallery keeps.
canvas = FigureCanvasAgg(result.plot())
canvas.draw()
picture = np.asarray(canvas.buffer_rgba())
fig, ax = plt.subplots(figsize=(picture.shape[1] / 100, picture.shape[0] / 100), dpi=100)
ax.imshow(picture)
ax.set_axis_off()
fig.subplots_adjust(0, 0, 1, 1)
plt.show()
