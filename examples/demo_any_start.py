"""
Any start converges to the same attractor
=========================================

Iterating the Hutchinson operator W(S) = w_1(S) U w_2(S) U w_3(S) of the Sierpinski
maps five times, once from a square and once from an ellipse: after a few steps
the two rows show the same triangle, because the limit depends only on the maps.

Run from the repository root:  ``.venv/bin/python examples/demo_any_start.py [OUT.png]``
(``gallery/demo_any_start.png`` was made this way); without OUT.png the picture is only drawn.
"""

import sys

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image, ImageDraw

import ifskit
from ifskit.render import Aggregate, hutchinson_raster, shade

out = sys.argv[1] if len(sys.argv) > 1 else None
sierpinski = ifskit.catalog("sierpinski")
size, steps = 200, 5
rows = []
for start in ("square", "ellipse"):
    result = hutchinson_raster(sierpinski, size, start=start, iterations=steps, frames=True, supersample=1)
    panels = []
    for step, frame in enumerate(result.frames):
        rgba = shade(Aggregate(frame, result.bounds, 0), cmap="viridis", gamma=1.0)
        panel = Image.fromarray((rgba * 255).astype(np.uint8), mode="RGBA")
        label = f"{start}, start" if step == 0 else f"step {step}"
        draw = ImageDraw.Draw(panel)
        draw.rectangle((2, 2, 8 + 6 * len(label), 16), fill=(0, 0, 0, 255))
        draw.text((6, 4), label, fill=(255, 255, 255, 255))
        panels.append(np.asarray(panel))
    rows.append(np.concatenate(panels, axis=1))
    print(f"{start}: {int(result.covered.sum())} pixels set after {result.iterations} steps")
picture = np.concatenate(rows, axis=0)
if out:
    ifskit.save_png(picture, out, overwrite=True)
    print("wrote", out)

fig, ax = plt.subplots(figsize=(picture.shape[1] / 100, picture.shape[0] / 100), dpi=100)
ax.imshow(picture)
ax.set_axis_off()
fig.subplots_adjust(0, 0, 1, 1)
plt.show()
